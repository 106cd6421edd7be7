"""Granting and the stages of a grant: validity by the type's rule, the rule version by date,
publicity → final → expired, revocation, renaming, re-review, and every refusal naming its
field and writing nothing."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from kechuang.designations import services
from kechuang.designations.models import Designation, DesignationStep, ReReview

from .conftest import TODAY, grant

pytestmark = pytest.mark.django_db
D = dt.date


# --- validity ------------------------------------------------------------------------------------


def test_a_little_giant_is_valid_for_three_years_from_its_final_notice(place):
    designation = grant(place, granted_on=D(2023, 6, 28), batch="5")
    assert designation.valid_until == D(2026, 6, 28)  # exclusive: the first day it no longer holds
    assert designation.last_valid_day == D(2026, 6, 27)
    assert designation.in_force_until == D(2026, 6, 28)
    assert designation.in_force_on(D(2026, 6, 27)) and not designation.in_force_on(D(2026, 6, 28))
    assert not designation.in_force_on(D(2023, 6, 27))


def test_an_hnte_is_valid_for_three_years_from_its_certificate(place):
    assert grant(place, type_code="hnte", granted_on=D(2022, 12, 12)).valid_until == D(2025, 12, 12)


def test_a_grant_of_29_february_runs_to_28_february(place):
    assert grant(place, type_code="hnte", granted_on=D(2024, 2, 29)).valid_until == D(2027, 2, 28)


def test_a_tech_based_sme_is_valid_for_the_calendar_year_of_its_registration(place):
    designation = grant(place, type_code="tech-sme", granted_on=D(2024, 5, 10))
    assert designation.valid_until == D(2025, 1, 1) and designation.last_valid_day == D(2024, 12, 31)


def test_a_validity_the_notice_gives_is_kept(place):
    # Sichuan 2019: tech-based SMEs valid until 31 March of the next year (domain-rules.md §3).
    designation = grant(place, type_code="tech-sme", granted_on=D(2019, 5, 10), valid_until=D(2020, 4, 1))
    assert designation.valid_until == D(2020, 4, 1)


def test_a_passed_re_review_extends_the_validity_by_three_years_from_where_it_ended(place):
    designation = grant(place, granted_on=D(2020, 12, 1), batch="2")
    review = services.re_review(designation, on=D(2023, 7, 20), today=TODAY)
    designation.refresh_from_db()
    assert (review.valid_until_before, review.valid_until_after) == (D(2023, 12, 1), D(2026, 12, 1))
    assert designation.valid_until == designation.in_force_until == D(2026, 12, 1)
    assert review.rule_version == designation.rule_version == "MIIT-PRE-2022"


def test_a_failed_re_review_leaves_the_validity_to_run_out(place):
    designation = grant(place, granted_on=D(2020, 12, 1))
    review = services.re_review(designation, on=D(2023, 9, 1), passed=False, comment="复核未通过", today=TODAY)
    designation.refresh_from_db()
    assert not review.passed and designation.valid_until == D(2023, 12, 1)


def test_a_re_review_in_2026_may_be_judged_by_the_2022_rules(place):
    designation = grant(place, granted_on=D(2023, 6, 28))
    review = services.re_review(designation, on=D(2026, 6, 1), rule_version="MIIT-2022-63", today=TODAY)
    assert review.rule_version == "MIIT-2022-63"


def test_an_hnte_is_not_re_reviewed(place):
    designation = grant(place, type_code="hnte", granted_on=D(2022, 12, 12))
    with pytest.raises(services.DesignationError) as refused:
        services.re_review(designation, on=D(2025, 6, 1), today=TODAY)
    assert refused.value.field == "type" and "applies again" in refused.value.reason
    assert not ReReview.objects.exists()


# --- rule versions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("type_code, day, version", [
    ("little-giant", D(2019, 6, 1), "MIIT-PRE-2022"),
    ("little-giant", D(2023, 6, 28), "MIIT-2022-63"),
    ("little-giant", D(2026, 3, 31), "MIIT-2022-63"),
    ("little-giant", D(2026, 4, 1), "MIIT-2026-2"),
    ("hnte", D(2015, 12, 31), "HNTE-2008"),
    ("hnte", D(2016, 1, 1), "HNTE-2016"),
    ("tech-sme", D(2023, 5, 1), "TSME-2017"),
])
def test_the_rule_version_is_picked_by_date(place, type_code, day, version):
    assert grant(place, type_code=type_code, granted_on=day).rule_version == version


def test_the_application_date_picks_the_version_when_known(place):
    designation = grant(place, applied_on=D(2026, 3, 20), granted_on=D(2026, 7, 1))
    assert designation.rule_version == "MIIT-2022-63"


def test_the_2026_merged_tier_does_not_exist_before_april_2026(place):
    with pytest.raises(services.DesignationError) as refused:
        grant(place, type_code="tech-innovative-sme", granted_on=D(2026, 3, 31))
    assert refused.value.field == "granted_on" and "2026-04-01" in refused.value.reason
    assert grant(place, type_code="tech-innovative-sme", granted_on=D(2026, 4, 1)).rule_version == "MIIT-2026-2"


def test_a_rule_version_given_must_be_one_of_the_type(place):
    with pytest.raises(services.DesignationError) as refused:
        grant(place, rule_version="HNTE-2016")
    assert refused.value.field == "rule_version"


# --- stages ------------------------------------------------------------------------------------------


def test_publicity_then_final_then_expired_each_step_dated_and_recorded(place):
    listed = grant(place, stage="publicity", publicised_on=D(2023, 5, 22), batch="5", by=place["bureau"])
    assert (listed.stage, listed.granted_on, listed.valid_until, listed.in_force_until) == ("publicity", None, None,
                                                                                            None)
    final = services.advance_stage(listed, "final", on=D(2023, 6, 28), certificate_number="XJR-5-001",
                                   by=place["bureau"], today=TODAY)
    assert (final.stage, final.granted_on, final.valid_until) == ("final", D(2023, 6, 28), D(2026, 6, 28))
    assert final.rule_version == "MIIT-2022-63"
    expired = services.advance_stage(final, "expired", today=TODAY)
    assert expired.stage == "expired" and expired.in_force_until == D(2026, 6, 28)
    steps = list(DesignationStep.objects.filter(designation=listed).order_by("on", "id").values_list(
        "name", "from_stage", "to_stage", "on", "by__username"))
    assert steps == [("list", "", "publicity", D(2023, 5, 22), "bureau"),
                     ("finalise", "publicity", "final", D(2023, 6, 28), "bureau"),
                     ("expire", "final", "expired", D(2026, 6, 28), None)]


def test_a_final_grant_with_its_publicity_date_records_both_steps(place):
    designation = grant(place, publicised_on=D(2023, 5, 22), granted_on=D(2023, 6, 28))
    assert list(designation.steps.values_list("name", flat=True)) == ["list", "finalise"]


def test_it_does_not_expire_before_its_validity_runs_out(place):
    designation = grant(place, granted_on=D(2023, 6, 28))
    with pytest.raises(services.DesignationError) as refused:
        services.advance_stage(designation, "expired", today=D(2025, 1, 1))
    assert refused.value.field == "on" and "2026-06-27" in refused.value.reason and "revoke" in refused.value.reason


def test_revoking_needs_a_reason_and_ends_it_from_that_day(place):
    designation = grant(place, granted_on=D(2021, 8, 5))
    with pytest.raises(services.DesignationError) as refused:
        services.revoke(designation, on=D(2023, 3, 20), comment=" ", today=TODAY)
    assert refused.value.field == "comment"
    revoked = services.revoke(designation, on=D(2023, 3, 20), comment="取消资格", today=TODAY)
    assert (revoked.stage, revoked.ended_on, revoked.in_force_until) == ("revoked", D(2023, 3, 20), D(2023, 3, 20))
    assert revoked.in_force_on(D(2023, 3, 19)) and not revoked.in_force_on(D(2023, 3, 20))


def test_a_publicity_listing_is_withdrawn_by_revoking_it(place):
    listed = grant(place, stage="publicity", publicised_on=D(2023, 5, 22))
    withdrawn = services.revoke(listed, on=D(2023, 6, 5), comment="公示有异议", today=TODAY)
    assert withdrawn.stage == "revoked" and withdrawn.granted_on is None and withdrawn.in_force_until is None


def test_a_stage_that_does_not_follow_is_refused_with_the_ones_that_do(place):
    designation = grant(place)
    with pytest.raises(services.DesignationError) as refused:
        services.advance_stage(designation, "final", on=D(2023, 7, 1), today=TODAY)
    assert refused.value.field == "stage" and "cannot finalise from 'final'" in refused.value.reason
    assert "revoke" in refused.value.reason
    with pytest.raises(services.DesignationError) as refused:
        services.advance_stage(designation, "revoked", on=D(2023, 7, 1), today=TODAY)
    assert "revoke it (say why)" in refused.value.reason


def test_a_step_is_not_dated_before_the_one_before_it(place):
    listed = grant(place, stage="publicity", publicised_on=D(2023, 5, 22))
    with pytest.raises(services.DesignationError) as refused:
        services.advance_stage(listed, "final", on=D(2023, 5, 1), today=TODAY)
    assert refused.value.field == "on"


def test_renaming_re_issues_the_certificate_as_a_successor(place):
    designation = grant(place, batch="5", certificate_number="XJR-5-001")
    successor = services.rename(designation, "南通星河精密科技有限公司", on=D(2024, 3, 1), today=TODAY)
    designation.refresh_from_db()
    assert (designation.stage, designation.ended_on) == ("renamed", D(2024, 3, 1))
    assert successor.replaces == designation and successor.stage == "final"
    assert (successor.granted_on, successor.valid_until, successor.batch, successor.certificate_number) == (
        D(2023, 6, 28), D(2026, 6, 28), "5", "XJR-5-001")
    assert successor.name_on_list == "南通星河精密科技有限公司"
    assert list(successor.steps.values_list("name", flat=True)) == ["reissue"]


def test_a_new_hnte_certificate_supersedes_the_one_before_it(place):
    old = grant(place, type_code="hnte", granted_on=D(2020, 12, 2), certificate_number="GR202032000001")
    new = grant(place, type_code="hnte", granted_on=D(2023, 11, 6), certificate_number="GR202332000001")
    old.refresh_from_db()
    assert (old.stage, old.ended_on, old.in_force_until) == ("expired", D(2023, 11, 6), D(2023, 11, 6))
    assert old.steps.last().name == "supersede"
    assert new.in_force_until == D(2026, 11, 6)
    # Recorded the other way round, the earlier one ends where the later one starts.
    other = grant(place, firm="maker", type_code="hnte", granted_on=D(2023, 11, 6))
    earlier = grant(place, firm="maker", type_code="hnte", granted_on=D(2020, 12, 2))
    earlier.refresh_from_db()
    assert earlier.in_force_until == D(2023, 11, 6) and other.in_force_until == D(2026, 11, 6)


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fields, field", [
    ({"granted_on": None}, "granted_on"),
    ({"stage": "publicity", "publicised_on": None}, "publicised_on"),
    ({"stage": "publicity", "publicised_on": D(2023, 5, 22), "granted_on": D(2023, 6, 1)}, "granted_on"),
    ({"stage": "revoked"}, "stage"),
    ({"level": "provincial"}, "level"),
    ({"granted_on": D(2030, 1, 1)}, "granted_on"),
    ({"publicised_on": D(2023, 7, 1)}, "granted_on"),
    ({"applied_on": D(2023, 7, 1)}, "applied_on"),
    ({"valid_until": D(2023, 6, 28)}, "valid_until"),
    ({"batch": "x" * 61}, "batch"),
    ({"source": "no-such-notice"}, "source"),
])
def test_a_grant_that_breaks_a_rule_is_refused_naming_the_field_and_writes_nothing(place, fields, field):
    with pytest.raises(services.DesignationError) as refused:
        grant(place, **fields)
    assert refused.value.field == field
    assert not Designation.objects.exists() and not DesignationStep.objects.exists()


def test_an_unknown_type_is_refused_listing_the_types(place):
    with pytest.raises(services.DesignationError) as refused:
        grant(place, type_code="giant")
    assert refused.value.field == "type" and "little-giant" in refused.value.reason


def test_designations_are_granted_to_enterprises(place):
    with pytest.raises(services.DesignationError) as refused:
        grant(place, firm="university")
    assert refused.value.field == "organisation" and "university" in refused.value.reason


def test_the_same_grant_twice_is_refused(place):
    grant(place, batch="5", certificate_number="XJR-5-001")
    for fields, field in (({"batch": "5", "granted_on": D(2023, 7, 1)}, "batch"),
                          ({"granted_on": D(2023, 6, 28)}, "granted_on")):
        with pytest.raises(services.DesignationError) as refused:
            grant(place, **fields)
        assert refused.value.field == field
    with pytest.raises(services.DesignationError) as refused:
        grant(place, firm="maker", certificate_number="XJR-5-001")
    assert refused.value.field == "certificate_number"
    with pytest.raises(services.DesignationError) as refused:
        grant(place, stage="publicity", publicised_on=D(2024, 5, 1))
        grant(place, stage="publicity", publicised_on=D(2024, 5, 2))
    assert refused.value.field == "stage"


def test_only_the_bureau_of_the_enterprises_district_records_its_designations(place):
    for who in ("other_bureau", "analyst", "owner", "zone_manager"):
        with pytest.raises(services.NotAllowed):
            grant(place, by=place[who])
    assert grant(place, by=place["city_bureau"]).created_by == place["city_bureau"]
    designation = Designation.objects.get()
    with pytest.raises(services.NotAllowed):
        services.revoke(designation, on=D(2024, 1, 1), comment="x", by=place["owner"], today=TODAY)


def test_the_database_holds_the_rules_of_the_dates(place):
    designation = grant(place)
    for change in ({"granted_on": None}, {"in_force_until": D(2030, 1, 1)}, {"valid_until": D(2023, 1, 1),
                                                                             "in_force_until": D(2023, 1, 1)},
                   {"stage": "revoked"}, {"level": "galactic"}, {"ended_on": D(2020, 1, 1)}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Designation.objects.filter(pk=designation.pk).update(**change)


def test_marking_the_lapsed_ones_expired_is_dated_when_each_ran_out(place):
    lapsed = grant(place, granted_on=D(2020, 12, 1))
    current = grant(place, firm="maker", granted_on=D(2023, 6, 28))
    assert services.expire_lapsed(D(2024, 1, 1)) == 1
    lapsed.refresh_from_db()
    current.refresh_from_db()
    assert (lapsed.stage, current.stage) == ("expired", "final")
    assert lapsed.steps.last().on == D(2023, 12, 1)
    assert services.expire_lapsed(D(2024, 1, 1)) == 0

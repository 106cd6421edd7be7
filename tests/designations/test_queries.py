"""What is held on a day (`valid_designations`, for the eligibility rules), what runs out
soon (the bureau's list, an enterprise's own, the reminders), and who sees which rows."""

import datetime as dt

import pytest
from django.contrib.auth.models import AnonymousUser

from kechuang.accounts.scoping import can_change, visible_to
from kechuang.designations import services
from kechuang.designations.models import Designation, DesignationStep, DesignationType
from kechuang.designations.reminders import designations_expiring
from kechuang.notifications.models import NotificationKind

from .conftest import TODAY, grant

pytestmark = pytest.mark.django_db
D = dt.date


# --- valid_designations ---------------------------------------------------------------------------


def test_valid_designations_names_the_types_held_on_the_day_for_every_organisation_asked(
        place, django_assert_num_queries):
    grant(place, granted_on=D(2023, 6, 28))
    grant(place, type_code="hnte", granted_on=D(2022, 12, 12))
    grant(place, type_code="srdi-sme", granted_on=D(2021, 9, 28))
    grant(place, firm="maker", type_code="tech-sme", granted_on=D(2023, 4, 1))
    grant(place, firm="rival", stage="publicity", publicised_on=D(2023, 5, 22))
    ids = [place["firm"].pk, place["maker"].pk, place["rival"].pk, place["university"].pk]
    with django_assert_num_queries(1):
        held = services.valid_designations(ids, D(2023, 12, 31))
    assert held == {place["firm"].pk: {"little-giant", "hnte", "srdi-sme"}, place["maker"].pk: {"tech-sme"},
                    place["rival"].pk: set(), place["university"].pk: set()}
    assert services.valid_designations(ids, D(2024, 1, 1))[place["maker"].pk] == set()  # its calendar year is over


def test_valid_designations_from_the_granted_day_to_the_day_before_valid_until(place):
    grant(place, granted_on=D(2023, 6, 28))
    firm = place["firm"].pk
    assert services.valid_designations([firm], D(2023, 6, 27)) == {firm: set()}
    assert services.valid_designations([firm], D(2023, 6, 28)) == {firm: {"little-giant"}}
    assert services.valid_designations([firm], D(2026, 6, 27)) == {firm: {"little-giant"}}
    assert services.valid_designations([firm], D(2026, 6, 28)) == {firm: set()}


def test_a_revoked_grant_is_held_until_the_day_it_was_revoked(place):
    designation = grant(place, granted_on=D(2021, 8, 5))
    services.revoke(designation, on=D(2023, 3, 20), comment="取消资格", today=TODAY)
    firm = place["firm"].pk
    assert services.valid_designations([firm], D(2023, 3, 19)) == {firm: {"little-giant"}}
    assert services.valid_designations([firm], D(2023, 3, 20)) == {firm: set()}
    assert services.valid_designations([], D(2023, 3, 20)) == {}


def test_a_renamed_grant_is_held_through_its_successor(place):
    designation = grant(place, granted_on=D(2023, 6, 28))
    services.rename(designation, "南通星河精密科技有限公司", on=D(2024, 3, 1), today=TODAY)
    firm = place["firm"].pk
    for day in (D(2023, 7, 1), D(2024, 3, 1), D(2026, 6, 27)):
        assert services.valid_designations([firm], day) == {firm: {"little-giant"}}


# --- expiry ---------------------------------------------------------------------------------------


def _expiring_world(place):
    grant(place, granted_on=D(2020, 12, 1))  # last valid day 2023-11-30
    grant(place, firm="maker", type_code="hnte", granted_on=D(2020, 12, 2))  # 2023-12-01
    grant(place, firm="rival", type_code="hnte", granted_on=D(2020, 10, 1))  # 2023-09-30
    grant(place, firm="maker", type_code="srdi-sme", granted_on=D(2021, 9, 28))  # 2024-09-27: not soon
    revoked = grant(place, firm="firm", type_code="hnte", granted_on=D(2020, 11, 20))
    services.revoke(revoked, on=D(2023, 1, 1), comment="取消资格", today=TODAY)


def test_the_bureau_lists_the_designations_of_its_district_running_out_within_90_days(place):
    _expiring_world(place)
    day = D(2023, 9, 4)
    everyone = services.expiring(90, today=day)
    assert [(d.organisation.key, d.type.code, d.last_valid_day) for d in everyone] == [
        ("rival", "hnte", D(2023, 9, 30)), ("firm", "little-giant", D(2023, 11, 30)),
        ("maker", "hnte", D(2023, 12, 1))]
    assert {d.organisation.key for d in services.expiring(90, today=day, user=place["bureau"])} == {"firm", "maker"}
    assert {d.organisation.key for d in services.expiring(90, today=day, region="320602")} == {"rival"}
    assert [d.organisation.key for d in services.expiring(30, today=day)] == ["rival"]
    # On its last valid day it is still listed; the day after, it has run out.
    assert "rival" in {d.organisation.key for d in services.expiring(0, today=D(2023, 9, 30))}
    assert "rival" not in {d.organisation.key for d in services.expiring(90, today=D(2023, 10, 1))}


def test_an_enterprise_user_sees_only_its_own_expiring_designations(place):
    _expiring_world(place)
    mine = services.expiring(90, today=D(2023, 9, 4), user=place["owner"])
    assert [(d.organisation.key, d.type.code) for d in mine] == [("firm", "little-giant")]
    assert not services.expiring(90, today=D(2023, 9, 4), user=AnonymousUser()).exists()
    zone = services.expiring(90, today=D(2023, 9, 4), user=place["zone_manager"])
    assert [d.organisation.key for d in zone] == ["firm"]  # the tenant of the zone


def test_a_day_count_out_of_range_is_refused(place):
    with pytest.raises(services.DesignationError) as refused:
        services.expiring(-1)
    assert refused.value.field == "days"


def test_the_reminder_tells_the_enterprise_users_once_at_90_days_and_again_at_30(place):
    _expiring_world(place)
    reminders = list(designations_expiring(D(2023, 9, 4)))
    assert [(r.recipient.username, r.kind) for r in reminders] == [("rival_owner", NotificationKind.DEADLINE),
                                                                  ("owner", NotificationKind.DEADLINE)]
    owner = reminders[1]
    assert owner.key.endswith(":2023-12-01:90") and "2023-11-30" in owner.body and "复核" in owner.body
    assert reminders[0].key.endswith(":30")  # the rival's runs out within 30 days
    assert "重新申请" in reminders[0].body  # an HNTE is not re-reviewed
    later = list(designations_expiring(D(2023, 11, 1)))
    assert [r.key.rsplit(":", 1)[-1] for r in later if r.recipient == place["owner"]] == ["30"]


# --- scoping ------------------------------------------------------------------------------------------


def test_final_grants_are_public_record_and_publicity_listings_the_bureaus_and_the_enterprises(place):
    final = grant(place, firm="rival", granted_on=D(2023, 6, 28))
    listed = grant(place, stage="publicity", publicised_on=D(2023, 5, 22))
    withdrawn = grant(place, firm="maker", stage="publicity", publicised_on=D(2023, 5, 22))
    services.revoke(withdrawn, on=D(2023, 6, 1), comment="公示有异议", today=TODAY)
    rows = Designation.objects.all()
    assert set(visible_to(rows, AnonymousUser())) == {final}
    assert set(visible_to(rows, place["rival_owner"])) == {final}
    assert set(visible_to(rows, place["owner"])) == {final, listed}
    assert set(visible_to(rows, place["bureau"])) == {final, listed, withdrawn}
    assert set(visible_to(rows, place["analyst"])) == {final, listed, withdrawn}
    assert set(visible_to(rows, place["other_bureau"])) == {final}
    steps = DesignationStep.objects.all()
    assert set(visible_to(steps, AnonymousUser()).values_list("designation", flat=True)) == {final.pk}
    assert visible_to(DesignationType.objects.all(), AnonymousUser()).count() == 6


def test_the_bureau_of_the_district_changes_its_designations_nobody_else(place):
    designation = grant(place)
    assert can_change(place["bureau"], designation) and can_change(place["city_bureau"], designation)
    for who in ("other_bureau", "analyst", "owner", "zone_manager"):
        assert not can_change(place[who], designation), who
    shipped = DesignationType.objects.get(code="hnte")
    assert not can_change(place["bureau"], shipped)
    own = services.define_type("gazelle", name_zh="瞪羚企业", name_en="gazelle", levels=["city"], validity="open")
    assert can_change(place["bureau"], own) and not can_change(place["owner"], own)


def test_the_reminder_source_runs_with_the_daily_reminders_and_sends_each_once(place):
    from kechuang.notifications.models import Notification
    from kechuang.notifications.reminders import register, send_reminders, unregister

    _expiring_world(place)
    register(designations_expiring)
    try:
        first = send_reminders(D(2023, 9, 4))
        again = send_reminders(D(2023, 9, 4))
    finally:
        unregister(designations_expiring)
    name = "kechuang.designations.reminders.designations_expiring"
    assert (first.sent[name], again.sent[name], again.already_sent[name]) == (2, 0, 2)
    assert Notification.objects.filter(recipient=place["owner"], key__startswith="designation:").count() == 1

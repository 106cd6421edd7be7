"""Screening against the database: the figures that count, the cultivation pool ranked by closeness
in a bounded number of queries, and who may screen what."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kechuang.designations.rules.screening import (
    NotAllowed,
    NotVisible,
    ScreeningError,
    screen_organisation,
    screen_region,
)
from kechuang.statistics.models import ObservationStatus

from .conftest import HNTE_GOOD, ON, report


def by_key(pool):
    return {screening.organisation.key: screening for screening in pool.results}


def outcome(screening, code):
    return next(o for o in screening.outcomes if o.criterion.code == code)


@pytest.fixture
def pool_world(world):
    """alpha meets every computed HNTE criterion; beta is a little short on R&D; gamma reported nothing."""
    report(world["alpha"], HNTE_GOOD)
    report(world["beta"], {**HNTE_GOOD, "rd-expenditure": 3_800_000, "rd-expenditure-domestic": 3_000_000})
    report(world["rival"], HNTE_GOOD)
    return world


def test_the_pool_holds_the_regions_enterprises_closest_first(pool_world):
    pool = screen_region("hnte", "320612", ON)
    assert pool.rule_set.code == "HNTE-2016" and pool.year == 2025
    assert [s.organisation.key for s in pool.results] == ["alpha", "beta", "gamma"]  # not the park, not Chongchuan
    assert [s.rank for s in pool.results] == [1, 2, 3]
    alpha, beta, gamma = pool.results
    assert alpha.overall.closeness[:2] == (0, 0)  # only the judgements are left
    assert beta.overall.unmet == 1 and 0 < beta.overall.shortfall < 1
    assert outcome(beta, "rd-intensity").status == "fail"
    assert gamma.overall.unmet > beta.overall.unmet
    assert outcome(gamma, "rd-intensity").status == "missing"


def test_closeness_ranks_a_smaller_shortfall_first(world):
    report(world["alpha"], {**HNTE_GOOD, "rd-expenditure": 3_000_000, "rd-expenditure-domestic": 2_000_000})
    report(world["beta"], {**HNTE_GOOD, "rd-expenditure": 3_900_000, "rd-expenditure-domestic": 3_000_000})
    pool = screen_region("HNTE-2016", "320612", ON)
    assert [s.organisation.key for s in pool.results][:2] == ["beta", "alpha"]
    assert pool.results[0].overall.shortfall < pool.results[1].overall.shortfall


def test_the_pool_is_fetched_in_a_fixed_number_of_queries(world, designations):
    report(world["alpha"], HNTE_GOOD)
    with CaptureQueriesContext(connection) as few:
        small = screen_region("innovative-sme", "320612", dt.date(2026, 3, 31))
        screen_region("hnte", "320612", ON)
    for number in range(12):
        report(world["organisation"](f"more-{number}"), {**HNTE_GOOD, "rd-expenditure": 4_500_000 + 100_000 * number})
    with CaptureQueriesContext(connection) as many:
        large = screen_region("innovative-sme", "320612", dt.date(2026, 3, 31))
        screen_region("hnte", "320612", ON)
    assert (len(small.results), len(large.results)) == (3, 15)
    assert len(many) == len(few), [query["sql"] for query in many.captured_queries]
    assert len(few) <= 14


def test_only_current_actual_reported_figures_count(world):
    report(world["alpha"], HNTE_GOOD)
    report(world["alpha"], {"employees": 100, "st-personnel": 5}, years=(2025,), status=ObservationStatus.DRAFT)
    # The draft correction superseded the approved figure: the current one is a draft, so nothing counts.
    pool = screen_region("hnte", "320612", ON)
    assert outcome(by_key(pool)["alpha"], "st-personnel").status == "missing"


def test_a_years_own_code_wins_over_the_same_twelve_months_written_as_a_range(world):
    from kechuang.statistics.services import record_observation

    report(world["alpha"], {"employees": 100, "st-personnel": 20}, years=(2025,))
    record_observation(world["alpha"], "st-personnel", "2025-01..2025-12", 5, status="approved",
                       today=dt.date(2026, 11, 25))
    screening, _ = screen_organisation("alpha", "hnte", ON)
    assert outcome(screening, "st-personnel").value == 20
    report(world["beta"], {"employees": 100}, years=(2025,))
    record_observation(world["beta"], "st-personnel", "2025-01..2025-12", 11, status="approved",
                       today=dt.date(2026, 11, 25))
    screening, _ = screen_organisation("beta", "hnte", ON)
    assert outcome(screening, "st-personnel").status == "pass"


def test_one_enterprise_gives_the_figures_used_with_their_periods_and_sources(world):
    report(world["alpha"], HNTE_GOOD)
    screening, names = screen_organisation(world["alpha"], "hnte", ON)
    from kechuang.designations.rules.report import screening_detail

    detail = screening_detail(screening, names)
    rd = next(c for c in detail["criteria"] if c["code"] == "rd-intensity")
    assert rd["status"] == "pass" and rd["threshold"] == "4" and rd["bracket"]["row"] == 2
    figures = {(f["metric"], f["year"]): f for f in rd["figures"]}
    assert set(figures) == {(m, y) for m in ("rd-expenditure", "operating-revenue") for y in (2023, 2024, 2025)}
    assert figures[("rd-expenditure", 2024)]["value"] == "5000000"
    assert figures[("rd-expenditure", 2024)]["period"] == "2024"
    assert figures[("rd-expenditure", 2024)]["status"] == "approved"
    assert isinstance(figures[("rd-expenditure", 2024)]["observation"], int)
    registered = next(c for c in detail["criteria"] if c["code"] == "registered")
    assert registered["figures"] == [{"input": "founded", "value": "2015-03-01"}]
    assert "on 2026-04-01" in registered["text_en"]


def test_an_enterprise_without_a_founding_date_lacks_it(world):
    world["organisation"]("newcomer", founded=None)
    screening, _ = screen_organisation("newcomer", "hnte", ON)
    assert outcome(screening, "registered").missing == (("founded",),)


def test_designations_come_from_the_designation_registry(world, designations):
    designations["alpha"] = {"hnte"}
    pool = screen_region("innovative-sme", "320612", dt.date(2026, 3, 31))
    assert outcome(by_key(pool)["alpha"], "evaluation").status == "pass"
    assert by_key(pool)["alpha"].status == "pass" and pool.results[0].organisation.key == "alpha"
    assert outcome(by_key(pool)["beta"], "evaluation").status != "pass"


def test_expert_inputs_are_given_per_enterprise(world):
    report(world["alpha"], HNTE_GOOD)
    inputs = {"alpha": {"core_technology_field": "yes", "no_major_incident": True, "ip_advancement": 7}}
    screening = by_key(screen_region("hnte", "320612", ON, expert_inputs=inputs))["alpha"]
    assert outcome(screening, "technology-field").status == "pass"
    assert outcome(screening, "no-major-incident").status == "pass"
    one, _ = screen_organisation("alpha", "hnte", ON, expert_inputs={"core_technology_field": "no"})
    assert outcome(one, "technology-field").status == "fail"


@pytest.mark.parametrize(("inputs", "message"), [
    ({"alpha": {"core_technology_field": "perhaps"}}, "alpha.core_technology_field: 'perhaps' is not yes or no"),
    ({"alpha": {"ip_advancement": 9}}, "alpha.ip_advancement: 9 is not a number of points from 0 to 8"),
    ({"alpha": {"ip_acquisition": "bought"}}, "'bought' is not one of own-rd, transfer-only"),
    ({"alpha": {"charisma": 5}}, "HNTE-2016 has no judgement 'charisma'"),
])
def test_bad_expert_inputs_are_refused_naming_the_enterprise_and_judgement(world, inputs, message):
    with pytest.raises(ScreeningError) as error:
        screen_region("hnte", "320612", ON, expert_inputs=inputs)
    assert message in error.value.reason


def test_the_pool_is_the_bureaus_and_analysts_of_a_region_holding_it(pool_world):
    assert len(screen_region("hnte", "320612", ON, user=pool_world["bureau"]).results) == 3
    assert len(screen_region("hnte", "320612", ON, user=pool_world["analyst"]).results) == 3
    assert len(screen_region("hnte", "320600", ON, user=pool_world["analyst"]).results) == 4
    for user in ("chongchuan_bureau", "owner"):
        with pytest.raises(NotAllowed):
            screen_region("hnte", "320612", ON, user=pool_world[user])
    with pytest.raises(NotAllowed):
        screen_region("hnte", "320600", ON, user=pool_world["bureau"])


def test_an_enterprise_user_screens_only_their_own_enterprise(pool_world):
    screening, _ = screen_organisation("alpha", "hnte", ON, user=pool_world["owner"])
    assert screening.organisation.key == "alpha"
    with pytest.raises(NotVisible):
        screen_organisation("beta", "hnte", ON, user=pool_world["owner"])
    with pytest.raises(NotVisible):
        screen_organisation("alpha", "hnte", ON, user=pool_world["chongchuan_bureau"])


def test_only_enterprises_are_screened_and_bad_names_are_refused(world):
    with pytest.raises(ScreeningError, match="park is a park; only enterprises are screened"):
        screen_organisation("park", "hnte", ON)
    with pytest.raises(NotVisible, match="no organisation has the key 'nobody'"):
        screen_organisation("nobody", "hnte", ON)
    with pytest.raises(ScreeningError, match="no region has the code '999999'"):
        screen_region("hnte", "999999", ON)

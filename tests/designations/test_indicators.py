"""The designations as the indicators count them: new in a period (by the final notice's
date) versus held at a date (the period's last day), with the boundary days; the subject is
the enterprise, where it was located."""

import datetime as dt
from decimal import Decimal

import pytest

from kechuang.designations import services
from kechuang.indicators import engine
from kechuang.indicators.services import IndicatorError, define_measure
from kechuang.registry import services as registry
from kechuang.statistics.periods import Period

from .conftest import TODAY, grant

pytestmark = pytest.mark.django_db
D = dt.date
H1, H2 = Period.parse("2023H1"), Period.parse("2023H2")


def figure(code: str, period: Period, region: str = "320612") -> Decimal:
    table = engine.evaluate([code], engine.areas_for(region), [period], public=True)
    return table.get(code, region, period).shown


def test_a_little_giant_granted_on_30_june_is_new_in_the_first_half_and_one_of_1_july_in_the_second(place):
    grant(place, granted_on=D(2023, 6, 30))
    grant(place, firm="maker", granted_on=D(2023, 7, 1))
    assert figure("little_giants_new", H1) == 1
    assert figure("little_giants_new", H2) == 1
    assert figure("little_giants_new", Period.parse("2023")) == 2
    assert figure("little_giants", H1) == 1  # held on 30 June: the one of 1 July not yet
    assert figure("little_giants", H2) == 2


def test_the_stock_counts_what_is_in_force_on_the_last_day_valid_until_being_exclusive(place):
    grant(place, granted_on=D(2020, 6, 30))  # valid until 2023-06-30: not held on 30 June 2023
    grant(place, firm="maker", granted_on=D(2020, 7, 1))  # valid until 2023-07-01: held on 30 June
    assert figure("little_giants", Period.parse("2022")) == 2
    assert figure("little_giants", H1) == 1
    assert figure("little_giants", H2) == 0
    assert figure("little_giants_new", H1) == 0


def test_a_grant_revoked_later_stays_new_in_its_period_and_leaves_the_stock_when_revoked(place):
    designation = grant(place, granted_on=D(2023, 3, 1))
    services.revoke(designation, on=D(2023, 7, 1), comment="取消资格", today=TODAY)
    assert figure("little_giants_new", H1) == 1
    assert figure("little_giants", H1) == 1
    assert figure("little_giants", H2) == 0


def test_publicity_listings_are_not_counted_as_new_designations(place):
    grant(place, stage="publicity", publicised_on=D(2023, 5, 22))
    listed = grant(place, firm="maker", stage="publicity", publicised_on=D(2023, 5, 22))
    services.advance_stage(listed, "final", on=D(2023, 6, 20), today=TODAY)
    assert figure("little_giants_new", H1) == 1
    assert figure("little_giants", H1) == 1
    define_measure("little_giants_listed", name_zh="公示小巨人", name_en="little giants listed", kind="events",
                   aggregate="count", source="designations-granted",
                   parameters={"type": "little-giant", "stage": "publicity"})
    from kechuang.indicators.services import define_indicator

    define_indicator("little_giants_listed", name_zh="公示小巨人", name_en="little giants listed",
                     formula="little_giants_listed", unit_kind="count", unit="家")
    assert figure("little_giants_listed", H1) == 2


def test_hntes_and_specialised_smes_are_counted_by_their_own_types(place):
    grant(place, type_code="hnte", granted_on=D(2022, 12, 12))
    grant(place, firm="maker", type_code="hnte", granted_on=D(2020, 12, 2))
    grant(place, type_code="srdi-sme", granted_on=D(2021, 9, 28))
    grant(place, firm="rival", type_code="hnte", granted_on=D(2022, 12, 12))
    assert figure("hnte_count", H1) == 2
    assert figure("hnte_count", H2) == 1  # the 2020 certificate ran out on 2 December
    assert figure("hnte_count", H1, "320600") == 3
    assert figure("srdi_smes", H1) == 1
    assert figure("little_giants", H1) == 0


def test_a_renamed_grant_is_neither_new_again_nor_counted_twice(place):
    designation = grant(place, granted_on=D(2023, 3, 1))
    services.rename(designation, "南通星河精密科技有限公司", on=D(2023, 8, 1), today=TODAY)
    assert figure("little_giants_new", H2) == 0
    assert figure("little_giants_new", H1) == 1
    assert figure("little_giants", H1) == 1 and figure("little_giants", H2) == 1


def test_a_grant_counts_where_its_enterprise_was_located_on_the_day(place):
    grant(place, firm="rival", granted_on=D(2023, 3, 1))  # then in Chongchuan
    registry.move_organisation(place["rival"], place["tongzhou"], since=D(2023, 5, 1))
    assert figure("little_giants_new", H1, "320602") == 1
    assert figure("little_giants_new", H1, "320612") == 0
    assert figure("little_giants", H1, "320612") == 1  # held on 30 June, by then in Tongzhou
    assert figure("little_giants", Period.parse("2023Q1"), "320602") == 1


def test_the_sources_refuse_what_they_cannot_count(place):
    with pytest.raises(IndicatorError) as refused:
        define_measure("x_listed", name_zh="x", name_en="x", kind="stock", aggregate="count",
                       source="designations-valid", parameters={"stage": "publicity"})
    assert refused.value.field == "parameters" and "publicity list is not held" in refused.value.reason
    for parameters in ({"level": "galactic"}, {"stage": "granted"}, {"type": "Little Giant"}, {"kinds": ["x"]}):
        with pytest.raises(IndicatorError):
            define_measure("x_new", name_zh="x", name_en="x", kind="events", aggregate="count",
                           source="designations-granted", parameters=parameters)


def test_the_number_of_queries_does_not_grow_with_the_periods_or_the_areas(place):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for year in range(2019, 2023):
        grant(place, type_code="hnte", granted_on=D(year, 12, 1))
    periods = engine.period_series(Period.parse("2019H1"), Period.parse("2023H2"))
    def queries(areas, asked):
        with CaptureQueriesContext(connection) as captured:
            table = engine.evaluate(["hnte_count", "little_giants_new"], areas, asked, public=True)
        return len(captured), table

    children = engine.areas_for("320600", by="children")
    assert queries(children, [H1])[0] == queries(children, periods)[0]
    assert queries(engine.areas_for("320612"), [H1])[0] == queries(engine.areas_for("320602"), periods)[0]
    assert queries(children, periods)[1].get("hnte_count", "320612", Period.parse("2022H2")).shown == 1  # each certificate superseded the one before


def test_the_records_behind_a_count_are_listed_through_the_callers_visibility(place, client):
    grant(place, granted_on=D(2023, 6, 30))
    grant(place, firm="maker", stage="publicity", publicised_on=D(2023, 5, 22))
    response = client.get("/api/v1/indicators/little_giants_new/contributors/?region=320612&period=2023H1")
    assert response.status_code == 200, response.content
    (measure,) = response.json()["measures"]
    assert (measure["count"], measure["listed"], measure["not_visible"]) == (1, 1, 0)
    stock = client.get("/api/v1/indicators/little_giants/contributors/?region=320612&period=2023H1").json()
    assert stock["measures"][0]["count"] == 1

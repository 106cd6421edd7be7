"""The engine: each measure kind, areas and subtrees, periods, official vs computed,
disclosure control, as-of reproduction, and a bounded number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kechuang.indicators import disclosure, engine
from kechuang.indicators.models import Indicator
from kechuang.indicators.services import define_indicator, define_measure
from kechuang.programs import services as programs
from kechuang.statistics.models import ObservationStatus
from kechuang.statistics.periods import Period

H1 = Period.parse("2023H1")
pytestmark = pytest.mark.django_db


def value(code, area, period=H1, **options):
    areas = engine.areas_for(area) if area.isdigit() else engine.areas_for(within=area)
    return engine.evaluate([code], areas, [period], public=options.pop("public", False), **options).get(
        code, area, period)


def measure_indicator(code, formula, unit_kind="money", **fields):
    return define_indicator(code, name_zh=code, name_en=code, formula=formula, unit_kind=unit_kind,
                            unit=fields.pop("unit", "yuan"), **fields)


# --- observations --------------------------------------------------------------------------


def test_a_sum_of_observations_covers_the_region_subtree_on_the_periods_last_day(world, figure):
    for key, output in (("parked", 100), ("zoned", 200), ("plain", 300), ("small", 50), ("rival", 1000)):
        figure(world[key], "industrial-output", "2023H1", output)
    figure(world["mover"], "industrial-output", "2023H1", 7)  # in Tongzhou on 30 June
    assert value("industrial_output", "320612").computed == Decimal(657)
    assert value("industrial_output", "320602").computed == Decimal(1000)
    assert value("industrial_output", "320600").computed == Decimal(1657)
    assert value("industrial_output_above_size", "320612").computed == Decimal(607)


def test_a_figure_restated_under_another_code_for_the_same_months_counts_once(world, figure):
    figure(world["plain"], "industrial-output", "2023H1", 100)
    before = timezone.now()
    figure(world["plain"], "industrial-output", "2023-01..2023-06", 120)  # 1-6月, from a statistics table
    found = value("industrial_output", "320612")
    assert (found.computed, found.contributors) == (120, 1)  # the months decide; the figure recorded last stands
    assert value("industrial_output", "320612", as_of=before).computed == 100
    (contribution,) = engine.contributions("industrial_output", engine.areas_for("320612")[0], H1)
    assert [row.period for row in contribution.records] == ["2023-01..2023-06"]


def test_a_firm_counts_where_it_was_at_the_end_of_each_period(world, figure):
    figure(world["mover"], "industrial-output", "2022", 40)
    figure(world["mover"], "industrial-output", "2023", 60)
    table = engine.evaluate(["industrial_output"], engine.areas_for("320600", by="children"),
                            [Period.parse("2022"), Period.parse("2023")], public=False)
    assert table.get("industrial_output", "320602", Period.parse("2022")).computed == 40
    assert table.get("industrial_output", "320612", Period.parse("2022")).computed is None
    assert table.get("industrial_output", "320612", Period.parse("2023")).computed == 60


def test_a_park_tenant_counts_for_the_park_the_zone_and_the_district_once_each(world, figure):
    figure(world["parked"], "industrial-output", "2023H1", 100)
    figure(world["zoned"], "industrial-output", "2023H1", 200)
    figure(world["park"], "industrial-output", "2023H1", 999)  # the park's own figure is not a tenant's
    areas = engine.areas_for("320612") + engine.areas_for(within="zone") + engine.areas_for(within="park")
    table = engine.evaluate(["industrial_output"], areas, [H1], public=False)
    assert table.get("industrial_output", "park", H1).computed == 100
    assert table.get("industrial_output", "zone", H1).computed == 300
    assert table.get("industrial_output", "320612", H1).computed == 300
    assert table.get("industrial_output", "park", H1).official == 999
    assert table.get("industrial_output", "park", H1).value == 999


def test_the_months_of_a_period_under_any_code_are_the_period(world, figure):
    figure(world["plain"], "industrial-output", "2023-01..2023-06", 300)  # 1-6月 as a statistics table writes it
    figure(world["zoned"], "industrial-output", "2023H1", 200)
    assert value("industrial_output", "320612").computed == 500
    assert value("industrial_output", "320612", Period.parse("2023Q2")).computed is None


@pytest.mark.parametrize(("aggregate", "expected"), [("sum", 600), ("count", 3), ("min", 100), ("max", 300)])
def test_each_aggregate_of_observations(world, figure, aggregate, expected):
    for key, output in (("parked", 100), ("zoned", 200), ("plain", 300)):
        figure(world[key], "industrial-output", "2023H1", output)
    define_measure(f"output_{aggregate}", name_zh="x", name_en="x", kind="observations", aggregate=aggregate,
                   metric="industrial-output")
    measure_indicator(f"output_{aggregate}_indicator", f"output_{aggregate}")
    assert value(f"output_{aggregate}_indicator", "320612").computed == expected


def test_drafts_and_returned_figures_do_not_count_and_unapproved_ones_are_provisional(world, figure):
    figure(world["parked"], "industrial-output", "2023H1", 100, status=ObservationStatus.DRAFT)
    figure(world["zoned"], "industrial-output", "2023H1", 200, status=ObservationStatus.RETURNED)
    figure(world["plain"], "industrial-output", "2023H1", 300, status=ObservationStatus.SUBMITTED)
    result = value("industrial_output", "320612")
    assert (result.computed, result.provisional) == (300, True)
    assert value("industrial_output", "320612", public=True).computed is None  # the public: approved only


# --- formulas over measures --------------------------------------------------------------


def test_the_high_tech_share_is_the_above_size_high_tech_output_over_their_output(world, figure):
    for key, output, high_tech in (("parked", 100, 80), ("zoned", 300, 90), ("plain", 600, 110),
                                   ("small", 1000, 1000)):
        figure(world[key], "industrial-output", "2023H1", output)
        figure(world[key], "high-tech-output", "2023H1", high_tech)
    assert value("high_tech_share", "320612").computed == Decimal(28)  # 280 / 1000, the small firm left out


def test_growth_and_change_read_the_same_period_a_year_earlier(world, figure):
    figure(world["plain"], "industrial-output", "2022H1", 800)
    figure(world["plain"], "high-tech-output", "2022H1", 200)
    figure(world["plain"], "industrial-output", "2023H1", 1000)
    figure(world["plain"], "high-tech-output", "2023H1", 300)
    assert value("high_tech_output_growth", "320612").computed == Decimal(50)
    assert value("high_tech_share_change", "320612").computed == Decimal(5)  # 30% − 25%: percentage points
    assert value("high_tech_share_change", "320612", Period.parse("2022H1")).computed is None


def test_a_series_of_half_years_is_one_table(world, figure):
    figure(world["plain"], "industrial-output", "2022H1", 10)
    figure(world["plain"], "industrial-output", "2022H2", 20)
    figure(world["plain"], "industrial-output", "2023H1", 30)
    periods = engine.period_series(Period.parse("2022H1"), Period.parse("2023H1"))
    table = engine.evaluate(["industrial_output"], engine.areas_for("320612"), periods, public=False)
    assert [result.computed for result in table] == [10, 20, 30]


# --- events and stocks ---------------------------------------------------------------------


def _approved_at(world, moment, applicant="plain"):
    project = programs.create_project(world[applicant], title_zh="项目", category="普通科创项目")
    programs.take(project, "submit", at=moment - dt.timedelta(days=10))
    programs.take(project, "start_review", at=moment - dt.timedelta(days=5))
    programs.take(project, "approve", at=moment)
    return project


def test_projects_count_by_the_date_of_their_approval_in_asia_shanghai(world):
    shanghai = programs.SHANGHAI
    _approved_at(world, dt.datetime(2023, 6, 30, 23, 59, tzinfo=shanghai))
    _approved_at(world, dt.datetime(2023, 7, 1, 0, 0, tzinfo=shanghai))
    _approved_at(world, dt.datetime(2023, 1, 1, 0, 0, tzinfo=shanghai), applicant="rival")
    assert value("projects_approved", "320612").computed == 1
    assert value("projects_approved", "320612", Period.parse("2023H2")).computed == 1
    assert value("projects_approved", "320602").computed == 1
    assert value("projects_approved", "320600").computed == 2


def test_an_event_counts_where_its_organisation_was_on_its_date(world):
    _approved_at(world, dt.datetime(2023, 2, 1, 10, tzinfo=programs.SHANGHAI), applicant="mover")  # still in Chongchuan
    assert value("projects_approved", "320602").computed == 1
    assert value("projects_approved", "320612").computed == 0


def test_the_stock_of_enterprises_is_taken_on_each_periods_last_day(world):
    periods = [Period.parse("2022H2"), Period.parse("2023H1")]
    table = engine.evaluate(["enterprises", "enterprises_above_size"], engine.areas_for("320612"), periods,
                            public=False)
    # parked, zoned, plain, small — and the mover from March 2023.
    assert table.get("enterprises", "320612", periods[0]).computed == 4
    assert table.get("enterprises", "320612", periods[1]).computed == 5
    assert table.get("enterprises_above_size", "320612", periods[1]).computed == 4
    assert value("enterprises", "zone").computed == 2


def test_enterprises_arrived_count_the_locations_that_begin_in_the_period(world):
    assert value("enterprises_arrived", "320612").computed == 1  # the mover
    assert value("enterprises_arrived", "320602").computed == 0


# --- official and computed -----------------------------------------------------------------


def test_the_official_figure_is_shown_beside_the_computed_one_and_a_difference_is_flagged(world, figure):
    figure(world["plain"], "industrial-output", "2023H1", 1000)
    figure(world["plain"], "high-tech-output", "2023H1", 540)
    figure(world["tongzhou"], "high-tech-output-share", "2023H1", 56, status=ObservationStatus.PUBLISHED)
    result = value("high_tech_share", "320612")
    assert (result.official, result.computed, result.value, result.basis) == (56, 54, 56, "official")
    assert result.differs  # 2 points apart, the tolerance is 1
    Indicator.objects.filter(code="high_tech_share").update(tolerance=Decimal(2))
    assert not value("high_tech_share", "320612").differs


def test_an_official_figure_not_yet_published_is_not_the_publics(world, figure):
    figure(world["tongzhou"], "high-tech-output-share", "2023H1", 56, status=ObservationStatus.APPROVED)
    assert value("high_tech_share", "320612").official == 56
    assert value("high_tech_share", "320612", public=True).official is None


# --- disclosure control ---------------------------------------------------------------------


def test_an_aggregate_of_fewer_than_three_enterprises_is_suppressed_for_the_public(world, figure):
    figure(world["parked"], "industrial-output", "2023H1", 100)
    figure(world["zoned"], "industrial-output", "2023H1", 120)
    public = value("industrial_output", "320612", public=True)
    assert public.suppressed and public.shown is None
    internal = value("industrial_output", "320612")
    assert (internal.shown, internal.confidential, internal.suppressed) == (220, True, "")


def test_an_aggregate_dominated_by_two_enterprises_is_suppressed(world, figure):
    for key, output in (("parked", 500), ("zoned", 450), ("plain", 30), ("mover", 20)):
        figure(world[key], "industrial-output", "2023H1", output)
    assert "two largest" in value("industrial_output", "320612", public=True).suppressed
    figure(world["mover"], "industrial-output", "2023H1", 400)  # now 950 of 1380: under 85%
    assert value("industrial_output", "320612", public=True).shown == 1380


def test_a_suppressed_district_cannot_be_derived_from_the_city_total(world, figure, django_user_model):
    for key, output in (("parked", 100), ("zoned", 110), ("plain", 120), ("mover", 130)):
        figure(world[key], "industrial-output", "2023H1", output)
    figure(world["rival"], "industrial-output", "2023H1", 90)  # Chongchuan: one enterprise
    table = engine.evaluate(["industrial_output"], engine.areas_for("320600", by="children"), [H1], public=True)
    city, tongzhou, chongchuan = (table.get("industrial_output", key, H1) for key in ("320600", "320612", "320602"))
    assert chongchuan.suppressed.startswith("fewer than")
    assert tongzhou.suppressed.startswith("suppressed so that")  # else 550 − 460 = 90
    assert city.shown == 550
    # The bureau of Tongzhou sees its own district, and still not Chongchuan's figure.
    table = engine.evaluate(["industrial_output"], engine.areas_for("320600", by="children"), [H1],
                            user=world["bureau"])
    assert table.get("industrial_output", "320612", H1).shown == 460
    assert table.get("industrial_output", "320602", H1).shown is None
    # An analyst of Nantong sees them all; the public none of the enterprise-level detail.
    table = engine.evaluate(["industrial_output"], engine.areas_for("320600", by="children"), [H1],
                            user=world["analyst"])
    assert table.get("industrial_output", "320602", H1).shown == 90
    table = engine.evaluate(["industrial_output"], engine.areas_for("320600", by="children"), [H1],
                            user=AnonymousUser())
    assert table.get("industrial_output", "320602", H1).shown is None


def test_two_measures_of_one_metric_are_hidden_together_where_their_difference_is_one_enterprise(world, figure):
    for key, output in (("parked", 100), ("zoned", 110), ("plain", 120), ("small", 130)):
        figure(world[key], "industrial-output", "2023H1", output)
    table = engine.evaluate(["industrial_output", "industrial_output_above_size"], engine.areas_for("320612"), [H1],
                            public=True)
    everyone, above = (table.get(code, "320612", H1) for code in ("industrial_output", "industrial_output_above_size"))
    # 460 from four enterprises and 330 from three pass on their own; 130 is `small`'s figure.
    assert (everyone.shown, above.shown) == (None, None)
    assert everyone.suppressed == above.suppressed == disclosure.RELATED
    assert value("industrial_output_above_size", "320612", public=True).shown is None  # asked alone too
    assert value("industrial_output", "320612").shown == 460  # the bureau sees them


def test_counts_of_registry_events_are_never_suppressed(world):
    _approved_at(world, dt.datetime(2023, 3, 1, 10, tzinfo=programs.SHANGHAI))
    assert value("projects_approved", "320612", public=True).shown == 1


# --- as of, freshness and cost -------------------------------------------------------------


def test_a_value_can_be_computed_as_the_data_stood_before_a_correction(world, figure):
    for key in ("parked", "zoned"):
        figure(world[key], "industrial-output", "2023H1", 100)
    before = timezone.now()
    figure(world["parked"], "industrial-output", "2023H1", 150)  # a correction
    assert value("industrial_output", "320612").computed == 250  # fresh: no rebuild step
    assert value("industrial_output", "320612", as_of=before).computed == 200
    assert value("industrial_output", "320612", as_of=before - dt.timedelta(days=1)).computed is None


def test_the_number_of_queries_does_not_grow_with_areas_or_periods(world, figure):
    for key in ("parked", "zoned", "plain", "rival"):
        figure(world[key], "industrial-output", "2022H1", 100)

    def queries(areas, periods):
        with CaptureQueriesContext(connection) as captured:
            engine.evaluate(["high_tech_share", "projects_approved", "enterprises"], areas, periods, public=True)
        return len(captured.captured_queries)

    series = engine.period_series(Period.parse("2020H1"), Period.parse("2023H2"))
    children = engine.areas_for("320600", by="children")
    assert queries(children, [H1]) == queries(children, series)
    assert queries(engine.areas_for("320612"), [H1]) == queries(engine.areas_for("320602"), series)
    # A region and its children are two groups of areas (paths of two lengths): one more query per measure.
    assert queries(children, [H1]) <= 2 * queries(engine.areas_for("320612"), [H1])


def test_unknown_codes_and_cycles_are_clear_errors(world):
    with pytest.raises(engine.EngineError, match="'nothing' is not an indicator"):
        engine.evaluate(["nothing"], engine.areas_for("320612"), [H1])
    with pytest.raises(engine.EngineError, match="not a division code"):
        engine.areas_for("999999")
    with pytest.raises(engine.EngineError, match="zone or park"):
        engine.areas_for(within="plain")
    measure_indicator("loop_a", "industrial_output + 1")
    measure_indicator("loop_b", "loop_a")
    Indicator.objects.filter(code="loop_a").update(formula="loop_b")  # past the definitions' own check
    with pytest.raises(engine.EngineError, match="refers to itself"):
        engine.evaluate(["loop_a"], engine.areas_for("320612"), [H1])


def test_every_district_of_a_province_is_one_request(world, figure):
    figure(world["plain"], "industrial-output", "2023H1", 300)
    figure(world["rival"], "industrial-output", "2023H1", 100)
    areas = engine.areas_for("320000", by="district")
    assert [area.key for area in areas] == ["320602", "320612", "320000"]
    table = engine.evaluate(["industrial_output"], areas, [H1], public=False)
    assert [result.computed for result in table] == [100, 300, 400]
    with pytest.raises(engine.EngineError, match="expected one of"):
        engine.areas_for("320000", by="street")


def test_events_as_of_a_moment_count_only_the_steps_recorded_by_then(world):
    before = timezone.now()
    _approved_at(world, dt.datetime(2023, 3, 1, 10, tzinfo=programs.SHANGHAI))  # dated in the past, recorded now
    assert value("projects_approved", "320612").computed == 1
    assert value("projects_approved", "320612", as_of=before).computed == 0


def test_outcomes_and_funding_paid_count_by_their_own_dates(world):
    from kechuang.programs import delivery

    project = _approved_at(world, dt.datetime(2023, 1, 10, 10, tzinfo=programs.SHANGHAI))
    Project = type(project)
    Project.objects.filter(pk=project.pk).update(requested_funding=Decimal(500_000))
    project.refresh_from_db()
    delivery.record_outcome(project, kind="patent_filed", title="一种干泵", date=dt.date(2023, 3, 1),
                            identifier="CN202310000001.0")
    delivery.record_outcome(project, kind="patent_filed", title="另一种干泵", date=dt.date(2023, 7, 1),
                            identifier="CN202310000002.0")
    delivery.record_outcome(project, kind="revenue", title="转化收入", date=dt.date(2023, 5, 1),
                            amount=Decimal("120000.50"))
    (tranche, _) = delivery.plan_tranches(project, [(Decimal(300_000), dt.date(2023, 2, 1)),
                                                    (Decimal(200_000), dt.date(2023, 9, 1))])
    delivery.record_payment(tranche, Decimal(300_000), dt.date(2023, 2, 3))
    table = engine.evaluate(["patents_filed", "revenue_from_results", "funding_paid", "new_products"],
                            engine.areas_for("320612"), [H1], public=True)
    assert [result.shown for result in table] == [1, Decimal("120000.50"), 300_000, 0]


def test_the_disclosure_thresholds_are_settings(world, figure, settings):
    for key, output in (("parked", 100), ("zoned", 110), ("plain", 120)):
        figure(world[key], "industrial-output", "2023H1", output)
    assert value("industrial_output", "320612", public=True).shown == 330
    settings.DISCLOSURE_MIN_CONTRIBUTORS = 4
    assert value("industrial_output", "320612", public=True).shown is None
    settings.DISCLOSURE_MIN_CONTRIBUTORS, settings.DISCLOSURE_DOMINANCE_PERCENT = 3, 60
    assert "two largest" in value("industrial_output", "320612", public=True).suppressed  # 230 of 330


def test_the_children_of_a_region_are_the_divisions_in_use_on_the_date(divisions):
    children = {area.key for area in engine.areas_for("320600", by="children", on=dt.date(2023, 6, 30))}
    assert "320612" in children and "320683" not in children  # 通州市 became 通州区 in 2009
    before = {area.key for area in engine.areas_for("320600", by="children", on=dt.date(2008, 12, 31))}
    assert "320683" in before and "320612" not in before

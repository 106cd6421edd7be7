"""Exchange rates, measures and indicators in the world file (kechuang/indicators/world.py):
a file's definitions are evaluated by the engine, reloads change nothing, dumps round trip
with the shipped catalogue in them, and every problem is reported at its path, through the
services' own checks, before anything is written."""

import copy
import datetime as dt
from decimal import Decimal

import pytest

from kechuang.indicators import engine
from kechuang.indicators.models import ExchangeRate, Indicator, Measure
from kechuang.indicators.services import in_currency
from kechuang.registry.models import Source
from kechuang.statistics.periods import Period
from kechuang.world.dumper import dump_text, dump_world
from kechuang.world.errors import WorldError
from kechuang.world.formats import parse_json, parse_yaml
from kechuang.world.loader import load_world

pytestmark = pytest.mark.django_db

H1 = Period.parse("2023H1")
NOTE = "bureau-note-2023"

DOCUMENT = parse_yaml(f"""
kechuang: 1
sources:
  - {{key: {NOTE}, title: 通州区科技局关于规下企业统计口径的说明}}
exchange_rates:
  - {{currency: USD, date: 2023-06-30, rate: "7.2258", source: {NOTE}}}
measures:
  - code: industrial_output_below_size
    name_zh: 规下工业总产值
    name_en: industrial output of enterprises below designated size
    kind: observations
    metric: industrial-output
    subjects: {{above_designated_size: false}}
indicators:
  - code: below_size_share_change      # names an indicator defined further down
    name_zh: 规下工业产值占比较上年同期变化
    name_en: change of the below-size share on a year earlier
    formula: change(below_size_share)
    unit_kind: points
    unit: 个百分点
    precision: 1
  - code: below_size_share             # a measure of this file over a shipped one
    name_zh: 规下工业产值占比
    name_en: below-size share of industrial output
    description_en: The part of industrial output that enterprises below designated size report.
    formula: share(industrial_output_below_size, industrial_output)
    unit_kind: percent
    unit: "%"
    precision: 1
    tolerance: 0.5
    source: {NOTE}
  - code: output_per_enterprise        # shipped measures only
    name_zh: 企业平均工业产值
    name_en: industrial output per enterprise
    formula: ratio(industrial_output, enterprises)
    unit_kind: money
    unit: yuan
    precision: 2
""")

NEW_CODES = {"below_size_share_change", "below_size_share", "output_per_enterprise"}


@pytest.fixture
def document() -> dict:
    return copy.deepcopy(DOCUMENT)


def rows() -> dict[str, object]:
    """What a load may write, to prove that a refused one wrote nothing."""
    return {"measures": sorted(Measure.objects.values_list("code", "name_en", "metric_id")),
            "indicators": sorted(Indicator.objects.values_list("code", "formula", "tolerance")),
            "rates": sorted(ExchangeRate.objects.values_list("currency", "date", "rate")),
            "sources": sorted(Source.objects.values_list("key", flat=True)),
            "history": (Measure.history.count(), Indicator.history.count(), ExchangeRate.history.count())}


# --- loading -----------------------------------------------------------------------------


def test_a_file_defines_a_rate_a_measure_and_indicators_the_engine_evaluates(world, figure, document):
    report = load_world(document)

    assert {section: report[section]["created"] for section in ("sources", "exchange_rates", "measures",
                                                                "indicators")} == {
        "sources": 1, "exchange_rates": 1, "measures": 1, "indicators": 3}
    figure(world["plain"], "industrial-output", "2023H1", 300)
    figure(world["small"], "industrial-output", "2023H1", 100)  # below designated size
    table = engine.evaluate(["below_size_share", "output_per_enterprise"], engine.areas_for("320612"), [H1],
                            public=False)
    assert table.get("below_size_share", "320612", H1).computed == 25
    # parked, zoned, plain, small and (since March) mover: five enterprises in Tongzhou on 30 June.
    assert table.get("output_per_enterprise", "320612", H1).computed == 80
    share = Indicator.objects.select_related("source").get(code="below_size_share")
    assert (share.tolerance, share.source.key, share.precision) == (Decimal("0.5"), NOTE, 1)
    assert Measure.objects.get(code="industrial_output_below_size").subjects == {"above_designated_size": False}


def test_the_files_rate_converts_and_names_its_source(world, document):
    load_world(document)

    dollars, rate = in_currency(Decimal("722.58"), "USD", dt.date(2023, 7, 1))

    assert (dollars, rate.rate, rate.date, rate.source.key) == (Decimal("100.00"), Decimal("7.2258"),
                                                                 dt.date(2023, 6, 30), NOTE)


def test_reloading_the_same_file_reports_every_entry_unchanged_and_writes_nothing(world, document):
    load_world(document)
    before = rows()

    report = load_world(copy.deepcopy(DOCUMENT))

    assert not report.changed
    assert (report["exchange_rates"]["unchanged"], report["measures"]["unchanged"],
            report["indicators"]["unchanged"]) == (1, 1, 3)
    assert rows() == before


def test_a_changed_entry_is_updated_and_an_omitted_key_takes_its_default(world, document):
    load_world(document)
    document["exchange_rates"][0]["rate"] = "7.2260"
    del document["indicators"][1]["tolerance"]

    report = load_world(document)

    assert (report["exchange_rates"]["updated"], report["indicators"]["updated"],
            report["indicators"]["unchanged"]) == (1, 1, 2)
    assert ExchangeRate.objects.get(currency="USD").rate == Decimal("7.226")
    assert Indicator.objects.get(code="below_size_share").tolerance == 0


def test_the_shipped_catalogue_may_be_redefined_through_the_file(world):
    report = load_world({"kechuang": 1, "indicators": [
        {"code": "enterprises", "name_zh": "企业数", "name_en": "enterprises located", "formula": "enterprises",
         "unit_kind": "count", "unit": "家"}]})

    assert report["indicators"]["updated"] == 1
    assert Indicator.objects.get(code="enterprises").name_en == "enterprises located"


# --- dumping -----------------------------------------------------------------------------


def test_a_dump_holds_the_files_definitions_and_not_the_shipped_catalogue(world, document):
    load_world(document)

    dumped = dump_world()

    # The shipped catalogue comes with every `migrate`: a dump carries only what differs from it.
    assert [m["code"] for m in dumped["measures"]] == ["industrial_output_below_size"]
    assert {i["code"] for i in dumped["indicators"]} == NEW_CODES
    assert dumped["exchange_rates"] == [{"currency": "USD", "date": "2023-06-30", "rate": Decimal("7.2258"),
                                         "source": NOTE}]
    share = next(i for i in dumped["indicators"] if i["code"] == "below_size_share")
    assert share["tolerance"] == Decimal("0.5") and share["source"] == NOTE
    output = next(i for i in dumped["indicators"] if i["code"] == "output_per_enterprise")
    assert "tolerance" not in output and "source" not in output  # defaults are left out
    measure = dumped["measures"][0]
    assert measure == {"code": "industrial_output_below_size", "name_zh": "规下工业总产值",
                       "name_en": "industrial output of enterprises below designated size", "kind": "observations",
                       "metric": "industrial-output", "subjects": {"above_designated_size": False}}
    assert list(dumped)[-3:] == ["exchange_rates", "measures", "indicators"]


def test_a_shipped_definition_the_bureau_changed_is_dumped(world):
    Indicator.objects.filter(code="high_tech_share").update(tolerance=Decimal("0.3"))

    dumped = dump_world()

    assert [i["code"] for i in dumped["indicators"]] == ["high_tech_share"]
    assert dumped["indicators"][0]["tolerance"] == Decimal("0.3")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_load_dump_round_trips_through_a_database_with_only_the_shipped_catalogue(world, document, fmt):
    load_world(document)
    first = dump_text(fmt=fmt)

    Indicator.objects.filter(code__in=NEW_CODES).delete()
    Measure.objects.filter(code="industrial_output_below_size").delete()
    ExchangeRate.objects.all().delete()
    Source.objects.all().delete()
    report = load_world(parse_json(first) if fmt == "json" else parse_yaml(first))

    assert (report["measures"]["created"], report["indicators"]["created"]) == (1, len(NEW_CODES))
    assert dump_text(fmt=fmt) == first


def test_a_dump_of_a_fresh_database_reloads_unchanged(world):
    before = rows()

    report = load_world(parse_yaml(dump_text()))

    assert not report.changed
    assert rows() == before


def test_a_region_dump_holds_the_definitions_and_the_sources_the_rates_cite(world, document):
    load_world(document)

    dumped = dump_world("320612")

    assert len(dumped["measures"]) == 1 and len(dumped["indicators"]) == len(NEW_CODES)
    assert [rate["currency"] for rate in dumped["exchange_rates"]] == ["USD"]
    assert [source["key"] for source in dumped["sources"]] == [NOTE]


# --- problems ----------------------------------------------------------------------------


def _set(section: str, index: int, field: str, value):
    """A change to the document: entry `index` of `section` gets `field` = value (None removes it)."""
    def change(document: dict) -> None:
        if value is None:
            document[section][index].pop(field, None)
        else:
            document[section][index][field] = value
    return change


def _events(**fields):
    """The measure made a count of registry events, with these fields."""
    def change(document: dict) -> None:
        measure = document["measures"][0]
        del measure["metric"], measure["subjects"]
        measure.update({"kind": "events", "aggregate": "count", "source": "projects-approved", **fields})
    return change


def _twice(section: str):
    def change(document: dict) -> None:
        document[section].append(copy.deepcopy(document[section][0]))
    return change


def _another_measure(**fields):
    """A second measure, a copy of the first with these fields (formulas name none of its codes)."""
    def change(document: dict) -> None:
        document["measures"].append({**document["measures"][0], **fields})
    return change


PROBLEMS = {
    "a formula that does not parse": (_set("indicators", 1, "formula", "share(industrial_output"),
                                      "indicators[1].formula", "the formula ends too early"),
    "an unknown code in a formula": (_set("indicators", 2, "formula", "ratio(industrial_output, firms)"),
                                     "indicators[2].formula", "firms: no measure or indicator has this code"),
    "a formula naming its own indicator": (_set("indicators", 2, "formula", "output_per_enterprise * 2"),
                                           "indicators[2].formula", "cannot refer to itself"),
    "a code formulas cannot name": (_set("indicators", 2, "code", "Output-Per-Enterprise"),
                                    "indicators[2].code", "lower case letters"),
    "too many decimals shown": (_set("indicators", 2, "precision", 7), "indicators[2].precision", "at most 6"),
    "a negative tolerance": (_set("indicators", 1, "tolerance", "-1"), "indicators[1].tolerance",
                             "cannot be negative"),
    "a tolerance finer than kept": (_set("indicators", 1, "tolerance", "0.00001"), "indicators[1].tolerance",
                                    "has 5 decimal places; at most 4"),
    "an unknown official metric": (_set("indicators", 1, "official_metric", "gdp"),
                                   "indicators[1].official_metric", "no metric has the code 'gdp'"),
    "an indicator of an unknown source": (_set("indicators", 1, "source", "hearsay"), "indicators[1].source",
                                          "no source has the key 'hearsay'"),
    "an unknown metric": (_set("measures", 0, "metric", "gdp"), "measures[0].metric",
                          "no metric has the code 'gdp'"),
    "observations without a metric": (_set("measures", 0, "metric", None), "measures[0].metric",
                                      "a measure of observations names a metric"),
    "an unknown subject filter": (_set("measures", 0, "subjects", {"colour": "red"}), "measures[0].subjects",
                                  "colour: not a subject filter"),
    "an unregistered source": (_events(source="rumours"), "measures[0].source", "'rumours' is not a registered source"),
    "an unknown parameter": (_events(parameters={"colour": "red"}), "measures[0].parameters",
                             "projects-approved takes no parameter colour"),
    "a stock of events": (_events(kind="stock"), "measures[0].source", "gives events, not stock"),
    "a sum of what cannot be added up": (_events(aggregate="sum"), "measures[0].aggregate", "nothing to add up"),
    "a measure code formulas cannot name": (_another_measure(code="Below-Size"), "measures[1].code",
                                            "lower case letters"),
    "a rate for yuan": (_set("exchange_rates", 0, "currency", "CNY"), "exchange_rates[0].currency",
                        "amounts are kept in yuan"),
    "a currency that is no ISO code": (_set("exchange_rates", 0, "currency", "usd"), "exchange_rates[0].currency",
                                       "ISO 4217 code in capitals"),
    "a rate of zero": (_set("exchange_rates", 0, "rate", "0"), "exchange_rates[0].rate", "a rate is positive"),
    "a negative rate": (_set("exchange_rates", 0, "rate", -7), "exchange_rates[0].rate", "a rate is positive"),
    "a rate finer than kept": (_set("exchange_rates", 0, "rate", "7.2258001"), "exchange_rates[0].rate",
                               "has 7 decimal places; at most 6"),
    "a rate of an unknown source": (_set("exchange_rates", 0, "source", "hearsay"), "exchange_rates[0].source",
                                    "no source has the key 'hearsay'"),
    "a rate without a source": (_set("exchange_rates", 0, "source", None), "exchange_rates[0].source",
                                "is required"),
    "a rate given twice for one day": (_twice("exchange_rates"), "exchange_rates[1]",
                                       "'USD 2023-06-30' is defined twice in exchange_rates (first at "
                                       "exchange_rates[0])"),
    "a measure defined twice": (_twice("measures"), "measures[1]", "defined twice in measures"),
    "an indicator defined twice": (_twice("indicators"), "indicators[3]", "defined twice in indicators"),
}


@pytest.mark.parametrize(("change", "path", "reason"), PROBLEMS.values(), ids=PROBLEMS.keys())
def test_a_problem_is_reported_at_its_entry_and_field_and_nothing_is_written(world, document, change, path,
                                                                             reason):
    before = rows()
    change(document)

    with pytest.raises(WorldError) as caught:
        load_world(document)

    assert caught.value.errors == [(path, caught.value.errors[0][1])]
    assert reason in caught.value.errors[0][1]
    assert rows() == before


def test_every_problem_of_a_file_is_reported_at_once(world, document):
    for name in ("an unknown code in a formula", "an unknown official metric", "an unknown metric",
                 "a rate of zero", "a rate of an unknown source"):
        PROBLEMS[name][0](document)

    with pytest.raises(WorldError) as caught:
        load_world(document)

    assert [path for path, _ in caught.value.errors] == [
        "exchange_rates[0].rate", "exchange_rates[0].source", "measures[0].metric", "indicators[1].official_metric",
        "indicators[2].formula"]


def test_indicators_naming_each_other_are_refused_each_with_the_way_round(world, document):
    document["indicators"][0]["formula"] = "change(output_per_enterprise)"
    document["indicators"][2]["formula"] = "ratio(industrial_output, below_size_share_change)"

    with pytest.raises(WorldError) as caught:
        load_world(document)

    assert caught.value.errors == [
        ("indicators[0].formula", "indicator below_size_share_change refers to itself: below_size_share_change → "
                                  "output_per_enterprise → below_size_share_change"),
        ("indicators[2].formula", "indicator output_per_enterprise refers to itself: output_per_enterprise → "
                                  "below_size_share_change → output_per_enterprise")]


def test_a_cycle_through_an_indicator_of_the_database_is_refused_too(world, document):
    load_world(document)
    # below_size_share_change, in the database, is change(below_size_share).
    document["indicators"] = [{**DOCUMENT["indicators"][1],
                               "formula": "share(industrial_output, below_size_share_change)"}]

    with pytest.raises(WorldError) as caught:
        load_world(document)

    assert caught.value.errors == [
        ("indicators[0].formula", "indicator below_size_share refers to itself: below_size_share → "
                                  "below_size_share_change → below_size_share")]


def test_a_formula_may_name_a_measure_the_same_file_defines_under_the_indicators_own_code(world, document):
    document["measures"][0]["code"] = "below_size_share"
    document["indicators"][1]["formula"] = "share(below_size_share, industrial_output)"

    load_world(document)

    assert Indicator.objects.get(code="below_size_share").formula == "share(below_size_share, industrial_output)"

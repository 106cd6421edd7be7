"""The world file's `exchange_rates`, `measures` and `indicators` sections
(kechuang/world, docs/world-file.md).

Definitions are data: the measures and indicators a bureau defines, and the reference
rates a conversion names, travel in the world file like the registry does. Each entry is
judged by the indicators' own rules: the check phase builds an unsaved Measure or
Indicator and hands it to services.check_measure / check_indicator (the codes the file
defines count as known), so a file is refused for exactly what the admin and
define_measure refuse, every problem at its path and nothing written. The load then
writes through define_measure, define_indicator and record_rate, skipping entries the
database already holds as the file says them.

None of the three belongs to a region: every dump holds them all, a region's too, so that
a district's file carries the definitions its figures are read with, and the sources its
rates and indicators cite.
"""

from decimal import Decimal
from typing import Any

import yaml

from kechuang.registry.models import Source
from kechuang.statistics.models import Metric
from kechuang.world import schema as s
from kechuang.world.context import DumpContext, LoadContext
from kechuang.world.errors import at
from kechuang.world.sections import Entries, Section
from kechuang.world.sources import check_source_refs, source_key, source_reference
from kechuang.world.values import read_date, read_decimal, without_defaults, write_date, write_decimal

from . import formulas
from .models import Aggregate, ExchangeRate, Indicator, Measure, MeasureKind, UnitKind
from .services import (
    CATALOGUE,
    IndicatorError,
    check_indicator,
    check_measure,
    define_indicator,
    define_measure,
    record_rate,
)
from .sources import SUBJECT_FILTERS

#: DecimalField(max_digits, decimal_places) of ExchangeRate.rate and Indicator.tolerance.
RATE = {"max_digits": 14, "decimal_places": 6}
TOLERANCE = {"max_digits": 12, "decimal_places": 4}

#: The primary key an unsaved measure is given for a metric the file names but nobody
#: has: the unknown metric is reported once, and check_measure still judges the rest.
UNRESOLVED = 0

METRIC_CATALOGUE = "kechuang/statistics/data/metrics.yaml"


def _number(ctx: LoadContext, path: str, value: Any, digits: dict) -> Decimal | None:
    """read_decimal, or None with the reason as a problem at `path`."""
    try:
        return read_decimal(value, **digits)
    except ValueError as exc:
        ctx.problem(path, str(exc))
        return None


def _refusal(ctx: LoadContext, path: str, reported: set[str], check, *args, **options) -> str | None:
    """Run a service's check; its IndicatorError becomes a problem at the entry's field
    (unless that field already has one). Returns the refused field, or None."""
    try:
        check(*args, **options)
    except IndicatorError as error:
        if error.field not in reported:
            ctx.problem(at(path, error.field), error.reason)
        return error.field
    return None


def _unknown_metric(ctx: LoadContext, path: str, code: str) -> None:
    ctx.problem(path, f"no metric has the code {code!r}; the metrics are those of the catalogue ({METRIC_CATALOGUE})")


def _json_ready(value: Any) -> Any:
    """Subjects and parameters as a JSONField keeps them: the file's exact decimals as the
    plain numbers JSON holds (a JSONField cannot store a Decimal)."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _sorted(value: Any) -> Any:
    """Mappings with their keys in order, so a dump does not depend on how the database
    returns a JSON object (PostgreSQL's jsonb reorders keys)."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def _same(row, values: dict) -> bool:
    return row is not None and all(getattr(row, name) == value for name, value in values.items())


# --- exchange rates ----------------------------------------------------------------------

CURRENCY_PATTERN = r"^[A-Z]{3}$"

RATE_SCHEMA = s.listing(
    "Reference exchange rates: how many yuan one unit of a currency is worth on a date, and who says so. "
    "A conversion names the rate it used, its date and its source.",
    s.entry("A rate.", {
        "currency": {"type": "string", "pattern": CURRENCY_PATTERN,
                     "description": "ISO 4217 code in capitals, e.g. USD (not CNY: amounts are kept in yuan)."},
        "date": s.date("The day the rate holds, YYYY-MM-DD."),
        "rate": s.decimal("Yuan per one unit of the currency: more than 0, at most 6 decimals, e.g. \"7.26\"."),
        "source": s.key("Key of the source that states or implies the rate (in the file or the database).",
                        Source, "key"),
    }, required=["currency", "date", "rate", "source"]),
)


def check_rates(entries: Entries, ctx: LoadContext) -> None:
    """What services.record_rate refuses, found without writing: yuan itself, a rate that
    is not positive or has more decimals than are kept, an unknown source; and a currency
    given twice for one day."""
    for i, entry in enumerate(entries):
        path = at("exchange_rates", i)
        ctx.declare("exchange_rates", f"{entry['currency']} {entry['date']}", path, entry)
        if entry["currency"] == "CNY":
            ctx.problem(at(path, "currency"), "amounts are kept in yuan; a rate converts them to another currency")
        rate = _number(ctx, at(path, "rate"), entry["rate"], RATE)
        if rate is not None and rate <= 0:
            ctx.problem(at(path, "rate"), f"a rate is positive, not {rate}")
    check_source_refs(ctx, [(at("exchange_rates", i, "source"), entry["source"]) for i, entry in enumerate(entries)])


def load_rates(entries: Entries, ctx: LoadContext) -> None:
    held = {(row.currency, row.date): row
            for row in ExchangeRate.objects.filter(currency__in={entry["currency"] for entry in entries})}
    sources = ctx.pks(Source, "key", {entry["source"] for entry in entries})
    for i, entry in enumerate(entries):
        date, rate = read_date(entry["date"]), read_decimal(entry["rate"], **RATE)
        row = held.get((entry["currency"], date))
        if _same(row, {"rate": rate, "source_id": sources[entry["source"]]}):
            status = "unchanged"
        else:
            with ctx.writing(at("exchange_rates", i)):
                record_rate(entry["currency"], date, rate, entry["source"])
            status = "created" if row is None else "updated"
        ctx.report.count("exchange_rates", status)


def dump_rates(ctx: DumpContext) -> Entries:
    """Every rate, by currency and date."""
    rows = ExchangeRate.objects.select_related("source").order_by("currency", "date")
    entries = [{"currency": row.currency, "date": write_date(row.date), "rate": write_decimal(row.rate),
                "source": row.source.key} for row in rows]
    ctx.require("sources", [entry["source"] for entry in entries])
    return entries


EXCHANGE_RATES = Section("exchange_rates", RATE_SCHEMA, load=load_rates, dump=dump_rates, check=check_rates,
                         after=("sources",))


# --- measures ----------------------------------------------------------------------------

MEASURE_DEFAULTS = {"description_zh": "", "description_en": "", "aggregate": Aggregate.SUM.value, "metric": None,
                    "source": "", "subjects": {}, "parameters": {}}

MEASURE_SCHEMA = s.listing(
    "Measures: each one aggregate over the records of an area in a period (a metric's figures, or registry "
    "events or stocks), named by indicator formulas. See docs/indicators.md.",
    s.entry("A measure.", {
        "code": s.key("Code formulas name: lower case letters, digits and _, e.g. high_tech_output_above_size.",
                      Measure, "code"),
        "name_zh": s.text("Chinese name.", Measure, "name_zh", required=True),
        "name_en": s.text("English name.", Measure, "name_en", required=True),
        "description_zh": s.text("Description, in Chinese."),
        "description_en": s.text("Description, in English."),
        "kind": s.choice("observations (a metric's figures), events (records dated in the period) or stock "
                         "(records in force on the period's last day).", MeasureKind),
        "aggregate": s.choice("sum (default), count, min or max.", Aggregate),
        "metric": s.nullable(s.key("Observations: code of the metric aggregated, e.g. industrial-output.",
                                   Metric, "code")),
        "source": s.text("Events and stocks: code of a registered source (kechuang/indicators/sources.py), "
                         "e.g. projects-approved.", Measure, "source"),
        "subjects": {"type": "object", "description": "Observations: which subjects count, e.g. "
                     f"{{above_designated_size: true}}; the filters are {', '.join(SUBJECT_FILTERS)}."},
        "parameters": {"type": "object", "description": "Events and stocks: the source's parameters, e.g. "
                       "{kinds: [enterprise]}."},
    }, required=["code", "name_zh", "name_en", "kind"]),
)


def _measure_values(entry: dict) -> dict:
    """The keyword arguments of services.define_measure for an entry (the metric by code)."""
    values = {**MEASURE_DEFAULTS, **{name: value for name, value in entry.items() if name != "code"}}
    values["subjects"], values["parameters"] = _json_ready(values["subjects"]), _json_ready(values["parameters"])
    return values


def check_measures(entries: Entries, ctx: LoadContext) -> None:
    metrics = ctx.pks(Metric, "code", {entry.get("metric") for entry in entries})
    for i, entry in enumerate(entries):
        path = at("measures", i)
        ctx.declare("measures", entry["code"], path, entry)
        values = _measure_values(entry)
        metric = values.pop("metric")
        reported = set()
        if metric is not None and metric not in metrics:
            _unknown_metric(ctx, at(path, "metric"), metric)
            reported.add("metric")
        candidate = Measure(code=entry["code"], metric_id=None if metric is None else metrics.get(metric, UNRESOLVED),
                            **values)
        _refusal(ctx, path, reported, check_measure, candidate)


def load_measures(entries: Entries, ctx: LoadContext) -> None:
    held = Measure.objects.in_bulk([entry["code"] for entry in entries], field_name="code")
    metrics = ctx.pks(Metric, "code", {entry.get("metric") for entry in entries})
    for i, entry in enumerate(entries):
        values = _measure_values(entry)
        row = held.get(entry["code"])
        stored = {**{name: value for name, value in values.items() if name != "metric"},
                  "metric_id": metrics.get(values["metric"])}
        if _same(row, stored):
            status = "unchanged"
        else:
            with ctx.writing(at("measures", i)):
                define_measure(entry["code"], **values)
            status = "created" if row is None else "updated"
        ctx.report.count("measures", status)


def _not_shipped(section: str, entries: Entries, defaults: dict) -> Entries:
    """The entries that differ from the shipped catalogue's (data/indicators.yaml): every
    `migrate` writes the shipped ones, so a dump need not carry them."""
    shipped = {}
    for entry in yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))[section]:
        values = {**defaults, **entry}
        if "tolerance" in values:
            values["tolerance"] = write_decimal(Decimal(str(values["tolerance"])))
        for name in ("subjects", "parameters"):
            if name in values:
                values[name] = _sorted(values[name] or {})
        shipped[entry["code"]] = without_defaults(values, defaults)
    return [entry for entry in entries if shipped.get(entry["code"]) != entry]


def dump_measures(ctx: DumpContext) -> Entries:
    """The measures a bureau defined or changed, by code (the shipped ones come with `migrate`)."""
    return _not_shipped("measures", [
        without_defaults({
            "code": row.code, "name_zh": row.name_zh, "name_en": row.name_en,
            "description_zh": row.description_zh, "description_en": row.description_en,
            "kind": row.kind, "aggregate": row.aggregate, "metric": row.metric.code if row.metric_id else None,
            "source": row.source, "subjects": _sorted(row.subjects or {}), "parameters": _sorted(row.parameters or {}),
        }, MEASURE_DEFAULTS)
        for row in Measure.objects.select_related("metric").order_by("code")
    ], MEASURE_DEFAULTS)


MEASURES = Section("measures", MEASURE_SCHEMA, load=load_measures, dump=dump_measures, check=check_measures)


# --- indicators --------------------------------------------------------------------------

INDICATOR_DEFAULTS = {"description_zh": "", "description_en": "", "precision": 0, "official_metric": None,
                      "tolerance": 0, "source": None}

INDICATOR_SCHEMA = s.listing(
    "Indicators: formulas over measures and other indicators, with a unit and a precision; what bulletins "
    "state. See docs/indicators.md.",
    s.entry("An indicator.", {
        "code": s.key("Code: lower case letters, digits and _, e.g. high_tech_share.", Indicator, "code"),
        "name_zh": s.text("Chinese name.", Indicator, "name_zh", required=True),
        "name_en": s.text("English name.", Indicator, "name_en", required=True),
        "description_zh": s.text("Description, in Chinese."),
        "description_en": s.text("Description, in English."),
        "formula": s.text("Over measure and indicator codes (in the file or the database), e.g. "
                          "share(high_tech_output_above_size, industrial_output_above_size).",
                          Indicator, "formula", required=True),
        "unit_kind": s.choice("money, count, percent, points, ratio or quantity.", UnitKind),
        "unit": s.text("Unit shown: yuan, %, 个, 家 …", Indicator, "unit", required=True),
        "precision": s.integer("Decimals shown (default 0, at most 6).", minimum=0),
        "official_metric": s.nullable(s.key("Code of the metric whose figure for the area itself is the official "
                                            "one, e.g. high-tech-output-share.", Metric, "code")),
        "tolerance": s.decimal("Official and computed figures further apart than this, in the indicator's unit, are "
                               "flagged (default 0; at most 4 decimals)."),
        "source": source_reference("Key of the source the definition comes from (in the file or the database)."),
    }, required=["code", "name_zh", "name_en", "formula", "unit_kind", "unit"]),
)


def _indicator_values(entry: dict) -> dict:
    """The keyword arguments of services.define_indicator for an entry (metric and source by code)."""
    values = {**INDICATOR_DEFAULTS, **{name: value for name, value in entry.items() if name != "code"}}
    values["tolerance"] = read_decimal(values["tolerance"], **TOLERANCE)
    return values


def _known(measures: set[str], indicators: set[str], code: str) -> set[str]:
    """The codes of the file an indicator's formula may name: every measure, and every
    other indicator (its own code only as a measure's: naming itself is a cycle)."""
    return measures | (indicators - {code})


def check_indicators(entries: Entries, ctx: LoadContext) -> None:
    for i, entry in enumerate(entries):
        ctx.declare("indicators", entry["code"], at("indicators", i), entry)
    check_source_refs(ctx, [(at("indicators", i, "source"), entry.get("source")) for i, entry in enumerate(entries)])
    metrics = ctx.pks(Metric, "code", {entry.get("official_metric") for entry in entries})
    measures, codes = set(ctx.declared("measures")), set(ctx.declared("indicators"))
    names: dict[str, tuple[str, set[str]]] = {}
    for i, entry in enumerate(entries):
        path = at("indicators", i)
        reported = set()
        metric = entry.get("official_metric")
        if metric is not None and metric not in metrics:
            _unknown_metric(ctx, at(path, "official_metric"), metric)
        tolerance = _number(ctx, at(path, "tolerance"), entry.get("tolerance", 0), TOLERANCE)
        if tolerance is None:
            reported.add("tolerance")
        candidate = Indicator(code=entry["code"], name_zh=entry["name_zh"], name_en=entry["name_en"],
                              formula=entry["formula"], unit_kind=entry["unit_kind"], unit=entry["unit"],
                              precision=entry.get("precision", 0), tolerance=tolerance)
        refused = _refusal(ctx, path, reported, check_indicator, candidate,
                           known=_known(measures, codes, entry["code"]))
        if refused != "formula":
            try:
                names[entry["code"]] = (path, formulas.references(formulas.parse(entry["formula"])))
            except formulas.FormulaError:
                pass  # reported when check_indicator gets that far
    _check_cycles(ctx, names, measures)


def _check_cycles(ctx: LoadContext, names: dict[str, tuple[str, set[str]]], measures: set[str]) -> None:
    """An indicator that comes back to itself through others (a → b → a) cannot be
    evaluated; check_indicator sees one formula at a time, so only a formula naming its
    own code. A name is a measure's where there is one (as the engine reads it), else an
    indicator's: the file's, else the database's."""
    graph = {code: references for code, (_, references) in names.items()}
    measures, asked = set(measures), set()
    while wanted := set().union(*graph.values()) - asked:
        asked |= wanted
        measures |= set(Measure.objects.filter(code__in=wanted).values_list("code", flat=True))
        for code, formula in Indicator.objects.filter(code__in=wanted - measures - graph.keys()).values_list(
                "code", "formula"):
            try:
                graph[code] = formulas.references(formulas.parse(formula))
            except formulas.FormulaError:
                graph[code] = set()
    for code, (path, _) in names.items():
        chain = _way_back(code, graph, measures)
        if chain:
            ctx.problem(at(path, "formula"), f"indicator {code} refers to itself: {' → '.join(chain)}")


def _way_back(start: str, graph: dict[str, set[str]], measures: set[str]) -> list[str] | None:
    """The indicators from `start` round to `start` again, or None if its formula never returns."""
    stack, seen = [(start, [start])], {start}
    while stack:
        code, chain = stack.pop()
        for name in sorted(graph.get(code, set()) - measures):
            if name == start:
                return [*chain, start]
            if name not in seen:
                seen.add(name)
                stack.append((name, [*chain, name]))
    return None


def load_indicators(entries: Entries, ctx: LoadContext) -> None:
    held = Indicator.objects.in_bulk([entry["code"] for entry in entries], field_name="code")
    metrics = ctx.pks(Metric, "code", {entry.get("official_metric") for entry in entries})
    sources = ctx.pks(Source, "key", {entry.get("source") for entry in entries})
    measures, codes = set(ctx.declared("measures")), {entry["code"] for entry in entries}
    for i, entry in enumerate(entries):
        values = _indicator_values(entry)
        row = held.get(entry["code"])
        stored = {**{name: value for name, value in values.items() if name not in ("official_metric", "source")},
                  "official_metric_id": metrics.get(values["official_metric"]),
                  "source_id": sources.get(values["source"])}
        if _same(row, stored):
            status = "unchanged"
        else:
            with ctx.writing(at("indicators", i)):
                define_indicator(entry["code"], known=_known(measures, codes, entry["code"]), **values)
            status = "created" if row is None else "updated"
        ctx.report.count("indicators", status)


def dump_indicators(ctx: DumpContext) -> Entries:
    """The indicators a bureau defined or changed, by code (the shipped ones come with `migrate`)."""
    entries = _not_shipped("indicators", [
        without_defaults({
            "code": row.code, "name_zh": row.name_zh, "name_en": row.name_en,
            "description_zh": row.description_zh, "description_en": row.description_en,
            "formula": row.formula, "unit_kind": row.unit_kind, "unit": row.unit, "precision": row.precision,
            "official_metric": row.official_metric.code if row.official_metric_id else None,
            "tolerance": write_decimal(row.tolerance), "source": source_key(row),
        }, INDICATOR_DEFAULTS)
        for row in Indicator.objects.select_related("official_metric", "source").order_by("code")
    ], INDICATOR_DEFAULTS)
    ctx.require("sources", [entry.get("source") for entry in entries])
    return entries


INDICATORS = Section("indicators", INDICATOR_SCHEMA, load=load_indicators, dump=dump_indicators,
                     check=check_indicators, after=("measures", "sources"))

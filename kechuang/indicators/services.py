"""The indicators' use cases: defining measures and indicators (checked before they are
written), loading the shipped catalogue, and exchange rates.

Every definition is checked whole: a formula that does not parse, names an unknown code
or refers to itself, a measure of an unknown metric or source, an unknown subject filter
or parameter — each is refused with the field and the reason, and nothing is written.
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction

from kechuang.registry.models import Source
from kechuang.statistics.models import Metric

from . import formulas, sources
from .models import Aggregate, ExchangeRate, Indicator, Measure, MeasureKind, UnitKind

CATALOGUE = Path(__file__).parent / "data" / "indicators.yaml"
CENT = Decimal("0.01")


class IndicatorError(ValidationError):
    """A definition or a conversion that cannot be made; `field` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__({field: [message]})
        self.field, self.reason = field, message


# --- definitions -------------------------------------------------------------------------


def _code(code: str) -> str:
    if not isinstance(code, str) or not formulas.CODE.match(code):
        raise IndicatorError("code", f"{code!r}: a code is lower case letters, digits and _, starting with a letter "
                                     "(formulas name it)")
    return code


def check_measure(measure: Measure) -> Measure:
    """Raise IndicatorError unless `measure` (unsaved or not) can be evaluated."""
    _code(measure.code)
    if measure.kind not in MeasureKind.values:
        raise IndicatorError("kind", f"{measure.kind!r} is not one of {', '.join(MeasureKind.values)}")
    if measure.aggregate not in Aggregate.values:
        raise IndicatorError("aggregate", f"{measure.aggregate!r} is not one of {', '.join(Aggregate.values)}")
    if measure.kind == MeasureKind.OBSERVATIONS:
        if measure.metric_id is None:
            raise IndicatorError("metric", "a measure of observations names a metric")
        if measure.source:
            raise IndicatorError("source", "a measure of observations reads a metric, not a source")
        unknown = sorted(set(measure.subjects or {}) - set(sources.SUBJECT_FILTERS))
        if unknown:
            raise IndicatorError("subjects", f"{', '.join(unknown)}: not a subject filter; the filters are "
                                             f"{', '.join(sources.SUBJECT_FILTERS)}")
        if measure.parameters:
            raise IndicatorError("parameters", "parameters belong to sources; a measure of observations has subjects")
    else:
        if measure.metric_id is not None:
            raise IndicatorError("metric", f"a measure of {measure.kind} reads a source, not a metric")
        try:
            source = sources.find(measure.source)
            source.rows(measure.parameters or {})
        except sources.SourceError as error:
            raise IndicatorError("source" if "registered" in str(error) else "parameters", str(error)) from None
        if source.kind != measure.kind:
            raise IndicatorError("source", f"{source.code} gives {source.kind}, not {measure.kind}")
        if measure.aggregate in (Aggregate.SUM, Aggregate.MIN, Aggregate.MAX) and not source.value:
            raise IndicatorError("aggregate", f"{source.code} has nothing to add up: count it")
        if measure.subjects:
            raise IndicatorError("subjects", "a source's records are chosen by its parameters")
    return measure


def check_indicator(indicator: Indicator, *, known: set[str] | None = None) -> Indicator:
    """Raise IndicatorError unless the indicator's formula parses and names only measures and
    indicators that exist (or are in `known`, defined by the same file), without a cycle."""
    _code(indicator.code)
    if indicator.unit_kind not in UnitKind.values:
        raise IndicatorError("unit_kind", f"{indicator.unit_kind!r} is not one of {', '.join(UnitKind.values)}")
    try:
        tree = formulas.parse(indicator.formula)
    except formulas.FormulaError as error:
        raise IndicatorError("formula", str(error)) from None
    names = formulas.references(tree)
    if indicator.code in names and not Measure.objects.filter(code=indicator.code).exists() \
            and indicator.code not in (known or set()):
        raise IndicatorError("formula", f"{indicator.code} cannot refer to itself")
    existing = set(Measure.objects.filter(code__in=names).values_list("code", flat=True))
    existing |= set(Indicator.objects.filter(code__in=names).values_list("code", flat=True))
    missing = sorted(names - existing - (known or set()))
    if missing:
        raise IndicatorError("formula", f"{', '.join(missing)}: no measure or indicator has this code")
    # Codes the same file defines are the file's to check (kechuang/indicators/world.py).
    way = _way_back(indicator.code, names - (known or set()))
    if way:
        raise IndicatorError("formula", f"indicator {indicator.code} refers to itself: {' → '.join(way)}")
    if indicator.precision > 6:
        raise IndicatorError("precision", "at most 6 decimals are shown")
    if indicator.tolerance is not None and Decimal(indicator.tolerance) < 0:
        raise IndicatorError("tolerance", "a tolerance cannot be negative")
    return indicator


def _way_back(code: str, names: set[str]) -> list[str] | None:
    """A chain of stored indicators from `names` back to `code` (a cycle), if there is one."""
    measures = set(Measure.objects.values_list("code", flat=True))
    formulas_of = dict(Indicator.objects.exclude(code=code).values_list("code", "formula"))
    stack, seen = [(name, [code, name]) for name in sorted(names - measures)], set()
    while stack:
        name, path = stack.pop()
        if name == code:
            return path
        if name in seen or name not in formulas_of:
            continue
        seen.add(name)
        try:
            following = formulas.references(formulas.parse(formulas_of[name])) - measures
        except formulas.FormulaError:
            continue
        stack.extend((other, [*path, other]) for other in sorted(following))
    return None


@transaction.atomic
def define_measure(code: str, **fields) -> Measure:
    """Create or update a measure (the metric by code)."""
    metric = fields.pop("metric", None)
    if isinstance(metric, str):
        found = Metric.objects.filter(code=metric).first()
        if found is None:
            raise IndicatorError("metric", f"{metric!r} is not a metric of the catalogue")
        metric = found
    measure = Measure.objects.filter(code=code).first() or Measure(code=code)
    for name, value in fields.items():
        setattr(measure, name, value)
    measure.metric = metric
    check_measure(measure)
    measure.full_clean(validate_constraints=False)
    measure.save()
    return measure


@transaction.atomic
def define_indicator(code: str, *, known: set[str] | None = None, **fields) -> Indicator:
    """Create or update an indicator (the official metric and the source by code)."""
    metric = fields.pop("official_metric", None)
    if isinstance(metric, str):
        found = Metric.objects.filter(code=metric).first()
        if found is None:
            raise IndicatorError("official_metric", f"{metric!r} is not a metric of the catalogue")
        metric = found
    source = fields.pop("source", None)
    if isinstance(source, str):
        source = _source(source)
    if "tolerance" in fields:
        fields["tolerance"] = _decimal("tolerance", fields["tolerance"])
    indicator = Indicator.objects.filter(code=code).first() or Indicator(code=code)
    for name, value in fields.items():
        setattr(indicator, name, value)
    indicator.official_metric, indicator.source = metric, source
    check_indicator(indicator, known=known)
    indicator.full_clean(validate_constraints=False)
    indicator.save()
    return indicator


def _source(key: str) -> Source:
    found = Source.objects.filter(key=key).first()
    if found is None:
        raise IndicatorError("source", f"{key!r} is not a source kechuang knows")
    return found


def _decimal(field: str, value) -> Decimal:
    if isinstance(value, float):
        raise IndicatorError(field, "give numbers as text or Decimal, not float")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise IndicatorError(field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise IndicatorError(field, f"{value!r} is not a number")
    return number


@transaction.atomic
def load_catalogue(path: Path = CATALOGUE) -> tuple[int, int]:
    """Write the shipped measures and indicators; returns how many of each."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in document["measures"]:
        define_measure(**entry)
    codes = {entry["code"] for entry in document["indicators"]}
    for entry in document["indicators"]:
        define_indicator(known=codes, **entry)
    return len(document["measures"]), len(document["indicators"])


# --- exchange rates ----------------------------------------------------------------------


@transaction.atomic
def record_rate(currency: str, date: dt.date, rate, source: Source | str) -> ExchangeRate:
    """A reference rate: `rate` yuan for one unit of `currency` on `date`."""
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise IndicatorError("currency", f"{currency!r} is not an ISO 4217 code such as USD")
    if currency == "CNY":
        raise IndicatorError("currency", "amounts are kept in yuan; a rate converts them to another currency")
    rate = _decimal("rate", rate)
    if rate <= 0:
        raise IndicatorError("rate", "a rate is positive")
    source = _source(source) if isinstance(source, str) else source
    found, _ = ExchangeRate.objects.update_or_create(currency=currency, date=date,
                                                     defaults={"rate": rate, "source": source})
    return found


def rate_on(currency: str, date: dt.date) -> ExchangeRate:
    """The latest rate on or before `date`: never a guess from a later one."""
    found = (ExchangeRate.objects.filter(currency=currency.upper(), date__lte=date).select_related("source")
             .order_by("-date").first())
    if found is None:
        raise IndicatorError("currency", f"no {currency.upper()} rate on or before {date:%Y-%m-%d}; "
                                         "load one (with its source) before converting")
    return found


def in_currency(yuan: Decimal, currency: str, date: dt.date) -> tuple[Decimal, ExchangeRate]:
    """`yuan` in `currency` at the rate of `date` (or the latest before it), rounded half up to
    the cent, with the rate used (its date and source go wherever the amount is shown)."""
    rate = rate_on(currency, date)
    with localcontext() as context:
        context.prec = 50
        amount = Decimal(yuan) / rate.rate
    return amount.quantize(CENT, rounding=ROUND_HALF_UP), rate

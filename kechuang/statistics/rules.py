"""The validation rules of figures, as pure functions over values already read.

Shared by the single-figure service (services.record_observation) and the bulk
importer (importer.py), so a rule is written once. Each returns the problems it finds
as sentences a bureau clerk understands; an empty list (or None) means none.
"""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from .periods import Period, PeriodError
from .units import UnitError, find_unit

#: A value this many times (or this fraction of) the previous period's is most likely
#: entered in 元 where 万元 was meant, or the other way round.
UNIT_MIX_UP_FACTOR = Decimal(10_000)


def unit_fits(metric, unit: str) -> bool:
    """Whether a value given in `unit` can be a value of `metric`: money in any money unit
    (元, 万元, 亿元), a count in any counter (人, 项, 件, 个), otherwise the same base unit."""
    try:
        given, expected = find_unit(unit), find_unit(metric.base_unit)
    except UnitError:
        return False
    if expected.kind == "count":
        return given.kind == "count" and given.exponent == 0
    return given.base == expected.base


def value_problems(metric, value: Decimal) -> list[str]:
    """Rules on one value alone."""
    if metric.non_negative and value < 0:
        return [f"{metric.name_zh} ({metric.code}) cannot be negative: {value}"]
    return []


def future_problem(period: Period, today: dt.date) -> str | None:
    """An actual figure for a period that has not ended yet cannot be known."""
    if period.end > today:
        return f"{period.code} has not ended yet (it ends on {period.end}); an actual figure must wait, or be an estimate"
    return None


def part_whole_problems(values: Mapping[str, Decimal], metrics: Mapping[str, object]) -> list[str]:
    """Part ≤ whole among one subject's values for one period and kind (high-tech output
    ≤ total industrial output; domestic R&D ≤ R&D). `values` by metric code; `metrics`
    holds at least the metrics of `values`, with `part_of` loaded."""
    problems = []
    for code, value in values.items():
        metric = metrics.get(code)
        whole = metric.part_of if metric is not None else None
        if whole is not None and whole.code in values and value > values[whole.code]:
            problems.append(f"{metric.name_zh} ({code}) {value} exceeds {whole.name_zh} ({whole.code}) "
                            f"{values[whole.code]}, of which it is a part")
    return problems


def unit_mix_up(previous: Decimal | None, value: Decimal) -> str | None:
    """A warning when `value` is about 10,000 times, or a 10,000th of, the previous period's."""
    if not previous or not value:
        return None
    ratio = abs(value / previous)
    if ratio >= UNIT_MIX_UP_FACTOR / 2 or ratio <= 2 / UNIT_MIX_UP_FACTOR:
        return (f"{value} is {ratio:.4g} times the previous period's {previous}: probably entered in 元 instead of "
                "万元 (or the other way round); check the unit, then import with --accept-warnings if it is right")
    return None


# --- rules on one figure, used by the importer and available to the single-figure service ---

#: Observation.value is numeric(24, 4) (models.py): beyond this the database would round or refuse.
MAX_DECIMAL_PLACES = 4
MAX_WHOLE_DIGITS = 20


def unit_problem(metric, unit: str) -> str | None:
    """Why a value given in `unit` cannot be a figure of `metric` (see unit_fits), or None.
    "" is the metric's own unit."""
    if unit == "" or unit_fits(metric, unit):
        return None
    try:
        find_unit(unit)
    except UnitError as error:
        return str(error)
    base = find_unit(metric.base_unit)
    expected = "元, 千元, 万元 or 亿元" if base.kind == "money" else base.name
    return f"{metric.name_zh} ({metric.code}) is not given in {unit}: use {expected}"


def subject_kind_problem(metric, subject_kind: str) -> str | None:
    """A metric is collected from some kinds of subject only (metric.subject_kinds)."""
    if subject_kind in metric.subject_kinds:
        return None
    return (f"{metric.name_zh} ({metric.code}) is reported for {', '.join(metric.subject_kinds)}, "
            f"not for a {subject_kind}")


def storable_problem(value: Decimal) -> str | None:
    """A value the database keeps exactly: at most 20 digits before the point and 4 after (in the base unit)."""
    sign, digits, exponent = value.as_tuple()
    if exponent < -MAX_DECIMAL_PLACES and value != value.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES)):
        return f"{value} has more than {MAX_DECIMAL_PLACES} decimal places in its base unit: round it"
    if len(digits) + exponent > MAX_WHOLE_DIGITS:
        return f"{value} is too large (more than {MAX_WHOLE_DIGITS} digits)"
    return None


def comparison_period(period: Period) -> Period | None:
    """The period a figure is compared with for the 元/万元 mix-up check.

    The period before (Period.previous: 2023 → 2022, 2023Q1 → 2022Q4); for a 1-N月
    cumulative range the same months a year earlier, since the months before a
    cumulative range are no comparable figure (§6.1). None when there is none.
    """
    if period.kind == "range":
        return period.same_period_last_year()
    try:
        return period.previous()
    except PeriodError:
        return None


def lock_problem(lock) -> str:
    """The refusal for a figure under an open DataLock (the bureau approved the region's period)."""
    return (f"the bureau approved and locked {lock.region.name_zh} {lock.region.code} for {lock.period} "
            f"on {lock.locked_at:%Y-%m-%d}; a bureau admin must unlock it, with a reason, before a figure changes")


def lock_covers(lock, region_codes: set[str] | frozenset[str], period: Period) -> bool:
    """Whether an open lock holds a figure of a subject in a region with these codes (its own and its
    ancestors'): the lock's region is one of them and its period overlaps the figure's."""
    return (lock.region.code in region_codes and lock.period_start <= period.end
            and lock.period_end >= period.start)

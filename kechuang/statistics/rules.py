"""The validation rules of figures, as pure functions over values already read.

Shared by the single-figure service (services.record_observation) and the bulk
importer (importer.py), so a rule is written once. Each returns the problems it finds
as sentences a bureau clerk understands; an empty list (or None) means none.
"""

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from .periods import Period

#: A value this many times (or this fraction of) the previous period's is most likely
#: entered in 元 where 万元 was meant, or the other way round.
UNIT_MIX_UP_FACTOR = Decimal(10_000)


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

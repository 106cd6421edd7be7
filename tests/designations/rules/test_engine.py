"""The engine's compiled formulas mean what kechuang/indicators/formulas.py means, and growth rates
are the ones the rules define."""

from decimal import Decimal

import pytest

from kechuang.designations.rules.definitions import Figure
from kechuang.designations.rules.engine import Facts, _formula_function, _growth_function, _metric_function, _Run
from kechuang.indicators import formulas
from kechuang.statistics.periods import Period

D = Decimal


def metric(code: str) -> Figure:
    return Figure(code=code, name_zh=code, name_en=code, unit="number", kind="metric", metric=code,
                  metric_offsets=frozenset({(code, 0)}))


FIGURES = {code: metric(code) for code in "abcd"}
VALUES = {("a", 2025): D(30), ("a", 2024): D(24), ("b", 2025): D(120), ("c", 2025): D(7), ("c", 2024): D(5),
          ("d", 2025): D(0)}


@pytest.mark.parametrize("text", [
    "share(a, b)", "ratio(a, b)", "yoy(a)", "change(a)", "last_year(a)", "previous(a)", "pop(a)",
    "a + b * 2 - c / 3", "-a + 1.5", "sum(a, b, last_year(c))", "share(a, d)", "a / d", "yoy(b)",
    "per_capita(b, c)", "(a + c) / (b - 100)",
])
def test_compiled_formulas_agree_with_the_indicators_evaluator(text):
    node = formulas.parse(text)
    compute = {code: _metric_function(figure) for code, figure in FIGURES.items()}
    compiled = _formula_function(node, FIGURES)(_Run(Facts(dict(VALUES)), compute), 2025)
    reference = formulas.evaluate(node, Period.of_year(2025),
                                  lambda code, period: VALUES.get((code, period.year)))
    assert compiled == reference


def growth(average: str, years: int, values: dict) -> Decimal | None:
    base = metric("a")
    figure = Figure(code="g", name_zh="g", name_en="g", unit="percent", kind="growth", growth_of="a", years=years,
                    average=average)
    compute = {"a": _metric_function(base), "g": _growth_function(figure)}
    return _Run(Facts({("a", year): D(value) for year, value in values.items()}), compute).get("g", 2025)


def test_arithmetic_growth_is_the_mean_of_the_yearly_rates():
    # HNTE guideline: ½ × (y2/y1 + y3/y2) − 1, in percent: ½ × (1.2 + 1.5) − 1 = 35%.
    assert growth("arithmetic", 2, {2023: 100, 2024: 120, 2025: 180}) == 35


def test_compound_growth_is_the_annual_rate_that_compounds_to_the_total():
    assert growth("compound", 2, {2023: 100, 2024: 1, 2025: 121}) == 10


def test_growth_over_a_missing_or_zero_base_is_unknown():
    assert growth("arithmetic", 2, {2024: 120, 2025: 180}) is None
    assert growth("arithmetic", 2, {2023: 0, 2024: 120, 2025: 180}) is None
    assert growth("compound", 2, {2023: 0, 2025: 180}) is None

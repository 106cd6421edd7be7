"""The formula language: what it reads, what it refuses, and exact arithmetic."""

from decimal import Decimal

import pytest

from kechuang.indicators.formulas import FormulaError, evaluate, needs, parse, references
from kechuang.statistics.periods import Period

H1 = Period.parse("2023H1")


def run(text, values, period=H1):
    """Evaluate with {(code, period code): value}."""
    return evaluate(parse(text), period, lambda code, at: values.get((code, at.code)))


@pytest.mark.parametrize(("text", "expected"), [
    ("1 + 2 * 3", Decimal(7)),
    ("(1 + 2) * 3", Decimal(9)),
    ("-2 - -3", Decimal(1)),
    ("7 / 2", Decimal("3.5")),
    ("0.1 + 0.2", Decimal("0.3")),  # exact: no binary floating point
    ("a - b", Decimal(6)),
    ("share(b, a)", Decimal(40)),
    ("ratio(a, b)", Decimal("2.5")),
    ("per_capita(a, b)", Decimal("2.5")),
    ("sum(a, b, 1)", Decimal(15)),
])
def test_arithmetic_and_functions(text, expected):
    assert run(text, {("a", "2023H1"): Decimal(10), ("b", "2023H1"): Decimal(4)}) == expected


def test_comparisons_with_earlier_periods():
    values = {("x", "2023H1"): Decimal(120), ("x", "2022H1"): Decimal(100), ("x", "2022H2"): Decimal(150)}
    assert run("last_year(x)", values) == 100
    assert run("previous(x)", values) == 150
    assert run("yoy(x)", values) == 20
    assert run("pop(x)", values) == -20
    assert run("change(x)", values) == 20
    assert needs(parse("yoy(x) + pop(x)"), H1) == {("x", H1), ("x", Period.parse("2022H1")),
                                                  ("x", Period.parse("2022H2"))}


def test_a_value_that_cannot_be_computed_is_none():
    assert run("a / b", {("a", "2023H1"): Decimal(1), ("b", "2023H1"): Decimal(0)}) is None
    assert run("a + 1", {}) is None
    assert run("yoy(a)", {("a", "2023H1"): Decimal(1), ("a", "2022H1"): Decimal(0)}) is None


def test_references_are_the_codes_named():
    assert references(parse("share(high_tech, output) + yoy(projects)")) == {"high_tech", "output", "projects"}


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("1 +", "ends too early"),
    ("(a + b", "expected '\\)'"),
    ("a b", "unexpected 'b' at character 3"),
    ("eval(a)", "'eval' at character 1 is not a function"),
    ("__import__('os')", "unexpected"),
    ("a ** b", "unexpected '\\*' at character 4"),
    ("share(a)", "share takes 2 arguments, not 1"),
    ("Output", "codes are lower case"),
    ("a; b", "unexpected ';' at character 2"),
    ("a.b", "unexpected '.'"),
])
def test_what_is_not_a_formula_is_refused_with_the_place(text, message):
    with pytest.raises(FormulaError, match=message):
        parse(text)

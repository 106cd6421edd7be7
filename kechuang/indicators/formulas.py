"""Indicator formulas: a small expression language, parsed here and never `eval`ed.

    formula   := sum
    sum       := product (("+" | "-") product)*
    product   := unary (("*" | "/") unary)*
    unary     := "-" unary | atom
    atom      := NUMBER | CODE | FUNCTION "(" formula ("," formula)* ")" | "(" formula ")"

A CODE is a measure's or another indicator's code (lower case, digits and underscores).
The functions (FUNCTIONS below) are shares, ratios and the comparisons with earlier
periods: `last_year(x)` is x for the same period a year before, so
`yoy(x)` = (x ÷ last_year(x) − 1) × 100 is 同比 growth in percent and `change(x)` =
x − last_year(x) is the change of a share in percentage points (百分点).

Arithmetic is exact (Decimal, 50 significant digits); a value that cannot be computed (a
division by zero, a missing figure) is None, and so is every value computed from it.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation

from kechuang.statistics.periods import Period, PeriodError

_CONTEXT = Context(prec=50)
HUNDRED = Decimal(100)

CODE = re.compile(r"[a-z][a-z0-9_]*\Z")
_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[-+*/(),]))")


class FormulaError(ValueError):
    """A formula that cannot be read, with the position of the problem."""


# --- the syntax tree ---------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: Decimal


@dataclass(frozen=True)
class Ref:
    """A measure or indicator, by code."""

    code: str


@dataclass(frozen=True)
class Binary:
    op: str
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Negative:
    operand: "Node"


@dataclass(frozen=True)
class Call:
    function: str
    arguments: tuple["Node", ...]


Node = Number | Ref | Binary | Negative | Call


@dataclass(frozen=True)
class Function:
    arity: int | None  # None: one or more
    shift: Callable[[Period], Period] | None  # evaluates its argument in another period
    description: str


def _last_year(period: Period) -> Period:
    return period.same_period_last_year()


def _previous(period: Period) -> Period:
    return period.previous()


FUNCTIONS = {
    "share": Function(2, None, "share(a, b) = a ÷ b × 100, in percent"),
    "ratio": Function(2, None, "ratio(a, b) = a ÷ b"),
    "per_capita": Function(2, None, "per_capita(a, population) = a ÷ population"),
    "sum": Function(None, None, "sum(a, b, …)"),
    "last_year": Function(1, _last_year, "last_year(x): x in the same period a year earlier (上年同期)"),
    "previous": Function(1, _previous, "previous(x): x in the period before (上期)"),
    "yoy": Function(1, _last_year, "yoy(x) = (x ÷ last_year(x) − 1) × 100: growth on a year earlier (同比), percent"),
    "pop": Function(1, _previous, "pop(x) = (x ÷ previous(x) − 1) × 100: growth on the period before (环比), percent"),
    "change": Function(1, _last_year, "change(x) = x − last_year(x): e.g. a share's change in percentage points"),
}


# --- parsing -----------------------------------------------------------------------------


def _tokens(text: str) -> Iterator[tuple[str, str, int]]:
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            return
        match = _TOKEN.match(text, position)
        if match is None:
            column = len(text) - len(text[position:].lstrip()) + 1
            raise FormulaError(f"unexpected {text[column - 1]!r} at character {column}")
        kind = match.lastgroup
        yield kind, match.group(kind), match.start(kind) + 1
        position = match.end()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = list(_tokens(text))
        self.index = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise FormulaError(f"the formula ends too early{f'; expected {expected!r}' if expected else ''}")
        if expected is not None and token[1] != expected:
            raise FormulaError(f"expected {expected!r} at character {token[2]}, found {token[1]!r}")
        self.index += 1
        return token

    def formula(self) -> Node:
        node = self.sum()
        token = self.peek()
        if token is not None:
            raise FormulaError(f"unexpected {token[1]!r} at character {token[2]}")
        return node

    def sum(self) -> Node:
        node = self.product()
        while (token := self.peek()) is not None and token[1] in "+-" and token[0] == "op":
            self.take()
            node = Binary(token[1], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while (token := self.peek()) is not None and token[1] in "*/" and token[0] == "op":
            self.take()
            node = Binary(token[1], node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token is not None and token[1] == "-":
            self.take()
            return Negative(self.unary())
        return self.atom()

    def atom(self) -> Node:
        kind, text, column = self.take()
        if kind == "number":
            return Number(Decimal(text))
        if kind == "name":
            following = self.peek()
            if following is not None and following[1] == "(":
                return self.call(text, column)
            if not CODE.match(text):
                raise FormulaError(f"{text!r} at character {column}: codes are lower case letters, digits and _")
            return Ref(text)
        if text == "(":
            node = self.sum()
            self.take(")")
            return node
        raise FormulaError(f"unexpected {text!r} at character {column}")

    def call(self, name: str, column: int) -> Node:
        function = FUNCTIONS.get(name)
        if function is None:
            raise FormulaError(f"{name!r} at character {column} is not a function; the functions are "
                               f"{', '.join(FUNCTIONS)}")
        self.take("(")
        arguments = [self.sum()]
        while (token := self.peek()) is not None and token[1] == ",":
            self.take()
            arguments.append(self.sum())
        self.take(")")
        if function.arity is not None and len(arguments) != function.arity:
            raise FormulaError(f"{name} takes {function.arity} argument{'s' if function.arity > 1 else ''}, "
                               f"not {len(arguments)} (character {column})")
        return Call(name, tuple(arguments))


def parse(text: str) -> Node:
    """The syntax tree of a formula, or FormulaError saying where it goes wrong."""
    if not text or not text.strip():
        raise FormulaError("a formula is empty")
    return _Parser(text).formula()


def references(node: Node) -> set[str]:
    """The codes a formula names."""
    if isinstance(node, Ref):
        return {node.code}
    if isinstance(node, Binary):
        return references(node.left) | references(node.right)
    if isinstance(node, Negative):
        return references(node.operand)
    if isinstance(node, Call):
        return set().union(*(references(argument) for argument in node.arguments))
    return set()


def needs(node: Node, period: Period) -> set[tuple[str, Period]]:
    """The (code, period) values evaluating `node` for `period` reads: `yoy(x)` for 2023H1
    reads x for 2023H1 and 2022H1. A shift that cannot be made (the period before a range
    crossing a year) reads nothing and the value is None."""
    if isinstance(node, Ref):
        return {(node.code, period)}
    if isinstance(node, Binary):
        return needs(node.left, period) | needs(node.right, period)
    if isinstance(node, Negative):
        return needs(node.operand, period)
    if isinstance(node, Call):
        found = set().union(*(needs(argument, period) for argument in node.arguments))
        shift = FUNCTIONS[node.function].shift
        if shift is not None:
            try:
                found |= needs(node.arguments[0], shift(period))
            except PeriodError:
                pass
        return found
    return set()


# --- evaluation --------------------------------------------------------------------------

Lookup = Callable[[str, Period], Decimal | None]


def evaluate(node: Node, period: Period, lookup: Lookup) -> Decimal | None:
    """The formula's value for `period`, reading codes through `lookup(code, period)`."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Ref):
        return lookup(node.code, period)
    if isinstance(node, Negative):
        value = evaluate(node.operand, period, lookup)
        return None if value is None else -value
    if isinstance(node, Binary):
        return arithmetic(node.op, evaluate(node.left, period, lookup), evaluate(node.right, period, lookup))
    return _call(node, period, lookup)


def arithmetic(op: str, left: Decimal | None, right: Decimal | None) -> Decimal | None:
    """`left op right` exactly; None when either is unknown or the divisor is zero."""
    if left is None or right is None:
        return None
    try:
        if op == "+":
            return _CONTEXT.add(left, right)
        if op == "-":
            return _CONTEXT.subtract(left, right)
        if op == "*":
            return _CONTEXT.multiply(left, right)
        return None if right == 0 else _CONTEXT.divide(left, right)
    except InvalidOperation:
        return None


def _call(node: Call, period: Period, lookup: Lookup) -> Decimal | None:
    name = node.function
    function = FUNCTIONS[name]
    if function.shift is not None:
        now = evaluate(node.arguments[0], period, lookup)
        try:
            before = evaluate(node.arguments[0], function.shift(period), lookup)
        except PeriodError:
            return None
        if name in ("last_year", "previous"):
            return before
        if name == "change":
            return arithmetic("-", now, before)
        growth = arithmetic("/", now, before)
        return None if growth is None else arithmetic("*", arithmetic("-", growth, Decimal(1)), HUNDRED)
    values = [evaluate(argument, period, lookup) for argument in node.arguments]
    if name == "share":
        return arithmetic("*", arithmetic("/", values[0], values[1]), HUNDRED)
    if name in ("ratio", "per_capita"):
        return arithmetic("/", values[0], values[1])
    total = Decimal(0)
    for value in values:  # sum
        total = arithmetic("+", total, value)
    return total

"""Money, counts and percentages: exact unit conversion, numbers read from table cells, bulletin display.

Money is stored as Decimal yuan (domain-rules.md §6.1: "Store amounts as integer yuan or
Decimal with an explicit unit. Never as floats in 亿元"). Tables and bulletins write it in
千元, 万元 or 亿元; every conversion here moves the decimal point of a Decimal, so it is exact
and nothing passes through float.

Units this module knows convert to their base (`UNITS`): money to 元, each count word (个, 家,
项, 件, 人, 台, 套) to itself, % to %, 百分点 to 百分点. Any other unit is a free-text quantity
unit (吨, 千瓦时, 万人) and is kept as written with itself as base, so that a 万人 or a bare 亿
never passes for yuan. "" is a plain number.
"""

import re
import string
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Literal, NamedTuple


class UnitError(ValueError):
    """A unit that cannot be used, or a value that cannot be converted."""


class NumberError(UnitError):
    """Text that is not a number, with or without a unit."""


UnitKind = Literal["money", "count", "percent", "percentage_point", "quantity", "number"]


@dataclass(frozen=True)
class Unit:
    """A unit of measure: its canonical name, its base unit and the power of ten that leads there."""

    name: str
    kind: UnitKind
    base: str
    exponent: int  # a value in this unit × 10**exponent = the value in `base`


YUAN = "元"
FEN = Decimal("0.01")

# §6.1: 亿元 = 10^8 yuan, 万元 = 10^4 yuan. 百万元 and 十亿元 are here so that "50 million yuan"
# and "13.5 billion yuan", as format_money_en prints them, read back as money.
_KNOWN_UNITS: tuple[tuple[Unit, tuple[str, ...]], ...] = (
    (Unit("元", "money", YUAN, 0), ("yuan", "cny", "rmb")),
    (Unit("千元", "money", YUAN, 3), ("thousand yuan",)),
    (Unit("万元", "money", YUAN, 4), ("10k yuan", "ten thousand yuan")),
    (Unit("百万元", "money", YUAN, 6), ("million yuan",)),
    (Unit("亿元", "money", YUAN, 8), ("100 million yuan", "hundred million yuan")),
    (Unit("十亿元", "money", YUAN, 9), ("billion yuan",)),
    (Unit("个", "count", "个", 0), ("unit", "units")),
    (Unit("家", "count", "家", 0), ()),
    (Unit("项", "count", "项", 0), ("item", "items")),
    (Unit("件", "count", "件", 0), ("piece", "pieces")),
    (Unit("人", "count", "人", 0), ("person", "persons", "people")),
    (Unit("台", "count", "台", 0), ()),
    (Unit("套", "count", "套", 0), ("set", "sets")),
    # Shares are kept as published, in percent to one decimal (§6.4), not as fractions.
    (Unit("%", "percent", "%", 0), ("percent", "per cent")),
    # §6.1: shares move in 百分点 ("提升1.3个百分点").
    (Unit("百分点", "percentage_point", "百分点", 0), ("个百分点", "percentage point", "percentage points")),
)
UNITS: dict[str, Unit] = {unit.name: unit for unit, _ in _KNOWN_UNITS}
_ALIASES: dict[str, Unit] = {alias: unit for unit, aliases in _KNOWN_UNITS for alias in (unit.name, *aliases)}
PLAIN_NUMBER = Unit("", "number", "", 0)

# Exact arithmetic: 100 digits hold any amount a bureau meets, and Inexact is trapped so that a
# longer result raises instead of being rounded silently (the default context keeps 28 digits).
_EXACT = Context(prec=100, traps=[Inexact, InvalidOperation, Overflow])
# Half up (四舍五入) for display and currency conversion: the rounding a bulletin's reader expects.
_ROUND = Context(prec=100, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])

# Full-width ASCII (U+FF01–U+FF5E) and the ideographic space, as typed in Chinese tables.
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def find_unit(text: str) -> Unit:
    """The unit written as `text`: a known one by any of its names (case-insensitive), else free text.

    Free text may not contain a digit or start with punctuation, which is how "1.2.3" and
    "1e400" are refused by `parse_number` instead of read as 1.2 ".3" or 1 "e400".
    """
    name = " ".join(text.translate(_HALFWIDTH).split())
    if name == "":
        return PLAIN_NUMBER
    if name.casefold() in _ALIASES:
        return _ALIASES[name.casefold()]
    if any(character.isdigit() for character in name) or name[0] in string.punctuation:
        raise UnitError(f"{text!r} is not a unit")
    return Unit(name, "quantity", name, 0)


def to_base(value: Decimal, unit: str) -> tuple[Decimal, str]:
    """`value` in `unit` as (value in the base unit, base unit): 135 亿元 → (13500000000, "元").

    Exact: the decimal point moves and the digits stay. Trailing zeros are dropped
    (1.50 元 → 1.5); the value is equal.
    """
    found = find_unit(unit)
    return _plain(_checked(value).scaleb(found.exponent, _EXACT)), found.base


def from_base(value: Decimal, unit: str) -> Decimal:
    """`value` in the base unit of `unit`, written in `unit`: 13500000000 元 → 135 亿元. Exact."""
    return _plain(_checked(value).scaleb(-find_unit(unit).exponent, _EXACT))


class ParsedNumber(NamedTuple):
    value: Decimal  # as written, in `unit`, with its decimals ("1,234.50" → 1234.50)
    unit: str  # the canonical unit name ("％" → "%", "yuan" → "元"); "" for a plain number


_NUMBER = re.compile(r"([+\-−]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")


def parse_number(text: str) -> ParsedNumber:
    """A number from a table cell, with the unit that may follow it: "135亿元" → (135, "亿元").

    Reads thousands separators (1,234.5), full-width digits, signs and punctuation
    (１，２３４．５, －3.5％), the minus sign −, and surrounding spaces. Refuses anything else
    with NumberError: "1.2.3", "abc", "1e400", "NaN", "Infinity", "1,23", ".5". Exponents are
    refused because no statistical table writes them and they make 1e400 a number.
    """
    cleaned = text.translate(_HALFWIDTH).strip()
    match = _NUMBER.match(cleaned)
    if not match:
        raise NumberError(f"{text!r} is not a number")
    sign, whole, fraction = match.groups()
    negative = sign in ("-", "−")
    value = Decimal(("-" if negative else "") + whole.replace(",", "") + (fraction or ""))
    rest = cleaned[match.end():]
    try:
        unit = find_unit(rest)
    except UnitError:
        raise NumberError(f"{text!r} is not a number: {rest.strip()!r} after {match[0]!r} is not a unit") from None
    return ParsedNumber(value, unit.name)


def format_money_zh(yuan: Decimal, places: int = 2, trim_zeros: bool = True) -> str:
    """An amount of yuan as a bulletin writes it: 135亿元, 5000万元, 1385.46亿元, 800元.

    Uses 亿元 from 1亿 yuan, 万元 from 1万, else 元, rounding half up to `places` decimals;
    where rounding reaches the next unit, that unit is used: 99,999,999.9 元 is 1亿元, not
    10000万元. Bulletins print 亿元 with 2 decimals (§6.1, "地区生产总值1385.46亿元");
    trailing zeros are dropped unless `trim_zeros` is False, for table columns that keep them.
    """
    amount, exponent = _in_largest_unit(yuan, places, (8, 4, 0))
    return _digits(amount, trim_zeros, grouping=False) + {8: "亿元", 4: "万元", 0: "元"}[exponent]


def format_money_en(yuan: Decimal, places: int = 2, trim_zeros: bool = True) -> str:
    """An amount of yuan in English: "13.5 billion yuan", "50 million yuan", "12,345.6 yuan".

    The same rule as `format_money_zh`, with billion and million, and thousands separators.
    """
    amount, exponent = _in_largest_unit(yuan, places, (9, 6, 0))
    return _digits(amount, trim_zeros, grouping=True) + {9: " billion yuan", 6: " million yuan", 0: " yuan"}[exponent]


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    """`amount` × `rate`, rounded half up to the fen (or cent) of the other currency.

    The caller gives the rate and names its source: rates change daily, so none is kept here.
    """
    _checked(amount)
    if _checked(rate) <= 0:
        raise UnitError(f"an exchange rate must be positive, not {rate}")
    return _EXACT.multiply(amount, rate).quantize(FEN, context=_ROUND)


def _in_largest_unit(yuan: Decimal, places: int, exponents: tuple[int, ...]) -> tuple[Decimal, int]:
    """`yuan` rounded in the largest unit it reaches, as (amount, exponent of the unit); `exponents` descend to 0."""
    if places < 0:
        raise UnitError(f"places must be 0 or more, not {places}")
    _checked(yuan)
    position = next(index for index, exponent in enumerate(exponents) if abs(yuan) >= 10**exponent or exponent == 0)
    exponent = exponents[position]
    amount = _rounded(yuan, exponent, places)
    if position > 0 and abs(amount) >= 10 ** (exponents[position - 1] - exponent):
        # Rounding carried into the larger unit: 99,999,999.9 元 is 10000.00万元, printed 1亿元.
        exponent = exponents[position - 1]
        amount = _rounded(yuan, exponent, places)
    return amount, exponent


def _rounded(yuan: Decimal, exponent: int, places: int) -> Decimal:
    return yuan.scaleb(-exponent, _EXACT).quantize(Decimal(1).scaleb(-places), context=_ROUND)


def _digits(amount: Decimal, trim_zeros: bool, grouping: bool) -> str:
    if amount == 0:
        amount = abs(amount)  # -0.001 rounds to -0.00; print 0
    text = f"{amount:,f}" if grouping else f"{amount:f}"
    if trim_zeros and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _plain(value: Decimal) -> Decimal:
    """`value` without trailing zeros and without an exponent: 1.35E+10 → 13500000000."""
    value = value.normalize(_EXACT)
    if value.as_tuple().exponent > 0:
        value = value.quantize(Decimal(1), context=_EXACT)
    return value


def _checked(value: Decimal) -> Decimal:
    if not isinstance(value, Decimal):
        # §6.1: never floats; a float has already lost the exact value.
        raise TypeError(f"{value!r} is a {type(value).__name__}; amounts must be Decimal")
    if not value.is_finite():
        raise UnitError(f"{value} is not a finite number")
    return value

"""How an indicator's value is written: rounded to its precision, in its unit, in Chinese
or English (135亿元 / 13.5 billion yuan; 56.0% ; 1.3个百分点 / 1.3 percentage points).

Values are rounded half up (四舍五入), as statistical tables round. Money may be shown in
yuan, 万元 or 亿元 (`money_unit`), or in the largest unit it reaches (the default).
"""

from decimal import ROUND_HALF_UP, Context, Decimal

from kechuang.statistics.units import UNITS, format_money_en, format_money_zh, from_base

from .models import Indicator, UnitKind

SUPPRESSED = "—"


def rounded(value: Decimal | None, places: int) -> Decimal | None:
    """`value` rounded half up to `places` decimals, exactly, however many digits it has: the
    default context keeps 28 and raises InvalidOperation on a longer result (10**27 to 2 places)."""
    if value is None:
        return None
    digits = max(value.adjusted(), 0) + 2 + places  # a digit more for a carry: 99.995 → 100.00
    return value.quantize(Decimal(1).scaleb(-places), context=Context(prec=digits, rounding=ROUND_HALF_UP))


def money_in(value: Decimal, unit: str) -> Decimal:
    """`value` yuan written in `unit` (元, 万元, 亿元 …), exactly."""
    if unit in ("yuan", "元", ""):
        return value
    if unit not in UNITS or UNITS[unit].kind != "money":
        raise ValueError(f"{unit!r} is not a unit of money; use 元, 万元 or 亿元")
    return from_base(value, unit)


def text(indicator: Indicator, value: Decimal | None, language: str = "zh", money_unit: str = "") -> str:
    """The value as a table cell or a sentence writes it; "—" where there is none to show."""
    if value is None:
        return SUPPRESSED
    places = indicator.precision
    kind = indicator.unit_kind
    if kind == UnitKind.MONEY:
        if money_unit and money_unit not in ("yuan", "元"):
            amount = rounded(money_in(value, money_unit), places)
            return f"{amount:f}{money_unit}" if language == "zh" else f"{amount:,f} {money_unit}"
        return format_money_zh(value, places) if language == "zh" else format_money_en(value, places)
    amount = rounded(value, places)
    if kind == UnitKind.PERCENT:
        return f"{amount:f}%"
    if kind == UnitKind.POINTS:
        return f"{amount:f}个百分点" if language == "zh" else f"{amount:f} percentage points"
    if kind == UnitKind.COUNT:
        return f"{amount:f}{indicator.unit}" if language == "zh" else f"{amount:,f}"
    return f"{amount:f} {indicator.unit}".strip()

"""Values as the world file writes them, and as the models hold them.

- Plain dates are ISO strings (`2023-09-04`); YAML date scalars are turned into such
  strings before validation (see `plain`).
- Partial dates (`2020`, `2022-11`, `2022-11-15`) go to a date plus a precision
  (kechuang.registry.dates), and are written back at that precision.
- Decimals are read from the file's text, never through a float, and written without
  trailing zeros: 100, not 100.0000; 12.5 stays 12.5.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from kechuang.registry.dates import PartialDate, Precision


def plain(value: Any) -> Any:
    """The document as JSON-like data: dates become ISO strings, floats exact Decimals.

    A document built in Python (the demo builder) or read by a YAML parser may hold
    date objects; the schema speaks of strings, so they are written as strings first.
    A float from Python code is read through its shortest repr (0.1 → Decimal('0.1')).
    """
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, PartialDate):
        return str(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


# --- reading -------------------------------------------------------------------


def read_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a date: write YYYY-MM-DD") from None


def read_partial(value: str | int | None) -> PartialDate | None:
    """A date known to the year, month or day; raises ValueError with the reason."""
    if value is None:
        return None
    return PartialDate.parse(value)


def partial_fields(value: str | int | None, name: str) -> dict[str, Any]:
    """Model fields for a partial date: {name: date, name_precision: precision}.

    An absent date keeps the model's default precision (day), so it compares equal
    to what the database holds for an empty date.
    """
    partial = read_partial(value)
    if partial is None:
        return {name: None, f"{name}_precision": Precision.DAY}
    return {name: partial.date, f"{name}_precision": partial.precision}


def read_decimal(value: Any, *, max_digits: int, decimal_places: int) -> Decimal:
    """A decimal that fits a DecimalField(max_digits, decimal_places); ValueError if not."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        text = repr(value) if isinstance(value, float) else str(value)
        number = value if isinstance(value, Decimal) else Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    exponent = number.normalize().as_tuple().exponent
    places = max(0, -exponent)
    if places > decimal_places:
        raise ValueError(f"{value} has {places} decimal places; at most {decimal_places} are kept")
    whole_digits = len(str(abs(int(number)))) if abs(number) >= 1 else 0
    if whole_digits > max_digits - decimal_places:
        raise ValueError(f"{value} is too large: at most {max_digits - decimal_places} digits before the point")
    return number


# --- writing -------------------------------------------------------------------


def write_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def write_partial(value: dt.date | None, precision: str) -> str | None:
    return None if value is None else str(PartialDate(value, precision or Precision.DAY))


def write_decimal(value: Decimal) -> int | Decimal:
    """100.0000 → 100, 12.5000 → Decimal('12.5'): the shortest exact form."""
    if value == value.to_integral_value():
        return int(value)
    return value.normalize()


def without_defaults(entry: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is the default the loader would fill in (keeps dumps short).

    Compared with the type too, so that 0 is not taken for False.
    """
    return {
        key: value for key, value in entry.items()
        if not (key in defaults and type(value) is type(defaults[key]) and value == defaults[key])
        and value != []
    }

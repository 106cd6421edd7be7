"""Dates known to a year or a month only ("in 2020", "in November 2022").

A partial date is stored as the first day it could be plus a precision, so it sorts
and compares like a date and prints as precisely as it is known.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.db import models


class Precision(models.TextChoices):
    DAY = "day", "day"
    MONTH = "month", "month"
    YEAR = "year", "year"


_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass(frozen=True, order=True)
class PartialDate:
    date: dt.date
    precision: str = Precision.DAY

    @classmethod
    def parse(cls, value: "str | int | dt.date | PartialDate") -> "PartialDate":
        """Read `2020`, `2022-11` or `2022-11-15` (a date object means day precision)."""
        if isinstance(value, PartialDate):
            return value
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return cls(value, Precision.DAY)
        match = _PATTERN.match(str(value).strip())
        if not match:
            raise ValueError(f"{value!r} is not a date: write YYYY, YYYY-MM or YYYY-MM-DD")
        year, month, day = match.groups()
        try:
            date = dt.date(int(year), int(month or 1), int(day or 1))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a date: {exc}") from None
        precision = Precision.DAY if day else Precision.MONTH if month else Precision.YEAR
        return cls(date, precision)

    def __str__(self) -> str:
        if self.precision == Precision.YEAR:
            return f"{self.date.year:04d}"
        if self.precision == Precision.MONTH:
            return f"{self.date.year:04d}-{self.date.month:02d}"
        return self.date.isoformat()

    @property
    def last_day(self) -> dt.date:
        """The last day this date could be (end of the month or year)."""
        if self.precision == Precision.YEAR:
            return dt.date(self.date.year, 12, 31)
        if self.precision == Precision.MONTH:
            following = dt.date(self.date.year + self.date.month // 12, self.date.month % 12 + 1, 1)
            return following - dt.timedelta(days=1)
        return self.date


def to_partial(date: dt.date | None, precision: str) -> PartialDate | None:
    return None if date is None else PartialDate(date, precision or Precision.DAY)

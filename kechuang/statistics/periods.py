"""Statistical periods (统计期): the one parser and printer for years, halves, quarters, months and ranges.

Chinese statistics report figures cumulated from January (domain-rules.md §6.1: "Periods are
cumulative from January"), written 1-6月, 上半年, 一季度, 前三季度 and so on. A `Period` keeps
what was written: 2023年1-6月 is the range 2023-01..2023-06 and 2023年上半年 is the half 2023H1.
Both cover the same months (`covers`, `months()`), but each prints back as it was written, so
an imported table keeps its own heading.

Codes, which `str(period)` prints and `Period.parse` reads back exactly:

    2023                 a year
    2023H1, 2023H2       a half
    2023Q1 … 2023Q4      a quarter
    2023-07              a month
    2023-01..2023-05     a range of whole months, first <= last, within one year

A range never crosses a year. Year-to-date figures restart every January (§6.1), so a range
such as 2022-08..2023-01 has no place in these statistics; refusing it keeps every period
inside one calendar year.

`Period.parse` also reads the Chinese forms of §6.1: 2023年, 2023年度, 2023年上半年,
2023年一季度 / 第一季度 / 1季度 / Q1, 2023年7月(份), 2023年1-5月 with any of the separators
- – — ～ ~ 至, and 2023年前三季度 (= 2023-01..2023-09). Full-width digits and signs are read
as their ASCII forms. A phrase without a year (一季度, 1-5月) needs `default_year`.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Literal

Kind = Literal["year", "half", "quarter", "month", "range"]
KINDS: tuple[str, ...] = ("year", "half", "quarter", "month", "range")


class PeriodError(ValueError):
    """A period code or phrase that cannot be read, or a period that cannot exist."""


# Figures are added and subtracted exactly: 100 digits hold any amount a bureau meets, and
# Inexact is trapped so that a longer result raises instead of being rounded silently (the
# default context keeps only 28 digits).
_EXACT = Context(prec=100, traps=[Inexact, InvalidOperation, Overflow])

# Full-width ASCII (U+FF01–U+FF5E) and the ideographic space, as typed in Chinese tables.
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")  # not calendar.month_name, which follows the locale
_ORDINALS = ("first", "second", "third", "fourth")
_CHINESE_NUMBERS = "一二三四"


@dataclass(frozen=True, order=True, repr=False)
class Period:
    """A statistical period: whole months `first_month`..`last_month` of one `year`.

    Build one with `Period.parse` or the `of_*` constructors. Two periods are equal when their
    codes are: 2023Q1 and 2023-01..2023-03 cover the same months but are different periods.
    Periods sort by year, then first month, then last month (then kind name, only to be total).
    """

    year: int
    first_month: int
    last_month: int
    kind: Kind

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise PeriodError(f"unknown period kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if not 1000 <= self.year <= 9999:
            raise PeriodError(f"year {self.year} does not have four digits")
        for month in (self.first_month, self.last_month):
            if not 1 <= month <= 12:
                raise PeriodError(f"there is no month {month}")
        if self.first_month > self.last_month:
            raise PeriodError(f"months {self.first_month}..{self.last_month} end before they start")
        if not _has_shape_of(self.kind, self.first_month, self.last_month):
            raise PeriodError(f"a {self.kind} cannot run from month {self.first_month} to month {self.last_month}")

    # Constructors

    @classmethod
    def of_year(cls, year: int) -> Period:
        return cls(year, 1, 12, "year")

    @classmethod
    def of_half(cls, year: int, half: int) -> Period:
        """Half 1 (上半年, months 1-6) or half 2 (下半年, months 7-12)."""
        if half not in (1, 2):
            raise PeriodError(f"there is no half H{half}; a year has H1 and H2")
        first = 6 * half - 5
        return cls(year, first, first + 5, "half")

    @classmethod
    def of_quarter(cls, year: int, quarter: int) -> Period:
        if quarter not in (1, 2, 3, 4):
            raise PeriodError(f"there is no quarter {quarter}; a year has Q1 to Q4")
        first = 3 * quarter - 2
        return cls(year, first, first + 2, "quarter")

    @classmethod
    def of_month(cls, year: int, month: int) -> Period:
        return cls(year, month, month, "month")

    @classmethod
    def of_months(cls, year: int, first_month: int, last_month: int) -> Period:
        """A range of whole months in one year, kept as a range even when it equals a quarter or half."""
        return cls(year, first_month, last_month, "range")

    @classmethod
    def parse(cls, text: str, default_year: int | None = None) -> Period:
        """Read a code (2023Q1) or a Chinese phrase (2023年一季度; 一季度 with `default_year`).

        Every error names the text and what is wrong with it.
        """
        cleaned = text.translate(_HALFWIDTH).strip()  # ２０２３年１－５月 → 2023年1-5月
        try:
            period = _parse_code(cleaned) or _parse_chinese(cleaned, default_year)
        except PeriodError as error:
            raise PeriodError(f"{text!r}: {error}") from None
        if period is None:
            raise PeriodError(
                f"{text!r} is not a period; expected a code such as 2023, 2023H1, 2023Q3, 2023-07, "
                "2023-01..2023-05 or a phrase such as 2023年上半年, 2023年一季度, 2023年1-5月"
            )
        return period

    # Printing

    @property
    def code(self) -> str:
        """The canonical code, which `Period.parse` reads back to this same period."""
        if self.kind == "year":
            return f"{self.year}"
        if self.kind == "half":
            return f"{self.year}H{self._half}"
        if self.kind == "quarter":
            return f"{self.year}Q{self._quarter}"
        if self.kind == "month":
            return f"{self.year}-{self.first_month:02d}"
        return f"{self.year}-{self.first_month:02d}..{self.year}-{self.last_month:02d}"

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"Period({self.code!r})"

    def label(self, language: str = "zh") -> str:
        """A short heading: 2023年上半年 / "2023 H1".

        Chinese: 2023年, 2023年上半年, 2023年一季度, 2023年7月, 2023年1-5月.
        English: "2023", "2023 H1", "2023 Q3", "July 2023", "January–May 2023".
        A range prints as a range even where statistics have a name for it: 2023-01..2023-06
        is 2023年1-6月, not 2023年上半年, because the label says what the source wrote. A
        one-month range prints like the month (2023年1月); its figure is the same.
        """
        if language == "zh":
            return self._label_zh()
        if language == "en":
            return self._label_en()
        raise ValueError(f"unknown language {language!r}; expected 'zh' or 'en'")

    def prose(self) -> str:
        """The English phrase for running text: "the first half of 2023", "January to May 2023"."""
        if self.kind == "half":
            return f"the {_ORDINALS[self._half - 1]} half of {self.year}"
        if self.kind == "quarter":
            return f"the {_ORDINALS[self._quarter - 1]} quarter of {self.year}"
        if self.kind == "range" and self.first_month != self.last_month:
            return f"{_MONTH_NAMES[self.first_month - 1]} to {_MONTH_NAMES[self.last_month - 1]} {self.year}"
        return self._label_en()

    def _label_zh(self) -> str:
        if self.kind == "year":
            return f"{self.year}年"
        if self.kind == "half":
            return f"{self.year}年{'上' if self._half == 1 else '下'}半年"
        if self.kind == "quarter":
            return f"{self.year}年{_CHINESE_NUMBERS[self._quarter - 1]}季度"
        if self.first_month == self.last_month:
            return f"{self.year}年{self.first_month}月"
        return f"{self.year}年{self.first_month}-{self.last_month}月"

    def _label_en(self) -> str:
        if self.kind == "year":
            return f"{self.year}"
        if self.kind == "half":
            return f"{self.year} H{self._half}"
        if self.kind == "quarter":
            return f"{self.year} Q{self._quarter}"
        first, last = _MONTH_NAMES[self.first_month - 1], _MONTH_NAMES[self.last_month - 1]
        if self.first_month == self.last_month:
            return f"{first} {self.year}"
        return f"{first}–{last} {self.year}"

    @property
    def _half(self) -> int:
        return 1 if self.first_month == 1 else 2

    @property
    def _quarter(self) -> int:
        return (self.first_month + 2) // 3

    # Dates and months

    @property
    def start(self) -> date:
        """The first day of the period."""
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """The last day of the period (29 February in a leap year)."""
        return date(self.year, self.last_month, calendar.monthrange(self.year, self.last_month)[1])

    @property
    def month_count(self) -> int:
        return self.last_month - self.first_month + 1

    def months(self) -> list[Period]:
        """Every month the period covers, in order."""
        return [Period.of_month(self.year, month) for month in range(self.first_month, self.last_month + 1)]

    def contains(self, day: date) -> bool:
        """Whether `day` falls within the period. A datetime counts by its date."""
        if isinstance(day, datetime):
            day = day.date()  # a datetime does not compare with a date; it raises TypeError
        return self.start <= day <= self.end

    def covers(self, other: Period) -> bool:
        """Whether every month of `other` is in this period (2023H1 covers 2023Q2 and 2023-01..2023-06)."""
        return self.year == other.year and self.first_month <= other.first_month and other.last_month <= self.last_month

    # Comparisons

    @property
    def is_year_to_date(self) -> bool:
        """Whether the period starts in January, so its figures are 1-N月 cumulative ones (§6.1).

        True for a year, H1, Q1, January and every range that starts in January.
        """
        return self.first_month == 1

    def year_to_date(self) -> Period:
        """The range 1..N月 ending at this period's last month: 2023Q3 → 2023-01..2023-09.

        Always a range, so that the code says "cumulative" (2023-01..2023-12 for a year).
        """
        return Period.of_months(self.year, 1, self.last_month)

    def same_period_last_year(self) -> Period:
        """The same months one year earlier, the base of 同比 ("year on year") growth (§6.1)."""
        return Period(self.year - 1, self.first_month, self.last_month, self.kind)

    def previous(self) -> Period:
        """The period just before, of the same kind and length: the base of 环比 (sequential) growth.

        2023Q1 → 2022Q4, 2023-01 → 2022-12, 2023-01..2023-05 → 2022-08..2022-12. A range whose
        predecessor would cross a year (2023-02..2023-07) raises PeriodError. For year-to-date
        figures compare with `same_period_last_year`; a 环比 of cumulative figures means little.
        """
        months_before = self.year * 12 + self.first_month - 1 - self.month_count
        year, first_month = divmod(months_before, 12)
        first_month += 1
        last_month = first_month + self.month_count - 1
        if last_month > 12:
            raise PeriodError(f"the {self.month_count} months before {self} cross a year; ranges stay within one year")
        return Period(year, first_month, last_month, self.kind)


def _has_shape_of(kind: str, first_month: int, last_month: int) -> bool:
    if kind == "year":
        return (first_month, last_month) == (1, 12)
    if kind == "half":
        return (first_month, last_month) in ((1, 6), (7, 12))
    if kind == "quarter":
        return first_month in (1, 4, 7, 10) and last_month == first_month + 2
    if kind == "month":
        return first_month == last_month
    return True


_YEAR_CODE = re.compile(r"(\d{4})")
_HALF_CODE = re.compile(r"(\d{4})H(\d+)")
_QUARTER_CODE = re.compile(r"(\d{4})Q(\d+)")
_MONTH_CODE = re.compile(r"(\d{4})-(\d{2})")
_RANGE_CODE = re.compile(r"(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})")


def _parse_code(text: str) -> Period | None:
    if match := _YEAR_CODE.fullmatch(text):
        return Period.of_year(int(match[1]))
    if match := _HALF_CODE.fullmatch(text):
        return Period.of_half(int(match[1]), int(match[2]))
    if match := _QUARTER_CODE.fullmatch(text):
        return Period.of_quarter(int(match[1]), int(match[2]))
    if match := _MONTH_CODE.fullmatch(text):
        return Period.of_month(int(match[1]), int(match[2]))
    if match := _RANGE_CODE.fullmatch(text):
        first_year, first_month, last_year, last_month = map(int, match.groups())
        if first_year != last_year:
            raise PeriodError("a range stays within one year, because year-to-date figures restart in January")
        return Period.of_months(first_year, first_month, last_month)
    return None


_CHINESE = re.compile(r"(?:(\d{4})年)?(.*)")
_WHOLE_YEAR = ("度", "全年")  # 2023年度, 2023年全年; §6.1 "全年 / 年度"
_HALVES = {"上半年": 1, "下半年": 2}  # §6.1: 上半年 = 1-6月
_QUARTER_PHRASE = re.compile(r"第?(\S)季度|Q(\d+)")
_QUARTER_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_FIRST_THREE_QUARTERS = "前三季度"  # §6.1: 前三季度 / 1-9月
_MONTH_PHRASE = re.compile(r"(\d{1,2})月份?")
# §6.1: the separator varies: "-", "—" (NBS house style, 1—7月份), "－", "～"; also 至 and the en dash.
_RANGE_PHRASE = re.compile(r"(\d{1,2})月?[-–—~〜至](\d{1,2})月份?")


def _parse_chinese(text: str, default_year: int | None) -> Period | None:
    year_text, rest = _CHINESE.fullmatch("".join(text.split())).groups()
    if not year_text and rest in ("", "度"):
        return None  # nothing, or 度 alone
    span = _chinese_span(rest)
    if span is None:
        return None
    if year_text:
        year = int(year_text)
    elif default_year is not None:
        year = default_year
    else:
        raise PeriodError("no year is given; write it (2023年一季度) or pass default_year")
    kind, first_month, last_month = span
    return Period(year, first_month, last_month, kind)


def _chinese_span(rest: str) -> tuple[Kind, int, int] | None:
    """(kind, first month, last month) of a phrase after its year, or None if it is not one."""
    if rest == "" or rest in _WHOLE_YEAR:
        return "year", 1, 12
    if rest in _HALVES:
        first = 6 * _HALVES[rest] - 5
        return "half", first, first + 5
    if rest == _FIRST_THREE_QUARTERS:
        return "range", 1, 9
    if match := _QUARTER_PHRASE.fullmatch(rest):
        number = match[1] or match[2]
        if number not in _QUARTER_NUMBERS:
            raise PeriodError(f"there is no quarter {number}; a year has 一季度 to 四季度")
        first = 3 * _QUARTER_NUMBERS[number] - 2
        return "quarter", first, first + 2
    if match := _MONTH_PHRASE.fullmatch(rest):
        return "month", int(match[1]), int(match[1])
    if match := _RANGE_PHRASE.fullmatch(rest):
        return "range", int(match[1]), int(match[2])
    return None


# Cumulative (1-N月累计) and single-month (N月当月) figures


def monthly_from_cumulative(values: Mapping[Period, Decimal]) -> dict[Period, Decimal]:
    """Single-month figures from year-to-date ones: month N is 1-N月 minus 1-(N-1)月.

    Chinese statistics publish cumulative figures (§6.1), but a chart of months needs each
    month's own value. Each key names a 1-N月 figure, either by its last month (2023-05) or
    as the year-to-date period itself (2023-01..2023-05, 2023Q1, 2023H1, 2023). January's own
    value is its cumulative one. Each year restarts in January and is worked out on its own.

    A month whose previous cumulative figure is missing is left out rather than guessed:
    bureaus often publish 1-2月 together and no January, so February's own value is unknown,
    while March's (1-3月 minus 1-2月) is still exact. The result is keyed by month, in order.
    """
    cumulative: dict[tuple[int, int], Decimal] = {}
    written_as: dict[tuple[int, int], Period] = {}
    for period, value in values.items():
        if period.kind != "month" and not period.is_year_to_date:
            raise PeriodError(f"{period} is not a year-to-date figure; a cumulative figure runs from January")
        key = (period.year, period.last_month)
        if key in written_as:
            raise PeriodError(f"{period.year}年1-{period.last_month}月 is given twice, as {written_as[key]} and {period}")
        written_as[key] = period
        cumulative[key] = _checked(period, value)
    monthly: dict[Period, Decimal] = {}
    for (year, month), value in sorted(cumulative.items()):
        if month == 1:
            monthly[Period.of_month(year, 1)] = value
        elif (year, month - 1) in cumulative:
            monthly[Period.of_month(year, month)] = _EXACT.subtract(value, cumulative[(year, month - 1)])
    return monthly


def cumulative_from_monthly(values: Mapping[Period, Decimal]) -> dict[Period, Decimal]:
    """Year-to-date figures from single-month ones, keyed by the range 2023-01..2023-N (1-N月累计).

    The reverse of `monthly_from_cumulative`. A missing month makes every later cumulative
    figure of its year unknown, so those are left out; other years are not affected.
    """
    monthly: dict[tuple[int, int], Decimal] = {}
    for period, value in values.items():
        if period.kind != "month":
            raise PeriodError(f"{period} is not a single month; cumulate single-month figures only")
        monthly[(period.year, period.first_month)] = _checked(period, value)
    cumulative: dict[Period, Decimal] = {}
    for year in sorted({year for year, _ in monthly}):
        total = Decimal(0)
        for month in range(1, 13):
            if (year, month) not in monthly:
                break
            total = _EXACT.add(total, monthly[(year, month)])
            cumulative[Period.of_months(year, 1, month)] = total
    return cumulative


def aggregate_months(monthly: Mapping[Period, Decimal], period: Period) -> Decimal:
    """The total of an additive figure over `period` (a quarter, half, year or range) from its months.

    Only for figures that add up, such as output value or the number of new enterprises;
    shares and growth rates do not. Every month of the period must be present, since a total
    with a month missing would look complete and be wrong; PeriodError names the missing ones.
    """
    missing = [month for month in period.months() if month not in monthly]
    if missing:
        raise PeriodError(f"{period} needs a figure for every month; missing {', '.join(map(str, missing))}")
    total = Decimal(0)
    for month in period.months():
        total = _EXACT.add(total, _checked(month, monthly[month]))
    return total


def _checked(period: Period, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal):
        # §6.1: amounts are stored as Decimal with an explicit unit, never as floats.
        raise TypeError(f"the figure for {period} is a {type(value).__name__}; figures must be Decimal")
    if not value.is_finite():
        raise ValueError(f"the figure for {period} is {value}; figures must be finite numbers")
    return value

"""Statistical periods: codes, Chinese phrases, labels, comparisons, and cumulative ↔ monthly figures."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from kechuang.statistics.periods import (
    Period,
    PeriodError,
    aggregate_months,
    cumulative_from_monthly,
    monthly_from_cumulative,
)

P = Period.parse


def figures(table: dict[str, str]) -> dict[Period, Decimal]:
    return {P(code): Decimal(value) for code, value in table.items()}


# Codes

CODES = [
    # code, kind, first month, last month
    ("2023", "year", 1, 12),
    ("2023H1", "half", 1, 6),
    ("2023H2", "half", 7, 12),
    ("2023Q1", "quarter", 1, 3),
    ("2023Q2", "quarter", 4, 6),
    ("2023Q3", "quarter", 7, 9),
    ("2023Q4", "quarter", 10, 12),
    ("2023-01", "month", 1, 1),
    ("2023-07", "month", 7, 7),
    ("2023-12", "month", 12, 12),
    ("2023-01..2023-05", "range", 1, 5),
    ("2023-01..2023-06", "range", 1, 6),
    ("2023-04..2023-11", "range", 4, 11),
    ("2023-03..2023-03", "range", 3, 3),
]


@pytest.mark.parametrize("code, kind, first_month, last_month", CODES)
def test_a_code_parses_to_its_kind_and_months(code, kind, first_month, last_month):
    period = P(code)
    assert (period.year, period.kind, period.first_month, period.last_month) == (2023, kind, first_month, last_month)


@pytest.mark.parametrize("code", [code for code, *_ in CODES])
def test_a_code_prints_back_exactly(code):
    assert str(P(code)) == code
    assert P(code).code == code


def test_a_range_equal_to_a_half_keeps_being_a_range():
    assert P("2023-01..2023-06").kind == "range"
    assert P("2023-01..2023-06") != P("2023H1")


def test_a_range_and_the_half_it_equals_cover_each_other():
    assert P("2023-01..2023-06").covers(P("2023H1")) and P("2023H1").covers(P("2023-01..2023-06"))
    assert P("2023-01..2023-06").months() == P("2023H1").months()


def test_surrounding_spaces_are_ignored():
    assert P("  2023Q1 \n") == Period.of_quarter(2023, 1)


def test_full_width_codes_are_read():
    assert P("２０２３Ｑ１") == Period.of_quarter(2023, 1)


def test_repr_shows_the_code():
    assert repr(P("2023Q1")) == "Period('2023Q1')"


# Chinese phrases


@pytest.mark.parametrize(
    "text, code",
    [
        ("2023年", "2023"),
        ("2023年度", "2023"),
        ("2023年全年", "2023"),
        ("2023年上半年", "2023H1"),
        ("2023年下半年", "2023H2"),
        ("2023年一季度", "2023Q1"),
        ("2023年第一季度", "2023Q1"),
        ("2023年1季度", "2023Q1"),
        ("2023年第1季度", "2023Q1"),
        ("2023年Q1", "2023Q1"),
        ("2023年二季度", "2023Q2"),
        ("2023年三季度", "2023Q3"),
        ("2023年第四季度", "2023Q4"),
        ("2023年7月", "2023-07"),
        ("2023年7月份", "2023-07"),
        ("2023年12月", "2023-12"),
        ("2023年1-5月", "2023-01..2023-05"),
        ("2023年1—5月", "2023-01..2023-05"),
        ("2023年1–5月", "2023-01..2023-05"),
        ("2023年1～5月", "2023-01..2023-05"),
        ("2023年1~5月", "2023-01..2023-05"),
        ("2023年1〜5月", "2023-01..2023-05"),
        ("2023年1－5月", "2023-01..2023-05"),
        ("2023年1至5月", "2023-01..2023-05"),
        ("2023年1月至5月", "2023-01..2023-05"),
        ("2023年1—7月份", "2023-01..2023-07"),
        ("2023年1-6月", "2023-01..2023-06"),
        ("2023年1-12月", "2023-01..2023-12"),
        ("2023年3-5月", "2023-03..2023-05"),
        ("2023年前三季度", "2023-01..2023-09"),
        ("２０２３年１－５月", "2023-01..2023-05"),
        ("２０２３年上半年", "2023H1"),
        ("2023年 1-5 月", "2023-01..2023-05"),
        (" 2023年一季度 ", "2023Q1"),
    ],
)
def test_a_chinese_phrase_parses_to_its_period(text, code):
    assert P(text).code == code


@pytest.mark.parametrize(
    "text, code",
    [
        ("一季度", "2023Q1"),
        ("第三季度", "2023Q3"),
        ("上半年", "2023H1"),
        ("前三季度", "2023-01..2023-09"),
        ("1-5月", "2023-01..2023-05"),
        ("1—7月份", "2023-01..2023-07"),
        ("7月", "2023-07"),
        ("全年", "2023"),
    ],
)
def test_a_phrase_without_a_year_takes_the_default_year(text, code):
    assert P(text, default_year=2023).code == code


@pytest.mark.parametrize("text", ["一季度", "上半年", "前三季度", "1-5月", "7月", "全年"])
def test_a_phrase_without_a_year_and_no_default_year_is_an_error(text):
    with pytest.raises(PeriodError, match="no year is given"):
        P(text)


def test_a_year_in_the_text_wins_over_the_default_year():
    assert P("2022年一季度", default_year=2023) == Period.of_quarter(2022, 1)


def test_a_default_year_does_not_change_a_code():
    assert P("2022Q1", default_year=2023) == Period.of_quarter(2022, 1)


# Errors


@pytest.mark.parametrize(
    "text, problem",
    [
        ("2023-13", "there is no month 13"),
        ("2023-00", "there is no month 0"),
        ("2023Q5", "there is no quarter 5"),
        ("2023Q0", "there is no quarter 0"),
        ("2023H3", "there is no half H3"),
        ("2023H0", "there is no half H0"),
        ("2023-05..2023-01", "end before they start"),
        ("2023-01..2023-13", "there is no month 13"),
        ("2022-08..2023-01", "within one year"),
        ("2023年13月", "there is no month 13"),
        ("2023年0月", "there is no month 0"),
        ("2023年五季度", "there is no quarter 五"),
        ("2023年Q5", "there is no quarter 5"),
        ("2023年5-1月", "end before they start"),
        ("2023年1-13月", "there is no month 13"),
        ("0999", "does not have four digits"),
    ],
)
def test_an_impossible_period_is_an_error_naming_the_text_and_the_problem(text, problem):
    with pytest.raises(PeriodError) as caught:
        P(text)
    assert repr(text) in str(caught.value)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "23Q1", "12023", "2023q1", "2023h1", "2023-7", "2023/07", "2023-01..2023-5", "2023年H1",
     "年", "度", "2023年上半", "2023年7", "二〇二三年", "2022年8月-2023年1月", "2023 Q1", "H1 2023"],
)
def test_text_that_is_no_period_is_an_error_listing_the_accepted_forms(text):
    with pytest.raises(PeriodError, match="is not a period; expected a code such as 2023, 2023H1"):
        P(text)


def test_a_period_error_is_a_value_error():
    assert issubclass(PeriodError, ValueError)


@pytest.mark.parametrize(
    "year, first_month, last_month, kind",
    [
        (2023, 1, 4, "quarter"),
        (2023, 2, 4, "quarter"),
        (2023, 1, 7, "half"),
        (2023, 1, 11, "year"),
        (2023, 1, 2, "month"),
        (2023, 1, 1, "week"),
    ],
)
def test_a_period_built_with_the_wrong_shape_for_its_kind_is_an_error(year, first_month, last_month, kind):
    with pytest.raises(PeriodError):
        Period(year, first_month, last_month, kind)


# Value behaviour


def test_periods_with_the_same_code_are_equal_and_hash_alike():
    assert P("2023Q1") == Period.of_quarter(2023, 1) == P("2023年一季度")
    assert len({P("2023Q1"), Period.of_quarter(2023, 1), P("2023年第1季度")}) == 1


def test_a_period_is_frozen():
    with pytest.raises(AttributeError):
        P("2023").year = 2024


def test_periods_sort_by_year_then_first_month_then_last_month():
    codes = ["2023Q2", "2022", "2023-01..2023-05", "2023H1", "2023-01", "2023Q1", "2023-04"]
    assert [str(period) for period in sorted(map(P, codes))] == [
        "2022", "2023-01", "2023Q1", "2023-01..2023-05", "2023H1", "2023-04", "2023Q2",
    ]


# Dates and months


def test_months_lists_every_month_of_the_period_in_order():
    assert P("2023Q3").months() == [P("2023-07"), P("2023-08"), P("2023-09")]


def test_a_month_lists_only_itself():
    assert P("2023-07").months() == [P("2023-07")]


@pytest.mark.parametrize(
    "code, start, end",
    [
        ("2023", date(2023, 1, 1), date(2023, 12, 31)),
        ("2023H1", date(2023, 1, 1), date(2023, 6, 30)),
        ("2023Q3", date(2023, 7, 1), date(2023, 9, 30)),
        ("2023-02", date(2023, 2, 1), date(2023, 2, 28)),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("2023-01..2023-05", date(2023, 1, 1), date(2023, 5, 31)),
    ],
)
def test_start_is_the_first_day_and_end_the_last_day(code, start, end):
    assert (P(code).start, P(code).end) == (start, end)


@pytest.mark.parametrize(
    "code, day, inside",
    [
        ("2023Q3", date(2023, 7, 1), True),
        ("2023Q3", date(2023, 9, 30), True),
        ("2023Q3", date(2023, 6, 30), False),
        ("2023Q3", date(2023, 10, 1), False),
        ("2023Q3", date(2022, 8, 1), False),
        ("2024-02", date(2024, 2, 29), True),
        ("2023-01..2023-05", date(2023, 5, 31), True),
    ],
)
def test_contains_tells_whether_a_day_falls_in_the_period(code, day, inside):
    assert P(code).contains(day) is inside


def test_contains_counts_a_datetime_by_its_date():
    assert P("2023Q3").contains(datetime(2023, 9, 30, 23, 59))


@pytest.mark.parametrize("code, count", [("2023", 12), ("2023H2", 6), ("2023Q1", 3), ("2023-07", 1),
                                         ("2023-03..2023-05", 3)])
def test_month_count_is_the_number_of_months_covered(code, count):
    assert P(code).month_count == count


# Comparisons


@pytest.mark.parametrize(
    "code, year_to_date",
    [("2023", True), ("2023H1", True), ("2023H2", False), ("2023Q1", True), ("2023Q2", False),
     ("2023-01", True), ("2023-07", False), ("2023-01..2023-05", True), ("2023-02..2023-05", False)],
)
def test_is_year_to_date_when_the_period_starts_in_january(code, year_to_date):
    assert P(code).is_year_to_date is year_to_date


@pytest.mark.parametrize(
    "code, expected",
    [
        ("2023", "2023-01..2023-12"),
        ("2023H1", "2023-01..2023-06"),
        ("2023H2", "2023-01..2023-12"),
        ("2023Q3", "2023-01..2023-09"),
        ("2023-07", "2023-01..2023-07"),
        ("2023-01", "2023-01..2023-01"),
        ("2023-04..2023-05", "2023-01..2023-05"),
    ],
)
def test_year_to_date_is_the_range_from_january_to_the_last_month(code, expected):
    assert P(code).year_to_date().code == expected


@pytest.mark.parametrize(
    "code, expected",
    [("2023", "2022"), ("2023H2", "2022H2"), ("2023Q1", "2022Q1"), ("2023-07", "2022-07"),
     ("2023-01..2023-05", "2022-01..2022-05")],
)
def test_same_period_last_year_keeps_kind_and_months(code, expected):
    assert P(code).same_period_last_year().code == expected


@pytest.mark.parametrize(
    "code, expected",
    [
        ("2023", "2022"),
        ("2023H1", "2022H2"),
        ("2023H2", "2023H1"),
        ("2023Q1", "2022Q4"),
        ("2023Q3", "2023Q2"),
        ("2023-01", "2022-12"),
        ("2023-07", "2023-06"),
        ("2023-01..2023-05", "2022-08..2022-12"),
        ("2023-06..2023-07", "2023-04..2023-05"),
        ("2023-01..2023-12", "2022-01..2022-12"),
    ],
)
def test_previous_is_the_period_just_before_of_the_same_kind_and_length(code, expected):
    assert P(code).previous().code == expected


def test_previous_of_a_range_whose_predecessor_crosses_a_year_is_an_error():
    with pytest.raises(PeriodError, match="cross a year"):
        P("2023-02..2023-07").previous()


@pytest.mark.parametrize(
    "outer, inner, covers",
    [
        ("2023", "2023Q3", True),
        ("2023H1", "2023Q2", True),
        ("2023H1", "2023Q3", False),
        ("2023Q1", "2023-03", True),
        ("2023Q1", "2023-01..2023-05", False),
        ("2023-01..2023-05", "2023Q1", True),
        ("2023", "2022-07", False),
        ("2023-07", "2023-07", True),
    ],
)
def test_covers_when_every_month_of_the_other_is_inside(outer, inner, covers):
    assert P(outer).covers(P(inner)) is covers


# Labels

LABELS = [
    # code, Chinese, English, English prose
    ("2023", "2023年", "2023", "2023"),
    ("2023H1", "2023年上半年", "2023 H1", "the first half of 2023"),
    ("2023H2", "2023年下半年", "2023 H2", "the second half of 2023"),
    ("2023Q1", "2023年一季度", "2023 Q1", "the first quarter of 2023"),
    ("2023Q3", "2023年三季度", "2023 Q3", "the third quarter of 2023"),
    ("2023Q4", "2023年四季度", "2023 Q4", "the fourth quarter of 2023"),
    ("2023-07", "2023年7月", "July 2023", "July 2023"),
    ("2023-01..2023-05", "2023年1-5月", "January–May 2023", "January to May 2023"),
    ("2023-01..2023-06", "2023年1-6月", "January–June 2023", "January to June 2023"),
    ("2023-01..2023-01", "2023年1月", "January 2023", "January 2023"),
]


@pytest.mark.parametrize("code, chinese, english, prose", LABELS)
def test_label_zh_prints_the_chinese_heading(code, chinese, english, prose):
    assert P(code).label("zh") == chinese


@pytest.mark.parametrize("code, chinese, english, prose", LABELS)
def test_label_en_prints_the_english_heading(code, chinese, english, prose):
    assert P(code).label("en") == english


@pytest.mark.parametrize("code, chinese, english, prose", LABELS)
def test_prose_prints_the_english_phrase_for_running_text(code, chinese, english, prose):
    assert P(code).prose() == prose


def test_label_is_chinese_by_default():
    assert P("2023H1").label() == "2023年上半年"


@pytest.mark.parametrize("code", [code for code, *_ in CODES if code != "2023-03..2023-03"])
def test_the_chinese_label_parses_back_to_the_same_period(code):
    assert P(P(code).label("zh")) == P(code)


def test_label_in_an_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        P("2023").label("fr")


# Cumulative and single-month figures


def test_monthly_from_cumulative_subtracts_the_previous_cumulative_figure():
    cumulative = figures({"2023-01": "10.5", "2023-02": "21.0", "2023-03": "33.25"})
    assert monthly_from_cumulative(cumulative) == figures({"2023-01": "10.5", "2023-02": "10.5", "2023-03": "12.25"})


def test_monthly_from_cumulative_takes_january_as_its_own_cumulative_figure():
    assert monthly_from_cumulative(figures({"2023-01": "7"})) == figures({"2023-01": "7"})


def test_monthly_from_cumulative_reads_year_to_date_keys_of_every_kind():
    cumulative = figures({"2023Q1": "30", "2023-01..2023-04": "42", "2023-05": "50", "2023H1": "61"})
    assert monthly_from_cumulative(cumulative) == figures({"2023-04": "12", "2023-05": "8", "2023-06": "11"})


def test_monthly_from_cumulative_leaves_out_february_when_only_1_2月_is_published():
    cumulative = figures({"2023-01..2023-02": "20", "2023-01..2023-03": "32", "2023-01..2023-04": "45"})
    assert monthly_from_cumulative(cumulative) == figures({"2023-03": "12", "2023-04": "13"})


def test_monthly_from_cumulative_leaves_out_the_month_after_a_gap():
    cumulative = figures({"2023-01": "10", "2023-02": "20", "2023-04": "40", "2023-05": "52"})
    assert monthly_from_cumulative(cumulative) == figures({"2023-01": "10", "2023-02": "10", "2023-05": "12"})


def test_monthly_from_cumulative_restarts_every_january():
    cumulative = figures({"2022-11": "110", "2022-12": "125", "2023-01": "9", "2023-02": "20"})
    assert monthly_from_cumulative(cumulative) == figures({"2022-12": "15", "2023-01": "9", "2023-02": "11"})


def test_monthly_from_cumulative_returns_months_in_order():
    cumulative = figures({"2023-03": "3", "2023-01": "1", "2023-02": "2"})
    assert list(monthly_from_cumulative(cumulative)) == [P("2023-01"), P("2023-02"), P("2023-03")]


def test_monthly_from_cumulative_is_exact_where_float_is_not():
    cumulative = figures({"2023-01": "0.1", "2023-02": "0.3"})
    assert monthly_from_cumulative(cumulative)[P("2023-02")] == Decimal("0.2")


def test_monthly_from_cumulative_refuses_a_figure_given_twice():
    with pytest.raises(PeriodError, match=r"2023年1-3月 is given twice, as 2023-03 and 2023Q1"):
        monthly_from_cumulative(figures({"2023-03": "30", "2023Q1": "30"}))


@pytest.mark.parametrize("code", ["2023Q2", "2023H2", "2023-03..2023-05"])
def test_monthly_from_cumulative_refuses_a_period_that_does_not_start_in_january(code):
    with pytest.raises(PeriodError, match="is not a year-to-date figure"):
        monthly_from_cumulative(figures({code: "30"}))


def test_monthly_from_cumulative_refuses_a_float():
    with pytest.raises(TypeError, match="is a float; figures must be Decimal"):
        monthly_from_cumulative({P("2023-01"): 10.5})


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_monthly_from_cumulative_refuses_a_figure_that_is_not_finite(value):
    with pytest.raises(ValueError, match="figures must be finite"):
        monthly_from_cumulative(figures({"2023-01": value}))


def test_cumulative_from_monthly_sums_from_january_keyed_by_year_to_date_range():
    monthly = figures({"2023-01": "10.5", "2023-02": "10.5", "2023-03": "12.25"})
    assert cumulative_from_monthly(monthly) == figures(
        {"2023-01..2023-01": "10.5", "2023-01..2023-02": "21", "2023-01..2023-03": "33.25"}
    )


def test_cumulative_from_monthly_stops_at_the_first_missing_month():
    monthly = figures({"2023-01": "1", "2023-02": "2", "2023-04": "4"})
    assert cumulative_from_monthly(monthly) == figures({"2023-01..2023-01": "1", "2023-01..2023-02": "3"})


def test_cumulative_from_monthly_without_january_has_no_cumulative_figure():
    assert cumulative_from_monthly(figures({"2023-02": "2", "2023-03": "3"})) == {}


def test_cumulative_from_monthly_restarts_every_january():
    monthly = figures({"2022-01": "5", "2023-01": "7", "2023-02": "1"})
    assert cumulative_from_monthly(monthly) == figures(
        {"2022-01..2022-01": "5", "2023-01..2023-01": "7", "2023-01..2023-02": "8"}
    )


def test_cumulative_from_monthly_refuses_a_period_that_is_not_a_month():
    with pytest.raises(PeriodError, match="2023Q1 is not a single month"):
        cumulative_from_monthly(figures({"2023Q1": "3"}))


def test_cumulative_from_monthly_refuses_a_float():
    with pytest.raises(TypeError):
        cumulative_from_monthly({P("2023-01"): 1.0})


def test_monthly_and_cumulative_figures_convert_back_and_forth_for_a_whole_year():
    monthly = {Period.of_month(2023, month): Decimal(month * 1001) / 100 for month in range(1, 13)}
    assert monthly_from_cumulative(cumulative_from_monthly(monthly)) == monthly


def test_cumulative_figures_keep_digits_beyond_the_default_28():
    monthly = figures({"2023-01": "12345678901234567890.12345678901", "2023-02": "0.00000000001"})
    assert cumulative_from_monthly(monthly)[P("2023-01..2023-02")] == Decimal("12345678901234567890.12345678902")


@pytest.mark.parametrize(
    "period, total",
    [("2023Q1", "6"), ("2023Q2", "15"), ("2023H1", "21"), ("2023", "78"), ("2023-02..2023-03", "5"), ("2023-12", "12")],
)
def test_aggregate_months_adds_every_month_of_the_period(period, total):
    monthly = {Period.of_month(2023, month): Decimal(month) for month in range(1, 13)}
    assert aggregate_months(monthly, P(period)) == Decimal(total)


def test_aggregate_months_refuses_a_period_with_missing_months_and_names_them():
    monthly = figures({"2023-07": "1"})
    with pytest.raises(PeriodError, match="2023Q3 needs a figure for every month; missing 2023-08, 2023-09"):
        aggregate_months(monthly, P("2023Q3"))


def test_aggregate_months_does_not_take_a_one_month_range_for_a_month():
    with pytest.raises(PeriodError, match="missing 2023-01"):
        aggregate_months(figures({"2023-01..2023-01": "1"}), P("2023-01"))


def test_aggregate_months_refuses_a_float():
    with pytest.raises(TypeError):
        aggregate_months({P("2023-01"): 1.5}, P("2023-01"))

"""A bulletin's language rules: numbers, counts, shares, money, periods and dates, in Chinese and English.

The figures are the seed bulletin's ("Tongzhou makes great strides in innovation", 2023-09-04).
"""

from datetime import date, datetime
from decimal import Decimal

import pytest

from kechuang.bulletins.language import (
    COUNTERS,
    LanguageError,
    count,
    count_zh,
    counter,
    date_text,
    dollars,
    join_en,
    join_zh,
    money,
    number,
    number_en,
    number_zh,
    ordinal_words,
    ordinal_zh,
    percent,
    percentage_points,
    period_text,
    plural_en,
    to_dollars,
)
from kechuang.statistics.periods import Period, PeriodError
from kechuang.statistics.units import UNITS, parse_number

D = Decimal
SEED_RATE = D("7.26")  # yuan per dollar: 13.5 billion yuan ($1.86 billion)


# The seed's own sentences


def test_the_seed_first_half_sentence_in_english():
    sentence = (f"{period_text('2023H1', language='en', with_year=False, preposition=True).capitalize()}, "
                f"Tongzhou approved {number(74, language='en', kind='project')} new scientific and technological "
                f"innovation projects, introduced {number(59, language='en', kind='collaboration')} collaborative "
                f"projects between academia and industry, and welcomed {number(6, language='en', kind='enterprise')} "
                'new national-level "little giant" enterprises')
    assert sentence == (
        "In the first half of the year, Tongzhou approved 74 new scientific and technological innovation projects, "
        "introduced 59 collaborative projects between academia and industry, and welcomed six new national-level "
        '"little giant" enterprises')


def test_the_seed_first_half_figures_in_chinese():
    assert period_text("2023H1", language="zh", with_year=False) == "上半年"
    assert number(74, language="zh", kind="project") == "74个"
    assert number(59, language="zh", kind="collaboration") == "59项"
    assert number(6, language="zh", kind="enterprise") == "6家"


def test_the_seed_share_of_high_tech_output():
    assert number(D("56.0"), language="en", kind="percent") == "56 percent"
    assert number(D("56"), language="zh", kind="percent") == "56%"


def test_the_seed_production_capacity():
    assert number(13000, language="en", kind="unit") == "13,000"
    assert number(13000, language="zh", kind="unit") == "1.3万台"


def test_the_seed_park_output_with_its_dollar_value():
    yuan = D("13500000000")
    assert number(yuan, language="en", kind="money", usd_rate=SEED_RATE) == "13.5 billion yuan ($1.86 billion)"
    assert number(yuan, language="zh", kind="money", usd_rate=SEED_RATE) == "135亿元（约合18.6亿美元）"
    assert number(yuan, language="zh", kind="money") == "135亿元"


def test_the_seed_phases_and_dates():
    assert f"{join_en([ordinal_words(3), ordinal_words(4)])} phases" == "third and fourth phases"
    assert date_text(date(2020, 6, 1), language="en", precision="year") == "2020"
    assert date_text(date(2022, 11, 1), language="en", precision="month") == "November 2022"


# English numbers in running text

NUMBERS_EN = [
    (0, "zero"),
    (1, "one"),
    (6, "six"),
    (9, "nine"),
    (10, "10"),
    (59, "59"),
    (74, "74"),
    (999, "999"),
    (1000, "1,000"),
    (10000, "10,000"),
    (13000, "13,000"),
    (1234567, "1,234,567"),
    (D("6.0"), "six"),
    (D("6.00"), "six"),
    (D("2.5"), "2.5"),
    (D("1.30"), "1.3"),
    (D("13000.00"), "13,000"),
    (D("1234.5"), "1,234.5"),
    (D("1.35E+4"), "13,500"),
    (-3, "-3"),
    (-1000, "-1,000"),
    (D("-0"), "zero"),
]


@pytest.mark.parametrize(("value", "text"), NUMBERS_EN)
def test_english_spells_out_whole_numbers_below_ten_and_writes_figures_from_ten(value, text):
    assert number_en(value) == text
    assert number(value, language="en") == text


def test_english_rounds_half_up_to_the_precision_before_choosing_words():
    assert number_en(D("5.5"), precision=0) == "six"
    assert number_en(D("9.5"), precision=0) == "10"
    assert number_en(D("2.45"), precision=1) == "2.5"
    assert number_en(D("-2.45"), precision=1) == "-2.5"
    assert number_en(D("-0.04"), precision=1) == "zero"


SENTENCE_STARTS = [(0, "Zero"), (1, "One"), (6, "Six"), (10, "Ten"), (13, "Thirteen"), (20, "Twenty"),
                   (59, "Fifty-nine"), (74, "Seventy-four"), (99, "Ninety-nine"), (D("74.0"), "Seventy-four")]


@pytest.mark.parametrize(("value", "text"), SENTENCE_STARTS)
def test_a_number_that_starts_a_sentence_is_spelled_out_and_capitalised(value, text):
    assert number_en(value, sentence_start=True) == text
    assert number(value, language="en", kind="project", sentence_start=True) == text


@pytest.mark.parametrize("value", [100, 13000, D("2.5"), -3])
def test_a_sentence_cannot_start_with_a_figure_that_is_not_spelled_out(value):
    with pytest.raises(LanguageError, match="recast"):
        number_en(value, sentence_start=True)


def test_only_an_english_plain_number_or_count_starts_a_sentence():
    with pytest.raises(LanguageError):
        number(6, language="zh", sentence_start=True)
    with pytest.raises(LanguageError):
        number(6, language="en", kind="percent", sentence_start=True)


def test_english_nouns_are_singular_for_exactly_one():
    assert plural_en(1, "enterprise") == "enterprise"
    assert plural_en(D("1.0"), "enterprise") == "enterprise"
    assert plural_en(6, "enterprise") == "enterprises"
    assert plural_en(0, "enterprise") == "enterprises"
    assert plural_en(D("1.5"), "unit") == "units"
    assert plural_en(-1, "unit") == "units"
    assert plural_en(2, "facility", "facilities") == "facilities"


# Chinese numbers and counts


def test_chinese_plain_numbers_are_arabic_digits_without_separators_and_keep_their_precision():
    assert number_zh(13000) == "13000"
    assert number_zh(D("2.0")) == "2.0"
    assert number_zh(D("2.04"), precision=1) == "2.0"
    assert number_zh(D("2.05"), precision=1) == "2.1"
    assert number_zh(D("-0.04"), precision=1) == "0.0"
    assert number(6, language="zh") == "6"


COUNTS_ZH = [
    (0, "project", "0个"),
    (1, "enterprise", "1家"),
    (6, "enterprise", "6家"),
    (9, "patent", "9件"),
    (10, "set", "10套"),
    (59, "collaboration", "59项"),
    (74, "project", "74个"),
    (999, "person", "999人"),
    (1000, "unit", "1000台"),
    (9999, "unit", "9999台"),
    (10000, "unit", "1万台"),
    (13000, "unit", "1.3万台"),
    (12345, "person", "1.23万人"),
    (12355, "person", "1.24万人"),  # half up
    (99999949, "project", "9999.99万个"),
    (99999950, "project", "1亿个"),  # 9999.995万 rounds to 10000万: the next unit
    (99999999, "project", "1亿个"),
    (250000000, "project", "2.5亿个"),
    (D("13000.0"), "unit", "1.3万台"),
    (-3, "enterprise", "-3家"),
    (-13000, "unit", "-1.3万台"),
]


@pytest.mark.parametrize(("value", "noun", "text"), COUNTS_ZH)
def test_chinese_counts_take_their_counter_and_large_ones_are_written_in_wan_and_yi(value, noun, text):
    assert count_zh(value, noun) == text
    assert number(value, language="zh", kind=noun) == text
    assert count(value, language="zh", noun=noun) == text


def test_english_counts_carry_no_counter():
    assert count(6, language="en", noun="enterprise") == "six"
    assert count(13000, language="en", noun="unit") == "13,000"


@pytest.mark.parametrize(("noun", "word"), [("project", "个"), ("collaboration", "项"), ("enterprise", "家"),
                                            ("unit", "台"), ("set", "套"), ("patent", "件"), ("person", "人")])
def test_the_counter_is_chosen_by_the_kind_of_thing_counted(noun, word):
    assert counter(noun) == word


@pytest.mark.parametrize("noun", list(COUNTERS))
def test_every_counter_reads_back_as_a_count_unit(noun):
    assert UNITS[COUNTERS[noun]].kind == "count"
    assert parse_number(count_zh(74, noun)) == (D(74), COUNTERS[noun])


def test_an_unknown_noun_has_no_counter_in_either_language():
    with pytest.raises(LanguageError, match="no counter"):
        counter("spaceship")
    with pytest.raises(LanguageError, match="no counter"):
        count(3, language="en", noun="spaceship")
    with pytest.raises(LanguageError, match="unknown kind"):
        number(3, language="zh", kind="spaceship")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_count_is_a_whole_number(language):
    with pytest.raises(LanguageError, match="whole"):
        number(D("2.5"), language=language, kind="enterprise")
    with pytest.raises(LanguageError, match="precision"):
        number(6, language=language, kind="enterprise", precision=1)


# Ordinals and lists


@pytest.mark.parametrize(("position", "text"), [(1, "first"), (2, "second"), (3, "third"), (4, "fourth"),
                                                (9, "ninth"), (10, "10th"), (11, "11th"), (12, "12th"),
                                                (13, "13th"), (21, "21st"), (22, "22nd"), (23, "23rd"),
                                                (24, "24th"), (101, "101st"), (111, "111th"), (112, "112th")])
def test_english_ordinals_are_words_to_ninth_then_figures(position, text):
    assert ordinal_words(position) == text


@pytest.mark.parametrize(("position", "text"), [(1, "第一"), (3, "第三"), (4, "第四"), (10, "第十"), (11, "第十一"),
                                                (20, "第二十"), (21, "第二十一"), (99, "第九十九")])
def test_chinese_ordinals_are_chinese_numerals(position, text):
    assert ordinal_zh(position) == text


@pytest.mark.parametrize("ordinal", [ordinal_words, ordinal_zh])
def test_positions_start_at_one(ordinal):
    for position in (0, -1):
        with pytest.raises(LanguageError):
            ordinal(position)
    with pytest.raises(TypeError):
        ordinal(D(3))


def test_chinese_ordinals_stop_at_ninety_nine():
    with pytest.raises(LanguageError):
        ordinal_zh(100)


def test_english_lists_have_no_serial_comma():
    assert join_en(["third"]) == "third"
    assert join_en(["third", "fourth"]) == "third and fourth"
    assert join_en(["first", "second", "third"]) == "first, second and third"
    assert join_en(("a", "b", "c", "d")) == "a, b, c and d"


def test_chinese_lists_use_the_enumeration_comma():
    assert join_zh(["三期"]) == "三期"
    assert join_zh(["三期", "四期"]) == "三期和四期"
    assert join_zh(["甲", "乙", "丙"]) == "甲、乙和丙"


@pytest.mark.parametrize("join", [join_en, join_zh])
def test_a_list_is_not_empty_nor_a_string(join):
    with pytest.raises(LanguageError):
        join([])
    with pytest.raises(TypeError):
        join("third")


# Shares

PERCENTS = [
    # value, precision, English, Chinese
    (D("56"), None, "56 percent", "56%"),
    (D("56.0"), None, "56 percent", "56.0%"),
    (D("55.96"), 1, "56 percent", "56.0%"),
    (D("45.1"), None, "45.1 percent", "45.1%"),
    (D("45.15"), 1, "45.2 percent", "45.2%"),
    (6, None, "6 percent", "6%"),
    (0, None, "0 percent", "0%"),
    (100, None, "100 percent", "100%"),
    (D("-2.5"), None, "-2.5 percent", "-2.5%"),
]


@pytest.mark.parametrize(("value", "precision", "english", "chinese"), PERCENTS)
def test_percentages_are_figures_written_percent_in_english_and_with_the_sign_in_chinese(value, precision, english,
                                                                                         chinese):
    assert percent(value, language="en", precision=precision) == english
    assert percent(value, language="zh", precision=precision) == chinese
    assert number(value, language="en", kind="percent", precision=precision) == english


POINTS = [
    (D("1.3"), "1.3 percentage points", "1.3个百分点"),
    (1, "1 percentage point", "1个百分点"),
    (D("1.0"), "1 percentage point", "1.0个百分点"),
    (D("0.5"), "0.5 percentage points", "0.5个百分点"),
    (0, "0 percentage points", "0个百分点"),
    (D("-1.3"), "-1.3 percentage points", "-1.3个百分点"),
]


@pytest.mark.parametrize(("value", "english", "chinese"), POINTS)
def test_a_change_in_a_share_is_in_percentage_points(value, english, chinese):
    assert percentage_points(value, language="en") == english
    assert percentage_points(value, language="zh") == chinese
    assert number(value, language="zh", kind="percentage_point") == chinese


def test_percentage_points_round_half_up():
    assert percentage_points(D("1.25"), language="en", precision=1) == "1.3 percentage points"


# Money


def test_dollars_are_the_yuan_divided_by_the_rate_rounded_only_when_printed():
    converted = to_dollars(D("13500000000"), SEED_RATE)
    assert D("1859504132.23") < converted < D("1859504132.24")
    assert dollars(converted, language="en") == "$1.86 billion"
    assert to_dollars(726, SEED_RATE) == 100


DOLLARS = [
    (D("1859504132.23"), "$1.86 billion", "18.6亿美元"),
    (D("250000000"), "$250 million", "2.5亿美元"),
    (D("25000000"), "$25 million", "2500万美元"),
    (D("1234567"), "$1.23 million", "123.46万美元"),
    (D("12345"), "$12,345", "1.23万美元"),
    (D("12345.5"), "$12,346", "1.23万美元"),
    (D("800.4"), "$800", "800美元"),
    (D("9999.6"), "$10,000", "1万美元"),
    (D("999999.6"), "$1 million", "100万美元"),
    (D("999999999.996"), "$1 billion", "10亿美元"),
    (D("0.3"), "$0", "0美元"),
    (D("-0.3"), "$0", "0美元"),
    (D("-3"), "-$3", "-3美元"),
    (D("-1859504132.23"), "-$1.86 billion", "-18.6亿美元"),
]


@pytest.mark.parametrize(("amount", "english", "chinese"), DOLLARS)
def test_dollars_in_millions_and_billions_or_whole_dollars(amount, english, chinese):
    assert dollars(amount, language="en") == english
    assert dollars(amount, language="zh") == chinese


MONEY = [
    # yuan, English, Chinese (at 7.26 yuan per dollar)
    (D("13500000000"), "13.5 billion yuan ($1.86 billion)", "135亿元（约合18.6亿美元）"),
    (D("50000000"), "50 million yuan ($6.89 million)", "5000万元（约合688.71万美元）"),
    (D("99999999.9"), "100 million yuan ($13.77 million)", "1亿元（约合1377.41万美元）"),
    (726, "726 yuan ($100)", "726元（约合100美元）"),
    (0, "0 yuan ($0)", "0元（约合0美元）"),
    (D("-13500000000"), "-13.5 billion yuan (-$1.86 billion)", "-135亿元（约合-18.6亿美元）"),
]


@pytest.mark.parametrize(("yuan", "english", "chinese"), MONEY)
def test_money_is_yuan_with_its_dollar_value(yuan, english, chinese):
    assert money(yuan, language="en", usd_rate=SEED_RATE) == english
    assert money(yuan, language="zh", usd_rate=SEED_RATE) == chinese


def test_money_without_a_rate_is_the_yuan_alone():
    assert money(D("13500000000"), language="en") == "13.5 billion yuan"
    assert money(D("138546000000"), language="zh") == "1385.46亿元"
    assert money(D("99999999.9"), language="zh") == "1亿元"


def test_money_precision_is_the_decimals_of_the_large_unit():
    assert number(D("138546000000"), language="zh", kind="money", precision=1) == "1385.5亿元"
    assert number(D("13560000000"), language="en", kind="money", precision=1, usd_rate=SEED_RATE) == (
        "13.6 billion yuan ($1.9 billion)")


@pytest.mark.parametrize("rate", [D(0), D("-7.26"), D("NaN"), D("Infinity")])
def test_an_exchange_rate_is_a_positive_number(rate):
    with pytest.raises(LanguageError, match="exchange rate"):
        to_dollars(D(1), rate)


@pytest.mark.parametrize("rate", [7.26, 7, "7.26"])
def test_an_exchange_rate_is_a_decimal(rate):
    with pytest.raises(TypeError):
        money(D(1), language="en", usd_rate=rate)


def test_only_money_has_a_dollar_value():
    with pytest.raises(LanguageError, match="usd_rate"):
        number(56, language="en", kind="percent", usd_rate=SEED_RATE)


# Periods

PERIODS = [
    # code, English with the year, English without it, Chinese with the year, Chinese without it
    ("2023H1", "the first half of 2023", "the first half of the year", "2023年上半年", "上半年"),
    ("2023H2", "the second half of 2023", "the second half of the year", "2023年下半年", "下半年"),
    ("2023Q1", "the first quarter of 2023", "the first quarter of the year", "2023年一季度", "一季度"),
    ("2023Q3", "the third quarter of 2023", "the third quarter of the year", "2023年三季度", "三季度"),
    ("2023-07", "July 2023", "July", "2023年7月", "7月"),
    ("2023-01..2023-05", "January to May 2023", "January to May", "2023年1-5月", "1-5月"),
    ("2023-01..2023-06", "January to June 2023", "January to June", "2023年1-6月", "1-6月"),
    ("2023-03..2023-03", "March 2023", "March", "2023年3月", "3月"),
    ("2023", "2023", "the year", "2023年", "全年"),
]


@pytest.mark.parametrize(("code", "english", "english_no_year", "chinese", "chinese_no_year"), PERIODS)
def test_periods_in_running_text_with_or_without_the_year(code, english, english_no_year, chinese, chinese_no_year):
    period = Period.parse(code)
    assert period_text(period, language="en") == english
    assert period_text(period, language="en", with_year=False) == english_no_year
    assert period_text(period, language="zh") == chinese
    assert period_text(period, language="zh", with_year=False) == chinese_no_year
    assert period_text(period, language="zh", with_year=False, preposition=True) == chinese_no_year


ADVERBIALS = [
    ("2023H1", True, "in the first half of 2023"),
    ("2023H1", False, "in the first half of the year"),
    ("2023Q3", False, "in the third quarter of the year"),
    ("2023-07", False, "in July"),
    ("2023-07", True, "in July 2023"),
    ("2023-01..2023-05", False, "from January to May"),
    ("2023-01..2023-05", True, "from January to May 2023"),
    ("2023-03..2023-03", False, "in March"),
    ("2023", True, "in 2023"),
    ("2023", False, "during the year"),
]


@pytest.mark.parametrize(("code", "with_year", "text"), ADVERBIALS)
def test_an_english_period_takes_its_preposition(code, with_year, text):
    assert period_text(code, language="en", with_year=with_year, preposition=True) == text


def test_a_period_may_be_given_as_its_code_or_a_chinese_phrase():
    assert period_text("2023年1-5月", language="zh", with_year=False) == "1-5月"
    with pytest.raises(PeriodError):
        period_text("2023H3", language="en")


# Dates

DATES = [
    # day, precision, English, Chinese
    (date(2023, 9, 4), "day", "4 September 2023", "2023年9月4日"),
    (date(2023, 9, 4), "month", "September 2023", "2023年9月"),
    (date(2023, 9, 4), "year", "2023", "2023年"),
    (date(2022, 11, 1), "month", "November 2022", "2022年11月"),
    (date(2020, 1, 1), "year", "2020", "2020年"),
    (date(2024, 2, 29), "day", "29 February 2024", "2024年2月29日"),
    (datetime(2023, 9, 4, 23, 59), "day", "4 September 2023", "2023年9月4日"),
]


@pytest.mark.parametrize(("day", "precision", "english", "chinese"), DATES)
def test_a_facts_date_is_written_to_the_precision_it_is_known(day, precision, english, chinese):
    assert date_text(day, language="en", precision=precision) == english
    assert date_text(day, language="zh", precision=precision) == chinese


def test_a_date_is_a_day_by_default():
    assert date_text(date(2023, 9, 4), language="en") == "4 September 2023"


def test_a_date_precision_is_day_month_or_year():
    with pytest.raises(LanguageError, match="precision"):
        date_text(date(2023, 9, 4), language="en", precision="week")
    with pytest.raises(TypeError):
        date_text("2023-09-04", language="en")


# Missing and wrong figures

ALL_KINDS = [None, "percent", "percentage_point", "money", "project"]


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_missing_figure_raises_instead_of_printing_a_dash(language, kind):
    with pytest.raises(LanguageError, match="leave the sentence out"):
        number(None, language=language, kind=kind)


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("value", [56.0, "56", True])
def test_a_float_string_or_boolean_is_refused(kind, value):
    with pytest.raises(TypeError):
        number(value, language="en", kind=kind)


@pytest.mark.parametrize("value", [D("NaN"), D("Infinity"), D("-Infinity")])
def test_a_figure_is_finite(value):
    with pytest.raises(LanguageError, match="finite"):
        number(value, language="zh")


@pytest.mark.parametrize("precision", [-1, True, D(1)])
def test_precision_is_a_number_of_decimals(precision):
    with pytest.raises(LanguageError, match="precision"):
        number(D("1.5"), language="en", precision=precision)


@pytest.mark.parametrize("call", [
    lambda: number(1, language="fr"),
    lambda: percent(1, language="EN"),
    lambda: money(1, language="de"),
    lambda: period_text("2023", language="fr"),
    lambda: date_text(date(2023, 1, 1), language="fr"),
])
def test_the_languages_are_chinese_and_english(call):
    with pytest.raises(LanguageError, match="unknown language"):
        call()


def test_a_language_error_is_a_value_error():
    assert issubclass(LanguageError, ValueError)

"""Money and units: exact conversion, numbers read from table cells, and bulletin display."""

from decimal import Decimal

import pytest

from kechuang.statistics.units import (
    FEN,
    PLAIN_NUMBER,
    UNITS,
    NumberError,
    ParsedNumber,
    Unit,
    UnitError,
    convert,
    find_unit,
    format_money_en,
    format_money_zh,
    from_base,
    parse_number,
    to_base,
)

D = Decimal

# Conversion to and from the base unit

TO_BASE = [
    # value, unit, value in base, base
    ("135", "亿元", "13500000000", "元"),
    ("1385.46", "亿元", "138546000000", "元"),
    ("304.33", "亿元", "30433000000", "元"),
    ("5000", "万元", "50000000", "元"),
    ("1.5", "千元", "1500", "元"),
    ("12.34", "元", "12.34", "元"),
    ("0.0001", "万元", "1", "元"),
    ("-2.5", "万元", "-25000", "元"),
    ("2", "百万元", "2000000", "元"),
    ("1", "yuan", "1", "元"),
    ("2", "thousand yuan", "2000", "元"),
    ("1", "10k yuan", "10000", "元"),
    ("1", "ten thousand yuan", "10000", "元"),
    ("50", "million yuan", "50000000", "元"),
    ("1", "100 million yuan", "100000000", "元"),
    ("1", "hundred million yuan", "100000000", "元"),
    ("13.5", "billion yuan", "13500000000", "元"),
    ("3", "CNY", "3", "元"),
    ("456", "家", "456", "家"),
    ("3", "项", "3", "项"),
    ("3", "items", "3", "项"),
    ("7", "人", "7", "人"),
    ("7", "persons", "7", "人"),
    ("7", "people", "7", "人"),
    ("13000", "台", "13000", "台"),
    ("2", "units", "2", "个"),
    ("56", "%", "56", "%"),
    ("56", "％", "56", "%"),
    ("56", "percent", "56", "%"),
    ("1.3", "个百分点", "1.3", "百分点"),
    ("1.3", "percentage points", "1.3", "百分点"),
    ("12", "吨", "12", "吨"),
    ("12", "万人", "12", "万人"),
    ("5", "", "5", ""),
]


@pytest.mark.parametrize("value, unit, expected, base", TO_BASE)
def test_to_base_converts_exactly_to_the_base_unit(value, unit, expected, base):
    assert to_base(D(value), unit) == (D(expected), base)


@pytest.mark.parametrize("value, unit, expected, base", TO_BASE)
def test_from_base_converts_the_base_value_back(value, unit, expected, base):
    assert from_base(D(expected), unit) == D(value)


def test_to_base_prints_without_an_exponent():
    assert str(to_base(D("135"), "亿元")[0]) == "13500000000"


def test_from_base_drops_the_zeros_the_shift_leaves():
    assert str(from_base(D("13500000000.00"), "亿元")) == "135"


def test_to_base_keeps_digits_beyond_the_default_28():
    value = D("123456789012345678901234567.89")
    assert to_base(value, "亿元") == (D("12345678901234567890123456789000000"), "元")


@pytest.mark.parametrize("unit", ["元", "千元", "万元", "亿元"])
def test_a_two_decimal_display_value_is_whole_fen_in_yuan_and_converts_back_unchanged(unit):
    for hundredths in range(-200_000, 200_001, 97):
        value = D(hundredths).scaleb(-2)
        in_yuan, _ = to_base(value, unit)
        assert in_yuan == in_yuan.quantize(FEN)
        assert from_base(in_yuan, unit) == value


@pytest.mark.parametrize("unit", ["千元", "万元", "亿元"])
def test_a_value_with_more_decimals_than_a_fen_converts_back_unchanged(unit):
    for step in range(1, 2000):
        value = D(step * 7919).scaleb(-9)
        assert from_base(to_base(value, unit)[0], unit) == value


def test_to_base_refuses_a_float():
    with pytest.raises(TypeError, match="amounts must be Decimal"):
        to_base(1.5, "万元")


def test_from_base_refuses_a_float():
    with pytest.raises(TypeError):
        from_base(15000.0, "万元")


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_to_base_refuses_a_value_that_is_not_finite(value):
    with pytest.raises(UnitError, match="is not a finite number"):
        to_base(D(value), "元")


# Units


@pytest.mark.parametrize("text, name", [("亿元", "亿元"), (" 亿元 ", "亿元"), ("Yuan", "元"), ("RMB", "元"),
                                        ("Million  Yuan", "百万元"), ("％", "%"), ("百分点", "百分点")])
def test_find_unit_knows_a_unit_by_any_of_its_names(text, name):
    assert find_unit(text) == UNITS[name]


def test_find_unit_keeps_an_unknown_unit_as_a_free_text_quantity_with_itself_as_base():
    assert find_unit(" 千瓦时 ") == Unit("千瓦时", "quantity", "千瓦时", 0)


def test_a_bare_亿_is_a_quantity_and_never_passes_for_yuan():
    assert to_base(D("1.5"), "亿") == (D("1.5"), "亿")


def test_find_unit_reads_no_unit_as_a_plain_number():
    assert find_unit("  ") == PLAIN_NUMBER


@pytest.mark.parametrize("text", [".3", "e400", "m2", ",5", "-", "3元"])
def test_find_unit_refuses_text_with_a_digit_or_starting_with_punctuation(text):
    with pytest.raises(UnitError, match="is not a unit"):
        find_unit(text)


@pytest.mark.parametrize(
    "name, kind",
    [("元", "money"), ("千元", "money"), ("万元", "money"), ("亿元", "money"), ("个", "count"), ("家", "count"),
     ("项", "count"), ("件", "count"), ("人", "count"), ("台", "count"), ("套", "count"), ("%", "percent")],
)
def test_every_unit_of_the_brief_is_known_with_its_kind(name, kind):
    assert UNITS[name].kind == kind


# Numbers read from table cells


@pytest.mark.parametrize(
    "text, value, unit",
    [
        ("42", "42", ""),
        ("  42  ", "42", ""),
        ("0.5", "0.5", ""),
        ("1,234.5", "1234.5", ""),
        ("1,234,567.89", "1234567.89", ""),
        ("1,234.50", "1234.50", ""),
        ("1234567", "1234567", ""),
        ("1，234．5", "1234.5", ""),
        ("１２３４", "1234", ""),
        ("１，２３４．５", "1234.5", ""),
        ("-3.5", "-3.5", ""),
        ("−3.5", "-3.5", ""),
        ("－3.5％", "-3.5", "%"),
        ("+4.7%", "4.7", "%"),
        ("＋4.7%", "4.7", "%"),
        ("56%", "56", "%"),
        ("135亿元", "135", "亿元"),
        ("1385.46 亿元", "1385.46", "亿元"),
        ("13,000台", "13000", "台"),
        ("456家", "456", "家"),
        ("1.3个百分点", "1.3", "百分点"),
        ("50 million yuan", "50", "百万元"),
        ("13.5 billion yuan", "13.5", "十亿元"),
        ("12,345.6 yuan", "12345.6", "元"),
        ("12 吨", "12", "吨"),
        ("\u3000２０２３\u3000", "2023", ""),
    ],
)
def test_parse_number_reads_a_cell_with_its_unit(text, value, unit):
    parsed = parse_number(text)
    assert parsed == ParsedNumber(D(value), unit)
    assert str(parsed.value) == value  # the decimals as written, not a float's


@pytest.mark.parametrize(
    "text",
    ["", "   ", "abc", "亿元", "1.2.3", "1e400", "1e5", "1E5", "NaN", "nan", "Infinity", "inf", "-inf", "1,23",
     "12,34,567", "1,234.5.6", "1.", ".5", "1 234", "--1", "+-1", "(1,234)", "5..", "0x1F", "1_000", "½"],
)
def test_parse_number_refuses_anything_else_with_a_number_error(text):
    with pytest.raises(NumberError):
        parse_number(text)


def test_a_number_error_names_the_text():
    with pytest.raises(NumberError, match=r"'1\.2\.3' is not a number: '\.3' after '1\.2' is not a unit"):
        parse_number("1.2.3")


def test_a_number_error_is_a_unit_error_and_a_value_error():
    assert issubclass(NumberError, UnitError) and issubclass(UnitError, ValueError)


def test_a_parsed_cell_converts_to_yuan():
    assert to_base(*parse_number("1385.46亿元")) == (D("138546000000"), "元")


# Display


@pytest.mark.parametrize(
    "yuan, text",
    [
        ("13500000000", "135亿元"),
        ("138546000000", "1385.46亿元"),
        ("30433000000", "304.33亿元"),
        ("123456789", "1.23亿元"),
        ("100000000", "1亿元"),
        ("99999999", "1亿元"),
        ("99990000", "9999万元"),
        ("50000000", "5000万元"),
        ("10000", "1万元"),
        ("9999", "9999元"),
        ("9999.99", "9999.99元"),
        ("9999.996", "1万元"),
        ("12.345", "12.35元"),
        ("100500000", "1.01亿元"),
        ("0", "0元"),
        ("-0.001", "0元"),
        ("-13500000000", "-135亿元"),
        ("-50000", "-5万元"),
    ],
)
def test_format_money_zh_picks_亿元_then_万元_then_元(yuan, text):
    assert format_money_zh(D(yuan)) == text


@pytest.mark.parametrize(
    "places, trim_zeros, text",
    [(2, True, "1385.46亿元"), (1, True, "1385.5亿元"), (0, True, "1385亿元"), (4, True, "1385.4567亿元"),
     (4, False, "1385.4567亿元"), (6, False, "1385.456700亿元")],
)
def test_format_money_zh_rounds_half_up_to_the_places_asked(places, trim_zeros, text):
    assert format_money_zh(D("138545670000"), places=places, trim_zeros=trim_zeros) == text


def test_format_money_zh_keeps_trailing_zeros_for_a_table_column():
    assert format_money_zh(D("13500000000"), trim_zeros=False) == "135.00亿元"


@pytest.mark.parametrize(
    "yuan, text",
    [
        ("13500000000", "13.5 billion yuan"),
        ("1350000000000", "1,350 billion yuan"),
        ("50000000", "50 million yuan"),
        ("999999999.996", "1 billion yuan"),
        ("1000000", "1 million yuan"),
        ("999999", "999,999 yuan"),
        ("12345.6", "12,345.6 yuan"),
        ("0", "0 yuan"),
        ("-2500000", "-2.5 million yuan"),
    ],
)
def test_format_money_en_picks_billion_then_million_then_yuan(yuan, text):
    assert format_money_en(D(yuan)) == text


def test_format_money_en_keeps_trailing_zeros_for_a_table_column():
    assert format_money_en(D("13500000000"), places=2, trim_zeros=False) == "13.50 billion yuan"


@pytest.mark.parametrize("formatter", [format_money_zh, format_money_en])
def test_formatting_money_refuses_negative_places(formatter):
    with pytest.raises(UnitError, match="places must be 0 or more"):
        formatter(D("1"), places=-1)


@pytest.mark.parametrize("formatter", [format_money_zh, format_money_en])
def test_formatting_money_refuses_a_float(formatter):
    with pytest.raises(TypeError):
        formatter(13500000000.0)


# Currency conversion


@pytest.mark.parametrize(
    "amount, rate, expected",
    [("100", "0.1389", "13.89"), ("1.005", "1", "1.01"), ("0.125", "1", "0.13"), ("-0.125", "1", "-0.13"),
     ("13500000000", "0.13891234", "1875316590.00"), ("7.2", "7.1234", "51.29")],
)
def test_convert_multiplies_by_the_rate_and_rounds_half_up_to_the_fen(amount, rate, expected):
    converted = convert(D(amount), D(rate))
    assert converted == D(expected)
    assert converted.as_tuple().exponent == -2


@pytest.mark.parametrize("rate", ["0", "-7.1"])
def test_convert_refuses_a_rate_that_is_not_positive(rate):
    with pytest.raises(UnitError, match="must be positive"):
        convert(D("100"), D(rate))


def test_convert_refuses_a_float_rate():
    with pytest.raises(TypeError):
        convert(D("100"), 7.1)

"""kechuang.bulletins.charts: server-drawn SVG bar and line charts for bulletins."""

from decimal import Decimal
from xml.etree import ElementTree

import pytest

from kechuang.bulletins.charts import SUPPRESSED, bar_chart, line_chart, nice_ticks

SVG = "http://www.w3.org/2000/svg"
NS = {"svg": SVG}
HALVES = ["2023年上半年", "2023年下半年", "2024年上半年", "2024年下半年"]


def _parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def _part(root, name):
    return root.findall(f".//svg:*[@data-part='{name}']", NS)


def _series_rects(root):
    """The bars of each series, by series number: rectangles inside the series groups."""
    return {int(group.get("data-series")): group.findall("svg:rect", NS) for group in _part(root, "series")}


def _texts(element):
    return ["".join(text.itertext()) for text in element.iter(f"{{{SVG}}}text")]


def _zero_y(root):
    (line,) = _part(root, "zero-line")
    assert line.get("y1") == line.get("y2")
    return float(line.get("y1"))


def _tick_labels(root):
    (axis,) = _part(root, "y-axis")
    return _texts(axis)


# --- the axis's ticks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        ("0", "74", ["0", "20", "40", "60", "80"]),
        ("0", "13.5", ["0", "5", "10", "15"]),
        ("-5", "20", ["-5", "0", "5", "10", "15", "20"]),
        ("42", "42", ["0", "10", "20", "30", "40", "50"]),  # one value: the axis still starts at zero
        ("-3", "-3", ["-3", "-2", "-1", "0"]),
        ("0", "0", ["0", "1"]),  # all zeros: an axis from 0 to 1
        ("0", "0.3", ["0", "0.1", "0.2", "0.3"]),
        ("0", "26", ["0", "10", "20", "30"]),
        ("-0.8", "1234.5", ["-500", "0", "500", "1000", "1500"]),
        ("12000", "87000", ["0", "20000", "40000", "60000", "80000", "100000"]),
    ],
)
def test_ticks_are_nice_steps_of_one_two_or_five_covering_zero(low, high, expected):
    assert nice_ticks(Decimal(low), Decimal(high)) == [Decimal(value) for value in expected]


def test_a_chart_labels_its_axis_with_the_nice_ticks():
    root = _parse(bar_chart(["2024年"], [("企业数", [74])]))
    assert _tick_labels(root) == ["0", "20", "40", "60", "80"]


def test_tick_labels_share_the_decimals_of_the_step():
    root = _parse(line_chart(["a", "b"], [("s", [Decimal("0.3"), Decimal("0.1")])]))
    assert _tick_labels(root) == ["0.0", "0.1", "0.2", "0.3"]


def test_english_tick_labels_group_thousands_chinese_ones_do_not():
    english = _tick_labels(_parse(bar_chart(["a"], [("s", [87000])], language="en")))
    chinese = _tick_labels(_parse(bar_chart(["a"], [("s", [87000])], language="zh")))
    assert english[-1] == "100,000"
    assert chinese[-1] == "100000"


def test_an_all_zero_chart_has_an_axis_from_zero_to_one():
    root = _parse(bar_chart(HALVES[:2], [("s", [0, 0])]))
    assert _tick_labels(root) == ["0", "1"]
    assert len(_series_rects(root)[0]) == 2


# --- the document: well-formed, accessible, self-contained -------------------------------------


def test_the_chart_is_well_formed_svg_labelled_by_its_title_and_description():
    svg = bar_chart(HALVES, [("研发经费", [Decimal("12.3"), Decimal("13.5"), None, Decimal("15.1")])],
                    title="研发经费投入", unit="亿元")
    root = _parse(svg)
    assert root.tag == f"{{{SVG}}}svg"
    assert root.get("role") == "img"
    assert root.get("viewBox") == "0 0 640 320"
    title_id, desc_id = root.get("aria-labelledby").split()
    assert root.find("svg:title", NS).get("id") == title_id
    assert root.find("svg:desc", NS).get("id") == desc_id
    assert root.find("svg:title", NS).text == "研发经费投入"


def test_the_description_holds_the_data_as_text():
    svg = bar_chart(HALVES, [("研发经费", [Decimal("12.3"), Decimal("13.5"), None, SUPPRESSED])], unit="亿元")
    desc = _parse(svg).find("svg:desc", NS).text
    assert desc.startswith("柱状图。单位：亿元。研发经费：")
    assert "2023年上半年 12.3" in desc
    assert "2024年上半年 无数据" in desc
    assert "2024年下半年 —（不公开）" in desc


def test_the_english_description_reads_in_english():
    svg = line_chart(["2023 H1", "2023 H2"], [("R&D", [1, None]), ("Patents", [2, 3])], unit="%", language="en")
    desc = _parse(svg).find("svg:desc", NS).text
    assert desc == "Line chart. Unit: %. R&D: 2023 H1 1, 2023 H2 no data; Patents: 2023 H1 2, 2023 H2 3."


def test_a_title_with_markup_characters_is_escaped():
    title = 'R&D <投入> "重点" \'企业\''
    svg = bar_chart(["a"], [("A & B <c>", [1])], title=title)
    root = _parse(svg)
    assert root.find("svg:title", NS).text == title
    assert title in _texts(root)
    assert "<投入>" not in svg
    assert "&lt;投入&gt;" in svg
    assert "A & B <c>" in root.find("svg:desc", NS).text
    assert "A &amp; B &lt;c&gt;" in svg


def test_without_a_title_the_series_names_title_the_chart():
    root = _parse(bar_chart(["a"], [("营业收入", [1]), ("利润", [2])]))
    assert root.find("svg:title", NS).text == "营业收入、利润"


def test_characters_xml_forbids_are_dropped():
    root = _parse(bar_chart(["a\x0bb"], [("s\x00", [1])], title="t\x1f"))
    assert root.find("svg:title", NS).text == "t"
    assert "ab" in _texts(root)


@pytest.mark.parametrize("draw", [bar_chart, line_chart])
def test_the_chart_needs_no_script_style_or_outside_resource(draw):
    svg = draw(HALVES, [("A", [1, -2, None, SUPPRESSED]), ("B", [3, 4, 5, 6])], title="http://example.org",
               unit="亿元")
    for markup in ("<script", "style=", "class=", "href", "<image", "<foreignObject", "url("):
        assert markup not in svg
    # The only address is the namespace's (the title's text is escaped, not an address the SVG follows).
    assert svg.count('"http://') == 1
    assert svg.count("xmlns=") == 1


def test_chinese_charts_name_cjk_fonts_first():
    root = _parse(bar_chart(["a"], [("s", [1])]))
    families = [family.strip().strip("'") for family in root.get("font-family").split(",")]
    assert families[:4] == ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei"]
    assert families[-1] == "sans-serif"
    english = _parse(bar_chart(["a"], [("s", [1])], language="en"))
    assert "Noto Sans CJK SC" in english.get("font-family")  # Chinese names in an English bulletin


@pytest.mark.parametrize("draw", [bar_chart, line_chart])
def test_the_same_input_gives_the_same_bytes(draw):
    def once():
        return draw(HALVES, [("A", [Decimal("1.5"), 2.25, None, SUPPRESSED]), ("B", [3, 4, 5, 6])], title="t",
                    unit="亿元")

    assert once() == once()


def test_different_charts_have_different_ids():
    first = _parse(bar_chart(["a"], [("s", [1])])).get("aria-labelledby")
    second = _parse(bar_chart(["a"], [("s", [2])])).get("aria-labelledby")
    assert first != second


def test_coordinates_have_at_most_two_decimals():
    root = _parse(bar_chart(HALVES, [("s", [1 / 3, 2 / 3, 1.0, 0.1])], width=617, height=301))
    for rect in _series_rects(root)[0]:
        for name in ("x", "y", "width", "height"):
            assert len(rect.get(name).partition(".")[2]) <= 2


# --- bars ------------------------------------------------------------------------------------


def test_one_bar_per_value_and_a_gap_for_none():
    root = _parse(bar_chart(HALVES, [("A", [1, None, 3, 4]), ("B", [None, None, 2, 2])]))
    rects = _series_rects(root)
    assert [len(rects[0]), len(rects[1])] == [3, 2]
    # No bar stands over the second category, where neither series has a value; its label remains.
    tips = [rect.find("svg:title", NS).text for bars in rects.values() for rect in bars]
    assert not any(tip.startswith("2023年下半年") for tip in tips)
    assert "2023年下半年" in _texts(root)


def test_bars_stand_on_the_zero_line_positive_above_negative_below():
    root = _parse(bar_chart(["a", "b", "c"], [("利润", [20, -5, Decimal("7.5")])]))
    zero = _zero_y(root)
    positive, negative, smaller = _series_rects(root)[0]
    assert float(positive.get("y")) + float(positive.get("height")) == pytest.approx(zero)
    assert float(negative.get("y")) == pytest.approx(zero)
    assert float(negative.get("height")) > 0
    assert float(positive.get("height")) == pytest.approx(4 * float(negative.get("height")))
    assert float(smaller.get("height")) == pytest.approx(1.5 * float(negative.get("height")))
    assert _tick_labels(root) == ["-5", "0", "5", "10", "15", "20"]


def test_value_labels_show_the_values_as_given_above_or_below_the_bars():
    root = _parse(bar_chart(["a", "b"], [("投入", [Decimal("1234.50"), Decimal("-0.8")])], unit="亿元"))
    (values,) = _part(root, "values")
    labels = values.findall("svg:text", NS)
    assert [label.text for label in labels] == ["1234.50", "-0.8"]  # in 亿元 as passed: nothing converted
    zero = _zero_y(root)
    assert float(labels[0].get("y")) < zero < float(labels[1].get("y"))
    assert "单位：亿元" in _texts(root)


def test_floats_are_written_without_binary_noise():
    root = _parse(bar_chart(["a"], [("s", [13.5]), ("t", [0.1])]))
    (values,) = _part(root, "values")
    assert _texts(values) == ["13.5", "0.1"]


def test_a_legend_only_when_there_is_more_than_one_series():
    assert _part(_parse(bar_chart(["a"], [("A", [1])])), "legend") == []
    (legend,) = _part(_parse(bar_chart(["a"], [("A区", [1]), ("B区", [2])])), "legend")
    assert _texts(legend) == ["A区", "B区"]
    fills = [rect.get("fill") for rect in legend.findall("svg:rect", NS)]
    assert fills[0] == "#b3261e"  # kechuang's accent first, as on the web charts
    assert len(set(fills)) == 2


def test_series_take_distinct_colours_from_the_palette():
    names = [(f"s{index}", [index + 1]) for index in range(8)]
    root = _parse(bar_chart(["a"], names))
    colours = [group.get("fill") for group in _part(root, "series")]
    assert len(set(colours)) == 8


def test_narrow_bars_turn_their_value_labels_upright():
    root = _parse(bar_chart([f"{month}月" for month in range(1, 13)],
                            [(name, [Decimal("12345.67")] * 12) for name in ("A", "B", "C")]))
    (values,) = _part(root, "values")
    assert all(label.get("transform", "").startswith("rotate(-90") for label in values.findall("svg:text", NS))


# --- category labels -------------------------------------------------------------------------


def _category_texts(root):
    (categories,) = _part(root, "categories")
    return categories.findall("svg:text", NS)


def test_chinese_period_labels_are_written_as_text_on_one_line_when_they_fit():
    root = _parse(bar_chart(HALVES, [("A", [1, 2, 3, 4])]))
    texts = _category_texts(root)
    assert [text.text for text in texts] == HALVES
    assert all(text.get("transform") is None for text in texts)


def test_long_labels_wrap_on_two_lines_between_year_and_half():
    root = _parse(bar_chart(HALVES + ["2025年上半年"], [("A", [1, 2, 3, 4, 5])], width=400))
    assert [text.text for text in _category_texts(root)][:4] == ["2023年", "上半年", "2023年", "下半年"]


def test_labels_too_long_to_wrap_are_turned():
    categories = [f"2024年第{month}月（初步核算）" for month in range(1, 13)]
    root = _parse(line_chart(categories, [("A", list(range(12)))]))
    texts = _category_texts(root)
    assert texts
    assert all(text.get("transform", "").startswith("rotate(-45") for text in texts)
    assert texts[0].text.startswith("2024年")
    # Turned labels stay inside the chart.
    assert all(float(text.get("y")) < 320 for text in texts)


# --- no data ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "words"), [("zh", "暂无数据"), ("en", "No data"), ("zh-hans", "暂无数据")])
@pytest.mark.parametrize("draw", [bar_chart, line_chart])
@pytest.mark.parametrize(("categories", "series"), [([], []), (["a", "b"], [("s", [None, None])]), (["a"], [])])
def test_a_chart_without_data_says_so(draw, categories, series, language, words):
    root = _parse(draw(categories, series, title="研发", language=language))
    (message,) = _part(root, "no-data")
    assert _texts(message) == [words]
    assert _part(root, "series") == []
    assert _part(root, "y-axis") == []
    assert words in root.find("svg:desc", NS).text
    assert root.find("svg:title", NS).text == "研发"


# --- suppressed values -----------------------------------------------------------------------


def test_a_suppressed_bar_is_an_empty_hatched_placeholder_labelled_with_a_dash():
    svg = bar_chart(HALVES, [("营业收入", [Decimal("5"), SUPPRESSED, Decimal("7"), None])], unit="亿元")
    root = _parse(svg)
    (placeholder,) = _part(root, "suppressed")
    box = placeholder.find("svg:rect", NS)
    assert box.get("fill") == "#ffffff"
    assert box.get("stroke-dasharray")
    assert len(placeholder.findall("svg:line", NS)) > 2  # the hatching
    assert _texts(placeholder) == ["—"]
    assert float(box.get("y")) + float(box.get("height")) == pytest.approx(_zero_y(root))
    # Not a bar and never a number: only the two real values have bars and labels.
    assert len(_series_rects(root)[0]) == 2
    (values,) = _part(root, "values")
    assert _texts(values) == ["5", "7"]
    (note,) = _part(root, "note")
    assert _texts(note) == ["— 表示数据不予公开"]


def test_a_suppressed_point_breaks_the_line_and_shows_a_placeholder():
    root = _parse(line_chart(HALVES, [("A", [1, 2, SUPPRESSED, 4]), ("B", [1, 2, 3, 4])], language="en"))
    lines = {int(group.get("data-series")): group for group in _part(root, "series")}
    assert len(lines[0].findall("svg:path", NS)) == 1  # 1→2, then the lone 4 as a point
    assert len(lines[0].findall("svg:circle", NS)) == 3
    assert len(lines[1].findall("svg:path", NS)) == 1
    (placeholder,) = _part(root, "suppressed")
    assert _texts(placeholder) == ["—"]
    (note,) = _part(root, "note")
    assert _texts(note) == ["— withheld (confidential)"]


def test_an_all_suppressed_series_draws_placeholders_not_the_no_data_message():
    root = _parse(bar_chart(["a", "b"], [("s", [SUPPRESSED, SUPPRESSED])]))
    assert len(_part(root, "suppressed")) == 2
    assert _part(root, "no-data") == []


def test_no_suppressed_values_no_note():
    assert _part(_parse(bar_chart(["a"], [("s", [1])])), "note") == []


# --- lines -----------------------------------------------------------------------------------


def test_a_gap_breaks_the_line_in_two():
    root = _parse(line_chart(["a", "b", "c", "d", "e"], [("s", [1, 2, None, 3, 4])]))
    (group,) = _part(root, "series")
    paths = group.findall("svg:path", NS)
    assert len(paths) == 2
    assert all(path.get("d").count("L") == 1 for path in paths)
    assert len(group.findall("svg:circle", NS)) == 4


def test_lines_differ_by_dash_as_well_as_colour():
    root = _parse(line_chart(["a", "b"], [("A", [1, 2]), ("B", [2, 3])]))
    first, second = (group.find("svg:path", NS) for group in _part(root, "series"))
    assert first.get("stroke") != second.get("stroke")
    assert first.get("stroke-dasharray") != second.get("stroke-dasharray")


def test_a_single_line_has_value_labels_several_lines_do_not():
    assert _texts(_part(_parse(line_chart(["a", "b"], [("A", [1, 2])])), "values")[0]) == ["1", "2"]
    assert _part(_parse(line_chart(["a", "b"], [("A", [1, 2]), ("B", [3, 4])])), "values") == []


def test_negative_points_lie_below_the_zero_line():
    root = _parse(line_chart(["a", "b"], [("增速", [Decimal("-2.5"), Decimal("3")])], unit="%"))
    zero = _zero_y(root)
    below, above = _part(root, "series")[0].findall("svg:circle", NS)
    assert float(below.get("cy")) > zero > float(above.get("cy"))


# --- what callers may pass -------------------------------------------------------------------


def test_a_series_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        bar_chart(["a", "b", "c"], [("s", [1, 2])])


@pytest.mark.parametrize("value", ["12.3", "n/a", True, float("nan"), float("inf")])
def test_values_other_than_numbers_none_or_suppressed_are_refused(value):
    with pytest.raises((TypeError, ValueError)):
        bar_chart(["a"], [("s", [value])])

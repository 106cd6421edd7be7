"""Charts for bulletins (简报图表): bar and line charts written as SVG text on the server.

A bulletin is read as a web page and as a PDF made by WeasyPrint, which draws inline SVG;
one SVG drawn here looks the same in both. The web pages' interactive charts are ECharts
(indicators/static/indicators/charts.js); these share its palette, so a figure keeps its
colour from the page to the bulletin.

Choices made here, for callers to rely on:

- Values are drawn as given: the caller passes them in the unit shown (亿元, %, 家) and
  names the unit; nothing is converted or rounded. A value is a Decimal, int or float;
  None is a gap (no bar, a break in the line); the string "suppressed" is a value the
  public may not see (统计资料保密, see indicators/disclosure.py): drawn as a hatched,
  empty placeholder labelled "—", never as a number, with a note below the chart.
- The same input gives the same bytes: coordinates have two decimals at most, and the
  ids `aria-labelledby` needs come from a hash of the input, so two different charts on
  one page do not share ids.
- Nothing needs the page: no script, no style attribute or class (the pages' CSP allows
  no inline style), no external reference; colours, fonts and sizes are presentation
  attributes. Chinese text names CJK fonts first, so WeasyPrint with Debian's
  fonts-noto-cjk draws it.
- Text widths are estimated (a CJK character one em, other characters about half), so
  long category labels such as 2023年上半年 are wrapped on two lines or turned 45° when
  they do not fit under their category, and value labels too wide for a bar are turned
  upright. The data is also written as text in the chart's <desc>, for screen readers.
"""

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from xml.sax.saxutils import escape, quoteattr

SUPPRESSED = "suppressed"
SUPPRESSED_MARK = "—"

# The web charts' palette (indicators/static/indicators/charts.js): kechuang's accent red,
# then blue, green, brown, purple, teal, slate and magenta; each at least 3:1 against white
# (WCAG 1.4.11 for graphics).
PALETTE = ("#b3261e", "#0b5cad", "#2e7d32", "#8a5300", "#6a1b9a", "#00838f", "#5d6b7a", "#c2185b")
# Lines differ by dash as well as colour, for readers who do not tell the colours apart
# and for bulletins printed in grey.
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 2", "10 4", "3 3 1 3")

CJK_FONTS = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'Microsoft YaHei'"
FONT_FAMILY = {"zh": f"{CJK_FONTS}, sans-serif", "en": f"'Noto Sans', 'DejaVu Sans', Arial, {CJK_FONTS}, sans-serif"}

INK = "#1d2733"
MUTED = "#5d6b7a"
GRID = "#e6ebf0"
BACKGROUND = "#ffffff"

TITLE_SIZE = 15
TEXT_SIZE = 11
VALUE_SIZE = 10
SMALLEST_VALUE_SIZE = 8
# A few categories would otherwise make slabs a hundred pixels wide.
MAX_BAR_WIDTH = 48
PAD = 10
SLANT = math.sin(math.pi / 4)  # category labels that do not fit are turned 45°
# At most five intervals on the y axis: more gridlines crowd a 320-pixel chart.
MAX_TICK_INTERVALS = 5

WORDS = {
    "zh": {
        "bar": "柱状图", "line": "折线图", "no_data": "暂无数据", "unit": "单位：{unit}",
        "withheld": "不公开", "withheld_value": "—（不公开）", "gap": "无数据", "note": "— 表示数据不予公开",
        "list": "、", "sentence": "。", "end": "。", "pair": "：", "item": "，", "series": "；",
    },
    "en": {
        "bar": "Bar chart", "line": "Line chart", "no_data": "No data", "unit": "Unit: {unit}",
        "withheld": "withheld", "withheld_value": "— (withheld)", "gap": "no data", "note": "— withheld (confidential)",
        "list": ", ", "sentence": ". ", "end": ".", "pair": ": ", "item": ", ", "series": "; ",
    },
}

# Characters XML 1.0 forbids: a label pasted from a spreadsheet must not make the SVG unreadable.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Runs that must not be broken when a label wraps: words and numbers.
_UNBROKEN = re.compile(r"[0-9A-Za-z.,%'’\-]+|\s+|.")


def bar_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence]], *, title: str = "", unit: str = "",
              width: int = 640, height: int = 320, language: str = "zh") -> str:
    """A bar chart (柱状图): one group of bars per category, one bar per series, as SVG text."""
    return _chart("bar", categories, series, title=title, unit=unit, width=width, height=height, language=language)


def line_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence]], *, title: str = "", unit: str = "",
               width: int = 640, height: int = 320, language: str = "zh") -> str:
    """A line chart (折线图): one line per series across the categories, as SVG text."""
    return _chart("line", categories, series, title=title, unit=unit, width=width, height=height, language=language)


def nice_ticks(low: Decimal, high: Decimal, max_intervals: int = MAX_TICK_INTERVALS) -> list[Decimal]:
    """The y axis's ticks: multiples of 1, 2 or 5 × 10ⁿ covering `low`..`high` and zero,
    in at most `max_intervals` intervals. An axis with nothing but zero runs from 0 to 1."""
    low, high = min(Decimal(low), Decimal(0)), max(Decimal(high), Decimal(0))
    if low == high:
        return [Decimal(0), Decimal(1)]
    magnitude = Decimal(1).scaleb(((high - low) / max_intervals).adjusted())
    while True:
        for factor in (1, 2, 5):
            step = magnitude * factor
            first = (low / step).to_integral_value(rounding=ROUND_FLOOR)
            last = (high / step).to_integral_value(rounding=ROUND_CEILING)
            if last - first <= max_intervals:
                return [step * index for index in range(int(first), int(last) + 1)]
        magnitude *= 10


# --- values and text ------------------------------------------------------------------------


def _value(value) -> Decimal | str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value == SUPPRESSED:
            return SUPPRESSED
        raise TypeError(f"a chart value is a number, None or {SUPPRESSED!r}, not {value!r}")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise TypeError(f"a chart value is a number, None or {SUPPRESSED!r}, not {value!r}")
    # repr() gives a float's shortest exact text: 0.1 stays 0.1, not 0.1000000000000000055….
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise ValueError(f"a chart value must be finite, not {value!r}")
    return number


def _number(value: Decimal, english: bool) -> str:
    """A value as the caller gave it, without exponent; thousands grouped in English only,
    as kechuang's tables write them (indicators/display.py)."""
    if value == 0:
        value = abs(value)  # no "-0"
    return f"{value:,f}" if english else f"{value:f}"


def _clean(text) -> str:
    return _NOT_XML.sub("", str(text))


def _text(text: str) -> str:
    return escape(_clean(text))


def _attr(text) -> str:
    return quoteattr(_clean(text))


def _n(x: float) -> str:
    """A coordinate: two decimals at most, so the output is the same on every machine."""
    written = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if written in ("-0", "") else written


def _em(character: str) -> float:
    if unicodedata.east_asian_width(character) in ("W", "F"):
        return 1.0
    if character in " .,:;!|il'’()[]":
        return 0.3
    return 0.6


def text_width(text: str, size: float) -> float:
    """The estimated width of `text` at font size `size`: no font is measured on the server."""
    return sum(_em(character) for character in text) * size


def _shortened(text: str, width: float, size: float) -> str:
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _two_lines(text: str, size: float) -> tuple[str, str]:
    """`text` split in the two lines of most even width, breaking between CJK characters or
    at spaces, never inside a word or a number: 2023年上半年 → 2023年 / 上半年."""
    pieces = _UNBROKEN.findall(text)
    best = (text, "")
    best_width = text_width(text, size)
    for cut in range(1, len(pieces)):
        first, second = "".join(pieces[:cut]).rstrip(), "".join(pieces[cut:]).lstrip()
        if not first or not second:
            continue
        widest = max(text_width(first, size), text_width(second, size))
        if widest < best_width:
            best, best_width = (first, second), widest
    return best


# --- drawing --------------------------------------------------------------------------------


def _element(name: str, content: str = "", **attributes) -> str:
    written = "".join(f" {key.rstrip('_').replace('_', '-')}={_attr(value)}" for key, value in attributes.items()
                      if value is not None and value != "")
    return f"<{name}{written}>{content}</{name}>" if content else f"<{name}{written}/>"


def _label(text: str, x: float, y: float, **attributes) -> str:
    return _element("text", _text(text), x=_n(x), y=_n(y), **attributes)


def _hatch(x: float, y: float, width: float, height: float, colour: str, spacing: float = 5) -> list[str]:
    """Diagonal hatching inside a rectangle, drawn as lines (no <pattern>, no ids to collide)."""
    lines = []
    k = x + y + spacing
    while k < x + width + y + height:
        x1, x2 = max(x, k - (y + height)), min(x + width, k - y)
        lines.append(_element("line", x1=_n(x1), y1=_n(k - x1), x2=_n(x2), y2=_n(k - x2), stroke=colour,
                              stroke_width="1"))
        k += spacing
    return lines


@dataclass(frozen=True)
class _Series:
    name: str
    values: tuple  # Decimal, None or SUPPRESSED for each category
    colour: str
    dash: str


def _chart(kind, categories, series, *, title, unit, width, height, language) -> str:
    english = str(language).lower().startswith("en")
    width, height = float(width), float(height)  # numbers only: they are written into the <svg> tag
    words = WORDS["en" if english else "zh"]
    categories = [_clean(category) for category in categories]
    drawn = []
    for index, (name, values) in enumerate(series):
        values = tuple(_value(value) for value in values)
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
        drawn.append(_Series(_clean(name), values, PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]))
    title, unit = _clean(title), _clean(unit)

    fingerprint = repr((kind, title, unit, width, height, english, categories,
                        [(item.name, [str(value) for value in item.values]) for item in drawn]))
    chart_id = "kc-chart-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:12]
    numbers = [value for item in drawn for value in item.values if isinstance(value, Decimal)]
    has_data = any(value is not None for item in drawn for value in item.values)

    shown_title = title or words["list"].join(item.name for item in drawn) or words[kind]
    if has_data:
        description = _description(kind, categories, drawn, unit, english)
    else:
        description = words[kind] + words["pair"] + words["no_data"]
    parts = [
        _element("title", _text(shown_title), id=f"{chart_id}-title"),
        _element("desc", _text(description), id=f"{chart_id}-desc"),
        _element("rect", x="0", y="0", width=_n(width), height=_n(height), fill=BACKGROUND),
    ]
    top = PAD
    if title:
        top += TITLE_SIZE
        shown = _shortened(title, width - 2 * PAD, TITLE_SIZE)
        parts.append(_label(shown, PAD, top, font_size=TITLE_SIZE, font_weight="bold", fill=INK))
        top += 8
    if has_data:
        parts += _plot(kind, categories, drawn, numbers, unit, words, english, width, height, top)
    else:
        parts.append(_element("g", _label(words["no_data"], width / 2, (top + height) / 2 + 5, font_size=14,
                                          text_anchor="middle", fill=MUTED), data_part="no-data"))
    size = f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}"'
    labelled = f'aria-labelledby="{chart_id}-title {chart_id}-desc"'
    opening = (f'<svg xmlns="http://www.w3.org/2000/svg" {size} role="img" {labelled} '
               f'font-family={_attr(FONT_FAMILY["en" if english else "zh"])} font-size="{TEXT_SIZE}">')
    return "\n".join([opening, *parts, "</svg>"]) + "\n"


def _description(kind, categories, drawn, unit, english) -> str:
    """The data as sentences, for screen readers and for anyone who cannot see the chart."""
    words = WORDS["en" if english else "zh"]
    head = [words[kind], words["unit"].format(unit=unit)] if unit else [words[kind]]
    sentences = []
    for item in drawn:
        points = []
        for category, value in zip(categories, item.values, strict=True):
            if value is None:
                shown = words["gap"]
            elif value == SUPPRESSED:
                shown = words["withheld_value"]
            else:
                shown = _number(value, english)
            points.append(f"{category} {shown}")
        sentences.append(item.name + words["pair"] + words["item"].join(points))
    return words["sentence"].join([*head, words["series"].join(sentences)]) + words["end"]


def _plot(kind, categories, drawn, numbers, unit, words, english, width, height, top) -> list[str]:
    parts = []
    ticks = nice_ticks(min(numbers, default=Decimal(0)), max(numbers, default=Decimal(0)))
    low, high = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0]
    places = max(0, -step.normalize().as_tuple().exponent)
    tick_labels = [_number(tick.quantize(Decimal(1).scaleb(-places)), english) for tick in ticks]

    # Legend, when there is more than one series: swatches and names in rows as wide as the chart.
    if len(drawn) > 1:
        legend, x, row = [], PAD, top + TEXT_SIZE
        swatch = 14 if kind == "bar" else 20
        for item in drawn:
            item_width = swatch + text_width(item.name, TEXT_SIZE)
            if x > PAD and x + item_width > width - PAD:
                x, row = PAD, row + 16
            if kind == "bar":
                legend.append(_element("rect", x=_n(x), y=_n(row - 9), width="10", height="10", fill=item.colour))
            else:
                legend.append(_element("line", x1=_n(x), y1=_n(row - 4), x2=_n(x + 16), y2=_n(row - 4),
                                       stroke=item.colour, stroke_width="2", stroke_dasharray=item.dash or None))
            legend.append(_label(item.name, x + swatch, row, fill=INK))
            x += item_width + 16
        parts.append(_element("g", "".join(legend), data_part="legend"))
        top = row + 8
    if unit:
        parts.append(_label(words["unit"].format(unit=unit), PAD, top + TEXT_SIZE, fill=MUTED))
        top += 16

    left = PAD + max(text_width(label, TEXT_SIZE) for label in tick_labels) + 6
    right = width - PAD - 4
    slot = (right - left) / max(len(categories), 1)

    def x_of(index: int) -> float:
        return left + slot * (index + 0.5)

    # Category labels: on one line if each fits under its category, else on two lines, else turned 45°.
    bottom_room = height * 0.3
    lines_of = [[category] for category in categories]
    mode, every = "flat", 1
    if any(text_width(category, TEXT_SIZE) > slot - 4 for category in categories):
        split = [_two_lines(category, TEXT_SIZE) if text_width(category, TEXT_SIZE) > slot - 4 else (category, "")
                 for category in categories]
        if all(max(text_width(line, TEXT_SIZE) for line in lines) <= slot - 4 for lines in split):
            mode, lines_of = "wrapped", [[line for line in lines if line] for lines in split]
        else:
            mode = "turned"
            # As long as the room below the plot allows, and not past the chart's left edge.
            longest = (bottom_room - 8) / SLANT - TEXT_SIZE
            lines_of = [[_shortened(category, min(longest, (x_of(index) - PAD) / SLANT), TEXT_SIZE)]
                        for index, category in enumerate(categories)]
            # Turned labels stand a font size apart across the slant; closer ones are thinned out.
            every = max(1, math.ceil(TEXT_SIZE * 1.3 / (slot * SLANT)))
    if mode == "flat":
        category_room = TEXT_SIZE + 8
    elif mode == "wrapped":
        category_room = 2 * (TEXT_SIZE + 2) + 6
    else:
        widest = max(text_width(lines[0], TEXT_SIZE) for lines in lines_of)
        category_room = min(bottom_room, (widest + TEXT_SIZE) * SLANT + 8)

    suppressed = any(value == SUPPRESSED for item in drawn for value in item.values)
    note_room = 16 if suppressed else 0

    # Value labels: on bars always (upright when too wide for the bar); on a line when it is the only one.
    value_labels = kind == "bar" or len(drawn) == 1
    bar_width = min(slot * 0.7 / len(drawn), MAX_BAR_WIDTH) if kind == "bar" else slot
    value_size, upright = VALUE_SIZE, False
    value_texts = [_number(value, english) for value in numbers]
    widest_value = max((text_width(text, 1) for text in value_texts), default=0)
    if value_labels and kind == "bar":
        while value_size > SMALLEST_VALUE_SIZE and widest_value * value_size > bar_width + 2:
            value_size -= 1
        upright = widest_value * value_size > bar_width + 2
    headroom = widest_value * value_size + 6 if upright else value_size + 6
    below_zero_room = headroom if low < 0 and kind == "bar" else 0

    plot_top = top + max(headroom, TEXT_SIZE)
    plot_bottom = max(plot_top + 20, height - PAD - note_room - category_room - below_zero_room)
    span = high - low

    def y_of(value: Decimal) -> float:
        return plot_bottom - float((value - low) / span) * (plot_bottom - plot_top)

    zero = y_of(Decimal(0))

    axis = []
    for tick, label in zip(ticks, tick_labels, strict=True):
        y = y_of(tick)
        if tick != 0:
            axis.append(_element("line", x1=_n(left), y1=_n(y), x2=_n(right), y2=_n(y), stroke=GRID, stroke_width="1"))
        axis.append(_label(label, left - 6, y + 4, text_anchor="end", fill=MUTED))
    parts.append(_element("g", "".join(axis), data_part="y-axis"))

    labels_top = plot_bottom + below_zero_room + 6
    names = []
    for index, lines in enumerate(lines_of):
        if index % every:
            continue
        x = x_of(index)
        if mode == "turned":
            y = labels_top + TEXT_SIZE * 0.7
            names.append(_label(lines[0], x, y, text_anchor="end", fill=INK,
                                transform=f"rotate(-45 {_n(x)} {_n(y)})"))
        else:
            for number, line in enumerate(lines):
                names.append(_label(line, x, labels_top + TEXT_SIZE + number * (TEXT_SIZE + 2), text_anchor="middle",
                                    fill=INK))
    parts.append(_element("g", "".join(names), data_part="categories"))

    placeholder_height = min(30.0, (plot_bottom - plot_top) * 0.2)
    upward = high > 0
    labels = []
    for number, item in enumerate(drawn):
        shapes = []
        if kind == "bar":
            for index, (category, value) in enumerate(zip(categories, item.values, strict=True)):
                x = x_of(index) - bar_width * len(drawn) / 2 + number * bar_width + 0.5
                if value is None:
                    continue
                if value == SUPPRESSED:
                    parts.append(_placeholder(x, zero, bar_width - 1, placeholder_height, upward, item.colour,
                                              f"{category} {item.name}{words['pair']}{words['withheld']}"))
                    continue
                y = y_of(value)
                tip = f"{category} {item.name}{words['pair']}{_number(value, english)}{' ' + unit if unit else ''}"
                shapes.append(_element("rect", _element("title", _text(tip)), x=_n(x), y=_n(min(y, zero)),
                                       width=_n(bar_width - 1), height=_n(abs(zero - y))))
                labels.append(_value_label(_number(value, english), x + (bar_width - 1) / 2, y, value < 0,
                                           value_size, upright))
            parts.append(_element("g", "".join(shapes), data_part="series", data_series=number, fill=item.colour))
        else:
            runs, run = [], []
            for index, value in enumerate(item.values):
                if isinstance(value, Decimal):
                    run.append((x_of(index), y_of(value)))
                    if value_labels:
                        labels.append(_value_label(_number(value, english), x_of(index), y_of(value) - 3,
                                                   False, value_size, False))
                else:
                    if run:
                        runs.append(run)
                    run = []
                    if value == SUPPRESSED:
                        # Off the line, on the plot's lower edge: a withheld value has no height to show.
                        parts.append(_placeholder(x_of(index) - 5, plot_bottom - number * 12, 10, 10, True, item.colour,
                                                  f"{categories[index]} {item.name}{words['pair']}{words['withheld']}"))
            if run:
                runs.append(run)
            for points in runs:
                if len(points) > 1:
                    path = "".join(f"{'M' if i == 0 else 'L'}{_n(x)} {_n(y)}" for i, (x, y) in enumerate(points))
                    shapes.append(_element("path", d=path, fill="none", stroke=item.colour, stroke_width="2",
                                           stroke_dasharray=item.dash or None, stroke_linejoin="round"))
                for x, y in points:
                    shapes.append(_element("circle", cx=_n(x), cy=_n(y), r="3", fill=item.colour))
            parts.append(_element("g", "".join(shapes), data_part="series", data_series=number))

    parts.append(_element("line", x1=_n(left), y1=_n(zero), x2=_n(right), y2=_n(zero), stroke=MUTED,
                          stroke_width="1", data_part="zero-line"))
    if labels:
        parts.append(_element("g", "".join(labels), data_part="values", fill=INK, font_size=value_size))
    if suppressed:
        parts.append(_element("g", _label(words["note"], PAD, height - PAD, fill=MUTED), data_part="note"))
    return parts


def _value_label(text: str, x: float, y: float, below: bool, size: int, upright: bool) -> str:
    if upright:
        anchor_y = y + 3 if below else y - 3
        return _label(text, x + size * 0.35, anchor_y, text_anchor="end" if below else "start",
                      transform=f"rotate(-90 {_n(x + size * 0.35)} {_n(anchor_y)})")
    return _label(text, x, y + size + 2 if below else y - 3, text_anchor="middle")


def _placeholder(x: float, zero: float, width: float, height: float, upward: bool, colour: str, tip: str) -> str:
    """A withheld value: an empty, hatched box with a dashed edge and "—", standing on the zero line."""
    y = zero - height if upward else zero
    shapes = [_element("rect", _element("title", _text(tip)), x=_n(x), y=_n(y), width=_n(width), height=_n(height),
                       fill=BACKGROUND, stroke=colour, stroke_width="1", stroke_dasharray="3 2")]
    shapes += _hatch(x, y, width, height, colour)
    mark_y = y - 3 if upward else y + height + VALUE_SIZE + 2
    shapes.append(_label(SUPPRESSED_MARK, x + width / 2, mark_y, text_anchor="middle", fill=INK, font_size=VALUE_SIZE))
    return _element("g", "".join(shapes), data_part="suppressed")

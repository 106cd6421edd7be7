"""The explanations: every outcome told in Chinese and in English, with numbers as people write them.

An enterprise reads why it passes or what it still lacks: "R&D intensity 3.4% over
2021–2023; needs ≥ 4% for last year's sales revenue above 50 million yuan up to 200
million yuan: 0.6 percentage points short, about 1.9 million yuan more R&D over
2021–2023". Thresholds the research notes mark [UNVERIFIED] say so in the sentence
("[unverified: …]", "【待核实：…】"), so nobody mistakes a parameter for the law.

Numbers are shown rounded (money in 万元/亿元 or million/billion yuan, percentages to two
decimals) but compared exactly; where rounding would make a failing 4.996% look like the
5% it needs, more decimals are shown.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from kechuang.statistics.units import format_money_en, format_money_zh

from .definitions import AWAITING, FAIL, MISSING, OPERATORS, PASS, Band, Criterion, wants_more
from .engine import ItemOutcome, Outcome

LANGUAGES = ("zh", "en")

#: The designation types a rule set grants or requires, by code (the designation registry's codes).
DESIGNATION_NAMES = {
    "little-giant": ("专精特新“小巨人”企业", "national “little giant” enterprise"),
    "srdi-sme": ("专精特新中小企业", "specialised SME (专精特新)"),
    "innovative-sme": ("创新型中小企业", "innovative SME"),
    "tech-innovative-sme": ("科技和创新型中小企业", "tech and innovative SME"),
    "hnte": ("高新技术企业", "high and new technology enterprise (HNTE)"),
    "tech-sme": ("科技型中小企业", "tech-based SME"),
}

STATUS_NAMES = {
    PASS: ("符合", "met"),
    FAIL: ("不符合", "not met"),
    MISSING: ("缺少数据", "missing data"),
    AWAITING: ("待专家评审", "awaiting expert judgement"),
}
VERDICTS = {
    PASS: ("符合条件", "eligible"),
    FAIL: ("暂不符合", "not eligible"),
    MISSING: ("缺少数据，尚无法判断", "undetermined: missing data"),
    AWAITING: ("待专家评审", "undetermined: awaiting expert judgement"),
}


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "zh" else pair[1]


def status_name(status: str, language: str) -> str:
    return _pick(STATUS_NAMES[status], language)


def verdict_name(status: str, language: str) -> str:
    return _pick(VERDICTS[status], language)


def designation_name(code: str, language: str) -> str:
    return _pick(DESIGNATION_NAMES.get(code, (code, code)), language)


# --- numbers -----------------------------------------------------------------------------------


def _rounded(value: Decimal, places: int) -> str:
    text = f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def number(value: Decimal, places: int = 2, near: Decimal | None = None) -> str:
    """`value` to `places` decimals, trailing zeros dropped; more decimals (up to 6) where the
    rounded text would equal the rounded `near` (a threshold) while the values differ."""
    text = _rounded(value, places)
    while near is not None and value != near and places < 6 and text == _rounded(near, places):
        places += 1
        text = _rounded(value, places)
    return text


def quantity(value: Decimal | None, unit: str, language: str, near: Decimal | None = None) -> str:
    """A figure's value as a sentence writes it: 190万元 / 1.9 million yuan, 3.4%, 5年 / 5 years."""
    if value is None:
        return "—"
    if unit == "money":
        if near is not None and value != near:
            shown = format_money_zh(value) if language == "zh" else format_money_en(value)
            if shown == (format_money_zh(near) if language == "zh" else format_money_en(near)):
                return (format_money_zh(value, places=6) if language == "zh"
                        else format_money_en(value, places=6))
        return format_money_zh(value) if language == "zh" else format_money_en(value)
    text = number(value, near=near)
    if unit == "percent":
        return f"{text}%"
    if unit == "years":
        return f"{text}年" if language == "zh" else f"{text} year{'' if value == 1 else 's'}"
    if unit == "points":
        return f"{text}分" if language == "zh" else f"{text} point{'' if value == 1 else 's'}"
    return text


def difference(value: Decimal, unit: str, language: str) -> str:
    """A gap between a figure and its threshold: percentages differ by percentage points."""
    if unit == "percent":
        text = number(value, near=Decimal(0))  # a gap of 0.001 points is not "0 points short"
        return f"{text}个百分点" if language == "zh" else f"{text} percentage point{'' if value == 1 else 's'}"
    if unit == "money":
        return quantity(value, unit, language)
    return quantity(value, unit, language, near=Decimal(0))


def band_text(band: Band, unit: str, language: str) -> str:
    """A bracket row as words: "above 50 million yuan up to 200 million yuan" / "5000万元（不含）至2亿元（含）"."""
    lower = None if band.lower is None else quantity(band.lower, unit, language)
    upper = None if band.upper is None else quantity(band.upper, unit, language)
    if language == "zh":
        if lower is None:
            return f"{upper}{'及以下' if band.upper_inclusive else '以下（不含）'}"
        if upper is None:
            return f"{lower}{'及以上' if band.lower_inclusive else '以上（不含）'}"
        return (f"{lower}{'（含）' if band.lower_inclusive else '（不含）'}至"
                f"{upper}{'（含）' if band.upper_inclusive else '（不含）'}")
    if lower is None:
        return f"{'up to' if band.upper_inclusive else 'below'} {upper}"
    if upper is None:
        return f"{lower} or more" if band.lower_inclusive else f"above {lower}"
    return f"{'from' if band.lower_inclusive else 'above'} {lower} {'up to' if band.upper_inclusive else 'to below'} {upper}"


def span_text(first: int, last: int, language: str, each: bool = False) -> str:
    if language == "zh":
        return f"{first}年" if first == last else f"{first}–{last}年"
    if first == last:
        return f"in {first}"
    return f"in each of {first}–{last}" if each else f"over {first}–{last}"


def _join(parts: list[str], language: str) -> str:
    parts = [part for part in parts if part]
    if language == "zh":
        return "、".join(parts)
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# --- unverified marks --------------------------------------------------------------------------


def unverified_mark(criterion: Criterion, language: str) -> str:
    """"[unverified: …]" after a sentence resting on a number not confirmed against the official text."""
    if criterion.verified:
        return ""
    notes = [(note.zh if language == "zh" else note.en) for note in criterion.notes]
    notes = [note for note in notes if note]
    if language == "zh":
        return f"【待核实{'：' + '；'.join(notes) if notes else ''}】"
    return f" [unverified{': ' + '; '.join(notes) if notes else ''}]"


# --- missing figures ---------------------------------------------------------------------------


def missing_text(missing: tuple, metric_names: dict, language: str) -> str:
    """"2022年研发费用、2023年营业收入" / "R&D expenditure for 2022 and operating revenue for 2023"."""
    parts = []
    for gap in missing:
        if gap == ("founded",):
            parts.append("成立日期（登记的“成立”里程碑）" if language == "zh" else "the founding date (a “founded” milestone)")
        elif gap == ("designations",):
            parts.append("资质认定库" if language == "zh" else "the designation registry")
        else:
            metric, year = gap
            zh, en = metric_names.get(metric, (metric, metric))
            parts.append(f"{year}年{zh}" if language == "zh" else f"{en} for {year}")
    return _join(parts, language)


# --- one outcome -------------------------------------------------------------------------------


def text(outcome: Outcome, year: int, language: str, metric_names: dict | None = None,
         on: dt.date | None = None) -> str:
    """The sentence for one criterion's outcome, ending with its unverified mark if any.

    `year` is the screening's anchor year (the last full year); `on` the screening date, which
    registry facts (years since founding) are counted to.
    """
    metric_names = metric_names or {}
    kind = outcome.criterion.kind
    if kind == "compare":
        body = _compare(outcome, year, language, metric_names, on)
    elif kind == "holds":
        body = _holds(outcome, language)
    elif kind == "judgement":
        body = _judgement(outcome, language)
    elif kind == "score":
        body = _score(outcome, language, metric_names)
    elif kind == "bracket":
        body = _bracket(outcome, year, language, metric_names, on)
    else:
        body = _group(outcome, year, language, metric_names, on)
    return body + unverified_mark(outcome.criterion, language)


def _compare(outcome: Outcome, year: int, language: str, names: dict, on: dt.date | None) -> str:
    criterion = outcome.criterion
    figure, unit, operator = criterion.figure, criterion.figure.unit, criterion.operator
    name = figure.name_zh if language == "zh" else figure.name_en
    each = criterion.each_year > 1
    span = figure.span(year)
    bracket = ""
    if outcome.band is not None:
        by = criterion.bracket.by
        by_span = by.span(year)
        by_when = span_text(by_span[0], by_span[1], language) if by_span else ""
        if language == "zh":
            bracket = (f"{by_when}{by.name_zh}为{quantity(outcome.by_value, by.unit, 'zh')}"
                       f"（{band_text(outcome.band, by.unit, 'zh')}）时")
        else:
            bracket = (f" for {by.name_en} {band_text(outcome.band, by.unit, 'en')} "
                       f"({quantity(outcome.by_value, by.unit, 'en')} {by_when})")
    if outcome.status == MISSING and not outcome.years:
        missing = missing_text(outcome.missing, names, language)
        by = criterion.bracket.by
        if language == "zh":
            return f"{name}：无法确定适用档次，缺少{missing or by.name_zh + '（无法计算）'}。"
        return f"{name}: the bracket cannot be chosen; missing {missing or by.name_en + ' (cannot be computed)'}."
    if each:
        first, last = outcome.years[-1][0], outcome.years[0][0]
        when = span_text(first, last, language, each=True)
    elif span is not None:
        when = span_text(span[0], span[1], language)
    elif on is not None:
        when = f"截至{on.isoformat()}" if language == "zh" else f"on {on.isoformat()}"
    else:
        when = ""
    threshold = quantity(outcome.threshold, unit, language)
    symbol = OPERATORS[operator]
    if outcome.status == MISSING:
        missing = missing_text(outcome.missing, names, language)
        if language == "zh":
            reason = f"缺少数据：{missing}" if missing else "无法计算（除数为零）"
            return f"{when}{name}：{reason}；要求{bracket}{symbol}{threshold}。"
        reason = f"missing data: {missing}" if missing else "cannot be computed (a division by zero)"
        return f"{name} {when}: {reason}; needs {symbol} {threshold}{bracket}.".replace("  ", " ")
    values = _values(outcome, unit, language)
    if outcome.status == PASS:
        if language == "zh":
            return f"{when}{name}为{values}，达到{bracket}{symbol}{threshold}的要求。"
        return f"{name} {values} {when}: meets {symbol} {threshold}{bracket}.".replace("  ", " ")
    gap = difference(outcome.gap, unit, language)
    more = wants_more(operator)
    remedy = _remedy(outcome, year, language)
    if language == "zh":
        return f"{when}{name}为{values}；{bracket}要求{symbol}{threshold}：{'差' if more else '超出'}{gap}{remedy}。"
    return (f"{name} {values} {when}; needs {symbol} {threshold}{' in each year' if each else ''}{bracket}: "
            f"{gap} {'short' if more else 'over'}{remedy}.").replace("  ", " ")


def _values(outcome: Outcome, unit: str, language: str) -> str:
    threshold = outcome.threshold
    if len(outcome.years) <= 1:
        return quantity(outcome.value, unit, language, near=threshold)
    if language == "zh":
        return "、".join(f"{quantity(value, unit, 'zh', near=threshold)}（{year}年）" for year, value in outcome.years)
    return _join([f"{quantity(value, unit, 'en', near=threshold)} in {year}" for year, value in outcome.years], "en")


def _remedy(outcome: Outcome, year: int, language: str) -> str:
    remedy = outcome.criterion.remedy
    if remedy is None or not outcome.remedies:
        return ""
    parts = []
    for when, change in outcome.remedies:
        span = remedy.figure.span(when)
        amount = quantity(abs(change), remedy.figure.unit, language)
        if language == "zh":
            period = ""
            if span:
                period = span_text(span[0], span[1], "zh") + ("合计" if span[0] != span[1] else "")
            parts.append(f"约需{period}{'增加' if change > 0 else '减少'}{remedy.name_zh}{amount}")
        else:
            period = (" " + span_text(span[0], span[1], "en")) if span else ""
            parts.append(f"about {amount} {'more' if change > 0 else 'less'} {remedy.name_en}{period}")
    return ("，" if language == "zh" else ", ") + ("；" if language == "zh" else "; ").join(parts)


def _holds(outcome: Outcome, language: str) -> str:
    types = _join([designation_name(code, language) for code in outcome.criterion.types],
                  language) if language == "zh" else " or ".join(
        designation_name(code, language) for code in outcome.criterion.types)
    if outcome.status == MISSING:
        return ("无法核对持有的资质：资质认定库不可用。" if language == "zh"
                else "cannot be checked: the designation registry is not available.")
    if outcome.status == PASS:
        held = _join([designation_name(code, language) for code in outcome.answer], language)
        return f"持有有效的{held}。" if language == "zh" else f"holds a valid {held} designation."
    return f"未持有有效的{types}。" if language == "zh" else f"holds no valid {types} designation."


def _judgement(outcome: Outcome, language: str) -> str:
    judgement = outcome.criterion.judgement
    name = judgement.name_zh if language == "zh" else judgement.name_en
    if outcome.status == AWAITING:
        return f"{name}：待专家评审（尚未给出判断）。" if language == "zh" else f"{name}: awaiting expert judgement."
    if outcome.status == PASS:
        return f"{name}：经评审确认。" if language == "zh" else f"{name}: confirmed by judgement."
    return f"{name}：经评审不符合。" if language == "zh" else f"{name}: judged not met."


def score_total(outcome: Outcome) -> Decimal:
    score = outcome.criterion.score
    if score.groups:
        return sum((group.maximum for group in score.groups), Decimal(0))
    return sum((item.maximum for item in score.items), Decimal(0))


def _score(outcome: Outcome, language: str, names: dict) -> str:
    score = outcome.criterion.score
    symbol = OPERATORS[score.operator]
    total = number(score_total(outcome))
    points = (number(outcome.low) if outcome.low == outcome.high
              else f"{number(outcome.low)}–{number(outcome.high)}")
    groups = _join([f"{(group.name_zh if language == 'zh' else group.name_en)} "
                    f"{number(low) if low == high else number(low) + '–' + number(high)}"
                    for group, low, high in outcome.groups], language)
    floors = _join([f"{(group.name_zh if language == 'zh' else group.name_en)} ≥ {number(group.minimum)}"
                    for group, _, _ in outcome.groups if group.minimum is not None], language)
    if language == "zh":
        head = f"得分{points}（满分{total}{'；' + groups if groups else ''}）"
        need = f"要求{symbol}{number(score.threshold)}分{'，且' + floors if floors else ''}"
    else:
        head = f"score {points} of {total}{' (' + groups + ')' if groups else ''}"
        need = f"needs {symbol} {number(score.threshold)}{' with ' + floors if floors else ''}"
    if outcome.status == PASS:
        return f"{head}，达到{need[2:]}。" if language == "zh" else f"{head}: meets {need[6:]}."
    if outcome.status == FAIL:
        short = number(outcome.gap)
        if language == "zh":
            return f"{head}，即使待定项目取满分也无法达到；{need}：至少差{short}分。"
        return f"{head}, even with full marks on every open item; {need}: at least {short} points short."
    open_items = [o for o in outcome.items if o.status != "known"]
    if outcome.status == MISSING:
        lacking = [o for o in open_items if o.lacks_data or o.status == MISSING]
        missing = missing_text(tuple(gap for o in lacking for gap in o.missing), names, language)
        item_names = _join([(o.item.name_zh if language == "zh" else o.item.name_en) for o in lacking], language)
        if language == "zh":
            return f"{head}；{need}；缺少数据的项目：{item_names}（{missing}）。"
        return f"{head}; {need}; items lacking data: {item_names} ({missing})."
    item_names = _join([(o.item.name_zh if language == "zh" else o.item.name_en) for o in open_items], language)
    if language == "zh":
        return f"{head}；{need}；待专家评审的项目：{item_names}。"
    return f"{head}; {need}; awaiting expert judgement on: {item_names}."


def item_text(item: ItemOutcome, year: int, language: str, names: dict | None = None) -> str:
    """One score item: "R&D intensity 4.2% (row 2: 3% to below 5%) → 15 points"."""
    name = item.item.name_zh if language == "zh" else item.item.name_en
    points = number(item.low) if item.low == item.high else f"{number(item.low)}–{number(item.high)}"
    unit = "分" if language == "zh" else " points"
    if item.status == MISSING:
        missing = missing_text(item.missing, names or {}, language)
        return f"{name}：缺少数据（{missing}）" if language == "zh" else f"{name}: missing data ({missing})"
    if item.status == AWAITING:
        return (f"{name}：待专家评审（{points}{unit}）" if language == "zh"
                else f"{name}: awaiting expert judgement ({points}{unit})")
    if item.band is not None:
        alternative = item.item.alternatives[item.alternative]
        figure = alternative.figure
        shown = quantity(item.value, figure.unit, language)
        band = band_text(item.band, figure.unit, language)
        if language == "zh":
            return f"{name}：{figure.name_zh}{shown}（{band}）→ {points}{unit}"
        return f"{name}: {figure.name_en} {shown} ({band}) → {points}{unit}"
    if item.answer is not None:
        judgement = item.item.alternatives[item.alternative].judgement
        option = judgement.option(item.answer) if judgement.kind == "choice" else None
        answer = (option.name_zh if language == "zh" else option.name_en) if option else number(Decimal(item.answer))
        return f"{name}：{answer} → {points}{unit}" if language == "zh" else f"{name}: {answer} → {points}{unit}"
    return f"{name}：{points}{unit}" if language == "zh" else f"{name}: {points}{unit}"


def _group(outcome: Outcome, year: int, language: str, names: dict, on: dt.date | None = None) -> str:
    children = outcome.children
    kind = outcome.criterion.kind

    def named(child: Outcome) -> str:
        return child.criterion.name_zh if language == "zh" else child.criterion.name_en

    if kind == "any":
        if outcome.status == PASS:
            passing = _join([named(c) for c in children if c.status == PASS], language)
            return f"满足其一：{passing}。" if language == "zh" else f"met through: {passing}."
        closest = min(children, key=lambda child: child.closeness)
        detail = text(closest, year, language, names, on)
        if outcome.status == FAIL:
            return (f"各项均不满足；最接近的是“{named(closest)}”：{detail}" if language == "zh"
                    else f"none of the alternatives is met; the closest is “{named(closest)}”: {detail}")
        return (f"尚无法判断；最接近的是“{named(closest)}”：{detail}" if language == "zh"
                else f"not decided yet; the closest is “{named(closest)}”: {detail}")
    met = sum(1 for child in children if child.status == PASS)
    open_names = _join([f"{named(c)}（{status_name(c.status, 'zh')}）" if language == "zh"
                        else f"{named(c)} ({status_name(c.status, 'en')})"
                        for c in children if c.status != PASS], language)
    if language == "zh":
        return f"{len(children)}项中满足{met}项{'；未满足：' + open_names if open_names else ''}。"
    return f"{met} of {len(children)} met{'; open: ' + open_names if open_names else ''}."


def _bracket(outcome: Outcome, year: int, language: str, names: dict, on: dt.date | None) -> str:
    by = outcome.criterion.bracket.by
    if outcome.band is None:
        missing = missing_text(outcome.missing, names, language)
        if language == "zh":
            return f"无法确定{by.name_zh}所在档次：缺少{missing or '可计算的数据'}。"
        return f"the bracket of {by.name_en} cannot be chosen: missing {missing or 'computable figures'}."
    where = band_text(outcome.band, by.unit, language)
    value = quantity(outcome.by_value, by.unit, language)
    inner = _group(outcome, year, language, names, on)
    if language == "zh":
        return f"{by.name_zh}{value}，属于“{where}”档：{inner}"
    return f"{by.name_en} {value}, in the bracket “{where}”: {inner}"

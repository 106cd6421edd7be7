"""How a bulletin's sentences write numbers, money, periods and dates, in Chinese and English.

The English follows a news style guide (the AP Stylebook's numerals rules), as the seed bulletin
does ("Tongzhou makes great strides in innovation", 2023-09-04); the Chinese follows GB/T
15835-2011 (出版物上数字用法), which writes counts and measures in Arabic digits: 74个, 6家.
Every function is pure: values are Decimal (or int) and rounded once, half up (四舍五入), when
printed; nothing reads the database. A template calls `number`, `period_text` and `date_text`:

    number(74, language="en", kind="project")                          74
    number(6, language="en", kind="enterprise")                        six
    number(6, language="zh", kind="enterprise")                        6家
    number(13000, language="en", kind="unit")                          13,000
    number(13000, language="zh", kind="unit")                          1.3万台
    number(Decimal("56.0"), language="en", kind="percent")             56 percent
    number(Decimal("56.0"), language="zh", kind="percent")             56.0%
    number(Decimal("1.3"), language="zh", kind="percentage_point")     1.3个百分点
    number(Decimal("13.5e9"), language="en", kind="money",
           usd_rate=Decimal("7.26"))                                    13.5 billion yuan ($1.86 billion)
    number(Decimal("13.5e9"), language="zh", kind="money",
           usd_rate=Decimal("7.26"))                                    135亿元（约合18.6亿美元）
    period_text(Period.parse("2023H1"), language="en", with_year=False,
                preposition=True)                                       in the first half of the year
    period_text(Period.parse("2023H1"), language="zh", with_year=False)  上半年
    date_text(date(2022, 11, 1), language="en", precision="month")      November 2022
    date_text(date(2022, 11, 1), language="zh", precision="month")      2022年11月

with the smaller rules they are built from: `number_en`, `number_zh`, `count`, `counter`,
`plural_en`, `percent`, `percentage_points`, `money`, `dollars`, `to_dollars`,
`ordinal_words`, `ordinal_zh`, `join_en` and `join_zh`.

A missing figure (None) raises LanguageError, a ValueError, rather than printing the "—" a
table cell shows: a sentence without its figure must be left out of the bulletin, and
"approved — new projects" would not be. A float raises TypeError, as in
kechuang.statistics.units: it has already lost the exact value.
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, Overflow
from typing import Literal

from kechuang.indicators.display import rounded
from kechuang.statistics.periods import Period
from kechuang.statistics.units import format_money_en, format_money_zh

Language = Literal["zh", "en"]
LANGUAGES: tuple[str, ...] = ("zh", "en")


class LanguageError(ValueError):
    """A figure, period or date that a bulletin's sentence cannot be written with."""


# Counters (量词) by the kind of thing counted: one table, read by `counter`. Each is a count
# unit of kechuang.statistics.units, so "74个" or "6家" reads back there as a count.
COUNTERS: dict[str, str] = {
    "project": "个",  # 科技创新项目74个
    "collaboration": "项",  # 产学研合作59项: an agreement is counted as an item, not an object
    "enterprise": "家",  # 国家级专精特新"小巨人"企业6家
    "institution": "家",  # 研发机构, 孵化器 (places of business)
    "unit": "台",  # a machine produced: the seed's 13,000 dry vacuum pumps are 1.3万台
    "set": "套",  # a set of equipment
    "patent": "件",  # 专利 are counted in 件 by CNIPA
    "achievement": "项",  # 科技成果
    "award": "项",
    "platform": "个",  # 创新平台, 载体
    "park": "个",
    "person": "人",
}

KINDS: tuple[str, ...] = ("percent", "percentage_point", "money", *COUNTERS)

# AP: spell out whole numbers below 10; the words to 99 spell out a figure that starts a sentence.
_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
# AP: spell out first to ninth; use figures from 10th.
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_ORDINAL_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}  # except 11th, 12th, 13th
_CHINESE_DIGITS = "零一二三四五六七八九"

# Dividing by an exchange rate is not exact (1/7.26 recurs): keep 50 digits, and round once when printed.
_DIVISION = Context(prec=50, rounding=ROUND_HALF_UP, traps=[InvalidOperation, Overflow])


# The entry point


def number(value: Decimal | int | None, *, language: Language, kind: str | None = None, precision: int | None = None,
           usd_rate: Decimal | None = None, sentence_start: bool = False) -> str:
    """A figure as a bulletin's sentence writes it, by `kind` (see the module's table of examples).

    `kind` is None for a plain number, "percent", "percentage_point", "money" (yuan, with its
    dollar value when `usd_rate` is given) or a noun of `COUNTERS` for a count ("project",
    "enterprise", "unit" …). `precision` is the decimals to round to, half up (for money, the
    decimals of 亿元 / billion; 2 when not given). `sentence_start` spells out an English figure
    that starts a sentence (see `number_en`).
    """
    check_language(language)
    if usd_rate is not None and kind != "money":
        raise LanguageError(f"usd_rate converts money; a {kind or 'plain number'} has no dollar value")
    if sentence_start and (language != "en" or not (kind is None or kind in COUNTERS)):
        raise LanguageError("only an English plain number or count is spelled out at the start of a sentence")
    if kind is None:
        if language == "en":
            return number_en(value, precision=precision, sentence_start=sentence_start)
        return number_zh(value, precision=precision)
    if kind == "percent":
        return percent(value, language=language, precision=precision)
    if kind == "percentage_point":
        return percentage_points(value, language=language, precision=precision)
    if kind == "money":
        places = 2 if precision is None else precision
        return money(value, language=language, places=places, usd_rate=usd_rate)
    if kind in COUNTERS:
        if precision is not None:
            raise LanguageError(f"a count of {kind} is a whole number; it has no precision")
        if language == "en":
            return number_en(value, sentence_start=sentence_start, whole=True)
        return count_zh(value, kind)
    raise LanguageError(f"unknown kind {kind!r}; expected None or one of {', '.join(KINDS)}")


def check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise LanguageError(f"unknown language {language!r}; expected 'zh' or 'en'")


# Plain numbers and counts


def number_en(value: Decimal | int | None, *, precision: int | None = None, sentence_start: bool = False,
              whole: bool = False) -> str:
    """A number in English running text (AP): "six", "74", "13,000", "1.3", "-3".

    Whole numbers from 0 to 9 are spelled out: "six", and 0 is "zero". Writing "no" instead
    ("welcomed no new enterprises") is the sentence's choice, not the number's, and a bulletin
    usually leaves out a sentence that reports nothing. From 10, and for every fraction and
    negative number, figures with thousands separators ("13,000", "2.5", "-3"); trailing zeros
    are dropped, as news prose drops them ("56.0" is "56").

    A sentence does not start with a figure (AP). With `sentence_start`, a whole number from 0
    to 99 is spelled out and capitalised ("Six", "Seventy-four"); any other number raises
    LanguageError, and the sentence must be recast ("In the first half of the year, 120 …").
    Years are the exception AP allows; write them with `date_text` or `period_text`.

    `whole` refuses a fraction (a count is whole). `precision` rounds half up first.
    """
    amount = _rounded(value, precision)
    if whole:
        _check_whole(amount)
    is_small_whole = amount == amount.to_integral_value() and 0 <= amount <= 99
    if sentence_start:
        if not is_small_whole:
            raise LanguageError(f"a sentence cannot start with {_digits_en(amount)}; recast it "
                                "so that the figure comes later")
        words = _words_below_hundred(int(amount))
        return words[0].upper() + words[1:]
    if is_small_whole and amount <= 9:
        return _ONES[int(amount)]
    return _digits_en(amount)


def number_zh(value: Decimal | int | None, *, precision: int | None = None) -> str:
    """A plain number in Chinese text: Arabic digits without separators (GB/T 15835), "74", "2.50".

    Chinese keeps the digits the value has after rounding to `precision`: statistics print a
    figure to its published precision (国家统计局: "上涨2.0%"), so 2.0 stays "2.0".
    """
    return _digits_zh(_rounded(value, precision))


def counter(noun: str) -> str:
    """The Chinese counter (量词) for a noun kind of `COUNTERS`: "enterprise" → "家"."""
    if noun not in COUNTERS:
        raise LanguageError(f"no counter for {noun!r}; add it to COUNTERS or use one of {', '.join(COUNTERS)}")
    return COUNTERS[noun]


def count_zh(value: Decimal | int | None, noun: str) -> str:
    """A whole count in Chinese with its counter: "74个", "6家", "1.3万台", "2.5亿个".

    Below 1万 the count is written in full ("9999个"). From 1万 it is written in 万, and from
    1亿 in 亿, with up to 2 decimals, rounded half up, trailing zeros dropped: 13,000 is 1.3万台.
    Where rounding reaches the next unit, that unit is used: 99,999,999 is 1亿个, not 10000万个.
    This is the rule `format_money_zh` applies to money, and is computed by it.
    """
    word = counter(noun)
    amount = _rounded(value, None)
    _check_whole(amount)
    if abs(amount) < 10**4:
        return _digits_zh(amount) + word
    return format_money_zh(amount).removesuffix("元") + word


def count(value: Decimal | int | None, *, language: Language, noun: str) -> str:
    """A count of `noun`s: "six" (English, the sentence writes the noun) or "6家" (Chinese, with its counter)."""
    check_language(language)
    if language == "en":
        counter(noun)  # an unknown noun is refused in both languages
        return number_en(value, whole=True)
    return count_zh(value, noun)


def plural_en(value: Decimal | int | None, singular: str, plural: str | None = None) -> str:
    """The English noun for `value` of them: singular for exactly one ("one enterprise"), else the plural.

    "0 enterprises", "1.5 units" and "-1 units" are plural, as English writes them.
    `plural` defaults to `singular` + "s".
    """
    return singular if _decimal(value) == 1 else (plural or singular + "s")


# Ordinals and lists


def ordinal_words(position: int) -> str:
    """An English ordinal (AP): "first" to "ninth" in words, then figures: "10th", "21st", "112th"."""
    _check_position(position)
    if position <= 9:
        return _ORDINALS[position - 1]
    if position % 100 in (11, 12, 13):
        return f"{position}th"
    return f"{position}{_ORDINAL_SUFFIXES.get(position % 10, 'th')}"


def ordinal_zh(position: int) -> str:
    """A Chinese ordinal in Chinese numerals, 1 to 99: 3 → "第三", 10 → "第十", 21 → "第二十一".

    GB/T 15835 lets ordinals use Chinese numerals, as phases are named (恒力产业园三期).
    """
    _check_position(position)
    if position > 99:
        raise LanguageError(f"{position} is beyond the ordinals a bulletin names in Chinese numerals (1 to 99)")
    tens, ones = divmod(position, 10)
    tens_text = "" if tens == 0 else "十" if tens == 1 else _CHINESE_DIGITS[tens] + "十"  # 十一, not 一十一
    return "第" + tens_text + (_CHINESE_DIGITS[ones] if ones else "")


def join_en(items: list[str]) -> str:
    """Items joined in English without the serial comma, as the seed and AP do: "third and fourth", "a, b and c"."""
    items = _checked_items(items)
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def join_zh(items: list[str]) -> str:
    """Items joined in Chinese: "三期和四期"; from three items with the enumeration comma: "甲、乙和丙"."""
    items = _checked_items(items)
    if len(items) == 1:
        return items[0]
    return "、".join(items[:-1]) + "和" + items[-1]


# Shares


def percent(value: Decimal | int | None, *, language: Language, precision: int | None = None) -> str:
    """A percentage: "56 percent" in English, as the seed writes it (not "56%", not "fifty-six"), "56%" in Chinese.

    Figures always, even below ten (AP: "6 percent"). English drops trailing zeros, so a share
    published as 56.0 reads "56 percent"; Chinese keeps its precision ("56.0%", see `number_zh`).
    """
    check_language(language)
    amount = _rounded(value, precision)
    if language == "en":
        return f"{_digits_en(amount)} percent"
    return f"{_digits_zh(amount)}%"


def percentage_points(value: Decimal | int | None, *, language: Language, precision: int | None = None) -> str:
    """A change in a share (§6.1, 百分点): "1.3 percentage points" / "1.3个百分点".

    English uses figures, and the singular for exactly one ("1 percentage point"); 0.5 and 0
    are plural ("0.5 percentage points").
    """
    check_language(language)
    amount = _rounded(value, precision)
    if language == "en":
        return f"{_digits_en(amount)} {plural_en(amount, 'percentage point')}"
    return f"{_digits_zh(amount)}个百分点"


# Money


def to_dollars(yuan: Decimal | int | None, yuan_per_dollar: Decimal) -> Decimal:
    """`yuan` in US dollars at `yuan_per_dollar` (7.26 for the seed): 13.5e9 → 1859504132.2314….

    The caller gives the rate (`ExchangeRate.rate` from kechuang.indicators.services.rate_on,
    whose date and source the bulletin cites); nothing here reads the database. The quotient
    keeps 50 significant digits and is rounded only when printed.
    """
    amount = _decimal(yuan)
    if not isinstance(yuan_per_dollar, Decimal) or isinstance(yuan_per_dollar, bool):
        raise TypeError(f"{yuan_per_dollar!r} is a {type(yuan_per_dollar).__name__}; a rate must be Decimal")
    if not yuan_per_dollar.is_finite() or yuan_per_dollar <= 0:
        raise LanguageError(f"an exchange rate must be a positive number, not {yuan_per_dollar}")
    return _DIVISION.divide(amount, yuan_per_dollar)


def dollars(amount: Decimal | int | None, *, language: Language, places: int = 2) -> str:
    """US dollars: "$1.86 billion", "$250 million", "$12,345"; Chinese "18.6亿美元", "2500万美元", "1.23万美元".

    From a million (Chinese: from 1万) the amount is written in million and billion (万 and 亿)
    with up to `places` decimals, by the rule of `format_money_en` (`format_money_zh`),
    including the carry into the larger unit ($999,999,999.99 is "$1 billion"). Below that it
    is rounded to the whole dollar: a converted amount is an approximation, and cents would
    claim a precision it does not have. A negative amount prints "-$3".
    """
    check_language(language)
    value = _decimal(amount)
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    whole = magnitude.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if whole == 0:
        sign = ""
    if language == "en":
        if whole < 10**6:
            return f"{sign}${whole:,f}"
        # 999,999.6 rounds to a whole million: print that, since format_money_en would keep it in yuan.
        return f"{sign}$" + format_money_en(max(magnitude, whole), places).removesuffix(" yuan")
    if whole < 10**4:
        return f"{sign}{whole:f}美元"
    return sign + format_money_zh(max(magnitude, whole), places).removesuffix("元") + "美元"


def money(yuan: Decimal | int | None, *, language: Language, places: int = 2, usd_rate: Decimal | None = None) -> str:
    """An amount of yuan, with its dollar value where `usd_rate` (yuan per dollar) is given.

    English, as the seed: "13.5 billion yuan ($1.86 billion)". Chinese: "135亿元（约合18.6亿美元）",
    the converted amount in full-width brackets after 约合 ("about"), since it is an
    approximation at one day's rate. The yuan amount is `format_money_en` / `format_money_zh`
    (亿元 / billion with up to `places` decimals); the dollars are `dollars`.
    """
    check_language(language)
    amount = _decimal(yuan)
    text = format_money_en(amount, places) if language == "en" else format_money_zh(amount, places)
    if usd_rate is None:
        return text
    converted = dollars(to_dollars(amount, usd_rate), language=language, places=places)
    return f"{text} ({converted})" if language == "en" else f"{text}（约合{converted}）"


# Periods and dates


def period_text(period: Period | str, *, language: Language, with_year: bool = True, preposition: bool = False) -> str:
    """A statistical period in running text, from `Period` (a code is read with `Period.parse`).

    English, with the year: "the first half of 2023", "the third quarter of 2023", "January to
    May 2023", "July 2023", "2023" (`Period.prose`). Without it, for the bulletin's own period
    whose year the reader knows: "the first half of the year", "January to May", "July", and a
    whole year is "the year". `preposition` makes the phrase an adverbial: "in the first half
    of the year", "from January to May", "in July", "in 2023", "during the year".

    Chinese, with the year: 2023年上半年, 2023年一季度, 2023年1-5月, 2023年7月, 2023年
    (`Period.label`); without: 上半年, 一季度, 1-5月 (cumulative from January, §6.1), 7月, and
    全年 for a whole year. Chinese needs no preposition ("上半年，全区…"); `preposition` is
    accepted so that one call serves both languages, and changes nothing.

    A range keeps its written form: 2023-01..2023-06 is "January to June", 1-6月, not 上半年.
    """
    check_language(language)
    if isinstance(period, str):
        period = Period.parse(period)
    if language == "zh":
        text = period.label("zh")
        return text if with_year else (text.removeprefix(f"{period.year}年") or "全年")
    text = period.prose()
    if not with_year:
        if period.kind == "year":
            return "during the year" if preposition else "the year"
        text = text.removesuffix(f" {period.year}")
        if text.endswith(" of"):
            text += " the year"
    if not preposition:
        return text
    is_span = period.kind == "range" and period.first_month != period.last_month
    return ("from " if is_span else "in ") + text


DatePrecision = Literal["day", "month", "year"]


def date_text(day: date, *, language: Language, precision: DatePrecision = "day") -> str:
    """The date of a fact, to the precision it is known: "4 September 2023" / "November 2022" / "2020".

    Chinese: 2023年9月4日, 2022年11月, 2020年. English days are written day, month, year: the
    order needs no comma around the year in mid-sentence and no abbreviated month name, where
    AP's "Sept. 4, 2023," needs both. A bulletin writes absolute dates; "November of last year",
    as the seed quotes, belongs to a quotation.
    """
    check_language(language)
    if isinstance(day, datetime):
        day = day.date()
    if not isinstance(day, date):
        raise TypeError(f"{day!r} is a {type(day).__name__}; a fact's date must be a date")
    if precision == "year":
        return Period.of_year(day.year).label(language)
    if precision not in ("day", "month"):
        raise LanguageError(f"unknown date precision {precision!r}; expected 'day', 'month' or 'year'")
    month = Period.of_month(day.year, day.month).label(language)
    if precision == "month":
        return month
    return f"{month}{day.day}日" if language == "zh" else f"{day.day} {month}"


# Checks and digits


def _decimal(value: Decimal | int | None) -> Decimal:
    if value is None:
        raise LanguageError("no figure to write; leave the sentence out of the bulletin rather than print a dash")
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        # A float has already lost the exact value (domain rules §6.1).
        raise TypeError(f"{value!r} is a {type(value).__name__}; figures must be Decimal or int")
    amount = Decimal(value)
    if not amount.is_finite():
        raise LanguageError(f"{value} is not a finite number")
    return amount


def _rounded(value: Decimal | int | None, precision: int | None) -> Decimal:
    amount = _decimal(value)
    if precision is None:
        return amount
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 0:
        raise LanguageError(f"precision is a number of decimals, 0 or more, not {precision!r}")
    return rounded(amount, precision)


def _check_whole(amount: Decimal) -> None:
    if amount != amount.to_integral_value():
        raise LanguageError(f"a count is a whole number, not {amount}")


def _check_position(position: int) -> None:
    if isinstance(position, bool) or not isinstance(position, int):
        raise TypeError(f"{position!r} is a {type(position).__name__}; an ordinal's position is an int")
    if position < 1:
        raise LanguageError(f"there is no ordinal for {position}; positions start at 1")


def _checked_items(items: list[str]) -> list[str]:
    if isinstance(items, str):
        raise TypeError("join a list of phrases, not one string")
    items = list(items)
    if not items:
        raise LanguageError("nothing to join")
    return items


def _words_below_hundred(whole: int) -> str:
    if whole < 20:
        return _ONES[whole]
    tens, ones = divmod(whole, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def _digits_en(amount: Decimal) -> str:
    text = f"{_unsigned_zero(amount):,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _digits_zh(amount: Decimal) -> str:
    return f"{_unsigned_zero(amount):f}"


def _unsigned_zero(amount: Decimal) -> Decimal:
    return abs(amount) if amount == 0 else amount  # -0.0 (or -0.04 rounded) prints 0

"""Property tests (hypothesis) of the pure parts: periods, money and units, bulletin
numbers, and the Unified Social Credit Code against an implementation of our own.

Each property states what must hold for every input of a kind; hypothesis draws the inputs
(200 a property in CI, 5,000 with KECHUANG_DRILL=long; see conftest.py) and shrinks a
failure to its smallest example. A failure found here stays below as an explicit example.
"""

import datetime as dt
import re
import string
from decimal import Decimal

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from kechuang.bulletins import language
from kechuang.indicators import engine
from kechuang.registry import uscc
from kechuang.statistics import periods, units
from kechuang.statistics.periods import Period, PeriodError

# --- strategies --------------------------------------------------------------------------

#: Years whose neighbours also have four digits, so previous() and last year exist.
YEARS = st.integers(1001, 9998)


@st.composite
def any_period(draw, years=YEARS, kinds=periods.KINDS):
    kind, year = draw(st.sampled_from(kinds)), draw(years)
    if kind == "year":
        return Period.of_year(year)
    if kind == "half":
        return Period.of_half(year, draw(st.integers(1, 2)))
    if kind == "quarter":
        return Period.of_quarter(year, draw(st.integers(1, 4)))
    if kind == "month":
        return Period.of_month(year, draw(st.integers(1, 12)))
    first = draw(st.integers(1, 12))
    return Period.of_months(year, first, draw(st.integers(first, 12)))


def decimals(max_digits=15, max_places=6):
    """Exact Decimals of up to `max_digits` digits before the point and `max_places` after it."""
    return st.integers(0, max_places).flatmap(
        lambda places: st.integers(-(10 ** (max_digits + places)) + 1, 10 ** (max_digits + places) - 1).map(
            lambda whole: Decimal(whole).scaleb(-places)))


#: Amounts of money to the fen: 分 is the smallest unit a figure is kept in (§6.1).
FEN_AMOUNTS = st.integers(-(10**17), 10**17).map(lambda fen: Decimal(fen).scaleb(-2))
MONEY_UNITS = [name for name, unit in units.UNITS.items() if unit.kind == "money"]
ALL_UNITS = [*units.UNITS, "", "吨", "千瓦时", "万人", "标准箱"]

FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}


# --- periods: codes and labels -----------------------------------------------------------


@given(any_period())
def test_every_period_prints_a_code_that_reads_back_as_the_same_period(period):
    assert str(period) == period.code
    assert Period.parse(period.code) == period
    assert Period.parse(f" {period.code.translate(FULL_WIDTH)}\u3000") == period  # as typed in a Chinese table


@given(any_period())
def test_the_chinese_label_reads_back_as_the_same_period(period):
    parsed = Period.parse(period.label("zh"))
    if period.kind == "range" and period.first_month == period.last_month:
        # Documented: a one-month range prints like the month (2023年1月), and reads back as it.
        assert parsed == Period.of_month(period.year, period.first_month)
    else:
        assert parsed == period
    spaced = " ".join(period.label("zh"))  # 2 0 2 3 年 上 半 年: spaces inside are ignored
    assert Period.parse(spaced.translate(FULL_WIDTH)) == parsed


@given(st.integers(1001, 9998), st.integers(1, 12), st.integers(1, 12), st.sampled_from("-–—~〜至－～"),
       st.sampled_from(["月", "月份"]), st.booleans())
def test_a_range_reads_with_every_separator_of_section_6_1(year, first, last, separator, suffix, month_twice):
    assume(first < last)
    text = f"{year}年{first}{'月' if month_twice else ''}{separator}{last}{suffix}"
    assert Period.parse(text) == Period.of_months(year, first, last)
    assert Period.parse(text.removeprefix(f"{year}年"), default_year=year) == Period.of_months(year, first, last)


@given(st.integers(-5, 12000), st.integers(-1, 14), st.integers(-1, 14), st.sampled_from([*periods.KINDS, "week"]))
def test_the_constructor_accepts_a_period_or_refuses_it_with_a_period_error(year, first, last, kind):
    try:
        period = Period(year, first, last, kind)
    except PeriodError:
        return
    assert Period.parse(period.code) == period
    assert 1000 <= period.year <= 9999 and 1 <= period.first_month <= period.last_month <= 12


PERIOD_LIKE = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A[0-9０-９]{3,5}(H[0-9]{1,2}|Q[0-9]{1,2}|-[0-9]{1,3}(\.\.[0-9]{4}-[0-9]{1,3})?)?\Z"),
    st.from_regex(r"\A([0-9]{4}年)?(第?[一二三四五六七八九十0-9]季度|Q[0-9]|[上下]半年|前三季度|全年|度|"
                  r"[0-9]{1,2}月份?|[0-9]{1,2}月?[-–—~〜至－～][0-9]{1,2}月份?)?\Z"),
)


@given(PERIOD_LIKE, st.one_of(st.none(), st.integers(-10, 12000)))
def test_any_text_is_a_period_or_a_period_error_and_nothing_else(text, default_year):
    try:
        period = Period.parse(text, default_year=default_year)
    except PeriodError as error:
        assert repr(text) in str(error)  # every error names the text
        return
    assert Period.parse(period.code) == period


# --- periods: dates, months and arithmetic -----------------------------------------------


@given(any_period())
def test_a_periods_dates_and_months_agree(period):
    assert period.start <= period.end
    months = period.months()
    assert len(months) == period.month_count == period.last_month - period.first_month + 1
    assert months[0].start == period.start and months[-1].end == period.end
    for before, after in zip(months, months[1:], strict=False):
        assert before.end + dt.timedelta(days=1) == after.start
    assert all(period.covers(month) for month in months)
    assert period.covers(period) and period.covers(months[0]) and period.covers(months[-1])
    assert period.contains(period.start) and period.contains(period.end)
    assert period.contains(dt.datetime.combine(period.end, dt.time(23, 59)))
    assert not period.contains(period.start - dt.timedelta(days=1))
    assert not period.contains(period.end + dt.timedelta(days=1))
    if period.kind == "half":
        assert period.month_count == 6
    if period.kind == "quarter":
        assert period.month_count == 3


@given(any_period(), any_period())
def test_covers_is_inclusion_of_months(outer, inner):
    assert outer.covers(inner) == (set(inner.months()) <= set(outer.months()))


@given(any_period(), st.dates(dt.date(1001, 1, 1), dt.date(9998, 12, 31)))
def test_contains_is_a_day_in_one_of_the_months(period, day):
    assert period.contains(day) == any(month.start <= day <= month.end for month in period.months())


@given(any_period(kinds=("year", "half", "quarter", "month")))
def test_the_previous_period_of_a_fixed_kind_ends_the_day_before(period):
    before = period.previous()
    assert (before.kind, before.month_count) == (period.kind, period.month_count)
    assert before.end + dt.timedelta(days=1) == period.start
    assert before < period


@given(any_period(kinds=("range",)))
def test_the_previous_range_ends_the_day_before_or_would_cross_a_year(period):
    crosses = 1 < period.first_month <= period.month_count  # the months before start in one year, end in the next
    if crosses:
        with pytest.raises(PeriodError, match="cross a year"):
            period.previous()
        return
    before = period.previous()
    assert (before.kind, before.month_count) == ("range", period.month_count)
    assert before.end + dt.timedelta(days=1) == period.start


@given(any_period())
def test_the_same_period_last_year_has_the_same_months_a_year_earlier(period):
    last_year = period.same_period_last_year()
    assert (last_year.year, last_year.first_month, last_year.last_month, last_year.kind) == (
        period.year - 1, period.first_month, period.last_month, period.kind)
    assert Period.parse(last_year.code) == last_year


@given(any_period())
def test_the_year_to_date_runs_from_january_to_the_last_month(period):
    to_date = period.year_to_date()
    assert to_date.is_year_to_date and to_date.kind == "range"
    assert to_date.covers(period) and to_date.last_month == period.last_month
    assert period.is_year_to_date == (to_date.months() == period.months())


@given(any_period(years=st.integers(1100, 9998), kinds=("year", "half", "quarter", "month")), st.integers(0, 30))
def test_a_series_is_consecutive_periods_of_one_kind(last, length):
    first = last
    for _ in range(length):
        first = first.previous()
    series = engine.period_series(first, last)
    assert len(series) == length + 1 and series[0] == first and series[-1] == last
    for before, after in zip(series, series[1:], strict=False):
        assert before.end + dt.timedelta(days=1) == after.start


@given(any_period())
def test_every_code_for_the_same_months_names_those_months(period):
    codes = engine.same_months(period)
    assert period.code in codes and len(set(codes)) == len(codes)
    for code in codes:
        other = Period.parse(code)
        assert (other.year, other.first_month, other.last_month) == (period.year, period.first_month,
                                                                     period.last_month)


@given(st.lists(any_period(years=st.integers(2020, 2022)), max_size=12))
def test_the_engines_layers_hold_disjoint_periods_and_all_of_them(wanted):
    layers = engine._layers(wanted)
    assert sorted(p for layer in layers for p in layer) == sorted(set(wanted))
    for layer in layers:
        months = [month for period in layer for month in period.months()]
        assert len(months) == len(set(months))


# --- periods: cumulative (1-N月累计) and single-month figures --------------------------------

FIGURES = decimals(max_digits=14, max_places=4)


@st.composite
def monthly_runs(draw):
    """{year: [the figures of January, February, … up to some month]} for one to three years."""
    years = draw(st.lists(st.integers(2000, 2030), min_size=1, max_size=3, unique=True))
    return {year: draw(st.lists(FIGURES, min_size=1, max_size=12)) for year in years}


def monthly_of(runs):
    return {Period.of_month(year, index + 1): value for year, values in runs.items()
            for index, value in enumerate(values)}


@given(monthly_runs())
def test_cumulating_monthly_figures_and_differencing_them_again_is_the_identity(runs):
    monthly = monthly_of(runs)
    cumulative = periods.cumulative_from_monthly(monthly)
    assert set(cumulative) == {Period.of_months(month.year, 1, month.last_month) for month in monthly}
    for to_date, total in cumulative.items():
        assert total == sum(monthly[month] for month in to_date.months())
    assert periods.monthly_from_cumulative(cumulative) == monthly


def year_to_date_keys(year, last_month):
    """Every way a table writes 1-N月 cumulative: the range, its last month, Q1, H1, the year."""
    keys = [Period.of_months(year, 1, last_month), Period.of_month(year, last_month)]
    keys += {3: [Period.of_quarter(year, 1)], 6: [Period.of_half(year, 1)], 12: [Period.of_year(year)]}.get(
        last_month, [])
    return keys


@given(monthly_runs(), st.data())
def test_differencing_cumulative_figures_under_any_code_and_cumulating_again_is_the_identity(runs, data):
    cumulative = {}
    for year, values in runs.items():
        for index, value in enumerate(values):
            cumulative[data.draw(st.sampled_from(year_to_date_keys(year, index + 1)))] = value
    monthly = periods.monthly_from_cumulative(cumulative)
    again = periods.cumulative_from_monthly(monthly)
    assert again == {Period.of_months(key.year, 1, key.last_month): value for key, value in cumulative.items()}


@given(monthly_runs(), st.data())
def test_a_missing_month_leaves_out_what_cannot_be_known_and_nothing_else(runs, data):
    monthly = monthly_of(runs)
    dropped = data.draw(st.sets(st.sampled_from(sorted(monthly)), max_size=len(monthly)))
    kept = {month: value for month, value in monthly.items() if month not in dropped}
    cumulative = periods.cumulative_from_monthly(kept)
    known = {month for month in kept if all(m in kept for m in Period.of_months(month.year, 1, month.last_month)
                                            .months())}
    assert set(cumulative) == {Period.of_months(month.year, 1, month.last_month) for month in known}
    # Differencing needs the month before: a month after a gap is left out, never guessed.
    differenced = periods.monthly_from_cumulative({Period.of_month(k.year, k.last_month): v
                                                   for k, v in cumulative.items()})
    assert differenced == {month: kept[month] for month in known}


@given(monthly_runs(), any_period(years=st.just(2000)))
def test_a_total_over_a_period_is_the_sum_of_its_months_and_splits_at_any_month(runs, period):
    values = runs[next(iter(runs))] + [Decimal(0)] * 12
    monthly = {Period.of_month(2000, index + 1): value for index, value in enumerate(values[:12])}
    total = periods.aggregate_months(monthly, period)
    assert total == sum((monthly[month] for month in period.months()), Decimal(0))
    for split in range(period.first_month, period.last_month):
        assert total == (periods.aggregate_months(monthly, Period.of_months(2000, period.first_month, split))
                         + periods.aggregate_months(monthly, Period.of_months(2000, split + 1, period.last_month)))
    if period.is_year_to_date:
        assert total == periods.cumulative_from_monthly(monthly)[period.year_to_date()]
    missing = period.months()[-1]
    with pytest.raises(PeriodError, match=re.escape(str(missing))):
        periods.aggregate_months({m: v for m, v in monthly.items() if m != missing}, period)


# --- money and units -----------------------------------------------------------------------


@given(FEN_AMOUNTS, st.sampled_from(MONEY_UNITS))
def test_yuan_written_in_any_money_unit_and_back_never_loses_a_fen(yuan, unit):
    written = units.from_base(yuan, unit)
    assert written.scaleb(units.UNITS[unit].exponent) == yuan  # exact: only the point moved
    back, base = units.to_base(written, unit)
    assert (back, base) == (yuan, "元")
    assert back.quantize(units.FEN) == yuan


@given(decimals(), st.sampled_from(ALL_UNITS))
def test_an_entered_value_and_unit_round_trip_through_the_base_unit(value, unit):
    base_value, base_unit = units.to_base(value, unit)
    assert base_unit == units.find_unit(unit).base
    assert units.from_base(base_value, unit) == value
    assert "E" not in f"{base_value}"  # stored plainly: 1.35E+10 is 13500000000


@given(decimals(), st.sampled_from([(unit.name, alias) for unit, aliases in units._KNOWN_UNITS for alias in aliases]))
def test_every_alias_of_a_unit_converts_as_the_unit(value, names):
    name, alias = names
    assert units.to_base(value, alias) == units.to_base(value, name)
    assert units.to_base(value, alias.upper()) == units.to_base(value, name)


@given(decimals(), st.sampled_from(ALL_UNITS), st.sampled_from(["", " "]), st.booleans(), st.booleans())
def test_a_number_written_in_a_table_cell_reads_back(value, unit, space, grouped, full_width):
    text = (f"{value:,f}" if grouped else f"{value:f}") + space + unit
    if full_width:
        text = text.translate(FULL_WIDTH)
    parsed = units.parse_number(text)
    assert parsed.value == value and parsed.unit == units.find_unit(unit).name


@given(st.text(max_size=20))
def test_any_text_is_a_number_or_a_number_error(text):
    try:
        parsed = units.parse_number(text)
    except units.NumberError:
        return
    assert parsed.value.is_finite()


#: The amounts the display is documented for: units keeps 100 digits exactly; these have up to 46.
DISPLAYED = decimals(max_digits=40, max_places=6)
SUFFIXES = {"zh": {"亿元": 8, "万元": 4, "元": 0}, "en": {" billion yuan": 9, " million yuan": 6, " yuan": 0}}


@given(DISPLAYED, st.integers(0, 6), st.booleans(), st.sampled_from(["zh", "en"]))
@example(Decimal("99999999.995"), 2, True, "zh")  # rounds to 1亿元, not 10000万元
@example(Decimal("-0.004"), 2, True, "en")  # rounds to 0: printed without a sign
@example(Decimal("999999.996"), 2, True, "en")
def test_money_is_displayed_in_the_largest_unit_it_reaches_and_reads_back(yuan, places, trim, lang):
    text = (units.format_money_zh if lang == "zh" else units.format_money_en)(yuan, places, trim)
    suffix = next(suffix for suffix in SUFFIXES[lang] if text.endswith(suffix))
    exponent = SUFFIXES[lang][suffix]
    parsed = units.parse_number(text)
    amount = parsed.value
    assert units.to_base(amount, parsed.unit)[0] == amount.scaleb(exponent)  # it reads back as what it means
    # Rounded half up once, in that unit: at most half of the last printed place away.
    assert abs(amount.scaleb(exponent) - yuan) <= Decimal(5).scaleb(exponent - places - 1)
    larger = [e for e in SUFFIXES[lang].values() if e > exponent]
    if larger:  # never 10000万元 or 1,000 million yuan: rounding that reaches the next unit uses it
        assert abs(amount) < 10 ** (min(larger) - exponent)
    if exponent > 0:
        assert abs(amount) >= 1
    if amount == 0:
        assert not text.startswith("-")
    if not trim:
        assert len(text.removesuffix(suffix).partition(".")[2]) == places


# --- bulletin numbers ---------------------------------------------------------------------

#: Figures a bulletin meets, with room: below 10^18 (a quintillion yuan), up to 6 decimals.
BULLETIN_FIGURES = st.one_of(decimals(max_digits=17, max_places=6), st.integers(-(10**17), 10**17))
RATES = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("1000"), places=4)


@st.composite
def number_calls(draw):
    """Valid arguments of language.number: a value, its language and kind, and what the kind allows."""
    lang = draw(st.sampled_from(language.LANGUAGES))
    kind = draw(st.sampled_from([None, *language.KINDS]))
    options = {}
    if kind in language.COUNTERS:
        value = draw(st.one_of(st.integers(-(10**17), 10**17), st.integers(-(10**17), 10**17).map(Decimal)))
    else:
        value = draw(BULLETIN_FIGURES)
        options["precision"] = draw(st.one_of(st.none(), st.integers(0, 6)))
    if kind == "money":
        options["usd_rate"] = draw(st.one_of(st.none(), RATES))
    if lang == "en" and (kind is None or kind in language.COUNTERS) and draw(st.booleans()):
        value = draw(st.integers(0, 99))
        options = {"sentence_start": True}
    return value, lang, kind, options


@given(number_calls())
@example((Decimal("-0.0004"), "en", "percent", {"precision": 2}))
@example((Decimal("13.5e9"), "en", "money", {"usd_rate": Decimal("7.26")}))
def test_a_valid_figure_is_always_written(call):
    value, lang, kind, options = call
    text = language.number(value, language=lang, kind=kind, **options)
    assert text and text.strip() == text
    assert not re.match(r"-\$?0(\.0+)?(?![\d.])", text)  # no "-0": a figure rounded to zero has no sign
    if options.get("sentence_start"):
        assert text[0].isupper() and not any(character.isdigit() for character in text)


@given(number_calls())
def test_a_missing_figure_is_a_language_error_for_every_kind(call):
    _, lang, kind, options = call
    with pytest.raises(language.LanguageError):
        language.number(None, language=lang, kind=kind, **options)


@given(number_calls())
def test_a_float_is_refused_since_it_has_lost_the_exact_value(call):
    value, lang, kind, options = call
    with pytest.raises(TypeError):
        language.number(float(value), language=lang, kind=kind, **options)


@given(BULLETIN_FIGURES, st.sampled_from(language.LANGUAGES), st.integers(0, 6), st.one_of(st.none(), RATES))
def test_money_in_a_sentence_is_the_displayed_money(yuan, lang, places, rate):
    text = language.money(yuan, language=lang, places=places, usd_rate=rate)
    display = units.format_money_en if lang == "en" else units.format_money_zh
    assert text.startswith(display(Decimal(yuan), places))


@given(st.integers(28, 60), st.integers(0, 6), st.sampled_from(language.LANGUAGES))
def test_a_figure_beyond_28_digits_is_written(digits, places, lang):
    """Found by the number property: kechuang.indicators.display.rounded quantized in the default
    28-digit decimal context, so 10**27 to 2 places raised decimal.InvalidOperation."""
    figure = Decimal("9" * digits + ".5")  # to a whole number, half up: 10**digits, a carry into one digit more
    text = language.number(figure, language=lang, precision=places)
    assert Decimal(text.replace(",", "")) == (figure if places else Decimal(10) ** digits)


# --- Unified Social Credit Code: our own implementation of domain-rules.md §4 --------------

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters, values 0-30: no I, O, Z, S, V
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 over positions 9-16


def own_check_character(first17: str) -> str:
    """§4: S = Σ value(c_i) × W_i; C18 = 31 − (S mod 31), 31 becoming 0."""
    total = sum(ALPHABET.index(character) * weight for character, weight in zip(first17, WEIGHTS, strict=True))
    c18 = 31 - total % 31
    return ALPHABET[0 if c18 == 31 else c18]


def own_organisation_check(identifier8: str) -> str:
    """§4, GB 11714: digits 0-9, A=10 … Z=35 over the full alphabet; c = 11 − (sum mod 11), 10 → X, 11 → 0."""
    total = sum((int(character) if character.isdigit() else string.ascii_uppercase.index(character) + 10) * weight
                for character, weight in zip(identifier8, ORGANISATION_WEIGHTS, strict=True))
    c = 11 - total % 11
    return {10: "X", 11: "0"}.get(c, str(c))


DIGITS8 = st.text("0123456789", min_size=8, max_size=8)
IDENTIFIERS = st.text(ALPHABET, min_size=8, max_size=8)
BODIES = st.builds(lambda head, identifier, last: head + identifier + last, DIGITS8, IDENTIFIERS, st.sampled_from(ALPHABET))
#: First 17 characters whose position 17 is the right GB 11714 check character.
SOUND_BODIES = st.builds(lambda head, identifier: head + identifier + own_organisation_check(identifier),
                         DIGITS8, IDENTIFIERS)


def test_the_weights_are_powers_of_three_mod_31_and_the_worked_examples_hold():
    assert WEIGHTS == tuple(pow(3, i, 31) for i in range(17))
    for code in ("91512081MA62K0260E", "91110108551385082Q", "91110000600037341L", "91430111MA4L41YT1U",
                 "91320612000000000B", "911101120000000000"):
        assert own_check_character(code[:17]) == code[17]
        assert own_organisation_check(code[8:16]) == code[16]
        assert uscc.check(code).valid and stdnum_uscc.is_valid(code)
    assert own_check_character("91350203M0001QAY9") == "9"  # §4: the code that fails
    assert uscc.check("91350203M0001QAY9B").checksum_only


@given(BODIES)
def test_kechuang_stdnum_and_our_formula_compute_the_same_check_character(body):
    assert uscc.check_char(body) == stdnum_uscc.calc_check_digit(body) == own_check_character(body)


@given(SOUND_BODIES)
def test_the_right_check_character_is_accepted_and_every_other_refused(body):
    right = own_check_character(body)
    for character in ALPHABET:
        outcome = uscc.check(body + character)
        assert outcome.valid == (character == right) == stdnum_uscc.is_valid(body + character)
        if character != right:
            assert outcome.checksum_only and repr(right) in outcome.error


@given(BODIES)
def test_position_17_is_checked_by_kechuang_and_not_by_stdnum(body):
    """A recorded disagreement, by design: stdnum checks only the mod-31 character."""
    code = body + own_check_character(body)
    assert stdnum_uscc.is_valid(code)
    organisation_check_holds = body[16] == own_organisation_check(body[8:16])
    assert uscc.check(code).valid == organisation_check_holds
    if not organisation_check_holds:
        assert uscc.check(code).checksum_only and "position 17" in uscc.check(code).error


@given(SOUND_BODIES, st.integers(0, 16), st.sampled_from(ALPHABET))
def test_any_single_changed_character_is_refused(body, position, character):
    code = body + own_check_character(body)
    changed = code[:position] + character + code[position + 1:]
    assume(changed != code)
    assert not uscc.check(changed).valid


@given(SOUND_BODIES, st.integers(0, 15))
def test_any_swap_of_neighbours_is_refused(body, position):
    code = body + own_check_character(body)
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    assume(swapped != code)
    assert not uscc.check(swapped).valid


@given(DIGITS8, IDENTIFIERS)
def test_a_made_code_is_valid_by_our_formula(prefix, identifier):
    code = uscc.make(prefix, identifier)
    assert code[16] == own_organisation_check(identifier) and code[17] == own_check_character(code[:17])
    assert uscc.check(code).valid


@given(SOUND_BODIES, st.data())
def test_spaces_hyphens_and_lower_case_are_normalised(body, data):
    code = body + own_check_character(body)
    written = "".join(character.lower() if data.draw(st.booleans()) else character for character in code)
    cut = data.draw(st.integers(1, 17))
    written = written[:cut] + data.draw(st.sampled_from([" ", "-", "  "])) + written[cut:]
    outcome = uscc.check(f" {written} ")
    assert outcome.valid and outcome.code == code


@given(st.one_of(st.text(max_size=24), st.text(ALPHABET + "IOZSV a-", max_size=20), st.none()))
def test_any_text_gets_a_verdict_and_never_an_exception(text):
    outcome = uscc.check(text)
    assert outcome.valid == (not outcome.error)
    if outcome.valid:
        # Checked against the independent formula: stdnum refuses the letter authority codes (A, N, Y).
        assert len(outcome.code) == 18 and outcome.code[17] == own_check_character(outcome.code[:17])


@pytest.mark.parametrize("authority", ["A1", "N2", "Y1"])
def test_a_letter_authority_code_is_accepted(authority):
    """Found by the property drill: stdnum wants positions 1-8 to be digits, but GB 32100's
    authority codes A (军队), N (农业) and Y (其他) are letters (domain-rules.md §4)."""
    body = authority + "320612" + "MA1XU4B0"
    body += own_organisation_check(body[8:16])
    code = body + own_check_character(body)
    assert uscc.check(code).valid

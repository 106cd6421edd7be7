"""Exchange rates and the way values are written."""

import datetime as dt
from decimal import Decimal

import pytest

from kechuang.indicators import display
from kechuang.indicators.models import Indicator
from kechuang.indicators.services import IndicatorError, in_currency, rate_on, record_rate
from kechuang.registry.services import save_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(db):
    return save_source("article", title="Tongzhou makes great strides in innovation")[0]


def test_the_seed_articles_13_5_billion_yuan_is_1_86_billion_dollars_at_its_rate(article):
    record_rate("usd", dt.date(2023, 9, 4), "7.26", "article")
    amount, rate = in_currency(Decimal(13_500_000_000), "USD", dt.date(2023, 9, 4))
    assert amount == Decimal("1859504132.23")
    assert (rate.date, rate.source.key) == (dt.date(2023, 9, 4), "article")
    assert display.text(Indicator(unit_kind="money", unit="yuan", precision=2), Decimal(13_500_000_000), "en") \
        == "13.5 billion yuan"


def test_a_conversion_uses_the_latest_rate_on_or_before_the_date_and_never_a_later_one(article):
    record_rate("USD", dt.date(2023, 9, 1), "7.20", article)
    record_rate("USD", dt.date(2023, 9, 8), "7.30", article)
    assert rate_on("USD", dt.date(2023, 9, 4)).rate == Decimal("7.20")
    with pytest.raises(IndicatorError, match="no USD rate on or before 2023-08-31"):
        in_currency(Decimal(1), "USD", dt.date(2023, 8, 31))


@pytest.mark.parametrize(("currency", "rate", "field"), [("US", "7", "currency"), ("CNY", "1", "currency"),
                                                         ("USD", "0", "rate"), ("USD", "x", "rate")])
def test_bad_rates_are_refused(article, currency, rate, field):
    with pytest.raises(IndicatorError) as refused:
        record_rate(currency, dt.date(2023, 9, 4), rate, article)
    assert refused.value.field == field


@pytest.mark.parametrize(("unit_kind", "precision", "value", "zh", "en"), [
    ("percent", 1, Decimal("55.96"), "56.0%", "56.0%"),
    ("points", 1, Decimal("1.25"), "1.3个百分点", "1.3 percentage points"),
    ("count", 0, Decimal(74), "74个", "74"),
    ("money", 2, Decimal(13_500_000_000), "135亿元", "13.5 billion yuan"),
    ("money", 2, None, "—", "—"),
])
def test_values_are_written_in_their_unit(unit_kind, precision, value, zh, en):
    indicator = Indicator(unit_kind=unit_kind, unit="个" if unit_kind == "count" else "%", precision=precision)
    assert display.text(indicator, value, "zh") == zh
    assert display.text(indicator, value, "en") == en


def test_money_in_a_chosen_unit():
    indicator = Indicator(unit_kind="money", unit="yuan", precision=2)
    assert display.text(indicator, Decimal(13_500_000_000), "zh", money_unit="万元") == "1350000.00万元"
    assert display.money_in(Decimal(13_500_000_000), "亿元") == 135

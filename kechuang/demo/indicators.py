"""The demo's exchange rate: the seed article writes "13.5 billion yuan ($1.86 billion)" on
2023-09-04, which implies about 7.26 yuan per US dollar that day. The rate is recorded with
the article as its source, so a conversion in a bulletin names where its rate comes from."""

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from kechuang.indicators.services import record_rate

ARTICLE_SOURCE = "tongzhou-innovation-2023-09-04"
USD_RATE = Decimal("7.26")
RATE_DATE = dt.date(2023, 9, 4)


def demo_rates() -> Iterator[str]:
    rate = record_rate("USD", RATE_DATE, USD_RATE, ARTICLE_SOURCE)
    yield f"exchange rate: {rate} (implied by the seed article)"

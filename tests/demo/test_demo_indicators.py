"""The seed article's figures, computed by the indicators engine from the demo: 74 projects,
59 collaborations, a 56% high-tech share, and Hengli's 13.5 billion yuan ($1.86 billion)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from kechuang.demo.builder import build_demo
from kechuang.indicators import display, engine
from kechuang.indicators.services import in_currency
from kechuang.statistics.periods import Period

H1 = Period.parse("2023H1")
ARTICLE_DAY = dt.date(2023, 9, 4)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with transaction.atomic():
            log = list(build_demo())
            yield log
            transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def tongzhou(codes, period=H1, **options):
    return engine.evaluate(codes, engine.areas_for("320612"), [period], **options)


def test_74_projects_approved_and_59_collaborations_introduced_in_2023_h1(demo):
    table = tongzhou(["projects_approved", "collaborations_introduced"], public=True)
    assert table.get("projects_approved", "320612", H1).shown == 74
    assert table.get("collaborations_introduced", "320612", H1).shown == 59
    # Not "all rows": other periods and districts have their own.
    assert tongzhou(["projects_approved"], Period.parse("2023H2"), public=True).get(
        "projects_approved", "320612", Period.parse("2023H2")).shown == 11


def test_the_56_percent_is_the_official_figure_and_the_platform_estimate_agrees(demo):
    result = tongzhou(["high_tech_share"], public=False).get("high_tech_share", "320612", H1)
    assert (result.basis, display.text(result.indicator, result.value, "en")) == ("official", "56.0%")
    assert display.rounded(result.computed, 0) == 56 and not result.differs
    assert result.provisional  # the 2023 figures wait for the bureau's approval
    public = tongzhou(["high_tech_share"], public=True).get("high_tech_share", "320612", H1)
    assert (public.shown, public.basis) == (Decimal("56.0000"), "official")


def test_hengli_parks_2022_output_is_13_5_billion_yuan_or_1_86_billion_dollars(demo):
    period = Period.parse("2022")
    areas = engine.areas_for(within="hengli-nantong-industrial-park")
    result = engine.evaluate(["industrial_output"], areas, [period], public=True).get(
        "industrial_output", "hengli-nantong-industrial-park", period)
    assert (result.shown, result.basis) == (Decimal(13_500_000_000), "official")
    assert display.text(result.indicator, result.shown, "en") == "13.5 billion yuan"
    assert display.text(result.indicator, result.shown, "zh") == "135亿元"
    dollars, rate = in_currency(result.shown, "USD", ARTICLE_DAY)
    assert f"${dollars / 10**9:.2f} billion" == "$1.86 billion"
    assert rate.source.key == "tongzhou-innovation-2023-09-04"

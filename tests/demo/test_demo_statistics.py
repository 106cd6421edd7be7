"""The demo's statistics: the article's 56% and Hengli's 13.5 billion yuan, and synthetic
enterprise figures whose own high-tech share for 2023年1-6月 also rounds to 56%."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum

from kechuang.accounts.scoping import visible_to
from kechuang.demo.builder import build_demo
from kechuang.demo.statistics import DEMO_SOURCE, enterprise_figures, high_tech_share
from kechuang.registry.models import Organisation
from kechuang.statistics.models import DataLock, Observation
from kechuang.statistics.periods import Period, monthly_from_cumulative
from kechuang.statistics.services import StatisticsError, record_observation

ARTICLE = "tongzhou-innovation-2023-09-04"
H1_2023 = "2023-01..2023-06"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Build the demo once for this module, inside a transaction rolled back at the end."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            log = list(build_demo())
            yield log
            transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def above_size_in_tongzhou():
    return Organisation.objects.in_region("320612").filter(kind="enterprise", above_designated_size=True)


def enterprise_figures_of(metric, period=None):
    rows = Observation.objects.current().filter(metric__code=metric, organisation__in=above_size_in_tongzhou())
    return rows.filter(period=period) if period else rows


def total(metric, period):
    return enterprise_figures_of(metric, period).aggregate(total=Sum("value"))["total"]


def test_the_high_tech_share_of_above_size_enterprises_in_2023_h1_rounds_to_56_percent(demo):
    share = total("high-tech-output", H1_2023) / total("industrial-output", H1_2023) * 100
    assert round(share) == 56
    assert Decimal("55.7") <= share <= Decimal("56.3")


def test_the_range_1_to_6_months_is_the_first_half_year(demo):
    assert Period.parse(H1_2023).covers(Period.parse("2023H1"))
    assert Period.parse("2023H1").covers(Period.parse(H1_2023))
    assert Period.parse("2023年1-6月") == Period.parse(H1_2023)


def test_the_share_rose_from_2022(demo):
    h1_2022 = total("high-tech-output", "2022-01..2022-06") / total("industrial-output", "2022-01..2022-06")
    assert Decimal("0.50") < h1_2022 < Decimal("0.56")


def test_some_enterprises_are_all_high_tech_some_not_at_all_most_in_part(demo):
    whole = dict(enterprise_figures_of("industrial-output", H1_2023).values_list("organisation", "value"))
    part = dict(enterprise_figures_of("high-tech-output", H1_2023).values_list("organisation", "value"))
    assert whole.keys() == part.keys()
    entirely = sum(part[o] == whole[o] for o in whole)
    none = sum(part[o] == 0 for o in whole)
    assert entirely >= 5 and none >= 5 and len(whole) - entirely - none > len(whole) / 2


def test_high_tech_output_never_exceeds_industrial_output(demo):
    whole = Observation.objects.current().filter(
        organisation=OuterRef("organisation"), period=OuterRef("period"), kind=OuterRef("kind"),
        metric__code="industrial-output").values("value")[:1]
    parts = Observation.objects.current().filter(metric__code="high-tech-output", organisation__isnull=False)
    parts = parts.annotate(whole=Subquery(whole))
    assert parts.count() > 1000
    assert not parts.filter(whole__isnull=True).exists()
    assert not parts.filter(value__gt=Subquery(whole)).exists()


def test_cumulative_figures_never_fall_within_a_year(demo):
    series = defaultdict(dict)
    for organisation, metric, period, value in Observation.objects.current().filter(
            organisation__in=above_size_in_tongzhou(), metric__code__in=["industrial-output", "high-tech-output"]
    ).values_list("organisation", "metric__code", "period", "value"):
        series[organisation, metric][Period.parse(period)] = value
    assert len(series) == 2 * above_size_in_tongzhou().filter(synthetic=True).count()
    for key, values in series.items():
        assert sorted(p.code for p in values if p.year == 2023)[-1] == "2023-01..2023-08", key
        monthly = monthly_from_cumulative(values)
        assert len(monthly) == 12 + 8, key
        assert all(value >= 0 for value in monthly.values()), key


def test_no_actual_figure_is_after_the_article(demo):
    latest = Observation.objects.order_by("-period_end").values_list("period_end", flat=True).first()
    assert latest <= dt.date(2023, 8, 31)


def test_only_synthetic_above_size_enterprises_in_tongzhou_have_invented_figures(demo):
    invented = Observation.objects.filter(source__key=DEMO_SOURCE)
    subjects = Organisation.objects.filter(pk__in=invented.values("organisation"))
    expected = above_size_in_tongzhou().filter(synthetic=True)
    assert expected.count() >= 50
    assert set(subjects) == set(expected)
    assert not invented.filter(region__isnull=False).exists()
    # Real firms' statistics are confidential and unknown: the demo gives them none.
    assert not Observation.objects.filter(organisation__synthetic=False).exclude(source__key=ARTICLE).exists()
    assert not Observation.objects.filter(organisation__key="zhongkeyi-nantong").exists()


def test_invented_figures_are_stored_as_record_observation_stores_them(demo):
    invented = Observation.objects.filter(source__key=DEMO_SOURCE)
    # per enterprise: industrial and high-tech output for 12 + 8 months, and four 2022 figures
    assert invented.count() == above_size_in_tongzhou().filter(synthetic=True).count() * (2 * (12 + 8) + 4)
    assert not invented.filter(superseded_at__isnull=False).exists()
    assert set(invented.values_list("interface", flat=True)) == {"cli"}
    assert set(invented.values_list("kind", flat=True)) == {"actual"}
    assert set(invented.filter(period_start__year=2022).values_list("status", flat=True)) == {"approved"}
    assert set(invented.filter(period_start__year=2023).values_list("status", flat=True)) == {"submitted"}
    money = invented.exclude(metric__code="employees")
    assert set(money.values_list("entered_unit", flat=True)) == {"万元"}
    for entered, value in money.values_list("entered_value", "value"):
        assert value == entered * 10_000
    for row in invented.filter(metric__code="employees"):
        assert (row.entered_unit, row.entered_value) == ("persons", row.value)
    row = invented.get(organisation__key=invented.first().organisation.key, metric__code="industrial-output",
                       period="2022-01..2022-03")
    assert (row.period_start, row.period_end) == (dt.date(2022, 1, 1), dt.date(2022, 3, 31))
    source = row.source
    assert "synthetic" in source.title.lower() or "demo" in source.title.lower()


def test_yearly_figures_of_2022_are_plausible(demo):
    yearly = defaultdict(dict)
    for organisation, metric, value in Observation.objects.filter(source__key=DEMO_SOURCE, period="2022").values_list(
            "organisation", "metric__code", "value"):
        yearly[organisation][metric] = value
    for organisation, figures in yearly.items():
        output = Observation.objects.get(organisation=organisation, metric__code="industrial-output",
                                         period="2022-01..2022-12").value
        assert 10**7 <= output <= 5 * 10**9
        revenue = figures["operating-revenue"]
        assert 20_000_000 <= figures["main-business-revenue"] <= revenue  # 规上: ≥ 2000万元 (§6.2)
        assert Decimal("0.0099") <= figures["rd-expenditure"] / revenue <= Decimal("0.0601")
        assert figures["employees"] >= 20


def test_2022_is_approved_and_locked_for_tongzhou(demo):
    assert DataLock.objects.filter(region__code="320612", period="2022", unlocked_at__isnull=True).exists()
    enterprise = above_size_in_tongzhou().filter(synthetic=True).first()
    with pytest.raises(StatisticsError, match="locked"):
        record_observation(enterprise, "industrial-output", "2022-01..2022-12", 1, unit="万元")


def test_the_official_56_percent_is_published_with_the_article_as_its_source(demo):
    row = Observation.objects.current().get(region__code="320612", metric__code="high-tech-output-share")
    assert (row.period, row.period_start, row.period_end) == ("2023H1", dt.date(2023, 1, 1), dt.date(2023, 6, 30))
    assert (row.value, row.entered_unit, row.kind, row.status) == (56, "%", "actual", "published")
    assert row.source.key == ARTICLE


def test_hengli_park_generated_13_5_billion_yuan_in_2022_according_to_the_article(demo):
    row = Observation.objects.current().get(organisation__key="hengli-nantong-industrial-park")
    assert (row.metric.code, row.period, row.kind, row.status) == ("industrial-output", "2022", "actual", "published")
    assert row.value == 13_500_000_000 and (row.entered_value, row.entered_unit) == (135, "亿元")
    assert row.source.key == ARTICLE


def test_the_public_sees_the_official_share_and_no_enterprise_figure(demo):
    public = visible_to(Observation.objects.all(), AnonymousUser())
    assert list(public.values_list("region__code", "metric__code", "period", "value")) == [
        ("320612", "high-tech-output-share", "2023H1", 56)]


def test_building_again_adds_no_figure(demo):
    before = Observation.objects.count(), DataLock.objects.count()
    log = list(build_demo())
    assert (Observation.objects.count(), DataLock.objects.count()) == before
    assert any("there already" in line for line in log)


def test_the_invented_figures_are_the_same_every_time():
    enterprises = [(f"firm-{n}", n % 2 == 0) for n in range(40)]
    figures = enterprise_figures(enterprises)
    assert figures == enterprise_figures(enterprises)
    assert round(high_tech_share(figures, Period.parse(H1_2023)) * 100) == 56

"""The demo's statistics (统计数据): what the statistics bureau would hold for Tongzhou, so
the indicators have figures to compute with.

Two figures are real. Both come from the seed article, which is their source:
- the district's official high-tech share of industrial output for 2023H1, 56%
  (高新技术产业产值占规上工业总产值比重, domain-rules.md §6.3), published;
- the 2022 output of Hengli (Nantong) Industrial Park, 13.5 billion yuan, published.

All the others are invented and labelled as such. Their source is `demo-statistics`, and
they belong only to synthetic "(demo)" enterprises above designated size in Tongzhou.
Real firms (Zhongkeyi) get no figures: an enterprise's statistics are confidential
(统计法 art. 39) and unknown to us, so any number would pass an invention off as a fact.
The invented figures are chosen so that the platform's own estimate for 2023年1-6月 (上半年,
§6.1) also rounds to 56%. That estimate is the sum of high-tech output over the sum of
industrial output of those enterprises.

Output is reported year to date (1-N月累计, §6.1), one figure per month: 2023-01..2023-05
is 1-5月. 2022 runs to December. It is approved and locked, as the bureau would have done
by now. 2023 stops at August, the last month that ended before the article (2023-09-04),
and is submitted, waiting for the bureau. Revenue, R&D expenditure and employees are
given for the year 2022.
"""

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kechuang.audit.context import current as current_audit
from kechuang.registry.models import Organisation, OrganisationKind, Region, Source
from kechuang.statistics.models import DataLock, Metric, Observation, ObservationKind, ObservationStatus
from kechuang.statistics.periods import Period
from kechuang.statistics.services import load_catalogue, lock_region_period, record_observation
from kechuang.statistics.units import to_base

from .synthetic import HIGH_TECH_SECTORS

SEED = 20230904
DEMO_SOURCE = "demo-statistics"
ARTICLE_SOURCE = "tongzhou-innovation-2023-09-04"
HENGLI_KEY = "hengli-nantong-industrial-park"

#: The article's figure: "the high-tech sector accounted for 56 percent of Tongzhou's total
#: industrial output" in the first half of 2023.
OFFICIAL_SHARE = Decimal(56)
OFFICIAL_SHARE_PERIOD = Period.of_half(2023, 1)
#: The same half year as the statistics bureau's tables write it, 1-6月 (§6.1: 上半年 = 1-6月).
ESTIMATE_PERIOD = Period.of_months(2023, 1, 6)
#: "Last year, the park generated 13.5 billion yuan ($1.86 billion) in output."
HENGLI_OUTPUT = (Decimal(135), "亿元")
HENGLI_PERIOD = Period.of_year(2022)

#: Year → last month reported. The article is dated 2023-09-04; September 2023 had not ended.
MONTHS = {2022: 12, 2023: 8}
LOCKED_YEAR = 2022
YEARLY_PERIOD = Period.of_year(2022)

#: Statistical tables give money in 万元, with one decimal (§6.1).
TABLE_UNIT = "万元"
TENTH = Decimal("0.1")
#: Share of each month in a year's industrial output: January and February are low
#: (Spring Festival), December high (year-end push).
SEASON = (0.075, 0.065, 0.085, 0.082, 0.084, 0.088, 0.081, 0.082, 0.088, 0.083, 0.089, 0.098)
#: The 2000万元 of main-business revenue that makes an enterprise above designated size (§6.2).
ABOVE_SIZE_REVENUE = Decimal(2000)

HIGH_TECH_CODES = [code for code, _, _ in HIGH_TECH_SECTORS]


@dataclass(frozen=True)
class Figure:
    """One invented figure of an enterprise, as a table would give it."""

    organisation: str  # key
    metric: str  # code
    period: Period
    value: Decimal
    unit: str  # 万元, or "" for a plain count in the metric's base unit


@dataclass
class _Plan:
    """An enterprise's random draws, made in one fixed order before any calibration."""

    key: str
    annual_output: float  # 2022, in 万元
    growth: float  # 2023 over 2022
    seasons: dict[int, list[float]]
    category: str  # all, none or part of its output is high-tech
    fraction: float  # high-tech share of its output in 2023 (calibrated for "part")
    drift: float  # the 2022 share is this fraction of the 2023 one ("part" only)
    revenue_ratio: float
    main_business_ratio: float
    rd_rate: float
    output_per_employee: float


def enterprise_figures(enterprises: Sequence[tuple[str, bool]], seed: int = SEED,
                       target: Decimal = OFFICIAL_SHARE / 100) -> list[Figure]:
    """The invented figures of `enterprises`, given as (key, whether its sector is in the
    Jiangsu high-tech catalogue), in the order given. The same input gives the same figures.

    Σ high-tech output / Σ industrial output over all of them for 2023年1-6月 is `target`,
    give or take the rounding of each figure to 0.1万元.
    """
    rng = random.Random(seed)
    plans = [_plan(rng, key, high_tech) for key, high_tech in enterprises]
    monthly = {plan.key: _monthly_output(plan) for plan in plans}
    _calibrate(plans, monthly, target)
    figures = []
    for plan in plans:
        figures += _output_figures(plan, monthly[plan.key])
        figures += _yearly_figures(plan)
    return figures


def _plan(rng: random.Random, key: str, high_tech: bool) -> _Plan:
    # Tens of millions to a few billion yuan a year (10**3.5 ≈ 3162万元 to 10**5.5 ≈ 31.6亿元).
    annual_output = 10 ** rng.uniform(3.5, 5.5)
    growth = rng.uniform(0.92, 1.18)
    seasons = {year: [weight * rng.uniform(0.94, 1.06) for weight in SEASON] for year in MONTHS}
    # A firm in a catalogue sector makes mostly catalogue products, sometimes only those; a
    # traditional one often none, sometimes a high-tech line.
    if high_tech:
        category = "all" if rng.random() < 0.3 else "part"
        fraction = rng.uniform(0.55, 0.95)
    else:
        category = "none" if rng.random() < 0.45 else "part"
        fraction = rng.uniform(0.05, 0.35)
    fraction = {"all": 1.0, "none": 0.0}.get(category, fraction)
    return _Plan(
        key=key, annual_output=annual_output, growth=growth, seasons=seasons, category=category,
        fraction=fraction, drift=rng.uniform(0.9, 1.0),
        revenue_ratio=rng.uniform(0.92, 1.12), main_business_ratio=rng.uniform(0.88, 0.99),
        # R&D expenditure 1–6% of revenue, higher in the catalogue sectors.
        rd_rate=rng.uniform(0.03, 0.06) if high_tech else rng.uniform(0.01, 0.03),
        output_per_employee=rng.uniform(90, 260),  # 万元 a year
    )


def _tenths(value: float | Decimal) -> Decimal:
    return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


def _monthly_output(plan: _Plan) -> dict[int, list[Decimal]]:
    """Single-month industrial output in 万元, by year."""
    months = {}
    for year, last in MONTHS.items():
        weights = plan.seasons[year]
        annual = plan.annual_output * (plan.growth if year == 2023 else 1.0)
        months[year] = [max(_tenths(annual * w / sum(weights)), TENTH) for w in weights[:last]]
    return months


def _calibrate(plans: list[_Plan], monthly: dict[str, dict[int, list[Decimal]]], target: Decimal) -> None:
    """Move the high-tech fraction of the "part" enterprises, all by the same rule, so that the
    2023年1-6月 share over all enterprises is `target`: towards 1 when it is too low, towards 0
    when too high. The rank of the firms by fraction stays as drawn."""
    output = {plan.key: float(sum(monthly[plan.key][2023][:ESTIMATE_PERIOD.last_month])) for plan in plans}
    total = sum(output.values())
    fixed = sum(output[p.key] for p in plans if p.category == "all")
    partial = [p for p in plans if p.category == "part"]
    high_tech = fixed + sum(p.fraction * output[p.key] for p in partial)
    wanted = float(target) * total
    if high_tech < wanted:
        room = sum((1 - p.fraction) * output[p.key] for p in partial)
        step = (wanted - high_tech) / room if room else float("inf")
        if step > 1:
            raise ValueError(f"these {len(plans)} enterprises cannot reach a high-tech share of {target:.1%}")
        for plan in partial:
            plan.fraction = min(1.0, plan.fraction + step * (1 - plan.fraction))
    else:
        room = high_tech - fixed
        step = (wanted - fixed) / room if room else -1.0
        if step < 0:
            raise ValueError(f"these {len(plans)} enterprises cannot come down to a high-tech share of {target:.1%}")
        for plan in partial:
            plan.fraction *= step


def _output_figures(plan: _Plan, monthly: dict[int, list[Decimal]]) -> list[Figure]:
    """Year-to-date industrial and high-tech output. Each month's high-tech output is at most
    its industrial output, so every cumulative part stays within its whole and no cumulative
    figure falls from one month to the next."""
    figures = []
    for year, months in monthly.items():
        fraction = Decimal(plan.fraction * (plan.drift if year == 2022 and plan.category == "part" else 1.0))
        output = high_tech = Decimal(0)
        for month, value in enumerate(months, start=1):
            period = Period.of_months(year, 1, month)
            output += value
            high_tech += min(_tenths(value * fraction), value)
            figures.append(Figure(plan.key, "industrial-output", period, output, TABLE_UNIT))
            figures.append(Figure(plan.key, "high-tech-output", period, high_tech, TABLE_UNIT))
    return figures


def _yearly_figures(plan: _Plan) -> list[Figure]:
    output = plan.annual_output
    revenue = _tenths(output * plan.revenue_ratio)
    # Above designated size means main-business revenue of 2000万元 or more (§6.2).
    main_business = min(max(_tenths(revenue * Decimal(plan.main_business_ratio)), ABOVE_SIZE_REVENUE), revenue)
    return [
        Figure(plan.key, "operating-revenue", YEARLY_PERIOD, revenue, TABLE_UNIT),
        Figure(plan.key, "main-business-revenue", YEARLY_PERIOD, main_business, TABLE_UNIT),
        Figure(plan.key, "rd-expenditure", YEARLY_PERIOD, _tenths(revenue * Decimal(plan.rd_rate)), TABLE_UNIT),
        Figure(plan.key, "employees", YEARLY_PERIOD, Decimal(max(20, round(output / plan.output_per_employee))), ""),
    ]


def high_tech_share(figures: Sequence[Figure], period: Period) -> Decimal:
    """Σ high-tech output / Σ industrial output of `figures` for `period`, as a fraction."""
    sums = {"industrial-output": Decimal(0), "high-tech-output": Decimal(0)}
    for figure in figures:
        if figure.period == period and figure.metric in sums:
            sums[figure.metric] += figure.value
    return sums["high-tech-output"] / sums["industrial-output"]


# --- writing them ------------------------------------------------------------------------


def demo_statistics(region_code: str) -> Iterator[str]:
    """The article's two figures and the invented enterprise figures of the region, once:
    what is already there is left alone, so a second `kechuang demo` adds nothing."""
    region = Region.objects.get(code=region_code)
    metrics = _metrics()
    article = Source.objects.get(key=ARTICLE_SOURCE)
    yield _article_figure(region, metrics["high-tech-output-share"], OFFICIAL_SHARE_PERIOD, (OFFICIAL_SHARE, "%"),
                          article)
    # Before the lock of 2022 below, which would refuse it.
    park = Organisation.objects.get(key=HENGLI_KEY)
    yield _article_figure(park, metrics["industrial-output"], HENGLI_PERIOD, HENGLI_OUTPUT, article)
    yield from _enterprise_observations(region, metrics)


def _metrics() -> dict[str, Metric]:
    codes = ["industrial-output", "high-tech-output", "operating-revenue", "main-business-revenue",
             "rd-expenditure", "employees", "high-tech-output-share"]
    metrics = Metric.objects.in_bulk(codes, field_name="code")
    if len(metrics) < len(codes):  # a database migrated before the catalogue shipped them
        load_catalogue()
        metrics = Metric.objects.in_bulk(codes, field_name="code")
    return metrics


def _article_figure(subject: Region | Organisation, metric: Metric, period: Period,
                    value: tuple[Decimal, str], article: Source) -> str:
    field = "region" if isinstance(subject, Region) else "organisation"
    label = f"{metric.code} of {subject} for {period.label()}"
    if Observation.objects.current().filter(**{field: subject}, metric=metric, period=period.code,
                                            kind=ObservationKind.ACTUAL).exists():
        return f"statistics from the article: {label} is there already"
    amount, unit = value
    record_observation(subject, metric, period, amount, unit=unit, source=article,
                       status=ObservationStatus.PUBLISHED)
    return f"statistics from the article: {label} = {amount}{unit}, published"


def demo_source() -> Source:
    source, _ = Source.objects.get_or_create(key=DEMO_SOURCE, defaults={
        "title": "Synthetic demo figures (not real statistics) 演示用虚构数据",
        "publisher": "kechuang demo",
        "note": "Invented by kechuang/demo/statistics.py for the synthetic '(demo)' enterprises, so the "
                "indicators have figures to compute with. No real enterprise's figures.",
    })
    return source


def _enterprise_observations(region: Region, metrics: dict[str, Metric]) -> Iterator[str]:
    source = demo_source()
    if Observation.objects.filter(source=source).exists():
        yield "synthetic statistics: the synthetic enterprises' figures are there already"
        return
    enterprises = (Organisation.objects.in_region(region)
                   .filter(kind=OrganisationKind.ENTERPRISE, above_designated_size=True, synthetic=True)
                   .order_by("key"))
    ids = dict(enterprises.values_list("key", "pk"))
    if not ids:
        yield f"synthetic statistics: no synthetic enterprise above designated size in {region.name_zh}"
        return
    high_tech = set(enterprises.filter(sectors__code__in=HIGH_TECH_CODES).values_list("key", flat=True))
    figures = enterprise_figures([(key, key in high_tech) for key in ids])
    locked = DataLock.objects.filter(region=region, period=str(LOCKED_YEAR), unlocked_at__isnull=True).exists()
    interface = current_audit().interface
    rows = []
    # Built as record_observation builds them (value converted exactly, the entry kept as
    # given), but inserted in bulk: the demo is built on every `make run` and in the tests.
    for figure in figures:
        metric = metrics[figure.metric]
        value = to_base(figure.value, figure.unit)[0] if figure.unit else figure.value
        # A figure of a locked year can only have been approved already.
        status = (ObservationStatus.APPROVED if locked and figure.period.year == LOCKED_YEAR
                  else ObservationStatus.SUBMITTED)
        rows.append(Observation(
            organisation_id=ids[figure.organisation], metric=metric, period=figure.period.code,
            period_start=figure.period.start, period_end=figure.period.end, kind=ObservationKind.ACTUAL,
            value=value, entered_value=figure.value, entered_unit=figure.unit or metric.base_unit,
            status=status, source=source, interface=interface,
        ))
    Observation.objects.bulk_create(rows, batch_size=500)
    share = high_tech_share(figures, ESTIMATE_PERIOD)
    yield (f"synthetic statistics: {len(rows)} figures of {len(ids)} synthetic enterprises above designated size; "
           f"their high-tech share for {ESTIMATE_PERIOD.label()} is {share:.1%}")
    if not locked:
        # The bureau approves and locks a year once its figures are final. A later demo step
        # that records a 2022 figure in Tongzhou must come before this one.
        _, approved = lock_region_period(region, Period.of_year(LOCKED_YEAR))
        yield f"synthetic statistics: {LOCKED_YEAR} approved ({approved} figures) and locked for {region.name_zh}"

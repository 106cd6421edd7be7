"""Indicators (指标): the definitions of every figure a bulletin states, as data.

A *measure* is one aggregate over the records of a region (or a park or zone) in a
period: the sum, count, minimum or maximum of a metric's observations of the
enterprises located there, or a count or sum over registry events (projects approved,
collaborations introduced, enterprises arrived), or a stock on the period's last day.
An *indicator* is a formula over measures (and other indicators): a share in percent,
a ratio, a difference, growth on the same period a year earlier.

The engine (engine.py) evaluates them; the event and stock kinds it knows are
registered in sources.py, so a new kind (designations granted) is a registration.
"""

from django.db import models
from django.db.models import Q

from kechuang.audit import History
from kechuang.registry.models import Source
from kechuang.statistics.models import Metric


class MeasureKind(models.TextChoices):
    OBSERVATIONS = "observations", "observations: an aggregate of a metric's figures 统计数据汇总"
    EVENTS = "events", "events: records whose date falls in the period 期间发生"
    STOCK = "stock", "stock: records in force on the period's last day 期末存量"


class Aggregate(models.TextChoices):
    SUM = "sum", "sum 合计"
    COUNT = "count", "count 计数"
    MIN = "min", "minimum 最小值"
    MAX = "max", "maximum 最大值"


class Measure(models.Model):
    code = models.SlugField(max_length=80, unique=True)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    description_zh = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    kind = models.CharField(max_length=12, choices=MeasureKind.choices)
    aggregate = models.CharField(max_length=5, choices=Aggregate.choices, default=Aggregate.SUM)
    metric = models.ForeignKey(Metric, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="Observations: the metric aggregated.")
    source = models.CharField(max_length=80, blank=True,
                              help_text="Events and stocks: the registered source (sources.py), e.g. projects-approved.")
    subjects = models.JSONField(default=dict, blank=True,
                                help_text='Which subjects count, e.g. {"above_designated_size": true, '
                                          '"kinds": ["enterprise"], "sectors": ["semiconductor-equipment"]}')
    parameters = models.JSONField(default=dict, blank=True, help_text='The source\'s parameters, e.g. {"category": "普通科创项目"}')
    history = History()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind=MeasureKind.OBSERVATIONS) & Q(metric__isnull=False) & Q(source=""))
                | (~Q(kind=MeasureKind.OBSERVATIONS) & Q(metric__isnull=True) & ~Q(source="")),
                name="measure_reads_a_metric_or_a_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name_en})"


class UnitKind(models.TextChoices):
    MONEY = "money", "money (yuan) 金额"
    COUNT = "count", "count 个数"
    PERCENT = "percent", "percent 百分比"
    POINTS = "points", "percentage points 百分点"
    RATIO = "ratio", "ratio 比值"
    QUANTITY = "quantity", "quantity 实物量"


class Indicator(models.Model):
    code = models.SlugField(max_length=80, unique=True)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    description_zh = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    formula = models.CharField(max_length=500, help_text="Over measure and indicator codes: see formulas.py, "
                                                         "e.g. share(high-tech-output-above-size, industrial-output-above-size)")
    unit_kind = models.CharField(max_length=10, choices=UnitKind.choices)
    unit = models.CharField(max_length=30, help_text="yuan, %, 个, persons …")
    precision = models.PositiveSmallIntegerField(default=0, help_text="Decimals shown (in the display unit).")
    official_metric = models.ForeignKey(
        Metric, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="A region's (or park's) own observation of this metric is the official figure; "
                  "it is shown beside the computed one and published by default.")
    tolerance = models.DecimalField(
        max_digits=12, decimal_places=4, default=0,
        help_text="Official and computed figures further apart than this (in the indicator's unit, "
                  "before display rounding) are flagged.")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="Where the definition comes from.")
    history = History()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name_en})"


class ExchangeRate(models.Model):
    """A reference rate: `rate` yuan for one unit of `currency` on `date`, from `source`."""

    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. USD")
    date = models.DateField()
    rate = models.DecimalField(max_digits=14, decimal_places=6, help_text="yuan per one unit of the currency")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    history = History()

    class Meta:
        ordering = ["currency", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="exchange_rate_once_a_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} CNY ({self.date})"


class Generation(models.Model):
    """A counter that goes up after every committed write to the data the indicators read
    (kechuang.indicators.cache): a computed table is reused while it has not moved."""

    DATA = "data"

    name = models.CharField(max_length=20, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} generation {self.value}"

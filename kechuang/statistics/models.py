"""Statistics (统计数据): the metrics catalogue, observations and their approval, imports.

An observation is one figure: a subject (an enterprise or park, or a region), a metric,
a period (periods.py), a kind (actual, estimate, target) and a value, stored as a
Decimal in the metric's base unit (yuan, persons, items …) next to the value and unit
as entered (135 亿元). Observations are versioned in the table itself: a correction
adds a new row and closes the old one (`superseded_at`), so one current row exists per
(subject, metric, period, kind) and every earlier value stays, with who entered it,
when, through which interface and from which source or import. This in-table history
is the statistics' audit trail (a history table beside it would double the cost of a
million-row import); approvals, returns, locks and unlocks are recorded on the rows and
in `DataLock`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from kechuang.audit import History
from kechuang.audit.context import Interface
from kechuang.registry.models import Organisation, Region, Source


class UnitKind(models.TextChoices):
    MONEY = "money", "money 金额"
    COUNT = "count", "count 计数"
    PERCENT = "percent", "percent 百分比"
    QUANTITY = "quantity", "quantity with a unit 实物量"


class Aggregation(models.TextChoices):
    SUM = "sum", "sum: values of subjects add up"
    NONE = "none", "not additive (ratios, utilisation, shares)"


class SubjectKind(models.TextChoices):
    ENTERPRISE = "enterprise", "enterprise 企业"
    PARK = "park", "park or zone 园区"
    REGION = "region", "region 地区"


class Metric(models.Model):
    """A statistical indicator as collected (指标): what is measured, in which unit, of whom."""

    code = models.SlugField(max_length=60, unique=True)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    definition_zh = models.TextField(blank=True)
    definition_en = models.TextField(blank=True)
    unit_kind = models.CharField(max_length=10, choices=UnitKind.choices)
    base_unit = models.CharField(max_length=30, help_text="yuan, persons, items, %, units …")
    aggregation = models.CharField(max_length=4, choices=Aggregation.choices, default=Aggregation.SUM)
    subject_kinds = models.JSONField(default=list, help_text="of enterprise, park, region")
    confidential = models.BooleanField(
        default=True, help_text="Enterprise figures are protected by the Statistics Law (统计法 art. 39).")
    non_negative = models.BooleanField(default=True)
    part_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="parts",
                                help_text="A metric this one can never exceed (high-tech output ≤ total output).")
    required = models.BooleanField(
        default=False, help_text="Reported by every enterprise above designated size (completeness lists).")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    history = History()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=~Q(part_of=models.F("id")), name="metric_not_part_of_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.name_zh} {self.name_en}"


class ObservationKind(models.TextChoices):
    ACTUAL = "actual", "actual 实际"
    ESTIMATE = "estimate", "estimate 预计"
    TARGET = "target", "target 目标"


class ObservationStatus(models.TextChoices):
    DRAFT = "draft", "draft 草稿"
    SUBMITTED = "submitted", "submitted 已报送"
    RETURNED = "returned", "returned for correction 退回"
    APPROVED = "approved", "approved 已审核"
    PUBLISHED = "published", "published 已发布"


class ImportJob(models.Model):
    """One file imported (or checked with --dry-run): what, by whom, how it ended."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting"
        RUNNING = "running", "running"
        DONE = "done", "imported"
        CHECKED = "checked", "checked (dry run), nothing written"
        REFUSED = "refused", "refused: errors, nothing written"
        FAILED = "failed", "failed: nothing written"

    file_name = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    format = models.CharField(max_length=10, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    sheet = models.CharField(max_length=100, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0, help_text="progress while running")
    rows_written = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True, help_text="errors and warnings, each with row, column, value, reason")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    interface = models.CharField(max_length=10, choices=Interface.choices, default=Interface.CLI)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class ObservationQuerySet(models.QuerySet):
    def current(self):
        return self.filter(superseded_at__isnull=True)


class Observation(models.Model):
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="observations", help_text="An enterprise, park or zone.")
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="observations",
                               help_text="For a region's own (official) figure.")
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="observations")
    period = models.CharField(max_length=20, help_text="A period code: 2023, 2023H1, 2023Q3, 2023-07, 2023-01..2023-05")
    period_start = models.DateField()
    period_end = models.DateField()
    kind = models.CharField(max_length=8, choices=ObservationKind.choices, default=ObservationKind.ACTUAL)
    value = models.DecimalField(max_digits=24, decimal_places=4, help_text="In the metric's base unit.")
    entered_value = models.DecimalField(max_digits=24, decimal_places=4, null=True, blank=True)
    entered_unit = models.CharField(max_length=30, blank=True, help_text="万元, 亿元 … as the figure was given")
    status = models.CharField(max_length=10, choices=ObservationStatus.choices, default=ObservationStatus.DRAFT)
    comment = models.TextField(blank=True, help_text="The bureau's reason when it returns a figure.")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    import_job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    interface = models.CharField(max_length=10, choices=Interface.choices, default=Interface.CLI)
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True, help_text="Set when a correction replaced it.")

    objects = ObservationQuerySet.as_manager()

    class Meta:
        ordering = ["metric", "period_start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(organisation__isnull=False, region__isnull=True)
                | Q(organisation__isnull=True, region__isnull=False),
                name="observation_one_subject",
            ),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="observation_period_order"),
            models.UniqueConstraint(fields=["organisation", "metric", "period", "kind"],
                                    condition=Q(superseded_at__isnull=True, organisation__isnull=False),
                                    name="observation_one_current_per_organisation"),
            models.UniqueConstraint(fields=["region", "metric", "period", "kind"],
                                    condition=Q(superseded_at__isnull=True, region__isnull=False),
                                    name="observation_one_current_per_region"),
        ]
        indexes = [
            # The indicators' question: one metric, one period, the current actual values.
            models.Index(fields=["metric", "period", "kind"], condition=Q(superseded_at__isnull=True),
                         name="observation_current_by_metric"),
            # The bureau's approval queue: the few figures awaiting approval among millions
            # approved. Partial on exactly that status, so that no other query (the indicators'
            # ask for several statuses) is tempted to walk it.
            models.Index(fields=["organisation"], condition=Q(superseded_at__isnull=True, status="submitted"),
                         name="observation_awaiting_approval"),
        ]

    @property
    def subject(self) -> Organisation | Region:
        return self.organisation or self.region

    def __str__(self) -> str:
        return f"{self.subject} {self.metric.code} {self.period} = {self.value}"


class DataLock(models.Model):
    """The bureau approved a region's figures for a period (数据审核锁定): those observations
    are locked; a correction needs an unlock by a bureau admin, with a reason."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=20)
    period_start = models.DateField()
    period_end = models.DateField()
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    locked_at = models.DateTimeField(auto_now_add=True)
    unlocked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.TextField(blank=True)
    history = History()

    class Meta:
        ordering = ["-locked_at"]
        constraints = [
            models.UniqueConstraint(fields=["region", "period"], condition=Q(unlocked_at__isnull=True),
                                    name="datalock_one_open_per_region_period"),
            models.CheckConstraint(condition=Q(unlocked_at__isnull=True) | ~Q(unlock_reason=""),
                                   name="datalock_unlock_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.period}"

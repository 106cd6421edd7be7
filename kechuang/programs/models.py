"""Programmes (科技计划): calls for applications, projects and their parties, expert
review, and the approval workflow; academia–industry collaborations are projects too.

A project passes through the states of `services.LIFECYCLE` (a table read by
kechuang/workflows.py); every transition it takes is a row of `ProjectTransition`, with
who and when, so "approved in 2023H1" is a question about the date of its approval
transition. Rows are written only by `services.py`; the audit trail records every change.

After approval a project is delivered (`delivery.py`): funding in tranches, progress
reports on a schedule, outcomes; and it carries its files (`attachments.py`).
"""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from kechuang.audit import History
from kechuang.registry.models import Organisation, Region, Source


class Call(models.Model):
    """A call for applications (申报通知) opened by the bureau for a region."""

    key = models.SlugField(max_length=100, unique=True)
    programme_zh = models.CharField(max_length=200, help_text="e.g. 通州区科技创新项目")
    programme_en = models.CharField(max_length=200, blank=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+",
                               help_text="Whose enterprises may apply, and whose bureau runs it.")
    categories = models.JSONField(default=list, help_text='e.g. ["普通科创项目", "高成长型科创项目"]')
    opens = models.DateTimeField()
    closes = models.DateTimeField(help_text="Submissions after this moment are refused.")
    required_documents = models.JSONField(default=list, blank=True)
    criteria = models.JSONField(default=list, blank=True,
                                help_text='Review criteria with their maximum score: [{"name": …, "max": 40}]')
    budget = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True, help_text="yuan")
    places = models.PositiveIntegerField(null=True, blank=True)
    review_days = models.PositiveIntegerField(default=14, help_text="Reviews are due this many days after assignment.")
    synthetic = models.BooleanField(default=False)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = History()

    class Meta:
        ordering = ["-opens"]
        constraints = [models.CheckConstraint(condition=Q(closes__gt=models.F("opens")), name="call_closes_after_opens")]

    def __str__(self) -> str:
        return self.programme_zh


class ProjectKind(models.TextChoices):
    INNOVATION = "innovation", "sci-tech innovation project 科创项目"
    COLLABORATION = "collaboration", "academia–industry collaboration 产学研合作项目"


class ProjectState(models.TextChoices):
    DRAFT = "draft", "draft 草稿"
    SUBMITTED = "submitted", "submitted 已申报"
    UNDER_REVIEW = "under_review", "under review 评审中"
    APPROVED = "approved", "approved 已立项"
    REJECTED = "rejected", "rejected 未立项"
    IN_PROGRESS = "in_progress", "in progress 实施中"
    COMPLETED = "completed", "completed 已结题"
    TERMINATED = "terminated", "terminated 已终止"


class Project(models.Model):
    key = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ProjectKind.choices, default=ProjectKind.INNOVATION)
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.PROTECT, related_name="projects",
                             help_text="The call it applies to; a collaboration may have none.")
    category = models.CharField(max_length=100, blank=True)
    title_zh = models.CharField(max_length=300)
    title_en = models.CharField(max_length=300, blank=True)
    summary = models.TextField(blank=True)
    applicant = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="applications",
                                  help_text="The enterprise that applies (or leads the collaboration).")
    planned_start = models.DateField(null=True, blank=True)
    planned_end = models.DateField(null=True, blank=True)
    requested_funding = models.DecimalField(max_digits=16, decimal_places=2, default=0, help_text="yuan")
    approved_funding = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True,
        help_text="yuan: what the bureau grants (批准资助金额), at most the requested funding; set when its "
                  "funding tranches are first planned (delivery.plan_tranches), the requested funding by default.")
    own_funding = models.DecimalField(max_digits=16, decimal_places=2, default=0, help_text="yuan")
    agreement_date = models.DateField(null=True, blank=True, help_text="Collaborations: when the agreement was signed.")
    contract_value = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True,
                                         help_text="Collaborations: technology contract value, yuan.")
    state = models.CharField(max_length=16, choices=ProjectState.choices, default=ProjectState.DRAFT)
    synthetic = models.BooleanField(default=False)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = History()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(condition=Q(requested_funding__gte=0) & Q(own_funding__gte=0),
                                   name="project_funding_not_negative"),
            models.CheckConstraint(condition=Q(planned_start__isnull=True) | Q(planned_end__isnull=True)
                                   | Q(planned_end__gte=models.F("planned_start")), name="project_plan_order"),
            models.CheckConstraint(condition=Q(approved_funding__isnull=True) | Q(approved_funding__gte=0),
                                   name="project_approved_funding_not_negative"),
        ]
        indexes = [models.Index(fields=["kind", "state"], name="project_kind_state")]

    def __str__(self) -> str:
        return self.title_zh or self.title_en


class PartyRole(models.TextChoices):
    LEAD = "lead", "lead 牵头单位"
    ENTERPRISE_PARTNER = "enterprise_partner", "enterprise partner 合作企业"
    UNIVERSITY_PARTNER = "university_partner", "university partner 合作高校"
    INSTITUTE_PARTNER = "institute_partner", "institute partner 合作院所"


class Party(models.Model):
    """An organisation taking part in a project, with its role."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="parties")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="project_parties")
    role = models.CharField(max_length=20, choices=PartyRole.choices)
    history = History()

    class Meta:
        ordering = ["project", "role", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "organisation"], name="party_once_per_project")]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_role_display()})"


class ProjectTransition(models.Model):
    """One step of a project's lifecycle: from, to, who, when and why. Append-only."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="transitions")
    name = models.CharField(max_length=20)
    from_state = models.CharField(max_length=16, choices=ProjectState.choices)
    to_state = models.CharField(max_length=16, choices=ProjectState.choices)
    at = models.DateTimeField(db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    comment = models.TextField(blank=True)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False,
                                       help_text="When the step was written (`at` may be a historical date): figures "
                                                 "computed as of a past moment count only the steps recorded by then.")

    class Meta:
        ordering = ["project", "at", "id"]
        indexes = [models.Index(fields=["to_state", "at"], name="transition_state_at")]

    def __str__(self) -> str:
        return f"{self.project}: {self.from_state} → {self.to_state} ({self.at:%Y-%m-%d})"


class ReviewAssignment(models.Model):
    """An expert reviewer assigned to a project; the reviewer's scores against the call's
    criteria once reviewed. A reviewer sees only the projects assigned to them."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_assignments")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    assigned_at = models.DateTimeField(auto_now_add=True)
    due = models.DateField()
    conflict_declaration = models.TextField(blank=True,
                                            help_text="The reviewer's declaration that they have no conflict of interest.")
    scores = models.JSONField(default=dict, blank=True, help_text='{"criterion name": score}')
    total = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    comment = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    history = History()

    class Meta:
        ordering = ["project", "reviewer"]
        constraints = [models.UniqueConstraint(fields=["project", "reviewer"], name="review_once_per_reviewer")]

    def __str__(self) -> str:
        return f"{self.reviewer} → {self.project}"


class Expert(models.Model):
    """A reviewer's profile: where they work decides the conflicts of interest (a reviewer
    from an organisation that is a party to a project cannot review it)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="expert")
    affiliation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    expertise = models.CharField(max_length=300, blank=True)
    history = History()

    def __str__(self) -> str:
        return str(self.user)


# --- after approval: funding, progress reports, outcomes --------------------------------


class Tranche(models.Model):
    """One tranche of the bureau's funding (资金拨付): what is planned, and when; once paid,
    what was paid, and when. Paid tranches are never replaced (delivery.plan_tranches)."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="tranches")
    seq = models.PositiveSmallIntegerField("sequence number", help_text="1, 2, 3 … within the project.")
    planned_amount = models.DecimalField(max_digits=16, decimal_places=2, help_text="yuan")
    planned_date = models.DateField()
    paid_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True, help_text="yuan")
    paid_date = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    history = History()

    class Meta:
        ordering = ["project", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["project", "seq"], name="tranche_seq_once_per_project"),
            models.CheckConstraint(condition=Q(seq__gte=1), name="tranche_seq_from_one"),
            models.CheckConstraint(condition=Q(planned_amount__gt=0), name="tranche_planned_positive"),
            models.CheckConstraint(condition=Q(paid_amount__isnull=True, paid_date__isnull=True)
                                   | Q(paid_amount__isnull=False, paid_date__isnull=False),
                                   name="tranche_paid_amount_and_date_together"),
            models.CheckConstraint(condition=Q(paid_amount__isnull=True)
                                   | Q(paid_amount__gt=0, paid_amount__lte=models.F("planned_amount")),
                                   name="tranche_paid_within_plan"),
        ]
        indexes = [models.Index(fields=["paid_date"], name="tranche_paid_date"),
                   models.Index(fields=["planned_date"], name="tranche_planned_date")]

    def __str__(self) -> str:
        return f"{self.project} #{self.seq}"

    @property
    def paid(self) -> bool:
        return self.paid_date is not None


class ReportStatus(models.TextChoices):
    DUE = "due", "due 待提交"
    SUBMITTED = "submitted", "submitted 已提交"
    ACCEPTED = "accepted", "accepted 已通过"
    RETURNED = "returned", "returned for correction 退回修改"


#: The statuses in which a report still waits for the applicant (a returned one must be
#: submitted again): past its due date, such a report is overdue.
OUTSTANDING = (ReportStatus.DUE, ReportStatus.RETURNED)
#: The projects that owe their reports: approved (立项) and not yet completed or terminated.
RUNNING = (ProjectState.APPROVED, ProjectState.IN_PROGRESS)


class ProgressReportQuerySet(models.QuerySet):
    def outstanding(self) -> "ProgressReportQuerySet":
        """Reports the applicant still owes, of projects still running: the one definition
        behind `delivery.reports_due` (reminders) and `counts.reports_overdue`."""
        return self.filter(status__in=OUTSTANDING, project__state__in=RUNNING)


class ProgressReport(models.Model):
    """A progress report (进度报告) the applicant owes on `due`; the bureau accepts it or
    returns it for correction. Overdue: due before today and still outstanding."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="progress_reports")
    title = models.CharField(max_length=200, help_text="e.g. 第1期进度报告（2024-01-01至2024-06-30）")
    due = models.DateField()
    status = models.CharField(max_length=12, choices=ReportStatus.choices, default=ReportStatus.DUE)
    text = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="The last submission.")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    review_comment = models.TextField(blank=True)
    history = History()

    objects = ProgressReportQuerySet.as_manager()

    class Meta:
        ordering = ["project", "due"]
        constraints = [
            models.UniqueConstraint(fields=["project", "due"], name="report_due_once_per_project"),
            models.CheckConstraint(condition=Q(status=ReportStatus.DUE, submitted_at__isnull=True)
                                   | (~Q(status=ReportStatus.DUE) & Q(submitted_at__isnull=False)),
                                   name="report_submitted_when_not_due"),
            models.CheckConstraint(condition=Q(status__in=(ReportStatus.ACCEPTED, ReportStatus.RETURNED),
                                               reviewed_at__isnull=False)
                                   | Q(status__in=(ReportStatus.DUE, ReportStatus.SUBMITTED)),
                                   name="report_reviewed_when_decided"),
        ]
        indexes = [models.Index(fields=["status", "due"], name="report_status_due")]

    def __str__(self) -> str:
        return f"{self.project}: {self.title}"

    def overdue(self, today) -> bool:
        return self.status in OUTSTANDING and self.due < today and self.project.state in RUNNING


class OutcomeKind(models.TextChoices):
    PATENT_FILED = "patent_filed", "patent filed 专利申请"
    PATENT_GRANTED = "patent_granted", "patent granted 专利授权"
    PRODUCT = "product", "new product 新产品"
    STANDARD = "standard", "standard drafted 标准制定"
    REVENUE = "revenue", "revenue from results 成果转化收入"


class Outcome(models.Model):
    """What a project produced (项目成果), counted by the date it happened: a patent filed
    or granted, a new product, a standard drafted, revenue from its results (in yuan)."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="outcomes")
    kind = models.CharField(max_length=16, choices=OutcomeKind.choices)
    title = models.CharField(max_length=300)
    date = models.DateField(help_text="When it happened: filing, grant, launch, publication, or the revenue's date.")
    identifier = models.CharField(max_length=100, blank=True,
                                  help_text="Patent or standard number, e.g. CN202310000000.0, GB/T 1234-2023.")
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True,
                                 help_text="yuan; revenue only.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    synthetic = models.BooleanField(default=False)
    history = History()

    class Meta:
        ordering = ["project", "date", "id"]
        constraints = [
            # amount__isnull=False: a check on NULL is unknown, and an unknown check passes.
            models.CheckConstraint(condition=Q(kind=OutcomeKind.REVENUE, amount__isnull=False, amount__gt=0)
                                   | (~Q(kind=OutcomeKind.REVENUE) & Q(amount__isnull=True)),
                                   name="outcome_amount_for_revenue_only"),
            # A patent or standard counted twice would inflate the figures.
            models.UniqueConstraint(fields=["project", "kind", "identifier"], condition=~Q(identifier=""),
                                    name="outcome_identifier_once_per_project"),
        ]
        indexes = [models.Index(fields=["kind", "date"], name="outcome_kind_date")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"


# --- attachments --------------------------------------------------------------------------


def attachment_path(attachment: "Attachment", filename: str) -> str:
    """projects/<project key>/<random>.<detected type's extension>: the client's name is
    kept in `original_name`, never used on disk."""
    suffix = PurePosixPath(filename).suffix.lower()
    return f"projects/{attachment.project.key}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    """A file attached to a project (申报材料, contracts, certificates), stored privately
    and served only through the scoped API. Written by attachments.attach, which checks
    its size and its type by its first bytes."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, help_text="As detected from the contents.")
    size = models.PositiveBigIntegerField(help_text="bytes")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    history = History()

    class Meta:
        ordering = ["project", "uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="attachment_not_empty"),
            models.UniqueConstraint(fields=["project", "sha256"], name="attachment_once_per_project"),
        ]

    def __str__(self) -> str:
        return self.original_name

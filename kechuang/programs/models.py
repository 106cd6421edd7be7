"""Programmes (科技计划): calls for applications, projects and their parties, expert
review, and the approval workflow; academia–industry collaborations are projects too.

A project passes through the states of `services.LIFECYCLE` (a table read by
kechuang/workflows.py); every transition it takes is a row of `ProjectTransition`, with
who and when, so "approved in 2023H1" is a question about the date of its approval
transition. Rows are written only by `services.py`; the audit trail records every change.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

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

"""Designations (资质认定): the titles the state gives an enterprise for a time — national
"little giant" (专精特新"小巨人"), provincial specialised SME (专精特新中小企业), innovative
SME, high and new technology enterprise (高新技术企业), tech-based SME — and the titles a
bureau defines itself (gazelle, unicorn, single champion).

A `DesignationType` says how long its grants last and which rule version applies on a
date (the shipped ones: data/types.yaml, domain-rules.md §1–3). A `Designation` is one
grant to one enterprise, passing through the stages of `services.STAGES`: listed for
publicity (公示), final (认定, from its notice's date), and then revoked, expired or
renamed. Every stage change is a `DesignationStep` (who, when, which notice); a re-review
(复核) that extends the validity is a `ReReview`.

Dates follow the registry's convention: `valid_until` and `in_force_until` are exclusive,
the first day the grant no longer holds (granted 2023-06-28 for three years: valid until
2026-06-28, i.e. through 2026-06-27). A grant is in force on a day when
granted_on <= day < in_force_until; `in_force_until` is `valid_until`, or the day it was
revoked or superseded when that came first. The database holds these rules.

Lists published by the ministries arrive as files (`importer.py`): a row matched to an
enterprise is granted; a row that is not goes to the review queue (`ImportCandidate`)
with the similar names found, never silently matched.

Rows are written only by `services.py` and `importer.py`.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from kechuang.audit import History
from kechuang.registry.models import Organisation, Region, Source


class Level(models.TextChoices):
    """Who issues a designation."""

    NATIONAL = "national", "national 国家级"
    PROVINCIAL = "provincial", "provincial 省级"
    CITY = "city", "city 市级"
    DISTRICT = "district", "district 区县级"


class Validity(models.TextChoices):
    """How long a grant holds, from its granted date."""

    YEARS = "years", "a number of years 若干年"
    CALENDAR_YEAR = "calendar_year", "the calendar year of the grant 当年有效"
    OPEN = "open", "until revoked 长期有效"


class DesignationType(models.Model):
    """A kind of designation: the shipped catalogue (data/types.yaml, `built_in`) and the
    ones a bureau defines (瞪羚企业, 独角兽企业 …)."""

    code = models.SlugField(max_length=60, unique=True, help_text="Stable code, e.g. little-giant, hnte.")
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=300)
    levels = models.JSONField(default=list, help_text='The levels that issue it, the usual one first: ["national"].')
    validity = models.CharField(max_length=16, choices=Validity.choices, default=Validity.YEARS)
    validity_years = models.PositiveSmallIntegerField(null=True, blank=True,
                                                      help_text="For validity `years`: how many.")
    re_review_years = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="A passed re-review (复核) extends the validity by this many years; empty: no re-review "
                  "(an HNTE applies again as a new applicant).")
    rule_versions = models.JSONField(
        default=list, blank=True,
        help_text='The rule versions by date: [{"code": "MIIT-2022-63", "from": "2022-08-01", "title": …}]; '
                  "a grant takes the last one in force on its date (domain-rules.md §1.0).")
    basis = models.CharField(max_length=500, blank=True, help_text="The policy documents it rests on.")
    description_zh = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    built_in = models.BooleanField(default=False, editable=False,
                                   help_text="Shipped in the catalogue; kept up to date by every migrate.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = History()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(validity__in=Validity.values), name="designationtype_validity_known"),
            models.CheckConstraint(
                condition=Q(validity=Validity.YEARS, validity_years__isnull=False, validity_years__gte=1)
                | (~Q(validity=Validity.YEARS) & Q(validity_years__isnull=True)),
                name="designationtype_years_for_years_only"),
            models.CheckConstraint(condition=Q(re_review_years__isnull=True) | Q(re_review_years__gte=1),
                                   name="designationtype_re_review_positive"),
        ]

    def __str__(self) -> str:
        return self.name_zh or self.name_en

    @property
    def default_level(self) -> str:
        return self.levels[0] if self.levels else Level.NATIONAL

    @property
    def rule_version_codes(self) -> list[str]:
        return [version["code"] for version in self.rule_versions]


class Stage(models.TextChoices):
    PUBLICITY = "publicity", "publicity 公示"
    FINAL = "final", "final 认定"
    REVOKED = "revoked", "revoked 撤销"
    EXPIRED = "expired", "expired 已到期"
    RENAMED = "renamed", "renamed 已更名"


#: The stages of a grant that reached its final notice: public record (scoping.py).
GRANTED_STAGES = (Stage.FINAL, Stage.EXPIRED, Stage.REVOKED, Stage.RENAMED)


class DesignationQuerySet(models.QuerySet):
    def in_force_on(self, day: dt.date) -> "DesignationQuerySet":
        """Grants in force on `day`: granted on or before it, and not yet at `in_force_until`."""
        return self.filter(granted_on__lte=day).filter(Q(in_force_until__isnull=True) | Q(in_force_until__gt=day))

    def expiring(self, today: dt.date, days: int) -> "DesignationQuerySet":
        """Final grants whose validity runs out within `days` days after `today` (their last
        valid day falls between today and today + days) and that are in force today."""
        return self.filter(stage=Stage.FINAL, granted_on__lte=today, valid_until__gt=today,
                           valid_until__lte=today + dt.timedelta(days=days + 1))


class Designation(models.Model):
    """One designation granted (or listed for publicity) to one enterprise."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="designations")
    type = models.ForeignKey(DesignationType, on_delete=models.PROTECT, related_name="designations")
    level = models.CharField(max_length=12, choices=Level.choices)
    batch = models.CharField(max_length=60, blank=True,
                             help_text="As the notice names it: 5 (the fifth national batch), 2023-2 …")
    name_on_list = models.CharField(max_length=300, blank=True,
                                    help_text="The enterprise's name as the notice printed it.")
    certificate_number = models.CharField(max_length=60, blank=True, help_text="e.g. GR202332001234")
    stage = models.CharField(max_length=10, choices=Stage.choices)
    applied_on = models.DateField(null=True, blank=True,
                                  help_text="When the enterprise applied, if known: it picks the rule version.")
    publicised_on = models.DateField(null=True, blank=True, help_text="Date of the publicity notice (公示).")
    granted_on = models.DateField(null=True, blank=True,
                                  help_text="Date of the final notice or certificate (认定); empty while in publicity.")
    valid_until = models.DateField(
        null=True, blank=True,
        help_text="The first day it is no longer valid (exclusive), from the type's rule unless the notice says "
                  "otherwise; re-reviews extend it. Empty while in publicity, or for a type valid until revoked.")
    ended_on = models.DateField(null=True, blank=True,
                                help_text="When it stopped early: revoked, withdrawn, superseded or renamed.")
    in_force_until = models.DateField(
        null=True, blank=True, editable=False,
        help_text="valid_until, or ended_on when that comes first: the end of the span it counts as held.")
    rule_version = models.CharField(max_length=30, blank=True, help_text="MIIT-2022-63, MIIT-2026-2, HNTE-2016 …")
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="successor",
                                    help_text="A renamed grant: the certificate it re-issues under the new name.")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="The notice that lists it.")
    synthetic = models.BooleanField(default=False, help_text="Invented for the demo; never real.")
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = History()

    objects = DesignationQuerySet.as_manager()

    class Meta:
        # Newest grants first; rows still in publicity (no granted date) after them, on both databases.
        ordering = [F("granted_on").desc(nulls_last=True), F("publicised_on").desc(nulls_last=True), "id"]
        constraints = [
            models.CheckConstraint(condition=Q(level__in=Level.values), name="designation_level_known"),
            # Each disjunct compares only columns it has checked are set: a check on NULL is
            # unknown, and an unknown check passes.
            models.CheckConstraint(
                condition=Q(stage=Stage.PUBLICITY, publicised_on__isnull=False, granted_on__isnull=True,
                            valid_until__isnull=True, ended_on__isnull=True)
                | Q(stage=Stage.FINAL, granted_on__isnull=False, ended_on__isnull=True)
                | Q(stage=Stage.EXPIRED, granted_on__isnull=False)
                | Q(stage=Stage.REVOKED, ended_on__isnull=False)
                | Q(stage=Stage.RENAMED, granted_on__isnull=False, ended_on__isnull=False),
                name="designation_dates_fit_stage"),
            models.CheckConstraint(
                condition=Q(granted_on__isnull=True, in_force_until__isnull=True)
                | Q(granted_on__isnull=False, ended_on__isnull=True, valid_until__isnull=True,
                    in_force_until__isnull=True)
                | Q(granted_on__isnull=False, ended_on__isnull=True, valid_until__isnull=False,
                    in_force_until__isnull=False, in_force_until=F("valid_until"))
                | Q(granted_on__isnull=False, ended_on__isnull=False, valid_until__isnull=True,
                    in_force_until__isnull=False, in_force_until=F("ended_on"))
                | Q(granted_on__isnull=False, ended_on__isnull=False, valid_until__isnull=False,
                    in_force_until__isnull=False, ended_on__lt=F("valid_until"), in_force_until=F("ended_on"))
                | Q(granted_on__isnull=False, ended_on__isnull=False, valid_until__isnull=False,
                    in_force_until__isnull=False, ended_on__gte=F("valid_until"), in_force_until=F("valid_until")),
                name="designation_in_force_until_computed"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(granted_on__isnull=True) | Q(valid_until__gt=F("granted_on")),
                name="designation_valid_after_granted"),
            models.CheckConstraint(
                condition=Q(publicised_on__isnull=True) | Q(granted_on__isnull=True)
                | Q(granted_on__gte=F("publicised_on")),
                name="designation_granted_after_publicity"),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(granted_on__isnull=True) | Q(ended_on__gte=F("granted_on")),
                name="designation_ended_after_granted"),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(publicised_on__isnull=True)
                | Q(ended_on__gte=F("publicised_on")),
                name="designation_ended_after_publicity"),
            models.CheckConstraint(
                condition=Q(applied_on__isnull=True) | Q(publicised_on__isnull=True)
                | Q(publicised_on__gte=F("applied_on")),
                name="designation_publicity_after_application"),
            models.CheckConstraint(
                condition=Q(applied_on__isnull=True) | Q(granted_on__isnull=True) | Q(granted_on__gte=F("applied_on")),
                name="designation_granted_after_application"),
            # A certificate number names one certificate; a renamed one hands it to its successor.
            models.UniqueConstraint(fields=["type", "certificate_number"],
                                    condition=~Q(certificate_number="") & ~Q(stage=Stage.RENAMED),
                                    name="designation_certificate_once"),
            models.UniqueConstraint(fields=["organisation", "type", "level", "batch"],
                                    condition=~Q(batch="") & ~Q(stage=Stage.RENAMED),
                                    name="designation_once_per_batch"),
            models.UniqueConstraint(fields=["organisation", "type", "level", "granted_on"],
                                    condition=Q(granted_on__isnull=False) & ~Q(stage=Stage.RENAMED),
                                    name="designation_once_per_grant_date"),
        ]
        indexes = [
            # "Granted in a period" and "in force on a day", per type.
            models.Index(fields=["type", "granted_on"], name="designation_type_granted"),
            models.Index(fields=["type", "in_force_until"], name="designation_type_in_force"),
            # The expiry lists: final grants by the day their validity ends.
            models.Index(fields=["stage", "valid_until"], name="designation_stage_valid_until"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.type}"

    @property
    def last_valid_day(self) -> dt.date | None:
        """The last day it is valid (valid_until is exclusive): what a certificate prints."""
        return self.valid_until - dt.timedelta(days=1) if self.valid_until else None

    def in_force_on(self, day: dt.date) -> bool:
        return (self.granted_on is not None and self.granted_on <= day
                and (self.in_force_until is None or day < self.in_force_until))


class DesignationStep(models.Model):
    """One stage change of a designation, dated by its notice: what, when, who, why. Append-only.

    Counting grants in a period is counting the steps into `final` dated in it (the
    indicators' `designations-granted` source), so a grant revoked later still counts
    for the period it was granted in.
    """

    designation = models.ForeignKey(Designation, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=12, help_text="The transition: list, grant, finalise, revoke, expire, "
                                                     "supersede, rename, reissue.")
    from_stage = models.CharField(max_length=10, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=10, choices=Stage.choices)
    on = models.DateField(help_text="The date of the notice (or of the event) that made the change.")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    comment = models.TextField(blank=True)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False,
                                       help_text="When the step was written: figures as of a past moment count only "
                                                 "the steps recorded by then.")

    class Meta:
        ordering = ["designation", "on", "id"]
        indexes = [models.Index(fields=["to_stage", "on"], name="designationstep_stage_on")]

    def __str__(self) -> str:
        return f"{self.designation}: {self.from_stage or '—'} → {self.to_stage} ({self.on:%Y-%m-%d})"


class ReReview(models.Model):
    """A re-review (复核) of a designation: passed, it extends the validity by the type's
    `re_review_years` from where it ended; failed, the validity runs out as it was."""

    designation = models.ForeignKey(Designation, on_delete=models.PROTECT, related_name="re_reviews")
    reviewed_on = models.DateField(help_text="Date of the notice of the re-review's result.")
    passed = models.BooleanField()
    valid_until_before = models.DateField()
    valid_until_after = models.DateField()
    rule_version = models.CharField(max_length=30, blank=True,
                                    help_text="The rules it was judged by (2026 re-reviews of earlier batches: "
                                              "MIIT-2022-63, 工信厅企业函〔2026〕117号).")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    comment = models.TextField(blank=True)
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["designation", "reviewed_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(passed=True, valid_until_after__gt=F("valid_until_before"))
                | Q(passed=False, valid_until_after=F("valid_until_before")),
                name="rereview_extends_when_passed"),
        ]

    def __str__(self) -> str:
        return f"{self.designation}: re-review {self.reviewed_on:%Y-%m-%d} {'passed' if self.passed else 'failed'}"


# --- importing published lists ----------------------------------------------------------------


class ImportStatus(models.TextChoices):
    CHECKED = "checked", "checked (dry run), nothing written"
    REFUSED = "refused", "refused: errors, nothing written"
    DONE = "done", "imported"


class DesignationImport(models.Model):
    """One published list read from a file (名单导入): which type and level it grants, where
    its names were looked up, and what became of every row (`report`)."""

    file_name = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(default=0)
    format = models.CharField(max_length=10, blank=True)
    type = models.ForeignKey(DesignationType, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(max_length=12, choices=Level.choices)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="Names are matched to enterprises located in this region's subtree.")
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.FINAL,
                             help_text="The stage of rows whose own column says none.")
    date = models.DateField(null=True, blank=True, help_text="The notice's date, for rows that give none.")
    batch = models.CharField(max_length=60, blank=True, help_text="The batch of rows that name none.")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="The notice, for rows that name none.")
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=ImportStatus.choices)
    rows_read = models.PositiveIntegerField(default=0)
    granted = models.PositiveIntegerField(default=0, help_text="Rows matched and granted (or finalised).")
    queued = models.PositiveIntegerField(default=0, help_text="Rows waiting in the review queue.")
    report = models.JSONField(default=dict, blank=True,
                              help_text="Every row's outcome, and every problem with its row, column and reason.")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class CandidateReason(models.TextChoices):
    UNMATCHED = "unmatched", "no enterprise has this name 未匹配"
    SIMILAR = "similar", "only similar names were found 近似名称"
    AMBIGUOUS = "ambiguous", "several enterprises have this name 重名"
    CONFLICT = "conflict", "an enterprise of this name has another USCC 名称与信用代码不符"


class CandidateStatus(models.TextChoices):
    PENDING = "pending", "waiting for review 待确认"
    LINKED = "linked", "linked to an existing enterprise 已关联"
    CREATED = "created", "enterprise registered 已新建"
    DISMISSED = "dismissed", "dismissed 已忽略"


class ImportCandidate(models.Model):
    """A row of a published list that matched no enterprise exactly: it waits for the
    bureau, with the enterprises of similar names found and their similarity (0–1).
    Confirmed, it is linked to one of them (or another) or a new enterprise is registered,
    and the designation is granted; or it is dismissed (not in our district, say)."""

    designation_import = models.ForeignKey(DesignationImport, on_delete=models.CASCADE, related_name="candidates")
    row = models.PositiveIntegerField(help_text="The row in the file, as Excel numbers it.")
    name = models.CharField(max_length=300)
    uscc = models.CharField(max_length=18, blank=True)
    batch = models.CharField(max_length=60, blank=True)
    stage = models.CharField(max_length=10, choices=Stage.choices)
    publicised_on = models.DateField(null=True, blank=True)
    granted_on = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    certificate_number = models.CharField(max_length=60, blank=True)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="Where the list places it (its region column, else the import's region).")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=10, choices=CandidateReason.choices)
    candidates = models.JSONField(default=list, blank=True,
                                  help_text='Enterprises found: [{"organisation": key, "name": …, "similarity": 0.83}]')
    status = models.CharField(max_length=10, choices=CandidateStatus.choices, default=CandidateStatus.PENDING)
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    designation = models.ForeignKey(Designation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    history = History()

    class Meta:
        ordering = ["designation_import", "row"]
        constraints = [
            models.UniqueConstraint(fields=["designation_import", "row"], name="importcandidate_once_per_row"),
            models.CheckConstraint(
                condition=Q(status=CandidateStatus.PENDING, organisation__isnull=True, resolved_at__isnull=True)
                | Q(status__in=(CandidateStatus.LINKED, CandidateStatus.CREATED), organisation__isnull=False,
                    resolved_at__isnull=False)
                | Q(status=CandidateStatus.DISMISSED, organisation__isnull=True, resolved_at__isnull=False),
                name="importcandidate_resolution_fits_status"),
        ]
        indexes = [models.Index(fields=["status"], name="importcandidate_status")]

    def __str__(self) -> str:
        return f"{self.designation_import}, row {self.row}: {self.name}"

"""The statistics' use cases: the catalogue, recording one figure, the approval
workflow (submit → approve → publish, or return for correction), locks and
completeness. The bulk path for files is importer.py; it applies the same rules
(rules.py).

Every function that changes data runs in one transaction and records who did it.
`by=None` is the operator on the command line, who may do anything.
"""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kechuang.accounts.scoping import can_change, can_review
from kechuang.audit.context import current as current_interface
from kechuang.errors import RoleRefusal
from kechuang.indicators import cache
from kechuang.registry.models import CONTAINER_KINDS, Organisation, OrganisationKind, Region
from kechuang.workflows import Transition, TransitionError, Workflow

from . import rules
from .models import DataLock, Metric, Observation, ObservationKind, ObservationStatus, SubjectKind
from .periods import Period, PeriodError
from .units import UnitError, to_base

CATALOGUE = Path(__file__).parent / "data" / "metrics.yaml"

S = ObservationStatus
#: The approval of a figure (数据审核). Who may take each transition: see the services below.
APPROVAL = Workflow("observation approval", [
    Transition("submit", (S.DRAFT, S.RETURNED), S.SUBMITTED, "submit to the bureau 报送"),
    Transition("return", (S.SUBMITTED, S.APPROVED), S.RETURNED, "return for correction 退回"),
    Transition("approve", (S.SUBMITTED,), S.APPROVED, "approve 审核通过"),
    Transition("publish", (S.APPROVED,), S.PUBLISHED, "publish 发布"),
])


class StatisticsError(ValidationError):
    """A rule of the statistics was broken; `field` names what was wrong."""

    def __init__(self, field: str, message: str):
        super().__init__({field: [message]})
        self.field = field
        self.reason = message


class NotAllowed(StatisticsError, RoleRefusal):
    """The user's role does not allow this (the API answers 403)."""


# --- the catalogue ---------------------------------------------------------------------


@transaction.atomic
def load_catalogue(path: Path = CATALOGUE) -> int:
    """Add the shipped metrics and keep their names and definitions current. Metrics a
    bureau added itself are left alone. Returns the number of metrics written."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    written = {}
    for entry in entries:
        fields = {name: value for name, value in entry.items() if name not in ("code", "part_of")}
        written[entry["code"]], _ = Metric.objects.update_or_create(code=entry["code"], defaults=fields)
    for entry in entries:
        part_of = written[entry["part_of"]] if entry.get("part_of") else None
        if written[entry["code"]].part_of_id != (part_of.pk if part_of else None):
            Metric.objects.filter(pk=written[entry["code"]].pk).update(part_of=part_of)
    return len(written)


def find_metric(name: "Metric | str") -> Metric:
    """A metric by its code, or its exact Chinese or English name."""
    if isinstance(name, Metric):
        return name
    metric = Metric.objects.filter(Q(code=name) | Q(name_zh=name) | Q(name_en__iexact=name)).first()
    if metric is None:
        raise StatisticsError("metric", f"no metric has the code or name {name!r}")
    return metric


def subject_kind(subject: Organisation | Region) -> str:
    if isinstance(subject, Region):
        return SubjectKind.REGION
    return SubjectKind.PARK if subject.kind in CONTAINER_KINDS else SubjectKind.ENTERPRISE


# --- recording figures ----------------------------------------------------------------


def parse_period(period: "Period | str") -> Period:
    if isinstance(period, Period):
        return period
    try:
        return Period.parse(period)
    except PeriodError as exc:
        raise StatisticsError("period", str(exc)) from None


@transaction.atomic
def record_observation(subject: Organisation | Region, metric: "Metric | str", period: "Period | str",
                       value: Decimal | int | str, *, unit: str | None = None,
                       kind: str = ObservationKind.ACTUAL, by=None, source=None,
                       status: str = ObservationStatus.DRAFT, comment: str = "",
                       today: dt.date | None = None) -> Observation:
    """Record one figure. A figure for the same subject, metric, period and kind that is
    already there is superseded (kept, with `superseded_at`), never overwritten; when the
    new one would only repeat it (`_restates`), the current figure is returned unchanged.

    `unit` is the unit the value is given in (万元, 亿元 …; default the metric's base
    unit); the value is stored converted, exactly, and as entered. Status beyond
    submitted (approved, published) is the bureau's to give.
    """
    metric, period = find_metric(metric), parse_period(period)
    if kind not in ObservationKind.values:
        raise StatisticsError("kind", f"{kind!r} is not one of {', '.join(ObservationKind.values)}")
    if status not in ObservationStatus.values:
        raise StatisticsError("status", f"{status!r} is not one of {', '.join(ObservationStatus.values)}")
    entered_value, entered_unit = Decimal(str(value)), unit or metric.base_unit
    try:
        base_value = to_base(entered_value, entered_unit)[0] if unit else entered_value
    except UnitError as exc:
        raise StatisticsError("unit", str(exc)) from None
    if not rules.unit_fits(metric, entered_unit):
        raise StatisticsError("unit", f"{metric.name_zh} ({metric.code}) is measured in {metric.base_unit}; "
                                      f"{entered_unit!r} is not a unit of it")
    if subject_kind(subject) not in metric.subject_kinds:
        raise StatisticsError("metric", f"{metric.code} is reported for {', '.join(metric.subject_kinds)}, "
                                        f"not for a {subject_kind(subject)}")
    row = Observation(
        organisation=subject if isinstance(subject, Organisation) else None,
        region=subject if isinstance(subject, Region) else None,
        metric=metric, period=period.code, period_start=period.start, period_end=period.end, kind=kind,
        value=base_value, entered_value=entered_value, entered_unit=entered_unit, status=status,
        comment=comment, source=source, entered_by=by, interface=current_interface().interface,
    )
    reviewed = status in (S.APPROVED, S.PUBLISHED)  # recorded as reviewed, by whoever records it
    if reviewed:
        row.reviewed_by = by
    _check_may_write(by, row)
    if status not in (S.DRAFT, S.SUBMITTED) and by is not None and not can_review(by, subject):
        raise NotAllowed("status", f"only the bureau gives a figure the status {status}")
    for problem in rules.value_problems(metric, base_value):
        raise StatisticsError("value", problem)
    if kind == ObservationKind.ACTUAL and (problem := rules.future_problem(period, today or dt.date.today())):
        raise StatisticsError("period", problem)
    with transaction.atomic():
        # One recording of the subject's figures at a time: a second one (the same form sent
        # twice, two colleagues) waits for the first to commit, then supersedes its figure,
        # instead of both finding no current figure and one failing on the unique constraint.
        type(subject).objects.select_for_update().filter(pk=subject.pk).first()
        _check_unlocked(subject, period)
        return _record(row, subject, metric, period, kind, base_value, reviewed)


def _record(row: Observation, subject, metric: Metric, period: Period, kind: str, base_value: Decimal,
            reviewed: bool) -> Observation:
    stored = _current(subject, period.code, kind)
    stored[metric.code] = base_value
    for problem in rules.part_whole_problems(stored, {m.code: m for m in Metric.objects.filter(code__in=stored)}):
        raise StatisticsError("value", problem)
    current = Observation.objects.current().filter(
        organisation=row.organisation, region=row.region, metric=metric, period=period.code, kind=kind)
    if (existing := current.first()) is not None and _restates(row, existing):
        return existing
    # What changes is this metric's figures with these statuses: the indicators' cached tables
    # of other metrics, and the public's where no approved figure is touched, stay.
    touched = {row.status, *current.values_list("status", flat=True)}
    with cache.declared(Observation._meta.db_table, cache.observation_names(metric.pk, touched)):
        current.update(superseded_at=timezone.now())
        row.full_clean(validate_constraints=False)
        row.save()
        if reviewed:  # at the moment it was recorded: a figure as of any later moment counts as reviewed then
            row.reviewed_at = row.created_at
            row.save(update_fields=["reviewed_at"])
    return row


def _restates(row: Observation, stored: Observation) -> bool:
    """Whether recording `row` would only repeat the current figure `stored`, as a form or a
    request sent twice does: the same value, source, comment and status, or submitted again
    when the bureau has already approved or published it. The importer counts such a row
    unchanged too; writing it would make a correction that corrects nothing."""
    same_status = row.status == stored.status or (row.status == S.SUBMITTED
                                                 and stored.status in (S.APPROVED, S.PUBLISHED))
    return (same_status and row.value == stored.value and row.source_id == stored.source_id
            and row.comment == stored.comment)


def _check_may_write(by, row: Observation) -> None:
    if by is not None and not can_change(by, row):
        raise NotAllowed("subject", f"{row.subject} is not yours to report for")


def _current(subject, period_code: str, kind: str) -> dict[str, Decimal]:
    """The subject's current values for a period, by metric code."""
    field = "organisation" if isinstance(subject, Organisation) else "region"
    rows = Observation.objects.current().filter(**{field: subject}, period=period_code, kind=kind)
    return dict(rows.values_list("metric__code", "value"))


# --- locks -----------------------------------------------------------------------------


def lock_covering(subject: Organisation | Region, period: Period) -> DataLock | None:
    """An open lock on a region holding the subject, over a period overlapping `period`."""
    if isinstance(subject, Region):
        region = subject
    else:
        location = subject.current_location
        region = location.region if location else None
    if region is None:
        return None
    holding = [code for code in region.path.split("/") if code]
    return DataLock.objects.filter(
        region__code__in=holding, unlocked_at__isnull=True,
        period_start__lte=period.end, period_end__gte=period.start,
    ).select_related("region").first()


def _check_unlocked(subject, period: Period) -> None:
    lock = lock_covering(subject, period)
    if lock is not None:
        raise StatisticsError("period", f"the bureau approved and locked {lock.region.name_zh} {lock.region.code} "
                                        f"for {lock.period} on {lock.locked_at:%Y-%m-%d}; a bureau admin must "
                                        "unlock it, with a reason, before a figure changes")


@transaction.atomic
def lock_region_period(region: Region, period: "Period | str", *, by=None) -> tuple[DataLock, int]:
    """The bureau approves a region's figures for a period: every submitted figure of a
    subject in the region's subtree whose period lies within `period` is approved, and
    the period is locked. Returns the lock and the number of figures approved."""
    period = parse_period(period)
    if by is not None and not can_review(by, region):
        raise NotAllowed("region", f"only a bureau admin of {region.name_zh} {region.code} locks its figures")
    if DataLock.objects.filter(region=region, period=period.code, unlocked_at__isnull=True).exists():
        raise StatisticsError("period", f"{region.code} {period.code} is already locked")
    figures = in_region(Observation.objects.current(), region).filter(
        period_start__gte=period.start, period_end__lte=period.end, status=S.SUBMITTED)
    approved = figures.update(status=S.APPROVED, reviewed_by=by, reviewed_at=timezone.now())
    lock = DataLock.objects.create(region=region, period=period.code, period_start=period.start,
                                   period_end=period.end, locked_by=by)
    return lock, approved


@transaction.atomic
def unlock(lock: DataLock, *, by=None, reason: str) -> DataLock:
    """Open a locked period again for corrections; the reason stays on record."""
    if lock.unlocked_at is not None:
        raise StatisticsError("lock", "this lock was already lifted")
    if not reason.strip():
        raise StatisticsError("reason", "say why the figures must change")
    if by is not None and not can_review(by, lock.region):
        raise NotAllowed("lock", f"only a bureau admin of {lock.region.code} unlocks its figures")
    lock.unlocked_at, lock.unlocked_by, lock.unlock_reason = timezone.now(), by, reason.strip()
    lock.save(update_fields=["unlocked_at", "unlocked_by", "unlock_reason"])
    return lock


def in_region(observations, region: Region):
    """Figures of subjects in the region's subtree: organisations located there now, and
    the regions of the subtree themselves."""
    organisations = Organisation.objects.in_region(region).values("pk")
    regions = Region.objects.filter(path__startswith=region.path).values("pk")
    return observations.filter(Q(organisation__in=organisations) | Q(region__in=regions))


# --- the approval workflow -------------------------------------------------------------


class StatisticsConflict(StatisticsError):
    """Someone else changed the figure between the moment the caller read it and now (the
    API answers 409): two bureau admins approving the same figure at once, say."""


@transaction.atomic
def take(observation: Observation, transition: str, *, by=None, comment: str = "") -> Observation:
    """Move a figure along the approval workflow. Submitting is for whoever may report
    for the subject; returning, approving and publishing are the bureau's. A returned
    figure carries the bureau's comment.

    The row is read again, locked, so that of two people acting on one figure at the same
    moment the second waits for the first and is then refused (StatisticsConflict) rather
    than overwriting the first's decision."""
    stored = Observation.objects.select_for_update().get(pk=observation.pk)
    if (stored.status, stored.superseded_at) != (observation.status, observation.superseded_at):
        raise StatisticsConflict("status", _changed_meanwhile(stored))
    try:
        step = APPROVAL.check(transition, observation.status)
    except TransitionError as exc:
        raise StatisticsError("status", str(exc)) from None
    if observation.superseded_at is not None:
        raise StatisticsError("status", "this figure was superseded by a correction; act on the current one")
    if by is not None:
        allowed = can_change(by, observation) if transition == "submit" else can_review(by, observation.subject)
        if not allowed:
            raise NotAllowed("status", f"your role does not allow you to {transition} this figure")
    if transition == "return" and not comment.strip():
        raise StatisticsError("comment", "say what must be corrected")
    if transition in ("return", "submit"):
        _check_unlocked(observation.subject, Period.parse(observation.period))
    touched = cache.observation_names(observation.metric_id, {observation.status, step.target})
    observation.status = step.target
    fields = ["status"]
    if transition == "return":
        observation.comment, fields = comment.strip(), [*fields, "comment"]
    if transition != "submit":
        observation.reviewed_by, observation.reviewed_at = by, timezone.now()
        fields += ["reviewed_by", "reviewed_at"]
    with cache.declared(Observation._meta.db_table, touched):  # this figure's metric, and only it
        observation.save(update_fields=fields)
    return observation


def _changed_meanwhile(stored: Observation) -> str:
    if stored.superseded_at is not None:
        return (f"this figure was superseded by a correction at {timezone.localtime(stored.superseded_at):%H:%M:%S}, "
                "after you opened it; act on the current one")
    who = f" by {stored.reviewed_by}" if stored.reviewed_by_id and stored.status != S.SUBMITTED else ""
    return (f"someone else acted on this figure at the same moment: it is now {stored.status}{who}; "
            "reload it to see their decision")


# --- completeness ----------------------------------------------------------------------


def missing_reports(region: Region, period: "Period | str") -> list[tuple[Organisation, list[str]]]:
    """Enterprises above designated size located in the region that have not reported
    every required metric for the period (current actual figures, any status)."""
    period = parse_period(period)
    # The catalogue is small: read it whole (JSON containment differs between SQLite and PostgreSQL).
    required = [m.code for m in Metric.objects.filter(required=True) if SubjectKind.ENTERPRISE in m.subject_kinds]
    enterprises = (Organisation.objects.in_region(region)
                   .filter(kind=OrganisationKind.ENTERPRISE, above_designated_size=True).order_by("key"))
    reported: dict[int, set[str]] = {}
    rows = Observation.objects.current().filter(
        organisation__in=enterprises.values("pk"), period=period.code, kind=ObservationKind.ACTUAL,
        metric__code__in=required).values_list("organisation_id", "metric__code")
    for organisation_id, code in rows:
        reported.setdefault(organisation_id, set()).add(code)
    return [(org, missing) for org in enterprises
            if (missing := sorted(set(required) - reported.get(org.pk, set())))]


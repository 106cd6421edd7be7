"""After approval (立项后): the bureau's funding in tranches, progress reports on a
schedule, and the outcomes a project produces (docs/programs.md).

Like services.py, every function that changes data runs in one transaction and records
who did it; `by=None` is the operator, for whom the role checks are skipped and every
other rule holds. Refusals are `ProgrammeError(field, message)`; role refusals
`NotAllowed` (the API answers 403).

Who does what:
- the bureau of the applicant's district (scoping.can_review) plans the tranches, records
  payments, schedules the reports and accepts or returns them;
- the applicant's people (scoping.can_change, as for `take`'s applicant steps) submit the
  reports; they and the bureau record outcomes.
"""

import calendar
import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from kechuang.accounts.scoping import can_change, can_review

from .counts import RECOGNISED
from .models import (
    OUTSTANDING,
    RUNNING,
    Outcome,
    OutcomeKind,
    ProgressReport,
    Project,
    ProjectState,
    ReportStatus,
    Tranche,
)
from .services import SHANGHAI, NotAllowed, ProgrammeError, _money, approval_date

P = ProjectState
#: A tranche is paid while the project runs, and after it is completed: the last tranche
#: (尾款) commonly follows the completion acceptance (结题验收). Not once terminated.
PAYABLE = (P.APPROVED, P.IN_PROGRESS, P.COMPLETED)
#: A report is scheduled at most this many months apart.
MAX_REPORT_INTERVAL = 12


def _locked(project: Project) -> Project:
    return Project.objects.select_for_update(of=("self",)).select_related("applicant").get(pk=project.pk)


def _bureau_only(by, project: Project, what: str) -> None:
    if by is not None and not can_review(by, project.applicant):
        raise NotAllowed("project", f"only the bureau of {project.applicant}'s district may {what}")


def _in_state(project: Project, states: tuple, what: str) -> None:
    if project.state not in states:
        allowed = " or ".join(str(state) for state in states)
        raise ProgrammeError("state", f"{what} only for a project that is {allowed}; this one is {project.state}")


def _today() -> dt.date:
    return timezone.localdate(timezone=SHANGHAI)


def _date(field: str, value) -> dt.date:
    # A datetime is a date too, but "paid on 2024-01-15 23:30 UTC" is two days in one.
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ProgrammeError(field, f"{value!r} is not a date")
    return value


def _positive(field: str, value) -> Decimal:
    amount = _money(field, value)
    if amount <= 0:
        raise ProgrammeError(field, "an amount is more than zero")
    return amount


def _approved_on(project: Project) -> dt.date | None:
    """The day (Asia/Shanghai) the project was approved, if it went through `approve`."""
    moment = approval_date(project)
    return timezone.localtime(moment, SHANGHAI).date() if moment is not None else None


def _by(row, by):
    if by is not None:
        row._history_user = by
    return row


# --- funding in tranches (资金拨付) -----------------------------------------------------------


@transaction.atomic
def plan_tranches(project: Project, tranches: list[tuple], *, approved_funding=None, by=None,
                  note: str = "") -> list[Tranche]:
    """The bureau plans (or re-plans) how the funding is paid: `tranches` is
    [(amount, date), …] or [(amount, date, note), …] in order.

    Paid tranches are history and stay; every unpaid one is replaced by the new plan,
    numbered after the paid ones. The paid amounts and the new plan together are at most
    the approved funding (批准资助金额): `approved_funding` sets it (at most the requested
    funding); without it, the project's approved funding, or the requested funding the
    first time a plan is made.
    """
    stored = _locked(project)
    _bureau_only(by, stored, "plan its funding")
    _in_state(stored, RUNNING, "funding is planned")
    if not tranches:
        raise ProgrammeError("tranches", "plan at least one tranche: [(amount, date), …]")
    if approved_funding is not None:
        granted = _money("approved_funding", approved_funding)
        if granted > stored.requested_funding:
            raise ProgrammeError("approved_funding", f"the approved funding ({granted} yuan) is more than the "
                                                     f"requested funding ({stored.requested_funding} yuan)")
    else:
        granted = stored.approved_funding if stored.approved_funding is not None else stored.requested_funding
    paid = list(stored.tranches.filter(paid_date__isnull=False).order_by("seq"))
    approved_on = _approved_on(stored)
    rows, previous = [], None
    next_seq = max((t.seq for t in paid), default=0) + 1
    for position, item in enumerate(tranches, start=1):
        if not isinstance(item, list | tuple) or len(item) not in (2, 3):
            raise ProgrammeError("tranches", f"tranche {position}: give (amount, date) or (amount, date, note)")
        try:
            amount, planned = _positive("tranches", item[0]), _date("tranches", item[1])
        except ProgrammeError as exc:
            raise ProgrammeError("tranches", f"tranche {position}: {exc.reason}") from None
        if approved_on is not None and planned < approved_on:
            raise ProgrammeError("tranches", f"tranche {position}: planned for {planned}, before the project was "
                                             f"approved on {approved_on}")
        if previous is not None and planned < previous:
            raise ProgrammeError("tranches", f"tranche {position}: planned for {planned}, before the tranche "
                                             f"ahead of it ({previous}); list the tranches in order")
        previous = planned
        text = str(item[2]).strip() if len(item) == 3 else note.strip()
        rows.append(Tranche(project=stored, seq=next_seq + position - 1, planned_amount=amount,
                            planned_date=planned, note=text[:300]))
    spent = sum((t.paid_amount for t in paid), Decimal(0))
    total = spent + sum((row.planned_amount for row in rows), Decimal(0))
    if total > granted:
        already = f"{spent} yuan already paid and " if paid else ""
        raise ProgrammeError("tranches", f"{already}{total - spent} yuan planned make {total} yuan, more than the "
                                         f"approved funding of {granted} yuan")
    for row in stored.tranches.filter(paid_date__isnull=True):
        _by(row, by).delete()  # one by one: the audit trail records each replaced tranche
    for row in rows:
        _by(row, by).save()
    if stored.approved_funding != granted:
        stored.approved_funding = granted
        _by(stored, by).save(update_fields=["approved_funding", "updated_at"])
    project.approved_funding = stored.approved_funding
    return list(stored.tranches.order_by("seq"))


@transaction.atomic
def record_payment(tranche: Tranche, amount, date: dt.date, *, by=None, note: str | None = None) -> Tranche:
    """The bureau records that a tranche was paid: at most its planned amount (a smaller
    payment frees the rest for a later plan), on a day not before the approval nor in the
    future. A tranche is paid once."""
    stored = Tranche.objects.select_for_update(of=("self",)).select_related("project__applicant").get(pk=tranche.pk)
    project = stored.project
    _bureau_only(by, project, "record its payments")
    _in_state(project, PAYABLE, "payments are recorded")
    if stored.paid:
        raise ProgrammeError("paid_date", f"tranche {stored.seq} was paid on {stored.paid_date} "
                                          f"({stored.paid_amount} yuan); a tranche is paid once")
    paid = _positive("amount", amount)
    if paid > stored.planned_amount:
        raise ProgrammeError("amount", f"{paid} yuan is more than tranche {stored.seq}'s planned "
                                       f"{stored.planned_amount} yuan; plan the tranches again first")
    day = _date("date", date)
    if day > _today():
        raise ProgrammeError("date", f"{day} is in the future; record a payment once it is made")
    approved_on = _approved_on(project)
    if approved_on is not None and day < approved_on:
        raise ProgrammeError("date", f"{day} is before the project was approved on {approved_on}")
    stored.paid_amount, stored.paid_date = paid, day
    if note is not None:
        stored.note = note.strip()[:300]
    _by(stored, by).save()
    return stored


# --- progress reports (进度报告) --------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it has no such day (31 August + 6 → 28 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _report_start(project: Project) -> dt.date:
    return project.planned_start or _approved_on(project) or _today()


def report_schedule(project: Project, *, every_months: int | None = None,
                    dates: list[dt.date] | None = None) -> list[tuple[str, dt.date]]:
    """The (title, due date) of each report: every `every_months` months from the planned
    start (or the approval) until the planned end, each due on the last day of the months
    it covers; or on the given `dates`."""
    if (every_months is None) == (dates is None):
        raise ProgrammeError("every_months", "give either every_months or dates")
    start = _report_start(project)
    if every_months is not None:
        if isinstance(every_months, bool) or not isinstance(every_months, int) \
                or not 1 <= every_months <= MAX_REPORT_INTERVAL:
            raise ProgrammeError("every_months", f"a report is due every 1 to {MAX_REPORT_INTERVAL} months")
        if project.planned_end is None:
            raise ProgrammeError("planned_end", "the project has no planned end to schedule its reports until; "
                                                "give the dates instead")
        dues, k = [], 1
        while (due := add_months(start, k * every_months) - dt.timedelta(days=1)) <= project.planned_end:
            dues.append(due)
            k += 1
        if not dues:
            first = add_months(start, every_months) - dt.timedelta(days=1)
            raise ProgrammeError("every_months", f"the project ends on {project.planned_end}, before its first "
                                                 f"report would be due ({first}); give the dates instead")
    else:
        if not isinstance(dates, list | tuple) or not dates:
            raise ProgrammeError("dates", "give at least one due date")
        dues = sorted(_date("dates", day) for day in dates)
        if len(set(dues)) < len(dues):
            raise ProgrammeError("dates", "two reports are due on the same day")
        if dues[0] < start:
            raise ProgrammeError("dates", f"{dues[0]} is before the project starts ({start})")
        if project.planned_end is not None and dues[-1] > project.planned_end:
            raise ProgrammeError("dates", f"{dues[-1]} is after the project's planned end ({project.planned_end})")
    schedule, covers_from = [], start
    for n, due in enumerate(dues, start=1):
        schedule.append((f"第{n}期进度报告（{covers_from}至{due}）", due))
        covers_from = due + dt.timedelta(days=1)
    return schedule


@transaction.atomic
def schedule_reports(project: Project, *, every_months: int | None = None, dates: list[dt.date] | None = None,
                     by=None) -> list[ProgressReport]:
    """The bureau sets when the project reports (see `report_schedule`). A report once
    submitted stays; every other scheduled one is replaced by the new schedule."""
    stored = _locked(project)
    _bureau_only(by, stored, "schedule its progress reports")
    _in_state(stored, RUNNING, "reports are scheduled")
    schedule = report_schedule(stored, every_months=every_months, dates=dates)
    for row in stored.progress_reports.filter(submitted_at__isnull=True):
        _by(row, by).delete()
    kept = set(stored.progress_reports.values_list("due", flat=True))
    for title, due in schedule:
        if due not in kept:  # already reported for that day
            _by(ProgressReport(project=stored, title=title, due=due), by).save()
    return list(stored.progress_reports.order_by("due"))


def _locked_report(report: ProgressReport) -> ProgressReport:
    return (ProgressReport.objects.select_for_update(of=("self",)).select_related("project__applicant")
            .get(pk=report.pk))


@transaction.atomic
def submit_report(report: ProgressReport, text: str, *, by=None) -> ProgressReport:
    """The applicant's people submit a report that is due (or returned to them), late or not."""
    stored = _locked_report(report)
    if by is not None and not can_change(by, stored.project):
        raise NotAllowed("report", "only the applicant's own users may submit its progress reports")
    _in_state(stored.project, RUNNING, "progress reports are submitted")
    if stored.status not in OUTSTANDING:
        raise ProgrammeError("status", f"{stored.title} is {stored.status}; only a report that is due or "
                                       "returned for correction is submitted")
    if not isinstance(text, str) or not text.strip():
        raise ProgrammeError("text", "a report says what was done")
    stored.status, stored.text = ReportStatus.SUBMITTED, text.strip()
    stored.submitted_at, stored.submitted_by = timezone.now(), by
    _by(stored, by).save()
    return stored


def _decide_report(report: ProgressReport, status: str, comment: str, by) -> ProgressReport:
    stored = _locked_report(report)
    _bureau_only(by, stored.project, "accept or return its progress reports")
    if stored.status != ReportStatus.SUBMITTED:
        raise ProgrammeError("status", f"{stored.title} is {stored.status}; only a submitted report is "
                                       "accepted or returned")
    stored.status, stored.review_comment = status, comment.strip()
    stored.reviewed_at, stored.reviewed_by = timezone.now(), by
    _by(stored, by).save()
    return stored


@transaction.atomic
def accept_report(report: ProgressReport, *, by=None, comment: str = "") -> ProgressReport:
    """The bureau accepts a submitted report (已通过)."""
    return _decide_report(report, ReportStatus.ACCEPTED, comment, by)


@transaction.atomic
def return_report(report: ProgressReport, comment: str, *, by=None) -> ProgressReport:
    """The bureau returns a submitted report for correction, saying why; it is outstanding
    again (and overdue if past its due date) until submitted anew."""
    if not isinstance(comment, str) or not comment.strip():
        raise ProgrammeError("comment", "say why the report is returned")
    return _decide_report(report, ReportStatus.RETURNED, comment, by)


def reports_due(today: dt.date | None = None, within_days: int = 0):
    """Reports still owed by running projects, due on or before `today + within_days`,
    earliest first: the overdue ones and those coming due (for reminders)."""
    today = today or _today()
    return (ProgressReport.objects.outstanding().filter(due__lte=today + dt.timedelta(days=within_days))
            .select_related("project__applicant").order_by("due", "project__key"))


# --- outcomes (项目成果) ---------------------------------------------------------------------


@transaction.atomic
def record_outcome(project: Project, *, kind: str, title: str, date: dt.date, identifier: str = "",
                   amount=None, by=None, synthetic: bool = False) -> Outcome:
    """The applicant's people or the bureau record what an approved project produced: a
    patent filed or granted, a new product, a standard drafted, or revenue from its
    results (成果转化收入, the only kind with an amount, in yuan). Counted by `date`."""
    stored = _locked(project)
    if by is not None and not can_change(by, stored):
        raise NotAllowed("project", "only the applicant's own users or the bureau record its outcomes")
    _in_state(stored, RECOGNISED, "outcomes are recorded")
    if kind not in OutcomeKind.values:
        raise ProgrammeError("kind", f"{kind!r} is not one of {', '.join(OutcomeKind.values)}")
    if not isinstance(title, str) or not title.strip():
        raise ProgrammeError("title", "an outcome has a title (the patent's, product's or standard's name)")
    day = _date("date", date)
    if day > _today():
        raise ProgrammeError("date", f"{day} is in the future; record an outcome once it happened")
    identifier = (identifier or "").strip()
    if len(identifier) > Outcome._meta.get_field("identifier").max_length:
        raise ProgrammeError("identifier", "at most 100 characters")
    if kind == OutcomeKind.REVENUE:
        if amount is None:
            raise ProgrammeError("amount", "revenue from results (成果转化收入) is recorded with its amount in yuan")
        value = _positive("amount", amount)
    elif amount is not None:
        raise ProgrammeError("amount", f"only revenue carries an amount; a {OutcomeKind(kind).label} does not")
    else:
        value = None
    if identifier:
        twin = stored.outcomes.filter(kind=kind, identifier=identifier).first()
        if twin is not None:
            raise ProgrammeError("identifier", f"{identifier} is already recorded for this project "
                                               f"({twin.title}, {twin.date}); an outcome counts once")
    outcome = Outcome(project=stored, kind=kind, title=title.strip()[:300], date=day, identifier=identifier,
                      amount=value, recorded_by=by, synthetic=synthetic)
    _by(outcome, by).save()
    return outcome

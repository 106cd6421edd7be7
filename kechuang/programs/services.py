"""The programmes' use cases: opening a call, creating a project, taking it through its
lifecycle (one table, `LIFECYCLE`, one function, `take`), and the expert review.

Every function that changes data runs in one transaction and records who did it.
`by=None` is the operator on the command line (or the demo), who may do anything the
rules allow: the role checks are skipped, the rules themselves (deadlines, what must be
present) are not.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Avg, Count, F, Q
from django.urls import reverse
from django.utils import timezone

from kechuang.accounts.models import Grant
from kechuang.accounts.scoping import can_change, can_review, scope_of
from kechuang.errors import RoleRefusal
from kechuang.notifications.models import NotificationKind
from kechuang.notifications.services import notify, notify_many, users_of
from kechuang.registry.models import CONTAINER_KINDS, Organisation, OrganisationKind, Region
from kechuang.workflows import Transition, TransitionError, Workflow

from .models import (
    Call,
    Expert,
    Party,
    PartyRole,
    Project,
    ProjectKind,
    ProjectState,
    ProjectTransition,
    ReviewAssignment,
)

#: The bureau's calendar: a call closes, and a project is approved, on a day in China.
SHANGHAI = ZoneInfo("Asia/Shanghai")

P = ProjectState
#: The project lifecycle (项目全生命周期). Who may take each transition: `GUARDS` below.
LIFECYCLE = Workflow("project lifecycle", [
    Transition("submit", (P.DRAFT,), P.SUBMITTED, "submit the application 申报"),
    Transition("withdraw", (P.SUBMITTED,), P.DRAFT, "withdraw the application 撤回"),
    Transition("return", (P.SUBMITTED,), P.DRAFT, "return for correction 退回修改"),
    Transition("start_review", (P.SUBMITTED,), P.UNDER_REVIEW, "start the expert review 开始评审"),
    Transition("approve", (P.UNDER_REVIEW,), P.APPROVED, "approve 立项"),
    Transition("reject", (P.SUBMITTED, P.UNDER_REVIEW), P.REJECTED, "reject 不予立项"),
    Transition("start", (P.APPROVED,), P.IN_PROGRESS, "start the work 启动实施"),
    Transition("complete", (P.IN_PROGRESS,), P.COMPLETED, "accept the completed project 结题验收"),
    Transition("terminate", (P.APPROVED, P.IN_PROGRESS), P.TERMINATED, "terminate 终止"),
])

APPLICANT, BUREAU = "applicant", "bureau"
#: Who may take each transition: the applicant's people (and whoever may change the
#: applicant, see scoping.can_change), or the bureau of the applicant's district
#: (scoping.can_review).
GUARDS = {"submit": APPLICANT, "withdraw": APPLICANT, "return": BUREAU, "start_review": BUREAU, "approve": BUREAU,
          "reject": BUREAU, "start": BUREAU, "complete": BUREAU, "terminate": BUREAU}
#: Transitions that must say why.
NEED_COMMENT = ("return", "reject", "terminate")

#: The partner roles, and the kind of organisation each must be.
PARTNER_KINDS = {
    PartyRole.ENTERPRISE_PARTNER: OrganisationKind.ENTERPRISE,
    PartyRole.UNIVERSITY_PARTNER: OrganisationKind.UNIVERSITY,
    PartyRole.INSTITUTE_PARTNER: OrganisationKind.INSTITUTE,
}
ACADEMIC_KINDS = (OrganisationKind.UNIVERSITY, OrganisationKind.INSTITUTE)
CENT = Decimal("0.01")


class ProgrammeError(ValidationError):
    """A rule of the programmes was broken; `field` names what was wrong."""

    def __init__(self, field: str, message: str):
        super().__init__({field: [message]})
        self.field = field
        self.reason = message


class NotAllowed(ProgrammeError, RoleRefusal):
    """The user's role does not allow this (the API answers 403)."""


# --- calls -------------------------------------------------------------------------------


#: The years a call may open or close in: a typing slip (1703, 20230) is refused, not kept
#: (and before 1901 Shanghai's time was its local mean time, +08:05:43, no RFC 3339 offset).
CALL_YEARS = (1990, 2100)


@transaction.atomic
def open_call(region: Region, *, key: str, programme_zh: str, categories: list[str], opens: dt.datetime,
              closes: dt.datetime, criteria: list[dict] = (), required_documents: list[str] = (),
              budget: Decimal | None = None, places: int | None = None, review_days: int = 14,
              programme_en: str = "", by=None, synthetic: bool = False, source=None) -> Call:
    """The bureau opens a call for applications (申报通知) for its region."""
    call = Call(key=key, programme_zh=programme_zh, programme_en=programme_en, region=region,
                categories=list(categories), opens=_aware(opens), closes=_aware(closes),
                required_documents=list(required_documents), criteria=[dict(c) for c in criteria],
                budget=_money("budget", budget) if budget is not None else None, places=places,
                review_days=review_days, synthetic=synthetic, source=source)
    if by is not None and not can_change(by, call):
        raise NotAllowed("region", f"only a bureau admin of {region.name_zh} {region.code} opens its calls")
    if not call.categories or any(not str(c).strip() for c in call.categories):
        raise ProgrammeError("categories", "a call names at least one category, e.g. 普通科创项目")
    for name in ("opens", "closes"):
        year = timezone.localtime(getattr(call, name), SHANGHAI).year
        if not CALL_YEARS[0] <= year <= CALL_YEARS[1]:
            raise ProgrammeError(name, f"a call {name} between {CALL_YEARS[0]} and {CALL_YEARS[1]}, not in {year}")
    if call.closes <= call.opens:
        raise ProgrammeError("closes", "a call closes after it opens")
    for criterion in call.criteria:
        if not str(criterion.get("name", "")).strip() or not _is_positive_number(criterion.get("max")):
            raise ProgrammeError("criteria", f"{criterion!r}: each criterion has a name and a positive maximum "
                                             'score, e.g. {"name": "创新性", "max": 40}')
    if len({c["name"] for c in call.criteria}) < len(call.criteria):
        raise ProgrammeError("criteria", "two criteria have the same name")
    call.full_clean(validate_constraints=False)
    call.save()
    return call


def _is_positive_number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool) and value > 0


# --- projects ----------------------------------------------------------------------------


@transaction.atomic
def create_project(applicant: Organisation, *, kind: str = ProjectKind.INNOVATION, title_zh: str,
                   call: Call | None = None, category: str = "",
                   parties: list[tuple[Organisation, str]] = (), requested_funding=0, own_funding=0,
                   planned_start: dt.date | None = None, planned_end: dt.date | None = None,
                   agreement_date: dt.date | None = None, contract_value=None, title_en: str = "",
                   summary: str = "", by=None, synthetic: bool = False, key: str | None = None,
                   source=None) -> Project:
    """A draft project of `applicant`, who is its lead party; `parties` are the partners,
    as (organisation, role). A collaboration (产学研合作) needs an enterprise and a
    university or research institute among its parties; the partners may be anywhere."""
    project = new_project(applicant, kind=kind, title_zh=title_zh, call=call, category=category,
                          requested_funding=requested_funding, own_funding=own_funding,
                          planned_start=planned_start, planned_end=planned_end, agreement_date=agreement_date,
                          contract_value=contract_value, title_en=title_en, summary=summary, by=by,
                          synthetic=synthetic, key=key, source=source)
    if by is not None and not can_change(by, project):
        raise NotAllowed("applicant", f"{applicant} is not yours to apply for")
    if call is not None and not Organisation.objects.in_region(call.region).filter(pk=applicant.pk).exists():
        raise ProgrammeError("call", f"{call} is for organisations located in {call.region.name_zh} "
                                     f"{call.region.code}; {applicant} is not located there")
    rows = party_rows(project, parties)
    check_parties(kind, [(row.organisation, row.role) for row in rows])
    project.full_clean(validate_constraints=False)
    if by is not None:
        project._history_user = by
    project.save()
    for row in rows:
        row.project = project
        row.save()
    return project


def new_project(applicant: Organisation, *, kind: str = ProjectKind.INNOVATION, title_zh: str,
                call: Call | None = None, category: str = "", requested_funding=0, own_funding=0,
                planned_start: dt.date | None = None, planned_end: dt.date | None = None,
                agreement_date: dt.date | None = None, contract_value=None, title_en: str = "", summary: str = "", by=None, synthetic: bool = False, key: str | None = None,
                source=None) -> Project:
    """The unsaved draft `create_project` writes, checked field by field (the demo's bulk
    path builds its rows here too)."""
    if kind not in ProjectKind.values:
        raise ProgrammeError("kind", f"{kind!r} is not one of {', '.join(ProjectKind.values)}")
    if applicant.kind in CONTAINER_KINDS or applicant.kind == OrganisationKind.GOVERNMENT:
        raise ProgrammeError("applicant", f"{applicant} is a {applicant.kind}; enterprises, universities and "
                                          "institutes apply")
    if kind == ProjectKind.COLLABORATION and applicant.kind != OrganisationKind.ENTERPRISE:
        raise ProgrammeError("applicant", "an enterprise leads a collaboration (产学研合作) and applies for it")
    if not title_zh.strip():
        raise ProgrammeError("title_zh", "a project has a title")
    if call is not None and category and category not in call.categories:
        raise ProgrammeError("category", f"{category!r} is not a category of {call}: {', '.join(call.categories)}")
    if planned_start and planned_end and planned_end < planned_start:
        raise ProgrammeError("planned_end", "a project ends after it starts")
    return Project(
        key=key or f"project-{uuid.uuid4().hex[:16]}", kind=kind, call=call, category=category,
        title_zh=title_zh.strip(), title_en=title_en, summary=summary, applicant=applicant,
        planned_start=planned_start, planned_end=planned_end,
        requested_funding=_money("requested_funding", requested_funding),
        own_funding=_money("own_funding", own_funding), agreement_date=agreement_date,
        contract_value=_money("contract_value", contract_value) if contract_value is not None else None,
        state=P.DRAFT, synthetic=synthetic, source=source, created_by=by,
    )


def party_rows(project: Project, parties: list[tuple[Organisation, str]]) -> list[Party]:
    """The applicant as lead, then the partners, each once and in a role fitting its kind."""
    rows = [Party(project=project, organisation=project.applicant, role=PartyRole.LEAD)]
    seen = {project.applicant.pk}
    for organisation, role in parties:
        if role == PartyRole.LEAD:
            raise ProgrammeError("parties", "the applicant is the lead party; partners have a partner role")
        if role not in PARTNER_KINDS:
            raise ProgrammeError("parties", f"{role!r} is not one of {', '.join(PARTNER_KINDS)}")
        if organisation.kind != PARTNER_KINDS[role]:
            raise ProgrammeError("parties", f"{organisation} is a {organisation.kind}, not a "
                                            f"{PARTNER_KINDS[role]}: it cannot be a {role}")
        if organisation.pk in seen:
            raise ProgrammeError("parties", f"{organisation} takes part once")
        seen.add(organisation.pk)
        rows.append(Party(project=project, organisation=organisation, role=role))
    return rows


def check_parties(kind: str, parties: list[tuple[Organisation, str]]) -> None:
    """A collaboration joins at least one enterprise with at least one university or institute."""
    if kind != ProjectKind.COLLABORATION:
        return
    kinds = {organisation.kind for organisation, _ in parties}
    if OrganisationKind.ENTERPRISE not in kinds or not kinds & set(ACADEMIC_KINDS):
        raise ProgrammeError("parties", "a collaboration (产学研合作) needs at least one enterprise and at least "
                                        "one university or research institute among its parties")


def _money(field: str, value) -> Decimal:
    if isinstance(value, float):
        raise ProgrammeError(field, "give amounts as Decimal or text, not float (yuan are counted exactly)")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ProgrammeError(field, f"{value!r} is not an amount in yuan") from None
    if not amount.is_finite() or amount < 0:
        raise ProgrammeError(field, "an amount cannot be negative")
    if amount != amount.quantize(CENT):
        raise ProgrammeError(field, "amounts are in yuan with at most two decimals (fen)")
    return amount.quantize(CENT)


def _aware(moment: dt.datetime) -> dt.datetime:
    """A naive datetime is read as the bureau's local time."""
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=SHANGHAI)


#: What the applicant's people change in a draft (`update_draft`); the call, the applicant
#: and the parties stay as the draft was created.
DRAFT_FIELDS = ("category", "title_zh", "title_en", "summary", "requested_funding", "own_funding", "planned_start",
                "planned_end", "agreement_date", "contract_value")


@transaction.atomic
def update_draft(project: Project, *, by=None, unchanged_since: dt.datetime | None = None, **changes) -> Project:
    """The applicant's people change their draft application (the fields of `DRAFT_FIELDS`),
    each checked as `create_project` checks it. `unchanged_since` is the `updated_at` the
    editor read: when someone else saved the draft in between, the change is refused rather
    than silently overwriting theirs."""
    stored = Project.objects.select_for_update(of=("self",)).select_related("call", "applicant").get(pk=project.pk)
    if by is not None and not can_change(by, stored):
        raise NotAllowed("applicant", f"{stored.applicant} is not yours to apply for")
    if stored.state != P.DRAFT:
        raise ProgrammeError("state", f"only a draft is changed; this application is {stored.state}")
    unknown = sorted(set(changes) - set(DRAFT_FIELDS))
    if unknown:
        raise ProgrammeError(unknown[0], f"{', '.join(unknown)}: not a field of a draft one may change")
    if unchanged_since is not None and stored.updated_at != unchanged_since:
        raise ProgrammeError("updated_at", "someone else saved this application after you opened it; reload it "
                                           "to see their changes, then make yours again")
    values = {name: getattr(stored, name) for name in DRAFT_FIELDS} | changes
    checked = new_project(stored.applicant, kind=stored.kind, call=stored.call, key=stored.key, **values)
    for name in DRAFT_FIELDS:
        setattr(stored, name, getattr(checked, name))
    stored.full_clean(validate_constraints=False)
    if by is not None:
        stored._history_user = by
    stored.save(update_fields=[*DRAFT_FIELDS, "updated_at"])
    return stored


# --- the lifecycle -----------------------------------------------------------------------


@transaction.atomic
def take(project: Project, transition: str, *, by=None, at: dt.datetime | None = None,
         comment: str = "") -> ProjectTransition:
    """Move a project along `LIFECYCLE`, recording the step (ProjectTransition) and the
    new state (audited) together. `at` is when it happened (default now; the demo and
    imports give historical dates)."""
    stored = Project.objects.select_for_update(of=("self",)).select_related("call", "applicant").get(pk=project.pk)
    try:
        step = LIFECYCLE.check(transition, stored.state)
    except TransitionError as exc:
        raise ProgrammeError("state", str(exc)) from None
    if by is not None:
        allowed = can_change(by, stored) if GUARDS[transition] == APPLICANT else can_review(by, stored.applicant)
        if not allowed:
            who = ("the applicant's own users" if GUARDS[transition] == APPLICANT
                   else f"the bureau of {stored.applicant}'s district")
            raise NotAllowed("state", f"only {who} may {transition} this project")
    at = _aware(at) if at is not None else timezone.now()
    check_transition(stored, transition, at, comment)
    row = ProjectTransition.objects.create(project=stored, name=transition, from_state=stored.state,
                                           to_state=step.target, at=at, by=by, comment=comment.strip())
    stored.state = step.target
    if by is not None:
        stored._history_user = by
    stored.save(update_fields=["state", "updated_at"])
    project.state, project.updated_at = stored.state, stored.updated_at
    _notify_transition(stored, row)
    return row


#: What the applicant's users are told after a step that concerns them (docs/notifications.md):
#: the kind of notification, the subject (Chinese, then English) and what happened, in both.
TRANSITION_NOTICES = {
    "submit": (NotificationKind.SUBMISSION_RECEIPT, "申报已受理 Application received",
               "已提交申报", "was submitted"),
    "approve": (NotificationKind.DECISION, "项目已立项 Project approved", "已获立项", "was approved"),
    "reject": (NotificationKind.DECISION, "项目未获立项 Application rejected", "未获立项", "was rejected"),
    "return": (NotificationKind.DECISION, "申报已退回修改 Application returned for correction",
               "已退回修改", "was returned for correction"),
    "terminate": (NotificationKind.DECISION, "项目已终止 Project terminated", "已终止", "was terminated"),
}


def _notify_transition(project: Project, row: ProjectTransition) -> None:
    """Tell the applicant's users (and whoever submitted, for a receipt) about the step.
    The key names the transition row: each submission gets its receipt, a resubmission
    after a withdrawal a new one, and the same step is never told twice."""
    if row.name not in TRANSITION_NOTICES:
        return
    kind, subject, done_zh, done_en = TRANSITION_NOTICES[row.name]
    when = timezone.localtime(row.at, SHANGHAI)
    title = str(project)
    lines = [f"{project.applicant}的项目「{title}」于 {when:%Y-%m-%d %H:%M}（北京时间）{done_zh}。",
             f"The project \"{title}\" of {project.applicant} {done_en} on {when:%Y-%m-%d %H:%M} (Asia/Shanghai)."]
    if project.call_id:
        lines.append(f"申报通知 Call: {project.call}")
    if row.comment:
        lines += ["", f"意见 Comment: {row.comment}"]
    recipients = users_of(project.applicant)
    if row.name == "submit" and row.by is not None:
        recipients.append(row.by)  # a park manager or the bureau submitting for the firm gets the receipt too
    notify_many(recipients, kind=kind, key=f"project:{project.pk}:{row.name}:{row.pk}", subject=f"{subject}: {title}",
                body="\n".join(lines), link=reverse("programs-application", args=[project.key]))


def check_transition(project: Project, transition: str, at: dt.datetime, comment: str) -> None:
    """What must be true for `transition` beyond the state and the role: the rules of each step."""
    if at > timezone.now() + dt.timedelta(minutes=5):
        raise ProgrammeError("at", "a transition cannot be dated in the future")
    last = project.transitions.order_by("-at").values_list("at", flat=True).first()
    if last is not None and at < last:
        when = timezone.localtime(last, SHANGHAI)
        raise ProgrammeError("at", f"the project's last step was on {when:%Y-%m-%d %H:%M}; "
                                   "a later one cannot be dated before it")
    if transition in NEED_COMMENT and not comment.strip():
        raise ProgrammeError("comment", f"say why ({transition})")
    if transition == "submit":
        check_submission(project, at)
    if transition == "approve":
        pending = project.reviews.filter(submitted_at__isnull=True).select_related("reviewer")
        if pending:
            names = ", ".join(str(review.reviewer) for review in pending)
            raise ProgrammeError("reviews", f"every assigned review must be submitted before approval; "
                                            f"waiting for {names}")


def check_submission(project: Project, at: dt.datetime) -> None:
    """An application is complete, and the call open, at the moment it is submitted."""
    call = project.call
    if call is not None:
        local = timezone.localtime(at, SHANGHAI)
        if at < call.opens:
            raise ProgrammeError("call", f"{call} opens on {timezone.localtime(call.opens, SHANGHAI):%Y-%m-%d %H:%M} "
                                         f"(Asia/Shanghai); it was {local:%Y-%m-%d %H:%M}")
        if at > call.closes:
            raise ProgrammeError("call", f"{call} closed on {timezone.localtime(call.closes, SHANGHAI):%Y-%m-%d %H:%M}"
                                         f" (Asia/Shanghai); submissions after the closing date are refused")
        if project.category not in call.categories:
            raise ProgrammeError("category", f"choose a category of {call}: {', '.join(call.categories)}")
    if not project.title_zh.strip():
        raise ProgrammeError("title_zh", "a project has a title")
    parties = [(party.organisation, party.role) for party in project.parties.select_related("organisation")]
    if not any(role == PartyRole.LEAD for _, role in parties):
        raise ProgrammeError("parties", "a project has a lead party (牵头单位)")
    check_parties(project.kind, parties)
    if project.kind == ProjectKind.COLLABORATION and project.agreement_date is None:
        raise ProgrammeError("agreement_date", "a collaboration is submitted with the date its agreement was signed")


def approval_date(project: Project) -> dt.datetime | None:
    """When the project was approved (立项), if it was."""
    return project.transitions.filter(to_state=P.APPROVED).values_list("at", flat=True).first()


# --- review ------------------------------------------------------------------------------


@transaction.atomic
def register_expert(user, *, affiliation: Organisation | None = None, expertise: str = "", by=None) -> Expert:
    """Record (or update) a reviewer's profile; where they work decides their conflicts."""
    if by is not None and not (by.is_superuser or _is_bureau_admin(by)):
        raise NotAllowed("user", "only a bureau admin registers experts")
    expert, _ = Expert.objects.update_or_create(user=user, defaults={"affiliation": affiliation,
                                                                     "expertise": expertise})
    return expert


def _is_bureau_admin(user) -> bool:
    return bool(scope_of(user).change_paths)


def check_assignment(project: Project, reviewer, *, by=None) -> None:
    """Whether `reviewer` may be assigned to review `project`, by `by`."""
    if by is not None and not can_review(by, project.applicant):
        raise NotAllowed("reviewer", f"only the bureau of {project.applicant}'s district assigns its reviewers")
    if project.state not in (P.SUBMITTED, P.UNDER_REVIEW):
        raise ProgrammeError("project", f"reviewers are assigned to a submitted project or one under review; "
                                        f"this one is {project.state}")
    expert = Expert.objects.filter(user=reviewer).select_related("affiliation").first()
    if expert is None:
        raise ProgrammeError("reviewer", f"{reviewer} has no expert profile; register them as an expert first")
    parties = project.parties.values("organisation_id")
    # 回避: an expert from a party, or a user of a party, does not review it.
    if expert.affiliation_id is not None and project.parties.filter(organisation=expert.affiliation_id).exists():
        raise ProgrammeError("reviewer", f"conflict of interest: {reviewer} works for {expert.affiliation}, a party "
                                         "to this project")
    if Grant.objects.active().filter(user=reviewer, organisation__in=parties).exists():
        raise ProgrammeError("reviewer", f"conflict of interest: {reviewer} is a user of a party to this project")
    if project.reviews.filter(reviewer=reviewer).exists():
        raise ProgrammeError("reviewer", f"{reviewer} is already assigned to this project")


@transaction.atomic
def assign_reviewer(project: Project, reviewer, *, by=None, due: dt.date | None = None) -> ReviewAssignment:
    """The bureau assigns an expert to review a project, due `call.review_days` after today by default."""
    check_assignment(project, reviewer, by=by)
    if due is None:
        days = project.call.review_days if project.call_id else Call._meta.get_field("review_days").default
        due = timezone.localdate() + dt.timedelta(days=days)
    assignment = ReviewAssignment(project=project, reviewer=reviewer, assigned_by=by, due=due)
    if by is not None:
        assignment._history_user = by
    assignment.save()
    _notify_assignment(assignment)
    return assignment


def _notify_assignment(assignment: ReviewAssignment) -> None:
    """Tell the reviewer what to review and by when (once per assignment)."""
    project = assignment.project
    title = str(project)
    body = (f"您已被指派评审{project.applicant}的项目「{title}」，请于 {assignment.due:%Y-%m-%d} 前提交评分。\n"
            f"You are assigned to review \"{title}\" of {project.applicant}; please submit your scores by "
            f"{assignment.due:%Y-%m-%d}.")
    notify(assignment.reviewer, kind=NotificationKind.REVIEW_ASSIGNED, key=f"review:{assignment.pk}:assigned",
           subject=f"评审任务 Review assigned: {title}", body=body,
           link=reverse("programs-review", args=[assignment.pk]))


def check_scores(call: Call | None, scores: dict) -> dict[str, Decimal]:
    """The scores against the call's criteria: every criterion, each between 0 and its maximum."""
    criteria = {c["name"]: Decimal(str(c["max"])) for c in (call.criteria if call else [])}
    if not criteria:
        raise ProgrammeError("scores", "the project's call has no review criteria to score against")
    unknown = sorted(set(scores) - set(criteria))
    if unknown:
        raise ProgrammeError("scores", f"{', '.join(unknown)}: not a criterion of {call}; "
                                       f"the criteria are {', '.join(criteria)}")
    missing = [name for name in criteria if name not in scores]
    if missing:
        raise ProgrammeError("scores", f"score every criterion; missing: {', '.join(missing)}")
    checked = {}
    for name, maximum in criteria.items():
        value = scores[name]
        try:
            score = Decimal(str(value)) if not isinstance(value, bool) else None
        except InvalidOperation:
            score = None
        if score is None or not score.is_finite() or score != score.quantize(CENT):
            raise ProgrammeError("scores", f"{name}: {value!r} is not a score")
        if not 0 <= score <= maximum:
            raise ProgrammeError("scores", f"{name}: {score} is outside 0..{maximum}")
        checked[name] = score
    return checked


@transaction.atomic
def submit_review(assignment: ReviewAssignment, scores: dict, comment: str = "", *, by=None,
                  declaration: str = "", at: dt.datetime | None = None) -> ReviewAssignment:
    """The assigned reviewer scores the project against the call's criteria; the total is their sum."""
    assignment = ReviewAssignment.objects.select_for_update(of=("self",)).select_related("project__call").get(pk=assignment.pk)
    if by is not None and by.pk != assignment.reviewer_id:
        raise NotAllowed("reviewer", "only the assigned reviewer submits this review")
    if assignment.submitted_at is not None:
        when = timezone.localtime(assignment.submitted_at, SHANGHAI)
        raise ProgrammeError("scores", f"this review was submitted on {when:%Y-%m-%d}; a submitted review is final")
    if assignment.project.state != P.UNDER_REVIEW:
        raise ProgrammeError("project", f"the project is {assignment.project.state}, not under review")
    checked = check_scores(assignment.project.call, scores)
    assignment.scores = {name: int(score) if score == score.to_integral_value() else float(score)
                         for name, score in checked.items()}
    assignment.total = sum(checked.values(), Decimal(0))
    assignment.comment, assignment.conflict_declaration = comment.strip(), declaration.strip()
    assignment.submitted_at = _aware(at) if at is not None else timezone.now()
    if by is not None:
        assignment._history_user = by
    assignment.save()
    return assignment


@dataclass(frozen=True)
class Ranked:
    """A project of a call in the bureau's ranking, with its reviewers' scores."""

    project: Project
    mean_total: Decimal | None
    reviews: int
    totals: list[Decimal]


def ranking(call: Call, *, by=None) -> list[Ranked]:
    """The call's projects under review or decided, best mean total first (unreviewed last)."""
    if by is not None and not can_review(by, call.region):
        raise NotAllowed("call", f"the ranking of {call} is for the bureau of {call.region.name_zh}")
    submitted = Q(reviews__submitted_at__isnull=False)
    projects = (call.projects.exclude(state=P.DRAFT)
                .annotate(mean_total=Avg("reviews__total", filter=submitted), review_count=Count("reviews", filter=submitted))
                .order_by(F("mean_total").desc(nulls_last=True), "key"))
    totals: dict[int, list[Decimal]] = {}
    for project_id, total in (ReviewAssignment.objects.filter(project__call=call, submitted_at__isnull=False)
                              .order_by("-total").values_list("project_id", "total")):
        totals.setdefault(project_id, []).append(total)
    return [Ranked(project, Decimal(project.mean_total).quantize(CENT) if project.mean_total is not None else None,
                   project.review_count, totals.get(project.pk, [])) for project in projects]


def overdue_reviews(today: dt.date | None = None):
    """Assignments past their due date and not submitted, of projects still waiting for a decision."""
    today = today or timezone.localdate()
    return (ReviewAssignment.objects.filter(due__lt=today, submitted_at__isnull=True,
                                            project__state__in=(P.SUBMITTED, P.UNDER_REVIEW))
            .select_related("project", "reviewer").order_by("due", "project__key"))

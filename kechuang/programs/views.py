"""The programmes' web pages: calls, applications, the bureau's review board and the
reviewers' queue (docs/programs.md).

Every row shown comes through `scoping.visible_to` (a row outside the user's scope is a
404); every change goes through the services (`services.create_project`, `update_draft`,
`take`, `assign_reviewer`, `submit_review`, `attachments.attach`), whose refusals come back
as errors on the form, naming the field. A role refusal (`NotAllowed`) is a 403.

The lists keep their filters, sorting and page in the URL; htmx asks the same URL for the
list part alone (`request.htmx`), and the answer varies on HX-Request.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, OuterRef, Q, Subquery
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from kechuang.accounts.scoping import can_change, can_review, scope_of, visible_to, workspaces
from kechuang.registry.models import Organisation, Region
from kechuang.web import htmx, language, lists

from . import services
from .api import MULTIPART_ENVELOPE
from .attachments import attach, download_name, max_bytes, readable_size
from .forms import (
    CALL_STATUSES,
    DECISIONS,
    STATE_LABELS,
    STEP_LABELS,
    ApplicationForm,
    AssignForm,
    CallFilterForm,
    DecisionForm,
    ProjectFilterForm,
    ScoreForm,
    put_error,
)
from .models import Call, Expert, Project, ProjectState, ProjectTransition, ReviewAssignment

P = ProjectState
#: The states the review board shows unless told otherwise: waiting for the bureau.
AWAITING = (P.SUBMITTED, P.UNDER_REVIEW)


# --- who may open which page ----------------------------------------------------------------


def _scope(request):
    return scope_of(request.user)


def _own_enterprises(request):
    """The enterprises the user applies for (their enterprise-user grants)."""
    return Organisation.objects.filter(pk__in=_scope(request).enterprises).order_by("name_zh")


def _labelled(projects):
    """Each project with `state_label`, its state in the page's language."""
    for project in projects:
        project.state_label = STATE_LABELS.get(project.state, project.state)
    return projects


def _local(moment: dt.datetime | None):
    """A moment as the bureau's wall clock, without a zone (a spreadsheet cell holds none)."""
    return timezone.localtime(moment, services.SHANGHAI).replace(tzinfo=None) if moment else None


def _filter_problems(form) -> list[str]:
    """A bad filter value is said, and that filter left out: never a server error."""
    form.is_valid()
    return [f"{form.fields[name].label}: {' '.join(errors)}" if name in form.fields else " ".join(errors)
            for name, errors in form.errors.items()]


# --- calls (申报通知) -------------------------------------------------------------------------


def call_status(call: Call, now: dt.datetime | None = None) -> str:
    """open, upcoming or closed, by the moments submissions are accepted (opens ≤ now ≤ closes)."""
    now = now or timezone.now()
    return "upcoming" if now < call.opens else "closed" if now > call.closes else "open"


def _status_condition(status: str, now: dt.datetime) -> Q:
    return {"open": Q(opens__lte=now, closes__gte=now), "upcoming": Q(opens__gt=now),
            "closed": Q(closes__lt=now)}[status]


def _visible_calls(request):
    return visible_to(Call.objects.select_related("region"), request.user)


@login_required
def calls(request):
    """The calls for applications the user may see, filtered, sorted, paged, exported."""
    if not workspaces(request.user).calls:
        raise PermissionDenied(_("Calls for applications are for enterprises, parks and the bureau."))
    now = timezone.now()
    visible = _visible_calls(request)
    regions = list(Region.objects.filter(pk__in=visible.values("region_id")).order_by("path"))
    form = CallFilterForm(request.GET, regions=[(r.code, f"{language.bilingual(r)} {r.code}")
                                                for r in regions])
    problems = _filter_problems(form)
    chosen = form.cleaned_data
    rows = visible
    if chosen.get("status"):
        rows = rows.filter(_status_condition(chosen["status"], now))
    if chosen.get("year"):
        rows = rows.filter(opens__year=chosen["year"])
    if chosen.get("region"):
        region = next(r for r in regions if r.code == chosen["region"])
        rows = rows.filter(region__path__startswith=region.path)
    rows = lists.ordered(request, rows, {"programme": "programme_zh", "region": "region__code", "opens": "opens",
                                         "closes": "closes"}, default="-opens")
    if fmt := lists.export_format(request):
        return lists.download(rows, [
            (pgettext("identifier", "Key"), lambda c: c.key),
            (_("Programme (Chinese)"), lambda c: c.programme_zh),
            (_("Programme (English)"), lambda c: c.programme_en),
            (_("Region"), lambda c: f"{c.region.name_zh} {c.region.code}"),
            (_("Categories"), lambda c: "、".join(c.categories)),
            (_("Opens"), lambda c: _local(c.opens)),
            (_("Closes"), lambda c: _local(c.closes)),
            (_("Status"), lambda c: str(CALL_STATUSES[call_status(c, now)])),
            (_("Budget (yuan)"), lambda c: c.budget),
            (_("Places"), lambda c: c.places),
        ], "calls", fmt)
    page = lists.page(request, rows)
    for row in page:
        row.status = call_status(row, now)
        row.status_label = CALL_STATUSES[row.status]
    return htmx.answer(request, "programs/calls.html", "programs/_calls.html", {
        "form": form, "problems": problems, "page": page, "statuses": CALL_STATUSES,
        "filtered": any(chosen.get(name) for name in ("status", "year", "region")),
    })


@login_required
def call(request, key: str):
    """One call: its details, and for an enterprise while it is open, the way to apply."""
    scope = _scope(request)
    if not workspaces(request.user).calls:
        raise PermissionDenied(_("Calls for applications are for enterprises, parks and the bureau."))
    found = get_object_or_404(_visible_calls(request), key=key)
    found.status = call_status(found)
    found.status_label = CALL_STATUSES[found.status]
    mine = []
    if scope.enterprises:
        mine = _labelled(visible_to(Project.objects.filter(call=found, applicant__in=scope.enterprises),
                               request.user).order_by("-created_at"))
    return render(request, "programs/call.html", {
        "call": found, "statuses": CALL_STATUSES, "may_apply": bool(scope.enterprises) and found.status == "open",
        "mine": mine, "states": STATE_LABELS, "bureau": workspaces(request.user).decide,
    })


# --- applications (申报) ------------------------------------------------------------------


def _projects(request):
    return visible_to(Project.objects.select_related("applicant", "call", "call__region"), request.user)


def _last_step_at():
    return Subquery(ProjectTransition.objects.filter(project=OuterRef("pk")).order_by("-at", "-id").values("at")[:1])


def _call_choices(request, projects) -> list[tuple[str, str]]:
    called = _visible_calls(request).filter(pk__in=projects.values("call_id")).order_by("-opens")
    return [(c.key, language.bilingual(c, "programme")) for c in called]


@login_required
def applications(request):
    """The applications of the user's organisations, with their status."""
    scope = _scope(request)
    if not workspaces(request.user).apply:
        raise PermissionDenied(_("This page is for the users of an enterprise that applies."))
    mine = _projects(request)
    if not scope.everything:
        mine = mine.filter(applicant__in=scope.enterprises)
    form = ProjectFilterForm(request.GET, statuses=[("", _("Any"))] + list(STATE_LABELS.items()),
                             calls=_call_choices(request, mine))
    problems = _filter_problems(form)
    chosen = form.cleaned_data
    rows = mine.annotate(last_step_at=_last_step_at())
    if chosen.get("status"):
        rows = rows.filter(state=chosen["status"])
    if chosen.get("call"):
        rows = rows.filter(call__key=chosen["call"])
    if chosen.get("q"):
        rows = rows.filter(Q(title_zh__icontains=chosen["q"]) | Q(title_en__icontains=chosen["q"]))
    rows = lists.ordered(request, rows, {"title": "title_zh", "call": "call__programme_zh", "status": "state",
                                         "funding": "requested_funding", "changed": "updated_at"},
                         default="-changed")
    if fmt := lists.export_format(request):
        return lists.download(rows, [
            (pgettext("identifier", "Key"), lambda p: p.key),
            (_("Title (Chinese)"), lambda p: p.title_zh),
            (_("Title (English)"), lambda p: p.title_en),
            (_("Applicant"), lambda p: p.applicant.name_zh or p.applicant.name_en),
            (_("Call"), lambda p: p.call.programme_zh if p.call else ""),
            (_("Category"), lambda p: p.category),
            (_("Requested funding (yuan)"), lambda p: p.requested_funding),
            (_("Status"), lambda p: str(STATE_LABELS.get(p.state, p.state))),
            (_("Last step"), lambda p: _local(p.last_step_at)),
        ], "applications", fmt)
    open_calls = _visible_calls(request).filter(_status_condition("open", timezone.now())).order_by("closes")[:5]
    page = lists.page(request, rows)
    _labelled(page)
    return htmx.answer(request, "programs/applications.html", "programs/_applications.html", {
        "form": form, "problems": problems, "page": page, "states": STATE_LABELS,
        "open_calls": open_calls, "filtered": any(chosen.get(name) for name in ("status", "call", "q")),
    })


def _save_application(request, form: ApplicationForm, project: Project | None, call: Call, key: str | None = None):
    """Create (under `key`, the new-application form's one-time key) or change the draft and
    attach the file, together (a refused file leaves no new draft behind); then submit it if
    asked. The answer: a redirect, or None with the form holding the errors (and
    `form.project` the draft, once there is one)."""
    data = form.cleaned_data
    try:
        with transaction.atomic():
            if project is None:
                project = services.create_project(data["applicant"], call=call, by=request.user, key=key,
                                                  **form.project_values())
            else:
                project = services.update_draft(project, by=request.user, unchanged_since=form.version(),
                                                **form.project_values())
            if data.get("file"):
                attach(project, data["file"], by=request.user)
    except services.NotAllowed as exc:
        raise PermissionDenied(exc.reason) from None
    except IntegrityError:
        # The same form sent twice at once: the other sending made the application first.
        if project is None and key and (made := _made_by_form(request, key)) is not None:
            return _sent_again(request, made)
        raise
    except services.ProgrammeError as exc:
        if exc.field == "updated_at":
            form.add_error(None, _("Someone else saved this application after you opened it. Reload the page to "
                                   "see their changes, then make yours again."))
        else:
            put_error(form, exc)
        return None
    if "submit" not in request.POST:
        messages.success(request, _("The draft is saved. Submit it when it is complete."))
        return redirect("programs-application", key=project.key)
    try:
        services.take(project, "submit", by=request.user)
    except services.NotAllowed as exc:
        raise PermissionDenied(exc.reason) from None
    except services.ProgrammeError as exc:
        form.project = Project.objects.get(pk=project.pk)
        put_error(form, exc)
        form.add_error(None, _("The draft is saved, but it was not submitted: see the reasons below."))
        return None
    messages.success(request, _("The application is submitted to the bureau."))
    return redirect("programs-application", key=project.key)


def _made_by_form(request, key: str) -> Project | None:
    """The application an earlier sending of this user's new-application form made, named by
    the form's one-time key."""
    return Project.objects.filter(key=key, created_by=request.user).first()


def _sent_again(request, project: Project):
    """The answer to a new-application form sent again (a double click, a browser's retry after
    a timeout): the application its first sending made, unchanged, with the first answer's news."""
    if project.state == P.DRAFT:
        messages.success(request, _("The draft is saved. Submit it when it is complete."))
    elif project.state == P.SUBMITTED:
        messages.success(request, _("The application is submitted to the bureau."))
    return redirect("programs-application", key=project.key)


def _oversized(request) -> str | None:
    """The reason a POST is refused by its declared length alone, as the API refuses it: a
    file far over the limit is neither checked nor stored."""
    if request.method != "POST":
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = max_bytes()
    if length <= limit + MULTIPART_ENVELOPE:
        return None
    return _("The upload is larger than the limit of %(limit)s; nothing was saved.") % {"limit": readable_size(limit)}


def _rebound(request, form: ApplicationForm, project: Project, call: Call) -> ApplicationForm:
    """The same data and errors on the draft's edit form, carrying the draft's version now:
    the draft was saved and its submission refused, so the next save changes that draft."""
    data = request.POST.copy()
    data["updated_at"] = project.updated_at.isoformat()
    again = ApplicationForm(data, call=call, applicants=_own_enterprises(request), editing=True)
    again.is_valid()
    for name, errors in form.errors.items():
        for error in errors:
            if error not in again.errors.get(name, []):
                again.add_error(name if name in again.fields else None, error)
    return again


def _form_page(request, form: ApplicationForm, call: Call | None, project: Project | None, refusal: str = ""):
    attachments = (project.attachments.select_related("uploaded_by").order_by("uploaded_at", "id")
                   if project is not None else [])
    action = (reverse("programs-application-edit", args=[project.key]) if project is not None
              else reverse("programs-apply", args=[call.key]))
    return render(request, "programs/application_form.html", {
        "form": form, "call": call, "project": project, "attachments": attachments, "action": action,
        "states": STATE_LABELS, "refusal": refusal})


@login_required
def apply(request, key: str):
    """A new application to an open call: saved as a draft, or submitted at once."""
    call = get_object_or_404(_visible_calls(request), key=key)
    if not _scope(request).enterprises:
        raise PermissionDenied(_("Only the users of an enterprise apply."))
    if call_status(call) != "open":
        messages.error(request, _("This call is not open for applications."))
        return redirect("programs-call", key=call.key)
    if too_large := _oversized(request):
        form = ApplicationForm(call=call, applicants=_own_enterprises(request))
        return _form_page(request, form, call, None, refusal=too_large)
    form = ApplicationForm(request.POST or None, request.FILES or None, call=call,
                           applicants=_own_enterprises(request))
    project = None
    if request.method == "POST" and form.is_valid():
        once = form.cleaned_data["key"] or None
        if once and (made := _made_by_form(request, once)) is not None:
            return _sent_again(request, made)
        if once and Project.objects.filter(key=once).exists():
            once = None  # another user's application holds it (a form tampered with): a key of its own
        answer = _save_application(request, form, None, call, key=once)
        if answer is not None:
            return answer
        project = getattr(form, "project", None)
        if project is not None:
            form = _rebound(request, form, project, call)
    return _form_page(request, form, call, project)


@login_required
def edit(request, key: str):
    """A draft application, changed, with more files; saved again or submitted."""
    project = get_object_or_404(_projects(request), key=key)
    if not can_change(request.user, project):
        raise PermissionDenied(_("Only the applicant's own users change this application."))
    if project.state != P.DRAFT:
        messages.error(request, _("Only a draft is changed; this application is %(state)s.")
                       % {"state": STATE_LABELS.get(project.state, project.state)})
        return redirect("programs-application", key=project.key)
    call = project.call or Call(categories=[])
    initial = {name: getattr(project, name) for name in ApplicationForm.PROJECT_FIELDS}
    initial["updated_at"] = project.updated_at.isoformat()
    if too_large := _oversized(request):
        form = ApplicationForm(call=call, initial=initial, applicants=_own_enterprises(request), editing=True)
        return _form_page(request, form, project.call, project, refusal=too_large)
    form = ApplicationForm(request.POST or None, request.FILES or None, call=call, initial=initial,
                           applicants=_own_enterprises(request), editing=True)
    if request.method == "POST" and form.is_valid():
        answer = _save_application(request, form, project, call)
        if answer is not None:
            return answer
        if getattr(form, "project", None) is not None:
            project = form.project
            form = _rebound(request, form, project, call)
    return _form_page(request, form, project.call, project)


@login_required
def application(request, key: str):
    """One application: its details, status history, files and, once decided, the outcome."""
    project = get_object_or_404(_projects(request), key=key)
    _labelled([project])
    steps = list(project.transitions.select_related("by").order_by("at", "id"))
    for step in steps:
        step.label = STEP_LABELS.get(step.name, step.name)
    reviews = _scored(visible_to(ReviewAssignment.objects.filter(project=project), request.user)
                      .select_related("reviewer").order_by("due", "id"), project)
    decision = _last_decision(steps)
    return render(request, "programs/application.html", {
        "project": project, "steps": steps, "states": STATE_LABELS,
        "parties": project.parties.select_related("organisation").order_by("role", "id"),
        "attachments": project.attachments.select_related("uploaded_by").order_by("uploaded_at", "id"),
        "reviews": reviews, "decision": decision, "criteria": project.call.criteria if project.call else [],
        "may_edit": project.state == P.DRAFT and can_change(request.user, project),
        "may_withdraw": project.state == P.SUBMITTED and can_change(request.user, project),
        "bureau": can_review(request.user, project.applicant), "call_link": workspaces(request.user).calls,
    })


def _last_decision(steps: list[ProjectTransition]) -> ProjectTransition | None:
    """The bureau's decision on the application as it stands: none once it was submitted again."""
    for step in reversed(steps):
        if step.name in ("approve", "reject", "return"):
            return step
        if step.name == "submit":
            return None
    return None


@login_required
@require_POST
def withdraw(request, key: str):
    """The applicant withdraws a submitted application (back to a draft)."""
    project = get_object_or_404(_projects(request), key=key)
    try:
        services.take(project, "withdraw", by=request.user)
    except services.NotAllowed as exc:
        raise PermissionDenied(exc.reason) from None
    except services.ProgrammeError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, _("The application is withdrawn; it is a draft again."))
    return redirect("programs-application", key=project.key)


@login_required
def attachment(request, key: str, attachment_id: int):
    """A file of an application, for whoever sees the application; never a public media URL."""
    project = get_object_or_404(_projects(request), key=key)
    row = get_object_or_404(visible_to(project.attachments.all(), request.user), pk=attachment_id)
    try:
        handle = row.file.storage.open(row.file.name, "rb")
    except FileNotFoundError:
        raise Http404("the attachment's file is missing from storage") from None
    response = FileResponse(handle, as_attachment=True, filename=download_name(row), content_type=row.content_type)
    response["Cache-Control"] = "private, no-store"
    return response


# --- the bureau's review board (评审) ---------------------------------------------------------

BOARD_STATUSES = {"awaiting": AWAITING, "submitted": (P.SUBMITTED,), "under_review": (P.UNDER_REVIEW,),
                  "approved": (P.APPROVED,), "rejected": (P.REJECTED,)}


def _bureau_only(request):
    if not workspaces(request.user).decide:
        raise PermissionDenied(_("The review board is the bureau's."))


@login_required
def board(request):
    """Applications waiting for the bureau (or decided), with their reviews' progress."""
    _bureau_only(request)
    scoped = _projects(request).exclude(state=P.DRAFT)
    statuses = [("awaiting", _("Waiting for a decision"))] + [(s, STATE_LABELS[s]) for s in BOARD_STATUSES
                                                               if s != "awaiting"] + [("all", _("All"))]
    form = ProjectFilterForm(request.GET, statuses=statuses, calls=_call_choices(request, scoped))
    problems = _filter_problems(form)
    chosen = form.cleaned_data
    status = chosen.get("status") or "awaiting"
    rows = scoped if status == "all" else scoped.filter(state__in=BOARD_STATUSES[status])
    if chosen.get("call"):
        rows = rows.filter(call__key=chosen["call"])
    if chosen.get("q"):
        rows = rows.filter(Q(title_zh__icontains=chosen["q"]) | Q(title_en__icontains=chosen["q"]))
    done = Q(reviews__submitted_at__isnull=False)
    submitted_at = ProjectTransition.objects.filter(project=OuterRef("pk"), name="submit").order_by("-at", "-id")
    rows = rows.annotate(submitted_at=Subquery(submitted_at.values("at")[:1]), assigned=Count("reviews"),
                         reviewed=Count("reviews", filter=done), mean_total=Avg("reviews__total", filter=done))
    rows = lists.ordered(request, rows, {"title": "title_zh", "applicant": "applicant__name_zh",
                                         "call": "call__programme_zh", "funding": "requested_funding",
                                         "status": "state", "submitted": "submitted_at", "score": "mean_total"},
                         default="submitted")
    if fmt := lists.export_format(request):
        return lists.download(rows, [
            (pgettext("identifier", "Key"), lambda p: p.key),
            (_("Title (Chinese)"), lambda p: p.title_zh),
            (_("Applicant"), lambda p: p.applicant.name_zh or p.applicant.name_en),
            (_("Call"), lambda p: p.call.programme_zh if p.call else ""),
            (_("Category"), lambda p: p.category),
            (_("Requested funding (yuan)"), lambda p: p.requested_funding),
            (_("Status"), lambda p: str(STATE_LABELS.get(p.state, p.state))),
            (pgettext("submitted on", "Submitted"), lambda p: _local(p.submitted_at)),
            (_("Reviews submitted"), lambda p: p.reviewed),
            (_("Reviewers assigned"), lambda p: p.assigned),
            (_("Mean score"), lambda p: round(p.mean_total, 2) if p.mean_total is not None else None),
        ], "review-board", fmt)
    page = lists.page(request, rows)
    _labelled(page)
    return htmx.answer(request, "programs/board.html", "programs/_board.html", {
        "form": form, "problems": problems, "page": page, "states": STATE_LABELS,
        "filtered": any(chosen.get(name) for name in ("call", "q")) or status != "awaiting",
    })


def _scored(assignments, project: Project) -> list[ReviewAssignment]:
    """The reviews, each with `score_rows`: (criterion, maximum, score) in the call's order."""
    criteria = project.call.criteria if project.call else []
    found = list(assignments)
    for assignment in found:
        assignment.score_rows = [(c["name"], c["max"], assignment.scores.get(c["name"])) for c in criteria]
    return found


def _expert_choices() -> list[tuple[str, str]]:
    experts = Expert.objects.select_related("user", "affiliation").order_by("user__username")
    return [(str(e.user_id), " · ".join(filter(None, [e.user.get_full_name() or e.user.get_username(),
                                                      language.bilingual(e.affiliation)
                                                      if e.affiliation else "", e.expertise])))
            for e in experts]


@login_required
def board_project(request, key: str):
    """One application on the board: assign reviewers, start the review, see the scores
    and the call's ranking, decide. Each action a service call; a refusal on its form."""
    _bureau_only(request)
    project = get_object_or_404(_projects(request), key=key)
    if not can_review(request.user, project.applicant):
        raise PermissionDenied(_("Only the bureau of the applicant's district reviews this application."))
    action = request.POST.get("action") if request.method == "POST" else None
    experts = _expert_choices()
    assign_form = AssignForm(request.POST if action == "assign" else None, experts=experts)
    decision_form = DecisionForm(request.POST if action == "decide" else None)
    start_errors: list[str] = []
    if action is not None:
        try:
            done = _board_action(request, project, action, assign_form, decision_form)
        except services.NotAllowed as exc:
            raise PermissionDenied(exc.reason) from None
        except services.ProgrammeError as exc:
            if action == "start_review":
                start_errors.append(exc.reason)
            else:
                put_error(assign_form if action == "assign" else decision_form, exc)
        else:
            if done:
                return redirect("programs-board-project", key=project.key)
        project = Project.objects.select_related("applicant", "call", "call__region").get(pk=project.pk)
    _labelled([project])
    reviews = _scored(project.reviews.select_related("reviewer", "reviewer__expert__affiliation")
                      .order_by("due", "id"), project)
    ranked = []
    if project.call is not None:
        try:
            ranked = services.ranking(project.call, by=request.user)
        except services.NotAllowed:
            ranked = []  # a call of a wider region: its ranking is that region's bureau's
        _labelled([r.project for r in ranked])
    steps = list(project.transitions.select_related("by").order_by("at", "id"))
    for step in steps:
        step.label = STEP_LABELS.get(step.name, step.name)
    return render(request, "programs/board_project.html", {
        "project": project, "reviews": reviews, "ranked": ranked, "steps": steps, "states": STATE_LABELS,
        "criteria": project.call.criteria if project.call else [], "assign_form": assign_form,
        "decision_form": decision_form, "start_errors": start_errors,
        "parties": project.parties.select_related("organisation").order_by("role", "id"),
        "attachments": project.attachments.select_related("uploaded_by").order_by("uploaded_at", "id"),
        "may_assign": project.state in AWAITING, "may_start": project.state == P.SUBMITTED,
        "may_decide": project.state in AWAITING, "call_link": True,
    })


def _board_action(request, project: Project, action: str, assign_form: AssignForm, decision_form: DecisionForm):
    """Carry out one of the board's actions; True when done (the page is shown again by a redirect)."""
    user = request.user
    if action == "assign":
        if not assign_form.is_valid():
            return False
        reviewer = get_object_or_404(Expert.objects.select_related("user"),
                                     user_id=assign_form.cleaned_data["reviewer"]).user
        services.assign_reviewer(project, reviewer, by=user, due=assign_form.cleaned_data["due"])
        messages.success(request, _("%(reviewer)s is assigned to review this application.")
                         % {"reviewer": reviewer.get_full_name() or reviewer.get_username()})
        return True
    if action == "start_review":
        services.take(project, "start_review", by=user)
        messages.success(request, _("The expert review has started."))
        return True
    if action == "decide":
        if not decision_form.is_valid():
            return False
        decision = decision_form.cleaned_data["decision"]
        services.take(project, decision, by=user, comment=decision_form.cleaned_data["comment"])
        messages.success(request, _("Decision recorded: %(decision)s.") % {"decision": DECISIONS[decision]})
        return True
    raise Http404("no such action")


# --- the reviewer's queue (评审任务) ----------------------------------------------------------

QUEUE_STATUSES = {"pending": Q(submitted_at__isnull=True), "submitted": Q(submitted_at__isnull=False)}


def _my_assignments(request):
    return visible_to(ReviewAssignment.objects.select_related("project", "project__applicant", "project__call"),
                      request.user).filter(reviewer=request.user)


@login_required
def reviews(request):
    """The reviews assigned to the user, with their due dates."""
    if not workspaces(request.user).review:
        raise PermissionDenied(_("This page is for the reviewing experts."))
    statuses = [("", _("Any")), ("pending", pgettext("review status", "To score")),
                ("overdue", pgettext("review status", "Overdue")),
                ("submitted", pgettext("review status", "Submitted"))]
    mine = _my_assignments(request)
    form = ProjectFilterForm(request.GET, statuses=statuses, calls=_call_choices_for_reviews(mine))
    problems = _filter_problems(form)
    chosen = form.cleaned_data
    today = timezone.localdate()
    rows = mine
    if chosen.get("status") == "overdue":
        rows = rows.filter(submitted_at__isnull=True, due__lt=today, project__state__in=AWAITING)
    elif chosen.get("status"):
        rows = rows.filter(QUEUE_STATUSES[chosen["status"]])
    if chosen.get("call"):
        rows = rows.filter(project__call__key=chosen["call"])
    if chosen.get("q"):
        rows = rows.filter(Q(project__title_zh__icontains=chosen["q"]) | Q(project__title_en__icontains=chosen["q"]))
    rows = lists.ordered(request, rows, {"due": "due", "title": "project__title_zh",
                                         "applicant": "project__applicant__name_zh", "submitted": "submitted_at",
                                         "total": "total"}, default="due")
    if fmt := lists.export_format(request):
        return lists.download(rows, [
            (_("Application"), lambda a: a.project.title_zh),
            (_("Applicant"), lambda a: a.project.applicant.name_zh or a.project.applicant.name_en),
            (_("Call"), lambda a: a.project.call.programme_zh if a.project.call else ""),
            (_("Due"), lambda a: a.due),
            (pgettext("submitted on", "Submitted"), lambda a: _local(a.submitted_at)),
            (_("Total score"), lambda a: a.total),
        ], "my-reviews", fmt)
    page = lists.page(request, rows)
    for row in page:
        row.overdue = row.submitted_at is None and row.due < today and row.project.state in AWAITING
        _labelled([row.project])
    return htmx.answer(request, "programs/reviews.html", "programs/_reviews.html", {
        "form": form, "problems": problems, "page": page, "states": STATE_LABELS,
        "filtered": any(chosen.get(name) for name in ("status", "call", "q")),
    })


def _call_choices_for_reviews(assignments) -> list[tuple[str, str]]:
    """The calls of the applications assigned (a reviewer sees no call but through them)."""
    called = (assignments.filter(project__call__isnull=False).order_by("-project__call__opens")
              .values_list("project__call__key", "project__call__programme_zh", "project__call__programme_en")
              .distinct())
    return [(key, language.pick(zh, en)) for key, zh, en in called]


@login_required
def review(request, pk: int):
    """Score one assigned application against its call's criteria; a submitted review is final."""
    assignment = get_object_or_404(_my_assignments(request), pk=pk)
    project = assignment.project
    _labelled([project])
    criteria = project.call.criteria if project.call else []
    form = ScoreForm(request.POST or None, criteria=criteria)
    if request.method == "POST" and assignment.submitted_at is None and form.is_valid():
        try:
            services.submit_review(assignment, form.scores(), form.cleaned_data["comment"], by=request.user,
                                   declaration=form.cleaned_data["declaration"])
        except services.NotAllowed as exc:
            raise PermissionDenied(exc.reason) from None
        except services.ProgrammeError as exc:
            form.put_error(exc)
        else:
            messages.success(request, _("Your scores are submitted. Thank you."))
            return redirect("programs-reviews")
    scored = [(c["name"], c["max"], assignment.scores.get(c["name"])) for c in criteria]
    return render(request, "programs/review.html", {
        "assignment": assignment, "project": project, "form": form, "scored": scored, "states": STATE_LABELS,
        "scorable": assignment.submitted_at is None and project.state == P.UNDER_REVIEW,
        "attachments": visible_to(project.attachments.all(), request.user).order_by("uploaded_at", "id"),
        "overdue": assignment.submitted_at is None and assignment.due < timezone.localdate(),
    })

"""Web pages of the statistics (统计数据): an enterprise's figures for a period, uploads and
their error reports, the bureau's approval queue, and the locks of a region's period.

Every list goes through `visible_to`; every change through the services, which check the
role and record who did it. The pages parse, call a service, and render.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext, pgettext_lazy
from django.views.decorators.http import require_POST

from kechuang.accounts.scoping import (
    may_change_anything,
    organisations_changeable,
    reviewable_by,
    scope_of,
    visible_to,
    workspaces,
)
from kechuang.audit.context import Interface
from kechuang.registry.models import CONTAINER_KINDS, Location, Organisation, OrganisationKind, Region
from kechuang.web import htmx, language, lists

from . import rules, services, tasks
from .forms import (
    KIND_LABELS,
    STATUS_LABELS,
    DecideForm,
    FiguresForm,
    LockForm,
    LocksFilter,
    QueueFilter,
    UnlockForm,
    UploadForm,
    period_error,
    plain_number,
    unit_label,
    units_of,
)
from .models import DataLock, ImportJob, Metric, Observation, ObservationKind, ObservationStatus
from .periods import Period, PeriodError

S = ObservationStatus
#: At most this many subjects in the report page's picker; beyond, the user types a key or USCC.
MAX_SUBJECT_CHOICES = 300
#: At most this many regions (or parks) offered in a filter's list.
MAX_FILTER_CHOICES = 500

JOB_STATUS_LABELS = {
    ImportJob.Status.PENDING: pgettext_lazy("statistics", "Waiting for the worker"),
    ImportJob.Status.RUNNING: pgettext_lazy("statistics", "Importing"),
    ImportJob.Status.DONE: pgettext_lazy("statistics", "Imported"),
    ImportJob.Status.CHECKED: pgettext_lazy("statistics", "Checked: nothing written"),
    ImportJob.Status.REFUSED: pgettext_lazy("statistics", "Refused: nothing written"),
    ImportJob.Status.FAILED: pgettext_lazy("statistics", "Failed: nothing written"),
}


# --- shared ------------------------------------------------------------------------------


def _bureau_only(request) -> None:
    if not workspaces(request.user).decide:
        raise PermissionDenied(_("This page is for the bureau's administrators."))


def _back(request, default: str) -> str:
    """Where a form posted from a filtered list returns: the list with its filters."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


def _current_figures() -> QuerySet:
    return Observation.objects.current().select_related("organisation", "region", "metric", "entered_by")


def _figures(request) -> QuerySet:
    return visible_to(_current_figures(), request.user)


def _regions_in_scope(user) -> list[Region]:
    """The regions whose figures the user reviews (the bureau's subtrees), for a filter's list."""
    scope = scope_of(user)
    regions = Region.objects.all()
    if not scope.everything:
        paths = Q(pk__in=[])
        for path in scope.change_paths:
            paths |= Q(path__startswith=path)
        regions = regions.filter(paths)
    return list(regions.order_by("path")[:MAX_FILTER_CHOICES])


def _locks_in_scope(user) -> QuerySet:
    """Locks on the regions of the bureau's subtrees (any lock for a superuser)."""
    scope = scope_of(user)
    locks = DataLock.objects.select_related("region", "locked_by", "unlocked_by")
    if scope.everything:
        return locks
    paths = Q(pk__in=[])
    for path in scope.change_paths:
        paths |= Q(region__path__startswith=path)
    return locks.filter(paths)


def last_ended_half(today: dt.date | None = None) -> Period:
    """The last half-year that has ended: what the enterprises report now."""
    today = today or timezone.localdate()
    return Period.of_half(today.year, 1) if today.month > 6 else Period.of_half(today.year - 1, 2)


def period_choices(chosen: Period | None, today: dt.date | None = None) -> list[Period]:
    """The current and the last nine half-years and the last five years, the latest first,
    and the chosen period where it is none of them."""
    today = today or timezone.localdate()
    half = Period.of_half(today.year, 1 if today.month <= 6 else 2)
    found = []
    for _step in range(10):
        found.append(half)
        half = half.previous()
    found += [Period.of_year(year) for year in range(today.year, today.year - 5, -1)]
    if chosen is not None and chosen not in found:
        found.append(chosen)
    return sorted(found, key=lambda p: (p.end, -p.month_count), reverse=True)


_LOCKED = re.compile(
    r"the bureau approved and locked (?P<name>.*) (?P<code>\d{6}) for (?P<period>\S+) "
    r"on (?P<date>\d{4}-\d{2}-\d{2})"
)
_TRANSITION = re.compile(r"cannot (?P<step>\w+) from '(?P<state>\w+)'")
_STEPS = {
    "approve": pgettext_lazy("statistics", "approved"),
    "return": pgettext_lazy("statistics", "returned"),
    "submit": pgettext_lazy("statistics", "submitted"),
    "publish": pgettext_lazy("statistics", "published"),
}


def refusal(error: services.StatisticsError) -> str:
    """A service's refusal in the page's language where it is one the pages meet often;
    otherwise as the service worded it."""
    reason = error.reason
    if found := _LOCKED.search(reason):
        return _(
            "Locked: the bureau approved and locked the figures of %(region)s for %(period)s on %(date)s; "
            "a bureau admin must unlock them, with a reason, before a figure changes."
        ) % {"region": found["name"], "period": _period_label(found["period"]), "date": found["date"]}
    if found := _TRANSITION.search(reason):
        return _("This figure is %(status)s: it cannot be %(step)s now.") % {
            "status": str(STATUS_LABELS.get(found["state"], found["state"])).lower(),
            "step": _STEPS.get(found["step"], found["step"]),
        }
    if "superseded" in reason:
        return _("This figure was replaced by a correction: act on the current one.")
    if "already locked" in reason:
        return _("This region's period is already locked.")
    if "has not ended yet" in reason:
        return _("The period has not ended yet: an actual figure must wait, or be reported as an estimate.")
    return reason


def _period_label(code: str) -> str:
    try:
        return Period.parse(code).label(language.current())
    except PeriodError:
        return code


def _subject_name(figure: Observation) -> str:
    subject = figure.subject
    return language.bilingual(subject) or str(subject)


# --- reporting: one subject's figures for a period --------------------------------------


@dataclass
class ReportRow:
    """One metric on the report form: its current figure and why it cannot be changed, if so."""

    metric: Metric
    name: str
    other_name: str
    units: list[str]
    unit_text: str
    figure: Observation | None
    locked_because: str = ""
    status_label: str = ""
    bound: dict = field(default_factory=dict)


def _reportable(user) -> QuerySet:
    """The enterprises, parks and zones the user reports figures for."""
    scope = scope_of(user)
    kinds = (OrganisationKind.ENTERPRISE, *CONTAINER_KINDS)
    organisations = Organisation.objects.filter(kind__in=kinds)
    return organisations if scope.everything else organisations.filter(organisations_changeable(scope))


def _pick_period(request, name: str = "period") -> Period:
    text = request.GET.get(name, "").strip()
    if text:
        try:
            return Period.parse(text)
        except PeriodError:
            messages.error(request, period_error(text))
    return last_ended_half()


def _pick_kind(request) -> str:
    kind = request.GET.get("kind", ObservationKind.ACTUAL)
    if kind not in ObservationKind.values:
        messages.error(request, _("“%(kind)s” is not a kind of figure: showing actual figures.") % {"kind": kind})
        return ObservationKind.ACTUAL
    return kind


@login_required
def report(request):
    """Report a subject's figures for a period: every metric that applies to it, values with
    their units, saved as a draft or submitted to the bureau."""
    if not may_change_anything(request.user):
        raise PermissionDenied(_("Your role does not report figures."))
    subjects = _reportable(request.user)
    period, kind = _pick_period(request), _pick_kind(request)
    subject, choices = _pick_subject(request, subjects)
    context = {
        "period": period,
        "kind": kind,
        "subject": subject,
        "choices": choices,
        "periods": period_choices(period),
        "kinds": list(KIND_LABELS.items()),
        "typed_subject": request.GET.get("subject", "") if choices is None else "",
    }
    if subject is None:
        return render(request, "statistics/report.html", context)

    rows, stored, lock, notice = _report_rows(request, subject, period, kind)
    form = FiguresForm(request.POST if request.method == "POST" else None, rows=rows, values_in_base=stored)
    if request.method == "POST" and not lock:
        submit = "submit" in request.POST
        if form.is_valid():
            saved = _save_figures(request, form, subject, period, kind, submit)
            if saved is not None:
                if saved:
                    text = (
                        ngettext(
                            "%(count)d figure submitted to the bureau.",
                            "%(count)d figures submitted to the bureau.",
                            saved,
                        )
                        if submit
                        else ngettext("%(count)d figure saved as a draft.", "%(count)d figures saved as drafts.", saved)
                    )
                    messages.success(request, text % {"count": saved})
                else:
                    messages.info(request, _("Nothing changed: no figure was saved."))
                query = {"subject": subject.key, "period": period.code, "kind": kind}
                return redirect(reverse("statistics-report") + "?" + urlencode(query))
    for row in rows:
        row.bound = {
            "value": form[row.value_field],
            "unit": form[row.unit_field] if row.unit_field else None,
            "seen": form[row.seen_field],
        }
    context.update(
        {
            "form": form,
            "rows": rows,
            "lock": lock,
            "notice": notice,
            "open_rows": sum(1 for row in rows if not row.locked_because),
            "field_errors": [(row, error) for row in rows for error in form.errors.get(row.value_field, [])],
        }
    )
    return render(request, "statistics/report.html", context)


def _pick_subject(request, subjects: QuerySet) -> tuple[Organisation | None, list | None]:
    """The subject asked for (`?subject=key or USCC`), or the user's only one; and the choices
    to offer (None when there are too many to list: the user types a key or USCC)."""
    typed = request.GET.get("subject", "").strip()
    listed = list(subjects.order_by("name_zh", "key")[: MAX_SUBJECT_CHOICES + 1])
    choices = listed if len(listed) <= MAX_SUBJECT_CHOICES else None
    if typed:
        found = next((o for o in listed if o.key == typed), None) if choices is not None else None
        found = found or subjects.filter(Q(key=typed) | Q(uscc=typed.upper())).first()
        if found is None:
            if choices is not None:
                raise Http404  # not an enterprise of theirs: as if it did not exist
            messages.error(request, _("No enterprise you report for has the key or USCC “%(text)s”.") % {"text": typed})
        return found, choices
    if choices is not None and len(choices) == 1:
        return choices[0], choices
    return None, choices


def _report_rows(request, subject: Organisation, period: Period, kind: str):
    kind_of_subject = services.subject_kind(subject)
    metrics = [m for m in Metric.objects.select_related("part_of").order_by("pk") if kind_of_subject in m.subject_kinds]
    current = {
        figure.metric_id: figure
        for figure in visible_to(Observation.objects.current(), request.user).filter(
            organisation=subject, period=period.code, kind=kind
        )
    }
    lock = services.lock_covering(subject, period)
    everything_locked = ""
    if lock is not None:
        everything_locked = _(
            "Locked: the bureau approved and locked the figures of %(region)s for %(period)s on "
            "%(date)s; a bureau admin must unlock them before a figure changes."
        ) % {
            "region": language.bilingual(lock.region),
            "period": period.label(language.current()),
            "date": date_format(timezone.localtime(lock.locked_at), "DATE_FORMAT"),
        }
    elif kind == ObservationKind.ACTUAL and rules.future_problem(period, timezone.localdate()):
        everything_locked = _(
            "%(period)s has not ended yet: actual figures are reported once it has; report "
            "estimates or targets for now."
        ) % {"period": period.label(language.current())}
    rows = []
    for metric in metrics:
        figure = current.get(metric.pk)
        units = units_of(metric)
        row = ReportRow(
            metric=metric,
            name=capfirst(language.bilingual(metric)),
            other_name=capfirst(metric.name_en if language.current() == "zh" else metric.name_zh),
            units=units,
            unit_text="" if units else unit_label(metric.base_unit),
            figure=figure,
            locked_because=everything_locked or _why_fixed(figure),
            status_label=str(STATUS_LABELS.get(figure.status, figure.status)) if figure else "",
        )
        rows.append(row)
    stored = {row.metric.code: row.figure.value for row in rows if row.figure is not None}
    return rows, stored, lock, everything_locked


def _why_fixed(figure: Observation | None) -> str:
    """Why a figure cannot be changed on the form, or ""."""
    if figure is None:
        return ""
    if figure.status == S.APPROVED:
        when = date_format(timezone.localtime(figure.reviewed_at), "DATE_FORMAT") if figure.reviewed_at else ""
        return _("Approved by the bureau %(when)s: to correct it, ask the bureau to return it.") % {"when": when}
    if figure.status == S.PUBLISHED:
        return _("Published: it can no longer be changed.")
    return ""


def _save_figures(request, form: FiguresForm, subject, period: Period, kind: str, submit: bool) -> int | None:
    """Record the changed figures (wholes before their parts) and, on submit, submit the drafts
    and returned figures left as they were: all of it, or nothing when one is refused."""
    status = S.SUBMITTED if submit else S.DRAFT
    changed = {row.metric.code for row, *_rest in form.changes}
    saved = 0
    with transaction.atomic():
        for row, entered, unit, _base in sorted(
            form.changes, key=lambda change: change[0].metric.part_of_id is not None
        ):
            try:
                services.record_observation(
                    subject, row.metric, period, entered, unit=unit, kind=kind, by=request.user, status=status
                )
                saved += 1
            except services.StatisticsError as error:
                form.add_error(row.value_field, refusal(error))
        if submit:
            for row in form.rows:
                figure = row.figure
                if (
                    figure is not None
                    and row.metric.code not in changed
                    and not row.locked_because
                    and figure.status in (S.DRAFT, S.RETURNED)
                ):
                    try:
                        services.take(figure, "submit", by=request.user)
                        saved += 1
                    except services.StatisticsError as error:
                        form.add_error(row.value_field, refusal(error))
        if form.errors:
            transaction.set_rollback(True)
            return None
    return saved


# --- the bureau's approval queue ---------------------------------------------------------

QUEUE_SORT = {
    "subject": ["organisation__name_zh", "region__code"],
    "metric": "metric__code",
    "period": ["period_start", "period_end"],
    "value": "value",
    "entered": "created_at",
    "status": "status",
}


def _queue_columns():
    return [
        (
            pgettext("statistics", "Key or region code"),
            lambda f: f.organisation.key if f.organisation_id else f.region.code,
        ),
        (pgettext("statistics", "Enterprise or region"), _subject_name),
        (pgettext("statistics", "USCC"), lambda f: (f.organisation.uscc or "") if f.organisation_id else ""),
        (pgettext("statistics", "Metric code"), lambda f: f.metric.code),
        (pgettext("statistics", "Metric"), lambda f: language.bilingual(f.metric)),
        (pgettext("statistics", "Period"), lambda f: f.period),
        (pgettext("statistics", "Kind"), lambda f: str(KIND_LABELS.get(f.kind, f.kind))),
        (pgettext("statistics", "Value (base unit)"), lambda f: f.value),
        (pgettext("statistics", "Base unit"), lambda f: f.metric.base_unit),
        (
            pgettext("statistics", "As entered"),
            lambda f: f"{f.entered_value.normalize() if f.entered_value is not None else ''} {f.entered_unit}".strip(),
        ),
        (pgettext("statistics", "Status"), lambda f: str(STATUS_LABELS.get(f.status, f.status))),
        (pgettext("statistics", "Entered by"), lambda f: f.entered_by.get_username() if f.entered_by_id else ""),
        (pgettext("statistics", "Entered at"), lambda f: timezone.localtime(f.created_at).strftime("%Y-%m-%d %H:%M")),
        (pgettext("statistics", "Bureau's comment"), lambda f: f.comment),
    ]


@login_required
def review(request):
    """The bureau's queue: the figures of its district, submitted ones first, to approve or
    return, one by one or the ticked rows together."""
    _bureau_only(request)
    data = request.GET.copy()
    data.setdefault("status", "submitted")
    regions = _regions_in_scope(request.user)
    parks = list(
        visible_to(Organisation.objects.filter(kind__in=CONTAINER_KINDS), request.user).order_by("name_zh", "key")[
            :MAX_FILTER_CHOICES
        ]
    )
    filters = QueueFilter(data, metrics=list(Metric.objects.order_by("pk")), regions=regions, parks=parks)
    filters.is_valid()
    chosen = filters.cleaned_data
    # What a user reviews (their bureau's subtrees) they also see: one scope filter, not two
    # (at city scale the second doubled the query).
    rows = reviewable_by(_current_figures(), request.user)
    if query := chosen.get("q", "").strip():
        rows = rows.filter(
            Q(organisation__name_zh__icontains=query)
            | Q(organisation__name_en__icontains=query)
            | Q(organisation__key=query)
            | Q(organisation__uscc=query.upper())
            | Q(region__name_zh__icontains=query)
            | Q(region__code=query)
        )
    if period := chosen.get("period"):
        rows = rows.filter(period_start__gte=period.start, period_end__lte=period.end)
    if code := chosen.get("metric"):
        rows = rows.filter(metric__code=code)
    if code := chosen.get("region"):
        rows = services.in_region(rows, next(region for region in regions if region.code == code))
    if key := chosen.get("park"):
        park = next(park for park in parks if park.key == key)
        rows = rows.filter(Q(organisation=park) | Q(organisation__in=Organisation.objects.within(park)))
    status = chosen.get("status") or "submitted"
    if status != "all":
        rows = rows.filter(status=status)
    rows = lists.ordered(request, rows, QUEUE_SORT, default="subject")
    if wanted := lists.export_format(request):
        return lists.download(rows, _queue_columns(), "figures", wanted)
    located = Location.objects.current().filter(organisation=OuterRef("organisation_id")).values("region__path")
    page = lists.page(request, rows.annotate(located_in=Subquery(located[:1])))
    _mark_locked(page.object_list)
    return htmx.answer(
        request,
        "statistics/review.html",
        "statistics/_queue.html",
        {
            "filters": filters,
            "page": page,
            "status": status,
            "filtered": len(request.GET) > 0,
            "next": request.get_full_path(),
        },
    )


def _mark_locked(figures) -> None:
    """Each figure's `lock`: an open lock holding it (one query for the page)."""
    paths = {}
    for figure in figures:
        path = figure.region.path if figure.region_id else (figure.located_in or "")
        paths[figure.pk] = frozenset(code for code in path.split("/") if code)
        figure.status_label = STATUS_LABELS.get(figure.status, figure.status)
        figure.kind_label = KIND_LABELS.get(figure.kind, figure.kind)
        figure.unit_text = unit_label(figure.metric.base_unit)
        figure.value_text = plain_number(figure.value)
        figure.entered_text = (
            f"{plain_number(figure.entered_value)} {figure.entered_unit}".strip()
            if figure.entered_value is not None
            else ""
        )
    codes = set().union(*paths.values()) if paths else set()
    locks = list(DataLock.objects.filter(unlocked_at__isnull=True, region__code__in=codes).select_related("region"))
    for figure in figures:
        period = Period.parse(figure.period)
        figure.lock = next((lock for lock in locks if rules.lock_covers(lock, paths[figure.pk], period)), None)


@login_required
@require_POST
def decide(request, pk: int):
    """Approve, return (with a reason) or submit one figure."""
    figure = get_object_or_404(_figures(request), pk=pk)
    form = DecideForm(request.POST)
    default = "statistics-report" if request.POST.get("transition") == "submit" else "statistics-review"
    if not form.is_valid():
        if "transition" in form.errors:
            raise Http404
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return redirect(_back(request, default))
    transition = form.cleaned_data["transition"]
    try:
        services.take(figure, transition, by=request.user, comment=form.cleaned_data["comment"])
    except services.NotAllowed:
        raise PermissionDenied(_("Your role does not allow this decision.")) from None
    except services.StatisticsError as error:
        messages.error(request, f"{_describe(figure)}: {refusal(error)}")
    else:
        messages.success(
            request,
            _("%(figure)s: %(status)s.")
            % {"figure": _describe(figure), "status": STATUS_LABELS.get(figure.status, figure.status)},
        )
    return redirect(_back(request, default))


@login_required
@require_POST
def decide_many(request):
    """Approve or return (with one reason) the figures ticked in the queue."""
    _bureau_only(request)
    form = DecideForm(request.POST, many=True)
    if not form.is_valid() or form.cleaned_data["transition"] not in ("approve", "return"):
        problems = [error for errors in form.errors.values() for error in errors] or [
            pgettext("statistics", "Choose approve or return.")
        ]
        messages.error(request, " ".join(problems))
        return redirect(_back(request, "statistics-review"))
    transition, comment = form.cleaned_data["transition"], form.cleaned_data["comment"]
    figures = list(reviewable_by(_figures(request), request.user).filter(pk__in=form.cleaned_data["figures"]))
    done = 0
    for figure in figures:
        try:
            services.take(figure, transition, by=request.user, comment=comment)
            done += 1
        except services.StatisticsError as error:
            messages.error(request, f"{_describe(figure)}: {refusal(error)}")
    if done:
        text = (
            ngettext("%(count)d figure approved.", "%(count)d figures approved.", done)
            if transition == "approve"
            else ngettext(
                "%(count)d figure returned for correction.", "%(count)d figures returned for correction.", done
            )
        )
        messages.success(request, text % {"count": done})
    if missing := len(form.cleaned_data["figures"]) - len(figures):
        messages.error(
            request,
            ngettext(
                "%(count)d figure ticked is no longer current or not yours to decide on.",
                "%(count)d figures ticked are no longer current or not yours to decide on.",
                missing,
            )
            % {"count": missing},
        )
    return redirect(_back(request, "statistics-review"))


def _describe(figure: Observation) -> str:
    return (
        f"{_subject_name(figure)} · {language.bilingual(figure.metric)} · "
        f"{_period_label(figure.period)}"
    )


# --- locks and completeness --------------------------------------------------------------

LOCK_SORT = {
    "region": "region__code",
    "period": ["period_start", "period_end"],
    "locked": "locked_at",
    "unlocked": "unlocked_at",
}


def _lock_columns():
    return [
        (pgettext("statistics", "Region code"), lambda lock: lock.region.code),
        (pgettext("statistics", "Region"), lambda lock: language.bilingual(lock.region)),
        (pgettext("statistics", "Period"), lambda lock: lock.period),
        (
            pgettext("statistics", "Locked at"),
            lambda lock: timezone.localtime(lock.locked_at).strftime("%Y-%m-%d %H:%M"),
        ),
        (pgettext("statistics", "Locked by"), lambda lock: lock.locked_by.get_username() if lock.locked_by_id else ""),
        (
            pgettext("statistics", "Unlocked at"),
            lambda lock: timezone.localtime(lock.unlocked_at).strftime("%Y-%m-%d %H:%M") if lock.unlocked_at else "",
        ),
        (
            pgettext("statistics", "Unlocked by"),
            lambda lock: lock.unlocked_by.get_username() if lock.unlocked_by_id else "",
        ),
        (pgettext("statistics", "Reason for unlocking"), lambda lock: lock.unlock_reason),
    ]


@login_required
def locks(request):
    """The locks of the bureau's regions by period; for a region and period, who has not
    reported yet and how many figures wait for approval, and the lock (approve and lock)."""
    _bureau_only(request)
    regions = _regions_in_scope(request.user)
    if request.method == "POST":
        return _lock(request, regions)
    filters = LocksFilter(request.GET, regions=regions)
    filters.is_valid()
    chosen = filters.cleaned_data
    rows = _locks_in_scope(request.user)
    region = next((r for r in regions if r.code == chosen.get("region")), None)
    period = chosen.get("period")
    if region is not None:
        rows = rows.filter(region__path__startswith=region.path)
    if period is not None:
        rows = rows.filter(period_start__lte=period.end, period_end__gte=period.start)
    if chosen.get("state") == "open":
        rows = rows.filter(unlocked_at__isnull=True)
    elif chosen.get("state") == "lifted":
        rows = rows.filter(unlocked_at__isnull=False)
    rows = lists.ordered(request, rows, LOCK_SORT, default="-locked")
    if wanted := lists.export_format(request):
        return lists.download(rows, _lock_columns(), "locks", wanted)
    context = {
        "filters": filters,
        "page": lists.page(request, rows),
        "region": region,
        "period": period,
        "unlock_form": UnlockForm(),
        "next": request.get_full_path(),
    }
    if region is not None and period is not None:
        context["check"] = _check(region, period)
    return render(request, "statistics/locks.html", context)


#: Enterprises not reported shown on the locks page; the completeness page lists them all.
MISSING_SHOWN = 10


def _check(region: Region, period: Period) -> dict:
    """What locking a region's period would do: the lock already there, or the figures it
    would approve and the enterprises that have not reported."""
    open_lock = (
        DataLock.objects.filter(region=region, period=period.code, unlocked_at__isnull=True)
        .select_related("locked_by")
        .first()
    )
    covering = open_lock or services.lock_covering(region, period)
    waiting = (
        services.in_region(Observation.objects.current(), region)
        .filter(period_start__gte=period.start, period_end__lte=period.end, status=S.SUBMITTED)
        .count()
    )
    missing = services.missing_reports(region, period)
    return {
        "lock": open_lock,
        "covering": covering,
        "waiting": waiting,
        "missing_count": len(missing),
        "missing": _with_metric_names(missing[:MISSING_SHOWN]),
        "query": urlencode({"region": region.code, "period": period.code}),
    }


def _with_metric_names(missing: list) -> list[tuple[Organisation, str, int]]:
    """(enterprise, the names of the metrics it has not reported, how many) for each."""
    codes = {code for _organisation, found in missing for code in found}
    names = {m.code: language.bilingual(m) for m in Metric.objects.filter(code__in=codes)}
    separator = "、" if language.current() == "zh" else ", "
    return [
        (organisation, separator.join(names.get(code, code) for code in found), len(found))
        for organisation, found in missing
    ]


def _lock(request, regions: list[Region]):
    form = LockForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return redirect("statistics-locks")
    region = next((r for r in regions if r.code == form.cleaned_data["region"]), None)
    if region is None:
        raise Http404
    period = form.cleaned_data["period"]
    back = reverse("statistics-locks") + "?" + urlencode({"region": region.code, "period": period.code})
    try:
        _lock_row, approved = services.lock_region_period(region, period, by=request.user)
    except services.NotAllowed:
        raise PermissionDenied(_("Only a bureau admin of this region locks its figures.")) from None
    except services.StatisticsError as error:
        messages.error(request, refusal(error))
        return redirect(back)
    messages.success(
        request,
        ngettext(
            "%(region)s %(period)s is locked; %(count)d submitted figure was approved.",
            "%(region)s %(period)s is locked; %(count)d submitted figures were approved.",
            approved,
        )
        % {
            "region": language.bilingual(region),
            "period": period.label(language.current()),
            "count": approved,
        },
    )
    return redirect(back)


@login_required
@require_POST
def unlock(request, pk: int):
    """Lift a lock, with the reason the figures must change."""
    _bureau_only(request)
    lock = get_object_or_404(_locks_in_scope(request.user), pk=pk)
    form = UnlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["reason"]))
        return redirect(_back(request, "statistics-locks"))
    try:
        services.unlock(lock, by=request.user, reason=form.cleaned_data["reason"])
    except services.NotAllowed:
        raise PermissionDenied(_("Only a bureau admin of this region unlocks its figures.")) from None
    except services.StatisticsError as error:
        messages.error(
            request,
            refusal(error) if error.field != "lock" else pgettext("statistics", "This lock was already lifted."),
        )
    else:
        messages.success(
            request,
            _("%(region)s %(period)s is unlocked: its figures may be corrected.")
            % {"region": language.bilingual(lock.region), "period": _period_label(lock.period)},
        )
    return redirect(_back(request, "statistics-locks"))


COMPLETENESS_SORT = {
    "name": lambda row: (row[0].name_zh or row[0].name_en or "", row[0].key),
    "key": lambda row: row[0].key,
    "missing": lambda row: (row[2], row[0].key),
}


@login_required
def completeness(request):
    """The enterprises above designated size of a region that have not reported every
    required metric for a period."""
    _bureau_only(request)
    regions = _regions_in_scope(request.user)
    code = request.GET.get("region", "").strip()
    region = next((r for r in regions if r.code == code), None)
    if code and region is None:
        raise Http404
    period = None
    if text := request.GET.get("period", "").strip():
        try:
            period = Period.parse(text)
        except PeriodError:
            messages.error(request, period_error(text))
    context = {"regions": regions, "region": region, "period": period, "periods": period_choices(period)}
    if region is None or period is None:
        return render(request, "statistics/completeness.html", context)
    missing = _with_metric_names(services.missing_reports(region, period))
    wanted = request.GET.get("sort", "") or "name"
    key = wanted.removeprefix("-")
    if key not in COMPLETENESS_SORT:
        wanted, key = "name", "name"
    missing.sort(key=COMPLETENESS_SORT[key], reverse=wanted.startswith("-"))
    if fmt := lists.export_format(request):
        return lists.download(
            missing,
            [
                (pgettext("statistics", "Key"), lambda row: row[0].key),
                (pgettext("statistics", "Enterprise"), lambda row: language.bilingual(row[0])),
                (pgettext("statistics", "USCC"), lambda row: row[0].uscc or ""),
                (pgettext("statistics", "Metrics not reported"), lambda row: row[1]),
            ],
            f"missing-{region.code}-{period.code}",
            fmt,
        )
    context.update({"page": lists.page(request, missing)})
    return render(request, "statistics/completeness.html", context)


# --- imports from the web --------------------------------------------------------------

JOB_SORT = {"file": "file_name", "when": "created_at", "status": "status", "written": "rows_written"}


@login_required
def upload(request):
    """Upload a file of figures; the task worker imports it and the job page follows it."""
    if not may_change_anything(request.user):
        raise PermissionDenied(_("Your role does not report figures."))
    form = UploadForm(request.POST or None, request.FILES or None, max_bytes=settings.UPLOAD_MAX_BYTES)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        job = ImportJob.objects.create(
            file_name=data["file"].name[:300],
            by=request.user,
            interface=Interface.WEB,
            dry_run=data["dry_run"],
            size=data["file"].size,
        )
        with open(tasks.upload_path(job), "wb") as stored:
            for chunk in data["file"].chunks():
                stored.write(chunk)
        options = {
            "region": data["region"] or None,
            "period": data["period"] or None,
            "sheet": data["sheet"] or None,
            "dry_run": data["dry_run"],
            "accept_warnings": data["accept_warnings"],
        }
        # Queued once this request's writes are committed, so the worker finds the job.
        transaction.on_commit(lambda: tasks.import_uploaded_file.enqueue(job.pk, options))
        return redirect("statistics-import-job", pk=job.pk)
    jobs = lists.ordered(request, ImportJob.objects.filter(by=request.user), JOB_SORT, default="-when")
    if wanted := lists.export_format(request):
        return lists.download(
            jobs,
            [
                (pgettext("statistics", "File"), lambda job: job.file_name),
                (
                    pgettext("statistics", "Uploaded at"),
                    lambda job: timezone.localtime(job.created_at).strftime("%Y-%m-%d %H:%M"),
                ),
                (pgettext("statistics", "Status"), lambda job: str(JOB_STATUS_LABELS.get(job.status, job.status))),
                (pgettext("statistics", "Rows read"), lambda job: job.rows_total),
                (pgettext("statistics", "Figures written"), lambda job: job.rows_written),
            ],
            "imports",
            wanted,
        )
    page = lists.page(request, jobs)
    for job in page.object_list:
        tasks.settle_if_interrupted(job)
        job.status_label = JOB_STATUS_LABELS.get(job.status, job.status)
    return render(request, "statistics/upload.html", {"form": form, "page": page})


def _own_job(request, pk: int) -> ImportJob:
    job = get_object_or_404(ImportJob.objects.select_related("by"), pk=pk)
    if job.by_id != request.user.pk and not request.user.is_superuser:
        raise Http404  # another user's import is not there for you
    return job


#: Problems listed on one page of the job's page.
PROBLEMS_PER_PAGE = 50


@login_required
def import_job(request, pk: int):
    """An import's status, refreshed by htmx while it runs; when it ends, what it wrote or every
    problem it found, and the error report to download, correct and upload again."""
    job = tasks.settle_if_interrupted(_own_job(request, pk))
    running = job.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)
    progress = tasks.read_progress(job) if running else None
    report = job.report or {}
    problems = [{"level": "error", **problem} for problem in report.get("errors") or []] + [
        {"level": "warning", **problem} for problem in report.get("warnings") or []
    ]
    page = lists.page(request, problems, size=PROBLEMS_PER_PAGE)
    error_count, warning_count = report.get("error_count") or 0, report.get("warning_count") or 0
    return htmx.answer(
        request,
        "statistics/import_job.html",
        "statistics/_job.html",
        {
            "job": job,
            "running": running,
            "progress": progress,
            "status_label": JOB_STATUS_LABELS.get(job.status),
            "percent": min(100, progress[0] * 100 // progress[1]) if progress and progress[1] else None,
            "page": page,
            "report": report,
            "error_count": error_count,
            "warning_count": warning_count,
            "listed_all": len(problems) >= error_count + warning_count,
            "has_problem_file": not running and tasks.report_path(job).exists(),
        },
    )


@login_required
def import_problems(request, pk: int):
    """The uploaded table with a first column naming each row's problems (an .xlsx)."""
    job = _own_job(request, pk)
    path = tasks.report_path(job)
    if not path.exists():
        raise Http404
    stem = job.file_name.rsplit(".", 1)[0] or "figures"
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{stem}-problems.xlsx")

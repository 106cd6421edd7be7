"""The designations' web pages: the registry and one grant, the expiry work list, the
screening of a region's enterprises against a rule set with one enterprise's explanation,
and the review queue of imported lists.

The pages read what the API reads: grants through `visible_to` (a final grant is public
record, one in publicity goes with its enterprise), the expiry list through
`services.expiring` / `services.expired` (the enterprises the user looks after), the pool
through `rules.screening.screen_region` and an explanation through `screen_organisation`
and `rules.report.screening_detail`. The queue's decisions are the importer's functions.
The pages hold no rule of their own about what a grant is, who may see it or who passes.

A filter that does not validate is named on the page and left out; the list still shows.
"""

import datetime as dt
from collections import Counter
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q, Value
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from kechuang.accounts.scoping import scope_of, visible_to, workspaces
from kechuang.errors import RoleRefusal
from kechuang.registry.models import Organisation, Region
from kechuang.registry.views import HOME_REGION
from kechuang.statistics.models import Metric, UnitKind
from kechuang.web import htmx, language, lists
from kechuang.web.templatetags.web import money

from . import importer, services
from .forms import (
    LEVEL_NAMES,
    STAGE_NAMES,
    DismissForm,
    ExpiryFilter,
    LinkForm,
    PoolFilter,
    RegistryFilter,
    ScreeningForm,
)
from .models import CandidateStatus, Designation, DesignationStep, DesignationType, ImportCandidate, ReReview, Stage
from .rules import explain, report
from .rules.screening import (
    ELIGIBLE,
    NEAR,
    NOT_YET,
    NotVisible,
    ScreeningError,
    find_rule_set,
    list_rule_sets,
    screen_organisation,
    screen_region,
    standing,
)

#: The steps of a grant as the timeline names them (services.STAGES and the first steps).
STEP_NAMES = {
    "list": gettext_lazy("listed for publicity"),
    "grant": gettext_lazy("granted"),
    "finalise": gettext_lazy("designated by the final notice"),
    "revoke": gettext_lazy("revoked or withdrawn"),
    "expire": gettext_lazy("validity ran out"),
    "supersede": gettext_lazy("superseded by a new certificate"),
    "rename": gettext_lazy("re-issued under a new name"),
    "reissue": gettext_lazy("re-issued"),
}
STANDING_NAMES = {
    ELIGIBLE: pgettext_lazy("screening standing", "eligible"),
    NEAR: pgettext_lazy("screening standing", "near (cultivation pool)"),
    NOT_YET: pgettext_lazy("screening standing", "not yet"),
}
#: A figure's status as the explanation names it (screening counts only figures reported to the bureau).
FIGURE_STATUS_NAMES = {
    "submitted": gettext_lazy("submitted"),
    "approved": gettext_lazy("approved"),
    "published": gettext_lazy("published"),
}
#: The expiry list looks this many days ahead (or back) unless told otherwise.
EXPIRY_DAYS = 90


def _answer(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    """The page, or its list only for htmx (not for a history restore, which wants the page)."""
    context.setdefault("can_work", workspaces(request.user).screen)
    return htmx.answer(request, template, context.get("partial"), context, status=status)


def _require_workspace(user) -> None:
    if not workspaces(user).screen:
        raise PermissionDenied(_("This page is for the bureau's staff and analysts."))


def _home_region(user) -> Region | None:
    """The region the user works in (their first region grant), or the deployment's own district."""
    scope = scope_of(user)
    if scope.read_paths:
        region = Region.objects.filter(path=scope.read_paths[0]).first()
        if region is not None:
            return region
    return Region.objects.filter(code=HOME_REGION).first()


def _organisation_visible(user):
    """An annotation: whether the user may open the grant's organisation page (the registry's rule)."""
    scope = scope_of(user)
    if scope.everything:
        return Value(True)
    if scope.empty:
        return Value(False)
    return Exists(visible_to(Organisation.objects.filter(pk=OuterRef("organisation_id")), user))


def _types():
    return list(DesignationType.objects.order_by("code"))


def _filtered(rows, wanted: dict):
    """The filters the registry and the expiry list share."""
    if "type" in wanted:
        rows = rows.filter(type=wanted["type"])
    if "level" in wanted:
        rows = rows.filter(level=wanted["level"])
    if "region" in wanted:
        rows = services.in_region(rows, wanted["region"])
    if "q" in wanted:
        text = wanted["q"].strip()
        rows = rows.filter(Q(organisation__in=Organisation.objects.search(text).values("pk"))
                           | Q(name_on_list__icontains=text) | Q(organisation__uscc=text.upper()))
    return rows


def _problems(form) -> list[str]:
    """Each bad field of a bound form as "label: reason", shown inside the list's part (so an
    htmx answer carries them too)."""
    return [f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()]


# --- the registry ------------------------------------------------------------------------------

REGISTRY_SORTS = {"organisation": ["organisation__name_zh", "organisation__name_en"], "type": "type__code",
                  "level": "level", "granted": "granted_on", "valid": "valid_until", "stage": "stage"}


def registry(request):
    """Every grant the user may see (final ones are public record), filtered, sorted, paged."""
    form = RegistryFilter(request.GET, types=_types())
    wanted = form.filters()
    problems = _problems(form)
    rows = visible_to(Designation.objects.all(), request.user).select_related("organisation", "type", "source")
    rows = _filtered(rows, wanted)
    if "year" in wanted:
        year = wanted["year"]
        rows = rows.filter(granted_on__gte=dt.date(year, 1, 1), granted_on__lt=dt.date(year + 1, 1, 1))
    if "stage" in wanted:
        rows = rows.filter(stage=wanted["stage"])
    if "valid_on" in wanted:
        rows = rows.in_force_on(wanted["valid_on"]).exclude(stage=Stage.RENAMED)
    rows = rows.annotate(organisation_visible=_organisation_visible(request.user))
    rows = lists.ordered(request, rows, REGISTRY_SORTS, default="-granted")
    if fmt := lists.export_format(request):
        return lists.download(rows, _registry_columns(), "designations", fmt)
    return _answer(request, "designations/registry.html", {
        "form": form, "problems": problems, "page": lists.page(request, rows), "filtered": bool(wanted),
        "stage_names": STAGE_NAMES, "level_names": LEVEL_NAMES, "partial": "designations/_registry_results.html",
    })


def _registry_columns():
    return [
        (_("Organisation"), lambda row: language.bilingual(row.organisation)),
        (_("USCC"), lambda row: row.organisation.uscc or ""),
        (_("Designation"), lambda row: language.bilingual(row.type)),
        (_("Level"), lambda row: str(LEVEL_NAMES.get(row.level, row.level))),
        (_("Batch"), lambda row: row.batch),
        (_("Stage"), lambda row: str(STAGE_NAMES.get(row.stage, row.stage))),
        (_("Publicity"), lambda row: row.publicised_on),
        (_("Granted"), lambda row: row.granted_on),
        (_("Valid through"), lambda row: row.last_valid_day),
        (_("Certificate number"), lambda row: row.certificate_number),
        (_("Name on the list"), lambda row: row.name_on_list),
        (_("Source"), lambda row: row.source.title if row.source else ""),
    ]


def designation(request, pk: int):
    """One grant: its stages on a timeline, its validity, its re-reviews and its notice."""
    steps = DesignationStep.objects.select_related("by", "source").order_by("on", "id")
    reviews = ReReview.objects.select_related("by", "source").order_by("reviewed_on", "id")
    found = (visible_to(Designation.objects.all(), request.user)
             .select_related("organisation", "type", "source", "replaces")
             .prefetch_related(Prefetch("steps", queryset=steps), Prefetch("re_reviews", queryset=reviews))
             .annotate(organisation_visible=_organisation_visible(request.user)))
    grant = get_object_or_404(found, pk=pk)
    successor = visible_to(Designation.objects.filter(replaces=grant), request.user).first()
    today = timezone.localdate()
    reviews = list(grant.re_reviews.all())
    for review in reviews:  # valid_until is exclusive: a page shows the last valid day
        review.last_day_before = review.valid_until_before - dt.timedelta(days=1)
        review.last_day_after = review.valid_until_after - dt.timedelta(days=1)
    return _answer(request, "designations/designation.html", {
        "grant": grant, "successor": successor, "steps": list(grant.steps.all()), "reviews": reviews,
        "today": today, "in_force": grant.in_force_on(today),
        "stage_names": STAGE_NAMES, "level_names": LEVEL_NAMES, "step_names": STEP_NAMES,
        "rule_versions": {version["code"]: version.get("title", "") for version in grant.type.rule_versions},
    })


# --- the expiry list ---------------------------------------------------------------------------

EXPIRY_SORTS = {"valid": "valid_until", "organisation": ["organisation__name_zh", "organisation__name_en"],
                "type": "type__code", "granted": "granted_on"}


@login_required
def expiring(request):
    """Grants of the enterprises the user looks after whose validity runs out within N days,
    or ran out in the last N days, with where their re-review stands."""
    _require_workspace(request.user)
    form = ExpiryFilter(request.GET, types=_types())
    wanted = form.filters()
    problems = _problems(form)
    days = wanted.get("within", EXPIRY_DAYS)
    state = wanted.get("state") or ExpiryFilter.EXPIRING
    on = wanted.get("on") or timezone.localdate()
    listing = services.expired if state == ExpiryFilter.EXPIRED else services.expiring
    rows = visible_to(listing(days, today=on, user=request.user), request.user)
    rows = _filtered(rows, wanted)
    latest = ReReview.objects.order_by("-reviewed_on", "-id")
    rows = (rows.prefetch_related(Prefetch("re_reviews", queryset=latest, to_attr="reviews"))
            .annotate(organisation_visible=_organisation_visible(request.user)))
    rows = lists.ordered(request, rows, EXPIRY_SORTS,
                         default="-valid" if state == ExpiryFilter.EXPIRED else "valid")
    if fmt := lists.export_format(request):
        return lists.download(_with_review(rows, on), _expiry_columns(state == ExpiryFilter.EXPIRED),
                              f"designations-{state}", fmt)
    page = lists.page(request, rows)
    page.object_list = _with_review(page.object_list, on)
    return _answer(request, "designations/expiring.html", {
        "form": form, "problems": problems, "page": page, "days": days, "state": state, "on": on,
        "expired": state == ExpiryFilter.EXPIRED, "level_names": LEVEL_NAMES,
        "partial": "designations/_expiring_results.html",
    })


def _with_review(rows, on: dt.date) -> list:
    """Each grant with its days left (or since it ran out) and where its re-review stands."""
    found = list(rows)
    for row in found:
        row.days_left = (row.valid_until - on).days - 1 if row.valid_until else None
        row.days_since = -row.days_left if row.days_left is not None else None
        row.last_review = row.reviews[0] if row.reviews else None
        row.review_text = _review_text(row)
    return found


def _review_text(row) -> str:
    if row.type.re_review_years is None:
        return _("no re-review: the enterprise applies again")
    review = row.last_review
    if review is None:
        return _("not re-reviewed yet")
    if review.passed:
        return _("passed on %(day)s") % {"day": review.reviewed_on.isoformat()}
    return _("failed on %(day)s") % {"day": review.reviewed_on.isoformat()}


def _expiry_columns(expired: bool):
    return [
        (_("Organisation"), lambda row: language.bilingual(row.organisation)),
        (_("USCC"), lambda row: row.organisation.uscc or ""),
        (_("Designation"), lambda row: language.bilingual(row.type)),
        (_("Level"), lambda row: str(LEVEL_NAMES.get(row.level, row.level))),
        (_("Batch"), lambda row: row.batch),
        (_("Granted"), lambda row: row.granted_on),
        (_("Valid through"), lambda row: row.last_valid_day),
        (_("Days since") if expired else _("Days left"),
         (lambda row: row.days_since) if expired else (lambda row: row.days_left)),
        (_("Re-review"), lambda row: row.review_text),
        (_("Certificate number"), lambda row: row.certificate_number),
    ]


# --- screening and the explanation -------------------------------------------------------------

POOL_SORTS = ("rank", "name", "standing", "unmet")


@login_required
def screening(request):
    """A rule set (and a date, and a region) → every enterprise of the region screened:
    eligible, near (the cultivation pool) or not yet, with counts, filters, pages, export."""
    _require_workspace(request.user)
    rule_sets = list_rule_sets()
    data = request.GET.copy()
    if not data.get("region"):
        home = _home_region(request.user)
        data["region"] = home.code if home else ""
    form = ScreeningForm(data, rule_sets=rule_sets)
    form.is_valid()
    problems = _problems(form)
    chosen = form.cleaned_data.get("ruleset") if "ruleset" not in form.errors else ""
    on = form.cleaned_data.get("date") or timezone.localdate()
    region = form.cleaned_data.get("region")
    context = {"form": form, "problems": problems, "on": on, "region": region,
               "rule_set_rows": [(rule_set, rule_set.in_force_on(on)) for rule_set in rule_sets],
               "standing_names": STANDING_NAMES, "partial": "designations/_screening_results.html"}
    pool_filter = PoolFilter(request.GET, standings=list(STANDING_NAMES.items()))
    context["pool_filter"] = pool_filter
    if not chosen or region is None or problems:
        return _answer(request, "designations/screening.html", context)
    try:
        rule_set = find_rule_set(chosen, on)
        pool = screen_region(rule_set, region, on, user=request.user)
    except ScreeningError as error:
        context["problems"] = [error.reason]
        return _answer(request, "designations/screening.html", context, status=403 if _refused(error) else 400)
    lang = language.current()
    rows = [_pool_row(screening, lang) for screening in pool.results]
    counts = Counter(row["standing"] for row in rows)
    wanted = pool_filter.cleaned_data if pool_filter.is_valid() else {}
    context["problems"] += _problems(pool_filter)
    if wanted.get("standing"):
        rows = [row for row in rows if row["standing"] == wanted["standing"]]
    if wanted.get("q"):
        text = wanted["q"].strip().lower()
        rows = [row for row in rows if text in row["key"].lower() or text in row["name_zh"].lower()
                or text in row["name_en"].lower()]
    rows = _sorted(request, rows)
    if fmt := lists.export_format(request):
        return lists.download(rows, _pool_columns(pool), f"pool-{rule_set.code}-{region.code}-{on.isoformat()}", fmt)
    context.update(rule_set=rule_set, pool=pool, counts=[(key, name, counts.get(key, 0))
                                                         for key, name in STANDING_NAMES.items()],
                   total=len(pool.results), page=lists.page(request, rows), year=pool.year)
    return _answer(request, "designations/screening.html", context)


def _refused(error: ScreeningError) -> bool:
    return isinstance(error, RoleRefusal)


def _pool_row(screening, lang: str) -> dict:
    """A pool row as the page and the export show it: no database access (the facts are in)."""
    organisation = screening.organisation
    open_criteria = [(outcome.criterion.name_zh if lang == "zh" else outcome.criterion.name_en,
                      outcome.status, explain.status_name(outcome.status, lang))
                     for outcome in screening.outcomes if outcome.criterion.applies and outcome.status != "pass"]
    return {
        "screening": screening, "rank": screening.rank, "key": organisation.key,
        "name_zh": organisation.name_zh or "", "name_en": organisation.name_en or "",
        "name": language.bilingual(organisation),
        "standing": standing(screening), "status": screening.status,
        "verdict": explain.verdict_name(screening.status, lang),
        "unmet": screening.overall.unmet, "awaiting": screening.overall.awaiting,
        "shortfall": screening.overall.shortfall, "open": open_criteria,
    }


def _sorted(request, rows: list[dict]) -> list[dict]:
    """The pool sorted as `lists.ordered` sorts a queryset: `sort` from the URL, "-" descending,
    closest first by default; ties by rank."""
    wanted = request.GET.get("sort", "") or "rank"
    key = wanted.removeprefix("-")
    if key not in POOL_SORTS:
        wanted, key = "rank", "rank"
    order = {ELIGIBLE: 0, NEAR: 1, NOT_YET: 2}
    keys = {"rank": lambda row: row["rank"], "name": lambda row: (row["name"], row["rank"]),
            "standing": lambda row: (order[row["standing"]], row["rank"]),
            "unmet": lambda row: (row["unmet"], row["rank"])}
    return sorted(rows, key=keys[key], reverse=wanted.startswith("-"))


def _pool_columns(pool):
    lang = language.current()
    criteria = [criterion for criterion in pool.rule_set.criteria if criterion.applies]

    def status_of(code):
        def value(row):
            outcome = next(o for o in row["screening"].outcomes if o.criterion.code == code)
            return explain.status_name(outcome.status, lang)
        return value

    columns = [
        (_("Rank"), lambda row: row["rank"]),
        (_("Key"), lambda row: row["key"]),
        (_("Enterprise"), lambda row: row["name"]),
        (_("Standing"), lambda row: str(STANDING_NAMES[row["standing"]])),
        (_("Verdict"), lambda row: row["verdict"]),
        (_("Criteria unmet"), lambda row: row["unmet"]),
        (_("Relative shortfall"), lambda row: Decimal(row["shortfall"]).quantize(Decimal("0.0001"))),
        (_("Awaiting judgement"), lambda row: row["awaiting"]),
    ]
    columns += [(criterion.name_zh if lang == "zh" else criterion.name_en, status_of(criterion.code))
                for criterion in criteria]
    return columns


@login_required
def explanation(request, rule_set: str, key: str):
    """One enterprise against one rule set: every criterion with its threshold, the
    enterprise's value and where it came from, its status and the explanation's sentence.
    Whoever may see the enterprise may read it (its own users too); anyone else: 404."""
    text = request.GET.get("date", "")
    on, problems = timezone.localdate(), []
    if text:
        try:
            day = parse_date(text) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is None:
            problems.append(_("Screening date: %(text)s is not a date (YYYY-MM-DD); today is used.")
                            % {"text": text[:40]})
        else:
            on = day
    context = {"on": on, "key": key, "code": rule_set, "problems": problems}
    try:
        chosen = find_rule_set(rule_set, on)
        screened, names = screen_organisation(key, chosen, on, user=request.user)
    except NotVisible:
        raise Http404(_("No enterprise you may see has this key.")) from None
    except ScreeningError as error:
        context["problems"] = [*problems, error.reason]
        return _answer(request, "designations/explanation.html", context, status=400)
    detail = report.screening_detail(screened, names)
    lang = language.current()
    units = _metric_units(detail["criteria"])
    organisation = Organisation.objects.filter(pk=screened.organisation.id).only("key", "name_zh", "name_en").first()
    context.update(
        rule_set=chosen, screening=screened, organisation=organisation, year=screened.year,
        standing=standing(screened), standing_names=STANDING_NAMES,
        verdict=explain.verdict_name(screened.status, lang),
        caveat=[note[f"{lang}"] for note in detail["caveat"]],
        criteria=[_criterion(criterion, lang, units) for criterion in detail["criteria"]],
    )
    return _answer(request, "designations/explanation.html", context)


def _metric_units(criteria: list[dict]) -> dict[str, str]:
    """The unit kind of every metric the explanation's figures read, in one query."""
    codes, stack = set(), list(criteria)
    while stack:
        criterion = stack.pop()
        codes.update(figure["metric"] for figure in criterion.get("figures", ()) if "metric" in figure)
        stack.extend(criterion.get("children", ()))
    return dict(Metric.objects.filter(code__in=codes).values_list("code", "unit_kind")) if codes else {}


def _decimal(text) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return None


def _criterion(found: dict, lang: str, units: dict) -> dict:
    """One criterion of the explanation in the page's language: threshold, value, figures, sentence."""
    kind = found["kind"]
    threshold = value = ""
    if kind == "compare":
        unit = found["figure"]["unit"]
        if found.get("threshold_text_zh"):
            threshold = f"{found['symbol']} {found[f'threshold_text_{lang}']}"
        years = [(entry["year"], _decimal(entry["value"])) for entry in found.get("years", [])]
        if len(years) > 1:
            value = "; ".join(f"{explain.quantity(amount, unit, lang)} ({year})" for year, amount in years)
        elif found.get("value") is not None:
            value = explain.quantity(_decimal(found["value"]), unit, lang)
    elif kind == "holds":
        threshold = (" / " if lang == "en" else "、").join(explain.designation_name(code, lang)
                                                           for code in found["types"])
        held = [explain.designation_name(code, lang) for code in found.get("held") or ()]
        value = ", ".join(held) if held else (_("none held") if found["status"] != "missing" else "")
    elif kind == "score":
        score = found["score"]
        low, high = explain.number(_decimal(score["low"])), explain.number(_decimal(score["high"]))
        threshold = _("%(symbol)s %(points)s points") % {
            "symbol": "≥" if score["operator"] == "at_least" else ">",
            "points": explain.number(_decimal(score["threshold"]))}
        value = _("%(points)s points") % {"points": low if low == high else f"{low}–{high}"}
    elif kind == "judgement":
        answer = found.get("answer")
        value = "" if answer is None else (_("yes") if answer is True else _("no") if answer is False else str(answer))
    figures = []
    for figure in found.get("figures", ()):
        if figure.get("input") == "founded":
            figures.append({"name": _("Founding date (registry milestone)"), "value": figure["value"] or "—",
                            "missing": figure["value"] is None})
            continue
        amount = _decimal(figure["value"])
        if amount is None:
            shown = "—"
        elif units.get(figure["metric"]) == UnitKind.MONEY:
            shown = money(amount)
        elif units.get(figure["metric"]) == UnitKind.PERCENT:
            shown = f"{explain.number(amount)}%"
        else:
            shown = explain.number(amount)
        figures.append({"name": figure["name_zh"] if lang == "zh" else figure["name_en"], "year": figure["year"],
                        "period": figure["period"], "value": shown, "observation": figure["observation"],
                        "status": figure["status"],
                        "status_name": FIGURE_STATUS_NAMES.get(figure["status"], figure["status"]),
                        "source": figure["source"], "missing": amount is None})
    citation = found.get("citation")
    return {
        "code": found["code"], "name": found["name_zh"] if lang == "zh" else found["name_en"],
        "status": found["status"], "status_name": found[f"status_{lang}"], "text": found[f"text_{lang}"],
        "threshold": threshold, "value": value, "figures": figures, "verified": found["verified"],
        "citation": _citation_text(citation),
        "items": [item[f"text_{lang}"] for item in found.get("score", {}).get("items", ())],
        "children": [_criterion(child, lang, units) for child in found.get("children", ())],
    }


def _citation_text(citation) -> str:
    if not citation:
        return ""
    if isinstance(citation, dict):
        return " ".join(part for part in (citation.get("title", ""), citation.get("clause", "")) if part)
    return str(citation)


# --- the review queue of imported lists ----------------------------------------------------------


@login_required
def imports(request):
    """The rows of imported lists that matched no enterprise exactly, waiting for the bureau."""
    _require_workspace(request.user)
    status = request.GET.get("status", CandidateStatus.PENDING)
    if status not in CandidateStatus.values:
        messages.error(request, _("Status: %(status)s is not one of %(choices)s.") % {
            "status": status[:40], "choices": ", ".join(CandidateStatus.values)})
        status = CandidateStatus.PENDING
    rows = (visible_to(ImportCandidate.objects.filter(status=status), request.user)
            .select_related("designation_import__type", "region", "organisation", "resolved_by")
            .order_by("-designation_import__created_at", "designation_import", "row"))
    page = lists.page(request, rows)
    return _answer(request, "designations/imports.html", {
        "page": page, "status": status, "statuses": CandidateStatus.choices, "pending": CandidateStatus.PENDING,
        "link_form": LinkForm(), "dismiss_form": DismissForm(),
    })


@login_required
@require_POST
def review_candidate(request, pk: int, decision: str):
    """Link a queued row to an enterprise (and grant), or dismiss it, through the importer."""
    _require_workspace(request.user)
    candidate = get_object_or_404(visible_to(ImportCandidate.objects.all(), request.user), pk=pk)
    form = (LinkForm if decision == "link" else DismissForm)(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            messages.error(request, f"{form.fields[name].label}: {' '.join(errors)}")
        return redirect("designations-imports")
    try:
        if decision == "link":
            organisation = visible_to(Organisation.objects.filter(key=form.cleaned_data["organisation"].strip()),
                                      request.user).first()
            if organisation is None:
                messages.error(request, _("Enterprise key: no enterprise you may see has the key %(key)s.") % {
                    "key": form.cleaned_data["organisation"][:100]})
                return redirect("designations-imports")
            importer.link_candidate(candidate, organisation, by=request.user,
                                    granted_on=form.cleaned_data.get("granted_on"))
            messages.success(request, _("Row %(row)s linked to %(name)s and granted.") % {
                "row": candidate.row, "name": language.bilingual(organisation)})
        else:
            importer.dismiss_candidate(candidate, comment=form.cleaned_data["comment"], by=request.user)
            messages.success(request, _("Row %(row)s dismissed.") % {"row": candidate.row})
    except ValidationError as error:
        reason = getattr(error, "reason", None) or " ".join(error.messages)
        messages.error(request, _("Row %(row)s: %(reason)s") % {"row": candidate.row, "reason": reason})
    return redirect("designations-imports")

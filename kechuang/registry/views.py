"""The registry's pages: home and search, the regions, and an organisation's profile.

Every queryset shown goes through `visible_to`: the public sees the division tree and no
organisation; each role sees its scope; an organisation outside it is a 404 as if it did
not exist. A fact that names another organisation (an owner, a zone, a partner) names it,
but links to it only where the reader may open it; what an organisation holds is listed
only where the held organisation is visible.

An organisation's page is one profile whose sections follow its kind: an enterprise's
ownership chain, capacities, designations, projects and figures; a park's or zone's phases
and tenants; a university's or institute's collaborations. Each section is one query (or
one per level of an ownership chain, at most `CHAIN_DEPTH`), never one per row.
"""

import json
from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.db.models import Count, F, OuterRef, Prefetch, Q, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from kechuang.accounts.scoping import visible_to
from kechuang.designations.models import Designation
from kechuang.programs.models import Party, Project, ProjectKind
from kechuang.statistics.models import Observation, ObservationKind, ObservationStatus
from kechuang.statistics.periods import Period, PeriodError
from kechuang.web import htmx, language, lists
from kechuang.web.templatetags.web import money, name

from .dates import Precision, to_partial
from .models import (
    CONTAINER_KINDS,
    Location,
    Organisation,
    OrganisationKind,
    Ownership,
    Phase,
    Region,
    RegionLevel,
)

HOME_REGION = "320612"  # the district this deployment serves; Tongzhou in the demo
#: How far an ownership chain is followed up and down (a chain longer than this is cut).
CHAIN_DEPTH = 6
#: How many periods an organisation's figures show: the latest ones it has figures for.
FIGURE_PERIODS = 8
#: How many regions the region finder lists.
FOUND_REGIONS = 100
ACADEMIC_KINDS = (OrganisationKind.UNIVERSITY, OrganisationKind.INSTITUTE)
#: Codes in use before abolished ones (a null end first on SQLite and PostgreSQL alike).
IN_USE_FIRST = F("valid_to").asc(nulls_first=True)

KINDS = {
    "enterprise": gettext_lazy("Enterprise"),
    "university": gettext_lazy("University"),
    "institute": gettext_lazy("Research institute"),
    "zone": gettext_lazy("High-tech or development zone"),
    "park": gettext_lazy("Industrial park"),
    "government": gettext_lazy("Government body"),
}
KINDS_PLURAL = {
    "enterprise": gettext_lazy("Enterprises"),
    "university": gettext_lazy("Universities"),
    "institute": gettext_lazy("Research institutes"),
    "zone": gettext_lazy("Zones"),
    "park": gettext_lazy("Industrial parks"),
    "government": gettext_lazy("Government bodies"),
}
LEVELS = {
    "province": gettext_lazy("Province"),
    "city": gettext_lazy("City"),
    "district": gettext_lazy("District or county"),
    "town": gettext_lazy("Town or street"),
}
ALIAS_KINDS = {"short": gettext_lazy("short name"), "former": gettext_lazy("former name"),
               "other": gettext_lazy("also known as")}
PHASE_STATUSES = {
    "planned": gettext_lazy("Planned"),
    "construction": gettext_lazy("Under construction"),
    "operating": gettext_lazy("Operating"),
    "closed": gettext_lazy("Closed"),
}
MILESTONE_KINDS = {
    "founded": gettext_lazy("Founded"),
    "arrived": gettext_lazy("Arrived"),
    "investment": gettext_lazy("Investment"),
    "construction": gettext_lazy("Construction started"),
    "trial_production": gettext_lazy("First trial production"),
    "mass_production": gettext_lazy("Mass production"),
    "listing": gettext_lazy("Stock listing"),
    "other": gettext_lazy("Other"),
}
DESIGNATION_LEVELS = {
    "national": gettext_lazy("National"),
    "provincial": gettext_lazy("Provincial"),
    "city": gettext_lazy("City"),
    "district": gettext_lazy("District"),
}
DESIGNATION_STAGES = {
    "publicity": gettext_lazy("In publicity"),
    "final": gettext_lazy("Designated"),
    "revoked": gettext_lazy("Revoked"),
    "expired": gettext_lazy("Expired"),
    "renamed": gettext_lazy("Renamed"),
}
PROJECT_KINDS = {"innovation": gettext_lazy("Innovation project"),
                 "collaboration": gettext_lazy("Academia–industry collaboration")}
PROJECT_STATES = {
    "draft": gettext_lazy("Draft"),
    "submitted": gettext_lazy("Submitted"),
    "under_review": gettext_lazy("Under review"),
    "approved": gettext_lazy("Approved"),
    "rejected": gettext_lazy("Not approved"),
    "in_progress": gettext_lazy("In progress"),
    "completed": gettext_lazy("Completed"),
    "terminated": gettext_lazy("Terminated"),
}
PARTY_ROLES = {
    "lead": gettext_lazy("Lead"),
    "enterprise_partner": gettext_lazy("Enterprise partner"),
    "university_partner": gettext_lazy("University partner"),
    "institute_partner": gettext_lazy("Institute partner"),
}
PER = {"year": pgettext_lazy("a capacity per", "year"), "month": pgettext_lazy("a capacity per", "month"),
       "day": pgettext_lazy("a capacity per", "day")}


# --- small helpers ----------------------------------------------------------------------------


def when(partial) -> str:
    """A date known to a year, a month or a day, as precisely as it is known, in the page's language."""
    if partial is None:
        return ""
    if partial.precision == Precision.YEAR:
        return pgettext("a year on its own, as a date", "%(year)s") % {"year": partial.date.year}
    if partial.precision == Precision.MONTH:
        return date_format(partial.date, "YEAR_MONTH_FORMAT")
    return date_format(partial.date, "DATE_FORMAT")


def _day(date) -> str:
    return date_format(date, "DATE_FORMAT") if date else ""


def _visible_ids(user, ids) -> set[int]:
    """Which of these organisations the user may open: one query for a whole page."""
    ids = {pk for pk in ids if pk is not None}
    if not ids:
        return set()
    return set(visible_to(Organisation.objects.filter(pk__in=ids), user).values_list("pk", flat=True))


# --- lists of organisations -------------------------------------------------------------------


class OrganisationFilter(forms.Form):
    q = forms.CharField(label=gettext_lazy("Name, pinyin or USCC"), required=False, max_length=200)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("Any kind")), *[(value, KINDS[value]) for value in KINDS]]


def _filtered(request, queryset, *, search_field: str = "q"):
    """The URL's filters applied to `queryset`; a value that is not valid is ignored with a message."""
    form = OrganisationFilter(request.GET)
    form.is_valid()
    for key, errors in form.errors.items():
        label = form.fields[key].label if key in form.fields else key
        messages.warning(request, _("Filter “%(field)s” ignored: %(reason)s")
                         % {"field": label, "reason": " ".join(errors)})
    values = getattr(form, "cleaned_data", {})
    text = values.get("q", "").strip()
    if text:
        queryset = queryset.search(text)
    if values.get("kind"):
        queryset = queryset.filter(kind=values["kind"])
    return form, queryset, bool(text or values.get("kind"))


def _organisation_list(queryset):
    """Rows of an organisation table: their current place and sectors in two more queries."""
    place = Location.objects.current().filter(organisation=OuterRef("pk")).values("region__code")[:1]
    return queryset.annotate(place_code=Subquery(place)).select_related("source").prefetch_related(
        "sectors", Prefetch("locations", queryset=Location.objects.current().select_related("region", "within"),
                            to_attr="current_locations"),
    )


def _organisation_columns() -> dict:
    names = ["name_en", "name_zh"] if language.current() == "en" else ["name_zh", "name_en"]
    return {"name": names, "kind": ["kind", *names], "place": ["place_code", *names], "uscc": ["uscc", *names]}


def _place(org) -> str:
    locations = getattr(org, "current_locations", [])
    if not locations:
        return ""
    location = locations[0]
    return " · ".join(part for part in (name(location.region), name(location.within)) if part)


def _export_organisations(rows, filename: str, fmt: str):
    return lists.download(rows, [
        (_("Registry key"), lambda o: o.key),
        (_("Name (Chinese)"), lambda o: o.name_zh),
        (_("Name (English)"), lambda o: o.name_en),
        (_("Kind"), lambda o: str(KINDS.get(o.kind, o.kind))),
        (_("USCC"), lambda o: o.uscc or ""),
        (_("Region code"), lambda o: o.place_code or ""),
        (_("Location"), _place),
        (_("Sectors"), lambda o: "; ".join(name(s) for s in o.sectors.all())),
        (_("Synthetic (demo)"), lambda o: _("yes") if o.synthetic else ""),
    ], filename, fmt)


def _organisation_page(request, queryset, filename: str):
    """Sorted, exported or paged: the list part of a page listing organisations."""
    rows = lists.ordered(request, _organisation_list(queryset), _organisation_columns(), default="name")
    if fmt := lists.export_format(request):
        return None, _export_organisations(rows, filename, fmt)
    page = lists.page(request, rows)
    page.object_list = list(page.object_list)
    for org in page.object_list:
        org.kind_label = KINDS.get(org.kind, org.kind)
    return page, None


# --- home, search and regions -----------------------------------------------------------------


def home(request):
    if request.GET.get("q", "").strip():
        return search(request)
    region = Region.objects.filter(code=HOME_REGION).first()
    context = {"region": region}
    if region:
        inside = visible_to(Organisation.objects.in_region(region), request.user)
        counts = dict.fromkeys(KINDS, 0)
        counts.update({row["kind"]: row["n"] for row in inside.order_by().values("kind").annotate(n=Count("id"))})
        context.update({
            "trail": region.ancestors(),
            "children": _labelled_regions(region.children.filter(valid_to__isnull=True).order_by("code")),
            "query": "",
            "cards": [(KINDS_PLURAL[kind], counts[kind], kind) for kind in KINDS],
            "featured": _featured(request, inside),
            "provinces": Region.objects.filter(level=RegionLevel.PROVINCE, valid_to__isnull=True).order_by("code"),
        })
    return render(request, "registry/home.html", context)


def _featured(request, inside):
    rows = list(_organisation_list(inside.filter(synthetic=False)).order_by("kind", "key")[:20])
    for org in rows:
        org.kind_label = KINDS.get(org.kind, org.kind)
    return rows


def search(request):
    """Organisations by any form of a name (Chinese, English, pinyin, initials) or the USCC."""
    query = request.GET.get("q", "").strip()[:200]
    form, found, _any = _filtered(request, visible_to(Organisation.objects.all(), request.user))
    page, download = _organisation_page(request, found, "search")
    if download:
        return download
    context = {"query": query, "form": form, "page": page, "list_url": reverse("home")}
    return htmx.answer(request, "registry/search.html", "registry/_search_results.html", context)


def _labelled_regions(regions):
    regions = list(regions)
    for region in regions:
        region.level_label = LEVELS.get(region.level, region.level)
    return regions


def regions(request):
    """The provinces, or the regions whose code or name matches `q` (any level, with their place in the tree)."""
    query = request.GET.get("q", "").strip()[:50]
    if query.isdigit() and (exact := Region.objects.filter(code=query).first()):
        return redirect("region", exact.code)
    if query:
        found = Region.objects.filter(Q(code__startswith=query) | Q(name_zh__contains=query)
                                      | Q(name_en__icontains=query))
        found = list(found.order_by(IN_USE_FIRST, "path")[:FOUND_REGIONS + 1])
        if len(found) == 1:
            return redirect("region", found[0].code)
        more = len(found) > FOUND_REGIONS
        found = _labelled_regions(found[:FOUND_REGIONS])
        _attach_ancestors(found)
    else:
        found = _labelled_regions(Region.objects.filter(parent__isnull=True).order_by(IN_USE_FIRST, "code"))
        more = False
    return render(request, "registry/regions.html", {"region_query": query, "found": found, "more": more})


def _attach_ancestors(regions: list[Region]) -> None:
    """Each region's ancestors (province first), for all of them in one query."""
    codes = {code for region in regions for code in region.ancestor_codes}
    by_code = Region.objects.in_bulk(codes, field_name="code") if codes else {}
    for region in regions:
        region.trail = [by_code[code] for code in region.ancestor_codes if code in by_code]


def region_detail(request, code):
    region = get_object_or_404(Region.objects.select_related("successor"), code=code)
    inside = visible_to(Organisation.objects.in_region(region), request.user)
    form, rows, filtered = _filtered(request, inside)
    page, download = _organisation_page(request, rows, f"organisations-{region.code}")
    if download:
        return download
    context = {"region": region, "form": form, "page": page, "filtered": filtered,
               "list_url": reverse("region", args=[region.code])}
    if htmx.wants_part(request):
        return htmx.answer(request, "registry/_organisation_list.html", None, context)
    region.level_label = LEVELS.get(region.level, region.level)
    context.update({
        "trail": region.ancestors(),
        "children": _labelled_regions(region.children.order_by(IN_USE_FIRST, "code")),
        "predecessors": list(region.predecessors.all()),
    })
    return htmx.answer(request, "registry/region.html", None, context)


# --- an organisation's profile ----------------------------------------------------------------


@dataclass
class Link:
    """One ownership row seen from one side: the other organisation, and what lies beyond it."""

    row: Ownership
    organisation: Organisation
    linked: bool = False
    beyond: list["Link"] = field(default_factory=list)


def ownership_chain(org: Organisation, user, *, up: bool) -> list[Link]:
    """The owners above `org` up to the top (`up`), or what it holds down to the bottom, as
    far as the user may see: an ownership row is visible with the organisation that is held
    (scoping.py), so the chain goes up through owners the user may see and down only into
    organisations the user may see. One query per level, at most CHAIN_DEPTH levels."""
    near, far = ("organisation", "owner") if up else ("owner", "organisation")
    by_near: dict[int, list[Ownership]] = {}
    frontier, seen = {org.pk}, {org.pk}
    for _level in range(CHAIN_DEPTH):
        rows = visible_to(Ownership.objects.filter(**{f"{near}__in": frontier}), user)
        rows = rows.select_related(far, "source").order_by(F("until").asc(nulls_first=True), "-share_percent", "pk")
        frontier = set()
        for row in rows:
            by_near.setdefault(getattr(row, f"{near}_id"), []).append(row)
            other = getattr(row, f"{far}_id")
            if other not in seen:
                seen.add(other)
                frontier.add(other)
        if not frontier:
            break

    def links(pk: int, path: frozenset) -> list[Link]:
        found = []
        for row in by_near.get(pk, []):
            other = getattr(row, far)
            beyond = [] if other.pk in path else links(other.pk, path | {other.pk})
            found.append(Link(row, other, beyond=beyond))
        return found

    return links(org.pk, frozenset({org.pk}))


def _walk(links: list[Link]):
    for link in links:
        yield link
        yield from _walk(link.beyond)


def principal_chain(owners: list[Link]) -> list[Link]:
    """The path up through the largest current owner at each level (Sky Technology above Zhongkeyi)."""
    chain, level = [], owners
    while level:
        current = [link for link in level if link.row.until is None]
        if not current:
            break
        top = max(current, key=lambda link: link.row.share_percent)
        chain.append(top)
        level = top.beyond
    return list(reversed(chain))


class Citations:
    """The sources a page cites, numbered in the order the page first cites them: each fact
    carries a small [n] that leads to the list of sources at the foot of the page."""

    def __init__(self):
        self.numbers: dict[int, tuple[int, object]] = {}

    def cite(self, rows) -> None:
        for row in rows:
            row.cite = self.number(row.source if getattr(row, "source_id", None) else None)

    def number(self, source) -> int | None:
        if source is None:
            return None
        if source.pk not in self.numbers:
            self.numbers[source.pk] = (len(self.numbers) + 1, source)
        return self.numbers[source.pk][0]

    @property
    def listed(self) -> list[tuple[int, object]]:
        return list(self.numbers.values())


def _label_location(location: Location) -> None:
    location.since_label = when(location.since)
    location.until_label = _day(location.valid_to)


def organisation_detail(request, key):
    user = request.user
    org = get_object_or_404(
        visible_to(Organisation.objects.select_related("source"), user).prefetch_related(
            "sectors", "aliases",
            Prefetch("locations", queryset=Location.objects.select_related("region", "within", "source")
                     .order_by("-valid_from")),
            "milestones__source", "capacities__source", "contacts__source",
        ),
        key=key,
    )
    org.kind_label = KINDS.get(org.kind, org.kind)
    locations = list(org.locations.all())
    for location in locations:
        _label_location(location)
    location = org.current_location
    if htmx.wants_part(request) or lists.export_format(request):
        # The page's one list (tenants or collaborations) swapped in by htmx, or downloaded.
        return _organisation_list_part(request, org)

    owners = ownership_chain(org, user, up=True)
    holdings = ownership_chain(org, user, up=False)
    milestones = list(org.milestones.all())
    for milestone in milestones:
        milestone.kind_label = MILESTONE_KINDS.get(milestone.kind, milestone.kind)
        milestone.when_label = when(milestone.when)
    capacities = list(org.capacities.all())
    for capacity in capacities:
        capacity.per_label = PER.get(capacity.per, capacity.per)
        capacity.quantity_text = f"{capacity.quantity.normalize():,f}"
    for alias in org.aliases.all():
        alias.kind_label = ALIAS_KINDS.get(alias.kind, alias.kind)

    context = {
        "org": org,
        "location": location,
        "locations": sorted(locations, key=lambda loc: (loc.valid_from is not None, loc.valid_from)),
        "trail": [*location.region.ancestors(), location.region] if location else [],
        "owners": owners,
        "holdings": holdings,
        "principal": principal_chain(owners),
        "milestones": milestones,
        "capacities": capacities,
        "contacts": list(org.contacts.all()),
        "statistics": organisation_figures(org, user),
        "is_enterprise": org.kind == OrganisationKind.ENTERPRISE,
        "is_container": org.kind in CONTAINER_KINDS,
        "is_academic": org.kind in ACADEMIC_KINDS,
    }
    party_ids = set()
    if org.kind == OrganisationKind.ENTERPRISE:
        context["designations"] = _designations(org, user)
        context["projects"] = _projects(org, user)
        party_ids = {party.organisation_id for project in context["projects"] for party in project.party_list}
    if org.kind in CONTAINER_KINDS:
        context["phases"] = _phases(org)
        context["parent_zone"] = location.within if location and location.within_id else None
        context.update(_tenants(request, org))
    if org.kind in ACADEMIC_KINDS:
        collaborations = _collaborations(request, org)
        context.update(collaborations)
        party_ids = {party.organisation_id for project in collaborations["page"].object_list
                     for party in project.party_list}
    # Which of the organisations the page names the reader may open: one query.
    named = {link.organisation.pk for link in _walk(owners)} | {link.organisation.pk for link in _walk(holdings)}
    named |= {loc.within_id for loc in locations} | party_ids
    visible = _visible_ids(user, named)
    for link in [*_walk(owners), *_walk(holdings)]:
        link.linked = link.organisation.pk in visible
    for loc in locations:
        loc.within_linked = loc.within_id in visible
    shown_projects = context.get("projects", []) + (list(context["page"].object_list) if org.kind in ACADEMIC_KINDS
                                                     else [])
    for project in shown_projects:
        for party in project.party_list:
            party.linked = party.organisation_id in visible
    citations = Citations()
    citations.cite([org, *context["locations"], *[link.row for link in _walk(owners)],
                    *[link.row for link in _walk(holdings)], *milestones, *capacities,
                    *context.get("phases", []), *context.get("designations", []),
                    *[figure for row in (context["statistics"] or {}).get("rows", []) for figure in row["figures"]
                      if figure is not None], *context["contacts"]])
    context["sources"] = citations.listed
    return htmx.answer(request, "registry/organisation.html", None, context)


def _organisation_list_part(request, org):
    if org.kind in CONTAINER_KINDS:
        context = {"org": org, **_tenants(request, org)}
        template = "registry/_organisation_list.html"
    elif org.kind in ACADEMIC_KINDS:
        context = {"org": org, **_collaborations(request, org)}
        if context["page"] is not None:
            visible = _visible_ids(request.user, {party.organisation_id for project in context["page"].object_list
                                                  for party in project.party_list})
            for project in context["page"].object_list:
                for party in project.party_list:
                    party.linked = party.organisation_id in visible
        template = "registry/_collaborations.html"
    else:
        return redirect("organisation", org.key)
    if "download" in context:
        return context["download"]
    return htmx.answer(request, template, None, context)


def _designations(org, user) -> list[Designation]:
    rows = list(visible_to(Designation.objects.filter(organisation=org), user)
                .select_related("type", "source").order_by("-granted_on", "-publicised_on", "pk"))
    for row in rows:
        row.level_label = DESIGNATION_LEVELS.get(row.level, row.level)
        row.stage_label = DESIGNATION_STAGES.get(row.stage, row.stage)
        row.url = reverse("designation", args=[row.pk])
    return rows


def _project_rows(projects) -> list[Project]:
    projects = list(projects.select_related("call", "applicant").prefetch_related(
        Prefetch("parties", queryset=Party.objects.select_related("organisation").order_by("role", "pk"),
                 to_attr="party_list")))
    for project in projects:
        project.kind_label = PROJECT_KINDS.get(project.kind, project.kind)
        project.state_label = PROJECT_STATES.get(project.state, project.state)
        project.url = reverse("programs-application", args=[project.key])
        for party in project.party_list:
            party.role_label = PARTY_ROLES.get(party.role, party.role)
        project.partners = [party for party in project.party_list if party.role != "lead"]
    return projects


def _projects(org, user) -> list[Project]:
    """The projects the enterprise applied for or takes part in, as far as the user may see them."""
    taking_part = Party.objects.filter(organisation=org).values("project_id")
    projects = visible_to(Project.objects.filter(Q(applicant=org) | Q(pk__in=taking_part)), user)
    return _project_rows(projects.order_by("-created_at", "pk"))


def _collaborations(request, org) -> dict:
    """The academia–industry collaborations a university or institute is a party to: a list
    with sorting, pages and a download."""
    taking_part = Party.objects.filter(organisation=org).values("project_id")
    projects = visible_to(Project.objects.filter(kind=ProjectKind.COLLABORATION, pk__in=taking_part), request.user)
    titles = ["title_en", "title_zh"] if language.current() == "en" else ["title_zh", "title_en"]
    rows = lists.ordered(request, projects, {"signed": "agreement_date", "title": titles, "state": ["state", *titles],
                                             "value": "contract_value"}, default="-signed")
    if fmt := lists.export_format(request):
        rows = _project_rows(rows)
        return {"page": None, "download": lists.download(rows, [
            (_("Project key"), lambda p: p.key),
            (_("Title"), lambda p: language.bilingual(p, "title")),
            (_("Status"), lambda p: str(p.state_label)),
            (_("Agreement signed"), lambda p: p.agreement_date),
            (_("Planned start"), lambda p: p.planned_start),
            (_("Planned end"), lambda p: p.planned_end),
            (_("Contract value (yuan)"), lambda p: p.contract_value),
            (_("Lead enterprise"), lambda p: name(p.applicant)),
            (_("Partners"), lambda p: "; ".join(name(party.organisation) for party in p.partners)),
        ], f"collaborations-{org.key}", fmt)}
    page = lists.page(request, rows)
    page.object_list = _project_rows(page.object_list)
    return {"page": page}


def _phases(org) -> list[Phase]:
    phases = list(org.phases.select_related("source").order_by("number"))
    for phase in phases:
        phase.status_label = PHASE_STATUSES.get(phase.status, phase.status)
        phase.construction_label = when(to_partial(phase.construction_start, phase.construction_start_precision))
        phase.operation_label = when(to_partial(phase.operation_start, phase.operation_start_precision))
    return phases


def _tenants(request, org) -> dict:
    """The organisations located in a park or zone now (a zone's parks' tenants too)."""
    inside = visible_to(Organisation.objects.within(org), request.user)
    form, rows, filtered = _filtered(request, inside)
    page, download = _organisation_page(request, rows, f"tenants-{org.key}")
    context = {"form": form, "page": page, "filtered": filtered, "list_url": reverse("organisation", args=[org.key])}
    if download:
        context["download"] = download
    return context


# --- an organisation's figures ----------------------------------------------------------------


def _shown_periods(codes: set[str]) -> list[Period]:
    """The periods a profile shows: of the year-to-date figures (1-N月累计) only the latest of
    each year, since each includes the ones before; the last FIGURE_PERIODS of them."""
    periods = []
    for code in codes:
        try:
            periods.append(Period.parse(code))
        except PeriodError:
            continue
    year_to_date: dict[int, Period] = {}
    for period in periods:
        if period.kind == "range" and period.first_month == 1:
            if period.year not in year_to_date or period.last_month > year_to_date[period.year].last_month:
                year_to_date[period.year] = period
    kept = [p for p in periods if not (p.kind == "range" and p.first_month == 1) or year_to_date[p.year] == p]
    return sorted(kept, key=lambda p: (p.end, p.start, p.code))[-FIGURE_PERIODS:]


def _unit(unit: str) -> str:
    """A metric's base unit as the page's language writes it (yuan stays yuan: charts.js scales it)."""
    return {"persons": _("persons"), "items": _("items"), "units": _("units")}.get(unit, unit)


def _figure_text(metric, value) -> str:
    if metric.unit_kind == "money":
        return money(value)
    if metric.unit_kind == "percent":
        return f"{value.normalize():f}%"
    number = f"{value:,.4f}".rstrip("0").rstrip(".")
    return f"{number} {_unit(metric.base_unit)}"


def organisation_figures(org, user) -> dict | None:
    """The organisation's reported figures (the current version of each, as far as the user
    may see them): a table of metric × period and a chart per unit, in one query."""
    observations = visible_to(
        Observation.objects.current().filter(organisation=org, kind=ObservationKind.ACTUAL)
        .exclude(status__in=(ObservationStatus.DRAFT, ObservationStatus.RETURNED)), user,
    ).select_related("metric", "source").order_by("metric__code", "period_start", "period_end")
    observations = list(observations)
    if not observations:
        return None
    periods = _shown_periods({row.period for row in observations})
    codes = [period.code for period in periods]
    cells: dict[tuple[int, str], Observation] = {}
    metrics = {}
    for row in observations:
        if row.period in codes:
            cells[(row.metric_id, row.period)] = row
            metrics[row.metric_id] = row.metric
    if not metrics:
        return None
    rows, sources = [], {}
    for metric in metrics.values():
        figures = []
        for code in codes:
            row = cells.get((metric.pk, code))
            if row is not None:
                row.text = _figure_text(metric, row.value)
                row.provisional = row.status == ObservationStatus.SUBMITTED
                if row.source_id:
                    sources[row.source_id] = row.source
            figures.append(row)
        rows.append({"metric": metric, "figures": figures})
    labels = [period.label(language.current()) for period in periods]
    return {"periods": periods, "labels": labels, "rows": rows, "charts": _charts(rows, labels),
            "sources": list(sources.values())}


def _charts(rows: list[dict], labels: list[str]) -> list[dict]:
    """One chart per unit (money together, persons together …), in charts.js's `data-chart` form."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        metric = row["metric"]
        groups.setdefault((metric.unit_kind, metric.base_unit), []).append(row)
    charts = []
    # Money first: the figures a reader looks for (output, revenue) before head counts.
    for (unit_kind, unit), members in sorted(groups.items(), key=lambda item: item[0][0] != "money"):
        series = [{"name": name(row["metric"]),
                   "values": [float(figure.value) if figure is not None else None for figure in row["figures"]]}
                  for row in members]
        spec = {"kind": "line" if len(labels) > 1 else "bar", "unit": _unit(unit), "unitKind": unit_kind,
                "precision": 0 if unit_kind == "count" else 2, "categories": labels, "series": series}
        charts.append({"json": json.dumps(spec, ensure_ascii=False),
                       "names": ", ".join(item["name"] for item in series)})
    return charts

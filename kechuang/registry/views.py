"""Read-only web pages for the registry: home and search, a region, an organisation.

Every list of organisations goes through `visible_to`: the public sees the division
tree and no organisation; each role sees its scope; an organisation outside it is a
404 as if it did not exist. The bureau workspace (dashboards, forms) is built on these
in the web issue.
"""

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, render

from kechuang.accounts.scoping import visible_to

from .models import Location, Organisation, OrganisationKind, Ownership, Region

HOME_REGION = "320612"  # the district this deployment serves; Tongzhou in the demo


def _organisation_list(queryset):
    return queryset.select_related("source").prefetch_related(
        "sectors", Prefetch("locations", queryset=Location.objects.current().select_related("region", "within"))
    )


def _page(request, queryset, size=50):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _visible(request, queryset):
    return visible_to(queryset, request.user)


def home(request):
    query = request.GET.get("q", "").strip()[:200]
    if query:
        found = _visible(request, Organisation.objects.search(query))
        results = _organisation_list(found.order_by("kind", "name_zh", "name_en"))
        return render(request, "registry/search.html", {"query": query, "page": _page(request, results)})
    region = Region.objects.filter(code=HOME_REGION).first()
    context = {"region": region}
    if region:
        inside = _visible(request, Organisation.objects.in_region(region))
        counts = {row["kind"]: row["n"] for row in inside.values("kind").annotate(n=Count("id"))}
        context["cards"] = [(label, counts.get(value, 0)) for value, label in OrganisationKind.choices]
        context["featured"] = _organisation_list(inside.filter(synthetic=False).order_by("kind", "key"))
    return render(request, "registry/home.html", context)


def region_detail(request, code):
    region = get_object_or_404(Region, code=code)
    inside = _visible(request, Organisation.objects.in_region(region))
    organisations = _organisation_list(inside.order_by("synthetic", "kind", "key"))
    return render(request, "registry/region.html", {
        "region": region,
        "ancestors": region.ancestors(),
        "children": region.children.order_by("code"),
        "page": _page(request, organisations),
    })


def organisation_detail(request, key):
    # What it holds are rows of the held organisations: only those the user may see.
    holdings = _visible(request, Ownership.objects.select_related("organisation"))
    org = get_object_or_404(
        _visible(request, Organisation.objects.select_related("source")).prefetch_related(
            "sectors", "aliases",
            Prefetch("locations", queryset=Location.objects.select_related("region", "within", "source").order_by("-valid_from")),
            "owners__owner", Prefetch("holdings", queryset=holdings), "phases__source", "milestones__source",
            "capacities__source", "contacts__source",
        ),
        key=key,
    )
    location = org.current_location
    return render(request, "registry/organisation.html", {
        "org": org,
        "location": location,
        "ancestors": [*location.region.ancestors(), location.region] if location else [],
        "tenants": (_organisation_list(_visible(request, Organisation.objects.within(org)).order_by("key"))
                    if org.kind in ("zone", "park") else []),
    })

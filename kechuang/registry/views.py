"""Read-only web pages for the registry: home and search, a region, an organisation.

The bureau workspace (dashboards, forms, roles) is built on these in the web issue.
"""

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, render

from .models import Location, Organisation, OrganisationKind, Region

HOME_REGION = "320612"  # the district this deployment serves; Tongzhou in the demo


def _organisation_list(queryset):
    return queryset.select_related("source").prefetch_related(
        "sectors", Prefetch("locations", queryset=Location.objects.current().select_related("region", "within"))
    )


def _page(request, queryset, size=50):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def home(request):
    query = request.GET.get("q", "").strip()[:200]
    if query:
        results = _organisation_list(Organisation.objects.search(query).order_by("kind", "name_zh", "name_en"))
        return render(request, "registry/search.html", {"query": query, "page": _page(request, results)})
    region = Region.objects.filter(code=HOME_REGION).first()
    context = {"region": region}
    if region:
        inside = Organisation.objects.in_region(region)
        counts = {row["kind"]: row["n"] for row in inside.values("kind").annotate(n=Count("id"))}
        context["cards"] = [(label, counts.get(value, 0)) for value, label in OrganisationKind.choices]
        context["featured"] = _organisation_list(inside.filter(synthetic=False).order_by("kind", "key"))
    return render(request, "registry/home.html", context)


def region_detail(request, code):
    region = get_object_or_404(Region, code=code)
    organisations = _organisation_list(Organisation.objects.in_region(region).order_by("synthetic", "kind", "key"))
    return render(request, "registry/region.html", {
        "region": region,
        "ancestors": region.ancestors(),
        "children": region.children.order_by("code"),
        "page": _page(request, organisations),
    })


def organisation_detail(request, key):
    org = get_object_or_404(
        Organisation.objects.select_related("source").prefetch_related(
            "sectors", "aliases",
            Prefetch("locations", queryset=Location.objects.select_related("region", "within", "source").order_by("-valid_from")),
            "owners__owner", "holdings__organisation", "phases__source", "milestones__source",
            "capacities__source", "contacts__source",
        ),
        key=key,
    )
    location = org.current_location
    return render(request, "registry/organisation.html", {
        "org": org,
        "location": location,
        "ancestors": [*location.region.ancestors(), location.region] if location else [],
        "tenants": _organisation_list(Organisation.objects.within(org).order_by("key")) if org.kind in ("zone", "park") else [],
    })

"""Filters for registry lists, shared by the API and the web lists.

Every filter that names a row (a region code, an organisation or sector key) looks it
up and answers an unknown one with a 400 naming it: an empty list would read as
"nothing there" when the truth is "no such place".

Organisations are placed by their current location: `?region=320600` means located
anywhere in Nantong's subtree today. The lists are already narrowed to what the caller
may see; a filter naming an organisation outside that is answered as an unknown one. The rows that belong to an organisation
(locations, phases, ownerships …) filter through it with the same parameters.
"""

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from kechuang.accounts.scoping import visible_to

from .models import (
    CONTAINER_KINDS,
    Capacity,
    Contact,
    Location,
    Milestone,
    MilestoneKind,
    Organisation,
    OrganisationKind,
    Ownership,
    Phase,
    PhaseStatus,
    Region,
    RegionLevel,
    Sector,
    Source,
)


class LookupField(forms.CharField):
    """A row named by its key or code; cleans to the row. The CharField checks run
    first (they refuse NUL bytes, which PostgreSQL cannot even compare)."""

    def __init__(self, *, queryset, to_field: str, noun: str, **kwargs):
        self.queryset, self.to_field, self.noun = queryset, to_field, noun
        super().__init__(**kwargs)

    def clean(self, value):
        key = super().clean(value)
        if key in self.empty_values:
            return None
        row = self.queryset.filter(**{self.to_field: key}).first()
        if row is None:
            # The value goes in as a parameter, never into the message: django-filter
            # formats every message with `%`, and a key may hold one (`?sector=%Y`).
            raise ValidationError("no %(noun)s has the %(field)s %(key)s", code="unknown",
                                  params={"noun": self.noun, "field": self.to_field, "key": key})
        self.check(row)
        return row

    def check(self, row) -> None:
        """Further conditions on the row found."""


class ContainerField(LookupField):
    def check(self, row):
        if row.kind not in CONTAINER_KINDS:
            raise ValidationError(
                "%(key)s is of kind %(kind)s; only a zone or park contains organisations",
                code="not_a_container", params={"key": row.key, "kind": row.kind},
            )


class LookupFilter(filters.CharFilter):
    field_class = LookupField


class ContainerFilter(filters.CharFilter):
    field_class = ContainerField


def region_filter(help_text: str, **kwargs):
    return LookupFilter(
        queryset=Region.objects.all(), to_field="code", noun="region", help_text=help_text, **kwargs
    )


def organisation_filter(help_text: str, **kwargs):
    return LookupFilter(
        queryset=Organisation.objects.all(),
        to_field="key",
        noun="organisation",
        help_text=help_text,
        **kwargs,
    )


class TrueFalseField(forms.ChoiceField):
    """`true` or `false`; anything else is an error. (django-filter's BooleanFilter
    would read `?synthetic=maybe` as "no filter" and silently return everything.)"""

    def __init__(self, **kwargs):
        super().__init__(choices=[("true", "true"), ("false", "false")], **kwargs)

    def clean(self, value):
        value = super().clean(value)
        return None if value in self.empty_values else value == "true"


class TrueFalseFilter(filters.BooleanFilter):
    field_class = TrueFalseField


# --- regions ----------------------------------------------------------------------------


class RegionFilterSet(filters.FilterSet):
    parent = region_filter("Code of the parent region: its direct children.")
    level = filters.ChoiceFilter(choices=RegionLevel.choices)
    within = region_filter(
        "Code of a region: it and every region below it (as the tree stood `on` a date, if given).",
        method="filter_within",
    )
    q = filters.CharFilter(
        method="filter_q",
        max_length=200,
        help_text="Part of a Chinese or English name, or the start of a code.",
    )
    on = filters.DateFilter(
        method="filter_on", help_text="Regions valid on this date (YYYY-MM-DD)."
    )
    statistical_only = TrueFalseFilter()

    class Meta:
        model = Region
        fields = []

    def filter_within(self, queryset, name, region):
        return queryset.filter(
            pk__in=Region.objects.subtree(region, on=self.form.cleaned_data.get("on")).values("pk")
        )

    def filter_q(self, queryset, name, text):
        return queryset.filter(
            Q(name_zh__icontains=text) | Q(name_en__icontains=text) | Q(code__startswith=text)
        )

    def filter_on(self, queryset, name, date):
        return queryset.valid_on(date)


# --- organisations and their rows ----------------------------------------------------------


class ScopedLookups:
    """Mixed into a FilterSet (before it): a filter naming an organisation finds only those
    the caller may see; one outside their scope is "unknown" (400), as it would be if it
    did not exist."""

    def __init__(self, data=None, queryset=None, *, request=None, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        user = getattr(request, "user", None)
        for lookup in self.filters.values():
            found_in = lookup.extra.get("queryset")
            if found_in is not None and found_in.model is Organisation:
                lookup.extra["queryset"] = visible_to(found_in, user)


class OrganisationScopedFilterSet(ScopedLookups, filters.FilterSet):
    """Filters on organisations, applied to the organisation of each row.

    `organisation_path` is the row's link to its organisation ("organisation", or
    "park" for phases); None when the rows are the organisations themselves.
    """

    organisation_path: str | None = "organisation"

    region = region_filter(
        "Code of a region: organisations located (now) in it or any region below it.",
        method="filter_region",
    )
    sector = LookupFilter(
        queryset=Sector.objects.all(),
        to_field="code",
        noun="sector",
        method="filter_sector",
        help_text="Sector code.",
    )
    q = filters.CharFilter(
        method="filter_q",
        max_length=200,
        help_text="Search names in Chinese, English, pinyin (zhongkeyi) or initials (zky), "
        "and the USCC.",
    )
    within = ContainerFilter(
        queryset=Organisation.objects.all(),
        to_field="key",
        noun="organisation",
        method="filter_within",
        help_text="Key of a zone or park: organisations inside it, directly or via a park "
        "in the zone.",
    )
    synthetic = TrueFalseFilter(
        method="filter_synthetic", help_text="Demo data (true) or real (false)."
    )

    def narrow(self, queryset, organisations):
        """Keep the rows whose organisation is in `organisations`, given as a function
        of an organisation queryset."""
        if self.organisation_path is None:
            return organisations(queryset)
        return queryset.filter(
            **{
                f"{self.organisation_path}__in": organisations(Organisation.objects.all()).values(
                    "pk"
                )
            }
        )

    def filter_region(self, queryset, name, region):
        return self.narrow(queryset, lambda orgs: orgs.in_region(region))

    def filter_sector(self, queryset, name, sector):
        return self.narrow(queryset, lambda orgs: orgs.filter(sectors=sector))

    def filter_q(self, queryset, name, text):
        return self.narrow(queryset, lambda orgs: orgs.search(text))

    def filter_within(self, queryset, name, container):
        return self.narrow(queryset, lambda orgs: orgs.within(container))

    def filter_synthetic(self, queryset, name, value):
        return self.narrow(queryset, lambda orgs: orgs.filter(synthetic=value))


class OrganisationFilterSet(OrganisationScopedFilterSet):
    organisation_path = None

    kind = filters.ChoiceFilter(choices=OrganisationKind.choices)
    above_designated_size = TrueFalseFilter(
        help_text="Industrial enterprises above designated size (规模以上)."
    )

    class Meta:
        model = Organisation
        fields = []


class OrganisationRowFilterSet(OrganisationScopedFilterSet):
    organisation = organisation_filter(
        "Key of the organisation the rows belong to.", method="filter_organisation"
    )

    def filter_organisation(self, queryset, name, organisation):
        return queryset.filter(**{self.organisation_path: organisation})


class LocationFilterSet(OrganisationRowFilterSet):
    current = TrueFalseFilter(
        field_name="valid_to",
        lookup_expr="isnull",
        help_text="Only open-ended (current) locations.",
    )

    class Meta:
        model = Location
        fields = []


class PhaseFilterSet(OrganisationRowFilterSet):
    organisation_path = "park"

    status = filters.ChoiceFilter(choices=PhaseStatus.choices)

    class Meta:
        model = Phase
        fields = []


class OwnershipFilterSet(OrganisationRowFilterSet):
    owner = organisation_filter("Key of the owner: what it holds.", field_name="owner")

    class Meta:
        model = Ownership
        fields = []


class MilestoneFilterSet(OrganisationRowFilterSet):
    kind = filters.ChoiceFilter(choices=MilestoneKind.choices, help_text="Kind of milestone.")

    class Meta:
        model = Milestone
        fields = []


class CapacityFilterSet(OrganisationRowFilterSet):
    class Meta:
        model = Capacity
        fields = []


class ContactFilterSet(OrganisationRowFilterSet):
    class Meta:
        model = Contact
        fields = []


# --- sources and sectors -----------------------------------------------------------------


class SourceFilterSet(filters.FilterSet):
    q = filters.CharFilter(
        method="filter_q", max_length=200, help_text="Part of the key, title or publisher."
    )

    class Meta:
        model = Source
        fields = []

    def filter_q(self, queryset, name, text):
        return queryset.filter(
            Q(key__icontains=text) | Q(title__icontains=text) | Q(publisher__icontains=text)
        )


class SectorFilterSet(filters.FilterSet):
    q = filters.CharFilter(
        method="filter_q", max_length=200, help_text="Part of the code or a name."
    )

    class Meta:
        model = Sector
        fields = []

    def filter_q(self, queryset, name, text):
        return queryset.filter(
            Q(code__icontains=text) | Q(name_zh__icontains=text) | Q(name_en__icontains=text)
        )

"""Django admin for the registry. Edits in the admin go through the services where a
rule spans rows (USCC check, search text); plain fields save directly. Every table has
a History page, and its historical table is listed read-only (docs/audit.md)."""

from django import forms
from django.contrib import admin
from django.db.models import URLField

from kechuang.accounts.admin import ScopedAdmin, ScopedInline
from kechuang.audit.admin import AuditedAdmin, VersionedModelForm, register_history

from . import models, services


class RegistryAdmin(ScopedAdmin, AuditedAdmin):
    """Scoped (accounts.admin.ScopedAdmin) and audited (a History page per row)."""


# Django 6 changes URLField's default scheme to https; say so now, on every form.
URL_FIELDS = {URLField: {"assume_scheme": "https"}}


class SourcedInline(ScopedInline, admin.TabularInline):
    extra = 0
    autocomplete_fields = ["source"]


class AliasInline(SourcedInline):
    model = models.Alias


class LocationInline(SourcedInline):
    model = models.Location
    fk_name = "organisation"
    autocomplete_fields = ["source", "region", "within"]


class OwnershipInline(SourcedInline):
    model = models.Ownership
    fk_name = "organisation"
    autocomplete_fields = ["source", "owner"]


class PhaseInline(SourcedInline):
    model = models.Phase
    fk_name = "park"


class MilestoneInline(SourcedInline):
    model = models.Milestone


class CapacityInline(SourcedInline):
    model = models.Capacity


class ContactInline(SourcedInline):
    model = models.Contact


@admin.register(models.Source)
class SourceAdmin(RegistryAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["key", "title", "publisher", "published"]
    search_fields = ["key", "title", "url"]


@admin.register(models.Sector)
class SectorAdmin(RegistryAdmin):
    list_display = ["code", "name_zh", "name_en"]
    search_fields = ["code", "name_zh", "name_en"]


class RegionLinkInline(admin.TabularInline):
    model = models.RegionLink
    fk_name = "region"
    extra = 0
    readonly_fields = ["parent", "path", "valid_from", "valid_to", "source"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # links are written by save_region


@admin.register(models.Region)
class RegionAdmin(RegistryAdmin):
    list_display = ["code", "name_zh", "name_en", "level", "parent", "valid_from", "valid_to"]
    list_filter = ["level", "statistical_only"]
    search_fields = ["code", "name_zh", "name_en"]
    readonly_fields = ["path"]
    autocomplete_fields = ["parent", "successor", "source"]
    inlines = [RegionLinkInline]

    def save_model(self, request, obj, form, change):
        services.save_region(
            obj.code, level=obj.level, name_zh=obj.name_zh, name_en=obj.name_en, parent=obj.parent,
            valid_from=obj.valid_from, valid_to=obj.valid_to, statistical_only=obj.statistical_only,
            successor=obj.successor, source=obj.source,
        )


class OrganisationForm(VersionedModelForm):
    """The service's USCC rule as a form error, so bad input is answered on the form, not with a 500."""

    class Meta:
        model = models.Organisation
        fields = "__all__"

        @staticmethod
        def formfield_callback(field, **kwargs):
            return field.formfield(**{**URL_FIELDS.get(type(field), {}), **kwargs})

    def clean_uscc(self):
        value = self.cleaned_data.get("uscc") or None
        if value is None or value == self.instance.uscc:
            return value
        try:
            return services.check_uscc(value).code
        except services.RegistryError as exc:
            raise forms.ValidationError(exc.reason) from None


@admin.register(models.Organisation)
class OrganisationAdmin(RegistryAdmin):
    form = OrganisationForm
    formfield_overrides = URL_FIELDS
    list_display = ["key", "name_zh", "name_en", "kind", "uscc", "above_designated_size", "synthetic"]
    list_filter = ["kind", "above_designated_size", "synthetic", "sectors"]
    search_fields = ["key", "name_zh", "name_en", "uscc", "search_text"]
    autocomplete_fields = ["source"]
    filter_horizontal = ["sectors"]
    readonly_fields = ["uscc_warning"]
    inlines = [AliasInline, LocationInline, OwnershipInline, PhaseInline, MilestoneInline, CapacityInline, ContactInline]

    def get_readonly_fields(self, request, obj=None):
        # The key is how world files and API clients refer to the organisation.
        return [*self.readonly_fields, "key"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        fields = {name: value for name, value in form.cleaned_data.items()
                  if name not in {"key", "sectors", "row_version"}}
        # A code kept as registered stays, with its warning; a new or changed one is checked strictly.
        unchanged_code = change and fields.get("uscc") == form.initial.get("uscc")
        saved, _ = services.save_organisation(obj.key, legacy_uscc=unchanged_code, **fields)
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.save_organisation(form.instance.key)  # refresh the search text after aliases changed


@admin.register(models.Location)
class LocationAdmin(RegistryAdmin):
    list_display = ["organisation", "region", "within", "valid_from", "valid_to", "source"]
    list_filter = ["region__level"]
    search_fields = ["organisation__name_zh", "organisation__name_en", "region__code", "region__name_zh"]
    autocomplete_fields = ["organisation", "region", "within", "source"]
    list_select_related = ["organisation", "region", "within", "source"]


@admin.register(models.Ownership)
class OwnershipAdmin(RegistryAdmin):
    list_display = ["organisation", "owner", "share_percent", "since", "until"]
    search_fields = ["organisation__name_zh", "organisation__name_en", "owner__name_zh", "owner__name_en"]
    autocomplete_fields = ["organisation", "owner", "source"]
    list_select_related = ["organisation", "owner"]


@admin.register(models.Phase)
class PhaseAdmin(RegistryAdmin):
    list_display = ["park", "number", "status", "construction_start", "operation_start"]
    list_filter = ["status"]
    autocomplete_fields = ["park", "source"]
    list_select_related = ["park"]


@admin.register(models.Milestone)
class MilestoneAdmin(RegistryAdmin):
    list_display = ["organisation", "date", "date_precision", "kind", "text_en"]
    list_filter = ["kind"]
    search_fields = ["organisation__name_zh", "organisation__name_en", "text_zh", "text_en"]
    autocomplete_fields = ["organisation", "source"]
    list_select_related = ["organisation"]


@admin.register(models.Capacity)
class CapacityAdmin(RegistryAdmin):
    list_display = ["organisation", "product_en", "quantity", "unit", "per", "as_of"]
    search_fields = ["organisation__name_zh", "organisation__name_en", "product_zh", "product_en"]
    autocomplete_fields = ["organisation", "source"]
    list_select_related = ["organisation"]


@admin.register(models.Contact)
class ContactAdmin(RegistryAdmin):
    list_display = ["name_zh", "name_en", "role_en", "organisation", "valid_from", "valid_to"]
    search_fields = ["name_zh", "name_en", "organisation__name_zh", "organisation__name_en"]
    autocomplete_fields = ["organisation", "source"]
    list_select_related = ["organisation"]


@admin.register(models.Alias)
class AliasAdmin(RegistryAdmin):
    list_display = ["name", "kind", "organisation", "valid_to"]
    list_filter = ["kind"]
    search_fields = ["name", "organisation__name_zh", "organisation__name_en"]
    autocomplete_fields = ["organisation", "source"]
    list_select_related = ["organisation"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.save_organisation(obj.organisation.key)  # keep the search text in step

    def delete_model(self, request, obj):
        key = obj.organisation.key
        super().delete_model(request, obj)
        services.save_organisation(key)


register_history(admin.site, [
    models.Source, models.Sector, models.Region, models.RegionLink, models.Organisation, models.Alias,
    models.Location, models.Ownership, models.Phase, models.Milestone, models.Capacity, models.Contact,
])

"""Django admin for the registry. Edits in the admin go through the services where a
rule spans rows (USCC check, search text); plain fields save directly."""

from django.contrib import admin

from . import models, services


class SourcedInline(admin.TabularInline):
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
class SourceAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "publisher", "published"]
    search_fields = ["key", "title", "url"]


@admin.register(models.Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en"]
    search_fields = ["code", "name_zh", "name_en"]


class RegionLinkInline(admin.TabularInline):
    model = models.RegionLink
    fk_name = "region"
    extra = 0
    readonly_fields = ["parent", "path", "valid_from", "valid_to", "source"]
    can_delete = False


@admin.register(models.Region)
class RegionAdmin(admin.ModelAdmin):
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


@admin.register(models.Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["key", "name_zh", "name_en", "kind", "uscc", "above_designated_size", "synthetic"]
    list_filter = ["kind", "above_designated_size", "synthetic", "sectors"]
    search_fields = ["key", "name_zh", "name_en", "uscc", "search_text"]
    autocomplete_fields = ["source"]
    filter_horizontal = ["sectors"]
    readonly_fields = ["uscc_warning"]
    inlines = [AliasInline, LocationInline, OwnershipInline, PhaseInline, MilestoneInline, CapacityInline, ContactInline]

    def save_model(self, request, obj, form, change):
        fields = {f: getattr(obj, f) for f in form.changed_data if f not in {"sectors"}} if change else {
            f.name: getattr(obj, f.name) for f in obj._meta.concrete_fields
            if f.name not in {"id", "key", "search_text", "uscc_warning", "created_at", "updated_at"}
        }
        fields.pop("source", None)
        saved, _ = services.save_organisation(obj.key, source=obj.source, **fields)
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.save_organisation(form.instance.key)  # refresh the search text after aliases changed

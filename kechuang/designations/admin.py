"""Django admin for the designations, through the same scoping rules as the API.

A designation changes only through the services (grant, the stage steps, revoke, rename,
re-review), whose rules a form would bypass: here it is shown with its steps and re-reviews,
read-only, and the lapsed ones can be marked expired. A bureau's own designation types are
defined and changed through `services.define_type`; the shipped ones are read-only. Imports
and their review queue are shown read-only: the queue is worked through the API or the
command line, which register the enterprise or grant as they confirm.
"""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from kechuang.accounts.admin import ReadOnlyInline, ScopedAdmin
from kechuang.audit.admin import AuditedAdmin, register_history

from . import services
from .models import Designation, DesignationImport, DesignationStep, DesignationType, ImportCandidate, ReReview


class DesignationsAdmin(ScopedAdmin, AuditedAdmin):
    """Scoped (accounts.admin.ScopedAdmin) and audited (a History page per row)."""


class DesignationTypeForm(forms.ModelForm):
    class Meta:
        model = DesignationType
        fields = ["code", "name_zh", "name_en", "levels", "validity", "validity_years", "re_review_years",
                  "rule_versions", "basis", "description_zh", "description_en"]

    def clean(self):
        data = super().clean()
        probe = DesignationType(**{name: data.get(name) for name in self.Meta.fields if name in data})
        try:
            services.check_type(probe)
        except services.DesignationError as error:
            raise forms.ValidationError({error.field: error.reason} if error.field in self.fields
                                        else error.reason) from None
        data["rule_versions"] = probe.rule_versions
        return data


@admin.register(DesignationType)
class DesignationTypeAdmin(DesignationsAdmin):
    form = DesignationTypeForm
    list_display = ["code", "name_zh", "name_en", "levels", "validity", "validity_years", "re_review_years",
                    "built_in"]
    list_filter = ["built_in", "validity"]
    search_fields = ["code", "name_zh", "name_en"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.built_in:
            return [*DesignationTypeForm.Meta.fields, "built_in"]
        return ["code", "built_in"] if obj is not None else ["built_in"]

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in services.TYPE_FIELDS if name in form.cleaned_data}
        saved = services.define_type(obj.code, by=request.user, **fields)
        obj.pk = saved.pk


class StepInline(ReadOnlyInline):
    model = DesignationStep
    fields = readonly_fields = ["name", "from_stage", "to_stage", "on", "source", "by", "comment", "recorded_at"]


class ReReviewInline(ReadOnlyInline):
    model = ReReview
    fields = readonly_fields = ["reviewed_on", "passed", "valid_until_before", "valid_until_after", "rule_version",
                                "source", "by", "comment"]


@admin.register(Designation)
class DesignationAdmin(DesignationsAdmin):
    list_display = ["organisation", "type", "level", "batch", "stage", "publicised_on", "granted_on", "valid_until",
                    "synthetic"]
    list_filter = ["type", "level", "stage", "synthetic"]
    search_fields = ["organisation__key", "organisation__name_zh", "organisation__name_en", "name_on_list",
                     "certificate_number", "batch"]
    list_select_related = ["organisation", "type"]
    date_hierarchy = "granted_on"
    inlines = [StepInline, ReReviewInline]
    actions = ["mark_lapsed_expired"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Designation._meta.fields]

    def has_add_permission(self, request):
        return False  # recorded through the API, the command line or an import (services.grant)

    def has_delete_permission(self, request, obj=None):
        return False  # a designation entered by mistake is revoked, saying why

    @admin.action(description="Mark those whose validity ran out as expired")
    def mark_lapsed_expired(self, request, queryset):
        today = timezone.localdate()
        done = 0
        for designation in queryset.filter(stage="final", valid_until__lte=today):
            try:
                services.advance_stage(designation, "expired", by=request.user, today=today)
            except services.DesignationError as error:
                self.message_user(request, f"{designation}: {error.reason}", messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"{done} marked expired", messages.SUCCESS)


class CandidateInline(ReadOnlyInline):
    model = ImportCandidate
    fields = readonly_fields = ["row", "name", "uscc", "reason", "candidates", "status", "organisation",
                                "designation", "comment"]


@admin.register(DesignationImport)
class DesignationImportAdmin(DesignationsAdmin):
    list_display = ["file_name", "type", "level", "region", "status", "rows_read", "granted", "queued", "by",
                    "created_at"]
    list_filter = ["status", "type"]
    search_fields = ["file_name"]
    list_select_related = ["type", "region", "by"]
    inlines = [CandidateInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in DesignationImport._meta.fields]

    def has_add_permission(self, request):
        return False  # importer.import_list, from the API or `kechuang designations import`

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImportCandidate)
class ImportCandidateAdmin(DesignationsAdmin):
    list_display = ["designation_import", "row", "name", "reason", "status", "organisation"]
    list_filter = ["status", "reason"]
    search_fields = ["name", "uscc"]
    list_select_related = ["designation_import", "organisation"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in ImportCandidate._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


register_history(admin.site, [DesignationType, Designation, ImportCandidate])

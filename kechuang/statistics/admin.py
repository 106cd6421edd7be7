"""The statistics in the admin. The catalogue is edited here (by the bureau); figures,
locks and import jobs are read here and changed only through the services (the
workflow, the importer), which keep their rules and their record."""

from django.contrib import admin

from kechuang.accounts.admin import ScopedAdmin
from kechuang.audit.admin import AuditedAdmin, register_history

from .models import DataLock, ImportJob, Metric, Observation


@admin.register(Metric)
class MetricAdmin(ScopedAdmin, AuditedAdmin):
    list_display = ["code", "name_zh", "name_en", "unit_kind", "base_unit", "aggregation", "confidential", "required"]
    list_filter = ["unit_kind", "aggregation", "confidential", "required"]
    search_fields = ["code", "name_zh", "name_en"]


class ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Observation)
class ObservationAdmin(ReadOnly, ScopedAdmin, admin.ModelAdmin):
    list_display = ["subject", "metric", "period", "kind", "value", "status", "entered_by", "interface", "created_at",
                    "superseded_at"]
    list_filter = ["status", "kind", "interface", "metric"]
    search_fields = ["organisation__key", "organisation__name_zh", "region__code", "period"]
    list_select_related = ["organisation", "region", "metric", "entered_by"]


class SuperuserReadOnly(ReadOnly):
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)


@admin.register(DataLock)
class DataLockAdmin(SuperuserReadOnly, AuditedAdmin):
    list_display = ["region", "period", "locked_by", "locked_at", "unlocked_by", "unlocked_at", "unlock_reason"]
    list_select_related = ["region", "locked_by", "unlocked_by"]


@admin.register(ImportJob)
class ImportJobAdmin(SuperuserReadOnly, admin.ModelAdmin):
    list_display = ["file_name", "status", "by", "interface", "rows_total", "rows_written", "created_at",
                    "finished_at"]
    list_filter = ["status", "interface", "dry_run"]


register_history(admin.site, [Metric, DataLock])

"""The audit trail in the Django admin: each object's history page, and a read-only
list of every historical table. History is evidence: nobody edits, deletes or
reverts it, superusers included."""

import hashlib
import json

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin
from simple_history.utils import get_history_model_for_model

from .changes import natural_key_field


def row_version(row: models.Model) -> str:
    """A fingerprint of a row's stored values: it changes whenever any column does."""
    values = {field.attname: field.value_from_object(row) for field in row._meta.concrete_fields}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


class VersionedModelForm(forms.ModelForm):
    """A change form that carries the version of the row it was opened on, and refuses
    to save over a change someone else made since (no silent lost update). The row is
    locked while the versions are compared (the admin saves in one transaction)."""

    row_version = forms.CharField(widget=forms.HiddenInput, required=False)

    STALE = ("this record was changed by someone else after you opened it; "
             "reload the page to see their change, then redo yours. 此记录已被他人修改，请刷新后重新编辑。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and not self.is_bound:
            self.initial["row_version"] = row_version(self.instance)

    def clean(self):
        data = super().clean()
        if self.instance.pk is not None:
            stored = type(self.instance)._default_manager.select_for_update().filter(pk=self.instance.pk).first()
            if stored is not None and data.get("row_version") != row_version(stored):
                raise forms.ValidationError(self.STALE, code="stale")
        return data


class AuditedAdmin(SimpleHistoryAdmin):
    """A model admin with a History page showing the interface of each change (next
    to simple-history's user, reason and changes), and change forms that refuse a
    stale save (VersionedModelForm). Reverting is off: a past state is restored by an
    ordinary, recorded edit."""

    form = VersionedModelForm
    history_list_display = ["interface"]

    @admin.display(description="interface")
    def interface(self, record):
        return record.history_interface

    def revert_disabled(self, request, obj=None):
        return True

    def has_change_history_permission(self, request, obj=None):
        return False

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # The page of one past version stays readable; posting it would revert.
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class HistoryRecordAdmin(admin.ModelAdmin):
    """Every record of one historical table, filterable by type, interface and user."""

    list_display = ["history_date", "history_type", "row", "history_user", "history_interface",
                    "history_change_reason"]
    list_filter = ["history_type", "history_interface", "history_date"]
    list_select_related = ["history_user"]
    date_hierarchy = "history_date"
    # Django 6 changes URLField's default scheme to https; say so now (the read-only form).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(description="row")
    def row(self, record):
        model = record.instance_type
        key, pk = natural_key_field(model), getattr(record, model._meta.pk.attname)
        label = getattr(record, key.attname) if key else f"#{pk}"
        try:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_history", args=[pk])
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    def has_module_permission(self, request):
        # The whole trail crosses every scope; staff read a row's history from the row.
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def register_history(site: admin.AdminSite, audited: list[type[models.Model]]) -> None:
    """List the historical table of each audited model in the admin, read-only."""
    for model in audited:
        site.register(get_history_model_for_model(model), HistoryRecordAdmin)

from django import forms
from django.contrib import admin, messages

from .models import Grant
from .services import GrantRefused, check_grant, grant_role, revoke_grant


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    """Grants are given and revoked, never edited: a revoked grant stays as a record."""

    list_display = ["user", "role", "region", "organisation", "granted_by", "granted_at", "revoked_at"]
    list_filter = ["role", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "region__code", "region__name_zh", "organisation__key", "organisation__name_zh"]
    autocomplete_fields = ["user", "region", "organisation"]
    list_select_related = ["user", "region", "organisation", "granted_by"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["granted_by", "granted_at", "revoked_at", "revoked_by"]
        return [f.name for f in Grant._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, **kwargs):
        base = super().get_form(request, obj, **kwargs)

        class GrantForm(base):
            def clean(self):
                data = super().clean()
                if obj is None and data.get("role"):
                    try:
                        check_grant(data["role"], by=request.user, region=data.get("region"),
                                    organisation=data.get("organisation"))
                    except GrantRefused as exc:
                        raise forms.ValidationError(str(exc)) from None
                return data

        return GrantForm

    def save_model(self, request, obj, form, change):
        if not change:
            saved = grant_role(obj.user, obj.role, by=request.user, region=obj.region, organisation=obj.organisation)
            obj.pk, obj.granted_at = saved.pk, saved.granted_at

    @admin.action(description="Revoke the selected grants")
    def revoke(self, request, queryset):
        for grant in queryset.filter(revoked_at__isnull=True):
            try:
                revoke_grant(grant, by=request.user)
            except GrantRefused as exc:
                self.message_user(request, f"{grant}: {exc}", messages.ERROR)

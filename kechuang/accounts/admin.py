"""The admin, through the same scoping rules as the API and the pages.

A superuser sees everything. Other staff (bureau admins who are given admin access)
see the rows `visible_to` lets them see and change the ones `can_change` allows;
every save is checked on the row as it would be written, inline rows included.
Organisations are registered by non-superusers through the API or the workspace,
where they are created with the location that puts them in a scope.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from kechuang.registry.models import Organisation

from .models import Grant
from .scoping import can_change, may_change_anything, scope_of, visible_to
from .services import GrantRefused, check_grant, grant_role, revoke_grant


def _may_enter(request) -> bool:
    user = request.user
    return user.is_active and user.is_staff and (user.is_superuser or not scope_of(user).empty)


def _refuse_out_of_scope(request, row) -> None:
    if not can_change(request.user, row):
        raise PermissionDenied(f"{row}: outside what your role may change")


class _Scoped:
    def get_queryset(self, request):
        return visible_to(super().get_queryset(request), request.user)

    def has_view_permission(self, request, obj=None):
        return _may_enter(request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # The organisation a row belongs to, and the zone or park it is in, can only be
        # one the user may see. (An owner may be any organisation, as in the API; the
        # autocomplete still searches only what the user may see.)
        if db_field.related_model is Organisation and db_field.name != "owner":
            kwargs.setdefault("queryset", visible_to(Organisation.objects.all(), request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedAdmin(_Scoped):
    """Mixed into a ModelAdmin of a scoped table (before the ModelAdmin class)."""

    def has_module_permission(self, request):
        return _may_enter(request)

    def has_add_permission(self, request):
        if self.model is Organisation:
            return request.user.is_superuser
        return _may_enter(request) and may_change_anything(request.user)

    def has_change_permission(self, request, obj=None):
        if not _may_enter(request):
            return False
        return may_change_anything(request.user) if obj is None else can_change(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def save_form(self, request, form, change):
        row = super().save_form(request, form, change)  # not saved yet: the row as it would be
        _refuse_out_of_scope(request, row)
        return row

    def save_formset(self, request, form, formset, change):
        for row_form in formset.forms:
            if row_form.has_changed():
                _refuse_out_of_scope(request, row_form.instance)
        super().save_formset(request, form, formset, change)


class ScopedInline(_Scoped):
    """Mixed into an inline: its rows belong to the parent row, so the parent decides."""

    def _may_change(self, request, obj):
        if not _may_enter(request):
            return False
        return may_change_anything(request.user) if obj is None else can_change(request.user, obj)

    def has_add_permission(self, request, obj=None):
        return self._may_change(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_change(request, obj)


class ReadOnlyInline(ScopedInline, admin.TabularInline):
    """Rows a service writes (a project's steps, a designation's re-reviews): shown, never edited here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    """Grants are given and revoked, never edited: a revoked grant stays as a record."""

    list_display = ["user", "role", "region", "organisation", "granted_by", "granted_at", "revoked_at"]
    list_filter = ["role", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "region__code", "region__name_zh", "organisation__key", "organisation__name_zh"]
    autocomplete_fields = ["user", "region", "organisation"]
    list_select_related = ["user", "region", "organisation", "granted_by"]
    actions = ["revoke"]

    def get_queryset(self, request):
        return visible_to(super().get_queryset(request), request.user)

    def has_module_permission(self, request):
        return _may_enter(request) and may_change_anything(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return request.user.is_superuser or bool(scope_of(request.user).change_paths)

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request)  # the revoke action; the fields stay read-only

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

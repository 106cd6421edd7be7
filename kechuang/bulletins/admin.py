"""The bulletins in the admin, through the same rules as the API.

Templates are kept here as in the API: the editor's YAML, checked as it is typed in and saved
by `services.save_template` (a bureau admin). Bulletins, their versions and files are what
publishing froze, written only by `services.publish`: shown read-only, a version's files
without their bytes (the API and the bulletin's page serve those).
"""

from django import forms
from django.contrib import admin

from kechuang.accounts.admin import ReadOnlyInline, ScopedAdmin

from . import services, templating
from .models import Bulletin, BulletinFile, BulletinTemplate, BulletinVersion


class ShownOnly(ScopedAdmin, admin.ModelAdmin):
    """Rows a service writes once: listed and shown, never added, changed or deleted here."""

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- templates ------------------------------------------------------------------------------------


class BulletinTemplateForm(forms.ModelForm):
    class Meta:
        model = BulletinTemplate
        fields = ["code", "name_zh", "name_en", "source_text"]
        widgets = {"source_text": forms.Textarea(attrs={"rows": 40, "cols": 120, "spellcheck": "false"})}

    def clean_source_text(self):
        source = self.cleaned_data["source_text"]
        try:
            templating.check(templating.parse(source))
        except templating.TemplateError as error:
            raise forms.ValidationError(str(error)) from None
        return source


@admin.register(BulletinTemplate)
class BulletinTemplateAdmin(ScopedAdmin, admin.ModelAdmin):
    form = BulletinTemplateForm
    list_display = ["code", "name_zh", "name_en", "built_in", "updated_at", "updated_by"]
    list_filter = ["built_in"]
    search_fields = ["code", "name_zh", "name_en"]
    list_select_related = ["updated_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("spec")

    def get_readonly_fields(self, request, obj=None):
        return ["code", "built_in", "updated_at", "updated_by"] if obj is not None else []

    def has_add_permission(self, request):
        return self.has_view_permission(request) and services.may_keep_templates(request.user)

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj) and services.may_keep_templates(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # bulletins refer to it; a shipped one comes back at the next migrate

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = services.save_template(obj.code, data["source_text"], name_en=data.get("name_en"),
                                       name_zh=data.get("name_zh"), by=request.user)
        obj.pk = saved.pk


# --- what publishing froze ------------------------------------------------------------------------


class VersionInline(ReadOnlyInline):
    model = BulletinVersion
    fields = readonly_fields = ["number", "published_at", "published_by", "as_of", "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("figures", "documents", "spec")


class FileInline(ReadOnlyInline):
    model = BulletinFile
    fields = readonly_fields = ["language", "format", "size", "sha256"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")


@admin.register(Bulletin)
class BulletinAdmin(ShownOnly):
    list_display = ["template", "region", "period", "published_at", "created_at", "created_by"]
    list_filter = ["template", ("published_at", admin.EmptyFieldListFilter)]
    search_fields = ["region__code", "region__name_zh", "region__name_en", "period"]
    list_select_related = ["template", "region", "created_by"]
    fields = ["template", "region", "period", "published_at", "created_at", "created_by"]
    inlines = [VersionInline]


@admin.register(BulletinVersion)
class BulletinVersionAdmin(ShownOnly):
    list_display = ["bulletin", "number", "published_at", "published_by", "as_of", "note"]
    search_fields = ["bulletin__region__code", "bulletin__region__name_zh", "bulletin__period", "note"]
    list_select_related = ["bulletin__template", "bulletin__region", "published_by"]
    date_hierarchy = "published_at"
    fields = ["bulletin", "number", "published_at", "published_by", "as_of", "note", "figures"]
    inlines = [FileInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("documents", "spec")


@admin.register(BulletinFile)
class BulletinFileAdmin(ShownOnly):
    list_display = ["version", "language", "format", "size", "sha256"]
    list_filter = ["format", "language"]
    search_fields = ["sha256"]
    list_select_related = ["version__bulletin__template", "version__bulletin__region"]
    fields = ["version", "language", "format", "size", "sha256"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

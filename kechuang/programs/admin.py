"""Django admin for the programmes. A project's state changes only through
`services.take` (the actions below); its transitions are listed read-only. Reviewers are
assigned through `services.check_assignment` (conflicts of interest) and reviews are
submitted by the reviewer, so scores are read-only here. What follows approval (tranches,
progress reports, outcomes) and the attachments are shown on the project, read-only: they
are written by delivery.py and attachments.py, through the API, whose rules a form here
would bypass."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.html import format_html

from kechuang.accounts.admin import ReadOnlyInline, ScopedAdmin, ScopedInline
from kechuang.accounts.scoping import scope_of
from kechuang.audit.admin import AuditedAdmin, register_history

from . import models, services


class ProgrammeAdmin(ScopedAdmin, AuditedAdmin):
    """Scoped (accounts.admin.ScopedAdmin) and audited (a History page per row)."""


@admin.register(models.Call)
class CallAdmin(ProgrammeAdmin):
    list_display = ["programme_zh", "region", "opens", "closes", "budget", "places", "synthetic"]
    list_filter = ["synthetic"]
    search_fields = ["key", "programme_zh", "programme_en"]
    autocomplete_fields = ["region", "source"]


class PartyInline(ScopedInline, admin.TabularInline):
    model = models.Party
    extra = 0
    autocomplete_fields = ["organisation"]


class TransitionInline(ReadOnlyInline):
    """The lifecycle as it happened: written by services.take only."""

    model = models.ProjectTransition
    fields = readonly_fields = ["name", "from_state", "to_state", "at", "by", "comment"]


class TrancheInline(ReadOnlyInline):
    """Funding tranches: planned and paid through delivery.plan_tranches and record_payment."""

    model = models.Tranche
    fields = readonly_fields = ["seq", "planned_amount", "planned_date", "paid_amount", "paid_date", "note"]


class ProgressReportInline(ReadOnlyInline):
    model = models.ProgressReport
    fields = readonly_fields = ["title", "due", "status", "submitted_at", "submitted_by", "reviewed_at",
                                "review_comment"]


class OutcomeInline(ReadOnlyInline):
    model = models.Outcome
    fields = readonly_fields = ["kind", "title", "date", "identifier", "amount", "recorded_by", "synthetic"]


class AttachmentInline(ReadOnlyInline):
    """Files are downloaded through the API, which checks the project's scope again."""

    model = models.Attachment
    fields = readonly_fields = ["download", "content_type", "size", "uploaded_by", "uploaded_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("project", "uploaded_by")

    @admin.display(description="file")
    def download(self, attachment):
        url = reverse("project-attachment-download", kwargs={"key": attachment.project.key,
                                                             "attachment_id": attachment.pk})
        return format_html('<a href="{}">{}</a>', url, attachment.original_name)


def _transition_action(name: str, label: str):
    def action(modeladmin, request, queryset):
        for project in queryset:
            try:
                services.take(project, name, by=request.user)
            except services.ProgrammeError as exc:
                modeladmin.message_user(request, f"{project}: {exc.reason}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{project}: {label}", messages.SUCCESS)

    action.__name__ = f"take_{name}"
    return admin.action(description=f"{label} ({name})")(action)


@admin.register(models.Project)
class ProjectAdmin(ProgrammeAdmin):
    list_display = ["key", "title_zh", "kind", "category", "applicant", "state", "agreement_date", "synthetic"]
    list_filter = ["kind", "state", "category", "synthetic"]
    search_fields = ["key", "title_zh", "title_en", "applicant__name_zh", "applicant__name_en"]
    autocomplete_fields = ["call", "applicant", "source"]
    list_select_related = ["applicant"]
    # approved_funding: set by delivery.plan_tranches, which holds it to the requested funding.
    readonly_fields = ["state", "approved_funding", "created_by"]
    inlines = [PartyInline, TransitionInline, TrancheInline, ProgressReportInline, OutcomeInline, AttachmentInline]
    # Transitions that need no comment can be taken from the list; the others from the API or CLI.
    actions = [_transition_action(t.name, t.label) for t in services.LIFECYCLE.transitions.values()
               if t.name not in services.NEED_COMMENT]

    def get_readonly_fields(self, request, obj=None):
        # The applicant decides the scope: it is chosen when the project is created.
        return [*self.readonly_fields, "applicant", "kind"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        project = form.instance
        if not project.parties.filter(role=models.PartyRole.LEAD).exists():
            # As services.create_project does: the applicant is the lead party.
            models.Party.objects.get_or_create(project=project, organisation=project.applicant,
                                               defaults={"role": models.PartyRole.LEAD})


class AssignmentForm(forms.ModelForm):
    class Meta:
        model = models.ReviewAssignment
        fields = ["project", "reviewer", "due", "conflict_declaration"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and data.get("project") and data.get("reviewer"):
            try:
                services.check_assignment(data["project"], data["reviewer"], by=self.request_user)
            except services.ProgrammeError as exc:
                raise forms.ValidationError(exc.reason) from None
        return data


@admin.register(models.ReviewAssignment)
class ReviewAssignmentAdmin(ProgrammeAdmin):
    list_display = ["project", "reviewer", "due", "total", "submitted_at"]
    list_filter = [("submitted_at", admin.EmptyFieldListFilter)]
    search_fields = ["project__key", "project__title_zh", "reviewer__username"]
    autocomplete_fields = ["project", "reviewer"]
    readonly_fields = ["assigned_by", "assigned_at", "scores", "total", "comment", "submitted_at"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)
        kwargs["form"] = AssignmentForm
        form = super().get_form(request, obj, **kwargs)
        form.request_user = request.user
        return form

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "project", "reviewer"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        saved = services.assign_reviewer(obj.project, obj.reviewer, by=request.user, due=obj.due)
        obj.pk, obj.assigned_at, obj.assigned_by = saved.pk, saved.assigned_at, saved.assigned_by


@admin.register(models.Expert)
class ExpertAdmin(AuditedAdmin):
    """Experts are the bureau's pool of reviewers: bureau admins (and superusers) keep it."""

    list_display = ["user", "affiliation", "expertise"]
    search_fields = ["user__username", "expertise", "affiliation__name_zh"]
    autocomplete_fields = ["user", "affiliation"]

    def _keeps_experts(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and (user.is_superuser or bool(scope_of(user).change_paths))

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if self._keeps_experts(request) else queryset.none()

    def has_module_permission(self, request):
        return self._keeps_experts(request)

    def has_view_permission(self, request, obj=None):
        return self._keeps_experts(request)

    def has_add_permission(self, request):
        return self._keeps_experts(request)

    def has_change_permission(self, request, obj=None):
        return self._keeps_experts(request)

    def has_delete_permission(self, request, obj=None):
        return self._keeps_experts(request)

    def save_model(self, request, obj, form, change):
        if not self._keeps_experts(request):
            raise PermissionDenied
        super().save_model(request, obj, form, change)


register_history(admin.site, [models.Call, models.Project, models.Party, models.ReviewAssignment, models.Expert,
                              models.Tranche, models.ProgressReport, models.Outcome, models.Attachment])

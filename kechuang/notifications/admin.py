"""Django admin for notifications: a read-only log. Rows are written by services.notify
only; a superuser sees everyone's (to answer "was I told?"), other staff their own."""

from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "subject", "read_at", "emailed_at", "email_failed"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter), ("emailed_at", admin.EmptyFieldListFilter)]
    search_fields = ["key", "subject", "recipient__username", "recipient__email"]
    date_hierarchy = "created_at"
    list_select_related = ["recipient"]
    fields = readonly_fields = ["recipient", "kind", "key", "subject", "body", "link", "created_at", "read_at",
                                "emailed_at", "email_error"]

    @admin.display(boolean=True, description="email failed")
    def email_failed(self, notification):
        return bool(notification.email_error)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(recipient=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

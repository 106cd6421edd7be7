"""The signed-in user's inbox under /api/v1/.

    inbox/                  their notifications, newest first (?unread=true: only the unread)
    inbox/<id>/             one of them
    inbox/<id>/read/        POST: mark it read
    inbox/read-all/         POST: mark every unread one read

Only the recipient's own: another user's notification is a 404, as one that does not
exist, whatever the caller's role (a superuser reads others' in the admin).
"""

import django_filters as filters
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kechuang.api import answer_service_errors
from kechuang.registry.api.views import JSONParser
from kechuang.registry.filters import TrueFalseFilter

from . import services
from .models import Notification, NotificationKind


class NotificationSerializer(serializers.ModelSerializer):
    api_url = serializers.HyperlinkedIdentityField(view_name="notification-detail")
    unread = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["api_url", "id", "kind", "subject", "body", "link", "created_at", "read_at", "unread"]
        read_only_fields = fields


class NotificationFilterSet(filters.FilterSet):
    unread = TrueFalseFilter(field_name="read_at", lookup_expr="isnull",
                             help_text="true: only the unread; false: only the read.")
    kind = filters.ChoiceFilter(choices=NotificationKind.choices)

    class Meta:
        model = Notification
        fields = []


class InboxViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in user's notifications (站内消息)."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet
    parser_classes = [JSONParser]
    ordering_fields = ["created_at"]
    # Every signed-in user has an inbox, whatever their role; the queryset is their own.
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return services.inbox(self.request.user)

    @extend_schema(summary="Mark the notification read", request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = answer_service_errors(lambda: services.mark_read(self.get_object(), by=request.user))
        return Response(self.get_serializer(notification).data)

    @extend_schema(summary="Mark every unread notification read", request=None, filters=False,
                   responses=inline_serializer("InboxReadAll", {"marked": serializers.IntegerField(
                       help_text="How many were unread.")}))
    @action(detail=False, methods=["post"], url_path="read-all", url_name="read-all")
    def read_all(self, request):
        return Response({"marked": services.mark_all_read(request.user)})

"""The read-only history of a REST resource's rows: GET <resource>/<lookup>/history/."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from .changes import describe, earlier_record, history_of
from .context import Interface

HISTORY_TYPES = [("+", "created"), ("~", "changed"), ("-", "deleted")]


class HistoryChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field's name, as in the database.")
    before = serializers.JSONField(allow_null=True, help_text="Null when the row was created.")
    after = serializers.JSONField(allow_null=True, help_text="Null when the row was deleted.")


class HistoryRecordSerializer(serializers.Serializer):
    """One change of a row: when, who, through which interface, and what changed.
    Related rows are named by their code or key; a deleted one by its id."""

    when = serializers.DateTimeField()
    who = serializers.CharField(allow_null=True, help_text="Username; null for a command or an import.")
    interface = serializers.ChoiceField(choices=Interface.choices)
    type = serializers.ChoiceField(choices=HISTORY_TYPES, help_text="+ created, ~ changed, - deleted")
    reason = serializers.CharField(
        allow_null=True, help_text="For a command or an import: what ran, and the OS user who ran it."
    )
    changes = HistoryChangeSerializer(many=True)


class HistoryMixin:
    """Adds the history of a row to a viewset. The row is found with the viewset's own
    `get_object()`, so whoever may not see a row cannot see its history either."""

    @extend_schema(
        summary="History of the row",
        description="Every change of the row, newest first: when, who, through which interface "
        "(api, web, admin, cli, import), and each changed field's value before and after.",
        responses=HistoryRecordSerializer(many=True),
        # The row is found as GET of the row finds it; the list's filters do not apply.
        filters=False,
    )
    @action(detail=True, methods=["get"], url_path="history")
    def history(self, request, *args, **kwargs):
        records = history_of(self.get_object())
        page = self.paginate_queryset(records)
        if page is None:
            return Response(HistoryRecordSerializer(describe(list(records)), many=True).data)
        earlier = earlier_record(records, page[-1]) if page else None
        return self.get_paginated_response(HistoryRecordSerializer(describe(page, earlier), many=True).data)

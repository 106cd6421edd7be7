"""Viewsets of the registry API: list, retrieve, create, update, and each row's history.

Rows are not deleted through the API (DELETE answers 405): a registry keeps history,
and a wrong row is corrected or ended (`valid_to`, `until`) instead. The history
(`<lookup>/history/`) is read-only (docs/audit.md).
"""

import copy
import hashlib
import json

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.response import Response
from rest_framework.serializers import ValidationError, as_serializer_error
from rest_framework.settings import api_settings

from kechuang.accounts.scoping import can_change, can_create_in, visible_to
from kechuang.audit.api import HistoryMixin

from .. import filters
from ..models import (
    Capacity,
    Contact,
    Location,
    Milestone,
    Organisation,
    Ownership,
    Phase,
    Region,
    Sector,
    Source,
)
from . import serializers


def etag_of(data) -> str:
    """A strong ETag for a row's representation: it changes whenever what a client reads changes."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, except that a document nested too deeply to read
    (`[[[[…]]]]`) is a 400 like any other malformed JSON, not a RecursionError (500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None


def proposed_row(serializer):
    """The row as the write would leave it, unsaved: the stored row (or a new one) with
    the validated values of its own columns set."""
    model = serializer.Meta.model
    columns = {field.name for field in model._meta.concrete_fields}
    values = {name: value for name, value in serializer.validated_data.items() if name in columns}
    row = copy.copy(serializer.instance) if serializer.instance is not None else model()
    for name, value in values.items():
        setattr(row, name, value)
    return row


KEY_PATTERN = r"[-a-zA-Z0-9_]+"
ID_PATTERN = r"[0-9]+"


class RegistryViewSet(
    HistoryMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Every read is narrowed to the caller's scope (`visible_to`); every write is
    checked against it twice: on the row as found (`ScopedAccess`) and on the row as it
    would be written (`check_scope`), so nobody creates a row outside their scope or
    moves one out of it. Each write is one transaction; a rule a service refuses is a
    400 naming the field."""

    # A lookup value that cannot be a key never reaches the database (a NUL byte in
    # the path would be a DataError on PostgreSQL): the URL does not match, 404.
    lookup_value_regex = ID_PATTERN
    # JSON only: a form cannot carry the nested rows (an organisation's aliases) or a
    # null, and DRF would drop the one and read an empty field as the other without a
    # word. Any other body is refused with 415.
    parser_classes = [JSONParser]

    def get_queryset(self):
        return visible_to(super().get_queryset(), self.request.user)

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = etag_of(response.data)
        return response

    def update(self, request, *args, **kwargs):
        """An update that names the version it read (If-Match: the ETag of its GET) is
        refused with 412 when the row changed since, so no one silently overwrites
        another's change. The row is locked while the version is compared and written."""
        expected = request.headers.get("If-Match")
        with transaction.atomic():
            if expected:
                found = self.get_object()
                # Lock the row, then read it again: the version compared is the one written over.
                list(type(found).objects.select_for_update().filter(pk=found.pk).values_list("pk"))
                current = etag_of(self.get_serializer(self.get_object()).data)
                if expected.strip() not in (current, "*"):
                    return Response(
                        {"detail": "this row changed since you read it; read it again and redo your change",
                         "current_etag": current},
                        status=status.HTTP_412_PRECONDITION_FAILED,
                    )
            response = super().update(request, *args, **kwargs)
        response["ETag"] = etag_of(response.data)
        return response

    def perform_create(self, serializer):
        self.check_scope(serializer)
        self.save(serializer)

    def perform_update(self, serializer):
        self.check_scope(serializer)
        self.save(serializer)

    def check_scope(self, serializer) -> None:
        """Refuse (403) a write whose result the caller could not change."""
        if not can_change(self.request.user, proposed_row(serializer)):
            raise PermissionDenied("this change would put the row outside what your role may change")

    def save(self, serializer):
        try:
            with transaction.atomic():
                serializer.save()
        except DjangoValidationError as exc:
            errors = as_serializer_error(exc)
            # Django names errors about the whole row "__all__"; DRF clients expect
            # its own key for them.
            if NON_FIELD_ERRORS in errors:
                errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop(NON_FIELD_ERRORS)
            raise ValidationError(errors) from exc


class SourceViewSet(RegistryViewSet):
    """Where facts come from (出处): articles, government pages, notices."""

    queryset = Source.objects.all()
    serializer_class = serializers.SourceSerializer
    filterset_class = filters.SourceFilterSet
    lookup_field = "key"
    lookup_value_regex = KEY_PATTERN
    ordering_fields = ["key", "title", "publisher", "published"]


class SectorViewSet(RegistryViewSet):
    """Sector tags (semiconductor equipment, new materials …)."""

    queryset = Sector.objects.all()
    serializer_class = serializers.SectorSerializer
    filterset_class = filters.SectorFilterSet
    lookup_field = "code"
    lookup_value_regex = KEY_PATTERN
    ordering_fields = ["code", "name_zh", "name_en"]


class RegionViewSet(RegistryViewSet):
    """Administrative divisions (行政区划) by GB/T 2260 code. A name alone never
    identifies a region: 通州区 is 320612 (Nantong) and 110112 (Beijing)."""

    queryset = Region.objects.select_related("parent", "successor", "source")
    serializer_class = serializers.RegionSerializer
    filterset_class = filters.RegionFilterSet
    lookup_field = "code"
    lookup_value_regex = r"[0-9]+"
    ordering_fields = ["code", "level", "name_zh", "name_en", "valid_from"]


class OrganisationViewSet(RegistryViewSet):
    """Enterprises, universities, institutes, zones, parks and government bodies."""

    queryset = Organisation.objects.select_related("source").prefetch_related(
        "sectors",
        "aliases",
        Prefetch("locations", queryset=Location.objects.select_related("region", "within")),
    )
    serializer_class = serializers.OrganisationSerializer
    filterset_class = filters.OrganisationFilterSet
    lookup_field = "key"
    lookup_value_regex = KEY_PATTERN
    ordering_fields = ["key", "kind", "name_zh", "name_en", "created_at", "updated_at"]

    def check_scope(self, serializer):
        if serializer.instance is not None:
            return super().check_scope(serializer)
        # A new organisation is placed by the location it is created with.
        data = serializer.validated_data
        if not can_create_in(self.request.user, data.get("region"), data.get("within")):
            raise PermissionDenied(
                "you may register organisations only inside your scope: give a `region` (and `within`) there"
            )


class LocationViewSet(RegistryViewSet):
    """Where organisations are, over time. POST records a move; PUT/PATCH corrects a row."""

    queryset = Location.objects.select_related("organisation", "region", "within", "source")
    serializer_class = serializers.LocationSerializer
    filterset_class = filters.LocationFilterSet
    ordering_fields = ["organisation__key", "valid_from", "valid_to"]


class PhaseViewSet(RegistryViewSet):
    """Numbered phases (期) of parks and zones. `?organisation=` is the park."""

    queryset = Phase.objects.select_related("park", "source")
    serializer_class = serializers.PhaseSerializer
    filterset_class = filters.PhaseFilterSet
    ordering_fields = ["park__key", "number", "operation_start"]


class OwnershipViewSet(RegistryViewSet):
    """Who owns what share of whom."""

    queryset = Ownership.objects.select_related("organisation", "owner", "source")
    serializer_class = serializers.OwnershipSerializer
    filterset_class = filters.OwnershipFilterSet
    ordering_fields = ["organisation__key", "owner__key", "share_percent", "since"]


class MilestoneViewSet(RegistryViewSet):
    """Dated events in an organisation's life."""

    queryset = Milestone.objects.select_related("organisation", "source")
    serializer_class = serializers.MilestoneSerializer
    filterset_class = filters.MilestoneFilterSet
    ordering_fields = ["organisation__key", "date", "kind"]


class CapacityViewSet(RegistryViewSet):
    """Production capacities per product, as stated on a date."""

    queryset = Capacity.objects.select_related("organisation", "source")
    serializer_class = serializers.CapacitySerializer
    filterset_class = filters.CapacityFilterSet
    ordering_fields = ["organisation__key", "product_en", "as_of", "quantity"]


class ContactViewSet(RegistryViewSet):
    """People with a role at an organisation."""

    queryset = Contact.objects.select_related("organisation", "source")
    serializer_class = serializers.ContactSerializer
    filterset_class = filters.ContactFilterSet
    ordering_fields = ["organisation__key", "name_en", "name_zh", "valid_from"]

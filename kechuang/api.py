"""Shared REST plumbing: pagination, the scoped permission, error responses, service
refusals and spreadsheet downloads.

Every error the API returns is JSON with field-level messages; nothing a client
sends can produce a 500.
"""

import io
import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from rest_framework import pagination, permissions, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from kechuang.accounts.scoping import can_change, may_change_anything
from kechuang.errors import RoleRefusal

log = logging.getLogger(__name__)


class Pagination(pagination.PageNumberPagination):
    """Pages of 50 rows; `?page_size=` from 1 to 500. A page size that is not such a
    number is refused (400), not silently replaced by the default: a client that asked
    for 0 or "abc" rows has a bug it should hear about."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        asked = request.query_params.get(self.page_size_query_param)
        if asked in (None, ""):
            return self.page_size
        if not asked.isascii() or not asked.isdigit() or int(asked) < 1:
            raise ValidationError({self.page_size_query_param: [
                f"a page size is a whole number from 1 to {self.max_page_size}, not {asked[:40]!r}"]})
        return min(int(asked), self.max_page_size)


class ScopedAccess(permissions.BasePermission):
    """Writes follow the role grants (kechuang/accounts/scoping.py).

    Reads are answered from a queryset the viewset has already narrowed with
    `visible_to`, so a row outside the caller's scope is a 404, exactly as a row that
    does not exist. A write needs a signed-in user who may change something (401/403
    otherwise), and, on a row they can see, the right to change that row (403).
    """

    message = "your role does not allow this change"

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and may_change_anything(request.user))

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        return can_change(request.user, obj)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = ValidationError(detail=detail)
    elif isinstance(exc, IntegrityError):
        # A database constraint caught what validation missed (e.g. a race on a unique key).
        log.warning("integrity error answered as 400: %s", exc)
        return Response({"non_field_errors": ["the change conflicts with existing data: " + str(exc).splitlines()[0]]},
                        status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, DataError):
        # A value the database cannot store (a NUL byte, a number out of range) that
        # validation let through.
        log.warning("data error answered as 400: %s", exc)
        return Response({"non_field_errors": ["a value cannot be stored: " + str(exc).splitlines()[0]]},
                        status=status.HTTP_400_BAD_REQUEST)
    elif isinstance(exc, (ValueError, OverflowError, RecursionError)) and not isinstance(exc, Http404):
        return Response({"non_field_errors": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
    # Imported here: rest_framework.views imports these settings, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(exc, context)


def answer_service_errors(call):
    """Run a service call: a refusal for the user's role (kechuang.errors.RoleRefusal) is a
    403; any other rule it raises is a 400 naming the field."""
    try:
        return call()
    except RoleRefusal as exc:
        raise PermissionDenied(getattr(exc, "reason", str(exc))) from None
    except DjangoValidationError as exc:
        raise ValidationError(as_serializer_error(exc)) from None


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: A spreadsheet download as the schema documents it (`@extend_schema(responses=…)`).
SPREADSHEET_RESPONSES = {(200, XLSX): OpenApiTypes.BINARY, (200, "text/csv"): OpenApiTypes.BINARY}


def spreadsheet(request, name: str, write) -> HttpResponse:
    """A file download: `write(output, format)` fills it as xlsx or CSV (`?download=`)."""
    fmt = request.query_params.get("download") or "xlsx"
    if fmt not in ("xlsx", "csv"):
        raise ValidationError({"download": ["xlsx or csv"]})
    output = io.BytesIO()
    write(output, fmt)
    content_type = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
    response = HttpResponse(output.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response

"""The OpenAPI schema (/api/schema/, drf-spectacular), said as the API answers.

drf-spectacular documents what a view returns when it succeeds; three things it cannot see
are added here, so that a client (or a fuzzer) reading the schema meets no answer it
does not describe:

- The errors. Every operation may be answered 401 (credentials that are wrong), 403 (a
  role that does not allow it), 404 (a row that is not there or not in the caller's
  scope, a page past the last), 429 (an account locked after failed logins) and 503 (the
  database cannot be reached: retry after Retry-After). An operation that reads query
  parameters or a body may be answered 400 (naming each field and why); one with a body
  415 (a body that is not JSON, or not multipart where a file is sent); a write 409 (a
  conflict with a change made at the same time, or with the row's state); a PUT or PATCH
  412 (If-Match names a version that is no longer current).
- A read-only field that holds null for some rows: DRF's read-only fields carry no
  `allow_null`, so drf-spectacular cannot know. It is nullable when the model field
  behind it (followed through its `source`) may be null.
- A registry row's stable key (`stable_key`: an organisation's key, a region's code) is
  required to create it but may be left out of a PUT, which takes it from the URL: a PUT
  body gets its own component (`…ReplacementRequest`) where the key is optional.
"""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular import openapi
from rest_framework import serializers

#: The body of every refusal but a 400: DRF's `{"detail": "…"}`.
DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "Why, in words for a person."}},
    "additionalProperties": True,
}
#: The body of a 400: each field (or `non_field_errors`) with what is wrong with it.
FIELD_ERRORS = {
    "type": "object",
    "description": "Each field named with its errors (a list of messages, or the errors of its parts).",
    "additionalProperties": {},
}

ERRORS = {
    "400": ("The request is refused: each field named with the reason.", FIELD_ERRORS),
    "401": ("Credentials are missing where they are needed, or wrong.", DETAIL),
    "403": ("The caller's role does not allow this.", DETAIL),
    "404": ("No such row in the caller's scope, or no such page.", DETAIL),
    "409": ("The change conflicts with the row's state or with a change made at the same time.", DETAIL),
    "412": ("If-Match names a version of the row that is no longer current.", DETAIL),
    "415": ("The body's media type is not one the operation reads.", DETAIL),
    "429": ("Too many failed logins: the account is locked for a while.", DETAIL),
    "503": ("The database cannot be reached; retry after the Retry-After header's seconds.", DETAIL),
}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is not None:
            for code in self._error_codes(operation):
                description, schema = ERRORS[code]
                operation["responses"].setdefault(code, {"description": description,
                                                         "content": {"application/json": {"schema": schema}}})
        return operation

    def _error_codes(self, operation: dict) -> list[str]:
        codes = ["401", "403", "404", "429", "503"]
        writes = self.method not in ("GET", "HEAD", "OPTIONS")
        if writes or any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
            codes.append("400")
        if "requestBody" in operation:
            codes.append("415")
        if writes:
            codes.append("409")
        if self.method in ("PUT", "PATCH"):
            codes.append("412")
        return sorted(codes)

    def get_serializer_name(self, serializer, direction):
        name = super().get_serializer_name(serializer, direction)
        if self._replaces_by_key(serializer, direction):
            return name.removesuffix("Serializer") + "Replacement"
        return name

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if self._replaces_by_key(serializer, direction) and serializer.stable_key in schema.get("required", []):
            schema["required"] = [name for name in schema["required"] if name != serializer.stable_key]
        return schema

    def _replaces_by_key(self, serializer, direction) -> bool:
        return direction == "request" and self.method == "PUT" and bool(getattr(serializer, "stable_key", None))

    def _get_serializer_field_meta(self, field, direction):
        meta = super()._get_serializer_field_meta(field, direction)
        if getattr(field, "read_only", False) and not meta.get("nullable") and _may_be_null(field):
            meta["nullable"] = True
        return meta


def _may_be_null(field: serializers.Field) -> bool:
    """Whether the model field a read-only serializer field shows may be null (or is
    reached through a relation that may be)."""
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not getattr(field, "source", None) or field.source == "*":
        return False
    for name in field.source.split("."):
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        if getattr(model_field, "null", False):
            return True
        model = model_field.related_model
        if model is None:
            return False
    return False

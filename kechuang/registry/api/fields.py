"""Serializer fields shared by the registry's resources."""

from collections.abc import Iterable, Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kechuang.accounts.scoping import visible_to

from ..dates import PartialDate, Precision, to_partial
from ..models import Region

UNSTORABLE = "text cannot contain NUL characters (\\x00) or unpaired surrogates"


def storable(value) -> bool:
    """Whether every string in `value` can be stored. PostgreSQL refuses NUL bytes and
    lone surrogates outright (a DataError, not a validation error), so they are caught
    before any field is validated or looked up."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, Mapping):
        return all(storable(k) and storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(storable(item) for item in value)
    return True


class KeyRelatedField(serializers.SlugRelatedField):
    """A related row named by its key or code (`320612`, `zhongkeyi-nantong`).

    An unknown key is a field error that names it. A number is read as its digits, so
    a region code may be sent as 320612 or "320612". Only rows the caller may see can
    be named (unless `scoped=False`): a key outside their scope is answered as an
    unknown one, so a write cannot be used to learn what exists elsewhere.
    """

    default_error_messages = {
        "does_not_exist": "no {noun} has the {slug_name} {value!r}",
        "invalid": "give the {slug_name} as a string",
    }

    def __init__(self, noun: str, *, scoped: bool = True, **kwargs):
        self.noun, self.scoped = noun, scoped
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        return visible_to(queryset, request.user) if self.scoped and request is not None else queryset

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool):
            data = str(data)
        if not isinstance(data, str):
            self.fail("invalid", slug_name=self.slug_field)
        if not storable(data):
            raise serializers.ValidationError(UNSTORABLE)
        max_length = self.get_queryset().model._meta.get_field(self.slug_field).max_length
        row = (
            None
            if len(data) > max_length
            else self.get_queryset().filter(**{self.slug_field: data}).first()
        )
        if row is None:
            self.fail("does_not_exist", noun=self.noun, slug_name=self.slug_field, value=data)
        return row


@extend_schema_field(
    {
        "type": "string",
        "nullable": True,
        "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$",
        "example": "2022-11",
        "description": "A date known to the year (2020), the month (2022-11) or the day "
        "(2022-11-15).",
    }
)
class PartialDateField(serializers.Field):
    """A date known to a year, a month or a day, stored as a date column plus its
    precision column (see `registry.dates`): `2020` ⇄ (2020-01-01, "year")."""

    default_error_messages = {"invalid": "{reason}"}

    def __init__(self, date_field: str, precision_field: str, *, nullable: bool = True, **kwargs):
        self.date_field, self.precision_field, self.nullable = date_field, precision_field, nullable
        super().__init__(source="*", **kwargs)

    def validate_empty_values(self, data):
        # With source="*" the value is merged into the validated data, so null must
        # become both columns, not a bare None.
        if data is None and self.nullable and not self.read_only:
            return True, {self.date_field: None, self.precision_field: Precision.DAY}
        return super().validate_empty_values(data)

    def to_representation(self, row):
        value = to_partial(getattr(row, self.date_field), getattr(row, self.precision_field))
        return None if value is None else str(value)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid", reason="write the date as YYYY, YYYY-MM or YYYY-MM-DD")
        try:
            value = PartialDate.parse(data)
        except ValueError as exc:
            self.fail("invalid", reason=str(exc))
        return {self.date_field: value.date, self.precision_field: value.precision}


class RegionNames:
    """Qualified region names (江苏省 › 南通市 › 通州区), enough to tell the two 通州区
    apart, for a whole page of rows in one query (`load`) instead of one per row."""

    def __init__(self):
        self._names: dict[str, str] = {}

    def load(self, regions: Iterable[Region]) -> None:
        codes = {
            code for region in regions for code in region.path.split("/") if code
        } - self._names.keys()
        if codes:
            self._names.update(Region.objects.filter(code__in=codes).values_list("code", "name_zh"))

    def qualified(self, region: Region) -> str:
        self.load([region])
        return " › ".join(
            self._names[code] for code in region.path.split("/") if code in self._names
        )


def region_names(context: dict) -> RegionNames:
    """The request's shared name cache (the list serializer and its rows share `context`)."""
    return context.setdefault("region_names", RegionNames())


@extend_schema_field(OpenApiTypes.STR)
class QualifiedRegionNameField(serializers.Field):
    """Read-only: the qualified name of the region at `source`."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, region):
        return region_names(self.context).qualified(region)

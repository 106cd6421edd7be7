"""A page of history records as what changed: when, who, interface, type, and each
field's value before and after.

Column values are compared with simple-history's `diff_against`. The rows of a
many-to-many relation (an organisation's sectors) are compared here instead, read for
the whole page in one query: diff_against reads them with two queries per record.
Foreign keys are shown by the related row's natural key (a region's code, an
organisation's key), looked up in one query per related model.
"""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords
from simple_history.utils import get_m2m_reverse_field_name

#: Kept on every row, and not a change anybody made: left out of the changes.
BOOKKEEPING = frozenset({"id", "created_at", "updated_at"})


def history_of(instance: models.Model) -> models.QuerySet:
    """The history records of one row, newest first (by date, then by record id)."""
    manager = getattr(instance, instance._meta.simple_history_manager_attribute)
    return manager.select_related("history_user").order_by("-history_date", "-history_id")


def earlier_record(records: models.QuerySet, record):
    """The record just before `record` in `records` (ordered newest first), or None."""
    return records.filter(
        Q(history_date__lt=record.history_date) | Q(history_date=record.history_date, history_id__lt=record.history_id)
    ).first()


def natural_key_field(model: type[models.Model]) -> models.Field | None:
    """The first unique column besides the primary key (Region.code, Organisation.key)."""
    return next((f for f in model._meta.concrete_fields if f.unique and not f.primary_key), None)


def plain(value):
    """A value as the API writes it (decimals as strings, dates in ISO 8601)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


class NaturalKeys:
    """Natural keys of the rows that foreign keys point at, one query per model."""

    def __init__(self):
        self._wanted: dict[type[models.Model], set] = defaultdict(set)
        self._found: dict[type[models.Model], dict] = {}

    def want(self, model: type[models.Model], values) -> None:
        if natural_key_field(model) is not None:
            self._wanted[model].update(pk for pk in values if pk is not None)

    def load(self) -> None:
        for model, pks in self._wanted.items():
            field = natural_key_field(model)
            self._found[model] = dict(model._base_manager.filter(pk__in=pks).values_list("pk", field.attname))

    def show(self, model: type[models.Model], pk):
        # A row deleted since is shown by its id.
        return None if pk is None else self._found.get(model, {}).get(pk, pk)


def _m2m_ids(records: list, fields: list) -> dict[str, dict[int, list]]:
    """For each many-to-many field, the related ids recorded with each record (by history_id)."""
    ids: dict[str, dict[int, list]] = {}
    for field in fields:
        history_model = HistoricalRecords.m2m_models[field]
        related = f"{get_m2m_reverse_field_name(field)}_id"
        by_record = defaultdict(list)
        rows = history_model.objects.filter(history_id__in=[r.history_id for r in records])
        for history_id, related_id in rows.values_list("history_id", related):
            by_record[history_id].append(related_id)
        ids[field.name] = {history_id: sorted(values) for history_id, values in by_record.items()}
    return ids


def _changes(record, previous, fields: dict[str, models.Field], m2m: dict[str, dict[int, list]]) -> list[tuple]:
    """(field name, before, after) for one record; values as stored (ids for relations)."""
    if record.history_type == "~" and previous is not None:
        editable = [name for name, field in fields.items() if field.editable]
        delta = record.diff_against(previous, included_fields=editable)
        changes = [(change.field, change.old, change.new) for change in delta.changes]
        # diff_against compares the columns a form could edit; a column kept by the
        # services (a region's path) is compared here.
        changes += [(name, getattr(previous, field.attname), getattr(record, field.attname))
                    for name, field in fields.items() if not field.editable
                    and getattr(previous, field.attname) != getattr(record, field.attname)]
    elif record.history_type == "-":
        changes = [(name, getattr(record, field.attname), None) for name, field in fields.items()]
    else:
        # Created; or the first record of a row that existed before the audit trail
        # began, which has no earlier state to compare with.
        changes = [(name, None, getattr(record, field.attname)) for name, field in fields.items()
                   if getattr(record, field.attname) not in (None, "")]
    for name, recorded in m2m.items():
        before = recorded.get(previous.history_id, []) if previous is not None else None
        after = recorded.get(record.history_id, [])
        if record.history_type == "-":
            # The relation's rows are gone by the time the delete is recorded.
            if before:
                changes.append((name, before, None))
        elif after != (before or []):
            changes.append((name, before, after))
    return sorted(changes, key=lambda change: change[0])


def describe(records: list, earlier=None) -> list[dict]:
    """Entries for `records` (one row's history, newest first); `earlier` is the
    record before the last of them, if any."""
    if not records:
        return []
    chain = [*records, *([earlier] if earlier is not None else [])]
    fields = {f.name: f for f in records[0].tracked_fields if f.name not in BOOKKEEPING}
    m2m_fields = list(records[0]._history_m2m_fields)
    related = {name: field.related_model for name, field in fields.items() if field.is_relation}
    related.update({field.name: field.related_model for field in m2m_fields})
    m2m = _m2m_ids(chain, m2m_fields)
    keys = NaturalKeys()
    described = []
    for i, record in enumerate(records):
        changes = _changes(record, chain[i + 1] if i + 1 < len(chain) else None, fields, m2m)
        for name, before, after in changes:
            if name in related:
                for value in (before, after):
                    keys.want(related[name], value if isinstance(value, list) else [value])
        described.append((record, changes))
    keys.load()

    def show(name, value):
        if name not in related:
            return plain(value)
        if isinstance(value, list):
            return sorted(keys.show(related[name], pk) for pk in value)
        return keys.show(related[name], value)

    return [
        {
            "when": record.history_date,
            "who": record.history_user.get_username() if record.history_user else None,
            "interface": record.history_interface,
            "type": record.history_type,
            "reason": record.history_change_reason,
            "changes": [{"field": name, "before": show(name, before), "after": show(name, after)}
                        for name, before, after in changes],
        }
        for record, changes in described
    ]

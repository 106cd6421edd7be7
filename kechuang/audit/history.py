"""The history every audited model keeps: django-simple-history's HistoricalRecords,
with the interface of each change and the reason (for a command: what ran, and who
ran it) on every record, including records made by bulk writes."""

from collections.abc import Iterator
from contextlib import contextmanager

import simple_history.manager
from django.db import models
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_m2m_records, pre_create_historical_m2m_records
from simple_history.utils import bulk_create_with_history, bulk_update_with_history, get_m2m_field_name

from .context import current, current_interface


class AuditedRecord(models.Model):
    """Base of every historical model."""

    # A default, not a signal: simple-history makes bulk records without sending its
    # signals, and a default is read for those too.
    history_interface = models.CharField("interface", max_length=20, default=current_interface, db_index=True)

    class Meta:
        abstract = True


class HistoryDescriptor(simple_history.manager.HistoryDescriptor):
    """`row.history`: simple-history's, with the manager class built once rather than at
    every access (making a record reads it, and building the class costs more than
    writing the record)."""

    def __init__(self, model, manager, queryset):
        super().__init__(model, manager=manager, queryset=queryset)
        self.manager_with_queryset = manager.from_queryset(queryset)

    def __get__(self, instance, owner):
        return self.manager_with_queryset(self.model, instance)


class History(HistoricalRecords):
    """`history = History()` on a model records every save and delete of it.

    `excluded_fields` leaves derived columns out (they are rebuilt from the others);
    `m2m_fields` records the rows of many-to-many relations with each record.
    """

    def __init__(self, *, excluded_fields=(), m2m_fields=(), **options):
        super().__init__(
            bases=[AuditedRecord],
            # The default is 100 characters; a command line with a file path is longer.
            history_change_reason_field=models.TextField(null=True, blank=True),
            excluded_fields=list(excluded_fields),
            m2m_fields=list(m2m_fields),
            **options,
        )

    def create_history_model(self, model, inherited):
        history_model = super().create_history_model(model, inherited)
        # simple-history names the app package (kechuang.registry) as the module, but puts
        # the class in the model's module; `kechuang shell` imports it from where it is.
        history_model.__module__ = self.module
        return history_model

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        if sender is self.cls:
            sender._meta.audit_history = self  # for record()
            plain = sender.__dict__[self.manager_name]
            setattr(sender, self.manager_name,
                    HistoryDescriptor(plain.model, manager=plain.manager_class, queryset=plain.queryset_class))

    def create_historical_record_m2ms(self, history_instance, instance):
        """The relation's rows as they are now, copied with the record.

        simple-history's own reads the row back first (a query per record when a field
        is excluded) and joins both ends of the relation; the ids are all it copies.
        """
        for field in history_instance._history_m2m_fields:
            history_model = self.m2m_models[field]
            through = field.remote_field.through
            rows = through.objects.filter(**{get_m2m_field_name(field): instance.pk})
            copies = [history_model(history=history_instance, **row)
                      for row in rows.values(*(f.attname for f in through._meta.concrete_fields))]
            pre_create_historical_m2m_records.send(sender=history_model, rows=copies,
                                                   history_instance=history_instance, instance=instance, field=field)
            created = history_model.objects.bulk_create(copies)
            post_create_historical_m2m_records.send(sender=history_model, created_rows=created,
                                                    history_instance=history_instance, instance=instance, field=field)

    def get_history_user(self, instance):
        return super().get_history_user(instance) or current().user

    def get_change_reason_for_object(self, instance, history_type, using):
        return super().get_change_reason_for_object(instance, history_type, using) or current().reason


def bulk_create(model: type[models.Model], objs: list, *, batch_size: int | None = None) -> list:
    """`model.objects.bulk_create(objs)`, with a history record ("+") for each row."""
    objs = list(objs)
    if not objs:
        return []
    return bulk_create_with_history(objs, model, batch_size=batch_size, default_change_reason=current().reason)


def bulk_update(model: type[models.Model], objs: list, fields: list[str], *, batch_size: int | None = None) -> int:
    """`model.objects.bulk_update(objs, fields)`, with a history record ("~") for each row."""
    objs = list(objs)
    if not objs:
        return 0
    return bulk_update_with_history(objs, model, fields, batch_size=batch_size,
                                    default_change_reason=current().reason)


@contextmanager
def unrecorded(instance: models.Model) -> Iterator[None]:
    """Saves and many-to-many changes of `instance` inside the block make no record:
    the caller makes one with `record()` when it has finished changing it."""
    if hasattr(instance, "skip_history_when_saving"):  # an enclosing block records it
        yield
        return
    instance.skip_history_when_saving = True
    try:
        yield
    finally:
        del instance.skip_history_when_saving


def record(instance: models.Model, history_type: str) -> None:
    """Record `instance` as it is now: "+" created, "~" changed, "-" deleted."""
    instance._meta.audit_history.create_historical_record(instance, history_type)

"""Shared helpers of the audit-trail tests."""

from pathlib import Path

import pytest
from django.db.models import Model
from simple_history.utils import get_history_model_for_model

from kechuang.registry.models import (
    Alias,
    Capacity,
    Contact,
    Location,
    Milestone,
    Organisation,
    Ownership,
    Phase,
    Region,
    RegionLink,
    Sector,
    Source,
)
from kechuang.world.formats import parse_yaml

#: The seed article's facts as a world file (shared with the world-file tests).
TONGZHOU_FILE = Path(__file__).resolve().parents[1] / "world" / "data" / "tongzhou.yaml"

#: Every audited registry table.
AUDITED = (Source, Sector, Region, RegionLink, Organisation, Alias, Location, Ownership, Phase, Milestone,
           Capacity, Contact)


def records(row: Model) -> list:
    """The history records of `row`, oldest first."""
    return list(row.history.order_by("history_date", "history_id"))


def latest(row: Model):
    return row.history.order_by("-history_date", "-history_id").first()


def history_count() -> int:
    return sum(get_history_model_for_model(model).objects.count() for model in AUDITED)


def assert_history_matches_the_tables() -> None:
    """Every row's latest history record holds the row as it is, and every row that is
    gone ends with a deletion: a write that escaped the history would break one."""
    for model in AUDITED:
        history = get_history_model_for_model(model)
        tracked = [field.attname for field in history.tracked_fields]
        last = {}
        for record in history.objects.order_by("history_date", "history_id"):
            last[record.id] = record
        rows = {row.pk: row for row in model.objects.all()}
        for pk, row in rows.items():
            record = last.get(pk)
            assert record is not None, f"{model.__name__} {pk} has no history"
            assert record.history_type != "-", f"{model.__name__} {pk} exists but its history ends deleted"
            stored = {name: getattr(row, name) for name in tracked}
            recorded = {name: getattr(record, name) for name in tracked}
            assert recorded == stored, f"{model.__name__} {pk}: history {recorded} != row {stored}"
        for pk, record in last.items():
            if pk not in rows:
                assert record.history_type == "-", f"{model.__name__} {pk} is gone but its deletion is not recorded"


@pytest.fixture
def sector(db):
    from kechuang.registry import services

    return services.save_sector("new-materials", name_zh="新材料", name_en="New materials")[0]


@pytest.fixture
def tongzhou() -> dict:
    """The seed article's world file, parsed; each test may change its copy."""
    return parse_yaml(TONGZHOU_FILE.read_text(encoding="utf-8"))

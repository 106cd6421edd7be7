"""Shared fixtures for the world-file tests: the seed article's facts as a document."""

import copy
from pathlib import Path

import pytest

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

DATA = Path(__file__).parent / "data"
TONGZHOU_FILE = DATA / "tongzhou.yaml"

#: Every table a world file writes, children before parents.
TABLES = (Alias, Location, Ownership, Phase, Milestone, Capacity, Contact, Organisation, RegionLink, Region,
          Sector, Source)


@pytest.fixture(scope="session")
def _tongzhou_parsed() -> dict:
    return parse_yaml(TONGZHOU_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def tongzhou(_tongzhou_parsed) -> dict:
    """The facts of the 2023-09-04 Tongzhou article; each test may change its copy."""
    return copy.deepcopy(_tongzhou_parsed)


def entry(document: dict, section: str, key: str) -> dict:
    """The entry of `section` whose key (or code) is `key`."""
    field = "code" if section in ("regions", "sectors") else "key"
    return next(item for item in document[section] if item[field] == key)


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def updated_stamps() -> dict[tuple[str, int], object]:
    """updated_at of every row that has one, to prove a load wrote nothing."""
    stamps = {}
    for model in TABLES:
        if any(field.name == "updated_at" for field in model._meta.fields):
            stamps.update(((model.__name__, pk), stamp) for pk, stamp in model.objects.values_list("pk", "updated_at"))
    return stamps


def wipe_registry() -> None:
    """Empty every table a world file writes (test set-up for "load into an empty database")."""
    for model in TABLES[:8]:
        model.objects.all().delete()
    RegionLink.objects.all().delete()
    Region.objects.update(successor=None)
    # Regions protect their parents: delete the deepest first.
    for region in sorted(Region.objects.all(), key=lambda region: -region.path.count("/")):
        region.delete()
    Sector.objects.all().delete()
    Source.objects.all().delete()
    assert not any(row_counts().values())

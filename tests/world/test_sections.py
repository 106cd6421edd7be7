"""The top level is a registry of sections: another app adds one without touching the loader."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from kechuang.registry.models import Organisation, Sector
from kechuang.world import schema as s
from kechuang.world.dumper import dump_world
from kechuang.world.errors import WorldError, at
from kechuang.world.loader import load_world
from kechuang.world.organisations import organisation_kinds
from kechuang.world.sections import Section, ordered_sections, register, unregister, world_schema

from .conftest import row_counts

#: What a test section loaded, by organisation key (stands in for a table of its own).
NOTES: dict[str, str] = {}


def check_notes(entries, ctx):
    kinds = organisation_kinds(ctx, {e["organisation"] for e in entries})
    for i, note in enumerate(entries):
        if note["organisation"] not in kinds:
            ctx.problem(at("notes", i, "organisation"), f"no organisation has the key {note['organisation']!r}")


def load_notes(entries, ctx):
    for note in entries:
        status = "unchanged" if NOTES.get(note["organisation"]) == note["text"] else "created"
        NOTES[note["organisation"]] = note["text"]
        ctx.report.count("notes", status)


def dump_notes(ctx):
    ctx.require("organisations", NOTES)
    return [{"organisation": key, "text": text} for key, text in sorted(NOTES.items())]


NOTES_SECTION = Section(
    "notes",
    s.listing("Notes on organisations.", s.entry("A note.", {
        "organisation": s.key("Key of the organisation."), "text": s.text("The note.")},
        required=["organisation", "text"])),
    load=load_notes, dump=dump_notes, check=check_notes, after=("organisations",))


@pytest.fixture
def notes_section():
    NOTES.clear()
    register(NOTES_SECTION)
    yield NOTES
    unregister("notes")
    NOTES.clear()


def test_the_registry_sections_come_in_dependency_order():
    names = [section.name for section in ordered_sections()]
    assert names[:4] == ["sources", "sectors", "regions", "organisations"]
    assert names.index("organisations") < names.index("calls") < names.index("projects")  # the programmes' own


@pytest.mark.django_db
def test_a_registered_section_is_checked_loaded_dumped_and_in_the_schema(notes_section, tongzhou):
    assert "notes" in world_schema()["properties"]
    tongzhou["notes"] = [{"organisation": "zhongkeyi-nantong", "text": "Met at the 2023 fair."}]

    report = load_world(tongzhou)

    assert report["notes"]["created"] == 1
    assert notes_section == {"zhongkeyi-nantong": "Met at the 2023 fair."}
    assert dump_world()["notes"] == tongzhou["notes"]


@pytest.mark.django_db
def test_a_registered_section_may_require_rows_of_earlier_sections_in_a_region_dump(notes_section, tongzhou):
    load_world(tongzhou)
    notes_section["sky-technology"] = "The parent company."

    dumped = dump_world("110112")  # nothing of Beijing's Tongzhou, but the note needs its organisation

    assert [org["key"] for org in dumped["organisations"]] == ["sky-technology"]
    assert [region["code"] for region in dumped["regions"]] == ["110000", "110112", "210000", "210100"]


@pytest.mark.django_db
def test_a_registered_section_has_its_problems_reported_with_the_others(notes_section, tongzhou):
    tongzhou["notes"] = [{"organisation": "nobody", "text": "?"}]
    tongzhou["regions"][0]["parent"] = "329999"

    with pytest.raises(WorldError) as caught:
        load_world(tongzhou)

    assert [path for path, _ in caught.value.errors] == ["regions[0].parent", "notes[0].organisation"]
    assert not notes_section and not any(row_counts().values())


def test_a_section_after_an_unknown_one_is_a_configuration_error():
    register(Section("orphan", s.listing("x", s.entry("x", {})), load=load_notes, dump=dump_notes,
                     after=("nowhere",)))
    try:
        with pytest.raises(ImproperlyConfigured, match="unknown section"):
            ordered_sections()
    finally:
        unregister("orphan")


@pytest.mark.parametrize("name", ["kechuang", "entries"])
def test_the_keys_of_the_head_cannot_be_registered_as_sections(name):
    with pytest.raises(ImproperlyConfigured, match=f"'{name}' is a key of the file's head, not a section"):
        register(Section(name, s.listing("x", s.entry("x", {})), load=load_notes, dump=dump_notes))


def _load_twice_the_same_sector(entries, ctx):
    for i in range(len(entries)):
        with ctx.writing(at("clash", i)):
            Sector.objects.create(code="dup", name_zh="重复", name_en="Duplicate")


@pytest.mark.django_db
def test_a_database_error_becomes_a_world_error_naming_the_entry(tongzhou):
    register(Section("clash", s.listing("x", s.entry("x", {})), load=_load_twice_the_same_sector,
                     dump=lambda ctx: [], after=("organisations",)))
    tongzhou["clash"] = [{}, {}]
    try:
        with pytest.raises(WorldError) as caught:
            load_world(tongzhou)
    finally:
        unregister("clash")

    [(path, reason)] = caught.value.errors
    assert path == "clash[1]" and reason.startswith("the database refused the change:")
    assert not Organisation.objects.exists() and not Sector.objects.exists()

"""The world file's top level: an ordered registry of sections.

A section is a top-level key of the file (`regions`, `organisations`, later
`projects`, `designations`, `statistics`): its JSON-Schema fragment, how to check and
load its entries, and how to dump them. An app adds a section by calling `register`
in its AppConfig.ready(); the loader, the dumper and the schema read the registry, so
nothing else changes. The registry app's own sections are registered the same way
(by kechuang.world's AppConfig, since the registry app knows nothing of the file).

Order: a section names the sections whose entries it refers to (`after`). Loading
runs in that order, so a project can name an organisation from the same file;
dumping runs in the reverse order, so a section can ask the ones it refers to for
the rows it needs (`DumpContext.require`).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from .schema import DIALECT

if TYPE_CHECKING:
    from .context import DumpContext, LoadContext

FORMAT_VERSION = 1
#: The top-level key declaring how many entries each section holds (`kechuang dump` writes it).
ENTRIES = "entries"

Entries = list[dict[str, Any]]


def _no_check(entries: Entries, ctx: "LoadContext") -> None:
    return None


@dataclass(frozen=True)
class Section:
    """One top-level key of the world file.

    check(entries, ctx): find every semantic problem (ctx.problem), writing nothing;
        runs for all sections before any is loaded, so a bad file writes nothing.
    load(entries, ctx):  create or update rows through the app's services, counting
        each entry in ctx.report; raise (through ctx.writing) on a refused write.
    dump(ctx):           the section's entries, in a stable order; omitting defaults.
    """

    name: str
    schema: dict
    load: Callable[[Entries, "LoadContext"], None]
    dump: Callable[["DumpContext"], Entries]
    check: Callable[[Entries, "LoadContext"], None] = _no_check
    after: tuple[str, ...] = ()


_registry: dict[str, Section] = {}


def register(section: Section) -> Section:
    """Add a section (or replace one of the same name, so a reloaded app is harmless)."""
    if section.name in ("kechuang", ENTRIES):
        raise ImproperlyConfigured(f"{section.name!r} is a key of the file's head, not a section")
    _registry[section.name] = section
    return section


def unregister(name: str) -> None:
    _registry.pop(name, None)


def ordered_sections() -> list[Section]:
    """Sections in load order: each after the ones it names, else in registration order."""
    for section in _registry.values():
        missing = [name for name in section.after if name not in _registry]
        if missing:
            raise ImproperlyConfigured(f"world section {section.name!r} comes after unknown section(s) {missing}")
    pending = list(_registry.values())
    ordered: list[Section] = []
    placed: set[str] = set()
    while pending:
        ready = next((s for s in pending if set(s.after) <= placed), None)
        if ready is None:
            raise ImproperlyConfigured(f"world sections {[s.name for s in pending]} wait for each other")
        ordered.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return ordered


def world_schema() -> dict:
    """The JSON Schema of the whole file, assembled from the registered sections."""
    sections = ordered_sections()
    return {
        "$schema": DIALECT,
        "title": "kechuang world file",
        "description": "The registry described declaratively; see docs/world-file.md.",
        "type": "object",
        "properties": {
            "kechuang": {"const": FORMAT_VERSION, "description": "Format version of the world file."},
            ENTRIES: {
                "type": "object",
                "description": "How many entries each section holds, as `kechuang dump` writes it. A YAML file cut "
                               "off between two entries is still valid YAML: a section holding another number of "
                               "entries than declared refuses the file.",
                "properties": {section.name: {"type": "integer", "minimum": 0} for section in sections},
                "additionalProperties": False,
            },
            **{section.name: section.schema for section in sections},
        },
        "required": ["kechuang"],
        "additionalProperties": False,
    }


def schema_text() -> str:
    """The schema as published in docs/world.schema.json."""
    return json.dumps(world_schema(), ensure_ascii=False, indent=2) + "\n"

"""The `sources` and `sectors` sections: flat lists saved by key and by code."""

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models

from kechuang.registry.models import Sector, Source
from kechuang.registry.services import save_sector, save_source

from . import schema as s
from .context import DumpContext, LoadContext
from .errors import at
from .sections import Entries, Section
from .values import read_date, without_defaults, write_date

# --- writing ------------------------------------------------------------------------


def _upsert(save, existing: models.Model | None, key: str, values: dict) -> tuple[models.Model, str]:
    """save_source / save_sector, skipped when the row read in bulk already holds `values`
    (a dump cites thousands of sources; reloading it should not cost a query each)."""
    if existing is not None and all(getattr(existing, name) == value for name, value in values.items()):
        return existing, "unchanged"
    return save(key, **values)


def check_url(ctx: LoadContext, path: str, value: str) -> None:
    if value:
        try:
            URLValidator()(value)
        except ValidationError:
            ctx.problem(path, f"{value!r} is not a web address (http:// or https://)")


def source_reference(description: str = "Key of the source (in the file or the database).") -> dict:
    """The schema of a `source` key in any entry."""
    return s.nullable(s.key(description, Source, "key"))


def check_source_refs(ctx: LoadContext, references: list[tuple[str, str | None]]) -> None:
    """Each (path, source key) must name a source of the file or the database."""
    known = ctx.known("sources", Source, "key", [key for _, key in references])
    for path, key in references:
        if key is not None and key not in known:
            ctx.problem(path, f"no source has the key {key!r}, in this file or in the database")


def source_key(row: models.Model) -> str | None:
    """The key of the row's source (select_related("source") keeps this to one query)."""
    return row.source.key if row.source_id else None


def _check_keyed(entries: Entries, ctx: LoadContext, section: str, field: str) -> None:
    for i, entry in enumerate(entries):
        ctx.declare(section, entry[field], at(section, i), entry)


# --- sources -----------------------------------------------------------------------

SOURCE_DEFAULTS = {"url": "", "publisher": "", "published": None, "note": ""}

SOURCE_SCHEMA = s.listing(
    "Where facts come from: an article, a government page, a notice. Other entries cite a source by key.",
    s.entry("A source.", {
        "key": s.key("Stable slug, e.g. tongzhou-innovation-2023-09-04.", Source, "key"),
        "title": s.text("Title as published.", Source, "title", required=True),
        "url": s.text("Web address (http or https).", Source, "url"),
        "publisher": s.text("Who published it.", Source, "publisher"),
        "published": s.nullable(s.date("Publication date, YYYY-MM-DD.")),
        "note": s.text("Anything a reader should know about the source."),
    }, required=["key", "title"]),
)


def check_sources(entries: Entries, ctx: LoadContext) -> None:
    _check_keyed(entries, ctx, "sources", "key")
    for i, entry in enumerate(entries):
        check_url(ctx, at("sources", i, "url"), entry.get("url", ""))


def load_sources(entries: Entries, ctx: LoadContext) -> None:
    existing = Source.objects.in_bulk([e["key"] for e in entries], field_name="key")
    for i, entry in enumerate(entries):
        values = {**SOURCE_DEFAULTS, **{k: v for k, v in entry.items() if k != "key"}}
        values["published"] = read_date(values["published"])
        with ctx.writing(at("sources", i)):
            source, status = _upsert(save_source, existing.get(entry["key"]), entry["key"], values)
        ctx.remember(Source, "key", source.key, source.pk)
        ctx.report.count("sources", status)


def dump_sources(ctx: DumpContext) -> Entries:
    rows = Source.objects.all() if ctx.whole else Source.objects.filter(key__in=ctx.required("sources"))
    return [
        without_defaults({
            "key": source.key, "title": source.title, "url": source.url, "publisher": source.publisher,
            "published": write_date(source.published), "note": source.note,
        }, SOURCE_DEFAULTS)
        for source in sorted(rows, key=lambda row: row.key)
    ]


SOURCES = Section("sources", SOURCE_SCHEMA, load=load_sources, dump=dump_sources, check=check_sources)


# --- sectors -----------------------------------------------------------------------

SECTOR_SCHEMA = s.listing(
    "Sector tags that organisations carry.",
    s.entry("A sector.", {
        "code": s.key("Stable slug, e.g. semiconductor-equipment.", Sector, "code"),
        "name_zh": s.text("Chinese name.", Sector, "name_zh", required=True),
        "name_en": s.text("English name.", Sector, "name_en", required=True),
    }, required=["code", "name_zh", "name_en"]),
)


def check_sectors(entries: Entries, ctx: LoadContext) -> None:
    _check_keyed(entries, ctx, "sectors", "code")


def load_sectors(entries: Entries, ctx: LoadContext) -> None:
    existing = Sector.objects.in_bulk([e["code"] for e in entries], field_name="code")
    for i, entry in enumerate(entries):
        with ctx.writing(at("sectors", i)):
            _, status = _upsert(save_sector, existing.get(entry["code"]), entry["code"],
                                {"name_zh": entry["name_zh"], "name_en": entry["name_en"]})
        ctx.report.count("sectors", status)


def dump_sectors(ctx: DumpContext) -> Entries:
    rows = Sector.objects.all() if ctx.whole else Sector.objects.filter(code__in=ctx.required("sectors"))
    return [{"code": sector.code, "name_zh": sector.name_zh, "name_en": sector.name_en}
            for sector in sorted(rows, key=lambda row: row.code)]


SECTORS = Section("sectors", SECTOR_SCHEMA, load=load_sectors, dump=dump_sectors, check=check_sectors)

"""The `organisations` section: enterprises, universities, institutes, zones, parks and
government bodies, with the facts about each (aliases, and the lists in children.py).

Organisations may refer to one another (an owner, the zone a firm sits in) in any
order: every organisation is saved first, the links after. A list given in an entry
is authoritative for that organisation (rows it does not list are deleted); a list
left out leaves that organisation's rows alone.
"""

from collections import defaultdict

from django.db import models

from kechuang.registry.models import (
    CONTAINER_KINDS,
    Alias,
    AliasKind,
    Location,
    Organisation,
    OrganisationKind,
    Ownership,
    Region,
    Sector,
    Source,
)
from kechuang.registry.services import RegistryError, check_uscc, save_organisation

from . import schema as s
from .children import (
    CHILD_LISTS,
    References,
    check_child_list,
    check_unique,
    insert_child_lists,
    organisation_key,
    sync_child_list,
)
from .context import DumpContext, LoadContext
from .errors import at
from .rows import group_rows
from .sections import Entries, Section
from .sources import check_source_refs, check_url, source_key, source_reference
from .values import read_date, without_defaults, write_date

#: Entries are saved, then linked, in batches of this many (bounds the bulk queries).
BATCH = 500

ALIAS_DEFAULTS = {"kind": AliasKind.SHORT.value, "valid_to": None, "source": None}

ALIAS_SCHEMA = s.listing("Other names: short names (简称), former names (曾用名).", s.entry(
    "An alias.", {
        "name": s.text("The other name.", Alias, "name", required=True),
        "kind": s.choice("short (default), former or other.", AliasKind),
        "valid_to": s.nullable(s.date("For a former name: the first day it was no longer used.")),
        "source": source_reference(),
    }, required=["name"]))

ORG_DEFAULTS = {"name_zh": "", "name_en": "", "name_zh_verified": True, "uscc": None,
                "above_designated_size": False, "description_zh": "", "description_en": "", "website": "",
                "synthetic": False, "source": None}

#: Fields save_organisation takes as they are (the file's order, before `sectors`).
ORG_FIELDS = ("kind", "name_zh", "name_en", "name_zh_verified", "uscc", "above_designated_size")
#: … and after `sectors`.
ORG_TEXT_FIELDS = ("description_zh", "description_en", "website", "synthetic")

ORGANISATION_SCHEMA = s.listing(
    "Enterprises, universities, institutes, zones, parks and government bodies.",
    s.entry("An organisation; needs a Chinese or an English name.", {
        "key": organisation_key("Stable slug that other entries and the API use, e.g. zhongkeyi-nantong."),
        "kind": s.choice("enterprise, university, institute, zone, park or government.", OrganisationKind),
        "name_zh": s.text("Chinese name.", Organisation, "name_zh"),
        "name_en": s.text("English name.", Organisation, "name_en"),
        "name_zh_verified": s.boolean("false when no source confirms the Chinese name (default true)."),
        "uscc": s.nullable(s.text("Unified Social Credit Code (统一社会信用代码), 18 characters.")),
        "above_designated_size": s.boolean("Industrial enterprise above designated size (规模以上)."),
        "sectors": s.listing("Sector codes (in the file or the database).",
                             s.key("A sector code.", Sector, "code"), unique=True),
        "description_zh": s.text("Description in Chinese."),
        "description_en": s.text("Description in English."),
        "website": s.text("Web address.", Organisation, "website"),
        "synthetic": s.boolean("Invented for the demo; never real."),
        "source": source_reference(),
        "aliases": ALIAS_SCHEMA,
        **{child.name: child.schema for child in CHILD_LISTS},
    }, required=["key", "kind"]),
)


# --- check ---------------------------------------------------------------------


def _source_references(entries: Entries) -> list[tuple[str, str | None]]:
    references = []
    for i, entry in enumerate(entries):
        path = at("organisations", i)
        references.append((at(path, "source"), entry.get("source")))
        for name in ("aliases", *(child.name for child in CHILD_LISTS)):
            references.extend((at(path, name, j, "source"), item.get("source"))
                              for j, item in enumerate(entry.get(name, [])))
    return references


def organisation_kinds(ctx: LoadContext, keys: set[str]) -> dict[str, str]:
    """The kind of each organisation key, from the file or else the database."""
    declared = ctx.declared("organisations")
    kinds = {key: declared[key]["kind"] for key in keys if key in declared}
    missing = keys - kinds.keys()
    if missing:
        kinds.update(Organisation.objects.filter(key__in=missing).values_list("key", "kind"))
    return kinds


def check_organisations(entries: Entries, ctx: LoadContext) -> None:
    for i, entry in enumerate(entries):
        ctx.declare("organisations", entry["key"], at("organisations", i), entry)
    check_source_refs(ctx, _source_references(entries))
    sectors = ctx.known("sectors", Sector, "code", {code for e in entries for code in e.get("sectors", [])})
    refs = References(
        regions=ctx.known("regions", Region, "code",
                          {loc["region"] for e in entries for loc in e.get("locations", [])}),
        kinds=organisation_kinds(ctx, {loc["within"] for e in entries for loc in e.get("locations", [])
                                       if loc.get("within")}
                                 | {own["owner"] for e in entries for own in e.get("owners", [])}),
    )
    _check_usccs(entries, ctx)
    for i, entry in enumerate(entries):
        _check_organisation(ctx, at("organisations", i), entry, sectors, refs)


def _check_usccs(entries: Entries, ctx: LoadContext) -> None:
    """Each code passes its check (a check character alone may fail: a warning), and
    belongs to one organisation only, in the file and in the database."""
    holders: dict[str, str] = {}
    codes: dict[int, str] = {}
    for i, entry in enumerate(entries):
        if not entry.get("uscc"):
            continue
        path = at("organisations", i, "uscc")
        try:
            outcome = check_uscc(entry["uscc"], legacy=True)
        except RegistryError as exc:
            ctx.problem(path, exc.reason)
            continue
        if outcome.warning:
            ctx.warn(path, f"{outcome.code} {outcome.warning}")
        if outcome.code in holders:
            ctx.problem(path, f"{outcome.code} is also the code of {holders[outcome.code]}")
            continue
        holders[outcome.code] = entry["key"]
        codes[i] = outcome.code
    in_database = dict(Organisation.objects.filter(uscc__in=set(codes.values())).values_list("uscc", "key"))
    declared = ctx.declared("organisations")
    for i, code in codes.items():
        holder = in_database.get(code)
        # A holder that this file gives another code frees the code; save_organisation
        # still refuses it if the file lists the holder later.
        if holder and holder != entries[i]["key"] and holder not in declared:
            ctx.problem(at("organisations", i, "uscc"), f"{code} already belongs to {holder} in the database")


def _check_organisation(ctx: LoadContext, path: str, entry: dict, sectors: set[str], refs: References) -> None:
    key, kind = entry["key"], entry["kind"]
    if not (entry.get("name_zh") or entry.get("name_en")):
        ctx.problem(at(path, "name_zh"), "an organisation needs a Chinese or an English name")
    check_url(ctx, at(path, "website"), entry.get("website", ""))
    for j, code in enumerate(entry.get("sectors", [])):
        if code not in sectors:
            ctx.problem(at(path, "sectors", j), f"no sector has the code {code!r}, in this file or in the database")
    check_unique(ctx, path, "aliases", entry.get("aliases", []), lambda item: (item["name"],))
    if entry.get("phases") and kind not in CONTAINER_KINDS:
        ctx.problem(at(path, "phases"), f"only a zone or park has phases; {key} is a {kind}")
    for child in CHILD_LISTS:
        check_child_list(ctx, path, entry, child, refs)


# --- load ----------------------------------------------------------------------


def _alias_values(item: dict, ctx: LoadContext) -> dict:
    values = {**ALIAS_DEFAULTS, **item}
    return {"name": values["name"], "kind": values["kind"], "valid_to": read_date(values["valid_to"]),
            "source_id": ctx.pk(Source, "key", values["source"])}


def _batches(entries: Entries) -> list[list[tuple[int, dict]]]:
    return [list(enumerate(entries[start:start + BATCH], start)) for start in range(0, len(entries), BATCH)]


def load_organisations(entries: Entries, ctx: LoadContext) -> None:
    """Save every organisation, then (all of them existing) their child lists."""
    ctx.pks(Source, "key", [key for _, key in _source_references(entries)])
    statuses: dict[int, str] = {}
    for batch in _batches(entries):
        statuses.update(_save_batch(batch, ctx))
    for batch in _batches(entries):
        for i in _link_batch(batch, statuses, ctx):
            if statuses[i] == "unchanged":
                statuses[i] = "updated"
    for i in range(len(entries)):
        ctx.report.count("organisations", statuses[i])


def _organisation_values(entry: dict, ctx: LoadContext) -> tuple[dict, list[str] | None, list[dict] | None]:
    """What save_organisation takes for an entry: fields, sector codes, alias rows."""
    values = {**ORG_DEFAULTS, **entry}
    fields = {name: values[name] for name in (*ORG_FIELDS, *ORG_TEXT_FIELDS)}
    fields["source_id"] = ctx.pk(Source, "key", values["source"])
    aliases = [_alias_values(item, ctx) for item in entry["aliases"]] if "aliases" in entry else None
    return fields, entry.get("sectors"), aliases


def _save_batch(batch: list[tuple[int, dict]], ctx: LoadContext) -> dict[int, str]:
    existing = Organisation.objects.in_bulk([entry["key"] for _, entry in batch], field_name="key")
    ids = {org.pk for org in existing.values()}
    sector_codes = _sector_codes(ids)
    aliases_of = group_rows(Alias.objects.all(), "organisation_id", ids)
    statuses = {}
    for i, entry in batch:
        fields, sectors, aliases = _organisation_values(entry, ctx)
        org = existing.get(entry["key"])
        if org is not None and _unchanged(org, fields, sectors, sector_codes[org.pk], aliases, aliases_of[org.pk]):
            statuses[i] = "unchanged"
        else:
            with ctx.writing(at("organisations", i)):
                # A world file imports records that exist elsewhere: a code failing only
                # its check character is kept, with the warning the check phase reported.
                org, statuses[i] = save_organisation(entry["key"], legacy_uscc=True, sectors=sectors,
                                                     aliases=aliases, **fields)
        ctx.remember(Organisation, "key", org.key, org.pk)
    return statuses


def _sector_codes(org_ids: set[int] | None) -> dict[int, set[str]]:
    through = Organisation.sectors.through.objects.all()
    if org_ids is not None:
        through = through.filter(organisation_id__in=org_ids)
    codes: dict[int, set[str]] = defaultdict(set)
    for org_id, code in through.values_list("organisation_id", "sector__code"):
        codes[org_id].add(code)
    return codes


def _unchanged(org: Organisation, fields: dict, sectors: list[str] | None, held_sectors: set[str],
               aliases: list[dict] | None, held_aliases: list[Alias]) -> bool:
    """Whether save_organisation would find nothing to change, judged from rows read
    in bulk: reloading an unchanged file of thousands of organisations then costs a
    few queries, not several per organisation. `sectors` and `aliases` are what the
    file says (None: not given), `held_…` what the database holds."""
    outcome = check_uscc(fields["uscc"], legacy=True)
    expected = {**fields, "uscc": outcome.code, "uscc_warning": outcome.warning}
    if any(getattr(org, name) != value for name, value in expected.items()):
        return False
    if sectors is not None and held_sectors != set(sectors):
        return False
    if aliases is not None:
        current = {alias.name: alias for alias in held_aliases}
        if current.keys() != {alias["name"] for alias in aliases}:
            return False
        if any(getattr(current[alias["name"]], name) != value for alias in aliases for name, value in alias.items()):
            return False
    return True


def _link_batch(batch: list[tuple[int, dict]], statuses: dict[int, str], ctx: LoadContext) -> list[int]:
    """Write the child lists of a batch; returns the indexes of entries whose rows changed."""
    present = [child for child in CHILD_LISTS if any(child.name in entry for _, entry in batch)]
    if not present:
        return []
    ctx.pks(Region, "code", {loc["region"] for _, e in batch for loc in e.get("locations", [])})
    ctx.pks(Organisation, "key", {loc.get("within") for _, e in batch for loc in e.get("locations", [])}
            | {own["owner"] for _, e in batch for own in e.get("owners", [])})
    new = [(i, entry) for i, entry in batch if statuses[i] == "created"]
    insert_child_lists(new, present, ctx)
    known = [(i, entry) for i, entry in batch if statuses[i] != "created"]
    org_ids = {ctx.pk(Organisation, "key", entry["key"]) for _, entry in known}
    held = {child.name: child.rows_by_organisation(org_ids) for child in present} if known else {}
    changed = []
    for i, entry in known:
        org_id = ctx.pk(Organisation, "key", entry["key"])
        touched = False
        for child in present:
            if child.name in entry:
                with ctx.writing(at("organisations", i, child.name)):
                    rows = held[child.name][org_id]
                    touched = sync_child_list(org_id, child, rows, entry[child.name], ctx) or touched
        if touched:
            changed.append(i)
    return changed


# --- dump ----------------------------------------------------------------------


def _selected_ids(ctx: DumpContext) -> set[int] | None:
    """None for a whole dump; else the organisations located (now or before) in the
    region's subtree or required by later sections, and every organisation these refer
    to (owners, the zones and parks they sit in), wherever it is."""
    if ctx.whole:
        return None
    ids = set(Location.objects.filter(region__path__startswith=ctx.region.path)
              .values_list("organisation_id", flat=True))
    ids |= set(Organisation.objects.filter(key__in=ctx.required("organisations")).values_list("pk", flat=True))
    frontier = set(ids)
    while frontier:
        referenced = set(Ownership.objects.filter(organisation_id__in=frontier).values_list("owner_id", flat=True))
        referenced |= set(Location.objects.filter(organisation_id__in=frontier, within__isnull=False)
                          .values_list("within_id", flat=True))
        frontier = referenced - ids
        ids |= frontier
    return ids


def _organisation_entry(org: Organisation, sectors: set[str], aliases: list[Alias],
                        children: dict[str, list[models.Model]]) -> dict:
    entry = {
        "key": org.key, **{name: getattr(org, name) for name in ORG_FIELDS},
        "sectors": sorted(sectors),
        "description_zh": org.description_zh, "description_en": org.description_en, "website": org.website,
        "synthetic": org.synthetic, "source": source_key(org),
        "aliases": sorted((without_defaults({"name": a.name, "kind": a.kind, "valid_to": write_date(a.valid_to),
                                             "source": source_key(a)}, ALIAS_DEFAULTS)
                           for a in aliases), key=lambda item: item["name"]),
        **{child.name: child.dump(children[child.name]) for child in CHILD_LISTS},
    }
    return without_defaults(entry, ORG_DEFAULTS)


def dump_organisations(ctx: DumpContext) -> Entries:
    """A fixed number of queries however many organisations: one per table."""
    ids = _selected_ids(ctx)
    organisations = Organisation.objects.select_related("source")
    if ids is not None:
        organisations = organisations.filter(pk__in=ids)
    sectors = _sector_codes(ids)
    aliases = group_rows(Alias.objects.select_related("source"), "organisation_id", ids)
    children = {child.name: child.rows_by_organisation(ids) for child in CHILD_LISTS}
    entries = [
        _organisation_entry(org, sectors[org.pk], aliases[org.pk],
                            {name: rows[org.pk] for name, rows in children.items()})
        for org in sorted(organisations, key=lambda org: org.key)
    ]
    ctx.require("regions", [loc["region"] for e in entries for loc in e.get("locations", [])])
    ctx.require("sectors", [code for e in entries for code in e.get("sectors", [])])
    ctx.require("sources", [key for _, key in _source_references(entries)])
    return entries


ORGANISATIONS = Section("organisations", ORGANISATION_SCHEMA, load=load_organisations, dump=dump_organisations,
                        check=check_organisations, after=("sources", "sectors", "regions"))

"""The `regions` section: the division tree, with its history.

A region's current parent is `parent`; earlier parents are `former_parents`, closed
RegionLink rows. The link to the current parent starts where the last former one
ends (or when the region starts) and ends when the region ends (`valid_to`,
exclusive). Regions load parents first, whatever order the file lists them in.
"""

import datetime as dt
from graphlib import CycleError, TopologicalSorter

from kechuang.registry.models import Region, RegionLevel, RegionLink, Source
from kechuang.registry.services import RegistryError, check_no_overlap, save_region, sync_children

from . import schema as s
from .context import DumpContext, LoadContext
from .errors import at
from .rows import FetchedRows, group_rows
from .sections import Entries, Section
from .sources import check_source_refs, source_key, source_reference
from .values import read_date, without_defaults, write_date

REGION_DEFAULTS = {"name_en": "", "parent": None, "valid_from": None, "valid_to": None, "successor": None,
                   "statistical_only": False, "source": None}

REGION_SCHEMA = s.listing(
    "Administrative divisions keyed by GB/T 2260 code (towns: 9- or 12-digit statistical codes).",
    s.entry("A region.", {
        "code": s.region_code("6 digits (GB/T 2260), or 9/12 digits for a town; a quoted string."),
        "level": s.choice("province, city, district or town.", RegionLevel),
        "name_zh": s.text("Chinese name (通州区). Names repeat across China: the code identifies.",
                          Region, "name_zh", required=True),
        "name_en": s.text("English name.", Region, "name_en"),
        "parent": s.nullable(s.region_code("Code of the current parent; null (or absent) only for a province.")),
        "valid_from": s.nullable(s.date("First day the code is in use; null: since before records.")),
        "valid_to": s.nullable(s.date("First day the code is no longer in use (exclusive); null: in use.")),
        "successor": s.nullable(s.region_code("For an abolished code, the region that took its place.")),
        "statistical_only": s.boolean("An NBS statistical code (a zone coded x7x), not a GB/T 2260 division."),
        "source": source_reference(),
        "former_parents": s.listing(
            "Earlier parents (closed links), authoritative when given. A changed `parent` without "
            "former_parents is recorded as a move today.",
            s.entry("A former parent.", {
                "parent": s.nullable(s.region_code("Code of the former parent.")),
                "valid_from": s.nullable(s.date("First day under that parent; null: since the start.")),
                "valid_to": s.date("First day no longer under that parent (exclusive)."),
            }, required=["parent", "valid_to"]),
        ),
    }, required=["code", "level", "name_zh"]),
)


def _references(entry: dict) -> list[str]:
    former = [link["parent"] for link in entry.get("former_parents", []) if link["parent"]]
    return [code for code in [entry.get("parent"), entry.get("successor"), *former] if code]


def dependency_order(entries: Entries) -> tuple[list[int], list[int]]:
    """Indexes of `entries` with every region after the regions of the file it refers to
    (parent, successor, former parents); and, if they refer to each other in a circle,
    the indexes in that circle (else an empty list)."""
    index: dict[str, int] = {}
    for i, entry in enumerate(entries):
        index.setdefault(entry["code"], i)
    graph = {i: {index[c] for c in _references(e) if c in index and index[c] != i} for i, e in enumerate(entries)}
    try:
        return list(TopologicalSorter(graph).static_order()), []
    except CycleError as exc:
        return [], list(dict.fromkeys(exc.args[1]))


def _former_links(entry: dict) -> list[dict] | None:
    if "former_parents" not in entry:
        return None
    return sorted(entry["former_parents"], key=lambda link: link.get("valid_from") or "")


# --- check ---------------------------------------------------------------------


def check_regions(entries: Entries, ctx: LoadContext) -> None:
    for i, entry in enumerate(entries):
        ctx.declare("regions", entry["code"], at("regions", i), entry)
    known = ctx.known("regions", Region, "code", [c for e in entries for c in _references(e)])
    check_source_refs(ctx, [(at("regions", i, "source"), e.get("source")) for i, e in enumerate(entries)])
    for i, entry in enumerate(entries):
        _check_region(ctx, at("regions", i), entry, known)
    _, circle = dependency_order(entries)
    if circle:
        codes = " → ".join(entries[i]["code"] for i in circle)
        ctx.problem(at("regions", circle[0]), f"regions refer to each other in a circle: {codes}")


def _check_region(ctx: LoadContext, path: str, entry: dict, known: set[str]) -> None:
    code = entry["code"]
    if entry.get("parent") is None and entry["level"] != RegionLevel.PROVINCE:
        ctx.problem(at(path, "parent"), f"only a province has no parent; give the code of the region {code} lies in")
    for field in ("parent", "successor"):
        ref = entry.get(field)
        if ref == code:
            ctx.problem(at(path, field), f"a region cannot be its own {field}")
        elif ref and ref not in known:
            ctx.problem(at(path, field), f"no region has the code {ref}, in this file or in the database")
    valid_from, valid_to = read_date(entry.get("valid_from")), read_date(entry.get("valid_to"))
    if valid_from and valid_to and valid_to <= valid_from:
        ctx.problem(at(path, "valid_to"), "must be after valid_from (valid_to is the first day it no longer holds)")
    former = _former_links(entry) or []
    for j, link in enumerate(entry.get("former_parents", [])):
        link_path = at(path, "former_parents", j)
        if link["parent"] and link["parent"] not in known:
            ctx.problem(at(link_path, "parent"),
                        f"no region has the code {link['parent']}, in this file or in the database")
        start, end = read_date(link.get("valid_from")), read_date(link["valid_to"])
        if start and end <= start:
            ctx.problem(at(link_path, "valid_to"), "must be after valid_from")
    if former:
        spans = [(read_date(link.get("valid_from")), read_date(link["valid_to"])) for link in former]
        try:
            check_no_overlap(spans, "former_parents")
        except RegistryError as exc:
            ctx.problem(at(path, "former_parents"), exc.reason)
        if valid_to and spans[-1][1] >= valid_to:
            ctx.problem(at(path, "former_parents"), f"the last former parent ends on {spans[-1][1]}, "
                                                    f"not before the region itself ends ({valid_to})")


# --- load ----------------------------------------------------------------------


class _Regions:
    """Region rows and their links by code, fetched in bulk. Emptied when a region
    moves, because the move rewrites the paths (and links) below it."""

    def __init__(self) -> None:
        self._rows: dict[str, Region] = {}
        self._links: dict[str, list[RegionLink]] = {}

    def fetch(self, codes: set[str]) -> None:
        missing = {code for code in codes if code not in self._rows}
        if not missing:
            return
        rows = Region.objects.in_bulk(list(missing), field_name="code")
        self._rows.update(rows)
        code_of = {region.pk: region.code for region in rows.values()}
        self._links.update((code, []) for code in rows)
        for link in RegionLink.objects.filter(region_id__in=code_of):
            self._links[code_of[link.region_id]].append(link)

    def get(self, code: str | None) -> Region | None:
        if code is None:
            return None
        self.fetch({code})
        return self._rows.get(code)

    def links(self, code: str) -> list[RegionLink]:
        self.fetch({code})
        return self._links[code]

    def forget(self, code: str) -> None:
        self._rows.pop(code, None)
        self._links.pop(code, None)

    def clear(self) -> None:
        self._rows.clear()
        self._links.clear()


def load_regions(entries: Entries, ctx: LoadContext) -> None:
    order, _ = dependency_order(entries)
    regions = _Regions()
    regions.fetch({e["code"] for e in entries} | {c for e in entries for c in _references(e)})
    sources = Source.objects.in_bulk([e["source"] for e in entries if e.get("source")], field_name="key")
    for i in order:
        with ctx.writing(at("regions", i)):
            region, status = _load_region(entries[i], regions, sources)
        ctx.remember(Region, "code", region.code, region.pk)
        ctx.report.count("regions", status)


def _load_region(entry: dict, regions: _Regions, sources: dict[str, Source]) -> tuple[Region, str]:
    values = {**REGION_DEFAULTS, **entry}
    code = entry["code"]
    former = _former_links(entry)
    before = regions.get(code)
    source = sources.get(values["source"]) if values["source"] else None
    parent, successor = regions.get(values["parent"]), regions.get(values["successor"])
    fields = dict(level=values["level"], name_zh=values["name_zh"], name_en=values["name_en"],
                  valid_from=read_date(values["valid_from"]), valid_to=read_date(values["valid_to"]),
                  statistical_only=values["statistical_only"])
    if before is not None and _same_region(before, fields, parent, successor, source):
        # Nothing for save_region to do: skip its lookups (a file of every division of
        # China reloads in seconds).
        region, status = before, "unchanged"
    else:
        region, status = save_region(
            code, parent=parent, successor=successor, source=source, **fields,
            # A move the file documents happens when the last former parent ends.
            moved_on=read_date(former[-1]["valid_to"]) if former else None,
        )
        if before is not None and before.parent_id != region.parent_id:
            regions.clear()
        regions.forget(code)
        if status == "created" and not former:
            return region, status  # save_region opened the one link the file describes
    if _sync_links(region, former, regions, source):
        status = "updated" if status == "unchanged" else status
        regions.forget(code)
    return region, status


def _same_region(region: Region, fields: dict, parent: Region | None, successor: Region | None,
                 source: Source | None) -> bool:
    expected = {**fields, "parent_id": parent.pk if parent else None,
                "successor_id": successor.pk if successor else None, "source_id": source.pk if source else None}
    return all(getattr(region, name) == value for name, value in expected.items())


def _current_link(links: list[RegionLink]) -> RegionLink | None:
    """The open link, or for an abolished region the latest one."""
    open_link = next((link for link in links if link.valid_to is None), None)
    if open_link is not None or not links:
        return open_link
    return max(links, key=lambda link: link.valid_from or dt.date.min)


def _sync_links(region: Region, former: list[dict] | None, regions: _Regions, source: Source | None) -> bool:
    """Make the region's links say what the file says; returns whether anything changed.

    save_region keeps the current link's parent and path; it does not end the link
    when the region ends, nor know when the current parent began. `former` None (the
    key is absent) leaves the closed links as they are.
    """
    links = regions.links(region.code)
    current = _current_link(links)
    wanted = {"parent_id": region.parent_id, "path": region.path, "valid_to": region.valid_to}
    if former is not None:
        wanted["valid_from"] = read_date(former[-1]["valid_to"]) if former else region.valid_from
    changed = False
    if current is None:
        current = RegionLink.objects.create(region=region, source=source,
                                            **{"valid_from": region.valid_from, **wanted})
        changed = True
    else:
        differing = [name for name, value in wanted.items() if getattr(current, name) != value]
        if differing:
            for name in differing:
                setattr(current, name, wanted[name])
            current.save(update_fields=[*differing, "updated_at"])
            changed = True
    if former is None:
        return changed
    specs = [{"parent_id": regions.get(link["parent"]).pk if link["parent"] else None,
              "valid_from": read_date(link.get("valid_from")), "valid_to": read_date(link["valid_to"])}
             for link in former]

    def build(spec: dict) -> RegionLink:
        return RegionLink(region=region, path=_path_then(spec["parent_id"], spec["valid_to"], region.code),
                          source=source, **spec)

    closed = [link for link in links if link.pk != current.pk]
    if not closed and not specs:
        return changed
    return sync_children(FetchedRows(RegionLink, closed), specs, ("parent_id", "valid_from"), build) or changed


def _path_then(parent_id: int | None, valid_to: dt.date, code: str) -> str:
    """The region's path under a former parent: the parent's path as it stood then."""
    if parent_id is None:
        return f"{code}/"
    last_day = valid_to - dt.timedelta(days=1)
    parent_path = (RegionLink.objects.on(last_day).filter(region_id=parent_id).values_list("path", flat=True).first()
                   or Region.objects.filter(pk=parent_id).values_list("path", flat=True).get())
    return f"{parent_path}{code}/"


# --- dump ----------------------------------------------------------------------


def _selected_regions(ctx: DumpContext) -> tuple[dict[int, Region], dict[int, list[RegionLink]]]:
    """All regions; or the subtree of ctx.region plus every region its entries need to
    load on their own: ancestors, successors, former parents, required codes. With the
    links of each, by region id."""
    regions = Region.objects.select_related("source")
    if ctx.whole:
        return {region.pk: region for region in regions}, group_rows(RegionLink.objects.all(), "region_id", None)
    selected = {r.pk: r for r in regions.filter(path__startswith=ctx.region.path)}
    selected.update({r.pk: r for r in regions.filter(code__in=ctx.required("regions"))})
    links = group_rows(RegionLink.objects.all(), "region_id", selected)
    while True:
        needed = set()
        for region in selected.values():
            needed.update([region.parent_id, region.successor_id, *(link.parent_id for link in links[region.pk])])
        needed -= selected.keys() | {None}
        if not needed:
            return selected, links
        selected.update({r.pk: r for r in regions.filter(pk__in=needed)})
        links.update(group_rows(RegionLink.objects.all(), "region_id", needed))


def _former_entry(link: RegionLink, code_of: dict[int, str]) -> dict:
    entry = {"parent": code_of.get(link.parent_id)}
    if link.valid_from is not None:
        entry["valid_from"] = write_date(link.valid_from)
    entry["valid_to"] = write_date(link.valid_to)
    return entry


def dump_regions(ctx: DumpContext) -> Entries:
    selected, links_of = _selected_regions(ctx)
    code_of = {pk: region.code for pk, region in selected.items()}
    entries = []
    for region in sorted(selected.values(), key=lambda r: r.path):
        links = links_of[region.pk]
        current = _current_link(links)
        former = sorted((link for link in links if link is not current),
                        key=lambda link: link.valid_from or dt.date.min)
        entries.append(without_defaults({
            "code": region.code, "level": region.level, "name_zh": region.name_zh, "name_en": region.name_en,
            "parent": code_of.get(region.parent_id), "valid_from": write_date(region.valid_from),
            "valid_to": write_date(region.valid_to), "successor": code_of.get(region.successor_id),
            "statistical_only": region.statistical_only, "source": source_key(region),
            "former_parents": [_former_entry(link, code_of) for link in former],
        }, REGION_DEFAULTS))
    ctx.require("sources", [e["source"] for e in entries if "source" in e])
    return entries


REGIONS = Section("regions", REGION_SCHEMA, load=load_regions, dump=dump_regions, check=check_regions,
                  after=("sources",))

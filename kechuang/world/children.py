"""The lists of facts kept about an organisation, each in its own table: locations,
owners, phases, milestones, capacities, contacts.

Each list is described once (`ChildList`): its schema, how an item of the file maps
to a row and back, its natural key, and the checks an item must pass. The
organisations section checks, loads and dumps them all the same way.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import DataError, IntegrityError, models, transaction

from kechuang import audit
from kechuang.registry.models import (
    Capacity,
    Contact,
    Location,
    Milestone,
    MilestoneKind,
    Organisation,
    Ownership,
    Phase,
    PhaseStatus,
    Region,
    Source,
)
from kechuang.registry.services import RegistryError, check_container, check_no_overlap, sync_children

from . import schema as s
from .context import LoadContext
from .errors import WorldError, at
from .rows import FetchedRows, group_rows
from .sources import source_key, source_reference
from .values import (
    partial_fields,
    read_date,
    read_decimal,
    read_partial,
    without_defaults,
    write_date,
    write_decimal,
    write_partial,
)


def organisation_key(description: str) -> dict:
    return s.key(description, Organisation, "key")


@dataclass(frozen=True)
class References:
    """What items may refer to: region codes, and organisation keys with their kinds,
    from the file or the database."""

    regions: set[str]
    kinds: dict[str, str]


@dataclass(frozen=True)
class ChildList:
    """One list of facts about an organisation, stored in its own table.

    `natural_key` (model attribute names) matches an item of the file to a row, and
    `file_key` computes the same key from the item. `open_field` names the end date
    whose None means "still holds": rows that end are written before rows that stay
    open, so that at no moment two are open at once.
    """

    name: str  # key in the entry, and related name on Organisation
    model: type[models.Model]
    parent_field: str
    natural_key: tuple[str, ...]
    file_key: Callable[[dict], tuple]
    defaults: dict[str, Any]
    schema: dict
    to_values: Callable[[dict, LoadContext], dict]
    to_item: Callable[[models.Model], dict]
    check_item: Callable[[LoadContext, str, dict, dict, References], None]
    dump_order: tuple[str, ...] = ()  # keys of the file item that dumps sort on
    related: tuple[str, ...] = ("source",)
    open_field: str | None = None

    def rows_by_organisation(self, org_ids: set[int] | None) -> dict[int, list[models.Model]]:
        return group_rows(self.model.objects.select_related(*self.related), f"{self.parent_field}_id", org_ids)

    def dump(self, rows: list[models.Model]) -> list[dict]:
        items = [without_defaults(self.to_item(row), self.defaults) for row in rows]
        # Sorted in Python, not by the database: collations and the place of nulls
        # differ between SQLite and PostgreSQL, and a dump must be the same on both.
        return sorted(items, key=lambda item: [(item.get(f) is not None, item.get(f) or "") for f in self.dump_order])


# --- checks shared by the lists ------------------------------------------------------


def _parse(ctx: LoadContext, path: str, reader: Callable, value: Any, **options) -> Any:
    """`reader(value)`, or None with a problem at `path` if the value cannot be read."""
    try:
        return reader(value, **options)
    except ValueError as exc:
        ctx.problem(path, str(exc))
        return None


def _check_period(ctx: LoadContext, path: str, start, end, start_name: str, end_name: str) -> None:
    if start is not None and end is not None and end <= start:
        ctx.problem(at(path, end_name), f"must be after {start_name} ({end_name} is the first day it no longer holds)")


def _unknown_organisation(key: str) -> str:
    return f"no organisation has the key {key!r}, in this file or in the database"


# --- locations ---------------------------------------------------------------------


def _start(item: dict):
    """The first day of a location's partial valid_from (None: since always)."""
    partial = read_partial(item.get("valid_from"))
    return partial.date if partial else None


def _location_values(item: dict, ctx: LoadContext) -> dict:
    return {
        "region_id": ctx.pk(Region, "code", item["region"]),
        "within_id": ctx.pk(Organisation, "key", item.get("within")),
        **partial_fields(item.get("valid_from"), "valid_from"),
        "valid_to": read_date(item.get("valid_to")),
        "address": item.get("address", ""),
        "source_id": ctx.pk(Source, "key", item.get("source")),
    }


def _location_item(row: Location) -> dict:
    return {"region": row.region.code, "within": row.within.key if row.within_id else None,
            "valid_from": write_partial(row.valid_from, row.valid_from_precision),
            "valid_to": write_date(row.valid_to), "address": row.address, "source": source_key(row)}


def _check_location(ctx: LoadContext, path: str, item: dict, entry: dict, refs: References) -> None:
    """The region exists; `within` is a zone or park, and not the organisation itself."""
    if item["region"] not in refs.regions:
        ctx.problem(at(path, "region"), f"no region has the code {item['region']}, in this file or in the database")
    within = item.get("within")
    if within == entry["key"]:
        ctx.problem(at(path, "within"), "an organisation cannot be located inside itself")
    elif within and within not in refs.kinds:
        ctx.problem(at(path, "within"), _unknown_organisation(within))
    elif within:
        try:
            check_container(Organisation(key=within, kind=refs.kinds[within]))
        except RegistryError as exc:
            ctx.problem(at(path, "within"), exc.reason)
    start = _parse(ctx, at(path, "valid_from"), read_partial, item.get("valid_from"))
    _check_period(ctx, path, start.date if start else None, read_date(item.get("valid_to")), "valid_from", "valid_to")


LOCATIONS = ChildList(
    name="locations", model=Location, parent_field="organisation", natural_key=("valid_from",),
    file_key=lambda item: (_start(item),), dump_order=("valid_from",),
    defaults={"within": None, "valid_from": None, "valid_to": None, "address": "", "source": None},
    schema=s.listing("Where the organisation is or was, effective-dated; periods must not overlap.", s.entry(
        "A location.", {
            "region": s.region_code("Code of the region (in the file or the database)."),
            "within": s.nullable(organisation_key("Key of the zone or park it sits in.")),
            "valid_from": s.nullable(s.partial_date("Since when: YYYY, YYYY-MM or YYYY-MM-DD; null: always.")),
            "valid_to": s.nullable(s.date("First day it is no longer there (exclusive); null: still there.")),
            "address": s.text("Street address.", Location, "address"),
            "source": source_reference(),
        }, required=["region"])),
    to_values=_location_values, to_item=_location_item, check_item=_check_location,
    related=("region", "within", "source"), open_field="valid_to",
)


# --- owners ------------------------------------------------------------------------


def _owner_values(item: dict, ctx: LoadContext) -> dict:
    return {
        "owner_id": ctx.pk(Organisation, "key", item["owner"]),
        "share_percent": read_decimal(item["share_percent"], max_digits=7, decimal_places=4),
        "since": read_date(item.get("since")), "until": read_date(item.get("until")),
        "note": item.get("note", ""), "source_id": ctx.pk(Source, "key", item.get("source")),
    }


def _owner_item(row: Ownership) -> dict:
    return {"owner": row.owner.key, "share_percent": write_decimal(row.share_percent),
            "since": write_date(row.since), "until": write_date(row.until), "note": row.note,
            "source": source_key(row)}


def _check_owner(ctx: LoadContext, path: str, item: dict, entry: dict, refs: References) -> None:
    owner = item["owner"]
    if owner == entry["key"]:
        ctx.problem(at(path, "owner"), "an organisation cannot own itself")
    elif owner not in refs.kinds:
        ctx.problem(at(path, "owner"), _unknown_organisation(owner))
    share = _parse(ctx, at(path, "share_percent"), read_decimal, item["share_percent"], max_digits=7,
                   decimal_places=4)
    # The schema bounds numbers only; a share written as a string is bounded here.
    if share is not None and not 0 < share <= 100:
        ctx.problem(at(path, "share_percent"), f"a share is more than 0 and at most 100 percent, not {share}")
    _check_period(ctx, path, read_date(item.get("since")), read_date(item.get("until")), "since", "until")


OWNERS = ChildList(
    name="owners", model=Ownership, parent_field="organisation", natural_key=("owner_id", "since"),
    file_key=lambda item: (item["owner"], read_date(item.get("since"))), dump_order=("owner", "since"),
    defaults={"since": None, "until": None, "note": "", "source": None},
    schema=s.listing("Who owns the organisation, and how much.", s.entry(
        "A shareholding.", {
            "owner": organisation_key("Key of the owning organisation (it may lie outside every region)."),
            "share_percent": s.decimal("Share in percent, more than 0 and at most 100.",
                                       exclusiveMinimum=0, maximum=100),
            "since": s.nullable(s.date("First day of the holding; null: unknown or always.")),
            "until": s.nullable(s.date("First day it no longer holds (exclusive); null: still holds.")),
            "note": s.text("Anything to know about the holding."),
            "source": source_reference(),
        }, required=["owner", "share_percent"])),
    to_values=_owner_values, to_item=_owner_item, check_item=_check_owner,
    related=("owner", "source"), open_field="until",
)


# --- phases ------------------------------------------------------------------------


def _phase_values(item: dict, ctx: LoadContext) -> dict:
    return {
        "number": item["number"], "name_zh": item.get("name_zh", ""), "name_en": item.get("name_en", ""),
        "status": item["status"],
        **partial_fields(item.get("construction_start"), "construction_start"),
        **partial_fields(item.get("operation_start"), "operation_start"),
        "note": item.get("note", ""), "source_id": ctx.pk(Source, "key", item.get("source")),
    }


def _phase_item(row: Phase) -> dict:
    return {"number": row.number, "name_zh": row.name_zh, "name_en": row.name_en, "status": row.status,
            "construction_start": write_partial(row.construction_start, row.construction_start_precision),
            "operation_start": write_partial(row.operation_start, row.operation_start_precision),
            "note": row.note, "source": source_key(row)}


def _check_phase(ctx: LoadContext, path: str, item: dict, entry: dict, refs: References) -> None:
    for name in ("construction_start", "operation_start"):
        _parse(ctx, at(path, name), read_partial, item.get(name))


PHASES = ChildList(
    name="phases", model=Phase, parent_field="park", natural_key=("number",),
    file_key=lambda item: (item["number"],), dump_order=("number",),
    defaults={"name_zh": "", "name_en": "", "construction_start": None, "operation_start": None,
              "note": "", "source": None},
    schema=s.listing("Numbered development phases (期); zones and parks only.", s.entry(
        "A phase.", {
            "number": s.integer("1 for the first phase.", minimum=1, maximum=32767),
            "name_zh": s.text("Chinese name.", Phase, "name_zh"),
            "name_en": s.text("English name.", Phase, "name_en"),
            "status": s.choice("planned, construction, operating or closed.", PhaseStatus),
            "construction_start": s.nullable(s.partial_date("When construction started: YYYY, YYYY-MM or "
                                                            "YYYY-MM-DD.")),
            "operation_start": s.nullable(s.partial_date(
                "When operation started or is planned to start (status says which).")),
            "note": s.text("Anything to know about the phase."),
            "source": source_reference(),
        }, required=["number", "status"])),
    to_values=_phase_values, to_item=_phase_item, check_item=_check_phase,
)


# --- milestones ----------------------------------------------------------------------


def _milestone_values(item: dict, ctx: LoadContext) -> dict:
    return {"kind": item["kind"], **partial_fields(item["date"], "date"), "text_zh": item.get("text_zh", ""),
            "text_en": item.get("text_en", ""), "source_id": ctx.pk(Source, "key", item.get("source"))}


def _milestone_item(row: Milestone) -> dict:
    return {"date": write_partial(row.date, row.date_precision), "kind": row.kind, "text_zh": row.text_zh,
            "text_en": row.text_en, "source": source_key(row)}


def _check_milestone(ctx: LoadContext, path: str, item: dict, entry: dict, refs: References) -> None:
    _parse(ctx, at(path, "date"), read_partial, item["date"])


MILESTONES = ChildList(
    name="milestones", model=Milestone, parent_field="organisation", natural_key=("kind", "date"),
    file_key=lambda item: (item["kind"], read_partial(item["date"]).date), dump_order=("date", "kind"),
    defaults={"text_zh": "", "text_en": "", "source": None},
    schema=s.listing("Dated events: founded, arrived, first trial production …", s.entry(
        "A milestone.", {
            "date": s.partial_date("When: YYYY, YYYY-MM or YYYY-MM-DD."),
            "kind": s.choice("What kind of event.", MilestoneKind),
            "text_zh": s.text("What happened, in Chinese."),
            "text_en": s.text("What happened, in English."),
            "source": source_reference(),
        }, required=["date", "kind"])),
    to_values=_milestone_values, to_item=_milestone_item, check_item=_check_milestone,
)


# --- capacities ----------------------------------------------------------------------


def _capacity_values(item: dict, ctx: LoadContext) -> dict:
    return {"product_zh": item.get("product_zh", ""), "product_en": item["product_en"],
            "quantity": read_decimal(item["quantity"], max_digits=20, decimal_places=4),
            "unit": item["unit"], "per": item.get("per", "year"), "as_of": read_date(item["as_of"]),
            "source_id": ctx.pk(Source, "key", item.get("source"))}


def _capacity_item(row: Capacity) -> dict:
    return {"product_zh": row.product_zh, "product_en": row.product_en, "quantity": write_decimal(row.quantity),
            "unit": row.unit, "per": row.per, "as_of": write_date(row.as_of), "source": source_key(row)}


def _check_capacity(ctx: LoadContext, path: str, item: dict, entry: dict, refs: References) -> None:
    quantity = _parse(ctx, at(path, "quantity"), read_decimal, item["quantity"], max_digits=20, decimal_places=4)
    if quantity is not None and quantity < 0:
        ctx.problem(at(path, "quantity"), f"a capacity cannot be negative ({quantity})")


CAPACITIES = ChildList(
    name="capacities", model=Capacity, parent_field="organisation", natural_key=("product_en", "as_of"),
    file_key=lambda item: (item["product_en"], read_date(item["as_of"])), dump_order=("product_en", "as_of"),
    defaults={"product_zh": "", "per": "year", "source": None},
    schema=s.listing("Production capacity per product, as stated on a date.", s.entry(
        "A capacity.", {
            "product_zh": s.text("Product, in Chinese.", Capacity, "product_zh"),
            "product_en": s.text("Product, in English.", Capacity, "product_en", required=True),
            "quantity": s.decimal("How many per `per`; 0 or more.", minimum=0),
            "unit": s.text("units, t, sets, wafers …", Capacity, "unit", required=True),
            "per": s.choice("year (default), month or day.", ["year", "month", "day"]),
            "as_of": s.date("The date the capacity was stated for."),
            "source": source_reference(),
        }, required=["product_en", "quantity", "unit", "as_of"])),
    to_values=_capacity_values, to_item=_capacity_item, check_item=_check_capacity,
)


# --- contacts ------------------------------------------------------------------------

_CONTACT_TEXTS = ("name_zh", "name_en", "role_zh", "role_en", "email", "phone")


def _contact_values(item: dict, ctx: LoadContext) -> dict:
    return {**{name: item.get(name, "") for name in _CONTACT_TEXTS},
            "valid_from": read_date(item.get("valid_from")), "valid_to": read_date(item.get("valid_to")),
            "source_id": ctx.pk(Source, "key", item.get("source"))}


def _contact_item(row: Contact) -> dict:
    return {**{name: getattr(row, name) for name in _CONTACT_TEXTS}, "valid_from": write_date(row.valid_from),
            "valid_to": write_date(row.valid_to), "source": source_key(row)}


def _check_contact(ctx: LoadContext, path: str, item: dict, entry: dict, refs: References) -> None:
    if not (item.get("name_zh") or item.get("name_en")):
        ctx.problem(path, "a contact needs a Chinese or an English name")
    if item.get("email"):
        try:
            EmailValidator()(item["email"])
        except ValidationError:
            ctx.problem(at(path, "email"), f"{item['email']!r} is not an e-mail address")
    _check_period(ctx, path, read_date(item.get("valid_from")), read_date(item.get("valid_to")),
                  "valid_from", "valid_to")


CONTACTS = ChildList(
    name="contacts", model=Contact, parent_field="organisation", natural_key=("name_en", "name_zh", "role_en"),
    file_key=lambda item: (item.get("name_en", ""), item.get("name_zh", ""), item.get("role_en", "")),
    dump_order=("name_en", "name_zh", "role_en"),
    defaults={**{name: "" for name in _CONTACT_TEXTS}, "valid_from": None, "valid_to": None, "source": None},
    schema=s.listing("People with a role at the organisation.", s.entry(
        "A contact; needs a Chinese or an English name.", {
            "name_zh": s.text("Name in Chinese.", Contact, "name_zh"),
            "name_en": s.text("Name in English (pinyin).", Contact, "name_en"),
            "role_zh": s.text("Role in Chinese.", Contact, "role_zh"),
            "role_en": s.text("Role in English.", Contact, "role_en"),
            "email": s.text("E-mail address.", Contact, "email"),
            "phone": s.text("Telephone.", Contact, "phone"),
            "valid_from": s.nullable(s.date("First day in the role.")),
            "valid_to": s.nullable(s.date("First day no longer in the role (exclusive).")),
            "source": source_reference(),
        })),
    to_values=_contact_values, to_item=_contact_item, check_item=_check_contact,
)

#: In the order they are written and dumped.
CHILD_LISTS = (LOCATIONS, OWNERS, PHASES, MILESTONES, CAPACITIES, CONTACTS)


# --- checking a list ------------------------------------------------------------------


def check_child_list(ctx: LoadContext, path: str, entry: dict, child: ChildList, refs: References) -> None:
    """Every item of the list passes its checks; natural keys are unique; periods apart."""
    items = entry.get(child.name, [])
    for j, item in enumerate(items):
        child.check_item(ctx, at(path, child.name, j), item, entry, refs)
    try:
        check_unique(ctx, path, child.name, items, child.file_key)
        _check_periods_apart(ctx, at(path, child.name), child, items)
    except ValueError:
        pass  # a date or number that cannot be read is reported above; nothing to compare


def check_unique(ctx: LoadContext, path: str, name: str, items: list[dict], file_key: Callable) -> None:
    seen: dict[tuple, int] = {}
    for j, item in enumerate(items):
        natural = file_key(item)
        if natural in seen:
            ctx.problem(at(path, name, j), f"repeats {name}[{seen[natural]}] (same {', '.join(map(str, natural))})")
        seen.setdefault(natural, j)


def _check_periods_apart(ctx: LoadContext, path: str, child: ChildList, items: list[dict]) -> None:
    """A firm is in one place at a time; an owner holds one stake in it at a time, and
    the open stakes add up to at most 100 percent (the rules of services.save_ownership)."""
    if child is LOCATIONS:
        groups = {None: [(_start(item), read_date(item.get("valid_to"))) for item in items]}
    elif child is OWNERS:
        groups = defaultdict(list)
        for item in items:
            groups[item["owner"]].append((read_date(item.get("since")), read_date(item.get("until"))))
    else:
        return
    for spans in groups.values():
        try:
            check_no_overlap(spans, child.name)
        except RegistryError as exc:
            ctx.problem(path, exc.reason)
    if child is OWNERS:
        held = sum(read_decimal(item["share_percent"], max_digits=7, decimal_places=4)
                   for item in items if item.get("until") is None)
        if held > 100:
            ctx.problem(path, f"the open shares add up to {held} percent; at most 100")


# --- writing a list ------------------------------------------------------------------


def sync_child_list(org_id: int, child: ChildList, rows: list[models.Model], items: list[dict],
                    ctx: LoadContext) -> bool:
    """Make an organisation's rows of `child` (read in bulk) match `items`; returns
    whether anything changed.

    sync_children deletes the rows the file no longer lists first; rows that end are
    written before open-ended ones, so that a move never puts two open rows (a partial
    unique constraint) in the table at once.
    """
    values = [child.to_values(item, ctx) for item in items]
    if child.open_field:
        values.sort(key=lambda row: row[child.open_field] is None)

    def build(spec: dict) -> models.Model:
        return child.model(**{f"{child.parent_field}_id": org_id}, **spec)

    return sync_children(FetchedRows(child.model, rows), values, child.natural_key, build)


def insert_child_lists(new: list[tuple[int, dict]], children: list[ChildList], ctx: LoadContext) -> None:
    """The child rows of organisations this load created, one INSERT per table and batch.

    There is nothing to match them against, and the check phase has resolved every
    reference they hold; sync_children would validate each new row with a query per
    foreign key, which for a district's 3,000 firms is most of the load's time. The
    database constraints still guard every row, and each gets its history record.
    """
    for child in children:
        rows = {i: [child.model(**{f"{child.parent_field}_id": ctx.pk(Organisation, "key", entry["key"])},
                                **child.to_values(item, ctx))
                    for item in entry.get(child.name, [])]
                for i, entry in new}
        if not any(rows.values()):
            continue
        try:
            with transaction.atomic():
                audit.bulk_create(child.model, [row for entry_rows in rows.values() for row in entry_rows])
        except (IntegrityError, DataError):
            _name_refused_entry(child, rows, ctx)


def _name_refused_entry(child: ChildList, rows: dict[int, list[models.Model]], ctx: LoadContext) -> None:
    """The database refused a batch insert: insert entry by entry to name the entry at fault."""
    for i, entry_rows in rows.items():
        with ctx.writing(at("organisations", i, child.name)), transaction.atomic():
            audit.bulk_create(child.model, entry_rows)
    raise WorldError([("organisations", f"the database refused the {child.name} of these organisations together")])

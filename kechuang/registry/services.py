"""Registry use cases: the only code that writes registry rows.

Each function checks the rule it is responsible for and raises `RegistryError`
(a Django ValidationError naming the field) when the input breaks it. Callers that
write several rows wrap them in one transaction (the world loader, the API).

Every row written is recorded in its table's history (docs/audit.md): single rows by
their save and delete; rows written in bulk through `audit.bulk_create` and
`audit.bulk_update`, never the queryset's own bulk methods or `.update()`.
"""

import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model

from kechuang import audit

from . import uscc as uscc_rules
from .models import (
    CONTAINER_KINDS,
    Alias,
    Capacity,
    Contact,
    Location,
    Milestone,
    Organisation,
    OrganisationKind,
    Ownership,
    Phase,
    Region,
    RegionLink,
    Sector,
    Source,
)
from .search import organisation_search_text


class RegistryError(ValidationError):
    """A rule of the registry was broken; `field` names what was wrong."""

    def __init__(self, field: str, message: str):
        super().__init__({field: [message]})
        self.field = field
        self.reason = message


class AmbiguousRegion(RegistryError):
    pass


# --- regions ---------------------------------------------------------------------


def region_path(parent: Region | None, code: str) -> str:
    return f"{parent.path if parent else ''}{code}/"


@transaction.atomic
def save_region(code: str, *, level: str, name_zh: str, name_en: str = "", parent: Region | None = None,
                valid_from: dt.date | None = None, valid_to: dt.date | None = None,
                statistical_only: bool = False, successor: Region | None = None, source=None,
                moved_on: dt.date | None = None) -> tuple[Region, str]:
    """Create or update a region. A new parent is a move: the old link closes on
    `moved_on` (default: today) and a new one opens, for the region and its subtree."""
    if not code.isdigit() or len(code) not in (6, 9, 12):
        raise RegistryError("code", f"{code!r} is not a division code: 6 digits (GB/T 2260) or 9/12 for towns")
    if parent is not None and parent.code == code:
        raise RegistryError("parent", "a region cannot be its own parent")
    fields = dict(level=level, name_zh=name_zh, name_en=name_en, valid_from=valid_from, valid_to=valid_to,
                  statistical_only=statistical_only, successor=successor, source=source)
    region = Region.objects.filter(code=code).first()
    if region is None:
        region = Region.objects.create(code=code, parent=parent, path=region_path(parent, code), **fields)
        RegionLink.objects.create(region=region, parent=parent, path=region.path, valid_from=valid_from,
                                  valid_to=valid_to, source=source)
        return region, "created"
    changed = _assign(region, fields)
    if region.parent_id != (parent.pk if parent else None):
        if parent is not None and parent.path.startswith(region.path):
            raise RegistryError("parent", f"{parent.code} lies inside {code}: a region cannot move below itself")
        _move_subtree(region, parent, moved_on or dt.date.today())
        changed = True
    if changed:
        region.save()
        source_id = source.pk if source else None
        relinked = [link for link in RegionLink.objects.filter(region=region, valid_to__isnull=True)
                    if link.source_id != source_id]
        for link in relinked:
            link.source = source
        audit.bulk_update(RegionLink, relinked, ["source"])
        return region, "updated"
    return region, "unchanged"


def _move_subtree(region: Region, parent: Region | None, on: dt.date) -> None:
    old_prefix = region.path
    new_prefix = region_path(parent, region.code)
    region.parent = parent
    region.path = new_prefix
    moved = list(Region.objects.filter(path__startswith=old_prefix).exclude(pk=region.pk))
    for child in moved:
        child.path = new_prefix + child.path[len(old_prefix):]
    audit.bulk_update(Region, moved, ["path"])
    open_links = list(RegionLink.objects.filter(valid_to__isnull=True, region__in=[region, *moved]))
    previous = {link.region_id: link for link in open_links}
    for link in open_links:
        link.valid_to = on
    audit.bulk_update(RegionLink, open_links, ["valid_to"])
    # Only regions that were open get a new link: an abolished code below the moved
    # region (320683 under Nantong) stays where it was when it ended.
    audit.bulk_create(RegionLink, [
        RegionLink(region=r, parent=(parent if r.pk == region.pk else r.parent), path=(new_prefix if r.pk == region.pk else r.path),
                   valid_from=on, source=previous[r.pk].source)
        for r in [region, *moved] if r.pk in previous
    ])


def find_region(name_or_code: str, within: str | None = None, on: dt.date | None = None) -> Region:
    """A region by code, or by name scoped to an ancestor (code or name).

    A bare name that matches more than one region is an error listing all of them:
    通州区 is both 320612 (Nantong) and 110112 (Beijing).
    """
    text = (name_or_code or "").strip()
    if text.isdigit():
        region = Region.objects.filter(code=text).first()
        if region is None:
            raise RegistryError("region", f"no region has the code {text}")
        return region
    matches = Region.objects.filter(name_zh=text) | Region.objects.filter(name_en__iexact=text)
    if within:
        scope = find_region(within)
        matches = matches.filter(path__startswith=scope.path)
    if on:
        matches = matches.valid_on(on)
    found = list(matches.distinct())
    if not found:
        where = f" within {within}" if within else ""
        raise RegistryError("region", f"no region is named {text!r}{where}")
    if len(found) > 1:
        listing = "; ".join(f"{r.code} {r.qualified_name}" for r in found)
        raise AmbiguousRegion("region", f"{text!r} names {len(found)} regions: {listing}. Give a code or the city/province it lies in")
    return found[0]


# --- organisations ---------------------------------------------------------------


@dataclass(frozen=True)
class USCCOutcome:
    code: str | None
    warning: str = ""


def check_uscc(value: str | None, *, legacy: bool = False) -> USCCOutcome:
    """A new entry must carry a valid code; a record imported from an existing register
    (`legacy`) keeps a code whose only fault is a check character, with a warning."""
    if not value:
        return USCCOutcome(None)
    result = uscc_rules.check(value)
    if result.valid:
        return USCCOutcome(result.code)
    if legacy and result.checksum_only:
        return USCCOutcome(result.code, f"imported with a failing check: {result.error}")
    raise RegistryError("uscc", f"{value!r} is not a valid Unified Social Credit Code: {result.error}")


def _assign(instance: Model, fields: dict[str, Any]) -> bool:
    changed = False
    for name, value in fields.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    return changed


@transaction.atomic
def save_organisation(key: str, *, legacy_uscc: bool = False, sectors: Iterable[str] | None = None,
                      aliases: Iterable[dict] | None = None, **fields) -> tuple[Organisation, str]:
    """Create or update an organisation by its stable key.

    `sectors` (codes) and `aliases` ({name, kind, valid_to}) replace the current sets
    when given. Returns the organisation and "created", "updated" or "unchanged".
    """
    if "kind" in fields and fields["kind"] not in OrganisationKind.values:
        raise RegistryError("kind", f"{fields['kind']!r} is not one of {', '.join(OrganisationKind.values)}")
    if "uscc" in fields:
        outcome = check_uscc(fields["uscc"], legacy=legacy_uscc)
        fields["uscc"], fields["uscc_warning"] = outcome.code, outcome.warning
        clash = Organisation.objects.filter(uscc=outcome.code).exclude(key=key).first() if outcome.code else None
        if clash:
            raise RegistryError("uscc", f"{outcome.code} already belongs to {clash.key} ({clash})")
    org = Organisation.objects.filter(key=key).first()
    status = "unchanged"
    if org is None:
        org = Organisation(key=key)
        status = "created"
    if _assign(org, fields) and status != "created":
        status = "updated"
    if not (org.name_zh or org.name_en):
        raise RegistryError("name_zh", "an organisation needs a Chinese or an English name")
    own_change = status != "unchanged"
    # One history record for the row and its sectors together, not one per statement.
    with audit.unrecorded(org):
        if own_change:
            org.save()
        if sectors is not None:
            wanted = set(sectors)
            known = {s.code: s for s in Sector.objects.filter(code__in=wanted)}
            missing = wanted - known.keys()
            if missing:
                raise RegistryError("sectors", f"unknown sector code(s): {', '.join(sorted(missing))}")
            if set(org.sectors.values_list("code", flat=True)) != wanted:
                org.sectors.set(known.values())
                status = "updated" if status == "unchanged" else status
                own_change = True
    if own_change:
        audit.record(org, "+" if status == "created" else "~")
    if aliases is not None:
        if sync_children(org.aliases.all(), list(aliases), ("name",), lambda spec: Alias(organisation=org, **spec)):
            status = "updated" if status == "unchanged" else status
    search_text = organisation_search_text(org)
    if org.search_text != search_text:
        # Not a recorded change: search_text is derived from the names and aliases,
        # which are recorded, and left out of the history (models.Organisation).
        Organisation.objects.filter(pk=org.pk).update(search_text=search_text)
        org.search_text = search_text
    return org, status


def check_container(within: Organisation | None) -> None:
    if within is not None and within.kind not in CONTAINER_KINDS:
        raise RegistryError("within", f"{within.key} is a {within.kind}; only a zone or park can contain organisations")


@transaction.atomic
def move_organisation(org: Organisation, region: Region, *, within: Organisation | None = None,
                      since: dt.date | None = None, since_precision: str = "day", address: str = "",
                      source=None) -> Location:
    """Record that an organisation is now in `region` (and inside `within`) from `since`.
    The previous open location, if any, ends on that date."""
    check_container(within)
    if within is not None and within.pk == org.pk:
        raise RegistryError("within", "an organisation cannot be located inside itself")
    since = since or dt.date.today()
    current = org.locations.filter(valid_to__isnull=True).first()
    if current is not None:
        if current.valid_from and current.valid_from >= since:
            raise RegistryError("since", f"the current location starts on {current.valid_from}; a move must come after it")
        current.valid_to = since
        current.save(update_fields=["valid_to", "updated_at"])
    return Location.objects.create(organisation=org, region=region, within=within, valid_from=since,
                                   valid_from_precision=since_precision, address=address, source=source)


def check_no_overlap(spans: list[tuple[dt.date | None, dt.date | None]], field: str) -> None:
    """Effective-dated links of one thing must not overlap (valid_to is exclusive)."""
    ordered = sorted(spans, key=lambda s: s[0] or dt.date.min)
    for (start_a, end_a), (start_b, _) in itertools.pairwise(ordered):
        if end_a is None or start_b is None or end_a > start_b:
            raise RegistryError(field, f"periods overlap: one from {start_a or 'the start'} to {end_a or 'now'}, "
                                       f"another from {start_b or 'the start'}")


# --- child rows -----------------------------------------------------------------


def sync_children(queryset, specs: list[dict], key_fields: tuple[str, ...], build) -> bool:
    """Make the rows of `queryset` match `specs`, matched on `key_fields`.

    Rows whose key is not in `specs` are deleted, matching rows are updated when a
    field differs, new keys are created with `build(spec)`. Returns whether anything
    changed, so a second identical load writes nothing.
    """
    existing = {tuple(getattr(row, f) for f in key_fields): row for row in queryset}
    wanted = {tuple(spec[f] for f in key_fields) for spec in specs}
    # Stale rows go first, so that a reshuffled history never meets its old self
    # (two open locations, say) halfway through. Rules across rows (overlaps) are the
    # caller's to check on the whole set; here each row's fields are checked.
    stale = [row.pk for key, row in existing.items() if key not in wanted]
    if stale:
        # A queryset delete still sends a post_delete per row while the model has a
        # history, so each stale row's deletion is recorded.
        queryset.model.objects.filter(pk__in=stale).delete()
    changed = bool(stale)
    for spec in specs:
        row = existing.get(tuple(spec[f] for f in key_fields))
        if row is None:
            row = build(spec)
        elif not _assign(row, spec):
            continue
        row.clean_fields()
        row.save()
        changed = True
    return changed


# --- single-row writes used by the API
#
# Each function creates a row (`row=None`) or changes the given one, checks the rule
# it names with a field-level RegistryError, then lets `full_clean()` check every field
# and database constraint, so a client's mistake is a 400 and never an IntegrityError.


def _save_row(row: Model, fields: dict[str, Any]) -> tuple[Model, str]:
    created = row.pk is None
    if created:
        # Not `_assign`: reading an unset foreign key of a new row raises.
        for name, value in fields.items():
            setattr(row, name, value)
    elif not _assign(row, fields):
        return row, "unchanged"
    row.full_clean()
    row.save()
    return row, "created" if created else "updated"


def _value(row: Model, fields: dict[str, Any], name: str):
    """The value `name` will have after the write: the new one if given, else the row's."""
    if name in fields:
        return fields[name]
    field = row._meta.get_field(name)
    if field.is_relation and getattr(row, field.attname) is None:
        return None
    return getattr(row, name)


@transaction.atomic
def save_source(key: str, **fields) -> tuple[Source, str]:
    """Create or update a source (出处) by its stable key."""
    source = Source.objects.filter(key=key).first() or Source(key=key)
    return _save_row(source, fields)


@transaction.atomic
def save_sector(code: str, **fields) -> tuple[Sector, str]:
    """Create or update a sector tag by its code."""
    sector = Sector.objects.filter(code=code).first() or Sector(code=code)
    return _save_row(sector, fields)


@transaction.atomic
def save_phase(row: Phase | None = None, **fields) -> tuple[Phase, str]:
    """Record a numbered phase (期) of a park or zone. Only a zone or park has phases;
    phases are numbered from 1."""
    row = row or Phase()
    park = _value(row, fields, "park")
    if park is not None and park.kind not in CONTAINER_KINDS:
        raise RegistryError("park", f"{park.key} is of kind {park.kind}; only a zone or park has phases")
    number = _value(row, fields, "number")
    if number is not None and number < 1:
        raise RegistryError("number", "phases are numbered from 1")
    return _save_row(row, fields)


@transaction.atomic
def save_ownership(row: Ownership | None = None, **fields) -> tuple[Ownership, str]:
    """Record an owner's share in an organisation.

    A share is more than 0 and at most 100 percent; nobody owns themselves; an owner
    holds one open share at a time; the open shares of one organisation add up to at
    most 100 percent.
    """
    row = row or Ownership()
    organisation, owner = _value(row, fields, "organisation"), _value(row, fields, "owner")
    share = _value(row, fields, "share_percent")
    since, until = _value(row, fields, "since"), _value(row, fields, "until")
    if share is not None and not (0 < share <= 100):
        raise RegistryError("share_percent", f"a share is more than 0 and at most 100 percent, not {share}")
    if since is not None and until is not None and until <= since:
        raise RegistryError("until", f"a share ends after it starts ({since})")
    if organisation is not None and owner is not None:
        if organisation.pk == owner.pk:
            raise RegistryError("owner", "an organisation cannot own itself")
        if until is None:
            others = Ownership.objects.filter(organisation=organisation, until__isnull=True).exclude(pk=row.pk)
            if others.filter(owner=owner).exists():
                raise RegistryError("owner", f"{owner.key} already holds an open share in {organisation.key}; "
                                             "end that one (until) or change it instead")
            held = sum(others.values_list("share_percent", flat=True)) + (share or 0)
            if held > 100:
                raise RegistryError("share_percent", f"the open shares in {organisation.key} would add up to "
                                                     f"{held} percent; at most 100")
    return _save_row(row, fields)


@transaction.atomic
def save_milestone(row: Milestone | None = None, **fields) -> tuple[Milestone, str]:
    """Record a dated event in an organisation's life (founded, first trial production …)."""
    return _save_row(row or Milestone(), fields)


@transaction.atomic
def save_capacity(row: Capacity | None = None, **fields) -> tuple[Capacity, str]:
    """Record a production capacity as stated on a date. A capacity is never negative."""
    row = row or Capacity()
    quantity = _value(row, fields, "quantity")
    if quantity is not None and quantity < 0:
        raise RegistryError("quantity", f"a capacity cannot be negative ({quantity})")
    return _save_row(row, fields)


@transaction.atomic
def save_contact(row: Contact | None = None, **fields) -> tuple[Contact, str]:
    """Record a person with a role at an organisation; a contact needs a Chinese or an English name."""
    row = row or Contact()
    if not (_value(row, fields, "name_zh") or _value(row, fields, "name_en")):
        raise RegistryError("name_zh", "a contact needs a Chinese or an English name")
    valid_from, valid_to = _value(row, fields, "valid_from"), _value(row, fields, "valid_to")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise RegistryError("valid_to", f"the role ends after it starts ({valid_from})")
    return _save_row(row, fields)


@transaction.atomic
def correct_location(row: Location, **fields) -> tuple[Location, str]:
    """Correct a recorded location (a wrong region, park, address or date) without
    recording a move; a move is `move_organisation`. The organisation's locations must
    still not overlap, and only a zone or park can contain it."""
    if "organisation" in fields and fields["organisation"].pk != row.organisation_id:
        raise RegistryError("organisation", "a location stays with its organisation; record a move instead")
    within = _value(row, fields, "within")
    check_container(within)
    if within is not None and within.pk == row.organisation_id:
        raise RegistryError("within", "an organisation cannot be located inside itself")
    valid_from, valid_to = _value(row, fields, "valid_from"), _value(row, fields, "valid_to")
    if valid_from is not None and valid_to is not None and valid_to <= valid_from:
        raise RegistryError("valid_to", f"a location ends after it starts ({valid_from})")
    others = Location.objects.filter(organisation_id=row.organisation_id).exclude(pk=row.pk)
    check_no_overlap([*others.values_list("valid_from", "valid_to"), (valid_from, valid_to)], "valid_from")
    return _save_row(row, fields)

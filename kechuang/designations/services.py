"""The designations' use cases: the type catalogue, granting, taking a grant through its
stages (one table, `STAGES`), revoking, renaming, re-reviewing, expiry, and the query the
eligibility rules ask (`valid_designations`).

Every function that changes data runs in one transaction and records who did it. `by=None`
is the operator on the command line (or the demo, or an import run by the operator), who
may do anything the rules allow: the role checks are skipped, the rules are not. A
designation is the bureau's to record: `by` must be a bureau admin of a subtree holding the
enterprise (scoping.can_review); enterprises and park managers read theirs.

How a grant is dated (docs/designations.md):
- `publicised_on` is the publicity notice (公示); a grant in publicity is not held yet;
- `granted_on` is the final notice or the certificate (认定); validity runs from it;
- `valid_until` (exclusive) comes from the type's rule unless the notice gives it: 3 years
  for the gradient tiers and HNTEs, the calendar year for a tech-based SME; a passed
  re-review (复核) adds the type's `re_review_years` to it;
- `ended_on` is set when a grant stops early: revoked (撤销/取消资格), superseded by a new
  certificate of the same type and level, or renamed (更名: re-issued, as a new row that
  `replaces` it, under the enterprise's new name);
- one enterprise never holds two grants of one type and level in force on the same day:
  a new certificate supersedes the one before it (an HNTE re-certified before its old
  certificate ran out), so the stock counts each enterprise once.
"""

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from kechuang.accounts.scoping import can_review, organisations_visible, scope_of
from kechuang.errors import RoleRefusal
from kechuang.registry.models import Organisation, OrganisationKind, Region, Source
from kechuang.workflows import Transition, TransitionError, Workflow

from .models import (
    Designation,
    DesignationStep,
    DesignationType,
    Level,
    ReReview,
    Stage,
    Validity,
)

CATALOGUE = Path(__file__).parent / "data" / "types.yaml"

S = Stage
#: The stages a grant passes through after it is recorded (designation stages, 资质认定流程).
#: A grant starts in publicity (step `list`) or final (step `grant`); a renamed grant's
#: successor starts final (step `reissue`). Who may take a step: the bureau (can_review).
STAGES = Workflow("designation stages", [
    Transition("finalise", (S.PUBLICITY,), S.FINAL, "designated by the final notice 认定公告"),
    Transition("revoke", (S.PUBLICITY, S.FINAL, S.EXPIRED), S.REVOKED, "revoked or withdrawn 撤销/取消资格"),
    Transition("expire", (S.FINAL,), S.EXPIRED, "its validity ran out 到期"),
    Transition("supersede", (S.FINAL,), S.EXPIRED, "superseded by a new certificate 重新认定"),
    Transition("rename", (S.FINAL,), S.RENAMED, "re-issued under the enterprise's new name 更名"),
])

#: Type codes: lower-case letters, digits and hyphens, starting with a letter.
TYPE_CODE = re.compile(r"^[a-z][a-z0-9-]{1,59}$")
TEXT_LIMITS = {"batch": 60, "certificate_number": 60, "name_on_list": 300, "rule_version": 30}


class DesignationError(ValidationError):
    """A rule of the designations was broken; `field` names what was wrong."""

    def __init__(self, field: str, message: str):
        super().__init__({field: [message]})
        self.field = field
        self.reason = message


class NotAllowed(DesignationError, RoleRefusal):
    """The user's role does not allow this (the API answers 403)."""


# --- the type catalogue -----------------------------------------------------------------------


def _iso(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise DesignationError("rule_versions", f"{value!r} is not a date (YYYY-MM-DD)") from None


def check_type(row: DesignationType) -> DesignationType:
    """Raise DesignationError unless the type (saved or not) is coherent; normalises its
    rule versions (dates as ISO text, in date order)."""
    if not isinstance(row.code, str) or not TYPE_CODE.match(row.code):
        raise DesignationError("code", f"{row.code!r}: a code is lower-case letters, digits and hyphens, starting "
                                       "with a letter (e.g. gazelle, single-champion)")
    if not str(row.name_zh or "").strip() or not str(row.name_en or "").strip():
        raise DesignationError("name_zh", "a designation type has a Chinese and an English name")
    levels = row.levels
    if not isinstance(levels, list) or not levels or any(level not in Level.values for level in levels):
        raise DesignationError("levels", f"{levels!r}: list the levels that issue it, from "
                                         f"{', '.join(Level.values)}, the usual one first")
    if len(set(levels)) < len(levels):
        raise DesignationError("levels", "each level once")
    if row.validity not in Validity.values:
        raise DesignationError("validity", f"{row.validity!r} is not one of {', '.join(Validity.values)}")
    if row.validity == Validity.YEARS:
        if not isinstance(row.validity_years, int) or isinstance(row.validity_years, bool) \
                or not 1 <= row.validity_years <= 50:
            raise DesignationError("validity_years", "a validity of years says how many (1 to 50)")
    elif row.validity_years is not None:
        raise DesignationError("validity_years", f"only a validity of years has a number of years, not "
                                                 f"{row.validity}")
    if row.re_review_years is not None and (not isinstance(row.re_review_years, int)
                                            or isinstance(row.re_review_years, bool)
                                            or not 1 <= row.re_review_years <= 50):
        raise DesignationError("re_review_years", "a re-review extends the validity by 1 to 50 years, or leave it "
                                                  "empty (no re-review)")
    if row.re_review_years is not None and row.validity != Validity.YEARS:
        raise DesignationError("re_review_years", "only a designation valid for a number of years is re-reviewed")
    row.rule_versions = _rule_versions(row.rule_versions)
    return row


def _rule_versions(versions) -> list[dict]:
    if not isinstance(versions, list | tuple):
        raise DesignationError("rule_versions", 'give a list: [{"code": "MIIT-2022-63", "from": "2022-08-01"}]')
    checked = []
    for version in versions:
        if not isinstance(version, dict) or not isinstance(version.get("code"), str) or not version["code"].strip():
            raise DesignationError("rule_versions", f"{version!r}: each version has a code, and a `from` date "
                                                    "(empty for the first)")
        code = version["code"].strip()
        if len(code) > TEXT_LIMITS["rule_version"]:
            raise DesignationError("rule_versions", f"{code}: at most {TEXT_LIMITS['rule_version']} characters")
        checked.append({"code": code, "from": _iso(version.get("from")), "title": str(version.get("title") or "")})
    if len({version["code"] for version in checked}) < len(checked):
        raise DesignationError("rule_versions", "each version code once")
    if sum(1 for version in checked if version["from"] is None) > 1:
        raise DesignationError("rule_versions", "only the first version may have no `from` date")
    checked.sort(key=lambda version: version["from"] or "")
    if len({version["from"] for version in checked}) < len(checked):
        raise DesignationError("rule_versions", "two versions start on the same day")
    return checked


TYPE_FIELDS = ("name_zh", "name_en", "levels", "validity", "validity_years", "re_review_years", "rule_versions",
               "basis", "description_zh", "description_en")


@transaction.atomic
def load_catalogue(path: Path = CATALOGUE) -> int:
    """Add the shipped types and keep them current; types a bureau defined are left alone.
    Returns the number of shipped types. A type is written only when it differs."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in entries:
        row = DesignationType.objects.filter(code=entry["code"]).first() or DesignationType(code=entry["code"])
        wanted = {name: entry.get(name, DesignationType._meta.get_field(name).get_default()) for name in TYPE_FIELDS}
        probe = DesignationType(code=entry["code"], **wanted)
        check_type(probe)
        changed = row.pk is None or not row.built_in
        for name in TYPE_FIELDS:
            if getattr(row, name) != getattr(probe, name):
                setattr(row, name, getattr(probe, name))
                changed = True
        if changed:
            row.built_in = True
            row.save()
    return len(entries)


def _may_keep_types(by) -> bool:
    scope = scope_of(by)
    return scope.everything or bool(scope.change_paths)


@transaction.atomic
def define_type(code: str, *, by=None, **fields) -> DesignationType:
    """A bureau defines a designation type of its own (瞪羚企业, 独角兽企业, 制造业单项冠军 …),
    or changes one it defined. The shipped types are the catalogue's (data/types.yaml)."""
    if by is not None and not _may_keep_types(by):
        raise NotAllowed("code", "only a bureau admin defines designation types")
    unknown = sorted(set(fields) - set(TYPE_FIELDS))
    if unknown:
        raise DesignationError(unknown[0], f"{', '.join(unknown)}: not a field of a designation type")
    row = DesignationType.objects.select_for_update().filter(code=code).first()
    if row is not None and row.built_in:
        raise DesignationError("code", f"{code} is shipped in the catalogue (kechuang/designations/data/types.yaml); "
                                       "it is changed there, not here")
    row = row or DesignationType(code=code)
    for name, value in fields.items():
        setattr(row, name, value)
    if row.validity != Validity.YEARS and "validity_years" not in fields:
        row.validity_years = None
    check_type(row)
    if by is not None:
        row._history_user = by
    row.save()
    return row


def find_type(value: "DesignationType | str") -> DesignationType:
    if isinstance(value, DesignationType):
        return value
    found = DesignationType.objects.filter(code=value).first() if isinstance(value, str) else None
    if found is None:
        codes = ", ".join(DesignationType.objects.order_by("code").values_list("code", flat=True))
        raise DesignationError("type", f"{value!r} is not a designation type; the types are {codes}")
    return found


# --- dates and rule versions ------------------------------------------------------------------


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def valid_until_for(designation_type: DesignationType, granted_on: dt.date) -> dt.date | None:
    """The first day a grant of `granted_on` is no longer valid, by the type's rule: 3 years
    (granted 2023-06-28 → 2026-06-28); the calendar year (granted 2024-05-10 → 2025-01-01);
    None for a type valid until revoked."""
    if designation_type.validity == Validity.YEARS:
        return add_years(granted_on, designation_type.validity_years)
    if designation_type.validity == Validity.CALENDAR_YEAR:
        return dt.date(granted_on.year + 1, 1, 1)
    return None


def rule_version_for(designation_type: DesignationType, day: dt.date) -> str:
    """The rule version in force on `day` (domain-rules.md §1.0: MIIT-2022-63 until 2026-03-31,
    MIIT-2026-2 from 2026-04-01); "" for a type without versions."""
    versions = designation_type.rule_versions
    chosen = ""
    for version in versions:
        if version["from"] is None or dt.date.fromisoformat(version["from"]) <= day:
            chosen = version["code"]
    if versions and not chosen:
        first = versions[0]
        raise DesignationError("granted_on", f"{designation_type} exists from {first['from']} ({first['code']}); "
                                             f"there is none on {day:%Y-%m-%d}")
    return chosen


def _rule_version(designation_type: DesignationType, given: str | None, day: dt.date) -> str:
    if not given:
        return rule_version_for(designation_type, day)
    given = given.strip()
    codes = designation_type.rule_version_codes
    if codes and given not in codes:
        raise DesignationError("rule_version", f"{given!r} is not a rule version of {designation_type}: "
                                               f"{', '.join(codes)}")
    if len(given) > TEXT_LIMITS["rule_version"]:
        raise DesignationError("rule_version", f"at most {TEXT_LIMITS['rule_version']} characters")
    return given


def _in_force_until(designation: Designation) -> dt.date | None:
    if designation.granted_on is None:
        return None
    ends = [day for day in (designation.valid_until, designation.ended_on) if day is not None]
    if designation.ended_on is not None and designation.valid_until is not None:
        return min(ends)
    return ends[0] if ends else None


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


def _not_future(field: str, day: dt.date | None, today: dt.date) -> None:
    if day is not None and day > today:
        raise DesignationError(field, f"{day:%Y-%m-%d} is in the future: record a notice once it is published")


def _date(field: str, value) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise DesignationError(field, f"{value!r} is not a date")


def _text(field: str, value) -> str:
    text = "" if value is None else str(value).strip()
    if "\x00" in text:
        raise DesignationError(field, "text cannot contain NUL characters")
    if len(text) > TEXT_LIMITS[field]:
        raise DesignationError(field, f"at most {TEXT_LIMITS[field]} characters")
    return text


def _source(value: "Source | str | None") -> Source | None:
    if value is None or isinstance(value, Source):
        return value
    found = Source.objects.filter(key=value).first()
    if found is None:
        raise DesignationError("source", f"{value!r} is not a source kechuang knows: register the notice first")
    return found


def _check_by(by, organisation: Organisation, field: str = "organisation") -> None:
    if by is not None and not can_review(by, organisation):
        raise NotAllowed(field, f"only the bureau of {organisation}'s district records its designations")


# --- granting -------------------------------------------------------------------------------


@transaction.atomic
def grant(organisation: Organisation, designation_type: "DesignationType | str", *, stage: str = Stage.FINAL,
          level: str | None = None, granted_on: dt.date | None = None, publicised_on: dt.date | None = None,
          applied_on: dt.date | None = None, valid_until: dt.date | None = None, batch: str = "",
          certificate_number: str = "", name_on_list: str = "", rule_version: str | None = None,
          source: "Source | str | None" = None, note: str = "", comment: str = "", by=None,
          synthetic: bool = False, today: dt.date | None = None) -> Designation:
    """Record a designation of `organisation` from its notice: listed for publicity
    (`stage="publicity"`, dated `publicised_on`) or final (dated `granted_on`; give
    `publicised_on` too when a publicity list came first). The level is the type's usual
    one unless given; the validity and the rule version follow from the type and the dates
    unless given. A final grant supersedes the grant of the same type and level the
    enterprise held until then."""
    designation_type = find_type(designation_type)
    today = _today(today)
    _check_by(by, organisation)
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if organisation.kind != OrganisationKind.ENTERPRISE:
        raise DesignationError("organisation", f"{organisation} is a {organisation.kind}: designations are granted to "
                                               "enterprises")
    if stage not in (Stage.PUBLICITY, Stage.FINAL):
        raise DesignationError("stage", f"a designation is recorded in publicity or final, not {stage!r}; "
                                        "later stages are reached by revoking, renaming or expiry")
    level = level or designation_type.default_level
    if level not in designation_type.levels:
        raise DesignationError("level", f"{designation_type} is issued at level {', '.join(designation_type.levels)}"
                                        f", not {level!r}")
    granted_on, publicised_on = _date("granted_on", granted_on), _date("publicised_on", publicised_on)
    applied_on, valid_until = _date("applied_on", applied_on), _date("valid_until", valid_until)
    if stage == Stage.PUBLICITY:
        if publicised_on is None:
            raise DesignationError("publicised_on", "a publicity listing (公示) is dated by its notice")
        if granted_on is not None or valid_until is not None:
            raise DesignationError("granted_on", "a designation in publicity is not granted yet: finalise it when "
                                                 "the final notice is published")
    elif granted_on is None:
        raise DesignationError("granted_on", "a final designation (认定) is dated by its notice or certificate")
    for field, day in (("applied_on", applied_on), ("publicised_on", publicised_on), ("granted_on", granted_on)):
        _not_future(field, day, today)
    if publicised_on and granted_on and granted_on < publicised_on:
        raise DesignationError("granted_on", f"the final notice comes after the publicity notice "
                                             f"({publicised_on:%Y-%m-%d})")
    first_listed = publicised_on or granted_on
    if applied_on and applied_on > first_listed:
        raise DesignationError("applied_on", f"the application comes before the notice ({first_listed:%Y-%m-%d})")
    if granted_on is not None:
        computed = valid_until_for(designation_type, granted_on)
        valid_until = valid_until or computed
        if valid_until is not None and valid_until <= granted_on:
            raise DesignationError("valid_until", f"the validity ends after the grant ({granted_on:%Y-%m-%d}); "
                                                  "valid_until is the first day it no longer holds")
    designation = Designation(
        organisation=organisation, type=designation_type, level=level, stage=stage,
        batch=_text("batch", batch), certificate_number=_text("certificate_number", certificate_number),
        name_on_list=_text("name_on_list", name_on_list) or (organisation.name_zh or organisation.name_en)[:300],
        applied_on=applied_on, publicised_on=publicised_on, granted_on=granted_on, valid_until=valid_until,
        rule_version=_rule_version(designation_type, rule_version, applied_on or first_listed),
        source=_source(source), synthetic=synthetic, note=str(note or ""), created_by=by,
    )
    designation.in_force_until = _in_force_until(designation)
    _check_duplicates(designation)
    if by is not None:
        designation._history_user = by
    designation.save()
    source_row = designation.source
    if publicised_on is not None:
        _step(designation, "list", "", Stage.PUBLICITY, publicised_on, by, source_row, comment)
    if stage == Stage.FINAL:
        name, before = ("finalise", Stage.PUBLICITY) if publicised_on is not None else ("grant", "")
        _step(designation, name, before, Stage.FINAL, granted_on, by, source_row, comment)
        _settle_overlaps(designation, by)
    return designation


def _check_duplicates(designation: Designation) -> None:
    """What the unique constraints hold, said with the field and the row it clashes with."""
    same = Designation.objects.filter(organisation=designation.organisation, type=designation.type,
                                      level=designation.level).exclude(stage=Stage.RENAMED).exclude(pk=designation.pk)
    if designation.batch:
        clash = same.filter(batch=designation.batch).first()
        if clash:
            raise DesignationError("batch", f"{designation.organisation} already has {designation.type} of batch "
                                            f"{designation.batch} (designation {clash.pk}, {clash.stage})")
    if designation.granted_on:
        clash = same.filter(granted_on=designation.granted_on).first()
        if clash:
            raise DesignationError("granted_on", f"{designation.organisation} already has {designation.type} granted "
                                                 f"on {designation.granted_on:%Y-%m-%d} (designation {clash.pk})")
    listed = same.filter(stage=Stage.PUBLICITY).first()
    if listed and designation.stage == Stage.PUBLICITY:
        raise DesignationError("stage", f"{designation.organisation} is already listed for publicity for "
                                        f"{designation.type} (designation {listed.pk}, {listed.publicised_on}): "
                                        "finalise or revoke that listing")
    if designation.certificate_number:
        clash = (Designation.objects.filter(type=designation.type, certificate_number=designation.certificate_number)
                 .exclude(stage=Stage.RENAMED).exclude(pk=designation.pk).select_related("organisation").first())
        if clash:
            raise DesignationError("certificate_number", f"certificate {designation.certificate_number} is already "
                                                         f"recorded, for {clash.organisation} (designation {clash.pk})")


def _step(designation: Designation, name: str, before: str, after: str, on: dt.date, by, source,
          comment: str = "") -> DesignationStep:
    return DesignationStep.objects.create(designation=designation, name=name, from_stage=before, to_stage=after,
                                          on=on, by=by, source=source, comment=(comment or "").strip())


def _settle_overlaps(designation: Designation, by) -> None:
    """One grant of a type and level in force at a time: the grant held before this one ends
    on this one's date, and if a later one was recorded first, this one ends on its date."""
    held = (Designation.objects.select_for_update()
            .filter(organisation=designation.organisation, type=designation.type, level=designation.level,
                    stage__in=(Stage.FINAL, Stage.EXPIRED), granted_on__isnull=False)
            .exclude(pk=designation.pk))
    earlier = (held.filter(granted_on__lt=designation.granted_on)
               .filter(Q(in_force_until__isnull=True) | Q(in_force_until__gt=designation.granted_on)))
    for old in earlier:
        _end(old, designation.granted_on, "supersede", by, designation.source,
             f"superseded by the grant of {designation.granted_on:%Y-%m-%d} (designation {designation.pk})")
    later = held.filter(granted_on__gt=designation.granted_on).order_by("granted_on").first()
    if later is not None and (designation.in_force_until is None or later.granted_on < designation.in_force_until):
        _end(designation, later.granted_on, "supersede", by, later.source,
             f"superseded by the grant of {later.granted_on:%Y-%m-%d} (designation {later.pk})")


def _end(designation: Designation, on: dt.date, name: str, by, source, comment: str) -> None:
    """End a grant early on `on`: superseded (final → expired) or, already expired, cut short."""
    before = designation.stage
    designation.ended_on = on
    designation.in_force_until = _in_force_until(designation)
    if before == Stage.FINAL:
        designation.stage = Stage.EXPIRED
    if by is not None:
        designation._history_user = by
    designation.save(update_fields=["ended_on", "in_force_until", "stage", "updated_at"])
    _step(designation, name, before, designation.stage, on, by, source, comment)


def _stored(designation: Designation) -> Designation:
    return (Designation.objects.select_for_update(of=("self",)).select_related("organisation", "type")
            .get(pk=designation.pk))


def _check_step(designation: Designation, transition: str) -> None:
    try:
        STAGES.check(transition, designation.stage)
    except TransitionError as exc:
        raise DesignationError("stage", str(exc)) from None


def _after_last_step(designation: Designation, on: dt.date, field: str = "on") -> None:
    last = designation.steps.order_by("-on", "-id").values_list("on", flat=True).first()
    if last is not None and on < last:
        raise DesignationError(field, f"the designation's last step was on {last:%Y-%m-%d}; a later one cannot be "
                                      "dated before it")


@transaction.atomic
def advance_stage(designation: Designation, stage: str, *, on: dt.date | None = None, by=None,
                  source: "Source | str | None" = None, comment: str = "", valid_until: dt.date | None = None,
                  certificate_number: str | None = None, today: dt.date | None = None) -> Designation:
    """Take a designation to its next stage by date: from publicity to final (the final notice
    of `on`: the validity runs from it), or from final to expired once its validity ran out
    (`on` defaults to that day). Revoking and renaming say more: `revoke`, `rename`."""
    stored = _stored(designation)
    _check_by(by, stored.organisation)
    today = _today(today)
    transitions = {Stage.FINAL: "finalise", Stage.EXPIRED: "expire"}
    if stage not in transitions:
        hint = {Stage.REVOKED: "revoke it (say why)", Stage.RENAMED: "rename it (give the new name)"}.get(
            stage, f"the stages are {', '.join(Stage.values)}")
        raise DesignationError("stage", f"advance_stage takes a designation to final or expired; to reach {stage!r}, "
                                        f"{hint}")
    _check_step(stored, transitions[stage])
    source_row = _source(source) or stored.source
    before = stored.stage
    if stage == Stage.FINAL:
        on = _date("on", on)
        if on is None:
            raise DesignationError("on", "the final notice (认定公告) has a date")
        _not_future("on", on, today)
        if on < stored.publicised_on:
            raise DesignationError("on", f"the final notice comes after the publicity notice "
                                         f"({stored.publicised_on:%Y-%m-%d})")
        stored.granted_on = on
        stored.valid_until = _date("valid_until", valid_until) or valid_until_for(stored.type, on)
        if stored.valid_until is not None and stored.valid_until <= on:
            raise DesignationError("valid_until", "the validity ends after the grant")
        if certificate_number is not None:
            stored.certificate_number = _text("certificate_number", certificate_number)
        if source is not None:
            stored.source = source_row
    else:
        on = _date("on", on) or stored.valid_until
        if stored.valid_until is None:
            raise DesignationError("stage", f"{stored.type} is valid until revoked: it does not expire")
        if on < stored.valid_until or stored.valid_until > today:
            raise DesignationError("on", f"it is valid until {stored.last_valid_day:%Y-%m-%d}; to end it earlier, "
                                         "revoke it")
    _after_last_step(stored, on)
    stored.stage = stage
    stored.in_force_until = _in_force_until(stored)
    _check_duplicates(stored)
    if by is not None:
        stored._history_user = by
    stored.save()
    _step(stored, transitions[stage], before, stage, on, by, source_row, comment)
    if stage == Stage.FINAL:
        _settle_overlaps(stored, by)
    return stored


@transaction.atomic
def revoke(designation: Designation, *, on: dt.date, comment: str, by=None, source: "Source | str | None" = None,
           today: dt.date | None = None) -> Designation:
    """Revoke a designation (撤销, 取消资格), or withdraw a publicity listing, from `on`:
    it is not held from that day. Saying why is required."""
    stored = _stored(designation)
    _check_by(by, stored.organisation)
    _check_step(stored, "revoke")
    on = _date("on", on)
    if on is None:
        raise DesignationError("on", "a revocation is dated by its notice")
    _not_future("on", on, _today(today))
    if not (comment or "").strip():
        raise DesignationError("comment", "say why (the notice's reason: 取消资格, 公示有异议 …)")
    first = stored.granted_on or stored.publicised_on
    if on < first:
        raise DesignationError("on", f"it cannot be revoked before it was listed ({first:%Y-%m-%d})")
    _after_last_step(stored, on)
    before = stored.stage
    stored.stage, stored.ended_on = Stage.REVOKED, on
    stored.in_force_until = _in_force_until(stored)
    if by is not None:
        stored._history_user = by
    stored.save()
    _step(stored, "revoke", before, Stage.REVOKED, on, by, _source(source) or stored.source, comment)
    return stored


@transaction.atomic
def rename(designation: Designation, new_name: str, *, on: dt.date, by=None, source: "Source | str | None" = None,
           certificate_number: str | None = None, comment: str = "", today: dt.date | None = None) -> Designation:
    """The certificate is re-issued under the enterprise's new name (更名) from `on`: the
    designation becomes `renamed` and a new row, its successor, carries on with the same
    dates, batch and validity. Returns the successor. (The enterprise's own new name is the
    registry's: save_organisation, with the old name as a former-name alias.)"""
    stored = _stored(designation)
    _check_by(by, stored.organisation)
    _check_step(stored, "rename")
    on = _date("on", on)
    if on is None:
        raise DesignationError("on", "a rename is dated by its notice")
    _not_future("on", on, _today(today))
    new_name = _text("name_on_list", new_name)
    if not new_name:
        raise DesignationError("name_on_list", "give the name the certificate is re-issued under")
    if new_name == stored.name_on_list:
        raise DesignationError("name_on_list", f"the certificate already bears the name {new_name}")
    if on < stored.granted_on or not stored.in_force_on(on):
        raise DesignationError("on", "a designation is renamed while it is in force "
                                     f"({stored.granted_on:%Y-%m-%d} to {stored.last_valid_day or 'revoked'})")
    _after_last_step(stored, on)
    source_row = _source(source) or stored.source
    stored.stage, stored.ended_on = Stage.RENAMED, on
    stored.in_force_until = _in_force_until(stored)
    if by is not None:
        stored._history_user = by
    stored.save()
    _step(stored, "rename", Stage.FINAL, Stage.RENAMED, on, by, source_row, comment or f"更名为 {new_name}")
    successor = Designation(
        organisation=stored.organisation, type=stored.type, level=stored.level, batch=stored.batch,
        name_on_list=new_name, stage=Stage.FINAL,
        certificate_number=(_text("certificate_number", certificate_number) if certificate_number is not None
                            else stored.certificate_number),
        applied_on=stored.applied_on, publicised_on=stored.publicised_on, granted_on=stored.granted_on,
        valid_until=stored.valid_until, rule_version=stored.rule_version, replaces=stored, source=source_row,
        synthetic=stored.synthetic, note=stored.note, created_by=by)
    successor.in_force_until = _in_force_until(successor)
    _check_duplicates(successor)
    if by is not None:
        successor._history_user = by
    successor.save()
    _step(successor, "reissue", "", Stage.FINAL, on, by, source_row, f"原名 {stored.name_on_list}")
    return successor


@transaction.atomic
def re_review(designation: Designation, *, on: dt.date, passed: bool = True, by=None,
              source: "Source | str | None" = None, comment: str = "", rule_version: str | None = None,
              today: dt.date | None = None) -> ReReview:
    """Record a re-review (复核) of a final designation. Passed, the validity is extended by
    the type's `re_review_years` from where it ended (granted 2023-06-28, re-reviewed in
    2026: valid until 2029-06-28); failed, it runs out as it was."""
    stored = _stored(designation)
    _check_by(by, stored.organisation)
    years = stored.type.re_review_years
    if years is None:
        raise DesignationError("type", f"{stored.type} has no re-review: at expiry the enterprise applies again, "
                                       "and the new grant is recorded as such")
    if stored.stage != Stage.FINAL:
        raise DesignationError("stage", f"only a final designation is re-reviewed; this one is {stored.stage}")
    on = _date("on", on)
    if on is None:
        raise DesignationError("on", "a re-review is dated by the notice of its result")
    _not_future("on", on, _today(today))
    if on <= stored.granted_on:
        raise DesignationError("on", f"a re-review comes after the grant ({stored.granted_on:%Y-%m-%d})")
    last = stored.re_reviews.order_by("-reviewed_on").values_list("reviewed_on", flat=True).first()
    if last is not None and on <= last:
        raise DesignationError("on", f"the last re-review was on {last:%Y-%m-%d}; a later one comes after it")
    if not isinstance(passed, bool):
        raise DesignationError("passed", "true or false")
    version = _rule_version(stored.type, rule_version, on) if rule_version else stored.rule_version
    before = stored.valid_until
    after = add_years(before, years) if passed else before
    review = ReReview.objects.create(designation=stored, reviewed_on=on, passed=passed, valid_until_before=before,
                                     valid_until_after=after, rule_version=version, source=_source(source), by=by,
                                     comment=(comment or "").strip())
    if passed:
        stored.valid_until = after
        stored.in_force_until = _in_force_until(stored)
        if by is not None:
            stored._history_user = by
        stored.save(update_fields=["valid_until", "in_force_until", "updated_at"])
    return review


@transaction.atomic
def expire_lapsed(today: dt.date | None = None, *, by=None) -> int:
    """Mark every final designation whose validity ran out by `today` as expired (dated the
    day it ran out). What counts as held never depends on this: the dates say it."""
    if by is not None and not scope_of(by).everything:
        raise NotAllowed("by", "every district's designations are marked at once: the operator's job "
                               "(kechuang designations expire); a bureau expires its own one by one")
    today = _today(today)
    lapsed = list(Designation.objects.select_for_update().filter(stage=Stage.FINAL, valid_until__lte=today)
                  .select_related("organisation", "type"))
    for designation in lapsed:
        designation.stage = Stage.EXPIRED
        if by is not None:
            designation._history_user = by
        designation.save(update_fields=["stage", "updated_at"])
        _step(designation, "expire", Stage.FINAL, Stage.EXPIRED, designation.valid_until, by, None,
              "validity ran out 有效期届满")
    return len(lapsed)


# --- queries ---------------------------------------------------------------------------------


def valid_designations(organisation_ids: Iterable[int], on: dt.date) -> dict[int, set[str]]:
    """For each organisation, the codes of the designation types it holds validly on `on`: a
    grant that reached its final notice, granted on or before `on`, and still in force
    (before its valid_until, not yet revoked, superseded or renamed) — one query.

    A grant revoked or marked expired since still counts for the days it was held, so a
    screening dated in the past sees what the enterprise held then. Every organisation asked
    about is in the answer, with an empty set when it holds nothing."""
    ids = list(dict.fromkeys(organisation_ids))
    held: dict[int, set[str]] = {organisation_id: set() for organisation_id in ids}
    if not ids:
        return held
    rows = (Designation.objects.in_force_on(on).exclude(stage=Stage.RENAMED).filter(organisation_id__in=ids)
            .values_list("organisation_id", "type__code").distinct())
    for organisation_id, code in rows:
        held[organisation_id].add(code)
    return held


def in_region(queryset: QuerySet, region: "Region | str") -> QuerySet:
    """Designations of enterprises located (now) in the region's subtree."""
    return queryset.filter(organisation__in=Organisation.objects.in_region(region).values("pk"))


def expiring(days: int = 90, *, today: dt.date | None = None, region: "Region | str | None" = None,
             user=None) -> QuerySet:
    """Final designations whose validity runs out within `days` days: the bureau's list (its
    subtree), an enterprise user's own, a park manager's tenants'. `user=None` is the
    operator: every one. Published grants are public record, but this is a work list: each
    sees the enterprises they look after, not everyone's."""
    _check_days(days)
    rows = Designation.objects.expiring(_today(today), days)
    return _work_list(rows, region, user).order_by("valid_until", "organisation__key", "id")


def _check_days(days) -> None:
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3660:
        raise DesignationError("days", "a number of days from 0 to 3660")


def _work_list(rows: QuerySet, region, user) -> QuerySet:
    """`rows` of the region (when given) whose enterprises `user` looks after (None: every one)."""
    rows = rows.select_related("organisation", "type", "source")
    if region is not None:
        rows = in_region(rows, region)
    if user is not None:
        scope = scope_of(user)
        if not scope.everything:
            rows = rows.filter(organisation__in=Organisation.objects.filter(organisations_visible(scope)).values("pk"))
    return rows


def expired(days: int = 90, *, today: dt.date | None = None, region: "Region | str | None" = None,
            user=None) -> QuerySet:
    """Grants whose validity ran out within the last `days` days (their valid_until between
    today − days and today) without being revoked or renamed first: the other half of the
    expiry work list, for the same people as `expiring` (a re-review, or a new application)."""
    _check_days(days)
    today = _today(today)
    rows = Designation.objects.filter(stage__in=(Stage.FINAL, Stage.EXPIRED), ended_on__isnull=True,
                                      valid_until__lte=today, valid_until__gt=today - dt.timedelta(days=days))
    return _work_list(rows, region, user).order_by("-valid_until", "organisation__key", "id")

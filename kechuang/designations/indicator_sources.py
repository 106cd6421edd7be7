"""The designations as the indicators engine counts them (kechuang.indicators.sources):

- `designations-granted` (events): the steps into a stage dated in the period. By default
  the stage is `final`: grants, dated by their final notice (the granted date), whatever
  became of them since — a little giant granted in 2023H1 and revoked in 2025 was still
  granted in 2023H1. `stage: publicity` counts the enterprises listed for publicity (公示)
  in the period, `revoked` the revocations. A re-issue under a new name (更名) is not a
  new grant and is not counted.
- `designations-valid` (stock): the grants in force on the period's last day
  (granted_on <= day < in_force_until: not before the final notice, not after the validity
  ran out or the grant was revoked or superseded). Only `stage: final` is a stock: a
  publicity list is not a designation held.

Both take `type` (a type code or a list of them), `level` (national, provincial, city,
district, or a list) and `stage`; the subject is the enterprise, counted where it was
located on the step's date (events) or on the period's last day (stock).

Publicity-stage listings are counted only when a measure asks for them: a figure of
"new little giants" is of final designations, as the ministries' announcements are.
"""

import re

from django.db.models import QuerySet

from kechuang.indicators.sources import Source, SourceError, register

from .models import Designation, DesignationStep, Level, Stage

TYPE_CODE = re.compile(r"^[a-z][a-z0-9-]{1,59}$")


def _codes(parameters: dict, name: str, allowed: list[str] | None = None) -> list[str]:
    value = parameters.get(name)
    if value in (None, "", []):
        return []
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise SourceError(f"{name}: give a code or a list of codes")
    for item in values:
        if allowed is not None and item not in allowed:
            raise SourceError(f"{name} {item!r}: expected one of {', '.join(allowed)}")
        if allowed is None and not TYPE_CODE.match(item):
            raise SourceError(f"{name} {item!r} is not a designation type code (little-giant, hnte …)")
    return list(values)


def _stage(parameters: dict) -> str:
    stage = parameters.get("stage", Stage.FINAL)
    if stage not in Stage.values:
        raise SourceError(f"stage {stage!r}: expected one of {', '.join(Stage.values)}")
    return stage


def granted(parameters: dict) -> QuerySet:
    """Steps into the stage (final by default) of designations of the types and levels asked."""
    stage = _stage(parameters)
    types, levels = _codes(parameters, "type"), _codes(parameters, "level", Level.values)
    rows = DesignationStep.objects.filter(to_stage=stage)
    if stage == Stage.FINAL:
        rows = rows.exclude(name="reissue")
    if types:
        rows = rows.filter(designation__type__code__in=types)
    if levels:
        rows = rows.filter(designation__level__in=levels)
    return rows


def held(parameters: dict) -> QuerySet:
    """Grants that reached their final notice, of the types and levels asked (the engine keeps
    those in force on the day). A renamed grant is left out: its successor carries its span."""
    if _stage(parameters) != Stage.FINAL:
        raise SourceError("designations-valid counts grants in force (stage final); a publicity list is not held: "
                          "count it as events (designations-granted with stage publicity)")
    types, levels = _codes(parameters, "type"), _codes(parameters, "level", Level.values)
    rows = Designation.objects.filter(granted_on__isnull=False).exclude(stage=Stage.RENAMED)
    if types:
        rows = rows.filter(type__code__in=types)
    if levels:
        rows = rows.filter(level__in=levels)
    return rows


GRANTED = Source(
    code="designations-granted", kind="events", name_en="designations granted", name_zh="新认定资质企业",
    records=granted, subject="designation__organisation", date="on", recorded="recorded_at",
    parameters=("type", "level", "stage"), unit="家",
    description="Designations whose step into the stage (final by default: the granted date) is dated in the "
                "period; `type` and `level` choose which. A grant revoked since still counts for its period.",
)
VALID = Source(
    code="designations-valid", kind="stock", name_en="designations held", name_zh="有效资质企业",
    records=held, subject="organisation", valid_from="granted_on", valid_to="in_force_until",
    recorded="created_at", parameters=("type", "level", "stage"), unit="家",
    description="Designations in force on the period's last day: granted on or before it, before their "
                "valid_until, not revoked or superseded by then; `type` and `level` choose which.",
)


def register_sources() -> None:
    register(GRANTED)
    register(VALID)

"""An organisation's facts from the registry, as a bulletin's sentences state them.

"A wholly owned subsidiary of Sky Technology Development Co Ltd", "established a presence in
the zone in 2020", "first trial production in November 2022", "annual production capacity of
13,000 units", "reached its third phase, will start operating its fourth at the end of this
year": each is a registry record (ownership, milestone, capacity, phase) with its source, read
as it stood on the bulletin's as-of day. A template declares the organisations it reads
(`facts: {zhongkeyi: zhongkeyi-nantong}`) and writes `{{ zhongkeyi.parent }}`; a fact the
registry does not hold is None, and the sentence stating it is left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse

from kechuang.registry.models import (
    Capacity,
    Location,
    Milestone,
    MilestoneKind,
    Organisation,
    Ownership,
    Phase,
    PhaseStatus,
    Source,
)

from . import language
from .document import SourceRef, site
from .figures import source_ref

#: Every fact a template may read of an organisation, with what the annex calls it.
LABELS = {
    "name": ("Name", "名称"),
    "zone": ("Zone or park it is located in", "所在园区"),
    "parent": ("Parent company (largest owner)", "母公司"),
    "founded": ("Founded", "成立时间"),
    "arrived": ("Arrived in the region or zone", "落户时间"),
    "trial_production": ("First trial production", "首次试生产时间"),
    "mass_production": ("Mass production", "量产时间"),
    "capacity": ("Annual production capacity", "年产能"),
    "phase_reached": ("Highest phase in operation", "已投运的最高期数"),
    "next_phase": ("Next phase", "下一期"),
    "next_phase_start": ("Next phase starts operating", "下一期投运时间"),
}


class OrganisationError(ValueError):
    """A template's `facts` names an organisation the registry does not hold."""


@dataclass(frozen=True)
class Fact:
    name: str  # "parent"
    value: str  # the record's value, language-neutral: "sky-technology", "2022-11", "13000 units/year"
    text_en: str
    text_zh: str
    sources: tuple[SourceRef, ...]
    link: str
    wholly_owned: bool = False

    def text(self, lang: str) -> str:
        return self.text_zh if lang == "zh" else self.text_en

    def label(self, lang: str) -> str:
        en, zh = LABELS[self.name]
        return zh if lang == "zh" else en


def organisation(key: str) -> Organisation:
    found = Organisation.objects.filter(key=key).first()
    if found is None:
        raise OrganisationError(f"facts: {key!r} is not the key of an organisation in the registry")
    return found


def facts_of(subject: Organisation, *, day: dt.date, year: int) -> dict[str, Fact | None]:
    """Every fact of LABELS for `subject` as the registry held it on `day`; `year` is the
    bulletin's ("at the end of this year")."""
    link = site(reverse("organisation", args=[subject.key]))
    sources = Source.objects.in_bulk([subject.source_id] if subject.source_id else [])

    def fact(name, value, en, zh, source_id=None, **extra) -> Fact:
        if source_id and source_id not in sources:
            sources.update(Source.objects.in_bulk([source_id]))
        cited = (source_ref(sources[source_id]),) if source_id else ()
        return Fact(name, value, en, zh, cited, link, **extra)

    found: dict[str, Fact | None] = dict.fromkeys(LABELS)
    found["name"] = fact("name", subject.key, subject.name_en or subject.name_zh, subject.name_zh or subject.name_en,
                         subject.source_id)
    location = (Location.objects.on(day).filter(organisation=subject).select_related("within")
                .order_by("-valid_from").first())
    if location is not None and location.within is not None:
        zone = location.within
        found["zone"] = fact("zone", zone.key, zone.name_en or zone.name_zh, zone.name_zh or zone.name_en,
                             location.source_id)
    owner = (Ownership.objects.filter(organisation=subject).filter(Q(since__isnull=True) | Q(since__lte=day))
             .filter(Q(until__isnull=True) | Q(until__gt=day)).select_related("owner").order_by("-share_percent")
             .first())
    if owner is not None:
        parent = owner.owner
        found["parent"] = fact("parent", parent.key, parent.name_en or parent.name_zh, parent.name_zh or parent.name_en,
                               owner.source_id, wholly_owned=owner.wholly_owned)
    for kind in (MilestoneKind.FOUNDED, MilestoneKind.ARRIVED, MilestoneKind.TRIAL_PRODUCTION,
                 MilestoneKind.MASS_PRODUCTION):
        milestone = (Milestone.objects.filter(organisation=subject, kind=kind, date__lte=day).order_by("date").first())
        if milestone is not None:
            found[kind] = fact(kind, _partial(milestone.date, milestone.date_precision),
                               *_dated(milestone.date, milestone.date_precision), milestone.source_id)
    capacity = Capacity.objects.filter(organisation=subject, as_of__lte=day).order_by("-as_of").first()
    if capacity is not None:
        counted = capacity.unit == "units"
        en = language.number(capacity.quantity, language="en", kind="unit" if counted else None)
        zh = language.number(capacity.quantity, language="zh", kind="unit" if counted else None)
        found["capacity"] = fact("capacity", f"{capacity.quantity.normalize():f} {capacity.unit}/{capacity.per}",
                                 en if counted else f"{en} {capacity.unit}", zh if counted else f"{zh}{capacity.unit}",
                                 capacity.source_id)
    phases = list(Phase.objects.filter(park=subject).order_by("number"))
    operating = [p for p in phases if p.status == PhaseStatus.OPERATING]
    if operating:
        reached = operating[-1]
        found["phase_reached"] = fact("phase_reached", str(reached.number), language.ordinal_words(reached.number),
                                      language.ordinal_zh(reached.number), reached.source_id)
    coming = [p for p in phases if p.status in (PhaseStatus.PLANNED, PhaseStatus.CONSTRUCTION)]
    if coming:
        following = coming[0]
        found["next_phase"] = fact("next_phase", str(following.number), language.ordinal_words(following.number),
                                   language.ordinal_zh(following.number), following.source_id)
        if following.operation_start is not None:
            found["next_phase_start"] = fact(
                "next_phase_start", _partial(following.operation_start, following.operation_start_precision),
                *_when(following.operation_start, following.operation_start_precision, year), following.source_id)
    return found


def _partial(day: dt.date, precision: str) -> str:
    return {"year": f"{day:%Y}", "month": f"{day:%Y-%m}"}.get(precision, day.isoformat())


def _dated(day: dt.date, precision: str) -> tuple[str, str]:
    return (language.date_text(day, language="en", precision=precision),
            language.date_text(day, language="zh", precision=precision))


def _when(day: dt.date, precision: str, year: int) -> tuple[str, str]:
    """When something will happen, as a phrase: "at the end of this year" / "年底" for
    December of the bulletin's year, else "in March 2024" / "2024年3月"."""
    if day.year == year and precision != "year" and day.month == 12:
        return "at the end of this year", "年底"
    en, zh = _dated(day, precision)
    return f"in {en}", zh

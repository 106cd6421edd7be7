"""The values a bulletin template declares, computed by the indicators engine.

A template's `values` name each figure it states: an indicator, for the bulletin's region (or
a zone or park by key, or a division by code), for the bulletin's period (or the year before,
the period before, the same period last year), and how a sentence writes it (`kind`, see
kechuang.bulletins.language). `resolve` computes all of them with `engine.evaluate(public=True)`
— a bulletin is public, so disclosure control applies and only approved figures count — one
call per area and period, and finds what each rests on: the indicator's source, the sources of
the records behind it, and the exchange rate of a value shown in dollars too.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse
from django.utils.http import urlencode

from kechuang.indicators import engine
from kechuang.indicators.models import ExchangeRate, Indicator
from kechuang.indicators.services import rate_on
from kechuang.registry.models import Organisation, Region, Source
from kechuang.statistics.models import Observation, ObservationKind, ObservationStatus
from kechuang.statistics.periods import Period, PeriodError

from .document import SourceRef, site

#: Where a declared value's period is, relative to the bulletin's.
PERIODS = {
    "same": lambda p: p,
    "previous_year": lambda p: Period.of_year(p.year - 1),
    "previous": lambda p: p.previous(),
    "same_last_year": lambda p: p.same_period_last_year(),
}

#: At most this many sources are named for one figure (the contributors page lists the rest).
SOURCES_NAMED = 5


class FigureError(ValueError):
    """A declared value that cannot be computed: an unknown indicator, area or period."""


@dataclass(frozen=True)
class Declared:
    """One entry of a template's `values`."""

    name: str
    indicator: str
    kind: str | None = None
    precision: int | None = None
    area: str = "region"  # "region", a division code, or a zone's or park's key
    period: str = "same"  # a key of PERIODS
    dollars: bool = False  # money: also in US dollars at the rate of the as-of day

    @classmethod
    def from_spec(cls, name: str, entry: dict) -> Declared:
        return cls(name=name, indicator=entry["indicator"], kind=entry.get("kind"), precision=entry.get("precision"),
                   area=entry.get("area", "region"), period=entry.get("period", "same"),
                   dollars=bool(entry.get("dollars", False)))


@dataclass(frozen=True)
class Value:
    """A declared value as computed: what a sentence writes and what the annex says of it."""

    declared: Declared
    indicator: Indicator
    area: engine.Area
    period: Period
    value: Decimal | None  # None: no figure, or suppressed
    basis: str  # official, computed, ""
    provisional: bool
    suppressed: str  # the reason (disclosure control), "" when shown
    contributors: int
    as_of: dt.datetime
    sources: tuple[SourceRef, ...]
    rate: ExchangeRate | None = None

    @property
    def name(self) -> str:
        return self.declared.name

    @property
    def link(self) -> str:
        key = "region" if self.area.is_region else "within"
        return site(reverse("indicator-records", args=[self.indicator.code]) + "?" + urlencode(
            {key: self.area.key, "period": self.period.code}))

    def snapshot(self) -> dict:
        """The value as a publication freezes it (JSON)."""
        return {
            "indicator": self.indicator.code, "area": self.area.key, "period": self.period.code,
            "value": None if self.value is None else str(self.value), "basis": self.basis,
            "provisional": self.provisional, "suppressed": self.suppressed, "contributors": self.contributors,
            "as_of": self.as_of.isoformat(timespec="seconds"),
            "definition_en": self.indicator.description_en or self.indicator.name_en,
            "definition_zh": self.indicator.description_zh or self.indicator.name_zh,
            "unit": self.indicator.unit,
            "rate": None if self.rate is None else {"currency": self.rate.currency, "rate": str(self.rate.rate),
                                                    "date": self.rate.date.isoformat()},
        }


def area_of(name: str, region: Region) -> engine.Area:
    if name == "region":
        return engine.region_area(region)
    if name.isdigit():
        found = Region.objects.filter(code=name).first()
        if found is None:
            raise FigureError(f"area {name!r} is not a division code kechuang knows")
        return engine.region_area(found)
    found = Organisation.objects.filter(key=name, kind__in=engine.CONTAINER_KINDS).first()
    if found is None:
        raise FigureError(f"area {name!r} is not a division code or the key of a zone or park")
    return engine.container_area(found)


def period_of(relative: str, period: Period) -> Period:
    if relative not in PERIODS:
        raise FigureError(f"period {relative!r}: expected one of {', '.join(PERIODS)}")
    try:
        return PERIODS[relative](period)
    except PeriodError as error:
        raise FigureError(f"period {relative!r} of {period.code}: {error}") from None


def resolve(declared: list[Declared], region: Region, period: Period, *,
            as_of: dt.datetime | None = None) -> dict[str, Value]:
    """Every declared value for the bulletin of `region` and `period`, as the public sees it."""
    groups: dict[tuple[str, Period], list[Declared]] = defaultdict(list)
    areas: dict[str, engine.Area] = {}
    for entry in declared:
        area = areas.setdefault(entry.area, area_of(entry.area, region))
        groups[(area.key, period_of(entry.period, period))].append(entry)
    found: dict[str, Value] = {}
    for (key, at), entries in groups.items():
        area = next(a for a in areas.values() if a.key == key)
        try:
            table = engine.evaluate(sorted({e.indicator for e in entries}), [area], [at], public=True, as_of=as_of)
        except engine.EngineError as error:
            raise FigureError(str(error)) from None
        for entry in entries:
            result = table.get(entry.indicator, area.key, at)
            rate = None
            if entry.dollars and result.shown is not None:
                rate = rate_on("USD", (as_of or table.as_of).date())
            found[entry.name] = Value(
                declared=entry, indicator=result.indicator, area=area, period=at, value=result.shown,
                basis=result.basis, provisional=result.provisional,
                suppressed=result.suppressed if result.shown is None else "",
                contributors=result.contributors, as_of=table.as_of,
                sources=_sources(result, as_of, rate), rate=rate)
    return found


def _sources(result: engine.Result, as_of: dt.datetime | None, rate: ExchangeRate | None) -> tuple[SourceRef, ...]:
    """The indicator's source, the source of the area's official figure when it is shown,
    the sources of the records counted, and the exchange rate's."""
    keys: list[int] = []
    if result.indicator.source_id:
        keys.append(result.indicator.source_id)
    if result.basis == "official" and result.indicator.official_metric_id:
        official = Observation.objects.filter(
            metric_id=result.indicator.official_metric_id, kind=ObservationKind.ACTUAL,
            status=ObservationStatus.PUBLISHED, period__in=engine.same_months(result.period),
            **({"region": result.area.region} if result.area.is_region else {"organisation": result.area.container}),
        ).exclude(source=None).order_by("-created_at").values_list("source_id", flat=True).first()
        if official:
            keys.append(official)
    if result.basis == "computed" and not result.suppressed:
        for part in engine.contributions(result.indicator.code, result.area, result.period, as_of=as_of,
                                         reviewed_only=True):
            if any(f.name == "source" for f in part.records.model._meta.fields):
                keys += part.records.exclude(source=None).values_list("source_id", flat=True).distinct()[:SOURCES_NAMED]
    if rate is not None:
        keys.append(rate.source_id)
    unique = list(dict.fromkeys(keys))[:SOURCES_NAMED + 1]
    rows = Source.objects.in_bulk(unique)
    return tuple(source_ref(rows[key]) for key in unique if key in rows)


def source_ref(source: Source) -> SourceRef:
    return SourceRef(source.key, source.title, source.url, source.publisher)

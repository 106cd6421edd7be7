"""The indicators engine: a request (indicators × areas × periods) in, a full table out.

How a figure is attributed:
- an area is a region subtree (a division and everything below it) or a zone or park
  (its tenants, and the tenants of the parks inside a zone);
- an enterprise's observation for a period counts for the area where the enterprise
  was located on the period's last day; an event (a project approved, a collaboration
  signed) counts for where its organisation was on the event's date; a stock counts
  what is in force, where it is, on the period's last day;
- an observation counts for a period when it covers exactly the period's months, under
  any code for them (2023H1 and 2023-01..2023-06 are the same months, 1-6月 = 上半年),
  once: an enterprise's figure recorded under both counts as the one recorded last;
- parks and zones never count as their own tenants: their own figures are official
  figures of the park, like a region's own (`Indicator.official_metric`).

Each measure is one SQL aggregate per group of areas whose region paths have the same
length (children of one region are one group), plus one for zones and parks, plus one
to rank contributors when disclosure is checked. The public's sums of confidential
figures over regions are instead one query for all of them (`tree_cells`: the figures
of every region of the subtrees that decide the suppression pattern, added up in
Python). The number of queries depends on the definitions asked for, never on the
number of areas, periods, enterprises or rows. Values are combined into indicators in
Python, per cell of the table.
"""

import copy
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property, reduce
from operator import or_

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Abs, Cast, RowNumber, Substr, TruncDate
from django.db.models.lookups import Exact
from django.utils import timezone

from kechuang.registry.models import CONTAINER_KINDS, Location, Organisation, Region, RegionLevel
from kechuang.statistics.models import Observation, ObservationKind, ObservationStatus
from kechuang.statistics.periods import KINDS, Period, PeriodError

from . import cache, disclosure, formulas, sources
from .models import Aggregate, Indicator, Measure, MeasureKind
from .sources import SUBJECT_FILTERS

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

#: Observations that count: reported to the bureau, and not returned for correction.
REPORTED = (ObservationStatus.SUBMITTED, ObservationStatus.APPROVED, ObservationStatus.PUBLISHED)
#: Of those, the ones the bureau has checked; public output counts only these.
REVIEWED = (ObservationStatus.APPROVED, ObservationStatus.PUBLISHED)


class EngineError(ValueError):
    """A request that cannot be answered (unknown code, bad formula), with the reason."""


# --- areas -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """A region subtree, or a zone or park with its tenants."""

    key: str  # the region's code or the organisation's key
    name_zh: str
    name_en: str
    region: Region | None = None
    container: Organisation | None = None

    @property
    def is_region(self) -> bool:
        return self.region is not None


def region_area(region: Region) -> Area:
    return Area(region.code, region.name_zh, region.name_en or region.name_zh, region=region)


def container_area(organisation: Organisation) -> Area:
    return Area(organisation.key, organisation.name_zh, organisation.name_en or organisation.name_zh,
                container=organisation)


#: What `by` may ask for besides one region: its children, or every region of a level below it.
BY = ("children", *RegionLevel.values)


def areas_for(region: str | None = None, *, by: str | None = None, within: str | None = None,
              on: dt.date | None = None) -> list[Area]:
    """The areas a request names: a region by code, with its children (`by="children"`) or
    every region of a level below it (`by="district"`: every district of a province), the
    region itself last as their total; and/or a zone or park by key. The regions below are
    the divisions in use on `on` (default today): 通州市 320683, abolished in 2009, is not a
    child of Nantong in a table of 2023."""
    areas: list[Area] = []
    if region:
        found = Region.objects.filter(code=region).first()
        if found is None:
            raise EngineError(f"region {region!r} is not a division code kechuang knows")
        in_use = Region.objects.valid_on(on or timezone.localdate())
        if by == "children":
            areas.extend(region_area(child) for child in in_use.filter(parent=found).order_by("code"))
        elif by:
            if by not in BY:
                raise EngineError(f"by {by!r}: expected one of {', '.join(BY)}")
            below = in_use.filter(path__startswith=found.path, level=by).exclude(pk=found.pk)
            areas.extend(region_area(descendant) for descendant in below.order_by("code"))
        areas.append(region_area(found))
    if within:
        container = Organisation.objects.filter(key=within).first()
        if container is None or container.kind not in CONTAINER_KINDS:
            raise EngineError(f"{within!r} is not the key of a zone or park")
        areas.append(container_area(container))
    if not areas:
        raise EngineError("name a region (a division code) or a zone or park")
    return areas


def period_series(first: Period, last: Period) -> list[Period]:
    """first, …, last, each the period after the one before (2019H1 … 2023H2)."""
    if first.kind != last.kind or (first.first_month, first.last_month) > (12, 12):
        raise EngineError(f"a series runs between two periods of one kind; {first} and {last} are not")
    series = [last]
    while series[-1] > first:
        try:
            series.append(series[-1].previous())
        except PeriodError as error:
            raise EngineError(str(error)) from None
        if len(series) > 240:
            raise EngineError("a series holds at most 240 periods")
    if series[-1] != first:
        raise EngineError(f"{first} is not a period of the series ending {last}")
    return series[::-1]


def same_months(period: Period) -> list[str]:
    """Every code for the months of `period` (2023H1: 2023H1 and 2023-01..2023-06)."""
    codes = []
    for kind in KINDS:
        try:
            codes.append(Period(period.year, period.first_month, period.last_month, kind).code)
        except PeriodError:
            continue
    return codes


def _overlap(a: Period, b: Period) -> bool:
    return a.year == b.year and a.first_month <= b.last_month and b.first_month <= a.last_month


def _layers(periods: Iterable[Period]) -> list[list[Period]]:
    """The periods in groups of disjoint ones: a row can fall in one period of a group only."""
    layers: list[list[Period]] = []
    for period in sorted(set(periods)):
        for layer in layers:
            if not any(_overlap(period, other) for other in layer):
                layer.append(period)
                break
        else:
            layers.append([period])
    return layers


# --- one measure -------------------------------------------------------------------------


@dataclass
class Cell:
    """One measure for one area and period."""

    value: Decimal | None
    contributors: int = 0
    unreviewed: int = 0  # contributing figures the bureau has not approved yet
    confidential: bool = False
    magnitude: Decimal = Decimal(0)  # the sum of the contributions' magnitudes, when disclosure is checked
    largest: tuple[Decimal, ...] = ()  # the two largest magnitudes of contributions, when disclosure is checked
    suppressed: str = ""  # why the cell may not be shown to the public

    def merge(self, other: "Cell", aggregate: str) -> "Cell":
        """Two disjoint groups of contributors, as one."""
        if self.value is None or other.value is None:
            value = self.value if other.value is None else other.value
        elif aggregate == "min":
            value = min(self.value, other.value)
        elif aggregate == "max":
            value = max(self.value, other.value)
        else:
            value = self.value + other.value
        largest = tuple(sorted(self.largest + other.largest, reverse=True)[:2])
        return Cell(value, self.contributors + other.contributors, self.unreviewed + other.unreviewed,
                    self.confidential or other.confidential, self.magnitude + other.magnitude, largest)

    @property
    def figures(self) -> disclosure.Figures:
        return disclosure.Figures(self.value or Decimal(0), self.contributors, self.magnitude, self.largest)


@dataclass(frozen=True)
class Rows:
    """What a measure aggregates: rows with a `bucket` (the index of their period), the path
    to the organisation each belongs to, and the date its location is read on."""

    queryset: QuerySet
    subject: str
    on: object  # an expression giving a date
    value: str  # the field aggregated ("" = rows are counted)
    contributor: str  # what counts as one contributor
    reviewed: bool = False  # rows carry an observation status
    by_metric: bool = False  # rows of several metrics, grouped by metric too


@dataclass
class Options:
    as_of: dt.datetime | None = None
    reviewed_only: bool = False  # count only figures the bureau approved (public output)
    check_disclosure: bool = False
    thresholds: disclosure.Thresholds = field(default_factory=disclosure.Thresholds)
    # The data's generations as read before computing, where what is read may be kept (kechuang.indicators.cache).
    generations: dict[str, int] | None = None


def _location_on(subject: str, on) -> Q:
    prefix = f"{subject}__locations"
    return ((Q(**{f"{prefix}__valid_from__isnull": True}) | Q(**{f"{prefix}__valid_from__lte": on}))
            & (Q(**{f"{prefix}__valid_to__isnull": True}) | Q(**{f"{prefix}__valid_to__gt": on})))


def _bucket(cases: list[tuple[Q, int]]) -> Case:
    return Case(*(When(condition, then=Value(index)) for condition, index in cases), output_field=IntegerField())


def observation_rows(measures: list[Measure], periods: list[Period], options: Options, once: bool = True) -> Rows:
    """The figures of the measures' metrics (the measures share their subject filter); `once`:
    see `counted_once`."""
    rows = enterprise_figures({m.metric_id for m in measures}, periods, options, once)
    rows = rows.filter(organisation__in=Organisation.objects.filter(_subjects(measures[0].subjects or {})).values("pk"))
    return Rows(rows.annotate(bucket=_bucket(_period_cases(periods))), "organisation", F("period_end"), "value",
                "organisation", reviewed=True, by_metric=True)


def enterprise_figures(metric_ids: Iterable[int], periods: list[Period], options: Options,
                       once: bool = True) -> QuerySet:
    """The organisations' figures of the metrics that count for the periods: reported (or
    reviewed, for the public), current at `as_of` or now, and (`once`) one per organisation,
    metric and months."""
    codes = [code for period in periods for code in same_months(period)]
    rows = Observation.objects.filter(metric_id__in=sorted(metric_ids), kind=ObservationKind.ACTUAL,
                                      organisation__isnull=False, period__in=codes)
    if once:
        rows = counted_once(rows, codes, options)
    rows = _as_of_observations(rows, options)
    return rows.filter(status__in=REVIEWED if options.reviewed_only else REPORTED)


def counted_once(rows: QuerySet, codes: list[str], options: Options) -> QuerySet:
    """Figures under `codes` without those recorded again later under another code for the same
    months (2023H1, and 2023-01..2023-06 from a statistics table): each code keeps its own
    current figure, so the months (not the codes) decide which figure stands, whatever its
    status, as a correction under one code would.

    Each row is looked up under the other codes of its months: a probe of the index of current
    figures (organisation, metric, period, kind), not a scan of the enterprise's figures."""
    others = {code: [other for other in same_months(Period.parse(code)) if other != code] for code in codes}
    same_months_as_outer = [
        Case(*(When(Exact(OuterRef("period"), code), then=Value(found[index]))
               for code, found in others.items() if len(found) > index), output_field=CharField())
        for index in range(max((len(found) for found in others.values()), default=0))]
    if not same_months_as_outer:
        return rows
    later = _current_at(Observation.objects.filter(
        reduce(or_, (Q(period=other) for other in same_months_as_outer)),
        organisation=OuterRef("organisation"), metric=OuterRef("metric"), kind=OuterRef("kind"),
    ).filter(Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))),
        options)
    return rows.filter(~Exists(later))


def _period_cases(periods: list[Period]) -> list[tuple[Q, int]]:
    return [(Q(period__in=same_months(period)), index) for index, period in enumerate(periods)]


def _subjects(subjects: dict) -> Q:
    """Which organisations' figures a measure of observations counts (never a park's or a zone's own)."""
    found = ~Q(kind__in=CONTAINER_KINDS)
    for name, wanted in subjects.items():
        found &= SUBJECT_FILTERS[name](wanted)
    return found


def _current_at(rows: QuerySet, options: Options) -> QuerySet:
    """The figures current at `as_of` (corrections since then undone), or now."""
    if options.as_of is None:
        return rows.filter(superseded_at__isnull=True)
    moment = options.as_of
    return rows.filter(Q(created_at__lte=moment) & (Q(superseded_at__isnull=True) | Q(superseded_at__gt=moment)))


def _as_of_observations(rows: QuerySet, options: Options) -> QuerySet:
    """The figures current at `as_of`, and for the public reviewed by then; or now."""
    rows = _current_at(rows, options)
    if options.as_of is not None and options.reviewed_only:
        rows = rows.filter(reviewed_at__lte=options.as_of)
    return rows


def event_rows(source: sources.Source, measure: Measure, periods: list[Period], options: Options) -> Rows:
    rows = source.rows(measure.parameters or {})
    if options.as_of is not None and source.recorded:
        rows = rows.filter(**{f"{source.recorded}__lte": options.as_of})
    cases = []
    for index, period in enumerate(periods):
        if source.is_datetime:
            start = dt.datetime.combine(period.start, dt.time.min, tzinfo=SHANGHAI)
            end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
            cases.append((Q(**{f"{source.date}__gte": start, f"{source.date}__lt": end}), index))
        else:
            cases.append((Q(**{f"{source.date}__gte": period.start, f"{source.date}__lte": period.end}), index))
    rows = rows.filter(reduce(or_, (condition for condition, _ in cases)))
    on = TruncDate(source.date, tzinfo=SHANGHAI) if source.is_datetime else F(source.date)
    return Rows(rows.annotate(bucket=_bucket(cases)), source.subject, on, source.value, "pk")


def stock_rows(source: sources.Source, measure: Measure, period: Period, index: int, options: Options) -> Rows:
    rows = source.rows(measure.parameters or {})
    if options.as_of is not None and source.recorded:
        rows = rows.filter(**{f"{source.recorded}__lte": options.as_of})
    day = period.end
    rows = rows.filter((Q(**{f"{source.valid_from}__isnull": True}) | Q(**{f"{source.valid_from}__lte": day}))
                       & (Q(**{f"{source.valid_to}__isnull": True}) | Q(**{f"{source.valid_to}__gt": day})))
    return Rows(rows.annotate(bucket=Value(index, output_field=IntegerField())), source.subject, Value(day),
                source.value, "pk")


def _aggregates(rows: Rows, aggregates: set[str], magnitude: bool = False) -> dict:
    """Only what the measures need: a count of contributors (a subject has one current figure
    of a metric for a period; an event or a stock row is one record), and the value's sum,
    minimum or maximum; for the dominance rule, the sum of the values' magnitudes."""
    found = {"n": Count(rows.contributor)}
    if rows.value:
        for aggregate, name, function in (("sum", "total", Sum), ("min", "low", Min), ("max", "high", Max)):
            if aggregate in aggregates:
                found[name] = function(rows.value)
        if magnitude:
            found["magnitude"] = Sum(Abs(rows.value))
    if rows.reviewed:
        found["unreviewed"] = Count("pk", filter=~Q(status__in=REVIEWED))
    return found


class _Keys(dict):
    """Group key → the areas a row of that group counts for: the regions whose path is that
    key, and the requested regions whose path is a prefix of it (a region counts every row
    of its subtree, whatever group the row is in)."""

    def __init__(self, exact: dict[str, list[Area]], enclosing: dict[str, Area]):
        super().__init__(exact)
        self.enclosing = enclosing

    def get(self, key, default=()):
        if key not in self:
            if key is None:
                return default
            self[key] = [area for path, area in self.enclosing.items() if key.startswith(path)]
        return self[key]


class _Grouping:
    """The areas of a request, in the groups one query can answer. Regions: one query for
    them all, grouped by the prefix of the longest requested path (a prefix of that length
    says which requested region of that depth a row is in, and the shorter requested paths it
    starts with say which larger ones): a district and its towns are one query, the district
    the sum of its groups. Zones and parks: one more, grouped by the container a row's
    organisation is located in."""

    def __init__(self, areas: list[Area]):
        self.by_length: dict[int, dict[str, Area]] = defaultdict(dict)
        self.containers: dict[int, list[Area]] = defaultdict(list)  # container pk → areas it counts for
        for area in areas:
            if area.is_region:
                self.by_length[len(area.region.path)][area.region.path] = area
        wanted = [area for area in areas if not area.is_region]
        if wanted:
            for area in wanted:
                self.containers[area.container.pk].append(area)
            # The parks inside a requested zone count for it (where they are now: parks do not move).
            inner = Location.objects.current().filter(within__in=[a.container.pk for a in wanted],
                                                      organisation__kind__in=CONTAINER_KINDS)
            for park_id, zone_id in inner.values_list("organisation_id", "within_id"):
                self.containers[park_id].extend(self.containers.get(zone_id, []))

    def queries(self, rows: Rows) -> list[tuple[QuerySet, dict]]:
        """(queryset annotated with `place` = the location and `area` = its group key, {key: [areas]})."""
        base = rows.queryset.order_by().annotate(
            place=FilteredRelation(f"{rows.subject}__locations", condition=_location_on(rows.subject, rows.on)))
        found = []
        if self.by_length:
            length = max(self.by_length)
            deepest = self.by_length[length]
            shallower = {path: area for depth, paths in self.by_length.items() if depth != length
                         for path, area in paths.items()}
            # A path under another requested path adds nothing to the filter.
            tops = [path for path in [*deepest, *shallower]
                    if not any(path != other and path.startswith(other) for other in shallower)]
            regions = Region.objects.filter(reduce(or_, (Q(path__startswith=path) for path in tops)))
            queryset = base.filter(place__region__in=regions).annotate(area=Substr("place__region__path", 1, length))
            keys = _Keys({path: [area, *[outer for top, outer in shallower.items() if path.startswith(top)]]
                          for path, area in deepest.items()}, shallower)
            found.append((queryset, keys))
        if self.containers:
            queryset = base.filter(place__within__in=list(self.containers)).annotate(
                area=Cast("place__within_id", output_field=CharField()))
            found.append((queryset, {str(pk): areas for pk, areas in self.containers.items()}))
        return found

    def containers_only(self) -> "_Grouping":
        """The same areas without the regions."""
        found = copy.copy(self)
        found.by_length = defaultdict(dict)
        return found

    def keys(self) -> list[str]:
        found = [area.key for paths in self.by_length.values() for area in paths.values()]
        found += [area.key for areas in self.containers.values() for area in areas]
        return list(dict.fromkeys(found))


def measure_cells(measures: list[Measure], grouping: _Grouping, periods: list[Period], options: Options,
                  counter: list[int]) -> dict[str, dict[tuple[str, Period], Cell]]:
    """The measures for every area and period: {measure code: {(area key, period): Cell}}.
    Either one measure of events or of a stock, or measures of observations with the same
    subject filter, which one query answers together (grouped by metric too)."""
    kind = measures[0].kind
    cells: dict[str, dict[tuple[str, Period], Cell]] = {measure.code: {} for measure in measures}
    by_metric: dict[int | None, list[Measure]] = defaultdict(list)
    for measure in measures:
        by_metric[measure.metric_id].append(measure)
    aggregates = {measure.aggregate for measure in measures}
    confidential = {measure.code: bool(measure.metric_id and measure.metric.confidential) for measure in measures}

    def absorb(grouped, keys: dict, rows: Rows, batch: list[Period]) -> None:
        counter[0] += 1
        for row in grouped:
            for measure in by_metric[row.get("metric_id")]:
                cell = _cell(row, measure.aggregate, rows, confidential[measure.code])
                found = cells[measure.code]
                for area in keys.get(row["area"], ()):
                    key = (area.key, batch[row["bucket"]])
                    found[key] = found[key].merge(cell, measure.aggregate) if key in found else replace(cell)

    if kind == MeasureKind.STOCK:
        # A row is in force on many periods' last days: one branch per period, one UNION ALL.
        (measure,) = measures
        source = sources.find(measure.source)
        ordered = sorted(set(periods))
        branches = [stock_rows(source, measure, period, index, options) for index, period in enumerate(ordered)]
        per_branch = [grouping.queries(rows) for rows in branches]
        for position in range(len(per_branch[0])):
            parts = [queries[position][0].values("area", "bucket").annotate(**_aggregates(rows, aggregates))
                     for queries, rows in zip(per_branch, branches, strict=True)]
            union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
            absorb(union, per_branch[0][position][1], branches[0], ordered)
    else:
        for batch in _layers(periods):
            if kind == MeasureKind.OBSERVATIONS:
                rows = observation_rows(measures, batch, options)
            else:
                (measure,) = measures
                rows = event_rows(sources.find(measure.source), measure, batch, options)
            group = ("area", "bucket", "metric_id") if rows.by_metric else ("area", "bucket")
            ranked = options.check_disclosure and rows.by_metric and any(confidential.values())
            for queryset, keys in grouping.queries(rows):
                absorb(queryset.values(*group).annotate(**_aggregates(rows, aggregates, ranked)), keys, rows, batch)
                if ranked:
                    counter[0] += 1
                    _rank(cells, by_metric, queryset, keys, rows, batch)
    # Events and stocks with nothing in a period are zero; figures nobody reported are unknown.
    empty = Decimal(0) if kind != MeasureKind.OBSERVATIONS else None
    for measure in measures:
        for area_key in grouping.keys():
            for period in periods:
                cells[measure.code].setdefault((area_key, period), Cell(empty, confidential=confidential[measure.code]))
    return cells


def _cell(row: dict, aggregate: str, rows: Rows, confidential: bool) -> Cell:
    n = row["n"]
    if aggregate == "count" or not rows.value:
        value = Decimal(n)
    else:
        value = {"sum": row.get("total"), "min": row.get("low"), "max": row.get("high")}[aggregate]
        value = Decimal(value) if value is not None else None
    return Cell(value, n, row.get("unreviewed", 0), confidential, Decimal(row.get("magnitude") or 0))


def _rank(cells: dict, by_metric: dict, queryset: QuerySet, keys: dict, rows: Rows, batch: list[Period]) -> None:
    """The two largest magnitudes of contributions of each cell of confidential figures, for the
    dominance rule (a large loss dominates a cell as a large profit does)."""
    ranked = (queryset.annotate(rank=Window(RowNumber(), partition_by=[F("area"), F("bucket"), F("metric_id")],
                                            order_by=Abs(rows.value).desc()))
              .filter(rank__lte=2).values_list("area", "bucket", "metric_id", Abs(rows.value)))
    for area_key, bucket, metric_id, magnitude in ranked:
        for measure in by_metric[metric_id]:
            for area in keys.get(area_key, ()):
                cell = cells[measure.code].get((area.key, batch[bucket]))
                if cell is not None:
                    cell.largest = tuple(sorted((*cell.largest, Decimal(magnitude)), reverse=True)[:2])


# --- indicators --------------------------------------------------------------------------


@dataclass
class Result:
    """One indicator for one area and period, with what it is made of."""

    indicator: Indicator
    area: Area
    period: Period
    computed: Decimal | None  # bottom up, from the enterprises' figures and the registry
    official: Decimal | None  # the area's own reported figure, where there is one
    value: Decimal | None  # what is shown: the official figure where there is one
    basis: str  # "official", "computed" or "" (no value)
    differs: bool  # official and computed further apart than the indicator's tolerance
    suppressed: str  # why the public may not see the computed figure ("" = it may)
    confidential: bool  # made of confidential figures (shown because the user may see them)
    provisional: bool  # some figures behind it are not approved by the bureau yet
    contributors: int  # the most records behind any one measure of it
    as_of: dt.datetime

    @property
    def shown(self) -> Decimal | None:
        """The value as it may be shown: None where the public may not see it."""
        if self.basis == "computed" and self.suppressed:
            return None
        return self.value


@dataclass
class Table:
    indicators: list[Indicator]
    areas: list[Area]
    periods: list[Period]
    results: dict[tuple[str, str, Period], Result]
    as_of: dt.datetime
    queries: int = 0
    key: tuple | None = None  # what the table is kept under (kechuang.indicators.cache), while it may be

    def get(self, indicator: str, area: str, period: Period) -> Result:
        return self.results[(indicator, area, period)]

    def __iter__(self):
        for indicator in self.indicators:
            for area in self.areas:
                for period in self.periods:
                    yield self.results[(indicator.code, area.key, period)]


class Definitions:
    """The indicators asked for and every measure and indicator their formulas read."""

    def __init__(self, codes: Iterable[str]):
        self.indicators: dict[str, Indicator] = {}
        self.measures: dict[str, Measure] = {}
        self.trees: dict[str, formulas.Node] = {}
        self.asked = [self._indicator(code, ()) for code in codes]

    def _indicator(self, code: str, path: tuple[str, ...]) -> Indicator:
        if code in path:
            raise EngineError(f"indicator {code} refers to itself: {' → '.join((*path, code))}")
        if code in self.indicators:
            return self.indicators[code]
        indicator = Indicator.objects.select_related("official_metric").filter(code=code).first()
        if indicator is None:
            raise EngineError(f"{code!r} is not an indicator; `kechuang indicator --list` shows the catalogue")
        try:
            tree = formulas.parse(indicator.formula)
        except formulas.FormulaError as error:
            raise EngineError(f"indicator {code}: {error}") from None
        self.indicators[code], self.trees[code] = indicator, tree
        for name in formulas.references(tree):  # a measure, else another indicator
            if name in self.measures:
                continue
            measure = Measure.objects.select_related("metric").filter(code=name).first()
            if measure is not None:
                self.measures[name] = measure
            else:
                self._indicator(name, (*path, code))
        return indicator

    def metric_ids(self) -> list[int]:
        """The metrics whose figures these indicators read: their measures' and official ones."""
        found = {measure.metric_id for measure in self.measures.values()
                 if measure.kind == MeasureKind.OBSERVATIONS and measure.metric_id}
        found |= {indicator.official_metric_id for indicator in self.indicators.values() if indicator.official_metric_id}
        return sorted(found)

    def needs(self, code: str, period: Period) -> set[tuple[str, Period]]:
        """The (measure code, period) pairs an indicator reads, through other indicators too."""
        found = set()
        for name, at in formulas.needs(self.trees[code], period):
            found |= {(name, at)} if name in self.measures else self.needs(name, at)
        return found


def internal_areas(user, areas: list[Area]) -> set[str]:
    """The areas whose every figure `user` may see: a superuser's all, a bureau's or an
    analyst's own subtree (and the zones and parks located in it), a park manager's park."""
    from kechuang.accounts.scoping import scope_of

    scope = scope_of(user)
    if scope.everything:
        return {area.key for area in areas}
    found = set()
    for area in areas:
        if area.is_region:
            path = area.region.path
        else:
            if area.container.pk in scope.parks:
                found.add(area.key)
                continue
            location = Location.objects.current().filter(organisation=area.container).select_related("region").first()
            path = location.region.path if location else None
        if path and any(path.startswith(read) for read in scope.read_paths):
            found.add(area.key)
    return found


def evaluate(codes: Iterable[str], areas: list[Area], periods: list[Period], *, user=None,
             as_of: dt.datetime | None = None, public: bool | None = None,
             thresholds: disclosure.Thresholds | None = None) -> Table:
    """Every indicator of `codes` for every area and period.

    `user` decides what is suppressed (see `internal_areas`); `public=True` treats every
    area as public (a bulletin's preview), `public=False` every area as internal (the
    operator on the command line). `as_of` computes the figures as the data stood then.
    A table of the data as it stands now is kept (kechuang.indicators.cache) and served again
    until a write to what it reads makes a new generation: the public's tables read the metrics'
    reviewed figures, the others' every figure reported.
    """
    codes = list(codes)
    if public is None:
        internal = internal_areas(user, areas)
    else:
        internal = set() if public else {area.key for area in areas}
    thresholds = thresholds or disclosure.Thresholds()
    key = seen = definitions = None
    if as_of is None and cache.size() > 0:  # the data as it stands now: kept until it is written
        seen = cache.snapshot()
        definitions = _definitions(codes, seen)
        names = [cache.DATA]
        for metric_id in definitions.metric_ids():
            if any(area.key not in internal for area in areas):
                names.append(cache.reviewed(metric_id))
            if internal:
                names.append(cache.reported(metric_id))
        # The codes as a set: a table of the same indicators asked in another order is the same
        # table, its indicators listed as asked.
        key = (tuple(seen.get(name, 0) for name in names), frozenset(codes), tuple((a.key, a.is_region) for a in areas),
               tuple(p.code for p in periods), frozenset(internal), thresholds.min_contributors,
               thresholds.dominance)
        kept = cache.get(key)
        if kept is not None:
            if [indicator.code for indicator in kept.indicators] == codes:
                return kept
            by_code = {indicator.code: indicator for indicator in kept.indicators}
            return replace(kept, indicators=[by_code[code] for code in codes])
    if definitions is None or [indicator.code for indicator in definitions.asked] != codes:
        definitions = Definitions(codes)
    moment = as_of or timezone.now()
    results: dict[tuple[str, str, Period], Result] = {}
    queries = 0
    for subset, is_public in (([a for a in areas if a.key in internal], False),
                              ([a for a in areas if a.key not in internal], True)):
        if subset:
            options = Options(as_of=as_of, reviewed_only=is_public, check_disclosure=is_public,
                              thresholds=thresholds, generations=seen)
            queries += _evaluate(definitions, subset, periods, options, moment, results)
    table = Table(definitions.asked, areas, list(periods), results, moment, queries, key)
    if key is not None:
        cache.put(key, table)
    return table


def _definitions(codes: list[str], seen: dict[str, int]) -> Definitions:
    """The catalogue's definitions of `codes` (in any order), kept while the data generation
    stands (they are read from the indicators' own tables)."""
    key = ("definitions", seen.get(cache.DATA, 0), frozenset(codes))
    found = cache.get(key)
    if found is None:
        found = Definitions(codes)
        cache.put(key, found)
    return found


def _evaluate(definitions: Definitions, areas: list[Area], periods: list[Period], options: Options,
              moment: dt.datetime, results: dict) -> int:
    counter = [0]
    wanted: dict[str, set[Period]] = defaultdict(set)
    for indicator in definitions.asked:
        for period in periods:
            for code, at in definitions.needs(indicator.code, period):
                wanted[code].add(at)
    grouping = _Grouping(areas)
    cells: dict[str, dict[tuple[str, Period], Cell]] = defaultdict(dict)
    regions = [area for area in areas if area.is_region]
    in_tree = [definitions.measures[code] for code in sorted(wanted)
               if options.check_disclosure and regions and _protected_in_tree(definitions.measures[code])]
    if in_tree:
        needed = sorted(set().union(*(wanted[measure.code] for measure in in_tree)))
        for code, found in tree_cells(in_tree, regions, needed, options, counter).items():
            cells[code].update(found)
    for batch, needed in _batches(definitions, wanted, {measure.code for measure in in_tree}):
        # The regions' cells of a measure protected over the region tree are in; its zones' and parks' are not.
        batch_grouping = grouping.containers_only() if batch[0] in in_tree else grouping
        if not batch_grouping.keys():
            continue
        found = measure_cells(batch, batch_grouping, needed, options, counter)
        for measure in batch:
            if options.check_disclosure and measure.metric_id and measure.metric.confidential:
                for cell in found[measure.code].values():
                    cell.suppressed = _primary(measure, cell, options.thresholds)
            cells[measure.code].update(found[measure.code])
    officials = _officials(definitions.asked, areas, periods, options, counter)
    for indicator in definitions.asked:
        for area in areas:
            for period in periods:
                results[(indicator.code, area.key, period)] = _result(
                    definitions, indicator, area, period, cells, officials, moment)
    return counter[0]


def _batches(definitions: Definitions, wanted: dict[str, set[Period]],
             in_tree: set[str]) -> list[tuple[list[Measure], list[Period]]]:
    """The measures in groups one query answers: observations with the same subject filter
    together (those protected over the region tree apart), every other measure alone; each
    group with the periods any of them needs."""
    groups: dict[str, list[Measure]] = defaultdict(list)
    for code in sorted(wanted):
        measure = definitions.measures[code]
        if measure.kind == MeasureKind.OBSERVATIONS:
            side = "in tree " if code in in_tree else ""
            groups[f"{side}observations {_filter_key(measure)}"].append(measure)
        else:
            groups[code].append(measure)
    return [(measures, sorted(set().union(*(wanted[m.code] for m in measures)))) for measures in groups.values()]


def _primary(measure: Measure, cell: Cell, thresholds: disclosure.Thresholds) -> str:
    """Why the public may not see a cell of confidential figures on its own account ("" = it may)."""
    if cell.value is None or not cell.contributors:
        return ""
    if measure.aggregate in (Aggregate.MIN, Aggregate.MAX):
        return disclosure.EXTREME
    return disclosure.primary(cell.figures, thresholds)


# --- disclosure control over the region tree -------------------------------------------------


def _protected_in_tree(measure: Measure) -> bool:
    """A sum or count of a confidential metric's figures: its public cells of regions follow one
    suppression pattern over the region tree. (A minimum or maximum is always one enterprise's
    figure, hidden on its own account.)"""
    return (measure.kind == MeasureKind.OBSERVATIONS and measure.metric.confidential
            and measure.aggregate in (Aggregate.SUM, Aggregate.COUNT))


def _parent_path(path: str) -> str | None:
    """320000/320600/320612/ → 320000/320600/; a province has none."""
    codes = path.rstrip("/").split("/")
    return "/".join(codes[:-1]) + "/" if len(codes) > 1 else None


@dataclass
class _Family:
    """A confidential metric's measures in the catalogue, and the subject filters that split its
    enterprises into classes (industrial output: above designated size or not)."""

    measures: list[Measure]
    filters: list[str]  # the measures' subject filters other than none, as JSON, each a flag of the query

    def flags(self, names: dict[str, str]) -> list[str]:
        return [names[key] for key in self.filters]

    def counts(self, measure: Measure, kind: tuple[int, ...]) -> bool:
        """Whether the enterprises of a class (one flag per filter) count for `measure`."""
        key = _filter_key(measure)
        return key == "{}" or kind[self.filters.index(key)] == 1


def tree_cells(measures: list[Measure], areas: list[Area], periods: list[Period], options: Options,
               counter: list[int]) -> dict[str, dict[tuple[str, Period], Cell]]:
    """The public cells of `measures` (sums and counts of confidential metrics) for the region
    `areas`, each metric and period under one suppression pattern decided over the region tree
    (see kechuang.indicators.disclosure), never over what the request happens to hold.

    Whether an area is hidden depends on the subtree of its parent (its siblings may need it
    as a complement), so that subtree is what is read, for every area asked: the figures of
    every region in it, by the classes of enterprises that the metric's measures in the
    catalogue tell apart (asked for or not: a table of industrial output must hide what a table
    of the output above designated size would give away with it). One query a layer of periods
    (the figures with their region and class), whatever the areas."""
    metric_ids = sorted({measure.metric_id for measure in measures})
    families: dict[int, _Family] = {}
    for member in Measure.objects.filter(kind=MeasureKind.OBSERVATIONS, metric_id__in=metric_ids).order_by("code"):
        families.setdefault(member.metric_id, _Family([], [])).measures.append(member)
    for family in families.values():
        family.filters = sorted({_filter_key(member) for member in family.measures} - {"{}"})
    names = {key: f"class_{index}" for index, key in enumerate(sorted({k for f in families.values() for k in f.filters}))}
    flags = {name: Case(When(_through(_subjects(json.loads(key)), "organisation"), then=Value(1)), default=Value(0),
                        output_field=IntegerField()) for key, name in names.items()}
    roots: list[str] = []
    for top in sorted({_parent_path(area.region.path) or area.region.path for area in areas}, key=len):
        if not any(top.startswith(root) for root in roots):
            roots.append(top)
    cells: dict[str, dict[tuple[str, Period], Cell]] = {measure.code: {} for measure in measures}
    for layer in _layers(periods):
        # Every public request under the same parent reads the same figures (each district's
        # page, the bulletin): kept like a table, until the data's next generation.
        seen = options.generations
        key = ("region tree", None if seen is None else (seen.get(cache.DATA, 0), *(
            seen.get(cache.reviewed(metric_id), 0) for metric_id in metric_ids)),
               tuple(metric_ids), tuple(sorted(names.items())), tuple(roots), tuple(period.code for period in layer))
        direct = cache.get(key) if seen is not None else None
        if direct is None:
            direct = _tree_figures(families, names, flags, roots, layer, options)
            counter[0] += 1
            if seen is not None:
                cache.put(key, direct)
        for bucket, period in enumerate(layer):
            for metric_id, family in families.items():
                asked = [measure for measure in measures if measure.metric_id == metric_id]
                for code, found in _family_cells(family, asked, direct.get((metric_id, bucket), {}), roots, areas,
                                                 period, options.thresholds).items():
                    cells[code].update(found)
    return cells


def _tree_figures(families: dict[int, _Family], names: dict[str, str], flags: dict[str, Case], roots: list[str],
                  layer: list[Period], options: Options) -> dict[tuple[int, int], dict[str, dict[tuple, disclosure.Figures]]]:
    """{(metric, bucket): {region path: {class: the figures of the enterprises located there}}}, in
    one query. The figures are added up here: ranking them in SQL for the two largest of each
    region and class would sort every row; a region's figures of one class are few."""
    rows = (enterprise_figures(list(families), layer, options).exclude(organisation__kind__in=CONTAINER_KINDS)
            .order_by().annotate(bucket=_bucket(_period_cases(layer)),
                                 place=FilteredRelation("organisation__locations",
                                                        condition=_location_on("organisation", F("period_end"))))
            .filter(place__region__in=Region.objects.filter(reduce(or_, (Q(path__startswith=r) for r in roots))))
            .annotate(node=F("place__region__path"), **flags))
    by_group: dict[tuple, list[Decimal]] = defaultdict(list)
    for *key, value in rows.values_list("node", "bucket", "metric_id", *flags, "value"):
        by_group[tuple(key)].append(value)
    direct: dict[tuple[int, int], dict[str, dict[tuple, disclosure.Figures]]] = defaultdict(dict)
    for (node, bucket, metric_id, *classes), values in by_group.items():
        kind = tuple(dict(zip(flags, classes, strict=True))[name] for name in families[metric_id].flags(names))
        by_class = direct[(metric_id, bucket)].setdefault(node, {})
        by_class[kind] = by_class.get(kind, disclosure.NOTHING) + disclosure.Figures.of(values)
    return dict(direct)


def _through(condition: Q, relation: str) -> Q:
    """A condition on organisations, read through a row's `relation` to its organisation: a column
    of the join the query has anyway, not a list of organisations looked up again for every row."""
    found = Q(_connector=condition.connector, _negated=condition.negated)
    for child in condition.children:
        found.children.append(_through(child, relation) if isinstance(child, Q) else (f"{relation}__{child[0]}", child[1]))
    return found


def _filter_key(measure: Measure) -> str:
    return json.dumps(measure.subjects or {}, sort_keys=True)


def _family_cells(family: _Family, asked: list[Measure], direct: dict[str, dict[tuple, disclosure.Figures]],
                  roots: list[str], areas: list[Area], period: Period,
                  thresholds: disclosure.Thresholds) -> dict[str, dict[tuple[str, Period], Cell]]:
    """The asked measures of one metric for one period, from the pattern over its tree: the
    regions with figures and their ancestors up to the roots read."""
    parents: dict[str, str | None] = {}
    for node in direct:
        while node not in parents:
            parents[node] = None if node in roots else _parent_path(node)
            node = parents[node] or node
    classes = sorted({kind for by_class in direct.values() for kind in by_class
                      if any(family.counts(measure, kind) for measure in family.measures)})
    hierarchy = disclosure.Hierarchy(parents, {node: tuple(by_class.get(kind, disclosure.NOTHING) for kind in classes)
                                               for node, by_class in direct.items()}, len(classes))
    pattern = disclosure.protect(hierarchy, thresholds)
    cells: dict[str, dict[tuple[str, Period], Cell]] = {}
    for measure in asked:
        counted = [index for index, kind in enumerate(classes) if family.counts(measure, kind)]
        found = cells[measure.code] = {}
        for area in areas:
            totals = hierarchy.totals.get(area.region.path)
            figures = sum((totals[index] for index in counted), disclosure.NOTHING) if totals else disclosure.NOTHING
            if not figures.contributors:
                found[(area.key, period)] = Cell(None, confidential=True)
                continue
            value = figures.value if measure.aggregate == Aggregate.SUM else Decimal(figures.contributors)
            hidden = pattern.reason(area.region.path, counted)
            # Hidden on its own account; else as a complement; else for another class of the metric's enterprises.
            reason = disclosure.primary(figures, thresholds) or (
                hidden if hidden in ("", disclosure.COMPLEMENTARY) else disclosure.RELATED)
            found[(area.key, period)] = Cell(value, figures.contributors, 0, True, figures.magnitude, figures.largest,
                                             reason)
    return cells


def _result(definitions: Definitions, indicator: Indicator, area: Area, period: Period, cells: dict,
            officials: dict, moment: dt.datetime) -> Result:
    used: list[Cell] = []

    def lookup(code: str, at: Period) -> Decimal | None:
        if code in definitions.measures:
            cell = cells[code].get((area.key, at))
            if cell is None:
                return None
            used.append(cell)
            return cell.value
        return formulas.evaluate(definitions.trees[code], at, lookup)

    computed = formulas.evaluate(definitions.trees[indicator.code], period, lookup)
    official = officials.get((indicator.code, area.key, period))
    value, basis = (official, "official") if official is not None else (computed, "computed" if computed is not None else "")
    differs = (official is not None and computed is not None
               and abs(official - computed) > indicator.tolerance)
    suppressed = next((cell.suppressed for cell in used if cell.suppressed), "")
    return Result(
        indicator=indicator, area=area, period=period, computed=computed, official=official, value=value,
        basis=basis, differs=differs, suppressed=suppressed,
        confidential=any(cell.confidential for cell in used),
        provisional=any(cell.unreviewed for cell in used),
        contributors=max((cell.contributors for cell in used), default=0), as_of=moment,
    )


def _officials(indicators: list[Indicator], areas: list[Area], periods: list[Period], options: Options,
               counter: list[int]) -> dict[tuple[str, str, Period], Decimal]:
    """The areas' own figures of the indicators' official metrics, in one query."""
    by_metric: dict[int, list[Indicator]] = defaultdict(list)
    for indicator in indicators:
        if indicator.official_metric_id:
            by_metric[indicator.official_metric_id].append(indicator)
    if not by_metric:
        return {}
    codes = {code: period for period in periods for code in same_months(period)}
    regions = {area.region.pk: area for area in areas if area.is_region}
    containers = {area.container.pk: area for area in areas if not area.is_region}
    rows = _as_of_observations(Observation.objects.filter(
        metric_id__in=list(by_metric), kind=ObservationKind.ACTUAL, period__in=list(codes),
        status__in=(ObservationStatus.PUBLISHED,) if options.reviewed_only else REPORTED,
    ).filter(Q(region__in=list(regions)) | Q(organisation__in=list(containers))), options)
    counter[0] += 1
    found = {}
    for metric_id, region_id, organisation_id, code, value in rows.order_by("-created_at").values_list(
            "metric_id", "region_id", "organisation_id", "period", "value"):
        area = regions.get(region_id) if region_id else containers.get(organisation_id)
        for indicator in by_metric[metric_id]:
            found.setdefault((indicator.code, area.key, codes[code]), Decimal(value))
    return found


# --- provenance --------------------------------------------------------------------------


@dataclass
class Contribution:
    """The records behind one measure of a value: which observations, which projects."""

    measure: Measure
    period: Period
    records: QuerySet  # every record counted (the caller decides what a user may see of it)

    @cached_property
    def count(self) -> int:
        return self.records.count()


def contributions(code: str, area: Area, period: Period, *, as_of: dt.datetime | None = None,
                  reviewed_only: bool = False) -> list[Contribution]:
    """For one value, the records of each measure its formula reads, by measure and period
    (a growth rate reads the same measure in two periods)."""
    definitions = Definitions([code])
    options = Options(as_of=as_of, reviewed_only=reviewed_only)
    grouping = _Grouping([area])
    found = []
    for name, at in sorted(definitions.needs(code, period), key=lambda pair: (pair[0], pair[1])):
        measure = definitions.measures[name]
        if measure.kind == MeasureKind.OBSERVATIONS:
            # Counted once outside the `pk IN (…)`: inside, PostgreSQL plans the NOT EXISTS into a
            # scan of every figure (20 times slower).
            rows = observation_rows([measure], [at], options, once=False)
        elif measure.kind == MeasureKind.EVENTS:
            rows = event_rows(sources.find(measure.source), measure, [at], options)
        else:
            rows = stock_rows(sources.find(measure.source), measure, at, 0, options)
        model = rows.queryset.model
        matching = [model.objects.filter(pk__in=queryset.values("pk")) for queryset, _ in grouping.queries(rows)]
        records = matching[0] if len(matching) == 1 else model.objects.none()
        if measure.kind == MeasureKind.OBSERVATIONS:
            records = counted_once(records, same_months(at), options)
        found.append(Contribution(measure, at, records))
    return found


@dataclass(frozen=True)
class Correction:
    """A figure behind a value that changed after a moment: what it was then and is now."""

    observation: Observation  # the figure now
    before: Decimal | None  # the figure as it stood at the moment (None: there was none)


def corrections(code: str, area: Area, period: Period, since: dt.datetime) -> list[Correction]:
    """The figures behind a value that were added or corrected after `since` (a bulletin's
    publication): each with its value then and now. Registry events are not versioned this
    way; see docs/indicators.md."""
    then = contributions(code, area, period, as_of=since)
    now = contributions(code, area, period)
    found = []
    for before, after in zip(then, now, strict=True):
        if before.measure.kind != MeasureKind.OBSERVATIONS:
            continue
        old = {(row.organisation_id, row.metric_id): row.value for row in before.records}
        for row in after.records.filter(created_at__gt=since).select_related("organisation", "metric"):
            found.append(Correction(row, old.get((row.organisation_id, row.metric_id))))
    return found

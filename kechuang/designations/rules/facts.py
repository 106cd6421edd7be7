"""Fetching what a rule set needs about many enterprises in a fixed number of queries.

For a region's enterprises the facts come in: one query for the enterprises, one for the
metrics' ids, one for every observation the rule set reads (all its metrics and years in one
statement, ordered by enterprise so that it streams), one for the founding dates when a rule
needs them, and the designation registry's lookup when a rule needs designations. Only that
lookup grows with the region, by one call per 10,000 enterprises, since SQLite caps the
parameters of a statement: screening a city costs the same queries as screening one firm.

Which figures count: current (not superseded), actual (not estimates or targets), and
reported to the bureau (submitted, approved or published; drafts and figures returned for
correction do not count). A year's figure is the observation of the year (`2025`) or of
its twelve months as a range (`2025-01..2025-12`), the year's own code first.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Min, Q, TextField
from django.db.models.functions import Cast

from kechuang.registry.models import Milestone, MilestoneKind
from kechuang.statistics.models import Metric, Observation, ObservationKind, ObservationStatus

from .definitions import RuleSet
from .engine import Facts, OrganisationRef, Provenance, anchor_year

#: The statuses of a figure that screening counts: reported to the bureau, not drafts.
COUNTED_STATUSES = (ObservationStatus.SUBMITTED, ObservationStatus.APPROVED, ObservationStatus.PUBLISHED)
#: The designation registry is asked about this many enterprises at a time.
DESIGNATION_CHUNK = 10_000
#: Rows read from the database at a time while streaming observations.
STREAM_CHUNK = 20_000


class FactsError(ValueError):
    """The facts cannot be fetched as asked (an unknown metric, a judgement that makes no sense)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.reason = field, message


def needed_years(rule_set: RuleSet, on: dt.date) -> dict[str, set[int]]:
    """The years of each metric the rule set reads when screening on `on`."""
    anchor = anchor_year(on)
    depth = {code: 1 for code in rule_set.figures}
    for criterion in rule_set.all_criteria():
        if criterion.kind == "compare":
            depth[criterion.figure.code] = max(depth[criterion.figure.code], criterion.each_year)
    years: dict[str, set[int]] = {}
    for code, figure in rule_set.figures.items():
        for metric, offset in figure.metric_offsets:
            for extra in range(depth[code]):
                years.setdefault(metric, set()).add(anchor - offset - extra)
    return years


def year_codes(year: int) -> tuple[str, str]:
    """A full year's period codes: the year itself, and its twelve months as a range."""
    return str(year), f"{year}-01..{year}-12"


def metric_ids(rule_set: RuleSet) -> dict[str, int]:
    """The ids of the metrics the rule set reads; FactsError names those not in the catalogue."""
    found = dict(Metric.objects.filter(code__in=rule_set.metric_codes).values_list("code", "pk"))
    unknown = sorted(rule_set.metric_codes - set(found))
    if unknown:
        raise FactsError("ruleset", f"{rule_set.code} reads metric{'s' if len(unknown) > 1 else ''} "
                                    f"{', '.join(unknown)}, not in the metrics catalogue (kechuang migrate loads it)")
    return found


def metric_names(rule_set: RuleSet) -> dict[str, tuple[str, str]]:
    """The metrics' names (zh, en) by code, for explanations."""
    return {code: (zh, en) for code, zh, en in
            Metric.objects.filter(code__in=rule_set.metric_codes).values_list("code", "name_zh", "name_en")}


def gather(rule_set: RuleSet, organisations, on: dt.date, *, judgements: dict | None = None,
           provenance: bool = False) -> Iterator[tuple[OrganisationRef, Facts]]:
    """(organisation, facts) for every organisation of the queryset, in id order.

    `judgements` maps an organisation's key (or id) to its judgements by code (checked with
    `check_judgements`). With `provenance`, each figure keeps the observation it came from.
    """
    ids = metric_ids(rule_set)
    enterprises = [OrganisationRef(*row) for row in
                   organisations.order_by("pk").values_list("pk", "key", "name_zh", "name_en")]
    if not enterprises:
        return
    subset = organisations.values("pk")
    founded = {}
    if rule_set.uses_founded:
        founded = dict(Milestone.objects.filter(organisation__in=subset, kind=MilestoneKind.FOUNDED)
                       .values("organisation_id").annotate(first=Min("date")).values_list("organisation_id", "first"))
    held = held_designations([ref.id for ref in enterprises], on) if rule_set.uses_designations else {}
    judgements = judgements or {}
    figures = _observed(rule_set, subset, on, ids, provenance)
    pending = next(figures, None)
    for ref in enterprises:
        while pending is not None and pending[0] < ref.id:
            pending = next(figures, None)
        values, sources = {}, ({} if provenance else None)
        if pending is not None and pending[0] == ref.id:
            _, values, sources = pending
            pending = next(figures, None)
        yield ref, Facts(values, founded.get(ref.id), None if held is None else held.get(ref.id, set()),
                         judgements.get(ref.key, judgements.get(ref.id)), sources)


def _observed(rule_set: RuleSet, subset, on: dt.date, ids: dict[str, int], provenance: bool):
    """(organisation id, {(metric, year): value}, {(metric, year): Provenance} or None) in id order,
    from one statement: every observation the rule set reads (per metric, its years), ordered
    by organisation so that it streams."""
    needed = needed_years(rule_set, on)
    if not needed:
        return
    condition, slots = Q(), {}
    for metric, years in sorted(needed.items()):
        codes = []
        for year in sorted(years):
            own, months = year_codes(year)
            codes += [own, months]
            # Where an observation goes, and whether it is the year's own code, which wins over
            # the same twelve months written as a range.
            slots[(ids[metric], own)], slots[(ids[metric], months)] = ((metric, year), True), ((metric, year), False)
        condition |= Q(metric_id=ids[metric], period__in=codes)
    columns = ["organisation_id", "metric_id", "period", "amount"]
    if provenance:
        columns += ["pk", "status", "source__key"]
    # The value as its decimal text, made a Decimal here: exact on both databases, and it spares the
    # per-row converter SQLite's decimals would need.
    rows = (Observation.objects.filter(organisation__in=subset, kind=ObservationKind.ACTUAL,
                                       superseded_at__isnull=True, status__in=COUNTED_STATUSES)
            .filter(condition).annotate(amount=Cast("value", output_field=TextField()))
            .order_by("organisation_id").values_list(*columns).iterator(chunk_size=STREAM_CHUNK))
    current, values, sources = None, {}, None
    if provenance:
        for organisation, metric_id, period, amount, pk, status, source in rows:
            if organisation != current:
                if current is not None:
                    yield current, values, sources
                current, values, sources = organisation, {}, {}
            key, own = slots[(metric_id, period)]
            if own or key not in values:
                values[key] = Decimal(amount)
                sources[key] = Provenance(pk, period, status, source)
    else:
        # The same loop without the sources: the one a province's pool runs, four hundred thousand
        # rows a city, so kept to the least work a row.
        for organisation, metric_id, period, amount in rows:
            if organisation != current:
                if current is not None:
                    yield current, values, None
                current, values = organisation, {}
            key, own = slots[(metric_id, period)]
            if own or key not in values:
                values[key] = Decimal(amount)
    if current is not None:
        yield current, values, sources


def held_designations(organisation_ids: list[int], on: dt.date) -> dict[int, set[str]] | None:
    """The designation types each enterprise holds on `on`, from the designation registry,
    or None when the registry cannot answer (it is not installed)."""
    lookup = registry_lookup()
    if lookup is None:
        return None
    held: dict[int, set[str]] = {}
    for start in range(0, len(organisation_ids), DESIGNATION_CHUNK):
        for organisation, types in lookup(organisation_ids[start:start + DESIGNATION_CHUNK], on).items():
            held[organisation] = set(types)
    return held


def registry_lookup():
    """kechuang.designations.services.valid_designations(organisation_ids, on) → {id: {type codes}},
    or None while the designation registry does not provide it. Looked up on each use, so that
    a test can replace it (monkeypatch this function, or the registry's)."""
    try:
        services = importlib.import_module("kechuang.designations.services")
    except ModuleNotFoundError as error:
        if error.name == "kechuang.designations.services":
            return None
        raise
    return getattr(services, "valid_designations", None)


# --- judgements --------------------------------------------------------------------------------

_YES = {"yes", "true", "y", "1", "是"}
_NO = {"no", "false", "n", "0", "否"}


def check_judgements(rule_set: RuleSet, judgements: dict | None) -> dict:
    """The judgements given for enterprises (key or id → {judgement code: answer}) in the form
    the engine reads: yes-no as True/False, points as Decimal within 0..max, a choice as its
    option's code. FactsError names the enterprise, the judgement and what is wrong."""
    checked = {}
    for organisation, answers in (judgements or {}).items():
        if not isinstance(answers, dict):
            raise FactsError("expert_inputs", f"{organisation}: expected judgements by code, found {answers!r}")
        checked[organisation] = {}
        for code, answer in answers.items():
            judgement = rule_set.judgements.get(code)
            where = f"{organisation}.{code}"
            if judgement is None:
                raise FactsError("expert_inputs", f"{where}: {rule_set.code} has no judgement {code!r}; its judgements "
                                                  f"are {', '.join(sorted(rule_set.judgements)) or 'none'}")
            if answer is None:
                continue
            if judgement.kind == "yes-no":
                word = answer.strip().lower() if isinstance(answer, str) else None
                if isinstance(answer, bool):
                    checked[organisation][code] = answer
                elif word in _YES or word in _NO:
                    checked[organisation][code] = word in _YES
                else:
                    raise FactsError("expert_inputs", f"{where}: {answer!r} is not yes or no")
            elif judgement.kind == "points":
                try:
                    points = Decimal(str(answer)) if not isinstance(answer, bool) else None
                except ArithmeticError:
                    points = None
                if points is None or not points.is_finite() or not 0 <= points <= judgement.maximum:
                    raise FactsError("expert_inputs", f"{where}: {answer!r} is not a number of points from 0 to "
                                                      f"{judgement.maximum}")
                checked[organisation][code] = points
            else:
                if judgement.option(str(answer)) is None:
                    raise FactsError("expert_inputs", f"{where}: {answer!r} is not one of "
                                                      f"{', '.join(o.code for o in judgement.options)}")
                checked[organisation][code] = str(answer)
    return checked

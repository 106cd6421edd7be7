"""What a rule set is made of, once read from its YAML file (loader.py) and checked.

These are plain, immutable values: the loader builds them, the engine (engine.py) reads
them, the explanations (explain.py) and the API describe them. Nothing here touches
the database.

A rule set (`RuleSet`) holds named figures (`Figure`: a reported metric over one or more
years, a formula over other figures, a growth rate, or a registry fact), the judgements
experts or the bureau give (`Judgement`), configurable numbers (`Parameter`) and a tree
of criteria (`Criterion`). Every part that rests on a number the research notes mark
[UNVERIFIED] carries `verified=False` and the note saying why, so that the explanation
of a screening can say so next to the verdict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

#: The units a figure is measured in. Money is yuan; percent is a number of percent (5 is
#: 5%); count is items or persons; years and points are what they say; number is a plain number
#: (a rank, a ratio).
UNITS = ("money", "percent", "count", "years", "points", "number")

#: Comparison words as the YAML writes them, with their symbol.
OPERATORS = {"at_least": "≥", "above": ">", "at_most": "≤", "below": "<"}

#: The statuses of a criterion, from the enterprise's point of view.
PASS, FAIL, MISSING, AWAITING = "pass", "fail", "missing", "awaiting"
STATUSES = (PASS, FAIL, MISSING, AWAITING)


def compare(operator: str, value: Decimal, threshold: Decimal) -> bool:
    """Whether `value` meets `threshold` under `operator` (exact Decimal comparison)."""
    if operator == "at_least":
        return value >= threshold
    if operator == "above":
        return value > threshold
    if operator == "at_most":
        return value <= threshold
    return value < threshold


def wants_more(operator: str) -> bool:
    """Whether a larger value is better under `operator` (≥, >) rather than smaller (≤, <)."""
    return operator in ("at_least", "above")


@dataclass(frozen=True)
class Source:
    """A document a rule rests on: 国科发火〔2016〕32号, a third-party copy, the research notes."""

    key: str
    title: str
    url: str = ""
    note: str = ""


@dataclass(frozen=True)
class Citation:
    """A source and the clause cited in it ("art. 11(5)")."""

    source: Source
    clause: str = ""

    @property
    def text(self) -> str:
        return f"{self.source.title} {self.clause}".strip()


@dataclass(frozen=True)
class Note:
    """Why a part of a rule set is not verified, in both languages."""

    zh: str
    en: str


@dataclass(frozen=True)
class Parameter:
    """A configurable number (or table, or list) of a rule set, with where it comes from.

    Numbers the research notes mark [UNVERIFIED] are parameters with `verified=False`;
    `overridden` says a deployment replaced the shipped value (settings.ELIGIBILITY_PARAMETERS).
    """

    name: str
    value: object
    citation: Citation | None
    verified: bool
    note: Note | None
    overridden: bool = False


@dataclass(frozen=True)
class Figure:
    """A named figure of an enterprise, evaluated for an anchor year (the last full year).

    kind `metric`: the metric's reported values for the `years` years ending at the anchor,
    added up (`combine` sum) or averaged (mean). kind `formula`: an expression over other
    figures (kechuang/indicators/formulas.py; `last_year(x)` is x one year earlier).
    kind `growth`: the growth of another figure over `years` years, in percent, either the
    mean of the yearly growth rates (arithmetic) or compound (CAGR). kind `registry`: the
    full years since the enterprise was founded (its `founded` milestone), on the screening date.

    `metric_offsets` lists every (metric, years before the anchor) the figure reads, so that
    the facts needed can be fetched in one query and a missing one named.
    """

    code: str
    name_zh: str
    name_en: str
    unit: str
    kind: str
    metric: str = ""
    years: int = 1
    combine: str = "sum"
    formula: str = ""
    node: object = None
    growth_of: str = ""
    average: str = ""
    registry: str = ""
    metric_offsets: frozenset = frozenset()
    uses_founded: bool = False
    depends_on: frozenset = frozenset()
    verified: bool = True
    notes: tuple[Note, ...] = ()

    def span(self, anchor: int) -> tuple[int, int] | None:
        """The first and last year of the figures it reads for `anchor`, or None for a registry fact."""
        if not self.metric_offsets:
            return None
        offsets = [offset for _, offset in self.metric_offsets]
        return anchor - max(offsets), anchor - min(offsets)


@dataclass(frozen=True)
class Option:
    """One answer of a choice judgement and the points it is worth (low and high end of a range)."""

    code: str
    name_zh: str
    name_en: str
    points: tuple[Decimal, Decimal]


@dataclass(frozen=True)
class Judgement:
    """An input an expert panel or the bureau gives; never computed.

    kind `yes-no`: met or not. kind `points`: points from 0 to `maximum`. kind `choice`: one of
    `options`, each worth points.
    """

    code: str
    name_zh: str
    name_en: str
    kind: str
    maximum: Decimal | None = None
    options: tuple[Option, ...] = ()
    citation: Citation | None = None

    def option(self, code: str) -> Option | None:
        return next((option for option in self.options if option.code == code), None)

    @property
    def points_range(self) -> tuple[Decimal, Decimal]:
        """The points it can give: what a score counts while the judgement is awaited."""
        if self.kind == "points":
            return Decimal(0), self.maximum
        return min(o.points[0] for o in self.options), max(o.points[1] for o in self.options)


@dataclass(frozen=True)
class Band:
    """One row of a table of intervals: a bracket (a threshold, or criteria) or a score band (points).

    `row` is the row's number in the file (1 = first), for error messages and explanations.
    A missing bound is unbounded.
    """

    row: int
    lower: Decimal | None
    lower_inclusive: bool
    upper: Decimal | None
    upper_inclusive: bool
    points: tuple[Decimal, Decimal] | None = None
    threshold: Decimal | None = None
    criteria: tuple[Criterion, ...] = ()

    def contains(self, value: Decimal) -> bool:
        if self.lower is not None and (value < self.lower or (value == self.lower and not self.lower_inclusive)):
            return False
        if self.upper is not None and (value > self.upper or (value == self.upper and not self.upper_inclusive)):
            return False
        return True


@dataclass(frozen=True)
class Table:
    """Bands that together cover every value exactly once (the loader refuses anything else).

    `by` names the figure that chooses the band, for a bracket table; a score band table is
    read with its item's figure.
    """

    where: str
    bands: tuple[Band, ...]
    unit: str
    by: Figure | None = None
    verified: bool = True
    notes: tuple[Note, ...] = ()

    def find(self, value: Decimal) -> Band:
        # Band.contains, inlined: a province's screening looks bands up millions of times.
        for band in self.bands:
            lower, upper = band.lower, band.upper
            if lower is not None and (value < lower or (value == lower and not band.lower_inclusive)):
                continue
            if upper is not None and (value > upper or (value == upper and not band.upper_inclusive)):
                continue
            return band
        raise AssertionError(f"{self.where}: no band holds {value}; the loader checks coverage")


@dataclass(frozen=True)
class Alternative:
    """One way a score item is scored: a figure read through a band table, or a judgement."""

    figure: Figure | None = None
    table: Table | None = None
    judgement: Judgement | None = None


@dataclass(frozen=True)
class ScoreItem:
    """One scored indicator. With several alternatives the best counts (the enterprise picks
    the R&D ratio that serves it, or the better of two ways of counting its IP)."""

    code: str
    name_zh: str
    name_en: str
    group: str
    maximum: Decimal
    alternatives: tuple[Alternative, ...]
    verified: bool = True
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class ScoreGroup:
    """Items summed together, capped at `maximum`; `minimum` is a floor the group must reach."""

    code: str
    name_zh: str
    name_en: str
    maximum: Decimal
    minimum: Decimal | None = None


@dataclass(frozen=True)
class Score:
    items: tuple[ScoreItem, ...]
    groups: tuple[ScoreGroup, ...]
    operator: str
    threshold: Decimal

    def group(self, code: str) -> ScoreGroup | None:
        return next((group for group in self.groups if group.code == code), None)


@dataclass(frozen=True)
class Remedy:
    """What to change to pass a failed comparison: more (or less) of `figure`, and by the same
    amount of the figures in `also`, which contain it (more high-tech revenue is more revenue
    too; repaying liabilities lowers the assets as well)."""

    figure: Figure
    name_zh: str
    name_en: str
    also: tuple[Figure, ...] = ()


@dataclass(frozen=True)
class Criterion:
    """One condition of a rule set, or a group of them.

    kinds: `compare` (a figure against a threshold, fixed or chosen by a bracket, optionally
    in each of the last `each_year` years); `holds` (a valid designation of one of `types`);
    `judgement` (a yes-no judgement); `score` (a scoring table); `all` / `any` (children);
    `bracket` (children chosen by the band a figure falls in).
    """

    code: str
    name_zh: str
    name_en: str
    kind: str
    citation: Citation | None = None
    verified: bool = True
    notes: tuple[Note, ...] = ()
    applies: bool = True
    figure: Figure | None = None
    operator: str = ""
    threshold: Decimal | None = None
    bracket: Table | None = None
    each_year: int = 1
    remedy: Remedy | None = None
    types: tuple[str, ...] = ()
    judgement: Judgement | None = None
    score: Score | None = None
    children: tuple[Criterion, ...] = ()

    def walk(self):
        """This criterion and every criterion below it (bracket rows included)."""
        yield self
        for child in self.children:
            yield from child.walk()
        if self.kind == "bracket":
            for band in self.bracket.bands:
                for child in band.criteria:
                    yield from child.walk()


@dataclass(frozen=True)
class RuleSet:
    """One version of the rules of one designation, in force from `effective_from` up to
    (not including) `effective_to`."""

    code: str
    family: str
    grants: str
    name_zh: str
    name_en: str
    effective_from: dt.date
    effective_to: dt.date | None
    file: Path
    rule_version: str = ""
    based_on: str = ""
    effective_verified: bool = True
    effective_note: Note | None = None
    caveat: Note | None = None
    sources: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    judgements: dict = field(default_factory=dict)
    criteria: tuple[Criterion, ...] = ()

    def in_force_on(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def all_criteria(self):
        for criterion in self.criteria:
            yield from criterion.walk()

    @property
    def metric_codes(self) -> set[str]:
        return {metric for figure in self.figures.values() for metric, _ in figure.metric_offsets}

    @property
    def uses_designations(self) -> bool:
        return any(c.kind == "holds" and c.applies for c in self.all_criteria())

    @property
    def uses_founded(self) -> bool:
        return any(figure.uses_founded for figure in self.figures.values())

    @property
    def unverified_parameters(self) -> list[Parameter]:
        return [parameter for parameter in self.parameters.values() if not parameter.verified]

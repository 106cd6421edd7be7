"""The one engine that evaluates every rule set: figures, criteria, scores, closeness.

It works on one enterprise's facts at a time (`Facts`: its reported figures by metric and
year, its founding date, the designations it holds, the judgements given), already fetched
in bulk (facts.py), and never touches the database: screening a province is a loop in
Python over enterprises whose facts came in a few queries.

Years. A rule names "last year", "the last 2 years", "the last 3 fiscal years"; all are
counted back from the anchor year, the last full calendar year before the screening date
(screened on 2026-04-01: 2025, 2024 and 2023). Figures are the enterprise's full-year
observations of those years.

Statuses (definitions.STATUSES): pass; fail; missing (a figure the criterion needs is not
reported, or cannot be computed, e.g. a ratio over zero revenue); awaiting (an expert's or
the bureau's judgement is not given yet). Missing data is never a pass. Groups combine
them as three-valued logic does: all-of fails if any child fails, else lacks data if any
does, else awaits if any awaits, else passes; any-of passes if any child passes.

Scores. Every item has a range of points: a fixed band gives one number, an expert band
(HNTE "9–10 points") or an awaited judgement gives a range. The score passes when the low
end of the total already passes, fails when even the high end does not, and otherwise
waits for the experts (or for the missing figure). An item whose figure is missing makes
the score "missing" unless even full marks on it could not pass.

Closeness (docs/eligibility.md): each outcome carries (unmet, shortfall, awaiting): unmet
counts failed criteria and criteria lacking data; shortfall adds up, per failed criterion,
how far it is from its threshold relative to the threshold (0.15 = 15% short, at most 1; a
criterion lacking data counts 1); awaiting counts criteria waiting for a judgement. All-of
adds its children up; any-of takes its closest child. The pool sorts on these three, in
this order.
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, ROUND_UP, Context, Decimal, InvalidOperation
from typing import NamedTuple

from kechuang.indicators import formulas

from .definitions import (
    AWAITING,
    FAIL,
    MISSING,
    PASS,
    Band,
    Criterion,
    Figure,
    Judgement,
    RuleSet,
    ScoreItem,
    compare,
)

# The formulas module computes with 50 digits; derived figures here do the same.
_CONTEXT = Context(prec=50)
ZERO, ONE, HUNDRED = Decimal(0), Decimal(1), Decimal(100)
#: Remedies are given to the cent: "about 1.9 million yuan more R&D" needs no more.
CENT = Decimal("0.01")


class OrganisationRef(NamedTuple):
    id: int
    key: str
    name_zh: str
    name_en: str


class Provenance(NamedTuple):
    """Where one figure came from: the observation, its period code, status and source."""

    observation: int
    period: str
    status: str
    source: str | None


class Facts:
    """One enterprise's inputs: figures by (metric code, year), founding date, designations
    held on the screening date (None: the designation registry could not say), judgements
    by code, and, when asked for, where each figure came from."""

    __slots__ = ("values", "founded", "held", "judgements", "provenance")

    def __init__(self, values=None, founded: dt.date | None = None, held: set[str] | None = None,
                 judgements: dict | None = None, provenance: dict | None = None):
        self.values = values if values is not None else {}
        self.founded = founded
        self.held = held
        self.judgements = judgements or {}
        self.provenance = provenance


# --- outcomes ----------------------------------------------------------------------------------


@dataclass(slots=True)
class ItemOutcome:
    """One score item: the points (low, high), how they were found, what was missing."""

    item: ScoreItem
    low: Decimal
    high: Decimal
    status: str  # known, range (experts pick within), missing, awaiting
    value: Decimal | None = None
    band: Band | None = None
    alternative: int | None = None
    answer: object = None
    lacks_data: bool = False
    missing: tuple = ()


@dataclass(slots=True)
class Outcome:
    """One criterion's result for one enterprise, with what the explanation needs."""

    criterion: Criterion
    status: str
    unmet: int = 0
    shortfall: Decimal = ZERO
    awaiting: int = 0
    value: Decimal | None = None
    years: tuple = ()  # ((year, value), …): a comparison in each of several years, the latest first
    threshold: Decimal | None = None
    band: Band | None = None
    by_value: Decimal | None = None
    gap: Decimal | None = None  # how far from the threshold, in the figure's unit (the worst year)
    remedies: tuple = ()  # ((year, change of the remedy figure), …)
    missing: tuple = ()  # ((metric, year), …), or ("founded",) / ("designations",)
    reason: str = ""  # for a missing value with every input there: "undefined" (a division by zero)
    low: Decimal | None = None
    high: Decimal | None = None
    items: tuple = ()
    groups: tuple = ()  # ((group, low, high), …)
    children: tuple = ()
    answer: object = None

    @property
    def closeness(self) -> tuple[int, Decimal, int]:
        return self.unmet, self.shortfall, self.awaiting


def _leaf(outcome: Outcome, relative: Decimal = ONE) -> Outcome:
    if outcome.status == FAIL:
        outcome.unmet, outcome.shortfall = 1, min(ONE, relative)
    elif outcome.status == MISSING:
        outcome.unmet, outcome.shortfall = 1, ONE
    elif outcome.status == AWAITING:
        outcome.awaiting = 1
    return outcome


def all_of(statuses) -> str:
    statuses = list(statuses)
    for status in (FAIL, MISSING, AWAITING):
        if status in statuses:
            return status
    return PASS


def any_of(statuses) -> str:
    statuses = list(statuses)
    for status in (PASS, MISSING, AWAITING):
        if status in statuses:
            return status
    return FAIL


def _summed(outcome: Outcome, children) -> Outcome:
    outcome.unmet = sum(child.unmet for child in children)
    outcome.shortfall = sum((child.shortfall for child in children), ZERO)
    outcome.awaiting = sum(child.awaiting for child in children)
    return outcome


# --- evaluation --------------------------------------------------------------------------------


class _Run:
    """Figures of one enterprise, computed once each per year (memo), optionally with one
    figure replaced (a remedy's trial)."""

    __slots__ = ("facts", "memo", "compute")

    def __init__(self, facts: Facts, compute: dict, overrides: dict | None = None):
        self.facts, self.compute, self.memo = facts, compute, dict(overrides or {})

    def get(self, code: str, year: int) -> Decimal | None:
        key = (code, year)
        memo = self.memo
        if key in memo:
            return memo[key]
        value = memo[key] = self.compute[code](self, year)
        return value


class Evaluator:
    """A rule set ready to evaluate enterprises for one screening date.

    Figures and criteria are compiled once into closures (a province is tens of millions of
    figure reads): each criterion becomes a function of one enterprise's figures that returns
    its Outcome. The logic per kind is in the `_compile_*` methods below.
    """

    def __init__(self, rule_set: RuleSet, on: dt.date):
        self.rule_set, self.on, self.year = rule_set, on, anchor_year(on)
        self.compute = {code: self._compile_figure(figure) for code, figure in rule_set.figures.items()}
        self._top = [self._compile(criterion) for criterion in rule_set.criteria if criterion.applies]

    # Figures

    def _compile_figure(self, figure: Figure):
        if figure.kind == "metric":
            return _metric_function(figure)
        if figure.kind == "formula":
            return _formula_function(figure.node, self.rule_set.figures)
        if figure.kind == "growth":
            return _growth_function(figure)
        on = self.on

        def years_since_founded(run: _Run, year: int) -> Decimal | None:
            founded = run.facts.founded
            if founded is None:
                return None
            years = on.year - founded.year - ((on.month, on.day) < (founded.month, founded.day))
            return Decimal(max(years, 0))

        return years_since_founded

    def figure(self, facts: Facts, code: str, year: int | None = None) -> Decimal | None:
        """One figure of one enterprise (for `year`, by default the anchor year)."""
        return _Run(facts, self.compute).get(code, self.year if year is None else year)

    def missing_inputs(self, figure: Figure, facts: Facts, year: int) -> tuple:
        """What `figure` for `year` needs that the facts lack: (metric, year) pairs, or ("founded",)."""
        gaps = sorted({(metric, year - offset) for metric, offset in figure.metric_offsets
                       if (metric, year - offset) not in facts.values}, key=lambda pair: (pair[1], pair[0]))
        if figure.uses_founded and facts.founded is None:
            gaps.append(("founded",))
        return tuple(gaps)

    # Criteria

    def evaluate(self, facts: Facts) -> tuple[tuple[Outcome, ...], Outcome]:
        """Every applicable top-level criterion's outcome, and their combination (the verdict)."""
        run = _Run(facts, self.compute)
        outcomes = tuple(evaluate(run) for evaluate in self._top)
        return outcomes, _summed(Outcome(None, all_of(o.status for o in outcomes)), outcomes)

    def _compile(self, criterion: Criterion):
        return getattr(self, f"_compile_{criterion.kind}")(criterion)

    def _compile_holds(self, criterion: Criterion):
        types = criterion.types

        def holds(run: _Run) -> Outcome:
            held = run.facts.held
            if held is None:
                return _leaf(Outcome(criterion, MISSING, missing=("designations",)))
            found = tuple(t for t in types if t in held)
            return _leaf(Outcome(criterion, PASS if found else FAIL, answer=found))

        return holds

    def _compile_judgement(self, criterion: Criterion):
        code = criterion.judgement.code
        awaited = _leaf(Outcome(criterion, AWAITING))  # never changed once made: shared by every enterprise

        def judged(run: _Run) -> Outcome:
            answer = run.facts.judgements.get(code)
            if answer is None:
                return awaited
            return _leaf(Outcome(criterion, PASS if answer else FAIL, answer=answer))

        return judged

    def _compile_all(self, criterion: Criterion):
        children = [self._compile(child) for child in criterion.children if child.applies]

        def every(run: _Run) -> Outcome:
            found = tuple(child(run) for child in children)
            return _summed(Outcome(criterion, all_of(c.status for c in found), children=found), found)

        return every

    def _compile_any(self, criterion: Criterion):
        children = [self._compile(child) for child in criterion.children if child.applies]

        def some(run: _Run) -> Outcome:
            found = tuple(child(run) for child in children)
            outcome = Outcome(criterion, any_of(c.status for c in found), children=found)
            outcome.unmet, outcome.shortfall, outcome.awaiting = min(c.closeness for c in found)
            return outcome

        return some

    def _compile_bracket(self, criterion: Criterion):
        by, table, anchor = criterion.bracket.by, criterion.bracket, self.year
        rows = {band.row: [self._compile(child) for child in band.criteria if child.applies] for band in table.bands}

        def bracketed(run: _Run) -> Outcome:
            by_value = run.get(by.code, anchor)
            if by_value is None:
                gaps = self.missing_inputs(by, run.facts, anchor)
                return _leaf(Outcome(criterion, MISSING, missing=gaps, reason="" if gaps else "undefined"))
            band = table.find(by_value)
            found = tuple(child(run) for child in rows[band.row])
            return _summed(Outcome(criterion, all_of(c.status for c in found), band=band, by_value=by_value,
                                   children=found), found)

        return bracketed

    def _compile_compare(self, criterion: Criterion):
        code, meets, anchor = criterion.figure.code, _TESTS[criterion.operator], self.year
        fixed, table = criterion.threshold, criterion.bracket
        years = tuple(range(anchor, anchor - criterion.each_year, -1))
        single = len(years) == 1

        def compared(run: _Run) -> Outcome:
            threshold, band, by_value = fixed, None, None
            if table is not None:
                by_value = run.get(table.by.code, anchor)
                if by_value is None:
                    gaps = self.missing_inputs(table.by, run.facts, anchor)
                    return _leaf(Outcome(criterion, MISSING, missing=gaps, reason="" if gaps else "undefined"))
                band = table.find(by_value)
                threshold = band.threshold
            if single:
                value = run.get(code, anchor)
                values = ((anchor, value),)
                if value is None:
                    return self._missing_comparison(criterion, run, values, threshold, band, by_value)
                failing = not meets(value, threshold)
            else:
                values = tuple((year, run.get(code, year)) for year in years)
                failing = False
                for _, value in values:
                    if value is None:
                        return self._missing_comparison(criterion, run, values, threshold, band, by_value)
                    if not meets(value, threshold):
                        failing = True
            outcome = Outcome(criterion, FAIL if failing else PASS, years=values, value=values[0][1],
                              threshold=threshold, band=band, by_value=by_value)
            return self._failed(criterion, run, outcome) if failing else outcome

        return compared

    def _missing_comparison(self, criterion: Criterion, run: _Run, values: tuple, threshold, band, by_value) -> Outcome:
        gaps = tuple(gap for year, value in values if value is None
                     for gap in self.missing_inputs(criterion.figure, run.facts, year))
        return _leaf(Outcome(criterion, MISSING, years=values, value=values[0][1], threshold=threshold, band=band,
                             by_value=by_value, missing=gaps, reason="" if gaps else "undefined"))

    def _failed(self, criterion: Criterion, run: _Run, outcome: Outcome) -> Outcome:
        """A failed comparison: how far off (the worst year), and what would make it pass."""
        threshold, meets = outcome.threshold, _TESTS[criterion.operator]
        failing = [(year, value) for year, value in outcome.years if not meets(value, threshold)]
        outcome.gap = max(abs(threshold - value) for _, value in failing)
        if criterion.remedy is not None:
            outcome.remedies = tuple((year, change) for year, _ in failing
                                     if (change := self.remedy(criterion, run, year, threshold)) is not None)
        relative = ONE if threshold == 0 else _CONTEXT.divide(outcome.gap, abs(threshold))
        return _leaf(outcome, relative)

    def remedy(self, criterion: Criterion, run: _Run, year: int, threshold: Decimal) -> Decimal | None:
        """How much the remedy figure (and the figures containing it) must change, for `year`, for
        the compared figure to reach the threshold, everything else as reported. None if no
        change reaches it.

        Exact for the figures the rules compare — linear in the change (a share of a sum) or
        linear-fractional (a part over a whole that grows with it) — from three evaluations and
        the cross-ratio, which such a map keeps; checked by a fourth, and found by bisection
        for anything else (a growth rate).
        """
        remedy, figure = criterion.remedy, criterion.figure
        start, current = run.get(remedy.figure.code, year), run.get(figure.code, year)
        if start is None or current is None:
            return None
        changed = (remedy.figure, *remedy.also)
        bases = [(f, run.get(f.code, year)) for f in changed]
        if any(base is None for _, base in bases):
            return None

        def trial(change: Decimal) -> Decimal | None:
            values, overrides = run.facts.values, {}
            for changed_figure, base in bases:
                if changed_figure.kind == "metric" and changed_figure.years == 1:
                    # Formulas read a one-year reported figure straight from the facts: change it there.
                    if values is run.facts.values:
                        values = dict(values)
                    values[(changed_figure.metric, year)] = base + change
                else:
                    overrides[(changed_figure.code, year)] = base + change
            facts = run.facts if values is run.facts.values else Facts(values, run.facts.founded, run.facts.held,
                                                                         run.facts.judgements)
            return _Run(facts, self.compute, overrides).get(figure.code, year)

        step = max(abs(start), ONE)
        first, second = trial(step), trial(step + step)
        if first is None or second is None or first == current:
            return None
        change = _through_cross_ratio(step, current, first, second, threshold)
        if change is not None:
            reached = trial(change)
            if reached is None or abs(reached - threshold) > abs(threshold - current) * Decimal("1e-20"):
                change = None
        if change is None:
            change = self._search(trial, current, threshold, criterion.operator, step if first > current else -step)
            if change is None:
                return None
        # Up to the cent, after dropping the last digits' noise of 50-digit division.
        return change.quantize(Decimal("1e-12"), rounding=ROUND_HALF_UP).quantize(CENT, rounding=ROUND_UP)

    @staticmethod
    def _search(trial, current: Decimal, threshold: Decimal, operator: str, step: Decimal) -> Decimal | None:
        """Bisection for a figure that is monotone but neither linear nor linear-fractional."""
        towards = 1 if (threshold > current) == (step > 0) else -1
        reach = step * towards

        def reached(value: Decimal | None) -> bool:
            return value is not None and (compare(operator, value, threshold) or value == threshold)

        for _ in range(64):
            if reached(trial(reach)):
                break
            reach *= 2
        else:
            return None
        near, far = ZERO, reach
        for _ in range(100):
            middle = (near + far) / 2
            if reached(trial(middle)):
                far = middle
            else:
                near = middle
        return far

    def _compile_score(self, criterion: Criterion):
        score = criterion.score
        items = [self._compile_item(item) for item in score.items]
        groups = [(group, [index for index, item in enumerate(score.items) if item.group == group.code])
                  for group in score.groups]
        meets, threshold = _TESTS[score.operator], score.threshold
        # Before any judgement is given (a pool's usual case) the judged items are the same for every
        # enterprise: made once, only the items scored from figures are evaluated.
        judged = {index for index, item in enumerate(score.items)
                  if all(way.judgement is not None for way in item.alternatives)}
        nobody = _Run(Facts(), self.compute)
        template = [items[index](nobody) if index in judged else None for index in range(len(items))]
        measured = [(index, items[index]) for index in range(len(items)) if index not in judged]

        def scored(run: _Run) -> Outcome:
            if run.facts.judgements:
                found = tuple(item(run) for item in items)
            else:
                filled = list(template)
                for index, item in measured:
                    filled[index] = item(run)
                found = tuple(filled)
            totals, floors_possible, floors_certain = [], True, True
            if groups:
                low_total = high_total = ZERO
                for group, members in groups:
                    low = high = ZERO
                    for index in members:
                        low += found[index].low
                        high += found[index].high
                    low, high = min(group.maximum, low), min(group.maximum, high)
                    totals.append((group, low, high))
                    low_total += low
                    high_total += high
                    if group.minimum is not None:
                        floors_possible = floors_possible and high >= group.minimum
                        floors_certain = floors_certain and low >= group.minimum
            else:
                low_total = sum((o.low for o in found), ZERO)
                high_total = sum((o.high for o in found), ZERO)
            possible = floors_possible and meets(high_total, threshold)
            if not possible:
                status = FAIL
            elif any(o.status == MISSING for o in found):
                status = MISSING
            elif floors_certain and meets(low_total, threshold):
                status = PASS
            elif any(o.lacks_data for o in found):
                status = MISSING
            else:
                status = AWAITING
            outcome = Outcome(criterion, status, value=low_total, low=low_total, high=high_total,
                              threshold=threshold, items=found, groups=tuple(totals))
            if status != FAIL:
                return _leaf(outcome)
            short = max(ZERO, threshold - high_total) + sum(
                (max(ZERO, group.minimum - high) for group, _, high in totals if group.minimum is not None), ZERO)
            outcome.gap = short
            return _leaf(outcome, _CONTEXT.divide(short, threshold) if threshold else ONE)

        return scored

    def _compile_item(self, item: ScoreItem):
        """One score item as a function of an enterprise's figures. An item judged by experts that
        awaits its judgement is the same for every enterprise: that outcome is made once."""
        anchor = self.year
        ways = []
        for index, alternative in enumerate(item.alternatives):
            if alternative.judgement is not None:
                low, high = alternative.judgement.points_range
                ways.append((index, None, None, alternative.judgement, (AWAITING, low, high, index, None, None, None)))
            else:
                table = alternative.table
                lows, highs = [band.points[0] for band in table.bands], [band.points[1] for band in table.bands]
                ways.append((index, alternative.figure, table, None,
                             (MISSING, min(lows), max(highs), index, None, None, None)))

        def judged(run: _Run, index: int, judgement: Judgement, absent: tuple) -> tuple:
            answer = run.facts.judgements.get(judgement.code)
            if answer is None:
                return absent
            if judgement.kind == "points":
                return "known", answer, answer, index, None, None, answer
            low, high = judgement.option(answer).points
            return "known" if low == high else "range", low, high, index, None, None, answer

        if len(ways) == 1 and ways[0][3] is not None:
            index, _, _, judgement, absent = ways[0]
            awaited = self._item_outcome(item, [absent], ())

            def one_judgement(run: _Run) -> ItemOutcome:
                found = judged(run, index, judgement, absent)
                return awaited if found is absent else self._item_outcome(item, [found], ())

            return one_judgement

        def item_outcome(run: _Run) -> ItemOutcome:
            found, missing = [], ()
            for index, figure, table, judgement, absent in ways:
                if judgement is not None:
                    found.append(judged(run, index, judgement, absent))
                    continue
                value = run.get(figure.code, anchor)
                if value is None:
                    missing += self.missing_inputs(figure, run.facts, anchor)
                    found.append(absent)
                    continue
                band = table.find(value)
                low, high = band.points
                if len(ways) == 1:
                    return ItemOutcome(item, low, high, "known" if low == high else "range", value=value, band=band,
                                       alternative=index)
                found.append(("known" if low == high else "range", low, high, index, value, band, None))
            return self._item_outcome(item, found, missing)

        return item_outcome

    @staticmethod
    def _item_outcome(item: ScoreItem, found: list, missing: tuple) -> ItemOutcome:
        """The best of an item's ways: (status, low, high, index, value, band, answer) each."""
        lacks_data = any(entry[0] == MISSING for entry in found)
        high = max(entry[2] for entry in found)
        determined = [entry for entry in found if entry[0] in ("known", "range")]
        if not determined:
            return ItemOutcome(item, min(entry[1] for entry in found), high, MISSING if lacks_data else AWAITING,
                               lacks_data=lacks_data, missing=missing)
        best = max(determined, key=lambda entry: (entry[1], entry[2]))
        low = best[1]
        return ItemOutcome(item, low, high, "known" if low == high else "range", value=best[4], band=best[5],
                           alternative=best[3], answer=best[6], lacks_data=lacks_data and high > low, missing=missing)


_TESTS = {"at_least": operator.ge, "above": operator.gt, "at_most": operator.le, "below": operator.lt}


def _through_cross_ratio(step: Decimal, at_zero: Decimal, at_step: Decimal, at_two_steps: Decimal,
                        target: Decimal) -> Decimal | None:
    """The change d with f(d) = target, for f linear or linear-fractional in d, from f(0), f(h), f(2h).

    Such maps keep cross-ratios: CR(0, h, 2h, d) = CR(f(0), f(h), f(2h), target), which gives
    d = 2h / (2 − K) with K = ((f0 − f2)(f1 − target)) / ((f1 − f2)(f0 − target)).
    """
    try:
        ratio = _CONTEXT.divide(_CONTEXT.multiply(at_zero - at_two_steps, at_step - target),
                                _CONTEXT.multiply(at_step - at_two_steps, at_zero - target))
        return _CONTEXT.divide(step + step, 2 - ratio)
    except (InvalidOperation, ZeroDivisionError, ArithmeticError):
        return None


def anchor_year(on: dt.date) -> int:
    """The last full calendar year before the screening date: the "last year" of the rules."""
    return on.year - 1


# --- compiled figures --------------------------------------------------------------------------


def _metric_function(figure: Figure):
    metric, years, mean = figure.metric, figure.years, figure.combine == "mean"
    divisor = Decimal(years)
    if years == 1:
        def one_year(run: _Run, year: int):
            return run.facts.values.get((metric, year))
        return one_year

    def several_years(run: _Run, year: int):
        values = run.facts.values
        total = ZERO
        for back in range(years):
            value = values.get((metric, year - back))
            if value is None:
                return None
            total = _CONTEXT.add(total, value)
        return _CONTEXT.divide(total, divisor) if mean else total

    return several_years


def _growth_function(figure: Figure):
    """Growth in percent over `years` years: arithmetic, the mean of the yearly rates (the HNTE
    guideline's ½ × (y2/y1 + y3/y2) − 1); compound, (last ÷ first)^(1/years) − 1 (CAGR)."""
    of, years, compound = figure.growth_of, figure.years, figure.average == "compound"
    root = _CONTEXT.divide(ONE, Decimal(years))

    def growth(run: _Run, year: int):
        if compound:
            last, first = run.get(of, year), run.get(of, year - years)
            if last is None or first is None or first <= 0 or last < 0:
                return None
            try:
                factor = _CONTEXT.power(_CONTEXT.divide(last, first), root)
            except InvalidOperation:
                return None
            return _CONTEXT.multiply(factor - ONE, HUNDRED)
        total = ZERO
        for back in range(years):
            now, before = run.get(of, year - back), run.get(of, year - back - 1)
            if now is None or before is None or before == 0:
                return None
            total = _CONTEXT.add(total, _CONTEXT.divide(now, before))
        return _CONTEXT.multiply(_CONTEXT.divide(total, Decimal(years)) - ONE, HUNDRED)

    return growth


def _formula_function(node, figures: dict):
    """A formula (kechuang/indicators/formulas.py) compiled to nested closures over years.

    The same meaning as formulas.evaluate with yearly periods: a missing figure or a division
    by zero gives None, and so does everything computed from it; last_year(x) and previous(x)
    read x a year earlier; share(a, b) = a ÷ b × 100; yoy(x) is growth on a year earlier in
    percent. Compiled once per rule set, because a province's screening evaluates each
    formula hundreds of thousands of times.
    """
    if isinstance(node, formulas.Number):
        constant = node.value
        return lambda run, year: constant
    if isinstance(node, formulas.Ref):
        code, figure = node.code, figures[node.code]
        if figure.kind == "metric" and figure.years == 1:
            key_metric = figure.metric  # a reported figure is read straight from the facts
            return lambda run, year: run.facts.values.get((key_metric, year))
        return lambda run, year: run.get(code, year)
    if isinstance(node, formulas.Negative):
        operand = _formula_function(node.operand, figures)

        def negative(run, year):
            value = operand(run, year)
            return None if value is None else -value
        return negative
    if isinstance(node, formulas.Binary):
        left, right, op = _formula_function(node.left, figures), _formula_function(node.right, figures), node.op
        return lambda run, year: formulas.arithmetic(op, left(run, year), right(run, year))
    arguments = [_formula_function(argument, figures) for argument in node.arguments]
    name = node.function
    if name in ("last_year", "previous"):
        inner = arguments[0]
        return lambda run, year: inner(run, year - 1)
    if name in ("yoy", "pop"):
        inner = arguments[0]

        def growth(run, year):
            ratio = formulas.arithmetic("/", inner(run, year), inner(run, year - 1))
            return None if ratio is None else formulas.arithmetic("*", ratio - ONE, HUNDRED)
        return growth
    if name == "change":
        inner = arguments[0]
        return lambda run, year: formulas.arithmetic("-", inner(run, year), inner(run, year - 1))
    if name == "share":
        top, bottom = arguments

        def share(run, year):
            ratio = formulas.arithmetic("/", top(run, year), bottom(run, year))
            return None if ratio is None else _CONTEXT.multiply(ratio, HUNDRED)
        return share
    if name in ("ratio", "per_capita"):
        top, bottom = arguments
        return lambda run, year: formulas.arithmetic("/", top(run, year), bottom(run, year))
    if name == "sum":
        def total(run, year):
            result = ZERO
            for argument in arguments:
                value = argument(run, year)
                if value is None:
                    return None
                result = _CONTEXT.add(result, value)
            return result
        return total
    raise ValueError(f"the formula function {name} has no yearly meaning")  # the loader parsed it: never reached

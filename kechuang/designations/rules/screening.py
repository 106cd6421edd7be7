"""Screening (资格预审) and the cultivation pool (培育库): the use cases the CLI and the API call.

- `find_rule_set(name, on)`: the rule set in force on a date, by family (`little-giant`)
  or by code (`LITTLE-GIANT-2026`, refused if not in force that day: the rules applied
  are those in force on the application or screening date).
- `screen_organisation(organisation, rule_set, on)`: one enterprise, every criterion with
  its figures (and where each came from), thresholds and explanation.
- `screen_region(rule_set, region, on)`: every enterprise located in the region now,
  ranked by closeness (engine.py): the cultivation pool.

Who may screen (kechuang/accounts/scoping.py decides what they see): the pool of a region
is for the bureau admins and analysts of a region holding it (and superusers); one
enterprise, for whoever may see that enterprise (its own users, its park's managers, the
bureau and analysts of its district). `user=None` is the operator on the command line.
Screening reads; it never writes.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from kechuang.accounts.scoping import scope_of, visible_to
from kechuang.errors import RoleRefusal
from kechuang.registry.models import Organisation, OrganisationKind, Region

from . import facts as fetch
from .definitions import PASS, RuleSet
from .engine import Evaluator, Facts, OrganisationRef, Outcome, anchor_year
from .loader import rule_sets


class ScreeningError(ValidationError):
    """A screening that cannot be made as asked; `field` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__({field: [message]})
        self.field, self.reason = field, message


class NotAllowed(ScreeningError, RoleRefusal):
    """The user's role does not allow this screening (the API answers 403)."""


class NotVisible(ScreeningError):
    """The enterprise does not exist or is not the user's to see (the API answers 404, as for any row)."""


@dataclass
class Screening:
    """One enterprise screened against one rule set on one date."""

    organisation: OrganisationRef
    rule_set: RuleSet
    on: dt.date
    year: int
    outcomes: tuple[Outcome, ...]
    overall: Outcome
    facts: Facts | None = None
    rank: int = 0

    @property
    def status(self) -> str:
        return self.overall.status

    @property
    def closeness(self) -> tuple:
        """The pool's sort key: criteria unmet, total relative shortfall, judgements awaited, then the key."""
        return (*self.overall.closeness, self.organisation.key)


@dataclass
class Pool:
    """The cultivation pool of a region for one rule set: every enterprise, closest first."""

    rule_set: RuleSet
    region: Region
    on: dt.date
    year: int
    results: list[Screening]
    metric_names: dict = field(default_factory=dict)


#: The cultivation pool's "near" (培育对象): at most this many criteria failed or lacking data.
NEAR_UNMET = 1
#: An enterprise's standing against a rule set, as the pool's pages group them.
ELIGIBLE, NEAR, NOT_YET = "eligible", "near", "not"
STANDINGS = (ELIGIBLE, NEAR, NOT_YET)


def standing(screening: Screening) -> str:
    """eligible: every criterion met; near: nothing unmet but judgements awaited, or at most
    `NEAR_UNMET` criteria failed or lacking data (the enterprises to cultivate); not: the rest."""
    if screening.status == PASS:
        return ELIGIBLE
    return NEAR if screening.overall.unmet <= NEAR_UNMET else NOT_YET


def today() -> dt.date:
    return timezone.localdate()


# --- rule sets ---------------------------------------------------------------------------------


def list_rule_sets() -> list[RuleSet]:
    """Every rule set, by family and date."""
    return sorted(rule_sets().values(), key=lambda r: (r.family, r.effective_from))


def find_rule_set(name: str, on: dt.date | None = None) -> RuleSet:
    """The rule set named by its code, or the one of a family (or granted designation) in force on `on`."""
    on = on or today()
    every = rule_sets()
    text = (name or "").strip()
    by_code = {code.lower(): rule_set for code, rule_set in every.items()}
    if text.lower() in by_code:
        chosen = by_code[text.lower()]
        if not chosen.in_force_on(on):
            current = _in_force(chosen.family, on, every)
            until = f"until {chosen.effective_to}" if chosen.effective_to else "open-ended"
            instead = f"; on {on} the {chosen.family} rules are {current.code}" if current else ""
            raise ScreeningError("ruleset", f"{chosen.code} is in force from {chosen.effective_from} ({until}), "
                                            f"not on {on}{instead}")
        return chosen
    versions = [r for r in every.values() if text.lower() in (r.family.lower(), r.grants.lower())]
    if not versions:
        names = sorted({r.family for r in every.values()} | set(every))
        raise ScreeningError("ruleset", f"no rule set or family is named {text!r}; known: {', '.join(names)}")
    current = _in_force(versions[0].family, on, every) if len({r.family for r in versions}) == 1 else None
    current = current or next((r for r in versions if r.in_force_on(on)), None)
    if current is None:
        spans = "; ".join(f"{r.code} from {r.effective_from}" + (f" until {r.effective_to}" if r.effective_to else "")
                          for r in sorted(versions, key=lambda r: r.effective_from))
        raise ScreeningError("date", f"no {text} rule set is in force on {on} ({spans})")
    return current


def _in_force(family: str, on: dt.date, every: dict[str, RuleSet]) -> RuleSet | None:
    return next((r for r in every.values() if r.family == family and r.in_force_on(on)), None)


def _rule_set(rule_set: RuleSet | str, on: dt.date) -> RuleSet:
    return find_rule_set(rule_set, on) if isinstance(rule_set, str) else rule_set


# --- screening ---------------------------------------------------------------------------------


def screen_region(rule_set: RuleSet | str, region: Region | str, on: dt.date | None = None, *, user=None,
                  expert_inputs: dict | None = None, provenance: bool = False) -> Pool:
    """The cultivation pool: every enterprise located in the region's subtree now, screened and
    ranked closest first. Queries: a fixed handful, whatever the number of enterprises (facts.py)."""
    on = on or today()
    rule_set = _rule_set(rule_set, on)
    region = _region(region)
    _check_may_screen_region(user, region)
    enterprises = Organisation.objects.in_region(region).filter(kind=OrganisationKind.ENTERPRISE)
    if user is not None:
        enterprises = visible_to(enterprises, user)
    results = _screen(rule_set, enterprises, on, expert_inputs, provenance)
    results.sort(key=lambda screening: screening.closeness)
    for rank, screening in enumerate(results, start=1):
        screening.rank = rank
    return Pool(rule_set, region, on, anchor_year(on), results, fetch.metric_names(rule_set))


def screen_organisation(organisation: Organisation | str, rule_set: RuleSet | str, on: dt.date | None = None, *,
                        user=None, expert_inputs: dict | None = None) -> tuple[Screening, dict]:
    """One enterprise, with the figures used and where they came from; and the metrics' names."""
    on = on or today()
    rule_set = _rule_set(rule_set, on)
    key = organisation.key if isinstance(organisation, Organisation) else str(organisation)
    found = Organisation.objects.filter(key=key)
    if user is not None:
        found = visible_to(found, user)
    kind = found.values_list("kind", flat=True).first()
    if kind is None:
        raise NotVisible("organisation", f"no organisation has the key {key!r}" + (
            "" if user is None else " among those you may see"))
    if kind != OrganisationKind.ENTERPRISE:
        raise ScreeningError("organisation", f"{key} is a {kind}; only enterprises are screened")
    inputs = expert_inputs
    if inputs is not None and set(inputs) - {key}:
        inputs = {key: inputs}  # judgements given for this one enterprise, without its key around them
    results = _screen(rule_set, found, on, inputs, provenance=True)
    return results[0], fetch.metric_names(rule_set)


def _screen(rule_set: RuleSet, organisations, on: dt.date, expert_inputs: dict | None,
            provenance: bool) -> list[Screening]:
    try:
        judgements = fetch.check_judgements(rule_set, expert_inputs)
        evaluator = Evaluator(rule_set, on)
        results = []
        # A province's pool is millions of small objects that never form cycles: the cyclic
        # collector would rescan them over and over while they are made (a fifth of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            for ref, facts in fetch.gather(rule_set, organisations, on, judgements=judgements, provenance=provenance):
                outcomes, overall = evaluator.evaluate(facts)
                results.append(Screening(ref, rule_set, on, evaluator.year, outcomes, overall,
                                         facts if provenance else None))
        finally:
            if collecting:
                gc.enable()
        return results
    except fetch.FactsError as error:
        raise ScreeningError(error.field, error.reason) from None


def _region(region: Region | str) -> Region:
    if isinstance(region, Region):
        return region
    found = Region.objects.filter(code=str(region).strip()).first()
    if found is None:
        raise ScreeningError("region", f"no region has the code {region!r}; give a division code such as 320612")
    return found


def may_screen_region(user, region: Region) -> bool:
    """The bureau admins and analysts of a region holding `region` (and superusers) keep its pool."""
    if user is None:
        return True
    scope = scope_of(user)
    return scope.everything or any(region.path.startswith(path) for path in scope.read_paths)


def _check_may_screen_region(user, region: Region) -> None:
    if not may_screen_region(user, region):
        raise NotAllowed("region", f"the cultivation pool of {region.name_zh} {region.code} is kept by the bureau "
                                   "and the analysts of a region holding it; an enterprise may screen itself")

"""Disclosure control (统计数据保密): an aggregate shown to the public must not reveal one
enterprise's confidential figure (统计法 art. 39).

Primary suppression: a cell of a confidential metric is suppressed when fewer than
`min_contributors` enterprises contribute to it (threshold rule), or when the two largest
contributions make up more than `dominance` percent of it (the (2, k) dominance rule: the
second largest could subtract its own figure and learn the largest).

Complementary suppression: in a table holding a total and its parts (a city and its
districts), one suppressed part could be derived as the total minus the others; so the
smallest other part is suppressed too, until no part of a total stands alone.

Who sees what is decided by the caller (engine.evaluate): the public and users without a
region role get suppressed cells; bureau staff and analysts of the area see every cell,
marked confidential.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings


@dataclass(frozen=True)
class Thresholds:
    """The rules' numbers, from the settings DISCLOSURE_MIN_CONTRIBUTORS (3) and
    DISCLOSURE_DOMINANCE_PERCENT (85), read when the thresholds are made."""

    min_contributors: int = field(default_factory=lambda: int(getattr(settings, "DISCLOSURE_MIN_CONTRIBUTORS", 3)))
    dominance: Decimal = field(
        default_factory=lambda: Decimal(str(getattr(settings, "DISCLOSURE_DOMINANCE_PERCENT", 85))))


THRESHOLD = "fewer than {n} enterprises contribute"
DOMINANCE = "the two largest contributions exceed {p}% of it"
COMPLEMENTARY = "suppressed so that a suppressed neighbour cannot be derived from the total"


def primary(cell, thresholds: Thresholds) -> str:
    """Why a confidential cell may not be published, or "" if it may."""
    if not cell.confidential or cell.value is None:
        return ""
    if 0 < cell.contributors < thresholds.min_contributors:
        return THRESHOLD.format(n=thresholds.min_contributors)
    total = cell.value
    if total and cell.largest and sum(cell.largest) * 100 > thresholds.dominance * abs(total):
        return DOMINANCE.format(p=thresholds.dominance)
    return ""


def protect(cells: dict, parents: dict[str, str], thresholds: Thresholds, public: set[str]) -> None:
    """Mark `cells` ({(area key, period): Cell}) of one measure as suppressed where the public
    (areas in `public`) may not see them, with complementary suppression among the parts of
    each total in the table (`parents`: area key → the key of its total, when in the table)."""
    for (area, _), cell in cells.items():
        if area in public:
            cell.suppressed = primary(cell, thresholds)
    siblings: dict[tuple[str, object], list] = defaultdict(list)
    for (area, period), cell in cells.items():
        if area in parents and area in public:
            siblings[(parents[area], period)].append(cell)
    changed = True
    while changed:  # a total suppressed in turn may expose its own parts: repeat until stable
        changed = False
        for (parent, period), parts in siblings.items():
            total = cells.get((parent, period))
            hidden = [cell for cell in parts if cell.suppressed]
            if total is None or total.suppressed or len(hidden) != 1:
                continue
            candidates = [cell for cell in parts if not cell.suppressed and cell.value is not None and cell.contributors]
            if candidates:
                min(candidates, key=lambda cell: abs(cell.value)).suppressed = COMPLEMENTARY
            elif (parent, period) in {(area, p) for (area, p) in cells if area in public}:
                total.suppressed = COMPLEMENTARY  # the total minus parts that are zero is the hidden part
            else:
                continue
            changed = True

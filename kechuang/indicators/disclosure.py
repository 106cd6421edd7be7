"""Disclosure control (统计数据保密): no combination of the figures shown to the public may
reveal one enterprise's confidential figure (统计法 art. 39).

Primary suppression: an aggregate of a confidential metric is suppressed when fewer than
`min_contributors` enterprises contribute to it (threshold rule), or when the two largest
contributions make up more than `dominance` percent of it (the (2, k) dominance rule: the
second largest could subtract its own figure and learn the largest). Contributions are
ranked and summed by magnitude: a loss of a million dominates a cell of small profits as
much as a profit of a million would.

Complementary suppression is decided once for a whole hierarchy, not per request, so that
the pattern is the same whatever is asked (the way a statistical office protects its full
table and then publishes parts of it): a town hidden to protect its neighbour stays hidden
when asked for alone, and a table of a city's towns without the districts between them
shows nothing a table with them would not. The hierarchy (`Hierarchy`) is the regions with
figures and their ancestors; each node is the sum of its children and of the enterprises
located in it directly (its *remainder*, never shown). The figures of a node are split in
*classes*, the finest groups of enterprises the metric's measures tell apart (above and
below designated size): a node is hidden when any class of it needs it, and then for
every measure of the metric (industrial output, and that of the enterprises above
designated size), so that their difference never shows.

`protect` settles each node's relation (node = its parts), leaves first, for every class:
- a shown node may have no hidden part, or a single one only when it is a remainder that
  passes the primary rules (knowing it gives nothing away); two or more hidden parts must
  together pass the primary rules, since the reader knows their sum;
- a hidden node needs a hidden part of its own, else it is known from its parts anyway
  (harmless: a node hidden for its own sake always has one, since an aggregate that fails
  the primary rules has a part that fails them) and counts as shown above it. A measure
  whose every class is so known at a hidden node is shown there (`Pattern.reason`): it
  follows from what is shown anyway.
Where a relation gives a figure away, the smallest part that is protected below (a hidden
part of its own, or a remainder) is hidden too; where no part is, the node itself is, and
its parent settles that in turn. A node's status so depends only on the subtree of its
parent: the engine reads that much, whatever else was asked. By the tree's structure, a
relation never left with exactly one hidden figure means no hidden figure follows from any
combination of the shown ones.

Who sees what is decided by the caller (engine.evaluate): the public and users without a
region role get suppressed cells; bureau staff and analysts of the area see every cell,
marked confidential.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
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
RELATED = "suppressed so that its difference from a related measure cannot reveal an enterprise's figure"
EXTREME = "a minimum or maximum is one enterprise's figure"
#: Each reason in Chinese, for the pages and the bulletins (a reason not listed has none).
_REASONS_ZH = [
    (re.compile(re.escape(template).replace(r"\{n\}", r"(?P<n>\d+)").replace(r"\{p\}", r"(?P<p>[\d.]+)")), zh)
    for template, zh in (
        (THRESHOLD, "参与汇总的企业少于{n}家"),
        (DOMINANCE, "最大两家企业之和超过合计的{p}%"),
        (COMPLEMENTARY, "为防止由合计推算出已隐藏的数而隐藏"),
        (RELATED, "为防止与相关指标相减推算出企业数据而隐藏"),
        (EXTREME, "最小值或最大值即一家企业的数据"),
    )
]


def reason_zh(reason: str) -> str:
    """Why a figure is withheld, in Chinese ("" for a reason this module never gives)."""
    for pattern, zh in _REASONS_ZH:
        found = pattern.fullmatch(reason)
        if found:
            return zh.format(**found.groupdict())
    return ""


@dataclass(frozen=True)
class Figures:
    """What the rules need of a set of contributions: their sum, how many there are, the sum
    of their magnitudes and the two largest magnitudes."""

    value: Decimal = Decimal(0)
    contributors: int = 0
    magnitude: Decimal = Decimal(0)
    largest: tuple[Decimal, ...] = ()

    @classmethod
    def of(cls, contributions: Iterable[Decimal]) -> "Figures":
        values = list(contributions)
        magnitudes = sorted((abs(value) for value in values), reverse=True)
        return cls(sum(values, Decimal(0)), len(values), sum(magnitudes, Decimal(0)), tuple(magnitudes[:2]))

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(self.value + other.value, self.contributors + other.contributors,
                       self.magnitude + other.magnitude, tuple(sorted(self.largest + other.largest, reverse=True)[:2]))


NOTHING = Figures()


def primary(figures: Figures, thresholds: Thresholds) -> str:
    """Why an aggregate of confidential figures may not be published, or "" if it may."""
    if figures.contributors == 0:
        return ""
    if figures.contributors < thresholds.min_contributors:
        return THRESHOLD.format(n=thresholds.min_contributors)
    if figures.magnitude and sum(figures.largest) * 100 > thresholds.dominance * figures.magnitude:
        return DOMINANCE.format(p=thresholds.dominance)
    return ""


class Hierarchy:
    """Nodes (region paths) with their parent (None for a top node), and for each node and
    class the figures of the enterprises located in it directly. `totals` adds up each
    node's subtree; `order` lists the nodes children first."""

    def __init__(self, parents: Mapping[str, str | None], direct: Mapping[str, Sequence[Figures]], classes: int):
        self.parents = dict(parents)
        self.classes = range(classes)
        self.children: dict[str, list[str]] = defaultdict(list)
        for node, parent in sorted(self.parents.items()):
            if parent is not None:
                self.children[parent].append(node)
        self.direct = {node: tuple(direct.get(node, ())) or (NOTHING,) * classes for node in self.parents}
        depth: dict[str, int] = {}
        for node in self.parents:
            chain = [node]
            while chain[-1] not in depth and self.parents[chain[-1]] is not None:
                chain.append(self.parents[chain[-1]])
            known = depth.get(chain[-1], 0)
            for position, member in enumerate(reversed(chain)):
                depth.setdefault(member, known + position)
        self.order = sorted(self.parents, key=lambda node: (-depth[node], node))
        self.totals: dict[str, tuple[Figures, ...]] = {}
        for node in self.order:
            self.totals[node] = tuple(sum((self.totals[child][k] for child in self.children[node]), self.direct[node][k])
                                      for k in self.classes)


@dataclass
class Pattern:
    """Which nodes are hidden, why, and in which classes their parts leave them unknown."""

    hidden: dict[str, str]  # node → reason
    hidden_parts: dict[str, list[int]]  # node → per class, how many of its parts are hidden and not derivable

    def reason(self, node: str, classes: Iterable[int]) -> str:
        """Why the sum of `classes` at `node` may not be shown: "" where the node is shown, or where
        each of those classes follows from the node's shown parts anyway."""
        if node not in self.hidden or not any(self.hidden_parts[node][k] for k in classes):
            return ""
        return self.hidden[node]


_REMAINDER = ""  # stands for a node's remainder among its parts


def protect(hierarchy: Hierarchy, thresholds: Thresholds) -> Pattern:
    """The suppression pattern of a hierarchy (see the module's docstring). A top node's status is
    final only when it is a top of the whole region tree: below another node, its parent's
    relation may hide it too."""
    hidden: dict[str, str] = {}
    hidden_parts: dict[str, list[int]] = {}  # per node and class, how many parts are hidden and not derivable

    def parts_hidden(node: str, k: int) -> list[str]:
        found = [child for child in hierarchy.children[node]
                 if child in hidden and hierarchy.totals[child][k].contributors and hidden_parts[child][k]]
        return found + ([_REMAINDER] if hierarchy.direct[node][k].contributors else [])

    def figures(node: str, part: str, k: int) -> Figures:
        return hierarchy.direct[node][k] if part == _REMAINDER else hierarchy.totals[part][k]

    def exposed(node: str) -> int | None:
        """A class in which the relation of a shown node gives a hidden part (or several as one) away."""
        if node in hidden:
            return None
        for k in hierarchy.classes:
            parts = parts_hidden(node, k)
            if not parts:
                continue
            if parts == [_REMAINDER]:
                if primary(figures(node, _REMAINDER, k), thresholds):
                    return k
            elif len(parts) == 1 or primary(sum((figures(node, part, k) for part in parts), NOTHING), thresholds):
                return k
        return None

    for node in hierarchy.order:
        reason = next((found for totals in hierarchy.totals[node] if (found := primary(totals, thresholds))), "")
        if reason:
            hidden[node] = reason
        while (k := exposed(node)) is not None:
            candidates = [child for child in hierarchy.children[node]
                          if child not in hidden and hierarchy.totals[child][k].contributors and hidden_parts[child][k]]
            if candidates:
                chosen = min(candidates, key=lambda child: (hierarchy.totals[child][k].magnitude, child))
                hidden[chosen] = COMPLEMENTARY
            else:
                hidden[node] = COMPLEMENTARY
        hidden_parts[node] = [len(parts_hidden(node, k)) for k in hierarchy.classes]
    return Pattern(hidden, hidden_parts)

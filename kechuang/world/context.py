"""What a section's check, load and dump functions are handed.

`LoadContext` collects problems and warnings, knows which keys the file declares (so
an entry may refer to one defined later in the same file), looks up database keys in
one query per batch, and turns a refused write into a WorldError naming the entry.
`DumpContext` carries the region a dump is limited to, and the rows other sections
require (an owner outside the region, the sources the entries cite).
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DataError, IntegrityError, models

from kechuang.registry.models import Region
from kechuang.registry.services import RegistryError

from .errors import Problem, WorldError, at

STATUSES = ("created", "updated", "unchanged")


class Report:
    """What a load did: per section, how many entries were created, updated or unchanged."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = {}
        self.warnings: list[Problem] = []

    def count(self, section: str, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.counts.setdefault(section, Counter())[status] += 1

    def warn(self, path: str, reason: str) -> None:
        self.warnings.append((path, reason))

    def __getitem__(self, section: str) -> Counter:
        return self.counts.get(section, Counter())

    @property
    def changed(self) -> bool:
        return any(counter["created"] or counter["updated"] for counter in self.counts.values())

    def section_lines(self) -> list[str]:
        """ "regions: 8 created, 0 updated, 0 unchanged", one per section loaded."""
        return [f"{section}: " + ", ".join(f"{counter[status]} {status}" for status in STATUSES)
                for section, counter in self.counts.items()]

    def _warning_count(self) -> str:
        return f"{len(self.warnings)} warning{'s' if len(self.warnings) != 1 else ''}"

    def __str__(self) -> str:
        parts = self.section_lines() + ([self._warning_count()] if self.warnings else [])
        return "; ".join(parts) or "nothing to load"

    def summary(self) -> str:
        """Several lines: the sections, then every warning with its path."""
        lines = self.section_lines()
        if self.warnings:
            lines.append(f"{self._warning_count()}:")
            lines.extend(f"  {path}: {reason}" for path, reason in self.warnings)
        return "\n".join(lines) or "nothing to load"


def _validation_problems(path: str, exc: ValidationError) -> list[Problem]:
    if hasattr(exc, "error_dict"):
        return [
            (path if field == NON_FIELD_ERRORS else at(path, field), "; ".join(messages))
            for field, messages in exc.message_dict.items()
        ]
    return [(path, "; ".join(exc.messages))]


class LoadContext:
    def __init__(self, report: Report | None = None, label: str = "") -> None:
        self.report = report or Report()
        self.label = label
        self.problems: list[Problem] = []
        self._declared: dict[str, dict[str, tuple[str, dict]]] = defaultdict(dict)
        self._pks: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)

    # --- checking ---------------------------------------------------------------

    def problem(self, path: str, reason: str) -> None:
        self.problems.append((path, reason))

    def warn(self, path: str, reason: str) -> None:
        self.report.warn(f"{self.label}: {path}" if self.label else path, reason)

    def declare(self, section: str, key: str, path: str, entry: dict) -> bool:
        """Note that the file defines `key` in `section`; a second definition is a problem."""
        first = self._declared[section].get(key)
        if first is not None:
            self.problem(path, f"{key!r} is defined twice in {section} (first at {first[0]})")
            return False
        self._declared[section][key] = (path, entry)
        return True

    def declared(self, section: str) -> dict[str, dict]:
        """The entries the file defines in `section`, by key."""
        return {key: entry for key, (_, entry) in self._declared[section].items()}

    def known(self, section: str, model: type[models.Model], field: str, keys: Iterable[str]) -> set[str]:
        """Those of `keys` that the file declares in `section` or the database holds."""
        wanted = {k for k in keys if k is not None}
        declared = wanted & self._declared[section].keys()
        return declared | set(self.pks(model, field, wanted - declared))

    # --- writing ----------------------------------------------------------------

    def pks(self, model: type[models.Model], field: str, keys: Iterable[str]) -> dict[str, int]:
        """Primary keys of the rows whose `field` is in `keys`; one query for the unknown ones."""
        cache = self._pks[(model._meta.label, field)]
        wanted = {k for k in keys if k is not None}
        missing = {k for k in wanted if k not in cache}
        if missing:
            cache.update(model._default_manager.filter(**{f"{field}__in": missing}).values_list(field, "pk"))
        return {k: cache[k] for k in wanted if k in cache}

    def pk(self, model: type[models.Model], field: str, key: str | None) -> int | None:
        if key is None:
            return None
        return self.pks(model, field, [key]).get(key)

    def remember(self, model: type[models.Model], field: str, key: str, pk: int) -> None:
        self._pks[(model._meta.label, field)][key] = pk

    @contextmanager
    def writing(self, path: str) -> Iterator[None]:
        """Turn a write the services or the database refuse into a WorldError at `path`.

        The WorldError leaves the load's transaction, which rolls everything back; on
        PostgreSQL nothing more may run in a transaction after a database error anyway.
        """
        try:
            yield
        except WorldError:
            raise
        except RegistryError as exc:
            raise WorldError([(at(path, exc.field), exc.reason)]) from exc
        except ValidationError as exc:
            raise WorldError(_validation_problems(path, exc)) from exc
        except (IntegrityError, DataError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WorldError([(path, f"the database refused the change: {first_line}")]) from exc


class DumpContext:
    """A dump of the whole registry (region None) or of one region's subtree."""

    def __init__(self, region: Region | None = None) -> None:
        self.region = region
        self._required: dict[str, set[str]] = defaultdict(set)

    @property
    def whole(self) -> bool:
        return self.region is None

    def require(self, section: str, keys: Iterable[Any]) -> None:
        """Ask `section` (dumped later) to include these keys, so the file loads on its own."""
        self._required[section].update(k for k in keys if k is not None)

    def required(self, section: str) -> set[str]:
        return set(self._required[section])

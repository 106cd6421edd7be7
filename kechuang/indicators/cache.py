"""Computed tables kept between requests, exact under every write.

The indicators of a region are read far more often than its data changes: a dashboard, a
bulletin's page, the API, each computes the same tables again. `engine.evaluate` keeps each
table it computes (as the data stands now: never one `as_of` a moment) in a small cache of this
process, keyed by what it was asked and by the **generations** of what it reads: counters in the
database that go up after every committed write to a table the indicators read (the registry,
the statistics, the programmes, the designations, the indicators' own definitions).

A write bumps the generation `data`, which every table reads, unless its code has said exactly
what it writes (`declared`): an enterprise's figure recorded by `record_observation` bumps only
`reported:<metric>` — and `reviewed:<metric>` where a figure the bureau approved or published is
written or superseded. A table the public reads (approved figures only) is keyed by the
`reviewed:` generations of the metrics it reads, the bureau's and analysts' by the `reported:`
ones: an enterprise submitting its monthly figures keeps every public table, and every
analyst's table of other metrics, in the cache. Anything not declared is a `data` write.

The counters are bumped by a database execute wrapper installed on every connection
(`watch`), not by each service: it sees every INSERT, UPDATE and DELETE Django sends —
the ORM's saves, `update()`, `bulk_create()`, raw SQL alike — so no write path can forget it.
Inside a transaction the bump waits for the commit (and is dropped with a rollback); outside
one it follows the statement. A reader reads the generations before it computes, so a table
computed while a write commits is stored under the old generations and never served again.

Each gunicorn worker keeps its own cache (no shared server needed); the generations are shared
through the database, one small read per evaluation. Settings: `INDICATOR_CACHE_SIZE`
(default 1024 tables and pages' parts; 0 turns the cache and the wrapper off, as the test suite does except where
it tests them) and `INDICATOR_CACHE_SECONDS` (default 600: a table older is computed again,
the safety net for a bump that could not be written, e.g. with the database down).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.backends.signals import connection_created
from django.db.models import F

#: The apps whose tables the indicators read; a write to any of them makes a new generation.
WATCHED_APPS = ("registry", "statistics", "programs", "designations", "indicators")
#: Written often and read by no indicator (an import's progress, the counter itself).
UNWATCHED = {"statistics_importjob", "indicators_generation"}
WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z0-9_]+)"?', re.IGNORECASE)

DISPATCH_UID = "kechuang-indicators-generation"
logger = logging.getLogger(__name__)
_lock = threading.Lock()
_tables: OrderedDict = OrderedDict()
_watched: frozenset[str] | None = None
_declarations = threading.local()


def size() -> int:
    return int(getattr(settings, "INDICATOR_CACHE_SIZE", 1024))


def seconds() -> float:
    return float(getattr(settings, "INDICATOR_CACHE_SECONDS", 600))


def watched() -> frozenset[str]:
    global _watched
    if _watched is None:
        names = {model._meta.db_table for label in WATCHED_APPS for model in apps.get_app_config(label).get_models()}
        _watched = frozenset(names - UNWATCHED)
    return _watched


# --- the generations --------------------------------------------------------------------------

DATA = "data"


def reviewed(metric_id: int) -> str:
    """The generation of a metric's figures the bureau approved or published (the public's)."""
    return f"reviewed:{metric_id}"


def reported(metric_id: int) -> str:
    """The generation of a metric's figures reported to the bureau, approved or not."""
    return f"reported:{metric_id}"


def generation(name: str = DATA) -> int:
    """One generation (0 for one never bumped)."""
    from .models import Generation

    return Generation.objects.filter(name=name).values_list("value", flat=True).first() or 0


def snapshot() -> dict[str, int]:
    """Every generation, in one read (a counter for the data, two for each metric reported)."""
    from .models import Generation

    return dict(Generation.objects.values_list("name", "value"))


def public_generations(seen: dict[str, int]) -> tuple:
    """What the public's figures of any metric read, out of a `snapshot`: the data and every
    metric's reviewed figures (never what enterprises have only submitted)."""
    return (seen.get(DATA, 0), *sorted((name, value) for name, value in seen.items() if name.startswith("reviewed:")))


def bump(using: str = "default", names: Iterable[str] = (DATA,)) -> None:
    """New generations of `names`: every table computed before that read one of them is stale.
    Where a counter cannot be written (its table not migrated yet; the database gone), this
    process's tables are dropped, and those of other processes age out (`INDICATOR_CACHE_SECONDS`)."""
    from .models import Generation

    names = sorted(set(names))
    try:
        rows = Generation.objects.using(using).filter(name__in=names)
        if rows.update(value=F("value") + 1) < len(names):
            # A counter bumped for the first time: made at 0 (by this writer or one at the same
            # moment), then all bumped again — a counter only has to move, and this way none
            # is missed, whichever writer made it.
            Generation.objects.using(using).bulk_create([Generation(name=name) for name in names],
                                                        ignore_conflicts=True)
            rows.update(value=F("value") + 1)
    except DatabaseError as error:
        clear()
        logger.warning("the data generations could not be bumped (%s); this process's cached tables dropped", error)


@contextmanager
def declared(table: str, names: Iterable[str]):
    """Within the block, the writes of this thread to `table` bump `names` instead of `data`:
    for a write path that knows exactly which figures it writes (`observation_names`). Writes
    to any other table in the block are `data` writes as ever."""
    stack = _declarations.__dict__.setdefault("stack", [])
    stack.append((table, tuple(names)))
    try:
        yield
    finally:
        stack.pop()


def observation_names(metric_id: int, statuses: Iterable[str]) -> list[str]:
    """What writing figures of a metric with `statuses` (before or after the write) changes:
    always the reported figures; the reviewed ones too where an approved or published figure
    is written or superseded."""
    from kechuang.statistics.models import ObservationStatus as S

    names = [reported(metric_id)]
    if set(statuses) & {S.APPROVED, S.PUBLISHED}:
        names.append(reviewed(metric_id))
    return names


def _names_for(table: str) -> tuple[str, ...]:
    for declared_table, names in reversed(getattr(_declarations, "stack", [])):
        if declared_table == table:
            return names
    return (DATA,)


def _wrapper(alias: str):
    def execute(run, sql, params, many, context):
        result = run(sql, params, many, context)
        match = WRITE.match(sql) if isinstance(sql, str) else None
        table = match.group(1).lower() if match else None
        if table in watched():
            names = _names_for(table)
            db = connections[alias]
            if not db.in_atomic_block:
                bump(alias, names)
                return result
            queued = next((func for _, func, _ in db.run_on_commit if hasattr(func, "kechuang_names")), None)
            if queued is None:
                # Once per transaction, with every name its writes bump; a rollback (of it, or of
                # the savepoint that queued it) drops the callback with the write, and the next
                # write queues it again.
                def after_commit():
                    bump(alias, after_commit.kechuang_names)

                after_commit.kechuang_names = set()
                transaction.on_commit(after_commit, using=alias)
                queued = after_commit
            queued.kechuang_names.update(names)
        return result

    execute.kechuang = True
    return execute


def _install(sender, connection, **kwargs) -> None:
    if not any(getattr(wrapper, "kechuang", False) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.append(_wrapper(connection.alias))


def watch() -> None:
    """Bump the generation after every write, on every connection, now and when one is made
    (apps.ready, when the cache is on)."""
    connection_created.connect(_install, dispatch_uid=DISPATCH_UID)
    for alias in connections:
        if connections[alias].connection is not None:
            _install(None, connections[alias])


def unwatch() -> None:
    connection_created.disconnect(dispatch_uid=DISPATCH_UID)
    for alias in connections:
        wrappers = connections[alias].execute_wrappers
        wrappers[:] = [w for w in wrappers if not getattr(w, "kechuang", False)]


# --- the tables -------------------------------------------------------------------------------


def get(key: tuple):
    if size() <= 0:
        return None
    with _lock:
        found = _tables.get(key)
        if found is None:
            return None
        stored, table = found
        if time.monotonic() - stored > seconds():
            del _tables[key]
            return None
        _tables.move_to_end(key)
        return table


def put(key: tuple, table) -> None:
    limit = size()
    if limit <= 0:
        return
    with _lock:
        _tables[key] = (time.monotonic(), table)
        _tables.move_to_end(key)
        while len(_tables) > limit:
            _tables.popitem(last=False)


def clear() -> None:
    with _lock:
        _tables.clear()


"""Computed tables kept between requests, exact under every write.

The indicators of a region are read far more often than its data changes: a dashboard, a
bulletin's page, the API, each computes the same tables again. `engine.evaluate` keeps each
table it computes (as the data stands now: never one `as_of` a moment) in a small cache of this
process, keyed by what it was asked and by the **data generation**: a counter in the database
that goes up after every committed write to a table the indicators read (the registry, the
statistics, the programmes, the designations, the indicators' own definitions).

The counter is bumped by a database execute wrapper installed on every connection
(`watch`), not by each service: it sees every INSERT, UPDATE and DELETE Django sends —
the ORM's saves, `update()`, `bulk_create()`, raw SQL alike — so no write path can forget it.
Inside a transaction the bump waits for the commit (and is dropped with a rollback); outside
one it follows the statement. A reader reads the generation before it computes, so a table
computed while a write commits is stored under the old generation and never served again.

Each gunicorn worker keeps its own cache (no shared server needed); the generation is shared
through the database, one primary-key read per evaluation. Settings: `INDICATOR_CACHE_SIZE`
(default 256 tables; 0 turns the cache and the wrapper off, as the test suite does except where
it tests them) and `INDICATOR_CACHE_SECONDS` (default 600: a table older is computed again,
the safety net for a bump that could not be written, e.g. with the database down).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict

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


def size() -> int:
    return int(getattr(settings, "INDICATOR_CACHE_SIZE", 256))


def seconds() -> float:
    return float(getattr(settings, "INDICATOR_CACHE_SECONDS", 600))


def watched() -> frozenset[str]:
    global _watched
    if _watched is None:
        names = {model._meta.db_table for label in WATCHED_APPS for model in apps.get_app_config(label).get_models()}
        _watched = frozenset(names - UNWATCHED)
    return _watched


# --- the generation ---------------------------------------------------------------------------


def generation() -> int:
    from .models import Generation

    return Generation.objects.filter(pk=Generation.DATA).values_list("value", flat=True).first() or 0


def bump(using: str = "default") -> None:
    """A new generation: every table computed before is stale. Where the counter cannot be
    written (its table not migrated yet; the database gone), this process's tables are
    dropped, and those of other processes age out (`INDICATOR_CACHE_SECONDS`)."""
    from .models import Generation

    try:
        updated = Generation.objects.using(using).filter(pk=Generation.DATA).update(value=F("value") + 1)
        if not updated:
            Generation.objects.using(using).get_or_create(pk=Generation.DATA, defaults={"value": 1})
    except DatabaseError as error:
        clear()
        logger.warning("the data generation could not be bumped (%s); this process's cached tables dropped", error)


def _wrapper(alias: str):
    def after_commit():
        bump(alias)

    def execute(run, sql, params, many, context):
        result = run(sql, params, many, context)
        match = WRITE.match(sql) if isinstance(sql, str) else None
        if match and match.group(1).lower() in watched():
            db = connections[alias]
            if not db.in_atomic_block:
                bump(alias)
            elif not any(func is after_commit for _, func, _ in db.run_on_commit):
                # Once per transaction; a rollback (of it, or of the savepoint that queued
                # it) drops the callback with the write, and the next write queues it again.
                transaction.on_commit(after_commit, using=alias)
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


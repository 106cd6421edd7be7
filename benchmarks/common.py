"""Shared set-up for the benchmarks: a fresh database of their own, and a timer."""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fresh_database(name: str, keep: bool = False) -> None:
    """Point Django at a new, empty database (var/<name>.sqlite3, or the PostgreSQL
    DATABASE_URL given, dropped and recreated), migrate it, and set Django up. With
    `keep`, reuse the database an earlier run left (not dropped; migrated to this checkout's
    schema, which adds nothing when it is current)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / f'{name}.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "kechuang.settings"
    os.environ.setdefault("KECHUANG_ENV", "development")  # a throw-away database: the development key will do
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    url = os.environ["DATABASE_URL"]
    if keep:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        return
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        base, database = url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
            conn.execute(f'CREATE DATABASE "{database}"')

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def once(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"  {label:<62} {(time.perf_counter() - start) * 1000:10.1f} ms")
    return result


def timed(label: str, fn, repeat: int = 7):
    """Median of `repeat` runs after one warm-up run."""
    fn()
    samples, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    median = statistics.median(samples)
    print(f"  {label:<62} {median * 1000:10.1f} ms   (result {result})")
    return median


def drop_indexes(cursor, connection, table: str) -> list[str]:
    """For a bulk load: drop the table's secondary indexes; return the statements that rebuild them."""
    if connection.vendor == "postgresql":
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT LIKE %s",
                       [table, "%_pkey"])
    else:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                       [table])
    found = cursor.fetchall()
    for name, _ in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in found]

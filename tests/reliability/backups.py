"""Backup and restore as docs/operations.md tells an operator to do them, and the fingerprint
that a restored database must give back unchanged.

Shared by the CI drill (tests/reliability/test_backup.py: the demo, on SQLite and PostgreSQL)
and the long one (benchmarks/backup_drill.py: timed, optionally at city scale). The commands
are the documented ones, run as a shell would run them; where the `sqlite3` program is
missing, Python's binding of the same online backup API stands in for it.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]

#: The periods the demo holds figures for: years, halves and the statistics bureau's
#: cumulative months (the article's month is August 2023).
PERIODS = ("2022", "2022H1", "2022H2", "2023", "2023H1", "2023H2", "2023-01..2023-08")


def fingerprint(regions: tuple[str, ...] = ("320612",)) -> dict:
    """What a backup must keep, as plain JSON:

    - every indicator of the catalogue for each region of `regions`, its children and every
      zone and park, over PERIODS: the computed, official and shown value and why it is
      suppressed, as the bureau sees them (internal) and as the public does;
    - every published bulletin file: the SHA-256 stored with it and one recomputed from the
      bytes read back, and its size;
    - every project attachment: its stored SHA-256 and one recomputed from the file on disk
      (MEDIA_ROOT), which the database dump does not hold;
    - the rows of every table.
    """
    from django.core.files.storage import default_storage

    from kechuang.bulletins.models import BulletinFile
    from kechuang.indicators import engine
    from kechuang.indicators.models import Indicator
    from kechuang.programs.models import Attachment
    from kechuang.registry.models import CONTAINER_KINDS, Organisation
    from kechuang.statistics.periods import Period
    from tests.reliability.bad_files import table_counts

    codes = sorted(Indicator.objects.values_list("code", flat=True))
    areas = [area for region in regions for area in engine.areas_for(region, by="children")]
    areas += [engine.container_area(container) for container in
              Organisation.objects.filter(kind__in=CONTAINER_KINDS).order_by("key")]
    periods = [Period.parse(code) for code in PERIODS]
    indicators = {}
    for audience, public in (("internal", False), ("public", True)):
        for result in engine.evaluate(codes, areas, periods, public=public):
            key = f"{audience} {result.indicator.code} {result.area.key} {result.period.code}"
            indicators[key] = [_text(result.computed), _text(result.official), _text(result.shown), result.suppressed]
    files = {}
    for row in BulletinFile.objects.select_related("version__bulletin").order_by("pk"):
        content = bytes(row.content)
        files[f"bulletin {row.version.bulletin_id} v{row.version.number} {row.language or 'data'}.{row.format}"] = [
            row.sha256, hashlib.sha256(content).hexdigest(), row.size, len(content)]
    attachments = {}
    for row in Attachment.objects.order_by("pk"):
        with default_storage.open(row.file.name, "rb") as stored:
            attachments[f"attachment {row.pk} {row.file.name}"] = [row.sha256, hashlib.sha256(stored.read()).hexdigest()]
    return {"indicators": indicators, "bulletin_files": files, "attachments": attachments, "rows": table_counts()}


def _text(value) -> str | None:
    return None if value is None else str(value)


def differences(original: dict, restored: dict) -> list[str]:
    """What the restored fingerprint does not repeat, one line each (empty: nothing)."""
    found = []
    for part in sorted(original.keys() | restored.keys()):
        before, after = original.get(part, {}), restored.get(part, {})
        for key in sorted(before.keys() | after.keys()):
            if before.get(key) != after.get(key):
                found.append(f"{part}: {key}: {before.get(key)} → {after.get(key)}")
    return found


def broken_checksums(taken: dict) -> list[str]:
    """The bulletin files and attachments of a fingerprint whose bytes do not give the SHA-256
    stored with them."""
    return [key for part in ("bulletin_files", "attachments") for key, (stored, computed, *_) in taken[part].items()
            if stored != computed]


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    """A `kechuang` process's environment for one database and data directory (development
    settings: a drill's database is thrown away)."""
    return {**os.environ, "DATABASE_URL": database_url, "KECHUANG_DATA_DIR": str(data_dir),
            "DJANGO_SETTINGS_MODULE": "kechuang.settings", "KECHUANG_ENV": "development", "LOG_LEVEL": "WARNING"}


FINGERPRINT_SCRIPT = """\
import json, sys, django
django.setup()
from tests.reliability.backups import fingerprint, write_after_restore
print(json.dumps({"fingerprint": fingerprint(tuple(sys.argv[1:])), "write": write_after_restore()}))
"""


def fingerprint_of(database_url: str, data_dir: Path, regions: tuple[str, ...] = ("320612",)) -> tuple[dict, str]:
    """The fingerprint of a restored database, read by a new process as a restarted server
    would read it, and what a first write after the restore gave (see write_after_restore)."""
    finished = subprocess.run([sys.executable, "-c", FINGERPRINT_SCRIPT, *regions], cwd=ROOT,
                              env=environment(database_url, data_dir), capture_output=True, text=True, timeout=1200)
    assert finished.returncode == 0, finished.stderr[-3000:]
    answer = json.loads(finished.stdout.splitlines()[-1])
    return answer["fingerprint"], answer["write"]


def write_after_restore() -> str:
    """Record a new source, as the first edit after a restore would: a restore that left the
    id sequences behind the rows (PostgreSQL's are restored apart from the tables) fails here
    with a duplicate key. The source is rolled back: the fingerprint is taken before."""
    from django.db import transaction

    from kechuang.registry.models import Source
    from kechuang.registry.services import save_source

    with transaction.atomic():
        highest = max(Source.objects.values_list("pk", flat=True), default=0)
        source = save_source("backup-drill-after-restore", title="written after the restore")[0]
        answer = "ok" if source.pk > highest else f"new id {source.pk} not above {highest}"
        transaction.set_rollback(True)
    return answer


# --- the files beside the database ---------------------------------------------------------


def archive_files(data_dir: Path, archive: Path) -> None:
    """`tar --exclude='kechuang.sqlite3*' -czf ARCHIVE -C "$KECHUANG_DATA_DIR" .`: the uploaded
    files (media/: attachments; imports/: files uploaded for import and their problem
    reports), without the SQLite database, which is copied by its own backup."""
    subprocess.run(["tar", "--exclude=kechuang.sqlite3*", "-czf", str(archive), "-C", str(data_dir), "."], check=True)


def unpack_files(archive: Path, data_dir: Path) -> None:
    """`tar -xzf ARCHIVE -C "$KECHUANG_DATA_DIR"`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(data_dir)], check=True)


# --- SQLite -------------------------------------------------------------------------------


def sqlite_backup(source: Path, target: Path) -> str:
    """`sqlite3 SOURCE ".backup 'TARGET'"`, SQLite's online backup (safe while kechuang writes);
    Python's binding of the same API where the sqlite3 program is not installed. Answers which ran."""
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", str(source), f".backup '{target}'"], check=True, capture_output=True)
        return "sqlite3 .backup"
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)
    return "sqlite3.Connection.backup"


# --- PostgreSQL ---------------------------------------------------------------------------


def postgres_url(settings: dict, name: str | None = None) -> str:
    """A libpq URL (as pg_dump and DATABASE_URL take it) for a Django connection's settings,
    naming database `name` (default the connection's own)."""
    login = quote(settings["USER"] or "") + (f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else "")
    return f"postgres://{login}@{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}/{name or settings['NAME']}"


def pg_dump(database_url: str, dump: Path) -> None:
    """`pg_dump --format=custom --file=DUMP DATABASE`."""
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={database_url}"], check=True)


def pg_restore(database_url: str, dump: Path) -> None:
    """`pg_restore --no-owner --single-transaction --exit-on-error --dbname=DATABASE DUMP`
    (the documented command's `--role=kechuang` is left out: the drill has no such role)."""
    finished = subprocess.run(["pg_restore", "--no-owner", "--single-transaction", "--exit-on-error",
                               f"--dbname={database_url}", str(dump)], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-3000:]


def create_database(database_url: str) -> None:
    """`createdb --template=template0 NAME`: an empty database, dropped first if a failed run left it."""
    base, name = database_url.rsplit("/", 1)
    _maintenance(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE template0')


def drop_database(database_url: str) -> None:
    base, name = database_url.rsplit("/", 1)
    _maintenance(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _maintenance(base: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)

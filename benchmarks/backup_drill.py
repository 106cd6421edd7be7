"""The backup and restore drill, long run (issue 10): the commands of docs/operations.md (Backup
and restore) on a database of its own, timed, and the restored copy compared with the original.

    .venv/bin/python benchmarks/backup_drill.py                       # SQLite, var/drill_backup.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_drill_backup \\
        .venv/bin/python benchmarks/backup_drill.py [--city 20000] [--keep]

It builds the Tongzhou demo with its published bulletin, attaches a PDF to one of its projects
(a file on disk, under a KECHUANG_DATA_DIR of its own: var/drill_backup_files), and with --city adds Nantong at city
scale as the indicators benchmark builds it (N enterprises, 260 figures each). Then it backs
up (pg_dump in the custom format, or SQLite's online backup; tar of the data directory),
restores into an empty database (`<name>_restored`, dropped afterwards; a copy of the SQLite
file) and a new data directory, and compares, as tests/reliability/test_backup.py does in CI:
every indicator for Tongzhou (and with --city, Nantong's districts), its towns, zones and parks,
as the bureau and as the public see them; the SHA-256 of every bulletin file and attachment,
stored and recomputed; the rows of every table; and a first write after the restore. It prints
the time and size of each step and the counts compared.
"""

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, fresh_database

sys.path.insert(0, str(ROOT))
DATABASE = "drill_backup"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--city", type=int, default=0, help="also build Nantong with this many enterprises")
    parser.add_argument("--keep", action="store_true", help="reuse the database an earlier run built")
    args = parser.parse_args()
    data = ROOT / "var" / f"{DATABASE}_files"  # the original's KECHUANG_DATA_DIR: its attachment
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    os.environ["KECHUANG_DATA_DIR"] = str(data)
    fresh_database(DATABASE, keep=args.keep)
    work = Path(tempfile.mkdtemp(prefix="kechuang-backup-drill-"))
    try:
        build(args.city)
        drill(work, ("320612", "320600") if args.city else ("320612",))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build(city: int) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from kechuang.programs.attachments import attach
    from kechuang.programs.models import Attachment, Project
    from kechuang.registry.models import Organisation

    if Organisation.objects.exists():
        return
    step("the Tongzhou demo, with its bulletin", lambda: call_command("demo", stdout=io.StringIO()))
    if city:
        import indicators_bench

        step(f"Nantong at city scale, {city:,} enterprises", lambda: indicators_bench.set_up("320600", city))
    if not Attachment.objects.exists():
        attach(Project.objects.order_by("key").first(),
               SimpleUploadedFile("plan.pdf", b"%PDF-1.4\n% backup drill\n" + os.urandom(1024 * 1024)), by=None)


def drill(work: Path, regions: tuple[str, ...]) -> None:
    from django.conf import settings
    from django.db import connection

    from tests.reliability import backups

    original = step("fingerprint of the original", lambda: backups.fingerprint(regions))
    files, restored_data = work / "kechuang-files.tar.gz", work / "restored"
    step("tar of the data directory", lambda: backups.archive_files(Path(settings.DATA_DIR), files), files)
    step("tar -x into a new data directory", lambda: backups.unpack_files(files, restored_data))
    if connection.vendor == "postgresql":
        source = backups.postgres_url(connection.settings_dict)
        restored_url = backups.postgres_url(connection.settings_dict, f"{connection.settings_dict['NAME']}_restored")
        dump = work / "kechuang.dump"
        step("pg_dump --format=custom", lambda: backups.pg_dump(source, dump), dump)
        backups.create_database(restored_url)
        try:
            step("pg_restore into an empty database", lambda: backups.pg_restore(restored_url, dump))
            restored, write = step("fingerprint of the restored copy (a new process)",
                                   lambda: backups.fingerprint_of(restored_url, restored_data, regions))
        finally:
            backups.drop_database(restored_url)
    else:
        copy = work / "kechuang-backup.sqlite3"
        live = Path(connection.settings_dict["NAME"])
        how = step("SQLite online backup", lambda: backups.sqlite_backup(live, copy), copy)
        print(f"  (by {how})")
        shutil.copyfile(copy, restored_data / "kechuang.sqlite3")
        restored, write = step("fingerprint of the restored copy (a new process)",
                               lambda: backups.fingerprint_of(f"sqlite:///{restored_data / 'kechuang.sqlite3'}",
                                                              restored_data, regions))
    report(original, restored, write, backups)


def report(original: dict, restored: dict, write: str, backups) -> None:
    shown = sum(value[2] is not None for value in original["indicators"].values())
    print(f"\ncompared: {len(original['indicators']):,} indicator cells ({shown:,} with a value), "
          f"{len(original['bulletin_files'])} bulletin files, {len(original['attachments'])} attachments, "
          f"{len(original['rows'])} tables holding {sum(original['rows'].values()):,} rows")
    differences = backups.differences(original, restored)
    broken = backups.broken_checksums(restored)
    print(f"differences: {len(differences)}; checksums that do not match their bytes: {len(broken)}; "
          f"a write after the restore: {write}")
    for line in (differences + broken)[:20]:
        print(f"  {line}")
    if differences or broken or write != "ok":
        sys.exit(1)


def step(label: str, run, output: Path | None = None):
    started = time.perf_counter()
    result = run()
    size = f"   {output.stat().st_size / 2**20:8.1f} MB" if output is not None else ""
    print(f"  {label:<56} {time.perf_counter() - started:8.1f} s{size}", flush=True)
    return result


if __name__ == "__main__":
    main()

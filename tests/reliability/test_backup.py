"""The backup and restore drill (issue 10): a populated database and the files beside it are
backed up and restored into empty ones with the commands of docs/operations.md (Backup and
restore), and the restored installation answers the same: every indicator the engine
computes for Tongzhou, its towns, zones and parks (as the bureau and as the public see them),
the rows of every table, and the SHA-256 of every published bulletin file and project
attachment, as stored and as recomputed from the bytes read back.

The demo with its published bulletin (ten files, PDFs among them) and a PDF attached to one
of its projects are built in the test database and committed (transaction=True), so that
pg_dump and SQLite's backup see them. The original is fingerprinted here; the restored copy
by a new process, as a restarted server would read it, which then writes a row (a restore that
left PostgreSQL's id sequences behind the tables would fail it). The timed run, at city scale
if asked: benchmarks/backup_drill.py.
"""

import shutil
import sqlite3

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from kechuang.demo.builder import build_demo
from kechuang.programs.attachments import attach
from kechuang.programs.models import Project
from tests.reliability import backups

POSTGRESQL = connection.vendor == "postgresql"
#: An attachment the checks recognise: a PDF by its first bytes, of 10 KB.
PDF = b"%PDF-1.4\n% backup drill\n" + bytes(range(256)) * 40


@pytest.fixture
def populated(settings, tmp_path) -> tuple:
    """The demo, committed, with its files under a KECHUANG_DATA_DIR of the test's own; its
    fingerprint, checked to hold what the drill is about."""
    data = tmp_path / "data"
    settings.DATA_DIR, settings.MEDIA_ROOT = data, data / "media"
    for _ in build_demo(bulletins=True):
        pass
    attach(Project.objects.order_by("key").first(), SimpleUploadedFile("plan.pdf", PDF), by=None)
    original = backups.fingerprint()
    assert len(original["bulletin_files"]) == 10 and len(original["attachments"]) == 1
    assert sum(value[2] is not None for value in original["indicators"].values()) > 2000
    assert original["rows"]["statistics.Observation"] > 3000
    assert backups.broken_checksums(original) == []
    return data, original


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not POSTGRESQL, reason="pg_dump and pg_restore: the PostgreSQL leg (the SQLite one is below)")
def test_a_postgresql_dump_restored_into_an_empty_database_answers_every_figure_and_checksum_alike(
        populated, tmp_path):
    data, original = populated
    settings = connection.settings_dict
    restored_url = backups.postgres_url(settings, f"{settings['NAME']}_restored")
    dump, files, restored_data = tmp_path / "kechuang.dump", tmp_path / "kechuang-files.tar.gz", tmp_path / "restored"
    backups.pg_dump(backups.postgres_url(settings), dump)
    backups.archive_files(data, files)
    backups.create_database(restored_url)
    try:
        backups.pg_restore(restored_url, dump)
        backups.unpack_files(files, restored_data)
        restored, write = backups.fingerprint_of(restored_url, restored_data)
    finally:
        backups.drop_database(restored_url)
    assert backups.differences(original, restored) == []
    assert backups.broken_checksums(restored) == []
    assert write == "ok"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(POSTGRESQL, reason="SQLite's online backup: the SQLite leg (the PostgreSQL one is above)")
def test_a_sqlite_backup_put_in_place_of_the_database_answers_every_figure_and_checksum_alike(populated, tmp_path):
    data, original = populated
    # The test database lives in memory: SQLite's backup API writes it out as the file that
    # var/kechuang.sqlite3 would be, and the documented command copies that file.
    live, copy = tmp_path / "kechuang.sqlite3", tmp_path / "kechuang-backup.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(live) as file:
        connection.connection.backup(file)
    backups.sqlite_backup(live, copy)
    files, restored_data = tmp_path / "kechuang-files.tar.gz", tmp_path / "restored"
    backups.archive_files(data, files)
    backups.unpack_files(files, restored_data)
    shutil.copyfile(copy, restored_data / "kechuang.sqlite3")
    restored, write = backups.fingerprint_of(f"sqlite:///{restored_data / 'kechuang.sqlite3'}", restored_data)
    assert backups.differences(original, restored) == []
    assert backups.broken_checksums(restored) == []
    assert write == "ok"


def test_the_comparison_notices_a_figure_a_checksum_or_a_row_that_changed():
    """The checks above could fail: one changed value anywhere is named."""
    original = {"indicators": {"internal projects_approved 320612 2023H1": ["74", None, "74", ""]},
                "bulletin_files": {"bulletin 1 v1 en.pdf": ["ab", "ab", 3, 3]}, "attachments": {},
                "rows": {"programs.Project": 302}}
    changed = {**original, "indicators": {"internal projects_approved 320612 2023H1": ["73", None, "73", ""]},
               "bulletin_files": {"bulletin 1 v1 en.pdf": ["ab", "cd", 3, 3]}, "rows": {"programs.Project": 301}}
    assert backups.differences(original, changed) == [
        "bulletin_files: bulletin 1 v1 en.pdf: ['ab', 'ab', 3, 3] → ['ab', 'cd', 3, 3]",
        "indicators: internal projects_approved 320612 2023H1: ['74', None, '74', ''] → ['73', None, '73', '']",
        "rows: programs.Project: 302 → 301"]
    assert backups.broken_checksums(changed) == ["bulletin 1 v1 en.pdf"]

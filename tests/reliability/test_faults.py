"""Faults in CI (issue 10): a process that dies in the middle of a multi-step write leaves the
whole of it or nothing, a database that is down is answered 503, and a request sent twice
writes once.

The drills against the app served as in production (gunicorn and the task worker killed with
SIGKILL at random moments, PostgreSQL restarted under load) are `benchmarks/fault_drill.py`;
these are their deterministic, in-process counterparts. A death is simulated by an exception
at the worst point (both databases) and, on PostgreSQL, by a real SIGKILL of a subprocess at
that point, whose uncommitted transaction the database must throw away. Two users acting at
the same moment: test_concurrency.py.
"""

import datetime as dt
import os
import re
import subprocess
import sys
import textwrap
from contextlib import contextmanager
from pathlib import Path
from unittest import mock
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client, override_settings
from django.utils import timezone

from kechuang.bulletins import services as bulletins
from kechuang.bulletins.models import BulletinFile, BulletinVersion
from kechuang.notifications.models import Notification
from kechuang.programs import services as programs
from kechuang.programs.models import Project, ProjectTransition
from kechuang.statistics.models import ImportJob, Observation
from kechuang.statistics.periods import Period
from tests.programs.conftest import draft, place, walk  # noqa: F401  (the programmes' small world)
from tests.programs.test_pages import form_data, media, pages  # noqa: F401  (…with a call open now)
from tests.statistics.conftest import csv_bytes, district, metrics  # noqa: F401  (the statistics' district)

ROOT = Path(__file__).resolve().parents[2]

#: A bulletin template without figures: its ten files render in well under a second.
TEMPLATE = """\
title: {en: "Drill bulletin of {{ region_short }}", zh: "{{ region_short }}演练简报"}
sections:
  - paragraphs:
      - {en: "Nothing to report {{ in_period }}.", zh: "{{ in_period }}无事可报。"}
"""
FILES_PER_VERSION = 10  # html, pdf, docx, md in zh and en; the open data as csv and json

needs_postgresql = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="a killed process's transaction is seen from another process only on PostgreSQL "
           "(the SQLite test database lives in memory, in this process)")


@pytest.fixture
def bulletin(district):  # noqa: F811
    """A draft bulletin of Tongzhou for 2023H1, of a template with no figures."""
    template = bulletins.save_template("drill", TEMPLATE, name_en="Drill", name_zh="演练")
    return bulletins.bulletin_for(template, district["tongzhou"], Period.parse("2023H1"))


def versions_are_whole(bulletin) -> list[int]:
    """The numbers of the bulletin's versions, after checking each holds its ten files."""
    for version in BulletinVersion.objects.filter(bulletin=bulletin):
        assert version.files.count() == FILES_PER_VERSION, f"v{version.number} holds {version.files.count()} files"
    return list(BulletinVersion.objects.filter(bulletin=bulletin).order_by("number").values_list("number", flat=True))


def die_at(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run `script` in a new process on the test database; it kills itself with SIGKILL where
    it calls `die()`: no except clause, finally block or atexit hook runs, as under `kill -9`."""
    settings = connection.settings_dict
    login = quote(settings["USER"] or "") + (f":{quote(settings['PASSWORD'])}" if settings["PASSWORD"] else "")
    url = f"postgres://{login}@{settings['HOST'] or 'localhost'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    prelude = textwrap.dedent("""\
        import os, signal, django
        django.setup()

        def die():
            print("dying", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    """)
    environment = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "kechuang.settings",
                   "KECHUANG_ENV": "development", "KECHUANG_DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}
    finished = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(script)], cwd=ROOT, env=environment,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == -9 and "dying" in finished.stdout, finished.stderr[-2000:]
    return finished


# --- a bulletin's publication: ten files rendered, then one transaction ------------------------


def test_a_crash_while_the_files_render_publishes_nothing(bulletin, monkeypatch):
    write = bulletins.writers.write

    def pdf_fails(document, fmt):
        if fmt == "pdf":
            raise MemoryError("the worker ran out of memory rendering the PDF")
        return write(document, fmt)

    monkeypatch.setattr(bulletins.writers, "write", pdf_fails)
    with pytest.raises(MemoryError):
        bulletins.publish(bulletin, note="")
    bulletin.refresh_from_db()
    assert not BulletinVersion.objects.exists() and not BulletinFile.objects.exists()
    assert bulletin.published_at is None


def test_a_crash_inside_the_transaction_leaves_no_version_without_its_files(bulletin, monkeypatch):
    insert = BulletinFile.objects.bulk_create
    inserted = []

    def crash_after_the_files(rows, **options):
        inserted.extend(insert(rows, **options))
        raise SystemExit("the process is told to stop between the last insert and the commit")

    monkeypatch.setattr(BulletinFile.objects, "bulk_create", crash_after_the_files)
    with pytest.raises(SystemExit):
        bulletins.publish(bulletin)
    monkeypatch.undo()
    assert len(inserted) == FILES_PER_VERSION  # the crash came after every row was written
    bulletin.refresh_from_db()
    assert versions_are_whole(bulletin) == [] and bulletin.published_at is None
    version = bulletins.publish(bulletin)  # the next attempt is version 1, whole
    assert version.number == 1 and versions_are_whole(bulletin) == [1]


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_publisher_killed_before_its_commit_leaves_nothing_behind(bulletin, tmp_path):
    die_at(f"""
        from kechuang.bulletins import services
        from kechuang.bulletins.models import Bulletin, BulletinFile

        insert = BulletinFile.objects.bulk_create

        def then_die(rows, **options):
            insert(rows, **options)  # the version and its ten files are written, not committed
            die()

        BulletinFile.objects.bulk_create = then_die
        services.publish(Bulletin.objects.get(pk={bulletin.pk}))
    """, tmp_path)
    bulletin.refresh_from_db()
    assert versions_are_whole(bulletin) == [] and bulletin.published_at is None
    # The dead session's row lock is released with its transaction: publishing goes on.
    assert bulletins.publish(bulletin).number == 1 and versions_are_whole(bulletin) == [1]


# --- a statistics import: one transaction, its job row written outside it ----------------------


def figures_file(world: dict, tmp_path: Path, months: int = 12) -> Path:
    path = tmp_path / "figures.csv"
    path.write_bytes(csv_bytes([["统一社会信用代码", "指标", "期间", "数值", "单位"]] + [
        [world["jia"].uscc, "工业总产值", f"2023-{month:02d}", str(100 + month), "万元"]
        for month in range(1, months + 1)]))
    return path


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_import_killed_after_its_write_leaves_no_figure(district, tmp_path):  # noqa: F811
    path = figures_file(district, tmp_path)
    die_at(f"""
        from kechuang.statistics import importer

        write = importer._Staging.write

        def then_die(self, *args):
            write(self, *args)  # every figure inserted, the corrected ones closed: not committed
            die()

        importer._Staging.write = then_die
        importer.import_observations({str(path)!r})
    """, tmp_path)
    assert not Observation.objects.exists()
    assert ImportJob.objects.count() == 1  # written before the import's transaction: the user has it to look at


def test_a_job_whose_worker_died_is_shown_as_interrupted(district, settings, tmp_path):  # noqa: F811
    """Found by the kill -9 drill: the job stayed 'running' for ever (10 of 10), its page polling."""
    settings.DATA_DIR = tmp_path
    job = ImportJob.objects.create(file_name="figures.csv", by=district["bureau"], interface="web",
                                   status=ImportJob.Status.RUNNING)
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(district["bureau"])
    page = client.get(f"/statistics/import/{job.pk}/").content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "interrupted" in job.report["message"]
    assert 'class="status failed"' in page and 'hx-trigger="every 2s"' not in page
    assert "nothing was written" in page


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_an_import_leaves_a_job_its_page_settles(district, tmp_path):  # noqa: F811
    """The same with a real worker process: killed inside the import's transaction, after the write."""
    path = figures_file(district, tmp_path)
    job = ImportJob.objects.create(file_name="figures.csv", by=district["bureau"], interface="web")
    (tmp_path / "imports").mkdir()
    path.rename(tmp_path / "imports" / f"{job.pk}.csv")
    die_at(f"""
        from kechuang.statistics import importer, tasks

        write = importer._Staging.write

        def then_die(self, *args):
            write(self, *args)
            die()

        importer._Staging.write = then_die
        tasks.import_uploaded_file.call({job.pk}, {{}})
    """, tmp_path)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING  # as the dead worker left it
    with override_settings(DATA_DIR=tmp_path):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(district["bureau"])
        page = client.get(f"/statistics/import/{job.pk}/").content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and not Observation.objects.exists()
    assert 'class="status failed"' in page


# --- a project's approval: the step, the state and the applicant's notice together -------------


@pytest.mark.parametrize("crash_in", ["Project.save", "_notify_transition"])
def test_a_crash_in_the_middle_of_an_approval_leaves_the_project_under_review(place, monkeypatch, crash_in):  # noqa: F811
    project = walk(draft(place), "submit", "start_review")
    history = project.history.count()

    def crash(*args, **kwargs):
        raise SystemExit("killed")

    if crash_in == "Project.save":  # the step is recorded, the state not yet written
        monkeypatch.setattr(Project, "save", crash)
    else:  # the step and the state are written, the applicant's notice not yet
        monkeypatch.setattr(programs, "_notify_transition", crash)
    with pytest.raises(SystemExit):
        programs.take(project, "approve", by=place["bureau"])
    monkeypatch.undo()
    stored = Project.objects.get(pk=project.pk)
    assert stored.state == "under_review" and stored.history.count() == history
    assert not ProjectTransition.objects.filter(project=project, name="approve").exists()
    assert not Notification.objects.filter(key__startswith=f"project:{project.pk}:approve:").exists()
    programs.take(stored, "approve", by=place["bureau"])
    assert Project.objects.get(pk=project.pk).state == "approved"
    assert Notification.objects.filter(key__startswith=f"project:{project.pk}:approve:").count() == 1


# --- the database down: a clean 503 ------------------------------------------------------------


@contextmanager
def database_down(error: type[Exception] = OperationalError):
    """Every query fails as when PostgreSQL is stopped: no connection can be made."""

    def refused(self):
        raise error('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    with mock.patch.object(BaseDatabaseWrapper, "ensure_connection", refused), \
            mock.patch.object(BaseDatabaseWrapper, "close_if_health_check_failed", lambda self: None):
        yield


def test_the_health_check_says_the_database_is_unreachable(client):
    with database_down():
        answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.json() == {"status": "error", "database": "unreachable"}


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
@pytest.mark.parametrize("path", ["/api/v1/organisations/", "/statistics/import/", "/programmes/applications/"])
def test_a_request_while_the_database_is_down_is_answered_503(district, path, error):  # noqa: F811
    """Found by the PostgreSQL restart drill: 623 requests were answered 500."""
    client = Client(raise_request_exception=False)
    client.force_login(district["bureau"])
    with database_down(error):
        answer = client.get(path)
    assert answer.status_code == 503 and answer["Retry-After"].isdigit()
    assert b"Traceback" not in answer.content
    if path.startswith("/api/"):
        assert "database" in answer.json()["detail"]
    else:
        assert answer["Content-Type"].startswith("text/html") and "Temporarily unavailable" in answer.content.decode()
    assert client.get(path).status_code < 500  # the database is back: served again, nothing restarted


def test_any_other_error_is_still_a_500(district, monkeypatch):  # noqa: F811
    client = Client(raise_request_exception=False)
    client.force_login(district["bureau"])

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("kechuang.statistics.views.lists.ordered", broken)
    answer = client.get("/statistics/import/")
    assert answer.status_code == 500 and not answer.has_header("Retry-After")


# --- a request sent twice ----------------------------------------------------------------------


def test_an_application_submitted_twice_is_submitted_once(client, pages):  # noqa: F811
    project = programs.create_project(pages["firm"], call=pages["open"], category=pages["open"].categories[0],
                                      title_zh="智能传感器研发")
    client.force_login(pages["owner"])
    first = client.post(f"/api/v1/projects/{project.key}/submit/", content_type="application/json", data={})
    again = client.post(f"/api/v1/projects/{project.key}/submit/", content_type="application/json", data={})
    assert first.status_code == 200 and again.status_code == 400 and "state" in again.json()
    assert project.transitions.filter(name="submit").count() == 1


def test_a_project_created_twice_with_its_key_is_created_once(client, pages):  # noqa: F811
    client.force_login(pages["owner"])
    body = {"key": "firm-sensor-2024", "applicant": "firm", "call": "tongzhou-now", "category": "普通科创项目",
            "title_zh": "智能传感器研发"}
    first = client.post("/api/v1/projects/", content_type="application/json", data=body)
    again = client.post("/api/v1/projects/", content_type="application/json", data=body)
    assert first.status_code == 201 and again.status_code == 400
    assert Project.objects.filter(title_zh="智能传感器研发").count() == 1


def test_the_application_form_posted_twice_makes_one_application(client, pages):  # noqa: F811
    """Found by the retried-requests drill: a double click made two applications, each submitted."""
    client.force_login(pages["owner"])
    page = client.get("/programmes/calls/tongzhou-now/apply/").content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    hidden.pop("csrfmiddlewaretoken", None)
    data = form_data(applicant=pages["firm"].pk, submit="1", **hidden)
    answers = [client.post("/programmes/calls/tongzhou-now/apply/", data) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [302, 302]
    (project,) = Project.objects.filter(title_zh="真空泵国产化")
    assert answers[0]["Location"] == answers[1]["Location"] == f"/programmes/applications/{project.key}/"
    assert project.transitions.filter(name="submit").count() == 1


def test_the_same_figure_posted_twice_is_recorded_once(district):  # noqa: F811
    """Found by the retried-requests drill: the second post superseded the first with the same value."""
    client = Client()
    client.force_login(district["bureau"])
    body = {"organisation": "jia", "metric": "industrial-output", "period": "2023H1", "value": "1234.5",
            "unit": "万元"}
    answers = [client.post("/api/v1/observations/", content_type="application/json", data=body) for _ in range(2)]
    assert answers[0].status_code == 201 and answers[1].status_code in (200, 201)
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert Observation.objects.filter(organisation=district["jia"]).count() == 1


def test_a_first_publication_sent_twice_is_published_once(district, bulletin):  # noqa: F811
    client = Client()
    client.force_login(district["bureau"])
    answers = [client.post(f"/api/v1/bulletins/{bulletin.pk}/publish/", content_type="application/json",
                           data={"note": ""}) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [201, 400] and "note" in answers[1].json()
    assert versions_are_whole(bulletin) == [1]


def test_a_republication_sent_twice_with_the_same_note_is_published_once(district, bulletin):  # noqa: F811
    """Found by the retried-requests drill: the second made a version 3 identical to version 2."""
    bulletins.publish(bulletin)
    client = Client()
    client.force_login(district["bureau"])
    answers = [client.post(f"/api/v1/bulletins/{bulletin.pk}/publish/", content_type="application/json",
                           data={"note": "广告语修订 wording corrected"}) for _ in range(2)]
    assert answers[0].status_code == 201 and answers[1].status_code in (400, 409)
    assert "nothing has changed" in answers[1].json()["note"][0]
    assert versions_are_whole(bulletin) == [1, 2]

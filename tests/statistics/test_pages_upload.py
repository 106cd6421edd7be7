"""Imports started from the web: the upload is queued as a background task, the worker
(`kechuang db_worker`, the database backend of Django's tasks framework) imports it, and
the job's page follows it (htmx asks for its status part every 2 seconds while it runs),
then lists every problem and offers the error report to correct and upload again."""

import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from kechuang.statistics import tasks
from kechuang.statistics.importer import PROBLEMS_COLUMN
from kechuang.statistics.models import ImportJob, Observation

pytestmark = pytest.mark.django_db

GOOD = "统一社会信用代码,指标,期间,数值,单位\n{uscc},工业总产值,2023年1-6月,1234.5,万元\n"
BAD = "统一社会信用代码,指标,期间,数值,单位\n{uscc},工业总产值,2023年13月,12,万元\n{uscc},工业总产值,2023H1,-5,万元\n"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


def signed_in(user, language: str | None = "en") -> Client:
    client = Client(**({"HTTP_ACCEPT_LANGUAGE": language} if language else {}))
    client.force_login(user)
    return client


def upload(client, text: str, name="figures.csv", **fields):
    data = {"file": SimpleUploadedFile(name, text.encode("gbk"), content_type="text/csv"), **fields}
    return client.post("/statistics/import/", data)


def run_worker():
    """What `kechuang db_worker` does with each task it claims. (The command itself opens
    an exclusive SQLite transaction of its own, which cannot nest in the test's.)"""
    worker = Worker(queue_names=["default"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="test-worker")
    for result in DBTaskResult.objects.ready():
        result.claim(worker.worker_id)
        worker.run_task(result)
    assert not DBTaskResult.objects.ready().exists()


def test_an_upload_is_imported_by_the_worker_while_its_page_polls(district, django_capture_on_commit_callbacks):
    client = signed_in(district["bureau"])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, GOOD.format(uscc=district["zhongkeyi"].uscc))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/statistics/import/{job.pk}/"
    assert job.status == "pending" and not Observation.objects.exists()
    page = client.get(response.url).content.decode()
    assert "Waiting for the worker" in page and 'hx-trigger="every 2s"' in page
    assert '<noscript><meta http-equiv="refresh"' in page  # without JavaScript the page reloads itself
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.rows_written, job.interface) == ("done", 1, "web")
    figure = Observation.objects.get()
    assert (figure.organisation, figure.value, figure.entered_by, figure.interface) == (
        district["zhongkeyi"], 12345000, district["bureau"], "import")
    part = client.get(response.url, HTTP_HX_REQUEST="true")
    html = part.content.decode()
    assert html.startswith('<div id="job"') and "<html" not in html and "HX-Request" in part["Vary"]
    assert "every 2s" not in html  # done: the polling stops
    assert "1 figure written, submitted to the bureau." in html


def test_a_bad_upload_lists_every_problem_and_offers_the_error_report(district, django_capture_on_commit_callbacks):
    client = signed_in(district["bureau"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, BAD.format(uscc=district["zhongkeyi"].uscc))
    run_worker()
    job = ImportJob.objects.get()
    assert job.status == "refused" and not Observation.objects.exists()
    page = client.get(f"/statistics/import/{job.pk}/").content.decode()
    assert "2 errors: nothing was written." in page
    assert '<th scope="row">2</th>' in page and '<th scope="row">3</th>' in page  # the rows, as Excel numbers them
    assert "2023年13月" in page and "cannot be negative" in page
    problems = client.get(f"/statistics/import/{job.pk}/problems.xlsx")
    assert problems.status_code == 200 and problems["Content-Disposition"].startswith("attachment")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(problems.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == PROBLEMS_COLUMN and "cannot be negative" in rows[2][0]


def test_a_long_list_of_problems_is_paged(district, django_capture_on_commit_callbacks,
                                         django_assert_max_num_queries):
    client = signed_in(district["bureau"])
    uscc = district["zhongkeyi"].uscc
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, BAD.format(uscc=uscc))
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, "统一社会信用代码,指标,期间,数值,单位\n" + "".join(
            f"{uscc},工业总产值,2023H1,x{number},万元\n" for number in range(60)))
    run_worker()
    small, large = ImportJob.objects.order_by("pk")
    with django_assert_max_num_queries(8) as one:
        client.get(f"/statistics/import/{small.pk}/")
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(f"/statistics/import/{large.pk}/").content.decode()
    assert "60 problems listed" in page and page.count('<tr class="error">') == 50 and 'rel="next"' in page
    assert client.get(f"/statistics/import/{large.pk}/?page=2").content.decode().count('<tr class="error">') == 10
    assert client.get(f"/statistics/import/{large.pk}/?page=junk").status_code == 200


def test_an_enterprise_user_imports_only_its_own_figures(district, django_capture_on_commit_callbacks):
    client = signed_in(district["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, GOOD.format(uscc=district["jia"].uscc))
    run_worker()
    assert ImportJob.objects.get().status == "refused" and not Observation.objects.exists()


def test_a_job_is_its_uploaders(district, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(signed_in(district["bureau"]), GOOD.format(uscc=district["zhongkeyi"].uscc))
    job = ImportJob.objects.get()
    assert signed_in(district["owner"]).get(f"/statistics/import/{job.pk}/").status_code == 404
    assert signed_in(district["owner"]).get(f"/statistics/import/{job.pk}/problems.xlsx").status_code == 404
    assert Client().get(f"/statistics/import/{job.pk}/").status_code == 302  # sign in first


def test_a_running_job_is_followed_while_its_worker_lives_and_failed_once_it_died(district,
                                                                                    django_capture_on_commit_callbacks):
    """Found by the kill -9 drill: a job whose worker was killed stayed "running" for ever."""
    client = signed_in(district["bureau"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, GOOD.format(uscc=district["zhongkeyi"].uscc))
    job = ImportJob.objects.get()
    with tasks._importing(job):  # what the worker holds from before the job runs until its end is written
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
        assert 'hx-trigger="every 2s"' in client.get(f"/statistics/import/{job.pk}/").content.decode()
        assert ImportJob.objects.get().status == "running"
    # The worker is gone (as after kill -9) and never wrote the job's end.
    page = client.get(f"/statistics/import/{job.pk}/").content.decode()
    job.refresh_from_db()
    assert job.status == "failed" and "interrupted" in job.report["message"] and job.finished_at is not None
    assert 'hx-trigger="every 2s"' not in page and "Upload the file again" in page


def test_a_job_whose_worker_died_after_the_commit_is_shown_done(district, django_capture_on_commit_callbacks):
    client = signed_in(district["bureau"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, GOOD.format(uscc=district["zhongkeyi"].uscc))
    run_worker()
    ImportJob.objects.update(status=ImportJob.Status.RUNNING, rows_written=0)  # killed before its end was written
    page = client.get(f"/statistics/import/{ImportJob.objects.get().pk}/").content.decode()
    job = ImportJob.objects.get()
    assert (job.status, job.rows_written) == ("done", 1) and "1 figure written" in page


def test_the_list_of_uploads_settles_an_interrupted_job_and_leaves_a_command_s_alone(district):
    web, command = (ImportJob.objects.create(file_name=f"{interface}.csv", by=district["bureau"], interface=interface,
                                             status=ImportJob.Status.RUNNING) for interface in ("web", "cli"))
    page = signed_in(district["bureau"]).get("/statistics/import/").content.decode()
    assert ImportJob.objects.get(pk=web.pk).status == "failed" and "Failed: nothing written" in page
    assert ImportJob.objects.get(pk=command.pk).status == "running"  # `kechuang import` holds no lock


def test_an_analyst_cannot_upload(district, django_user_model):
    from kechuang.accounts.services import grant_role

    analyst = django_user_model.objects.create_user("analyst")
    grant_role(analyst, "analyst", by=None, region=district["tongzhou"])
    assert signed_in(analyst).get("/statistics/import/").status_code == 403
    assert upload(signed_in(analyst), GOOD.format(uscc=district["zhongkeyi"].uscc)).status_code == 403


def test_a_file_too_big_or_of_the_wrong_kind_is_refused_on_the_form(district, settings):
    settings.UPLOAD_MAX_BYTES = 10
    client = signed_in(district["bureau"])
    response = upload(client, GOOD.format(uscc=district["zhongkeyi"].uscc))
    page = response.content.decode()
    assert response.status_code == 200 and "the limit is 10." in page and "The file was not uploaded" in page
    chinese = upload(signed_in(district["bureau"], language=None), GOOD.format(uscc=district["zhongkeyi"].uscc))
    assert "超过上限 10 字节" in chinese.content.decode()
    settings.UPLOAD_MAX_BYTES = 10_000
    response = upload(client, "x", name="figures.xls")
    assert response.status_code == 200 and "save it as .xlsx first" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_list_of_uploads_sorts_pages_exports_within_its_queries(district, django_assert_max_num_queries):
    client = signed_in(district["owner"])
    ImportJob.objects.create(file_name="a.csv", by=district["owner"], status="done", rows_written=3)
    with django_assert_max_num_queries(10) as one:
        assert "a.csv" in client.get("/statistics/import/").content.decode()
    for number in range(9):
        ImportJob.objects.create(file_name=f"b{number}.csv", by=district["owner"], status="refused")
    ImportJob.objects.create(file_name="someone-else.csv", by=district["bureau"])
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get("/statistics/import/?sort=file").content.decode()
    assert page.index("a.csv") < page.index("b8.csv") and "someone-else.csv" not in page
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/statistics/import/?sort=-written&format=xlsx").content))
    rows = list(sheet.active.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 10 and rows[0][0] == "a.csv" and rows[0][4] == 3


def test_the_upload_pages_speak_both_languages(district, django_capture_on_commit_callbacks):
    assert "<h1>Upload figures" in signed_in(district["owner"]).get("/statistics/import/").content.decode()
    chinese = signed_in(district["owner"], language=None)
    page = chinese.get("/statistics/import/").content.decode()
    assert "<h1>数据导入" in page and "您还没有导入过文件" in page and "Upload figures" not in page
    with django_capture_on_commit_callbacks(execute=True):
        upload(chinese, GOOD.format(uscc=district["zhongkeyi"].uscc))
    assert "等待处理" in chinese.get(f"/statistics/import/{ImportJob.objects.get().pk}/").content.decode()

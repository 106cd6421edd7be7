"""Imports started from the web: the upload is queued as a background task, the worker
(`kechuang db_worker`, the database backend of Django's tasks framework) imports it,
and the job page shows the outcome and offers the problems file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from kechuang.statistics.models import ImportJob, Observation

pytestmark = pytest.mark.django_db

GOOD = "统一社会信用代码,指标,期间,数值,单位\n{uscc},工业总产值,2023年1-6月,1234.5,万元\n"
BAD = "统一社会信用代码,指标,期间,数值,单位\n{uscc},工业总产值,2023年13月,12,万元\n{uscc},工业总产值,2023H1,-5,万元\n"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


def signed_in(user) -> Client:
    client = Client()
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


def test_an_upload_is_imported_by_the_worker(district, django_capture_on_commit_callbacks):
    client = signed_in(district["bureau"])
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, GOOD.format(uscc=district["zhongkeyi"].uscc))
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == f"/statistics/import/{job.pk}/"
    assert job.status == "pending" and not Observation.objects.exists()
    assert "waiting for the worker" in client.get(response.url).content.decode()
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.rows_written, job.interface) == ("done", 1, "web")
    figure = Observation.objects.get()
    assert (figure.organisation, figure.value, figure.entered_by, figure.interface) == (
        district["zhongkeyi"], 12345000, district["bureau"], "import")
    assert ">1<" in client.get(response.url).content.decode()


def test_a_bad_upload_writes_nothing_and_offers_the_problems_file(district, django_capture_on_commit_callbacks):
    client = signed_in(district["bureau"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, BAD.format(uscc=district["zhongkeyi"].uscc))
    run_worker()
    job = ImportJob.objects.get()
    assert job.status == "refused" and not Observation.objects.exists()
    page = client.get(f"/statistics/import/{job.pk}/").content.decode()
    assert "13" in page and "cannot be negative" in page
    problems = client.get(f"/statistics/import/{job.pk}/problems.xlsx")
    assert problems.status_code == 200 and problems["Content-Disposition"].startswith("attachment")


def test_an_enterprise_user_imports_only_its_own_figures(district, django_capture_on_commit_callbacks):
    client = signed_in(district["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, GOOD.format(uscc=district["jia"].uscc))
    run_worker()
    assert ImportJob.objects.get().status == "refused" and not Observation.objects.exists()


def test_a_job_is_its_uploaders(district, django_user_model, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(signed_in(district["bureau"]), GOOD.format(uscc=district["zhongkeyi"].uscc))
    job = ImportJob.objects.get()
    assert signed_in(district["owner"]).get(f"/statistics/import/{job.pk}/").status_code == 404
    assert Client().get(f"/statistics/import/{job.pk}/").status_code == 302  # sign in first


def test_an_analyst_cannot_upload(district, django_user_model):
    from kechuang.accounts.services import grant_role

    analyst = django_user_model.objects.create_user("analyst")
    grant_role(analyst, "analyst", by=None, region=district["tongzhou"])
    assert signed_in(analyst).get("/statistics/import/").status_code == 403


def test_a_file_too_big_or_of_the_wrong_kind_is_refused_on_the_form(district, settings):
    settings.UPLOAD_MAX_BYTES = 10
    client = signed_in(district["bureau"])
    response = upload(client, GOOD.format(uscc=district["zhongkeyi"].uscc))
    assert response.status_code == 200 and "the limit is 10" in response.content.decode()
    settings.UPLOAD_MAX_BYTES = 10_000
    response = upload(client, "x", name="figures.xls")
    assert response.status_code == 200 and "save it as .xlsx" in response.content.decode()
    assert not ImportJob.objects.exists()

"""Background work of the statistics: a file uploaded in the web app is imported by the
task worker (`kechuang db_worker`, which `make run` starts), not in the request.

The import runs in one database transaction, so its progress cannot be read from the
database while it runs: the task writes it to a small file beside the upload instead,
which the job's page reads.
"""

import json
import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django_tasks import task

from kechuang import audit

from .importer import import_observations, write_error_report
from .models import ImportJob


def upload_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(job: ImportJob) -> Path:
    suffix = Path(job.file_name).suffix.lower() if Path(job.file_name).suffix.lower() in (".csv", ".xlsx") else ""
    return upload_dir() / f"{job.pk}{suffix}"


def report_path(job: ImportJob) -> Path:
    return upload_dir() / f"{job.pk}-problems.xlsx"


def progress_path(job: ImportJob) -> Path:
    return upload_dir() / f"{job.pk}-progress.json"


def read_progress(job: ImportJob) -> tuple[int, int] | None:
    try:
        data = json.loads(progress_path(job).read_text())
        return int(data["done"]), int(data["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_progress(job: ImportJob, done: int, total: int) -> None:
    path = progress_path(job)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"done": done, "total": total}))
    os.replace(temporary, path)  # readers never see half a file


@task()
def import_uploaded_file(job_id: int, options: dict) -> str:
    """Import the file of a queued job as the user who uploaded it; write the problems
    report next to it when there are problems. Returns the job's final status."""
    job = ImportJob.objects.select_related("by").get(pk=job_id)
    user = job.by
    if user is not None:
        user = get_user_model().objects.get(pk=user.pk)  # fresh: grants are read now, not at upload time
    source = upload_path(job)
    with audit.interface("web"):
        outcome = import_observations(source, by=user, job=job, filename=job.file_name,
                                      progress=lambda done, total: _write_progress(job, done, total), **options)
    # The report is the file with a problems column: a file that could not be read as a table
    # (damaged, not a spreadsheet, an encoding neither UTF-8 nor GB18030 reads) has no rows to
    # mark; its job says why, and the task ends normally.
    if (outcome.errors or outcome.warnings) and outcome.layout:
        write_error_report(outcome, source, report_path(job), filename=job.file_name, sheet=options.get("sheet"))
    return outcome.job.status

"""Background work of the statistics: a file uploaded in the web app is imported by the
task worker (`kechuang db_worker`, which `make run` starts), not in the request.

The import runs in one database transaction, so its progress cannot be read from the
database while it runs: the task writes it to a small file beside the upload instead,
which the job's page reads.

A worker can die in the middle of an import (killed, out of memory, the machine restarted):
the database throws its transaction away, but the job's row, written outside it, would say
"running" for ever. So the task holds an exclusive lock on a file beside the upload while it
runs, which the kernel releases when the process ends however it ends, and the job's page
settles a running job whose lock is free (`settle_if_interrupted`).
"""

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_tasks import task

from kechuang import audit
from kechuang.audit.context import Interface

from .importer import import_observations, write_error_report
from .models import ImportJob, Observation


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


def lock_path(job: ImportJob) -> Path:
    return upload_dir() / f"{job.pk}.lock"


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
    with _importing(job), audit.interface("web"):
        outcome = import_observations(source, by=user, job=job, filename=job.file_name,
                                      progress=lambda done, total: _write_progress(job, done, total), **options)
        # The report is the file with a problems column: a file that could not be read as a table
        # (damaged, not a spreadsheet, an encoding neither UTF-8 nor GB18030 reads) has no rows to
        # mark; its job says why, and the task ends normally.
        if (outcome.errors or outcome.warnings) and outcome.layout:
            write_error_report(outcome, source, report_path(job), filename=job.file_name, sheet=options.get("sheet"))
    return outcome.job.status


@contextmanager
def _importing(job: ImportJob):
    """Hold the job's lock file (imports/<id>.lock) exclusively from before the job is marked
    running until after its end is written. The file is removed while still held: a page that
    opened it just before then finds it free, but the job's end is written by then, and
    `settle_if_interrupted` changes only a job still running."""
    path = lock_path(job)
    with open(path, "ab") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def _worker_holds(job: ImportJob) -> bool:
    """Whether a live process holds the job's lock: a worker is importing it now."""
    try:
        descriptor = os.open(lock_path(job), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # and with it the shared lock, if it was taken
    return False


INTERRUPTED = "interrupted: the task worker stopped during the import (restarted or killed): nothing was written"


def settle_if_interrupted(job: ImportJob) -> ImportJob:
    """A job uploaded from the web and running while no worker holds its lock lost its worker:
    it is marked failed, as its transaction was rolled back with the worker's connection. In the
    moment between that transaction's commit and the job's end being written, the figures are
    there: the job is then marked done. `job` is updated in place and returned.

    Jobs of `kechuang import` are left alone: they hold no lock, and their user sees the
    command end."""
    if job.status != ImportJob.Status.RUNNING or job.interface != Interface.WEB or _worker_holds(job):
        return job
    written = Observation.objects.filter(import_job=job).count()
    if written:
        status = ImportJob.Status.DONE
        message = f"imported ({written:,} figures); the task worker stopped before it could say so"
    else:
        status, message = ImportJob.Status.FAILED, INTERRUPTED
    # Only a job still running: a worker that ended it meanwhile has the last word.
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
        status=status, rows_written=written, finished_at=timezone.now(), report={**job.report, "message": message})
    job.refresh_from_db()
    return job

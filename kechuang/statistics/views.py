"""Web pages of the statistics: report a figure, see one's figures, and (the bureau)
review what was submitted. Every list goes through `visible_to`; every change through
the services, which check the role."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from kechuang.accounts.scoping import may_change_anything, reviewable_by, scope_of, visible_to
from kechuang.audit.context import Interface

from . import services, tasks
from .forms import ReportForm, UploadForm
from .models import ImportJob, Observation, ObservationStatus


def _figures(request):
    return visible_to(Observation.objects.current(), request.user).select_related(
        "organisation", "region", "metric", "entered_by")


@login_required
def report(request):
    """Report a figure, and see the figures one reported."""
    form = ReportForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        status = ObservationStatus.SUBMITTED if "submit" in request.POST else ObservationStatus.DRAFT
        try:
            figure = services.record_observation(
                data["subject"], data["metric"], data["period"], data["value"], unit=data.get("unit") or None,
                kind=data["kind"], by=request.user, status=status)
        except services.StatisticsError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.reason)
        else:
            messages.success(request, f"已保存 Saved: {figure.metric.name_zh} {figure.period} = {figure.value} "
                                      f"{figure.metric.base_unit} ({figure.get_status_display()})")
            return redirect("statistics-report")
    mine = _figures(request).filter(entered_by=request.user).order_by("-created_at")
    return render(request, "statistics/report.html", {
        "form": form, "page": Paginator(mine, 50).get_page(request.GET.get("page"))})


@login_required
def review(request):
    """The bureau's queue: figures submitted in its district, to approve or return."""
    scope = scope_of(request.user)
    if not (scope.everything or scope.change_paths):
        raise PermissionDenied("the review queue is the bureau's")
    queue = reviewable_by(_figures(request), request.user).filter(status=ObservationStatus.SUBMITTED)
    queue = queue.order_by("organisation__key", "metric__code", "period_start")
    return render(request, "statistics/review.html", {"page": Paginator(queue, 50).get_page(request.GET.get("page"))})


@login_required
@require_POST
def decide(request, pk: int):
    figure = get_object_or_404(_figures(request), pk=pk)
    transition = request.POST.get("transition")
    if transition not in ("submit", "approve", "return", "publish"):
        raise Http404
    try:
        services.take(figure, transition, by=request.user, comment=request.POST.get("comment", "")[:2000])
    except services.NotAllowed as exc:
        raise PermissionDenied(exc.reason) from None
    except services.StatisticsError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, f"{figure.subject} {figure.metric.name_zh} {figure.period}: "
                                  f"{figure.get_status_display()}")
    return redirect("statistics-report" if transition == "submit" else "statistics-review")


# --- imports from the web --------------------------------------------------------------


@login_required
def upload(request):
    """Upload a file of figures; the task worker imports it and the job page follows it."""
    if not may_change_anything(request.user):
        raise PermissionDenied("your role does not report figures")
    form = UploadForm(request.POST or None, request.FILES or None, max_bytes=settings.UPLOAD_MAX_BYTES)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        job = ImportJob.objects.create(file_name=data["file"].name[:300], by=request.user, interface=Interface.WEB,
                                       dry_run=data["dry_run"], size=data["file"].size)
        with open(tasks.upload_path(job), "wb") as stored:
            for chunk in data["file"].chunks():
                stored.write(chunk)
        options = {"region": data["region"] or None, "period": data["period"] or None,
                   "sheet": data["sheet"] or None, "dry_run": data["dry_run"],
                   "accept_warnings": data["accept_warnings"]}
        # Queued once this request's writes are committed, so the worker finds the job.
        transaction.on_commit(lambda: tasks.import_uploaded_file.enqueue(job.pk, options))
        return redirect("statistics-import-job", pk=job.pk)
    jobs = ImportJob.objects.filter(by=request.user).order_by("-created_at")[:20]
    return render(request, "statistics/upload.html", {"form": form, "jobs": jobs})


def _own_job(request, pk: int) -> ImportJob:
    job = get_object_or_404(ImportJob.objects.select_related("by"), pk=pk)
    if job.by_id != request.user.pk and not request.user.is_superuser:
        raise Http404  # another user's import is not there for you
    return job


@login_required
def import_job(request, pk: int):
    job = _own_job(request, pk)
    running = job.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)
    progress = tasks.read_progress(job) if running else None
    report = job.report or {}
    return render(request, "statistics/import_job.html", {
        "job": job, "running": running, "progress": progress,
        "percent": min(100, progress[0] * 100 // progress[1]) if progress and progress[1] else None,
        "errors": (report.get("errors") or [])[:200], "warnings": (report.get("warnings") or [])[:200],
        "report": report, "has_problem_file": tasks.report_path(job).exists(),
    })


@login_required
def import_problems(request, pk: int):
    job = _own_job(request, pk)
    path = tasks.report_path(job)
    if not path.exists():
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"problems-{job.file_name}.xlsx")

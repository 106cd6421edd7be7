"""Web pages of the statistics: report a figure, see one's figures, and (the bureau)
review what was submitted. Every list goes through `visible_to`; every change through
the services, which check the role."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from kechuang.accounts.scoping import reviewable_by, scope_of, visible_to

from . import services
from .forms import ReportForm
from .models import Observation, ObservationStatus


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

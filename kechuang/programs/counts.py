"""The programmes' figures, for any region subtree and any period: what the indicators
count. Each is one SQL aggregate and comes with the records behind it (a lazy queryset).

Definitions (docs/programs.md):
- a project belongs to a region when its applicant is located in the region's subtree
  now (Organisation.objects.in_region); a collaboration counts for its applicant
  enterprise's region, wherever its university and institute partners are;
- a date-time falls in a period by the bureau's calendar, Asia/Shanghai: from 00:00 of
  the period's first day to before 00:00 of the day after its last day;
- an application is submitted in the period when its `submit` transition is dated in it
  (a project withdrawn and submitted again is one application);
- a project is approved in the period when its transition into `approved` is;
- a collaboration is introduced in the period when its agreement was signed in it and
  the bureau recognised it (its state is approved or beyond: in progress, completed or
  terminated);
- technology contract turnover (技术合同成交额) is the sum of those collaborations' contract values, in yuan;
- after approval, the rows of a project count for its region: outcomes by the day they
  happened, tranches by the day they were paid (or are planned), reports by their due
  day; these are dates, compared as they are (a day is in a period or it is not).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from kechuang.registry.models import Organisation, Region
from kechuang.statistics.periods import Period

from .models import Outcome, OutcomeKind, ProgressReport, Project, ProjectKind, ProjectState, ProjectTransition, Tranche
from .services import SHANGHAI

P = ProjectState
#: The states of a project the bureau approved (立项) or recognised, whatever came after.
RECOGNISED = (P.APPROVED, P.IN_PROGRESS, P.COMPLETED, P.TERMINATED)


@dataclass(frozen=True)
class Figure:
    """A count (or a sum) and the records behind it."""

    value: int | Decimal
    records: QuerySet


def window(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The period as [start, end) in Asia/Shanghai: 2023H1 is 2023-01-01 00:00 to 2023-07-01 00:00."""
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=SHANGHAI)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=SHANGHAI)
    return start, end


def projects_of(region: Region | str, kind: str | None = None) -> QuerySet:
    """Projects whose applicant is located in the region's subtree now."""
    projects = Project.objects.filter(applicant__in=Organisation.objects.in_region(region).values("pk"))
    return projects.filter(kind=kind) if kind else projects


def _transitioned(region, period: Period, kind: str | None, **transition) -> QuerySet:
    start, end = window(period)
    steps = ProjectTransition.objects.filter(at__gte=start, at__lt=end, **transition).values("project_id")
    return projects_of(region, kind).filter(pk__in=steps)


def _counted(records: QuerySet) -> Figure:
    return Figure(records.aggregate(n=Count("pk"))["n"], records)


def applications_submitted(region: Region | str, period: Period, kind: str | None = ProjectKind.INNOVATION) -> Figure:
    """Applications (申报) submitted in the period; `kind=None` counts collaborations too."""
    return _counted(_transitioned(region, period, kind, name="submit"))


def projects_approved(region: Region | str, period: Period, category: str | None = None,
                      kind: str | None = ProjectKind.INNOVATION) -> Figure:
    """Projects approved (立项/认定) in the period, of one category or all."""
    records = _transitioned(region, period, kind, to_state=P.APPROVED)
    return _counted(records.filter(category=category) if category is not None else records)


def projects_approved_by_category(region: Region | str, period: Period,
                                  kind: str | None = ProjectKind.INNOVATION) -> dict[str, int]:
    """{category: projects approved in the period}, in one query."""
    rows = (_transitioned(region, period, kind, to_state=P.APPROVED)
            .order_by().values("category").annotate(n=Count("pk")).values_list("category", "n"))
    return dict(rows)


def _collaborations(region: Region | str, period: Period) -> QuerySet:
    return projects_of(region, ProjectKind.COLLABORATION).filter(
        agreement_date__gte=period.start, agreement_date__lte=period.end, state__in=RECOGNISED)


def collaborations_introduced(region: Region | str, period: Period) -> Figure:
    """Academia–industry collaborations (产学研合作项目) introduced in the period, by agreement date."""
    return _counted(_collaborations(region, period))


def _summed(records: QuerySet, field: str) -> Figure:
    zero = Value(Decimal(0), output_field=DecimalField(max_digits=16, decimal_places=2))
    total = records.aggregate(total=Coalesce(Sum(field), zero))["total"]
    return Figure(Decimal(total).quantize(Decimal("0.01")), records)


def technology_contract_turnover(region: Region | str, period: Period) -> Figure:
    """技术合同成交额: the contract values of the collaborations introduced in the period, in yuan."""
    return _summed(_collaborations(region, period), "contract_value")


# --- after approval ------------------------------------------------------------------------


def _of_projects_in(model, region: Region | str) -> QuerySet:
    """Rows of a project's own table whose project's applicant is located in the region's subtree now."""
    return model.objects.filter(project__applicant__in=Organisation.objects.in_region(region).values("pk"))


def _outcomes(region: Region | str, period: Period) -> QuerySet:
    return _of_projects_in(Outcome, region).filter(date__gte=period.start, date__lte=period.end)


def outcomes(region: Region | str, period: Period, kind: str | None = None) -> Figure:
    """Outcomes (项目成果) that happened in the period, of one kind (patents filed, granted …) or all."""
    records = _outcomes(region, period)
    return _counted(records.filter(kind=kind) if kind is not None else records)


def outcomes_by_kind(region: Region | str, period: Period) -> dict[str, int]:
    """{kind: outcomes in the period}, every kind present (0 when none), in one query."""
    rows = _outcomes(region, period).order_by().values("kind").annotate(n=Count("pk")).values_list("kind", "n")
    return {kind: 0 for kind in OutcomeKind.values} | dict(rows)


def revenue_from_results(region: Region | str, period: Period) -> Figure:
    """成果转化收入: the revenue from the projects' results in the period, in yuan."""
    return _summed(_outcomes(region, period).filter(kind=OutcomeKind.REVENUE), "amount")


def funding_paid(region: Region | str, period: Period) -> Figure:
    """The bureau's funding paid in the period (tranches by the day they were paid), in yuan."""
    records = _of_projects_in(Tranche, region).filter(paid_date__gte=period.start, paid_date__lte=period.end)
    return _summed(records, "paid_amount")


def funding_planned(region: Region | str, period: Period) -> Figure:
    """The funding planned for the period (tranches by their planned day, paid or not), in yuan."""
    records = _of_projects_in(Tranche, region).filter(planned_date__gte=period.start,
                                                       planned_date__lte=period.end)
    return _summed(records, "planned_amount")


def reports_overdue(region: Region | str, today: dt.date) -> Figure:
    """Progress reports overdue on `today`: due before it, still owed (due or returned for
    correction), of projects still running (approved or in progress)."""
    return _counted(_of_projects_in(ProgressReport, region).outstanding().filter(due__lt=today))

"""What waits for the signed-in user, by role: the first thing the home page shows them.

Each task is a count of rows the user may see (`visible_to`) and the page where they deal
with it; a role with nothing waiting gets its pages all the same. A handful of COUNT
queries, whatever the number of rows.
"""

import datetime as dt
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kechuang.accounts.models import Role
from kechuang.accounts.scoping import reviewable_by, scope_of, visible_to
from kechuang.designations.models import Designation
from kechuang.programs.models import Call, Project, ProjectState, ReviewAssignment
from kechuang.registry.models import Organisation
from kechuang.statistics.models import Observation, ObservationStatus

#: Designations the bureau is reminded of this many days before they run out.
EXPIRY_DAYS = 90


@dataclass
class Task:
    text: str
    url: str
    count: int | None = None  # None: a link, not a count
    urgent: bool = False


def _url(name: str, *args, query: str = "") -> str:
    return reverse(name, args=args) + query


def tasks_for(user, today: dt.date | None = None) -> list[Task]:
    if not user.is_authenticated:
        return []
    today = today or timezone.localdate()
    scope = scope_of(user)
    roles = scope.roles
    found: list[Task] = []
    if Role.ENTERPRISE_USER in roles:
        mine = visible_to(Project.objects.filter(applicant_id__in=scope.enterprises), user)
        found.append(Task(_("applications in draft"), _url("programs-applications"),
                          mine.filter(state=ProjectState.DRAFT).count()))
        found.append(Task(_("calls open for applications"), _url("programs-calls", query="?status=open"),
                          visible_to(Call.objects.filter(opens__lte=timezone.now(), closes__gt=timezone.now()),
                                     user).count()))
        found.append(Task(_("figures returned for correction"), _url("statistics-report"),
                          visible_to(Observation.objects.current(), user)
                          .filter(status=ObservationStatus.RETURNED).count(), urgent=True))
    if Role.REVIEWER in roles:
        pending = ReviewAssignment.objects.filter(reviewer=user, submitted_at__isnull=True)
        found.append(Task(_("applications to score"), _url("programs-reviews"), pending.count()))
        found.append(Task(_("of them overdue"), _url("programs-reviews"), pending.filter(due__lt=today).count(),
                          urgent=True))
    if Role.BUREAU_ADMIN in roles:
        projects = visible_to(Project.objects.all(), user)
        found.append(Task(_("applications submitted, waiting for review"), _url("programs-board"),
                          projects.filter(state=ProjectState.SUBMITTED).count()))
        found.append(Task(_("applications under review, waiting for a decision"), _url("programs-board"),
                          projects.filter(state=ProjectState.UNDER_REVIEW).count()))
        found.append(Task(_("figures waiting for approval"), _url("statistics-review"),
                          reviewable_by(Observation.objects.current(), user)
                          .filter(status=ObservationStatus.SUBMITTED).count()))
    if Role.BUREAU_ADMIN in roles or Role.ANALYST in roles:
        found.append(Task(_("designations running out within 90 days"),
                          _url("designations-expiring", query=f"?within={EXPIRY_DAYS}"),
                          visible_to(Designation.objects.expiring(today, EXPIRY_DAYS), user).count()))
    if Role.PARK_MANAGER in roles:
        for park in Organisation.objects.filter(pk__in=scope.parks).order_by("key"):
            found.append(Task(_("your park: %(name)s, its tenants and phases") % {"name": park.name_zh or park.name_en},
                              _url("organisation", park.key)))
    return found

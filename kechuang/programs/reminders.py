"""The programmes' reminder sources (kechuang/notifications/reminders.py runs them daily).

- `calls_closing`: a call closes within `CALL_CLOSING_DAYS` days and an applicant still
  has a draft in it → that applicant's users, once per call and applicant.
- `reviews_due`: a review is due within `REVIEW_DUE_DAYS` days → its reviewer, once; and
  again, once, when it is overdue (due before today, as `services.overdue_reviews` says).
- `progress_reports_due`: a progress report is due within `REPORT_DUE_DAYS` days → the
  applicant's users, once; and again, once, when it is overdue.

Only projects still waiting for it are counted: a draft nobody submits is reminded of,
a submitted one is not; a review of a project already decided is not chased.
"""

import datetime as dt
from collections.abc import Iterator

from django.urls import reverse
from django.utils import timezone

from kechuang.notifications.models import NotificationKind
from kechuang.notifications.reminders import Reminder
from kechuang.notifications.services import enterprise_users

from .delivery import reports_due
from .models import Project, ProjectState, ReviewAssignment
from .services import SHANGHAI, overdue_reviews

#: A call closing on this day or the next three is "closing soon".
CALL_CLOSING_DAYS = 3
#: A review due today, tomorrow or the day after is "due soon".
REVIEW_DUE_DAYS = 2
#: A progress report due within a week is "due soon".
REPORT_DUE_DAYS = 7


def start_of(day: dt.date) -> dt.datetime:
    """00:00 of `day` in Asia/Shanghai: the bureau's calendar decides what "within 3 days" means."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)


def _run_moment(today: dt.date) -> dt.datetime:
    """Where a run for `today` stands: now, on the current day (a call that closed this
    morning is not "closing" any more); the start of the day for a run of another day."""
    return timezone.now() if today == timezone.localdate() else start_of(today)


def calls_closing(today: dt.date) -> Iterator[Reminder]:
    """Applicants with a draft in a call that closes within CALL_CLOSING_DAYS days."""
    drafts = (Project.objects.filter(state=ProjectState.DRAFT, call__closes__gt=_run_moment(today),
                                     call__closes__lt=start_of(today + dt.timedelta(days=CALL_CLOSING_DAYS + 1)))
              .select_related("call", "applicant").order_by("call_id", "applicant_id", "key"))
    by_applicant: dict[tuple[int, int], list[Project]] = {}
    for project in drafts:
        by_applicant.setdefault((project.call_id, project.applicant_id), []).append(project)
    users = enterprise_users({applicant_id for _, applicant_id in by_applicant})
    for (call_id, applicant_id), projects in by_applicant.items():
        call, applicant = projects[0].call, projects[0].applicant
        closes = timezone.localtime(call.closes, SHANGHAI)
        titles = "、".join(f"「{project}」" for project in projects)
        body = (f"{call}将于 {closes:%Y-%m-%d %H:%M}（北京时间）截止申报。{applicant}尚有未提交的申报：{titles}。"
                f"截止后不再受理。\n"
                f"The call {call.programme_en or call} closes on {closes:%Y-%m-%d %H:%M} (Asia/Shanghai). "
                f"{applicant} has not yet submitted: {titles}. Submissions after the closing time are refused.")
        for user in users.get(applicant_id, []):
            yield Reminder(user, NotificationKind.DEADLINE, f"call:{call_id}:closing:{applicant_id}",
                           f"申报即将截止 Call closing {closes:%Y-%m-%d}: {call}", body,
                           reverse("programs-applications") + f"?call={call.key}&status=draft")


def reviews_due(today: dt.date) -> Iterator[Reminder]:
    """Reviewers whose review is due within REVIEW_DUE_DAYS days, or overdue."""
    due_soon = (ReviewAssignment.objects
                .filter(submitted_at__isnull=True, due__gte=today, due__lte=today + dt.timedelta(days=REVIEW_DUE_DAYS),
                        project__state__in=(ProjectState.SUBMITTED, ProjectState.UNDER_REVIEW))
                .select_related("project__applicant", "reviewer").order_by("due", "project__key"))
    for assignment in due_soon:
        title = str(assignment.project)
        yield Reminder(
            assignment.reviewer, NotificationKind.DEADLINE, f"review:{assignment.pk}:due-soon",
            f"评审即将到期 Review due {assignment.due:%Y-%m-%d}: {title}",
            f"您对「{title}」的评审将于 {assignment.due:%Y-%m-%d} 到期，请及时提交评分。\n"
            f"Your review of \"{title}\" is due on {assignment.due:%Y-%m-%d}; please submit your scores.",
            reverse("programs-review", args=[assignment.pk]))
    for assignment in overdue_reviews(today):
        title = str(assignment.project)
        yield Reminder(
            assignment.reviewer, NotificationKind.DEADLINE, f"review:{assignment.pk}:overdue",
            f"评审已逾期 Review overdue since {assignment.due:%Y-%m-%d}: {title}",
            f"您对「{title}」的评审已于 {assignment.due:%Y-%m-%d} 到期，尚未提交，请尽快提交评分。\n"
            f"Your review of \"{title}\" was due on {assignment.due:%Y-%m-%d} and has not been submitted; "
            "please submit your scores as soon as you can.",
            reverse("programs-review", args=[assignment.pk]))


def progress_reports_due(today: dt.date) -> Iterator[Reminder]:
    """The applicant's users, for each progress report still owed within REPORT_DUE_DAYS days
    (once), and for each overdue one (once more)."""
    reports = list(reports_due(today, REPORT_DUE_DAYS))
    users = enterprise_users({report.project.applicant_id for report in reports})
    for report in reports:
        title, overdue = str(report.project), report.due < today
        stage = "overdue" if overdue else "due-soon"
        subject = (f"进度报告已逾期 Progress report overdue since {report.due:%Y-%m-%d}: {title}" if overdue
                   else f"进度报告即将到期 Progress report due {report.due:%Y-%m-%d}: {title}")
        body = (f"项目「{title}」的{report.title}应于 {report.due:%Y-%m-%d} 提交"
                f"{'，现已逾期' if overdue else ''}。\n"
                f"The progress report \"{report.title}\" of \"{title}\" is due on {report.due:%Y-%m-%d}"
                f"{' and is overdue' if overdue else ''}.")
        for user in users.get(report.project.applicant_id, []):
            yield Reminder(user, NotificationKind.REPORT_DUE, f"progress-report:{report.pk}:{stage}", subject, body,
                           f"/api/v1/projects/{report.project.key}/reports/")

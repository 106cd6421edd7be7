"""Reminders: calls closing, reviews due and overdue, statistics not reported; `kechuang remind`
sends each once, whatever the number of runs."""

import datetime as dt
import io

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone

from kechuang.accounts.models import Grant, Role
from kechuang.accounts.services import grant_role
from kechuang.notifications import reminders
from kechuang.notifications.models import Notification
from kechuang.programs import delivery, services
from kechuang.programs.reminders import calls_closing, progress_reports_due, reviews_due
from kechuang.registry.models import Organisation
from kechuang.statistics.reminders import collecting_regions, period_due, reports_due
from kechuang.statistics.services import load_catalogue, record_observation
from tests.programs.conftest import CATEGORIES, draft, local, walk

pytestmark = pytest.mark.django_db

CLOSING_SOON = dt.date(2023, 3, 13)  # the call closes 2023-03-15 17:00


def keys(found):
    return sorted((reminder.recipient.username, reminder.key) for reminder in found)


def remind(*args) -> str:
    out = io.StringIO()
    call_command("remind", *args, stdout=out)
    return out.getvalue()


# --- calls closing -----------------------------------------------------------------------


def test_an_applicant_with_a_draft_is_reminded_that_the_call_closes(people):
    project = draft(people)
    draft(people, title_zh="第二个项目")
    found = list(calls_closing(CLOSING_SOON))
    call = people["call"]
    assert keys(found) == [("owner", f"call:{call.pk}:closing:{project.applicant_id}")]  # one for both drafts
    reminder = found[0]
    assert reminder.kind == "deadline" and "2023-03-15 17:00" in reminder.body
    assert "智能传感器研发" in reminder.body and "第二个项目" in reminder.body
    assert reminder.subject.startswith("申报即将截止 Call closing 2023-03-15")


@pytest.mark.parametrize("today, reminded", [
    (dt.date(2023, 3, 11), False),  # four days before: not yet
    (dt.date(2023, 3, 12), True),   # three days before
    (dt.date(2023, 3, 15), True),   # the closing day
    (dt.date(2023, 3, 16), False),  # closed
])
def test_closing_within_three_days_is_by_the_bureaus_calendar(people, today, reminded):
    draft(people)
    assert bool(list(calls_closing(today))) is reminded


def test_a_submitted_application_is_not_reminded_of_the_closing(people):
    walk(draft(people), "submit")
    assert list(calls_closing(CLOSING_SOON)) == []


def test_a_call_that_closed_earlier_today_is_not_closing_any_more(people):
    now = timezone.now()
    call = services.open_call(people["tongzhou"], key="closed-an-hour-ago", programme_zh="已截止的申报",
                              categories=CATEGORIES, opens=now - dt.timedelta(days=10),
                              closes=now - dt.timedelta(hours=1))
    draft(people, call=call)
    assert list(calls_closing(timezone.localdate())) == []


# --- reviews -----------------------------------------------------------------------------


@pytest.fixture
def assignment(people):
    project = walk(draft(people), "submit", "start_review")
    return services.assign_reviewer(project, people["expert"], due=dt.date(2023, 2, 20))


@pytest.mark.parametrize("today, which", [
    (dt.date(2023, 2, 17), None),
    (dt.date(2023, 2, 18), "due-soon"),
    (dt.date(2023, 2, 20), "due-soon"),
    (dt.date(2023, 2, 21), "overdue"),
    (dt.date(2023, 3, 30), "overdue"),
])
def test_a_reviewer_is_reminded_two_days_before_the_due_date_and_once_it_is_overdue(assignment, today, which):
    expected = [("expert", f"review:{assignment.pk}:{which}")] if which else []
    assert keys(reviews_due(today)) == expected


def test_a_submitted_review_is_not_chased(assignment, people):
    services.submit_review(assignment, {"创新性": 30, "可行性": 20, "效益": 20}, by=people["expert"],
                           at=local(2023, 2, 10, 10, 0))
    assert list(reviews_due(dt.date(2023, 2, 19))) == [] and list(reviews_due(dt.date(2023, 2, 25))) == []


def test_a_review_of_a_decided_project_is_not_chased(assignment):
    walk(assignment.project, "reject", at=local(2023, 2, 15, 10, 0))
    assert list(reviews_due(dt.date(2023, 2, 25))) == []


# --- statistics --------------------------------------------------------------------------


@pytest.fixture
def report(people):
    project = walk(draft(people, planned_start=dt.date(2023, 3, 1), planned_end=dt.date(2024, 12, 31)),
                   "submit", "start_review", "approve", "start")
    (first, *_) = delivery.schedule_reports(project, dates=[dt.date(2023, 9, 30), dt.date(2024, 6, 30)])
    return first


@pytest.mark.parametrize("today, which", [
    (dt.date(2023, 9, 22), None),
    (dt.date(2023, 9, 23), "due-soon"),
    (dt.date(2023, 9, 30), "due-soon"),
    (dt.date(2023, 10, 1), "overdue"),
])
def test_the_applicant_is_reminded_a_week_before_a_progress_report_is_due_and_once_it_is_overdue(report, today,
                                                                                               which):
    expected = [("owner", f"progress-report:{report.pk}:{which}")] if which else []
    assert keys(progress_reports_due(today)) == expected


def test_a_submitted_progress_report_is_not_chased(report, people):
    delivery.submit_report(report, "进展顺利", by=people["owner"])
    assert keys(progress_reports_due(dt.date(2023, 10, 1))) == []


@pytest.fixture
def above_size(people):
    """The catalogue, and the firm (Tongzhou) and its rival (Chongchuan) above designated size."""
    load_catalogue()
    Organisation.objects.filter(key__in=["firm", "rival"]).update(above_designated_size=True)
    return people


@pytest.mark.parametrize("today, code", [
    (dt.date(2023, 9, 4), "2023-01..2023-08"),
    (dt.date(2023, 3, 1), "2023-01..2023-02"),
    (dt.date(2023, 2, 28), "2023-01..2023-01"),
    (dt.date(2024, 1, 10), "2023-01..2023-12"),
])
def test_the_period_due_is_the_year_to_date_through_the_last_complete_month(today, code):
    assert period_due(today).code == code


def test_an_enterprise_that_has_not_reported_is_reminded_of_what_is_missing(above_size):
    firm, rival = above_size["firm"], above_size["rival"]
    record_observation(firm, "industrial-output", "2023-01..2023-08", "1000000", today=dt.date(2023, 9, 4))
    for code in ("industrial-output", "high-tech-output", "operating-revenue", "rd-expenditure"):
        record_observation(rival, code, "2023-01..2023-08", "1000", today=dt.date(2023, 9, 4))
    found = list(reports_due(dt.date(2023, 9, 4)))
    assert keys(found) == [("owner", f"statistics:2023-01..2023-08:{firm.pk}")]
    body = found[0].body
    assert "high-tech-output" in body and "rd-expenditure" in body and "industrial-output" not in body
    assert found[0].kind == "report_due" and "2023年1-8月" in found[0].subject


def test_only_where_a_bureau_collects_figures_in_kechuang(above_size):
    Grant.objects.filter(user=above_size["other_bureau"]).update(revoked_at=timezone.now())
    assert {r.recipient.username for r in reports_due(dt.date(2023, 9, 4))} == {"owner"}  # not rival_owner


def test_a_bureau_inside_another_bureaus_region_adds_no_second_list(above_size, django_user_model):
    city = django_user_model.objects.create_user("city")
    grant_role(city, Role.BUREAU_ADMIN, by=None, region=above_size["nantong"])
    assert [region.code for region in collecting_regions()] == ["320600"]
    found = keys(reports_due(dt.date(2023, 9, 4)))
    assert [name for name, _ in found] == ["owner", "rival_owner"]


# --- the command -------------------------------------------------------------------------


def test_running_the_reminders_twice_sends_each_once(people, django_capture_on_commit_callbacks):
    draft(people)
    with django_capture_on_commit_callbacks(execute=True):
        first = remind("--today", "2023-03-13")
    assert "2023-03-13: sent 1, already sent 0" in first
    assert "kechuang.programs.reminders.calls_closing: sent 1, already sent 0" in first
    assert [email.to for email in mail.outbox] == [["owner@example.cn"]]
    with django_capture_on_commit_callbacks(execute=True):
        second = remind("--today", "2023-03-14")
    assert "2023-03-14: sent 0, already sent 1" in second
    assert len(mail.outbox) == 1 and Notification.objects.count() == 1


def test_a_dry_run_counts_and_writes_nothing(people):
    draft(people)
    assert "2023-03-13: would send 1, already sent 0" in remind("--today", "2023-03-13", "--dry-run")
    assert not Notification.objects.exists()
    remind("--today", "2023-03-13")
    assert "2023-03-13: would send 0, already sent 1" in remind("--today", "2023-03-13", "--dry-run")


def test_a_bad_date_is_refused_with_the_form_expected(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        remind("--today", "13/03/2023")


def broken_source(today):
    raise RuntimeError("the source's table is missing")
    yield  # a generator, like the real sources


def test_a_broken_source_is_reported_and_the_others_still_run(people, settings):
    settings.NOTIFICATION_REMINDER_SOURCES = [f"{__name__}.broken_source", "kechuang.programs.reminders.calls_closing"]
    draft(people)
    with pytest.raises(CommandError, match="1 reminder source"):
        remind("--today", "2023-03-13")
    assert Notification.objects.filter(recipient=people["owner"], kind="deadline").count() == 1


def test_a_source_that_cannot_be_imported_is_named(settings, db):
    settings.NOTIFICATION_REMINDER_SOURCES = ["kechuang.programs.reminders.no_such_source"]
    with pytest.raises(ImproperlyConfigured, match="no_such_source"):
        reminders.sources()


def test_a_registered_source_runs_with_the_listed_ones(people):
    def welcome(today):
        yield reminders.Reminder(people["owner"], "deadline", f"welcome:{today}", "欢迎 Welcome", "…")

    reminders.register(welcome)
    try:
        assert welcome in reminders.sources()
        outcome = reminders.send_reminders(dt.date(2023, 3, 1))
    finally:
        reminders.unregister(welcome)
    assert outcome.total_sent == 1 and welcome not in reminders.sources()
    assert Notification.objects.get().key == "welcome:2023-03-01"


def test_the_default_sources_all_import():
    names = [reminders.source_name(source) for source in reminders.sources()]
    assert names == reminders.SOURCES

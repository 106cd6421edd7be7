"""Who is told what in the programmes: receipts, review assignments, decisions."""

import datetime as dt

import pytest
from django.core import mail
from django.db import transaction

from kechuang.notifications.models import Notification
from kechuang.programs import services
from tests.programs.conftest import draft, local, walk

pytestmark = pytest.mark.django_db


def told(kind=None):
    """(recipient, key) of every notification, optionally of one kind."""
    rows = Notification.objects.order_by("id")
    if kind:
        rows = rows.filter(kind=kind)
    return [(n.recipient.username, n.key) for n in rows.select_related("recipient")]


def test_a_submission_sends_a_receipt_to_the_applicants_users_once(people, django_capture_on_commit_callbacks):
    project = draft(people)
    with django_capture_on_commit_callbacks(execute=True):
        row = services.take(project, "submit", by=people["owner"], at=local(2023, 2, 1, 10, 0))
    assert told() == [("owner", f"project:{project.pk}:submit:{row.pk}")]
    receipt = Notification.objects.get()
    assert receipt.kind == "submission_receipt"
    assert receipt.subject == "申报已受理 Application received: 智能传感器研发"
    assert "2023-02-01 10:00" in receipt.body and "2023年通州区科技创新项目" in receipt.body
    assert receipt.link == f"/programmes/applications/{project.key}/"
    assert [email.to for email in mail.outbox] == [["owner@example.cn"]]


def test_whoever_submits_for_the_firm_gets_the_receipt_too(people, django_capture_on_commit_callbacks):
    project = draft(people)
    with django_capture_on_commit_callbacks(execute=True):
        services.take(project, "submit", by=people["bureau"], at=local(2023, 2, 1, 10, 0))
    assert {name for name, _ in told()} == {"owner", "bureau"}
    assert sorted(email.to[0] for email in mail.outbox) == ["bureau@example.cn", "owner@example.cn"]


def test_the_operator_submitting_tells_the_applicants_users_only(people):
    walk(draft(people), "submit")
    assert [name for name, _ in told()] == ["owner"]


def test_a_submission_that_is_refused_tells_no_one(people, django_capture_on_commit_callbacks):
    project = draft(people)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.ProgrammeError):
        services.take(project, "submit", at=local(2023, 4, 1, 10, 0))  # after the call closed
    assert told() == [] and mail.outbox == []


def test_submitting_twice_is_refused_and_sends_one_receipt(people):
    project = walk(draft(people), "submit")
    with pytest.raises(services.ProgrammeError, match="cannot submit"):
        services.take(project, "submit", at=local(2023, 2, 2, 10, 0))
    assert len(told("submission_receipt")) == 1


def test_a_resubmission_after_a_withdrawal_gets_its_own_receipt(people):
    project = walk(draft(people), "submit", "withdraw", "submit")
    submissions = project.transitions.filter(name="submit").order_by("at")
    assert told("submission_receipt") == [("owner", f"project:{project.pk}:submit:{row.pk}") for row in submissions]


def test_a_rolled_back_submission_leaves_no_receipt_and_sends_no_email(people, django_capture_on_commit_callbacks):
    project = draft(people)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.take(project, "submit", at=local(2023, 2, 1, 10, 0))
            raise RuntimeError("something after the step failed")
    assert callbacks == [] and mail.outbox == [] and told() == []


def test_a_failing_mail_server_does_not_stop_the_submission(people, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.notifications.test_services.RefusingBackend"
    project = draft(people)
    with django_capture_on_commit_callbacks(execute=True):
        services.take(project, "submit", by=people["owner"], at=local(2023, 2, 1, 10, 0))
    project.refresh_from_db()
    receipt = Notification.objects.get()
    assert project.state == "submitted"
    assert receipt.emailed_at is None and "Connection refused" in receipt.email_error


def test_an_assigned_reviewer_is_told_what_to_review_and_by_when(people, django_capture_on_commit_callbacks):
    project = walk(draft(people), "submit")
    with django_capture_on_commit_callbacks(execute=True):
        assignment = services.assign_reviewer(project, people["expert"], by=people["bureau"], due=dt.date(2023, 2, 20))
    notice = Notification.objects.get(kind="review_assigned")
    assert (notice.recipient, notice.key) == (people["expert"], f"review:{assignment.pk}:assigned")
    assert "2023-02-20" in notice.body and notice.link == f"/programmes/reviews/{assignment.pk}/"
    assert notice.subject == "评审任务 Review assigned: 智能传感器研发"
    assert [email.to for email in mail.outbox] == [["expert@example.cn"]]
    assert told("review_assigned") == [("expert", f"review:{assignment.pk}:assigned")]


def test_a_refused_assignment_tells_no_one(people):
    project = draft(people)  # a draft is not reviewed
    with pytest.raises(services.ProgrammeError):
        services.assign_reviewer(project, people["expert"], by=people["bureau"])
    assert told() == []


@pytest.mark.parametrize("steps, subject", [
    (["submit", "start_review", "approve"], "项目已立项 Project approved"),
    (["submit", "reject"], "项目未获立项 Application rejected"),
    (["submit", "return"], "申报已退回修改 Application returned for correction"),
    (["submit", "start_review", "approve", "terminate"], "项目已终止 Project terminated"),
])
def test_a_decision_is_sent_to_the_applicants_users_with_the_bureaus_reason(people, steps, subject):
    project = walk(draft(people), *steps, by=None)
    decisions = Notification.objects.filter(kind="decision").order_by("id")
    assert len(decisions) == len([step for step in steps if step in services.TRANSITION_NOTICES]) - 1  # not submit
    decision = decisions.last()
    assert decision.recipient == people["owner"]
    assert decision.subject == f"{subject}: 智能传感器研发"
    step = project.transitions.get(name=steps[-1])
    assert decision.key == f"project:{project.pk}:{steps[-1]}:{step.pk}"
    if steps[-1] in services.NEED_COMMENT:
        assert "意见 Comment: reason" in decision.body


def test_steps_that_decide_nothing_tell_no_one(people):
    walk(draft(people), "submit", "withdraw")
    walk(draft(people, title_zh="另一个项目"), "submit", "start_review")
    assert {n.kind for n in Notification.objects.all()} == {"submission_receipt"}


def test_an_applicant_without_users_is_told_nothing_and_the_step_still_happens(people):
    for grant in people["owner"].grants.all():
        grant.revoked_at = grant.granted_at
        grant.save(update_fields=["revoked_at"])
    project = walk(draft(people), "submit", "reject")
    assert project.state == "rejected" and told() == []

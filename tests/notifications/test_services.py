"""notify: one row per recipient and key, emailed once after the commit, failures recorded."""

import logging

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction

from kechuang.notifications import services
from kechuang.notifications.models import Notification

pytestmark = pytest.mark.django_db

FIELDS = {"kind": "decision", "subject": "项目已立项 Project approved: 传感器", "body": "立项。\nApproved.",
          "link": "/api/v1/projects/sensor/"}


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, messages):
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def mail_server_down(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"


def test_a_notification_goes_to_the_inbox_and_is_emailed_once_after_the_commit(
        people, django_capture_on_commit_callbacks):
    owner = people["owner"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification, created = services.notify(owner, key="project:1:approve:7", **FIELDS)
        assert len(mail.outbox) == 0  # not before the commit
    assert created and len(callbacks) == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["owner@example.cn"] and email.subject == FIELDS["subject"]
    assert "Approved." in email.body and "/api/v1/projects/sensor/" in email.body
    notification.refresh_from_db()
    assert notification.emailed_at is not None and notification.email_error == ""
    assert notification.unread


def test_the_same_key_again_writes_and_sends_nothing(people, django_capture_on_commit_callbacks):
    owner = people["owner"]
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = services.notify(owner, key="project:1:approve:7", **FIELDS)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again, created = services.notify(owner, key="project:1:approve:7", **{**FIELDS, "subject": "changed"})
    assert not created and again.pk == first.pk and again.subject == FIELDS["subject"]
    assert callbacks == [] and len(mail.outbox) == 1
    assert Notification.objects.count() == 1


def test_the_same_key_for_another_user_is_their_own_notification(people):
    services.notify(people["owner"], key="call:1:closing:2", **FIELDS)
    _, created = services.notify(people["bureau"], key="call:1:closing:2", **FIELDS)
    assert created and Notification.objects.count() == 2


def test_the_database_itself_refuses_a_second_row_for_a_key(people):
    services.notify(people["owner"], key="k", **FIELDS)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=people["owner"], key="k", kind="decision", subject="s", body="b")


def test_a_key_that_arrives_between_the_read_and_the_insert_is_not_written_twice(people, monkeypatch):
    """A concurrent worker wrote the row after get_or_create looked: the insert fails inside a
    savepoint, the other row is read back, and the caller's transaction goes on."""
    from django.db.models.query import QuerySet

    other = Notification.objects.create(recipient=people["owner"], key="race", kind="decision", subject="s", body="b")
    real_get, calls = QuerySet.get, []

    def get_missing_the_first_time(self, *args, **kwargs):
        if self.model is Notification and not calls:
            calls.append(1)
            raise Notification.DoesNotExist
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "get", get_missing_the_first_time)
    with transaction.atomic():
        notification, created = services.notify(people["owner"], key="race", **FIELDS)
        assert Notification.objects.filter(key="race").count() == 1  # the transaction still works
    assert (notification.pk, created) == (other.pk, False)


def test_a_user_without_an_email_address_gets_the_inbox_only(place, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification, created = services.notify(place["owner"], key="k", **FIELDS)
    assert created and callbacks == [] and mail.outbox == []
    notification.refresh_from_db()
    assert notification.emailed_at is None and notification.email_error == ""


def test_an_inactive_user_is_not_emailed(people, django_capture_on_commit_callbacks):
    owner = people["owner"]
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(owner, key="k", **FIELDS)
    assert mail.outbox == [] and Notification.objects.filter(recipient=owner).count() == 1


def test_a_failed_email_is_recorded_and_logged_and_raises_nothing(people, mail_server_down, caplog,
                                                                  django_capture_on_commit_callbacks):
    with caplog.at_level(logging.WARNING, logger="kechuang.notifications"):
        with django_capture_on_commit_callbacks(execute=True):
            notification, created = services.notify(people["owner"], key="k", **FIELDS)
    notification.refresh_from_db()
    assert created and notification.emailed_at is None
    assert "ConnectionRefusedError" in notification.email_error and "Connection refused" in notification.email_error
    assert any("not emailed" in record.getMessage() and record.name == "kechuang.notifications"
               for record in caplog.records)


def test_a_rolled_back_action_leaves_no_notification_and_sends_no_email(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.notify(people["owner"], key="k", **FIELDS)
            raise RuntimeError("the action failed after notifying")
    assert callbacks == [] and mail.outbox == [] and not Notification.objects.exists()


def test_an_email_already_sent_is_not_sent_again(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notification, _ = services.notify(people["owner"], key="k", **FIELDS)
    assert services.send_email(notification.pk) is False
    assert len(mail.outbox) == 1


def test_the_link_in_an_email_is_absolute_when_the_site_is_known(people, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://kechuang.example.cn"
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(people["owner"], key="k", **FIELDS)
    assert "https://kechuang.example.cn/api/v1/projects/sensor/" in mail.outbox[0].body


def test_a_subject_is_one_line_and_fits_its_column(people):
    long_title = "智能\n传感器" + "研" * 400
    notification, _ = services.notify(people["owner"], key="k", **{**FIELDS, "subject": long_title})
    assert "\n" not in notification.subject and notification.subject.startswith("智能 传感器")
    assert len(notification.subject) == services.SUBJECT_LENGTH and notification.subject.endswith("…")


def test_notify_many_tells_each_user_once(people):
    owner, bureau = people["owner"], people["bureau"]
    results = services.notify_many([owner, None, bureau, owner], key="k", **FIELDS)
    assert [created for _, created in results] == [True, True]
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == ["bureau", "owner"]


@pytest.mark.parametrize("change, field", [
    ({"kind": "gossip"}, "kind"),
    ({"key": ""}, "key"),
    ({"key": "  "}, "key"),
    ({"key": "k" * 201}, "key"),
    ({"link": "https://elsewhere.example/"}, "link"),
    ({"link": "//elsewhere.example/"}, "link"),
])
def test_a_bad_notification_is_refused_naming_the_field(people, change, field):
    with pytest.raises(services.NotificationError) as refused:
        services.notify(people["owner"], **{"key": "k", **FIELDS, **change})
    assert refused.value.field == field
    assert not Notification.objects.exists()


def test_reading_is_the_recipients_own(people):
    notification, _ = services.notify(people["owner"], key="k", **FIELDS)
    with pytest.raises(services.NotAllowed):
        services.mark_read(notification, by=people["bureau"])
    first = services.mark_read(notification, by=people["owner"]).read_at
    assert first is not None
    assert services.mark_read(notification, by=people["owner"]).read_at == first  # the first reading counts


def test_the_people_of_an_organisation_are_its_active_enterprise_users(place, django_user_model):
    from kechuang.accounts.models import Role
    from kechuang.accounts.services import grant_role, revoke_grant

    colleague = django_user_model.objects.create_user("colleague")
    grant_role(colleague, Role.ENTERPRISE_USER, by=None, organisation=place["firm"])
    former = django_user_model.objects.create_user("former")
    revoke_grant(grant_role(former, Role.ENTERPRISE_USER, by=None, organisation=place["firm"]), by=None)
    gone = django_user_model.objects.create_user("gone", is_active=False)
    grant_role(gone, Role.ENTERPRISE_USER, by=None, organisation=place["firm"])
    assert {user.username for user in services.users_of(place["firm"])} == {"owner", "colleague"}
    assert services.users_of(place["university"]) == []
    everyone = services.enterprise_users([place["firm"].pk, place["rival"].pk])
    assert {key: sorted(u.username for u in users) for key, users in everyone.items()} == {
        place["firm"].pk: ["colleague", "owner"], place["rival"].pk: ["rival_owner"]}


@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_one_key_write_one_row_and_send_one_email(django_user_model):
    """Four workers notify the same user of the same event at the same moment, each in its
    own transaction (PostgreSQL: the unique index makes the losers wait, then read the row)."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises its writers)")
    user = django_user_model.objects.create_user("racer", email="racer@example.cn")
    start, results, errors = threading.Barrier(4), [], []

    def worker():
        try:
            start.wait()
            with transaction.atomic():
                results.append(services.notify(user, key="race", **FIELDS)[1])
        except Exception as error:  # reported below: a thread's exception would be lost
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [] and sorted(results) == [False, False, False, True]
    assert Notification.objects.filter(recipient=user, key="race").count() == 1
    assert len(mail.outbox) == 1

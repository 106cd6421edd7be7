"""The inbox API: one's own notifications only; read one, read all; nobody else's."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from kechuang.notifications import services
from kechuang.notifications.models import Notification

pytestmark = pytest.mark.django_db

INBOX = "/api/v1/inbox/"


def tell(user, key, **fields):
    fields = {"kind": "decision", "subject": f"subject {key}", "body": "body", **fields}
    return services.notify(user, key=key, **fields)[0]


@pytest.fixture
def alice_and_bob(db):
    users = get_user_model().objects
    alice, bob = users.create_user("alice"), users.create_user("bob")
    return alice, bob


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_inbox_lists_ones_own_notifications_newest_first(alice_and_bob):
    alice, bob = alice_and_bob
    tell(alice, "a1")
    tell(alice, "a2", link="/api/v1/projects/sensor/")
    tell(bob, "b1")
    response = client_for(alice).get(INBOX)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["subject"] for row in body["results"]] == ["subject a2", "subject a1"]
    first = body["results"][0]
    assert first["unread"] is True and first["read_at"] is None and first["link"] == "/api/v1/projects/sensor/"
    assert first["kind"] == "decision" and first["api_url"].endswith(f"{INBOX}{first['id']}/")


def test_the_unread_filter(alice_and_bob):
    alice, _ = alice_and_bob
    read = tell(alice, "read")
    services.mark_read(read, by=alice)
    tell(alice, "new")
    client = client_for(alice)
    assert [row["subject"] for row in client.get(INBOX, {"unread": "true"}).json()["results"]] == ["subject new"]
    assert [row["subject"] for row in client.get(INBOX, {"unread": "false"}).json()["results"]] == ["subject read"]
    assert client.get(INBOX, {"unread": "perhaps"}).status_code == 400


def test_one_notification_and_marking_it_read(alice_and_bob):
    alice, _ = alice_and_bob
    notification = tell(alice, "a1")
    client = client_for(alice)
    assert client.get(f"{INBOX}{notification.pk}/").json()["subject"] == "subject a1"
    response = client.post(f"{INBOX}{notification.pk}/read/")
    assert response.status_code == 200 and response.json()["unread"] is False
    notification.refresh_from_db()
    first = notification.read_at
    assert first is not None
    assert client.post(f"{INBOX}{notification.pk}/read/").status_code == 200
    notification.refresh_from_db()
    assert notification.read_at == first


def test_read_all_marks_only_ones_own_unread(alice_and_bob):
    alice, bob = alice_and_bob
    tell(alice, "a1"), tell(alice, "a2"), tell(bob, "b1")
    response = client_for(alice).post(reverse("notification-read-all"))
    assert response.status_code == 200 and response.json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()
    assert Notification.objects.get(recipient=bob).read_at is None
    assert client_for(alice).post(reverse("notification-read-all")).json() == {"marked": 0}


def test_another_users_notification_is_not_found(alice_and_bob):
    alice, bob = alice_and_bob
    bobs = tell(bob, "b1")
    client = client_for(alice)
    assert client.get(f"{INBOX}{bobs.pk}/").status_code == 404
    assert client.post(f"{INBOX}{bobs.pk}/read/").status_code == 404
    bobs.refresh_from_db()
    assert bobs.read_at is None


def test_a_superuser_reads_only_their_own_inbox_too(alice_and_bob, operator_client):
    _, bob = alice_and_bob
    bobs = tell(bob, "b1")
    assert operator_client.get(INBOX).json()["count"] == 0
    assert operator_client.get(f"{INBOX}{bobs.pk}/").status_code == 404


@pytest.mark.parametrize("method, path", [
    ("get", INBOX), ("get", f"{INBOX}1/"), ("post", f"{INBOX}1/read/"), ("post", f"{INBOX}read-all/"),
])
def test_the_public_has_no_inbox(alice_and_bob, client, method, path):
    tell(alice_and_bob[0], "a1")
    response = getattr(client, method)(path)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert Notification.objects.get().read_at is None


def test_nobody_writes_notifications_through_the_api(alice_and_bob):
    alice, _ = alice_and_bob
    notification = tell(alice, "a1")
    client = client_for(alice)
    assert client.post(INBOX, {"subject": "forged"}, content_type="application/json").status_code == 405
    assert client.delete(f"{INBOX}{notification.pk}/").status_code == 405
    assert client.patch(f"{INBOX}{notification.pk}/", {"subject": "forged"},
                        content_type="application/json").status_code == 405

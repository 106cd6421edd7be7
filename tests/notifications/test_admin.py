"""The admin shows notifications read-only: a superuser everyone's, other staff their own."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from kechuang.notifications import services

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:notifications_notification_changelist")


def tell(user, key):
    return services.notify(user, kind="decision", key=key, subject=f"subject {key}", body="body")[0]


@pytest.fixture
def clerk(db):
    return get_user_model().objects.create_user("clerk", is_staff=True)


def test_a_superuser_sees_every_notification_read_only(operator_client, clerk):
    someone = get_user_model().objects.create_user("someone")
    notification = tell(someone, "k1")
    tell(clerk, "k2")
    page = operator_client.get(CHANGELIST).content.decode()
    assert "subject k1" in page and "subject k2" in page
    change = reverse("admin:notifications_notification_change", args=[notification.pk])
    assert operator_client.get(change).status_code == 200
    assert operator_client.get(reverse("admin:notifications_notification_add")).status_code == 403
    assert operator_client.post(change, {"subject": "forged"}).status_code == 403
    delete = reverse("admin:notifications_notification_delete", args=[notification.pk])
    assert operator_client.post(delete, {"post": "yes"}).status_code == 403
    notification.refresh_from_db()
    assert notification.subject == "subject k1"


def test_other_staff_see_only_their_own(client, clerk):
    someone = get_user_model().objects.create_user("someone")
    theirs = tell(someone, "k1")
    tell(clerk, "k2")
    client.force_login(clerk)
    page = client.get(CHANGELIST).content.decode()
    assert "subject k2" in page and "subject k1" not in page
    response = client.get(reverse("admin:notifications_notification_change", args=[theirs.pk]))
    assert response.status_code in (302, 404)  # the admin redirects a row outside the queryset

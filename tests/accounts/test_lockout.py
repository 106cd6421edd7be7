"""Five failed logins lock a username out from that address for 30 minutes: at the
admin login, with HTTP Basic on the API and at the token endpoint alike."""

import base64
import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.http import HttpRequest
from django.test import RequestFactory

from kechuang.accounts.lockout import client_address

pytestmark = pytest.mark.django_db

LIMIT = 5
LOCKED_MESSAGE = "Account locked: too many failed logins"


def admin_login(client, username, password, address="10.0.0.1"):
    return client.post("/admin/login/", {"username": username, "password": password, "next": "/admin/"},
                       REMOTE_ADDR=address)


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def api_write(client, username, password, address="10.0.0.1"):
    """A staff-only request (a POST) made with HTTP Basic."""
    return client.post("/api/v1/sources/", {}, content_type="application/json",
                       HTTP_AUTHORIZATION=basic(username, password), REMOTE_ADDR=address)


def token_request(client, username, password, address="10.0.0.1"):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password},
                       content_type="application/json", REMOTE_ADDR=address)


# --- admin login ---------------------------------------------------------------------


def test_the_admin_login_locks_after_five_failures(client, clerk):
    for _ in range(LIMIT - 1):
        response = admin_login(client, "clerk", "wrong")
        assert response.status_code == 200  # the form again, with its error
    response = admin_login(client, "clerk", "wrong")
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.content.decode()


def test_the_right_password_is_refused_while_locked(client, clerk):
    for _ in range(LIMIT):
        admin_login(client, "clerk", "wrong")
    response = admin_login(client, "clerk", "pw-clerk-123")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_a_lockout_binds_the_username_to_the_address(client, clerk):
    for _ in range(LIMIT):
        admin_login(client, "clerk", "wrong", address="203.0.113.9")
    # the clerk at the bureau is not locked out by a stranger guessing from elsewhere
    response = admin_login(client, "clerk", "pw-clerk-123", address="10.0.0.1")
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(clerk.pk)


def test_fewer_failures_than_the_limit_are_forgiven_by_a_success(client, clerk):
    for _ in range(LIMIT - 1):
        admin_login(client, "clerk", "wrong")
    assert admin_login(client, "clerk", "pw-clerk-123").status_code == 302
    client.logout()
    for _ in range(LIMIT - 1):
        admin_login(client, "clerk", "wrong")
    assert admin_login(client, "clerk", "pw-clerk-123").status_code == 302


def test_the_lockout_ends_after_thirty_minutes(client, clerk):
    for _ in range(LIMIT):
        admin_login(client, "clerk", "wrong")
    assert admin_login(client, "clerk", "pw-clerk-123").status_code == 429
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31))
    assert admin_login(client, "clerk", "pw-clerk-123").status_code == 302


def test_trying_again_while_locked_restarts_the_thirty_minutes(client, clerk):
    for _ in range(LIMIT):
        admin_login(client, "clerk", "wrong")
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=25))
    assert admin_login(client, "clerk", "pw-clerk-123").status_code == 429
    # the lockout now runs 30 minutes from this attempt, not from the fifth failure
    (attempt,) = AccessAttempt.objects.all()
    assert dt.datetime.now(dt.UTC) - attempt.attempt_time < dt.timedelta(minutes=1)


def test_an_administrator_unlocks_with_axes_reset_username(client, clerk):
    for _ in range(LIMIT):
        admin_login(client, "clerk", "wrong")
    call_command("axes_reset_username", "clerk", stdout=open("/dev/null", "w"))
    assert admin_login(client, "clerk", "pw-clerk-123").status_code == 302


def test_test_clients_log_in_with_a_request(client, clerk):
    # django-axes needs the request; Client.login() does not pass one by itself.
    assert client.login(request=HttpRequest(), username="clerk", password="pw-clerk-123")
    assert client.get("/admin/").status_code == 200


# --- HTTP Basic on the API -----------------------------------------------------------


def test_basic_auth_locks_after_five_failures(client, clerk):
    for _ in range(LIMIT - 1):
        assert api_write(client, "clerk", "wrong").status_code == 401
    response = api_write(client, "clerk", "wrong")
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.json()["detail"]
    assert response["Retry-After"] == str(30 * 60)


def test_basic_auth_refuses_the_right_password_while_locked(client, clerk):
    assert api_write(client, "clerk", "pw-clerk-123").status_code == 400  # authenticated: an empty body is refused
    for _ in range(LIMIT):
        api_write(client, "clerk", "wrong")
    response = api_write(client, "clerk", "pw-clerk-123")
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.json()["detail"]


def test_failures_count_across_the_admin_and_the_api(client, clerk):
    for _ in range(LIMIT - 1):
        admin_login(client, "clerk", "wrong")
    assert api_write(client, "clerk", "wrong").status_code == 429
    assert token_request(client, "clerk", "pw-clerk-123").status_code == 429


# --- the token endpoint --------------------------------------------------------------


def test_the_token_endpoint_locks_after_five_failures(client, clerk):
    for _ in range(LIMIT - 1):
        assert token_request(client, "clerk", "wrong").status_code == 401
    response = token_request(client, "clerk", "wrong")
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.json()["detail"]


def test_the_token_endpoint_gives_no_token_while_locked(client, clerk):
    for _ in range(LIMIT):
        token_request(client, "clerk", "wrong")
    response = token_request(client, "clerk", "pw-clerk-123")
    assert response.status_code == 429
    assert "token" not in response.json()
    assert token_request(client, "clerk", "pw-clerk-123", address="10.0.0.2").status_code == 200


# --- the client's address ------------------------------------------------------------


def request_from(remote, forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_without_a_proxy_forwarded_for_is_ignored(settings):
    settings.PROXY_COUNT = 0
    assert client_address(request_from("198.51.100.7", "10.9.9.9")) == "198.51.100.7"


def test_behind_one_proxy_the_address_it_appended_counts(settings):
    settings.PROXY_COUNT = 1
    # nginx appends the address it saw; what the client sent itself stands to the left
    assert client_address(request_from("127.0.0.1", "10.9.9.9, 198.51.100.7")) == "198.51.100.7"
    assert client_address(request_from("127.0.0.1", "198.51.100.7")) == "198.51.100.7"


def test_behind_two_proxies_the_outer_one_counts(settings):
    settings.PROXY_COUNT = 2
    assert client_address(request_from("127.0.0.1", "10.9.9.9, 198.51.100.7, 192.0.2.1")) == "198.51.100.7"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", "1.2.3.4 5.6.7.8"])
def test_a_missing_or_garbled_forwarded_for_falls_back_to_the_peer(settings, forwarded):
    settings.PROXY_COUNT = 1
    assert client_address(request_from("127.0.0.1", forwarded)) == "127.0.0.1"


def test_a_spoofed_forwarded_for_does_not_escape_the_lockout(client, clerk, settings):
    settings.PROXY_COUNT = 1
    for n in range(LIMIT):
        client.post("/admin/login/", {"username": "clerk", "password": "wrong"},
                    REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.9")
    response = client.post("/admin/login/", {"username": "clerk", "password": "pw-clerk-123"},
                           REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.99, 203.0.113.9")
    assert response.status_code == 429

"""API tokens: one per user, got with a password, used as `Authorization: Token …`,
revoked by the user, by an administrator or on the command line."""

import io

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def get_token(client, username="clerk", password="pw-clerk-123"):
    response = client.post(TOKEN_URL, {"username": username, "password": password}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def write_with(client, token):
    """A staff-only request (a POST with an empty body: 400 once authenticated)."""
    return client.post("/api/v1/sources/", {}, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")


def test_a_password_gets_the_users_token(client, clerk):
    response = client.post(TOKEN_URL, {"username": "clerk", "password": "pw-clerk-123"},
                           content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"username": "clerk", "token": Token.objects.get(user=clerk).key}


def test_asking_again_gives_the_same_token(client, clerk):
    assert get_token(client) == get_token(client)
    assert Token.objects.filter(user=clerk).count() == 1


def test_a_token_authenticates_api_requests(client, clerk):
    token = get_token(client)
    assert write_with(client, token).status_code == 400  # authenticated as staff: the body is what is wrong
    assert write_with(client, "0" * 40).status_code == 401


def test_a_form_post_works_too(client, clerk):
    response = client.post(TOKEN_URL, {"username": "clerk", "password": "pw-clerk-123"})
    assert response.status_code == 200 and response.json()["token"]


@pytest.mark.parametrize("body, field", [({"password": "pw-clerk-123"}, "username"), ({"username": "clerk"}, "password")])
def test_a_missing_field_is_a_400_naming_it(client, clerk, body, field):
    response = client.post(TOKEN_URL, body, content_type="application/json")
    assert response.status_code == 400 and field in response.json()


def test_a_wrong_password_gets_no_token(client, clerk):
    response = client.post(TOKEN_URL, {"username": "clerk", "password": "wrong"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}
    assert not Token.objects.exists()


def test_an_inactive_user_gets_no_token_and_loses_the_old_one(client, clerk):
    token = get_token(client)
    clerk.is_active = False
    clerk.save()
    assert client.post(TOKEN_URL, {"username": "clerk", "password": "pw-clerk-123"},
                       content_type="application/json").status_code == 401
    assert write_with(client, token).status_code == 401


def test_the_user_revokes_their_token(client, clerk):
    token = get_token(client)
    response = client.delete(TOKEN_URL, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 204
    assert not Token.objects.filter(user=clerk).exists()
    assert write_with(client, token).status_code == 401
    assert client.delete(TOKEN_URL, HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


def test_a_new_token_after_revoking_is_a_different_one(client, clerk):
    old = get_token(client)
    client.delete(TOKEN_URL, HTTP_AUTHORIZATION=f"Token {old}")
    new = get_token(client)
    assert new != old
    assert write_with(client, new).status_code == 400


def test_revoking_needs_a_login(client, clerk):
    get_token(client)
    assert client.delete(TOKEN_URL).status_code == 401
    assert Token.objects.filter(user=clerk).exists()


def test_a_user_revokes_only_their_own_token(client, clerk, django_user_model):
    other = django_user_model.objects.create_user("other", password="pw-other-123")
    clerk_token, other_token = get_token(client), get_token(client, "other", "pw-other-123")
    client.delete(TOKEN_URL, HTTP_AUTHORIZATION=f"Token {other_token}")
    assert write_with(client, clerk_token).status_code == 400
    assert Token.objects.filter(user=clerk).exists() and not Token.objects.filter(user=other).exists()


def test_an_administrator_revokes_anyones_token_in_the_admin(client, clerk, django_user_model):
    token = get_token(client)
    admin = django_user_model.objects.create_superuser("admin", password="pw-admin-123")
    client.force_login(admin)
    assert "clerk" in client.get("/admin/authtoken/tokenproxy/").content.decode()
    response = client.post(f"/admin/authtoken/tokenproxy/{clerk.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    client.logout()
    assert write_with(client, token).status_code == 401


def test_staff_without_the_permission_cannot_see_tokens_in_the_admin(client, clerk):
    get_token(client)
    client.force_login(clerk)  # staff, but no permission on tokens
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 403


# --- kechuang token USER [--revoke] --------------------------------------------------


def run_token_command(*args):
    out = io.StringIO()
    call_command("token", *args, stdout=out)
    return out.getvalue().strip()


def test_the_command_prints_the_users_token(client, clerk):
    key = run_token_command("clerk")
    assert key == Token.objects.get(user=clerk).key
    assert run_token_command("clerk") == key
    assert write_with(client, key).status_code == 400


def test_the_command_revokes(client, clerk):
    key = run_token_command("clerk")
    assert run_token_command("clerk", "--revoke") == "token of clerk revoked"
    assert write_with(client, key).status_code == 401
    assert run_token_command("clerk", "--revoke") == "clerk had no token"


def test_the_command_names_an_unknown_user():
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        run_token_command("nobody")


def test_the_command_gives_no_token_to_an_inactive_user(clerk):
    clerk.is_active = False
    clerk.save()
    with pytest.raises(CommandError, match="inactive"):
        run_token_command("clerk")
    assert not Token.objects.exists()

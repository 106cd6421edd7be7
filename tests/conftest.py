from pathlib import Path

import pytest

#: The read-only real public data shared with the project (see its README).
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_DATA = SHARED / "data" / "real"


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """Tests render pages without running collectstatic first."""
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is slow on purpose; tests log users in hundreds of times.
    # The real hashers stay listed, so passwords set outside a test (the module-wide
    # demo world) still verify.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]


@pytest.fixture
def operator(django_user_model):
    """The operator: a superuser, who may see and change everything (the role-scoped
    users are in tests/accounts/test_matrix.py)."""
    return django_user_model.objects.create_user("staff", password="pw-staff-123", is_staff=True, is_superuser=True)


@pytest.fixture
def operator_client(client, operator):
    # force_login() checks no password. A test that does must hand django-axes a request:
    # client.login(request=HttpRequest(), username=…, password=…).
    client.force_login(operator)
    return client


@pytest.fixture
def divisions(db):
    """Jiangsu and Beijing (both have a 通州区) with the towns of Nantong, from the real data."""
    from kechuang.registry.divisions import load_divisions

    return load_divisions(towns=["3206"], provinces=["32", "11"])

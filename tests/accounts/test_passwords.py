"""Passwords are hashed with Argon2; hashes from before still verify."""

import pytest
from django.contrib.auth.hashers import make_password

from kechuang import settings as kechuang_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_hashers(settings):
    # tests/conftest.py swaps in the fast MD5 hasher for the rest of the suite.
    settings.PASSWORD_HASHERS = kechuang_settings.PASSWORD_HASHERS


def test_argon2_comes_first_and_the_old_hashers_stay():
    assert kechuang_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in kechuang_settings.PASSWORD_HASHERS


def test_a_new_password_is_hashed_with_argon2id(production_hashers, django_user_model):
    user = django_user_model.objects.create_user("analyst", password="a long passphrase 科创")
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("a long passphrase 科创")
    assert not user.check_password("a long passphrase")


def test_a_pbkdf2_hash_from_before_still_verifies_and_is_upgraded(production_hashers, django_user_model):
    user = django_user_model.objects.create(username="veteran",
                                            password=make_password("old-password-1", hasher="pbkdf2_sha256"))
    assert user.password.startswith("pbkdf2_sha256$")
    assert user.check_password("old-password-1")
    user.refresh_from_db()
    assert user.password.startswith("argon2$")

"""Production settings: no secret has a default, and Django's deploy checks pass.

Each test starts `kechuang` in a process of its own, with the environment an operator
would give it (not the test suite's development mode).
"""

from .conftest import PRODUCTION_KEY

PRODUCTION = {"KECHUANG_ENV": "production", "SECRET_KEY": PRODUCTION_KEY, "HTTPS": "1",
              "ALLOWED_HOSTS": "kechuang.example.gov.cn"}

PRINT_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def test_starting_without_a_secret_key_is_a_clear_error(kechuang_process):
    result = kechuang_process("check", DEBUG="0")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr
    assert "SECRET_KEY_FILE=" in result.stderr and "secrets.token_urlsafe(50)" in result.stderr


def test_production_is_the_default_and_says_so(kechuang_process):
    assert "SECRET_KEY is not set" in kechuang_process("check", KECHUANG_ENV="production").stderr
    assert "SECRET_KEY is not set" in kechuang_process("check", DEBUG="1").stderr


def test_development_must_be_asked_for_by_name(kechuang_process):
    result = kechuang_process("check", KECHUANG_ENV="staging")
    assert result.returncode != 0 and "KECHUANG_ENV is 'staging'" in result.stderr
    result = kechuang_process("shell", "--no-imports", "-c", PRINT_KEY, KECHUANG_ENV="development")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "kechuang-development-key-not-for-production"


def test_the_development_key_is_refused_in_production(kechuang_process):
    result = kechuang_process("check", SECRET_KEY="kechuang-development-key-not-for-production")
    assert result.returncode != 0 and "published development key" in result.stderr


def test_the_key_can_come_from_a_file(kechuang_process, tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text(PRODUCTION_KEY + "\n")
    result = kechuang_process("shell", "--no-imports", "-c", PRINT_KEY, SECRET_KEY_FILE=str(key_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == PRODUCTION_KEY


def test_a_missing_or_empty_key_file_is_an_error(kechuang_process, tmp_path):
    result = kechuang_process("check", SECRET_KEY_FILE=str(tmp_path / "absent"))
    assert result.returncode != 0 and "absent cannot be read" in result.stderr
    (tmp_path / "empty").write_text("\n")
    result = kechuang_process("check", SECRET_KEY_FILE=str(tmp_path / "empty"))
    assert result.returncode != 0 and "is empty" in result.stderr


def test_a_key_and_a_key_file_together_are_refused(kechuang_process, tmp_path):
    (tmp_path / "key").write_text(PRODUCTION_KEY)
    result = kechuang_process("check", SECRET_KEY=PRODUCTION_KEY, SECRET_KEY_FILE=str(tmp_path / "key"))
    assert result.returncode != 0 and "not both" in result.stderr


def test_the_deploy_checks_pass_in_production(kechuang_process):
    result = kechuang_process("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_deploy_checks_fail_without_https(kechuang_process):
    # The same command notices what is missing: the test above could fail.
    result = kechuang_process("check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "HTTPS": "0"})
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


HTTPS_PROBE = """
from django.test import Client
client = Client(HTTP_HOST="kechuang.example.gov.cn")
plain, secure, health = client.get("/admin/login/"), client.get("/healthz", secure=True), client.get("/healthz")
print(plain.status_code, plain.get("Location"))
print(secure.get("Strict-Transport-Security"))
print(health.status_code)
"""


def test_https_redirects_and_sends_hsts_but_health_answers_plain_http(kechuang_process):
    result = kechuang_process("shell", "--no-imports", "-c", HTTPS_PROBE, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    redirect, hsts, health = result.stdout.strip().splitlines()
    assert redirect == "301 https://kechuang.example.gov.cn/admin/login/"
    assert hsts == "max-age=31536000; includeSubDomains"
    assert health == "200"  # the load balancer's probe is not redirected


def test_secure_cookies_only_with_https(kechuang_process):
    probe = "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    assert kechuang_process("shell", "--no-imports", "-c", probe, **PRODUCTION).stdout.split() == ["True", "True"]
    assert kechuang_process("shell", "--no-imports", "-c", probe, **{**PRODUCTION, "HTTPS": "0"}).stdout.split() == ["False", "False"]

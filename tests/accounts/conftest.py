import os
import subprocess
import sys
from pathlib import Path

import pytest

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.registry.models import RegionLevel
from kechuang.registry.services import save_region

ROOT = Path(__file__).resolve().parents[2]

#: Variables of the test run that must not leak into a `kechuang` started as a
#: server would be (tests/settings.py puts KECHUANG_ENV=development in os.environ).
CONFIGURATION = {"DJANGO_SETTINGS_MODULE", "KECHUANG_ENV", "SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "HTTPS",
                 "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "PROXY_COUNT", "DATABASE_URL", "KECHUANG_DATA_DIR"}

#: A key as an operator would generate one (python -c 'import secrets; print(secrets.token_urlsafe(50))').
PRODUCTION_KEY = "q8Xc2n5VhZ0rT3wLk7yP1sD4fG6jH9bN2mQ5vC8xZ1aS4dF7gK0lP3oI6uY9tR2e"


@pytest.fixture
def kechuang_process(tmp_path):
    """Run `kechuang ARGS…` in a fresh process with exactly the configuration given."""

    def run(*args, **environment):
        env = {name: value for name, value in os.environ.items() if name not in CONFIGURATION}
        env.update(KECHUANG_DATA_DIR=str(tmp_path), LOG_LEVEL="WARNING", LOG_FORMAT="text", **environment)
        return subprocess.run([sys.executable, "-m", "kechuang", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture
def clerk(django_user_model):
    """A bureau clerk with a password, for the login tests: bureau admin of a district,
    so a write to the reference lists is theirs to make."""
    user = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    district, _ = save_region("320612", level=RegionLevel.DISTRICT, name_zh="通州区")
    grant_role(user, Role.BUREAU_ADMIN, by=None, region=district)
    return user

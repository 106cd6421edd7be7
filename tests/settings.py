"""Settings for the test suite: kechuang's own, on a developer's footing.

pytest-django imports the settings before any conftest.py runs, so the environment
they read is prepared here. Only a default: a caller who sets KECHUANG_ENV (or
SECRET_KEY) keeps it. Tests that need production behaviour start a subprocess with
an environment of their own (tests/accounts/test_settings.py).
"""

import os

os.environ.setdefault("KECHUANG_ENV", "development")

from kechuang.settings import *  # noqa: E402,F403

# Each test computes its tables afresh; tests/indicators/test_cache.py turns the cache on.
INDICATOR_CACHE_SIZE = 0

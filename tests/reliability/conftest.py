"""Hypothesis profiles for the reliability drills.

    ci     every `make test` run: bounded, so the suite keeps its time (200 examples a
           property; 25 for a property that builds a world in the database)
    long   `KECHUANG_DRILL=long`: 5,000 examples a property, 300 a database world, e.g.
           KECHUANG_DRILL=long .venv/bin/python -m pytest tests/reliability -q

No deadline in either: the machine's speed must not fail a test (a slow example is not a
wrong one). No example database either, since it would write .hypothesis/ into the
checkout; a failure prints its falsifying example and a `@reproduce_failure` blob instead.
"""

import os

from hypothesis import settings

LONG = os.environ.get("KECHUANG_DRILL") == "long"

settings.register_profile("ci", max_examples=200, deadline=None, database=None, print_blob=True)
settings.register_profile("long", max_examples=5_000, deadline=None, database=None, print_blob=True)
settings.load_profile("long" if LONG else "ci")

#: Examples of a property that builds a small world in the database (hundreds of queries each).
DATABASE_EXAMPLES = 300 if LONG else 25

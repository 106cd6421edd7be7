"""The programme tests' small world (tests/programs/conftest.py: Tongzhou, the firm and its
user `owner`, the bureau, two experts, a call open 2023-01-01 09:00 to 2023-03-15 17:00),
with email addresses for the people the notifications are about."""

import pytest

from tests.programs.conftest import place  # noqa: F401  (the fixture, shared)


@pytest.fixture
def people(place):  # noqa: F811
    """The world, with an email address for the firm's user, the bureau and the expert."""
    for name in ("owner", "bureau", "expert"):
        user = place[name]
        user.email = f"{name}@example.cn"
        user.save(update_fields=["email"])
    return place

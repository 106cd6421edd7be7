"""Build the Tongzhou demo world, the same way every time.

1. The division tree from the NBS data, with the towns and streets of Nantong.
2. `tongzhou.yaml`: the real entities and facts of the seed article, each with its source.
3. Synthetic organisations, every one marked "(demo)" and `synthetic`.
4. A demo login, and one per role.
5. Programmes: two calls and synthetic projects (74 approved and 59 collaborations in 2023H1).
6. Statistics: the article's two figures, and invented ones for the synthetic enterprises.
7. Designations: the article's six new national little giants of 2023H1, and invented grants around them.

Everything goes through the same services as real data (the division import, the
world-file loader, the programme and statistics services or rows built exactly as they
build them), in one transaction.
"""

from collections.abc import Iterator
from pathlib import Path

import yaml
from django.contrib.auth import get_user_model
from django.db import transaction

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.registry.divisions import load_divisions
from kechuang.registry.models import Organisation, Region, RegionLevel
from kechuang.world.loader import load_world

from .bulletins import demo_bulletins
from .designations import demo_designations
from .programs import demo_programmes
from .statistics import demo_statistics
from .synthetic import synthetic_world

WORLD_FILE = Path(__file__).parent / "tongzhou.yaml"
TONGZHOU = "320612"
ZONE_KEY = "nantong-high-tech-zone"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "kechuang-demo"

#: One demo login per role, all with DEMO_PASSWORD: (username, role, scope, description).
DEMO_ROLES = [
    ("bureau", Role.BUREAU_ADMIN, TONGZHOU, "bureau admin, Tongzhou 320612 and below"),
    ("analyst", Role.ANALYST, TONGZHOU, "analyst, Tongzhou (reads, changes nothing)"),
    ("zone", Role.PARK_MANAGER, ZONE_KEY, "manager of the Nantong high-tech zone"),
    ("park", Role.PARK_MANAGER, "hengli-nantong-industrial-park", "manager of Hengli (Nantong) Industrial Park"),
    ("zhongkeyi", Role.ENTERPRISE_USER, "zhongkeyi-nantong", "enterprise user of Zhongkeyi (Nantong)"),
    ("reviewer", Role.REVIEWER, None, "expert reviewer (assigned applications only)"),
]


def demo_present() -> bool:
    return Organisation.objects.exists()


def tongzhou_towns() -> list[tuple[str, str, str]]:
    towns = Region.objects.subtree(TONGZHOU).filter(level=RegionLevel.TOWN).order_by("code")
    return [(t.code, t.name_zh, t.name_en) for t in towns]


def build_demo(*, bulletins: bool = False) -> Iterator[str]:
    """Everything in one transaction: a failure leaves nothing behind. (A decorator would
    only wrap the creation of this generator, not its work.) `bulletins` also publishes the
    seed's bulletin (the `demo` command does; the tests that need one publish their own,
    since rendering its PDFs takes seconds)."""
    with transaction.atomic():
        report = load_divisions(towns=["3206"])
        yield f"divisions: {report}"
        document = yaml.safe_load(WORLD_FILE.read_text(encoding="utf-8"))
        yield f"seed article world: {load_world(document)}"
        towns = tongzhou_towns()
        if not towns:
            raise RuntimeError("Tongzhou has no towns: the division data did not load its streets")
        yield f"synthetic organisations: {load_world(synthetic_world(towns, ZONE_KEY))}"
        yield ensure_demo_user()
        yield from ensure_role_users()
        yield from demo_programmes(TONGZHOU)
        yield from demo_statistics(TONGZHOU)
        yield from demo_designations(TONGZHOU)
        if bulletins:
            yield from demo_bulletins(TONGZHOU)


def ensure_role_users() -> Iterator[str]:
    """A login for each role, so every workspace can be tried. Passwords are set only
    when a user is created."""
    User = get_user_model()
    for username, role, scope, description in DEMO_ROLES:
        # The bureau admin also gets the admin site (scoped to their district, as everywhere).
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": description, "is_staff": role == Role.BUREAU_ADMIN}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        region = Region.objects.get(code=scope) if scope and scope.isdigit() else None
        organisation = Organisation.objects.get(key=scope) if scope and not scope.isdigit() else None
        grant_role(user, role, by=None, region=region, organisation=organisation)
        yield f"user {username}: {description}"


def ensure_demo_user() -> str:
    """The demo login: bureau staff with the admin. Its password is only set when created,
    so a changed password survives a second `kechuang demo`."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True, "first_name": "Demo"}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
        return f"user {DEMO_USERNAME} created"
    return f"user {DEMO_USERNAME} exists"

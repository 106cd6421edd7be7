"""Role grants and the one function that decides what each role sees and changes."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from kechuang.accounts.models import Grant, Role
from kechuang.accounts.scoping import can_change, can_create_in, may_grant, visible_to
from kechuang.accounts.services import GrantRefused, grant_role, revoke_grant
from kechuang.registry.models import Capacity, Milestone, Organisation, Phase, Region, Source
from kechuang.registry.services import move_organisation, save_organisation, save_phase

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(divisions):
    """Tongzhou with a zone, a park inside it and tenants; firms in Chongchuan and in Beijing's 通州区."""
    tongzhou, chongchuan, beijing_tongzhou = (Region.objects.get(code=c) for c in ("320612", "320613", "110112"))
    orgs = {}

    def make(key, kind, region, within=None):
        org, _ = save_organisation(key, kind=kind, name_en=key.replace("-", " ").title())
        move_organisation(org, region, within=orgs.get(within), since=dt.date(2015, 1, 1))
        orgs[key] = org
        return org

    make("zone", "zone", tongzhou)
    make("park", "park", tongzhou, within="zone")
    make("park-tenant", "enterprise", tongzhou, within="park")
    make("zone-tenant", "enterprise", tongzhou, within="zone")
    make("tongzhou-firm", "enterprise", Region.objects.get(code="320612120"))
    make("chongchuan-firm", "enterprise", chongchuan)
    make("beijing-firm", "enterprise", beijing_tongzhou)
    save_phase(park=orgs["park"], number=1, status="operating")
    for org in orgs.values():
        Milestone.objects.create(organisation=org, date=dt.date(2020, 1, 1), kind="founded")
    return orgs


@pytest.fixture
def users(world, django_user_model):
    def user(name, role=None, region=None, organisation=None, **extra):
        account = django_user_model.objects.create_user(name, **extra)
        if role:
            grant_role(account, role, by=None, region=region and Region.objects.get(code=region),
                       organisation=organisation and world[organisation])
        return account

    return {
        "bureau": user("bureau", Role.BUREAU_ADMIN, region="320612"),
        "analyst": user("analyst", Role.ANALYST, region="320612"),
        "park": user("park", Role.PARK_MANAGER, organisation="park"),
        "zone": user("zone", Role.PARK_MANAGER, organisation="zone"),
        "enterprise": user("enterprise", Role.ENTERPRISE_USER, organisation="tongzhou-firm"),
        "reviewer": user("reviewer", Role.REVIEWER),
        "nobody": user("nobody"),
        "root": user("root", is_superuser=True, is_staff=True),
    }


TONGZHOU = {"zone", "park", "park-tenant", "zone-tenant", "tongzhou-firm"}
EVERYONE = TONGZHOU | {"chongchuan-firm", "beijing-firm"}


@pytest.mark.parametrize("who, expected", [
    ("bureau", TONGZHOU),
    ("analyst", TONGZHOU),
    ("zone", {"zone", "park", "park-tenant", "zone-tenant"}),
    ("park", {"park", "park-tenant"}),
    ("enterprise", {"tongzhou-firm"}),
    ("reviewer", set()),
    ("nobody", set()),
    ("root", EVERYONE),
])
def test_each_role_sees_its_organisations_and_their_rows(users, who, expected):
    user = users[who]
    assert set(visible_to(Organisation.objects.all(), user).values_list("key", flat=True)) == expected
    assert set(visible_to(Milestone.objects.all(), user).values_list("organisation__key", flat=True)) == expected
    assert visible_to(Phase.objects.all(), user).exists() == ("park" in expected)


def test_anonymous_sees_no_organisation_but_the_reference_data(world):
    from django.contrib.auth.models import AnonymousUser

    anonymous = AnonymousUser()
    assert not visible_to(Organisation.objects.all(), anonymous).exists()
    assert not visible_to(Capacity.objects.all(), anonymous).exists()
    assert visible_to(Region.objects.filter(code="320612"), anonymous).exists()
    assert visible_to(Source.objects.all(), anonymous).count() == Source.objects.count()


def test_the_two_tongzhous_are_different_scopes(users):
    assert not visible_to(Organisation.objects.filter(key="beijing-firm"), users["bureau"]).exists()


def test_a_firm_that_moves_away_leaves_the_bureau_scope(users, world):
    move_organisation(world["tongzhou-firm"], Region.objects.get(code="320613"), since=dt.date(2024, 1, 1))
    assert not visible_to(Organisation.objects.filter(key="tongzhou-firm"), users["bureau"]).exists()
    # the enterprise user still sees their own enterprise wherever it goes
    assert visible_to(Organisation.objects.filter(key="tongzhou-firm"), users["enterprise"]).exists()


@pytest.mark.parametrize("who, key, allowed", [
    ("bureau", "tongzhou-firm", True), ("bureau", "chongchuan-firm", False), ("bureau", "beijing-firm", False),
    ("analyst", "tongzhou-firm", False),
    ("park", "park", True), ("park", "park-tenant", True), ("park", "zone", False), ("park", "zone-tenant", False),
    ("zone", "park-tenant", True), ("zone", "zone", True),
    ("enterprise", "tongzhou-firm", True), ("enterprise", "park-tenant", False),
    ("reviewer", "tongzhou-firm", False), ("nobody", "tongzhou-firm", False),
    ("root", "beijing-firm", True),
])
def test_who_may_change_an_organisation_and_its_rows(users, world, who, key, allowed):
    user = users[who]
    assert can_change(user, world[key]) is allowed
    assert can_change(user, Milestone.objects.get(organisation=world[key])) is allowed


def test_regions_change_only_inside_a_bureau_subtree(users):
    town = Region.objects.get(code="320612120")
    assert can_change(users["bureau"], town)
    assert not can_change(users["bureau"], Region.objects.get(code="320600"))
    assert not can_change(users["analyst"], town)


def test_registering_a_new_organisation(users, world):
    assert can_create_in(users["bureau"], Region.objects.get(code="320612001"))
    assert not can_create_in(users["bureau"], Region.objects.get(code="320613"))
    assert can_create_in(users["park"], Region.objects.get(code="320612"), within=world["park"])
    assert not can_create_in(users["park"], Region.objects.get(code="320612"))
    assert not can_create_in(users["enterprise"], Region.objects.get(code="320612"))


def test_bureau_admins_manage_users_within_their_subtree(users, world):
    bureau = users["bureau"]
    assert may_grant(bureau, Role.ANALYST, region=Region.objects.get(code="320612001"))
    assert not may_grant(bureau, Role.ANALYST, region=Region.objects.get(code="320600"))
    assert may_grant(bureau, Role.ENTERPRISE_USER, organisation=world["tongzhou-firm"])
    assert not may_grant(bureau, Role.ENTERPRISE_USER, organisation=world["chongchuan-firm"])
    assert may_grant(bureau, Role.REVIEWER)
    assert not may_grant(users["analyst"], Role.REVIEWER)
    assert not may_grant(users["park"], Role.ENTERPRISE_USER, organisation=world["park-tenant"])


def test_a_grant_outside_the_granters_subtree_is_refused(users, world, django_user_model):
    newcomer = django_user_model.objects.create_user("newcomer")
    with pytest.raises(GrantRefused, match="only within their own region subtree"):
        grant_role(newcomer, Role.ENTERPRISE_USER, by=users["bureau"], organisation=world["chongchuan-firm"])
    assert not Grant.objects.filter(user=newcomer).exists()


@pytest.mark.parametrize("role, scope, message", [
    (Role.BUREAU_ADMIN, None, "scoped to a region"),
    (Role.PARK_MANAGER, "tongzhou-firm", "manages a park or zone"),
    (Role.ENTERPRISE_USER, "park", "belongs to an enterprise"),
    (Role.REVIEWER, "320612", "has no region or organisation"),
    ("mayor", None, "is not a role"),
])
def test_a_grant_must_fit_its_role(world, django_user_model, role, scope, message):
    user = django_user_model.objects.create_user("someone")
    region = Region.objects.get(code=scope) if scope and scope.isdigit() else None
    organisation = world[scope] if scope and not scope.isdigit() else None
    with pytest.raises(GrantRefused, match=message):
        grant_role(user, role, by=None, region=region, organisation=organisation)


def test_the_database_refuses_a_grant_without_its_scope(users):
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.create(user=users["nobody"], role=Role.BUREAU_ADMIN)


def test_a_revoked_grant_no_longer_counts_and_stays_on_record(users, world):
    grant = Grant.objects.get(user=users["enterprise"])
    revoke_grant(grant, by=users["bureau"])
    enterprise = type(users["enterprise"]).objects.get(pk=users["enterprise"].pk)  # a fresh request
    assert not visible_to(Organisation.objects.all(), enterprise).exists()
    grant.refresh_from_db()
    assert grant.revoked_by == users["bureau"] and grant.revoked_at is not None
    with pytest.raises(GrantRefused, match="already revoked"):
        revoke_grant(grant, by=None)


def test_granting_twice_returns_the_same_grant(users, world):
    again = grant_role(users["enterprise"], Role.ENTERPRISE_USER, by=None, organisation=world["tongzhou-firm"])
    assert Grant.objects.active().filter(user=users["enterprise"]).get() == again


def test_grant_command(world, capsys):
    call_command("grant", "wang", "analyst", "320612", "--create-user")
    assert "granted" in capsys.readouterr().out
    assert Grant.objects.active().get(user__username="wang").region.code == "320612"
    call_command("grant", "wang", "analyst", "320612", "--revoke")
    assert not Grant.objects.active().filter(user__username="wang").exists()
    call_command("grant", "wang", "enterprise_user", "tongzhou-firm")
    call_command("grant", "wang", "reviewer")
    assert set(Grant.objects.active().filter(user__username="wang").values_list("role", flat=True)) == {
        "enterprise_user", "reviewer"}


@pytest.mark.parametrize("args, message", [
    (["ghost", "analyst", "320612"], "no user 'ghost'"),
    (["wang", "analyst", "999999"], "no region has the code 999999"),
    (["wang", "enterprise_user", "no-such-firm"], "no organisation has the key"),
    (["wang", "analyst"], "scoped to a region"),
    (["wang", "analyst", "320612", "--revoke"], "holds no analyst grant"),
])
def test_grant_command_errors(world, django_user_model, args, message):
    django_user_model.objects.create_user("wang")
    with pytest.raises(CommandError, match=message):
        call_command("grant", *args)


def test_admin_gives_grants_through_the_rules(users, world, client):
    client.force_login(users["root"])
    response = client.post("/admin/accounts/grant/add/", {
        "user": users["nobody"].pk, "role": "enterprise_user", "organisation": world["park"].pk,
    })
    assert response.status_code == 200 and "belongs to an enterprise" in response.content.decode()
    response = client.post("/admin/accounts/grant/add/", {
        "user": users["nobody"].pk, "role": "enterprise_user", "organisation": world["park-tenant"].pk,
    })
    assert response.status_code == 302
    grant = Grant.objects.get(user=users["nobody"])
    assert grant.granted_by == users["root"]
    assert client.post(f"/admin/accounts/grant/{grant.pk}/delete/").status_code == 403

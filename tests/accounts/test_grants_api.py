"""/api/v1/auth/grants/: role grants given and revoked through the API, by a superuser
or by a bureau admin within their region subtree.

The world: Nantong's Tongzhou (320612) holds an enterprise and a park, Chongchuan
(320602, the same city) an enterprise; Beijing's Tongzhou (110112) has an analyst.
The bureau admin of 320612 manages the grants scoped inside 320612 (and reviewers);
everything else they cannot see, so it is a 404 to them, and an organisation outside
their subtree is "unknown" (400) when named in a grant.

Decisions the tests pin down: a grant the rules refuse (a region outside the caller's
subtree, a scope that does not fit the role, a grant already revoked) is a 400 under
`non_field_errors`, with the service's message; a user who may not grant at all gets
403 on every write, whatever the grant; reads need a signed-in user (401 otherwise).
"""

import datetime as dt
import itertools
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kechuang.accounts.models import Grant, Role
from kechuang.accounts.services import grant_role, revoke_grant
from kechuang.registry.services import move_organisation, save_organisation, save_region
from tests.api_base import GARBAGE_BODIES, GARBAGE_PARAMS, GARBAGE_VALUES, errors_of, send

pytestmark = pytest.mark.django_db

GRANTS_URL = "/api/v1/auth/grants/"
TONGZHOU, CHONGCHUAN, BEIJING_TONGZHOU = "320612", "320602", "110112"


def grant_url(grant) -> str:
    return f"{GRANTS_URL}{grant.pk}/"


def revoke_url(grant) -> str:
    return f"{GRANTS_URL}{grant.pk}/revoke/"


@pytest.fixture
def world(db, django_user_model):
    jiangsu, _ = save_region("320000", level="province", name_zh="江苏省")
    nantong, _ = save_region("320600", level="city", name_zh="南通市", parent=jiangsu)
    beijing, _ = save_region("110000", level="province", name_zh="北京市")
    beijing_city, _ = save_region("110100", level="city", name_zh="市辖区", parent=beijing)
    regions = {
        "320600": nantong,
        TONGZHOU: save_region(TONGZHOU, level="district", name_zh="通州区", parent=nantong)[0],
        CHONGCHUAN: save_region(CHONGCHUAN, level="district", name_zh="崇川区", parent=nantong)[0],
        BEIJING_TONGZHOU: save_region(BEIJING_TONGZHOU, level="district", name_zh="通州区", parent=beijing_city)[0],
    }
    organisations = {}
    for key, kind, code in [("tongzhou-firm", "enterprise", TONGZHOU), ("tongzhou-park", "park", TONGZHOU),
                            ("chongchuan-firm", "enterprise", CHONGCHUAN)]:
        organisation, _ = save_organisation(key, kind=kind, name_en=key.replace("-", " ").title())
        move_organisation(organisation, regions[code], since=dt.date(2015, 1, 1))
        organisations[key] = organisation

    users = {name: django_user_model.objects.create_user(name) for name in (
        "bureau", "analyst", "enterprise", "reviewer", "nobody", "newcomer", "chongchuan-bureau", "beijing-analyst")}
    users["operator"] = django_user_model.objects.create_user("operator", is_staff=True, is_superuser=True)
    grants = {
        "bureau": grant_role(users["bureau"], Role.BUREAU_ADMIN, by=None, region=regions[TONGZHOU]),
        "analyst": grant_role(users["analyst"], Role.ANALYST, by=None, region=regions[TONGZHOU]),
        "enterprise": grant_role(users["enterprise"], Role.ENTERPRISE_USER, by=None,
                                 organisation=organisations["tongzhou-firm"]),
        "reviewer": grant_role(users["reviewer"], Role.REVIEWER, by=None),
        "chongchuan-bureau": grant_role(users["chongchuan-bureau"], Role.BUREAU_ADMIN, by=None,
                                        region=regions[CHONGCHUAN]),
        "beijing-analyst": grant_role(users["beijing-analyst"], Role.ANALYST, by=None,
                                      region=regions[BEIJING_TONGZHOU]),
    }
    return {"regions": regions, "organisations": organisations, "users": users, "grants": grants}


@pytest.fixture
def client_of(world):
    def signed_in(name: str) -> Client:
        client = Client()
        client.force_login(world["users"][name])
        return client

    return signed_in


def listed(client, params=None) -> list[tuple[str, str, str | None]]:
    response = client.get(GRANTS_URL, params or {})
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert {"count", "next", "previous", "results"} <= body.keys()
    return sorted((g["user"], g["role"], g["region"] or g["organisation"]) for g in body["results"])


def post_grant(client, **body):
    return send(client, "post", GRANTS_URL, body)


# --- reading -----------------------------------------------------------------------


def test_a_bureau_admin_lists_the_grants_of_their_subtree_and_their_own(client_of):
    assert listed(client_of("bureau")) == [
        ("analyst", "analyst", TONGZHOU),
        ("bureau", "bureau_admin", TONGZHOU),
        ("enterprise", "enterprise_user", "tongzhou-firm"),
        ("reviewer", "reviewer", None),
    ]


def test_a_bureau_admin_also_sees_their_grants_outside_the_subtree(world, client_of):
    grant_role(world["users"]["bureau"], Role.ANALYST, by=None, region=world["regions"]["320600"])
    assert ("bureau", "analyst", "320600") in listed(client_of("bureau"))
    assert ("chongchuan-bureau", "bureau_admin", CHONGCHUAN) not in listed(client_of("bureau"))


@pytest.mark.parametrize("name, expected", [
    ("analyst", [("analyst", "analyst", TONGZHOU)]),
    ("enterprise", [("enterprise", "enterprise_user", "tongzhou-firm")]),
    ("nobody", []),
])
def test_everyone_else_sees_only_their_own_grants(client_of, name, expected):
    assert listed(client_of(name)) == expected


def test_a_superuser_sees_every_grant(world, client_of):
    assert len(listed(client_of("operator"))) == len(world["grants"])


def test_the_representation(world, client_of):
    grant = world["grants"]["enterprise"]
    body = client_of("bureau").get(grant_url(grant)).json()
    assert body == {
        "id": grant.pk,
        "api_url": f"http://testserver{grant_url(grant)}",
        "user": "enterprise",
        "role": "enterprise_user",
        "region": None,
        "organisation": "tongzhou-firm",
        "scope_label": "Tongzhou Firm",
        "granted_by": None,
        "granted_at": body["granted_at"],
        "revoked_at": None,
        "revoked_by": None,
        "active": True,
    }
    assert client_of("bureau").get(grant_url(world["grants"]["analyst"])).json()["scope_label"] == "通州区 320612"


def test_a_grant_out_of_sight_is_404(world, client_of):
    bureau = client_of("bureau")
    assert bureau.get(grant_url(world["grants"]["chongchuan-bureau"])).status_code == 404
    assert bureau.get(grant_url(world["grants"]["beijing-analyst"])).status_code == 404
    assert client_of("analyst").get(grant_url(world["grants"]["enterprise"])).status_code == 404
    assert bureau.get(f"{GRANTS_URL}999999/").status_code == 404
    assert bureau.get(f"{GRANTS_URL}abc/").status_code == 404


def test_filters(world, client_of):
    bureau = client_of("bureau")
    revoke_grant(world["grants"]["analyst"], by=None)
    assert listed(bureau, {"user": "enterprise"}) == [("enterprise", "enterprise_user", "tongzhou-firm")]
    assert listed(bureau, {"user": "chongchuan-bureau"}) == []
    assert listed(bureau, {"role": "reviewer"}) == [("reviewer", "reviewer", None)]
    assert listed(bureau, {"active": "false"}) == [("analyst", "analyst", TONGZHOU)]
    assert ("analyst", "analyst", TONGZHOU) not in listed(bureau, {"active": "true"})


@pytest.mark.parametrize("params, field", [
    ({"active": "maybe"}, "active"),
    ({"role": "emperor"}, "role"),
    ({"user": "a\x00b"}, "user"),
    ({"user": "x" * 151}, "user"),
])
def test_a_bad_filter_is_400_naming_it(client_of, params, field):
    assert field in errors_of(client_of("bureau").get(GRANTS_URL, params))


def test_garbage_query_parameters_never_500(client_of):
    extra = [{"role": ["a", "b"]}, {"active": "\x00"}, {"ordering": "user__password"}, "user=%ED%A0%80&role=%FF"]
    for params, name in itertools.product([*GARBAGE_PARAMS, *extra], ("bureau", "operator")):
        client = client_of(name)
        response = client.get(f"{GRANTS_URL}?{params}") if isinstance(params, str) else client.get(GRANTS_URL, params)
        assert response.status_code in (200, 400, 404), (params, response.content[:300])
        if response.status_code == 400:
            errors_of(response)


def test_the_list_query_count_does_not_grow_with_rows(world, client_of, django_user_model):
    regions, organisations = world["regions"], world["organisations"]
    for name in ("bureau", "operator"):
        client = client_of(name)
        with CaptureQueriesContext(connection) as few:
            assert client.get(GRANTS_URL).status_code == 200
        for n in range(10):
            user = django_user_model.objects.create_user(f"holder-{name}-{n}")
            grant_role(user, Role.ANALYST, by=None, region=regions[TONGZHOU])
            grant_role(user, Role.ENTERPRISE_USER, by=None, organisation=organisations["tongzhou-firm"])
            grant_role(user, Role.PARK_MANAGER, by=world["users"]["bureau"], organisation=organisations["tongzhou-park"])
        with CaptureQueriesContext(connection) as many:
            body = client.get(GRANTS_URL).json()
        assert body["count"] >= 30
        assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_the_browsable_api_and_options_answer(world, client_of):
    bureau = client_of("bureau")
    for url in (GRANTS_URL, grant_url(world["grants"]["analyst"])):
        response = bureau.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200 and b"<html" in response.content, url
        assert bureau.options(url).status_code == 200


# --- giving ------------------------------------------------------------------------


def test_a_bureau_admin_grants_an_analyst_of_their_district(world, client_of):
    newcomer = client_of("newcomer")
    firm_url = "/api/v1/organisations/tongzhou-firm/"
    assert newcomer.get(firm_url).status_code == 404

    response = post_grant(client_of("bureau"), user="newcomer", role="analyst", region=TONGZHOU, organisation=None)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["user"], body["role"], body["region"], body["organisation"]) == ("newcomer", "analyst", TONGZHOU,
                                                                                  None)
    assert (body["granted_by"], body["active"], body["revoked_at"]) == ("bureau", True, None)
    assert client_of("bureau").get(body["api_url"]).json() == body

    assert newcomer.get(firm_url).status_code == 200
    assert newcomer.get("/api/v1/organisations/chongchuan-firm/").status_code == 404


@pytest.mark.parametrize("body", [
    {"role": "analyst", "region": 320612},  # a code may be sent as a number
    {"role": "bureau_admin", "region": TONGZHOU},
    {"role": "enterprise_user", "organisation": "tongzhou-firm"},
    {"role": "park_manager", "organisation": "tongzhou-park"},
    {"role": "reviewer"},
])
def test_a_bureau_admin_grants_any_role_scoped_inside_their_subtree(world, client_of, body):
    response = post_grant(client_of("bureau"), user="newcomer", **body)
    assert response.status_code == 201, response.content
    assert Grant.objects.active().filter(user=world["users"]["newcomer"], role=body["role"]).count() == 1


def test_giving_a_role_already_held_answers_the_grant_in_force(world, client_of):
    response = post_grant(client_of("bureau"), user="analyst", role="analyst", region=TONGZHOU)
    assert response.status_code == 200
    assert response.json()["id"] == world["grants"]["analyst"].pk
    assert Grant.objects.filter(user=world["users"]["analyst"]).count() == 1


def test_a_bureau_admin_cannot_grant_outside_their_subtree(world, client_of):
    for region in (CHONGCHUAN, "320600", BEIJING_TONGZHOU):
        response = post_grant(client_of("bureau"), user="newcomer", role="analyst", region=region)
        assert "may not grant" in errors_of(response)["non_field_errors"][0], region
    assert not Grant.objects.filter(user=world["users"]["newcomer"]).exists()


def test_an_organisation_outside_the_subtree_is_unknown(world, client_of):
    outside = post_grant(client_of("bureau"), user="newcomer", role="enterprise_user", organisation="chongchuan-firm")
    missing = post_grant(client_of("bureau"), user="newcomer", role="enterprise_user", organisation="no-such-firm")
    assert errors_of(outside) == {"organisation": ["no organisation has the key 'chongchuan-firm'"]}
    assert errors_of(missing) == {"organisation": ["no organisation has the key 'no-such-firm'"]}
    assert not Grant.objects.filter(user=world["users"]["newcomer"]).exists()


def test_a_superuser_grants_anywhere(world, client_of):
    operator = client_of("operator")
    assert post_grant(operator, user="newcomer", role="analyst", region=BEIJING_TONGZHOU).status_code == 201
    assert post_grant(operator, user="newcomer", role="enterprise_user",
                      organisation="chongchuan-firm").status_code == 201


@pytest.mark.parametrize("name", ["analyst", "enterprise", "reviewer", "nobody"])
def test_who_may_not_grant_gets_403(world, client_of, name):
    client = client_of(name)
    response = post_grant(client, user="newcomer", role="analyst", region=TONGZHOU)
    assert response.status_code == 403
    assert send(client, "post", GRANTS_URL, raw="{").status_code == 403  # before the body is even read
    assert client.post(revoke_url(world["grants"][name if name != "nobody" else "analyst"])).status_code == 403
    assert not Grant.objects.filter(user=world["users"]["newcomer"]).exists()


def test_anonymous_gets_401(world):
    anonymous = Client()
    grant = world["grants"]["analyst"]
    assert anonymous.get(GRANTS_URL).status_code == 401
    assert anonymous.get(grant_url(grant)).status_code == 401
    assert post_grant(anonymous, user="newcomer", role="analyst", region=TONGZHOU).status_code == 401
    assert anonymous.post(revoke_url(grant)).status_code == 401


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_grants_are_never_edited_or_deleted(world, client_of, method):
    bureau, grant = client_of("bureau"), world["grants"]["analyst"]
    body = bureau.get(grant_url(grant)).json()
    assert send(bureau, method, grant_url(grant), {**body, "role": "bureau_admin"}).status_code == 405
    assert send(bureau, method, GRANTS_URL, body).status_code == 405
    assert Grant.objects.get(pk=grant.pk).role == Role.ANALYST


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize("body, field", [
    ({"user": "newcomer", "role": "emperor", "region": TONGZHOU}, "role"),
    ({"role": "analyst", "region": TONGZHOU}, "user"),
    ({"user": "newcomer", "region": TONGZHOU}, "role"),
    ({"user": "ghost", "role": "analyst", "region": TONGZHOU}, "user"),
    ({"user": "newcomer", "role": "analyst", "region": "999999"}, "region"),
    ({"user": "newcomer", "role": "analyst"}, "non_field_errors"),
    ({"user": "newcomer", "role": "enterprise_user", "region": TONGZHOU}, "non_field_errors"),
    ({"user": "newcomer", "role": "enterprise_user", "region": TONGZHOU, "organisation": "tongzhou-firm"},
     "non_field_errors"),
    ({"user": "newcomer", "role": "enterprise_user", "organisation": "tongzhou-park"}, "non_field_errors"),
    ({"user": "newcomer", "role": "park_manager", "organisation": "tongzhou-firm"}, "non_field_errors"),
    ({"user": "newcomer", "role": "reviewer", "region": TONGZHOU}, "non_field_errors"),
])
def test_bad_bodies_are_400_naming_the_field(world, client_of, body, field):
    assert field in errors_of(post_grant(client_of("bureau"), **body))
    assert not Grant.objects.filter(user=world["users"]["newcomer"]).exists()


def test_an_unknown_user_is_named(client_of):
    response = post_grant(client_of("bureau"), user="ghost", role="analyst", region=TONGZHOU)
    assert errors_of(response) == {"user": ["no user has the username 'ghost'"]}


@pytest.mark.parametrize("field", ["user", "role", "region", "organisation"])
def test_nul_bytes_are_400_naming_the_field(client_of, field):
    body = {"user": "newcomer", "role": "analyst", "region": TONGZHOU, "organisation": None, field: "a\x00b"}
    assert field in errors_of(post_grant(client_of("bureau"), **body))


@pytest.mark.parametrize("field", ["user", "role", "region", "organisation"])
def test_garbage_in_any_field_never_500(world, client_of, field):
    for client, value in itertools.product((client_of("bureau"), client_of("operator")), GARBAGE_VALUES):
        body = {"user": "newcomer", "role": "analyst", "region": TONGZHOU, field: value}
        response = post_grant(client, **body)
        assert response.status_code in (200, 201, 400), (field, value, response.content[:300])
        if response.status_code == 400:
            errors_of(response)


def test_garbage_bodies_are_400(client_of):
    for body in [*GARBAGE_BODIES, json.dumps([{"user": "newcomer"}]), b'{"a": "\xff\xfe"}']:
        errors_of(send(client_of("bureau"), "post", GRANTS_URL, raw=body))


# --- revoking ----------------------------------------------------------------------


def test_a_bureau_admin_revokes_a_grant_in_their_subtree(world, client_of):
    grant = world["grants"]["analyst"]
    analyst = client_of("analyst")
    assert analyst.get("/api/v1/organisations/tongzhou-firm/").status_code == 200

    response = client_of("bureau").post(revoke_url(grant))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["active"], body["revoked_by"]) == (grant.pk, False, "bureau")
    assert body["revoked_at"] is not None

    assert analyst.get("/api/v1/organisations/tongzhou-firm/").status_code == 404
    # The row stays, for the record, and its holder still sees it.
    assert Grant.objects.filter(pk=grant.pk, revoked_at__isnull=False).exists()
    assert client_of("analyst").get(grant_url(grant)).json()["active"] is False


def test_revoking_twice_is_400(world, client_of):
    bureau, grant = client_of("bureau"), world["grants"]["enterprise"]
    assert bureau.post(revoke_url(grant)).status_code == 200
    assert errors_of(bureau.post(revoke_url(grant))) == {"non_field_errors": ["that grant is already revoked"]}


def test_a_grant_outside_the_subtree_cannot_be_revoked(world, client_of):
    for name in ("chongchuan-bureau", "beijing-analyst"):
        grant = world["grants"][name]
        assert client_of("bureau").post(revoke_url(grant)).status_code == 404
        assert Grant.objects.active().filter(pk=grant.pk).exists()


def test_a_grant_seen_but_not_managed_is_403(world, client_of):
    """A bureau admin who is also an analyst of the whole city sees that grant (it is
    theirs) but may not revoke it: it reaches beyond their subtree."""
    city_grant = grant_role(world["users"]["bureau"], Role.ANALYST, by=None, region=world["regions"]["320600"])
    assert client_of("bureau").post(revoke_url(city_grant)).status_code == 403
    assert Grant.objects.active().filter(pk=city_grant.pk).exists()


def test_revoking_an_unknown_grant_is_404(client_of):
    assert client_of("bureau").post(f"{GRANTS_URL}999999/revoke/").status_code == 404


def test_a_superuser_revokes_anywhere(world, client_of):
    assert client_of("operator").post(revoke_url(world["grants"]["beijing-analyst"])).status_code == 200

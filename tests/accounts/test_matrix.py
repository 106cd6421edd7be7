"""The permission matrix: every role × every API resource × read, create, update and
delete × a row inside and outside the role's scope, against a table of expected
answers written out here (not computed by the code under test).

The world: Tongzhou (320612) holds a zone, a park inside the zone, a tenant firm inside
the park and a firm outside both; Chongchuan (320602, the same city) and Beijing's
Tongzhou (110112) hold one firm each. Every organisation has one row of each kind
(location, ownership, milestone, capacity, contact; phases for the zone and park).

The answers, from the issue: a row the caller may not see is a 404, exactly like a row
that does not exist; a row they see but may not change is a 403; a user who may
change nothing gets 403 on any write (401 without credentials), whatever the row;
naming an invisible organisation in a write is "unknown" (400), as a missing one is.
"""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse

from kechuang import audit
from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.registry import services
from kechuang.registry.models import Capacity, Contact, Location, Milestone, Organisation, Ownership, Phase

pytestmark = pytest.mark.django_db

TONGZHOU, CHONGCHUAN, BEIJING_TONGZHOU = "320612", "320602", "110112"

#: Organisation → (kind, region, the zone or park it is in).
ORGANISATIONS = {
    "zone": ("zone", TONGZHOU, None),
    "park": ("park", TONGZHOU, "zone"),
    "tenant": ("enterprise", TONGZHOU, "park"),
    "firm": ("enterprise", TONGZHOU, None),
    "elsewhere": ("enterprise", CHONGCHUAN, None),
    "beijing": ("enterprise", BEIJING_TONGZHOU, None),
}

#: The users, each with the grants they hold ("anonymous" is not signed in).
ROLES = {
    "bureau": [(Role.BUREAU_ADMIN, TONGZHOU)],
    "analyst": [(Role.ANALYST, TONGZHOU)],
    # Bureau admin of the district and analyst of the whole city: sees Chongchuan, changes only Tongzhou.
    "bureau_and_city_analyst": [(Role.BUREAU_ADMIN, TONGZHOU), (Role.ANALYST, "320600")],
    "zone_manager": [(Role.PARK_MANAGER, "zone")],
    "park_manager": [(Role.PARK_MANAGER, "park")],
    "enterprise": [(Role.ENTERPRISE_USER, "tenant")],
    "reviewer": [(Role.REVIEWER, None)],
    "nobody": [],
    "anonymous": [],
}

#: Whose rows each role may see …
SEES = {
    "bureau": {"zone", "park", "tenant", "firm"},
    "analyst": {"zone", "park", "tenant", "firm"},
    "bureau_and_city_analyst": {"zone", "park", "tenant", "firm", "elsewhere"},
    "zone_manager": {"zone", "park", "tenant"},
    "park_manager": {"park", "tenant"},
    "enterprise": {"tenant"},
    "reviewer": set(),
    "nobody": set(),
    "anonymous": set(),
}
#: … and change.
CHANGES = {
    "bureau": {"zone", "park", "tenant", "firm"},
    "analyst": set(),
    "bureau_and_city_analyst": {"zone", "park", "tenant", "firm"},
    "zone_manager": {"zone", "park", "tenant"},
    "park_manager": {"park", "tenant"},
    "enterprise": {"tenant"},
    "reviewer": set(),
    "nobody": set(),
    "anonymous": set(),
}
#: Roles that may change something at all (the others get 401/403 on every write).
WRITERS = {"bureau", "bureau_and_city_analyst", "zone_manager", "park_manager", "enterprise"}

#: Where each role may register a new organisation placed like one of ORGANISATIONS
#: (same region; inside it when it is a zone or park, else in the same zone or park).
REGISTERS = {
    "bureau": {"zone", "park", "tenant", "firm"},
    "bureau_and_city_analyst": {"zone", "park", "tenant", "firm"},
    "zone_manager": {"zone", "park", "tenant"},
    "park_manager": {"park", "tenant"},
}
#: Whose place (region, zone or park) lies in each role's scope, so that a move to it
#: may be recorded there. A manager's own park is placed in the district, outside their
#: scope: the bureau records where the park itself is.
PLACES = {
    "bureau": {"zone", "park", "tenant", "firm"},
    "bureau_and_city_analyst": {"zone", "park", "tenant", "firm"},
    "zone_manager": {"park", "tenant"},
    "park_manager": {"tenant"},
}


# --- the world -------------------------------------------------------------------


@pytest.fixture
def world(db, django_user_model):
    with audit.interface("cli"):
        services.save_source("matrix", title="test source")
        services.save_sector("pumps", name_zh="泵", name_en="Pumps")
        jiangsu = services.save_region("320000", level="province", name_zh="江苏省")[0]
        nantong = services.save_region("320600", level="city", name_zh="南通市", parent=jiangsu)[0]
        beijing = services.save_region("110000", level="province", name_zh="北京市")[0]
        beijing_city = services.save_region("110100", level="city", name_zh="市辖区", parent=beijing)[0]
        regions = {
            TONGZHOU: services.save_region(TONGZHOU, level="district", name_zh="通州区", parent=nantong)[0],
            CHONGCHUAN: services.save_region(CHONGCHUAN, level="district", name_zh="崇川区", parent=nantong)[0],
            BEIJING_TONGZHOU: services.save_region(BEIJING_TONGZHOU, level="district", name_zh="通州区",
                                                   parent=beijing_city)[0],
        }
        orgs = {}
        for key, (kind, region, within) in ORGANISATIONS.items():
            org = services.save_organisation(key, kind=kind, name_en=f"Matrix {key} works", sectors=["pumps"])[0]
            services.move_organisation(org, regions[region], within=orgs.get(within), since=dt.date(2020, 1, 1))
            orgs[key] = org
        for key, org in orgs.items():
            owner = orgs["firm" if key == "beijing" else "beijing"]
            services.save_ownership(None, organisation=org, owner=owner, share_percent=10)
            services.save_milestone(None, organisation=org, date=dt.date(2021, 5, 1), kind="founded")
            services.save_capacity(None, organisation=org, product_en="pumps", quantity=100, unit="units",
                                   as_of=dt.date(2023, 1, 1))
            services.save_contact(None, organisation=org, name_en=f"Manager of {key}", email=f"{key}@example.cn")
            if kind_of(key) in ("zone", "park"):
                services.save_phase(None, park=org, number=1, name_en="first phase", status="operating")
    regions["320600"] = nantong
    for username, grants in ROLES.items():
        if username == "anonymous":
            continue
        user = django_user_model.objects.create_user(username, password="pw-matrix-123")
        for role, scope in grants:
            grant_role(user, role, by=None, region=regions.get(scope), organisation=orgs.get(scope))
    return orgs


def kind_of(key: str) -> str:
    return ORGANISATIONS[key][0]


def client_of(role: str, django_user_model) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(django_user_model.objects.get(username=role))
    return client


# --- the resources ---------------------------------------------------------------

#: basename → (model, the field naming the organisation, lookup, a PATCH body).
RESOURCES = {
    "organisation": (Organisation, None, "key", {"description_en": "checked"}),
    "location": (Location, "organisation", "id", {"address": "Building 3"}),
    "phase": (Phase, "park", "id", {"note": "checked"}),
    "ownership": (Ownership, "organisation", "id", {"note": "checked"}),
    "milestone": (Milestone, "organisation", "id", {"text_en": "checked"}),
    "capacity": (Capacity, "organisation", "id", {"unit": "sets"}),
    "contact": (Contact, "organisation", "id", {"role_en": "checked"}),
}


def rows_of(basename: str, key: str) -> list:
    """The resource's rows that belong to organisation `key` (a zone or park only has phases)."""
    model, field, _, _ = RESOURCES[basename]
    if field is None:
        return [Organisation.objects.get(key=key)]
    return list(model.objects.filter(**{f"{field}__key": key}))


def detail_url(basename: str, row) -> str:
    return reverse(f"{basename}-detail", args=[getattr(row, RESOURCES[basename][2])])


def owner_for(key: str) -> str:
    return "elsewhere" if key == "tenant" else "tenant"


def container_for(key: str) -> str | None:
    """Where a new organisation placed like `key` goes: inside it if it is a zone or park."""
    return key if kind_of(key) in ("zone", "park") else ORGANISATIONS[key][2]


def named_in(basename: str, key: str) -> set[str]:
    """The organisations a create body for `key` names."""
    if basename == "organisation":
        return {container_for(key)} - {None}
    if basename == "location":
        return {key, ORGANISATIONS[key][2]} - {None}
    return {key}  # an owner may be any organisation (public record), in scope or not


def create_body(basename: str, key: str) -> dict:
    """A valid new row for organisation `key` (for organisations: a new one placed like `key`)."""
    _, region, within = ORGANISATIONS[key]
    return {
        "organisation": {"key": f"new-{key}", "kind": "enterprise", "name_en": "New works", "region": region,
                         "within": container_for(key)},
        "location": {"organisation": key, "region": region, "within": within, "since": "2025-06"},
        "phase": {"park": key, "number": 2, "name_en": "second phase", "status": "construction"},
        "ownership": {"organisation": key, "owner": owner_for(key), "share_percent": "5"},
        "milestone": {"organisation": key, "date": "2022-11", "kind": "trial_production"},
        "capacity": {"organisation": key, "product_en": "valves", "quantity": "5", "unit": "units",
                     "as_of": "2024-01-01"},
        "contact": {"organisation": key, "name_en": "New contact"},
    }[basename]


def send(client, method: str, url: str, body: dict | None = None):
    return getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")


# --- expected answers ------------------------------------------------------------


def expected_read(role: str, key: str) -> int:
    return 200 if key in SEES[role] else 404


def expected_update(role: str, key: str) -> int:
    if role == "anonymous":
        return 401
    if role not in WRITERS:
        return 403
    if key not in SEES[role]:
        return 404
    return 200 if key in CHANGES[role] else 403


def expected_create(role: str, basename: str, key: str) -> int:
    if role == "anonymous":
        return 401
    if role not in WRITERS:
        return 403
    if not named_in(basename, key) <= SEES[role]:
        return 400  # it names an organisation unknown to them, as a key that does not exist would be
    if basename == "organisation":
        allowed = key in REGISTERS.get(role, set())
    else:
        allowed = key in CHANGES[role] and (basename != "location" or key in PLACES.get(role, set()))
    return 201 if allowed else 403


def expected_delete(role: str) -> int:
    return {"anonymous": 401}.get(role, 405 if role in WRITERS else 403)


# --- the matrix ------------------------------------------------------------------


@pytest.mark.parametrize("basename", RESOURCES)
@pytest.mark.parametrize("role", ROLES)
def test_the_matrix(world, django_user_model, role, basename):
    client = client_of(role, django_user_model)
    wrong = []

    def check(what, response, expected):
        if response.status_code != expected:
            wrong.append(f"{what}: {response.status_code}, expected {expected}: {response.content[:200]!r}")

    for key in ORGANISATIONS:
        for row in rows_of(basename, key):
            url = detail_url(basename, row)
            check(f"GET {key}", client.get(url), expected_read(role, key))
            check(f"GET {key} history", client.get(url + "history/"), expected_read(role, key))
            check(f"PATCH {key}", send(client, "patch", url, RESOURCES[basename][3]), expected_update(role, key))
            check(f"DELETE {key}", send(client, "delete", url), expected_delete(role))
            assert type(row).objects.filter(pk=row.pk).exists()
        if basename != "phase" or kind_of(key) in ("zone", "park"):
            response = send(client, "post", reverse(f"{basename}-list"), create_body(basename, key))
            check(f"POST for {key}", response, expected_create(role, basename, key))
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("basename", RESOURCES)
@pytest.mark.parametrize("role", ROLES)
def test_lists_hold_exactly_the_rows_in_scope_whatever_the_filter(world, django_user_model, role, basename):
    """Every filter and search term that would match rows outside the scope, tried on
    every list: the answer never holds one. Naming an organisation the caller cannot see
    is answered as naming one that does not exist."""
    client = client_of(role, django_user_model)
    in_scope = {detail_url(basename, row) for key in SEES[role] for row in rows_of(basename, key)}
    listed = all_listed(client, basename, {})
    assert listed == in_scope

    unknown = client.get(reverse(f"{basename}-list"), {"organisation": "no-such-organisation"})
    filters = [{"q": "Matrix"}, {"q": "works"}, {"synthetic": "false"}, {"sector": "pumps"}]
    filters += [{"region": code} for code in ("320000", "320600", TONGZHOU, CHONGCHUAN, BEIJING_TONGZHOU, "110000")]
    filters += [{"q": f"Matrix {key}"} for key in ORGANISATIONS]
    filters += [{parameter: key} for key in ORGANISATIONS for parameter in ("organisation", "owner")]
    filters += [{"within": key} for key in ORGANISATIONS if kind_of(key) in ("zone", "park")]
    for params in filters:
        response = client.get(reverse(f"{basename}-list"), {**params, "page_size": 500})
        if response.status_code == 400:
            # Only for a key they cannot see, and then exactly as for a key that does not exist.
            named = next(iter(params.values()))
            assert named in ORGANISATIONS and named not in SEES[role], (params, response.json())
            if "organisation" in params and unknown.status_code == 400:
                assert response.json()["organisation"] == [
                    message.replace("no-such-organisation", named) for message in unknown.json()["organisation"]
                ]
            continue
        assert response.status_code == 200, (params, response.content[:300])
        found = {row["api_url"].removeprefix("http://testserver") for row in response.json()["results"]}
        assert found <= in_scope, (params, found - in_scope)


def all_listed(client, basename: str, params: dict) -> set[str]:
    response = client.get(reverse(f"{basename}-list"), {**params, "page_size": 500})
    assert response.status_code == 200, response.content[:300]
    return {row["api_url"].removeprefix("http://testserver") for row in response.json()["results"]}


# --- reference data --------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_reference_data_is_read_by_all_and_kept_by_the_bureau(world, django_user_model, role):
    """Regions, sources and sectors: anyone reads them; a bureau admin changes the
    divisions of their subtree and the shared lists; nobody else changes them."""
    client = client_of(role, django_user_model)
    for url in ("/api/v1/regions/320612/", "/api/v1/sources/matrix/", "/api/v1/sectors/pumps/"):
        assert client.get(url).status_code == 200
    refused = 401 if role == "anonymous" else 403
    bureau = role in ("bureau", "bureau_and_city_analyst")
    expectations = [
        ("patch", "/api/v1/regions/320612/", {"name_en": "Tongzhou"}, 200 if bureau else refused),
        ("patch", "/api/v1/regions/320602/", {"name_en": "Chongchuan"}, refused),
        ("patch", "/api/v1/regions/320612/", {"parent": "320000"}, refused),  # moving itself out of its scope
        ("post", "/api/v1/regions/", {"code": "320612100", "level": "town", "name_zh": "金沙街道",
                                      "parent": TONGZHOU}, 201 if bureau else refused),
        ("post", "/api/v1/regions/", {"code": "320602100", "level": "town", "name_zh": "城东街道",
                                      "parent": CHONGCHUAN}, refused),
        ("patch", "/api/v1/sources/matrix/", {"title": "checked"}, 200 if bureau else refused),
        ("post", "/api/v1/sources/", {"key": "new-source", "title": "new"}, 201 if bureau else refused),
        ("patch", "/api/v1/sectors/pumps/", {"name_en": "Vacuum pumps"}, 200 if bureau else refused),
        ("post", "/api/v1/sectors/", {"code": "valves", "name_zh": "阀门", "name_en": "Valves"},
         201 if bureau else refused),
    ]
    for method, url, body, expected in expectations:
        response = send(client, method, url, body)
        assert response.status_code == expected, (method, url, body, response.content[:300])


# --- writes that would leave the scope -------------------------------------------


def test_a_bureau_cannot_move_a_firm_out_of_its_district(world, django_user_model):
    client = client_of("bureau", django_user_model)
    move = {"organisation": "firm", "region": CHONGCHUAN, "since": "2025-06"}
    assert send(client, "post", "/api/v1/locations/", move).status_code == 403
    location = Location.objects.get(organisation__key="firm", valid_to=None)
    correction = send(client, "patch", f"/api/v1/locations/{location.pk}/", {"region": CHONGCHUAN})
    assert correction.status_code == 403
    assert Location.objects.get(organisation__key="firm", valid_to=None).region.code == TONGZHOU


def test_a_row_cannot_be_handed_to_an_organisation_out_of_scope(world, django_user_model):
    client = client_of("park_manager", django_user_model)
    milestone = Milestone.objects.get(organisation__key="tenant")
    response = send(client, "patch", f"/api/v1/milestones/{milestone.pk}/", {"organisation": "firm"})
    assert response.status_code == 400 and "organisation" in response.json()
    assert Milestone.objects.get(pk=milestone.pk).organisation.key == "tenant"


def test_an_enterprise_user_cannot_register_organisations(world, django_user_model):
    client = client_of("enterprise", django_user_model)
    body = {"key": "spin-off", "kind": "enterprise", "name_en": "Spin-off", "region": TONGZHOU}
    assert send(client, "post", "/api/v1/organisations/", body).status_code == 403
    assert not Organisation.objects.filter(key="spin-off").exists()


def test_a_new_organisation_lands_in_the_creators_scope(world, django_user_model):
    client = client_of("park_manager", django_user_model)
    body = {"key": "newcomer", "kind": "enterprise", "name_en": "Newcomer", "region": TONGZHOU, "within": "park"}
    assert send(client, "post", "/api/v1/organisations/", body).status_code == 201
    assert client.get("/api/v1/organisations/newcomer/").status_code == 200
    located = Location.objects.get(organisation__key="newcomer")
    assert (located.region.code, located.within.key) == (TONGZHOU, "park")


def test_contacts_personal_details_stay_in_scope(world, django_user_model):
    """Email and phone of a contact: never in a list for the public."""
    body = client_of("anonymous", django_user_model).get("/api/v1/contacts/").json()
    assert body["results"] == []
    body = client_of("enterprise", django_user_model).get("/api/v1/contacts/").json()
    assert [row["email"] for row in body["results"]] == ["tenant@example.cn"]


# --- web pages (a sample of the same matrix) -----------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_organisation_pages_follow_the_scope(world, django_user_model, role):
    client = client_of(role, django_user_model)
    for key in ORGANISATIONS:
        assert client.get(f"/organisations/{key}/").status_code == expected_read(role, key), key
    html = client.get("/", {"q": "Matrix"}).content.decode()
    shown = {key for key in ORGANISATIONS if f"/organisations/{key}/" in html}
    assert shown == SEES[role]
    html = client.get("/regions/320600/").content.decode()
    assert {key for key in ORGANISATIONS if f"/organisations/{key}/" in html} <= SEES[role]


def test_a_tenant_page_does_not_name_what_the_reader_may_not_see(world, django_user_model):
    """Beijing's firm owns a share of every other organisation; its page lists those
    holdings only to whoever may see the held organisation."""
    client = client_of("bureau", django_user_model)
    grant_role(django_user_model.objects.get(username="bureau"), Role.ANALYST, by=None,
               region=world["beijing"].current_location.region)
    html = client.get("/organisations/beijing/").content.decode()
    assert "/organisations/tenant/" in html
    assert "/organisations/elsewhere/" not in html

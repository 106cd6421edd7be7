"""GET /api/v1/<resource>/<lookup>/history/: a row's changes, newest first, read-only."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token

from kechuang import audit
from kechuang.registry import services
from kechuang.registry.models import Organisation, Region
from tests.api_base import send, serve_static_files_plainly

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    """A few regions and organisations, written from the command line."""
    with audit.interface("cli"):
        services.save_sector("pumps", name_zh="泵", name_en="Pumps")
        services.save_sector("new-materials", name_zh="新材料", name_en="New materials")
        jiangsu = services.save_region("320000", level="province", name_zh="江苏省", name_en="Jiangsu")[0]
        services.save_region("110000", level="province", name_zh="北京市", name_en="Beijing")
        nantong = services.save_region("320600", level="city", name_zh="南通市", name_en="Nantong", parent=jiangsu)[0]
        zone = services.save_organisation("nantong-zone", kind="zone", name_en="Nantong High-tech Zone")[0]
        firm = services.save_organisation("zhongkeyi", kind="enterprise", name_en="Zhongkeyi",
                                          sectors=["pumps"])[0]
        services.move_organisation(firm, nantong, within=zone, since=dt.date(2020, 1, 1))
    return firm


def history_url(basename: str, lookup) -> str:
    return reverse(f"{basename}-history", args=[lookup])


def history(client, basename: str, lookup, **params) -> dict:
    response = client.get(history_url(basename, lookup), params)
    assert response.status_code == 200, response.content
    return response.json()


def test_an_api_patch_is_listed_first_with_its_user_interface_and_values(world, operator_client):
    url = reverse("organisation-detail", args=["zhongkeyi"])
    assert send(operator_client, "patch", url, {"name_en": "Zhongkeyi (Nantong)", "sectors": ["new-materials"]}
                ).status_code == 200
    body = history(operator_client, "organisation", "zhongkeyi")
    assert body["count"] == 2
    changed, created = body["results"]
    assert {key: changed[key] for key in ("who", "interface", "type", "reason")} == {
        "who": "staff", "interface": "api", "type": "~", "reason": None}
    assert changed["changes"] == [
        {"field": "name_en", "before": "Zhongkeyi", "after": "Zhongkeyi (Nantong)"},
        {"field": "sectors", "before": ["pumps"], "after": ["new-materials"]},
    ]
    assert dt.datetime.fromisoformat(changed["when"]) >= dt.datetime.fromisoformat(created["when"])
    assert (created["who"], created["interface"], created["type"]) == (None, "cli", "+")
    assert "OS user" in created["reason"]
    shown = {change["field"]: change for change in created["changes"]}
    assert shown["key"] == {"field": "key", "before": None, "after": "zhongkeyi"}
    assert shown["sectors"] == {"field": "sectors", "before": None, "after": ["pumps"]}


def test_related_rows_are_named_by_their_code_or_key(world, operator_client):
    response = send(operator_client, "patch", reverse("region-detail", args=["320600"]),
                    {"parent": "110000", "moved_on": "2024-01-01"})
    assert response.status_code == 200, response.content
    moved = history(operator_client, "region", "320600")["results"][0]
    assert moved["changes"] == [
        {"field": "parent", "before": "320000", "after": "110000"},
        {"field": "path", "before": "320000/320600/", "after": "110000/320600/"},
    ]
    location = world.locations.get()
    created = history(operator_client, "location", location.pk)["results"][0]
    shown = {change["field"]: change["after"] for change in created["changes"]}
    assert (shown["organisation"], shown["region"], shown["within"]) == ("zhongkeyi", "320600", "nantong-zone")
    assert shown["valid_from"] == "2020-01-01"


def test_values_are_written_as_the_api_writes_them(world, operator_client):
    owner = services.save_organisation("sky", kind="enterprise", name_en="Sky Technology")[0]
    share, _ = services.save_ownership(organisation=world, owner=owner, share_percent=51)
    response = send(operator_client, "patch", reverse("ownership-detail", args=[share.pk]), {"share_percent": "100"})
    assert response.status_code == 200, response.content
    changed = history(operator_client, "ownership", share.pk)["results"][0]
    assert changed["changes"] == [{"field": "share_percent", "before": "51.0000", "after": "100.0000"}]


def test_anyone_who_may_read_the_row_may_read_its_history(world, operator_client):
    body = history(operator_client, "organisation", "zhongkeyi")
    assert [entry["type"] for entry in body["results"]] == ["+"]


def test_whoever_may_not_see_the_row_gets_404_for_its_history(world, client):
    assert client.get(history_url("organisation", "zhongkeyi")).status_code == 404
    assert client.get(history_url("location", world.current_location.pk)).status_code == 404
    assert client.get(history_url("region", "320600")).status_code == 200  # the divisions are public


@pytest.mark.parametrize("basename, unknown", [
    ("organisation", "no-such-organisation"),
    ("region", "999999"),
    ("location", 999999),
    ("sector", "no-such-sector"),
])
def test_the_history_of_an_unknown_row_is_404(world, client, basename, unknown):
    assert client.get(history_url(basename, unknown)).status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_history_cannot_be_written(world, operator_client, method):
    url = history_url("organisation", "zhongkeyi")
    before = Organisation.history.count()
    assert send(operator_client, method, url, {"type": "-"}).status_code == 405
    assert send(Client(), method, url, {"type": "-"}).status_code in (401, 403)
    assert Organisation.history.count() == before


def test_pages_compare_their_last_record_with_the_first_of_the_next_page(world, operator_client):
    for name in ("Zhongkeyi 1", "Zhongkeyi 2", "Zhongkeyi 3"):
        services.save_organisation("zhongkeyi", name_en=name)
    first = history(operator_client, "organisation", "zhongkeyi", page_size=2)
    second = history(operator_client, "organisation", "zhongkeyi", page_size=2, page=2)
    assert first["count"] == 4 and first["next"]
    assert [entry["changes"] for entry in first["results"]] == [
        [{"field": "name_en", "before": "Zhongkeyi 2", "after": "Zhongkeyi 3"}],
        [{"field": "name_en", "before": "Zhongkeyi 1", "after": "Zhongkeyi 2"}],
    ]
    assert second["results"][0]["changes"] == [{"field": "name_en", "before": "Zhongkeyi", "after": "Zhongkeyi 1"}]
    assert second["results"][1]["type"] == "+"


def test_the_query_count_does_not_grow_with_the_records(world, operator_client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            history(operator_client, "organisation", "zhongkeyi")
        return len(captured)

    services.save_organisation("zhongkeyi", name_en="Zhongkeyi 1")
    few = queries()
    for n in range(2, 12):
        services.save_organisation("zhongkeyi", name_en=f"Zhongkeyi {n}", sectors=["pumps", "new-materials"][: n % 2 + 1])
    assert queries() == few


def test_a_row_that_existed_before_the_audit_trail_began_shows_its_first_record(world, operator_client):
    region = Region.objects.get(code="320000")
    region.history.all().delete()  # as if it had been written before the history was installed
    services.save_region("320000", level="province", name_zh="江苏省", name_en="Jiangsu Province")
    (entry,) = history(operator_client, "region", "320000")["results"]
    assert entry["type"] == "~"
    assert {"field": "name_en", "before": None, "after": "Jiangsu Province"} in entry["changes"]


def test_the_browsable_api_shows_the_history(world, operator_client, settings):
    serve_static_files_plainly(settings)
    response = operator_client.get(history_url("organisation", "zhongkeyi"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"zhongkeyi" in response.content


def test_the_schema_documents_the_history_of_every_resource(client):
    schema = client.get(reverse("schema"), {"format": "json"}).json()
    for path in ("/api/v1/regions/{code}/history/", "/api/v1/organisations/{key}/history/",
                 "/api/v1/locations/{id}/history/", "/api/v1/sources/{key}/history/"):
        assert list(schema["paths"][path]) == ["get"], path
    assert "HistoryRecord" in schema["components"]["schemas"]


def test_a_client_signed_in_by_token_is_recorded_as_its_user(world, operator):
    token = Token.objects.create(user=operator)
    response = Client().patch(reverse("organisation-detail", args=["zhongkeyi"]), data='{"name_zh": "中科仪"}',
                              content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200, response.content
    latest = Organisation.objects.get(key="zhongkeyi").history.first()
    assert (latest.history_user, latest.history_interface, latest.name_zh) == (operator, "api", "中科仪")

"""The designations through the API: types, grants and their steps, the filters, the
expiry list, and importing a list with its review queue — each through the same scoping."""

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kechuang.designations import services
from kechuang.designations.models import Designation, ImportCandidate
from tests.api_base import GARBAGE_PARAMS

from .conftest import TODAY, code, grant

pytestmark = pytest.mark.django_db
D = dt.date


def client_for(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def listed(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def grants(place):
    """Final little giants of the firm (Tongzhou, in the zone) and the rival (Chongchuan), an
    HNTE of the maker running out soon, and the maker's publicity listing."""
    return {
        "firm": grant(place, granted_on=D(2023, 6, 28), batch="5"),
        "rival": grant(place, firm="rival", granted_on=D(2021, 8, 5), batch="3"),
        "hnte": grant(place, firm="maker", type_code="hnte", granted_on=D(2023, 12, 20)),
        "listed": grant(place, firm="maker", stage="publicity", publicised_on=D(2023, 5, 22), batch="5"),
    }


# --- types --------------------------------------------------------------------------------------------


def test_anyone_reads_the_types_and_a_bureau_admin_defines_its_own(place):
    types = listed(client_for().get("/api/v1/designation-types/"))
    assert {"little-giant", "hnte", "tech-sme"} <= {t["code"] for t in types}
    hnte = client_for().get("/api/v1/designation-types/hnte/").json()
    assert hnte["validity_years"] == 3 and hnte["rule_versions"][1] == {
        "code": "HNTE-2016", "from": "2016-01-01", "title": "国科发火〔2016〕32号 + 国科发火〔2016〕195号"}
    body = {"code": "gazelle", "name_zh": "瞪羚企业", "name_en": "gazelle enterprise", "levels": ["city"],
            "validity": "years", "validity_years": 2, "rule_versions": [{"code": "NT-2021", "from": None}]}
    assert post(client_for(), "/api/v1/designation-types/", body).status_code in (401, 403)
    assert post(client_for(place["owner"]), "/api/v1/designation-types/", body).status_code == 403
    created = post(client_for(place["bureau"]), "/api/v1/designation-types/", body)
    assert created.status_code == 201, created.content
    assert created.json()["built_in"] is False and created.json()["rule_versions"][0]["code"] == "NT-2021"
    again = post(client_for(place["bureau"]), "/api/v1/designation-types/", body)
    assert again.status_code == 400 and "code" in again.json()
    bad = post(client_for(place["bureau"]), "/api/v1/designation-types/", {**body, "code": "unicorn",
                                                                           "validity": "calendar_year"})
    assert bad.status_code == 400 and "validity_years" in bad.json()


# --- grants ---------------------------------------------------------------------------------------------


def test_the_public_reads_final_grants_and_the_bureau_and_enterprise_the_publicity_listings(place, grants):
    public = {row["id"] for row in listed(client_for().get("/api/v1/designations/"))}
    assert public == {grants["firm"].pk, grants["rival"].pk, grants["hnte"].pk}
    assert client_for().get(f"/api/v1/designations/{grants['listed'].pk}/").status_code == 404
    assert client_for(place["other_bureau"]).get(f"/api/v1/designations/{grants['listed'].pk}/").status_code == 404
    bureau = {row["id"] for row in listed(client_for(place["bureau"]).get("/api/v1/designations/"))}
    assert bureau == public | {grants["listed"].pk}
    row = client_for().get(f"/api/v1/designations/{grants['firm'].pk}/").json()
    assert (row["organisation"], row["type"], row["level"], row["stage"], row["valid_until"],
            row["last_valid_day"]) == ("firm", "little-giant", "national", "final", "2026-06-28", "2026-06-27")
    assert row["steps"][0]["name"] == "grant" and row["rule_version"] == "MIIT-2022-63"


def test_the_bureau_records_a_grant_and_takes_it_through_its_stages(place):
    bureau = client_for(place["bureau"])
    created = post(bureau, "/api/v1/designations/", {"organisation": "firm", "type": "little-giant",
                                                     "stage": "publicity", "publicised_on": "2023-05-22",
                                                     "batch": "5", "comment": "第五批公示"})
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["granted_on"] is None and created.json()["steps"][0]["comment"] == "第五批公示"
    final = post(bureau, f"/api/v1/designations/{pk}/finalise/", {"on": "2023-06-28", "certificate_number": "X-1"})
    assert final.status_code == 200, final.content
    assert (final.json()["stage"], final.json()["valid_until"]) == ("final", "2026-06-28")
    reviewed = post(bureau, f"/api/v1/designations/{pk}/re-review/", {"on": "2026-06-01", "passed": True})
    assert reviewed.status_code == 200, reviewed.content
    assert reviewed.json()["valid_until"] == "2029-06-28" and len(reviewed.json()["re_reviews"]) == 1
    renamed = post(bureau, f"/api/v1/designations/{pk}/rename/", {"name_on_list": "南通星河科技有限公司",
                                                                  "on": "2026-07-01"})
    assert renamed.status_code == 201, renamed.content
    successor = renamed.json()
    assert successor["replaces"] == pk and successor["certificate_number"] == "X-1"
    no_reason = post(bureau, f"/api/v1/designations/{successor['id']}/revoke/", {"on": "2026-08-01", "comment": ""})
    assert no_reason.status_code == 400 and "comment" in no_reason.json()
    revoked = post(bureau, f"/api/v1/designations/{successor['id']}/revoke/", {"on": "2026-08-01",
                                                                               "comment": "取消资格"})
    assert revoked.json()["stage"] == "revoked" and revoked.json()["in_force_until"] == "2026-08-01"
    expired = post(bureau, f"/api/v1/designations/{successor['id']}/expire/", {})
    assert expired.status_code == 400 and "cannot expire from 'revoked'" in expired.json()["stage"][0]


def test_refusals_are_answered_naming_the_field(place, grants):
    bureau = client_for(place["bureau"])
    for body, field in (({"organisation": "firm", "type": "little-giant"}, "granted_on"),
                        ({"organisation": "firm", "type": "giant", "granted_on": "2023-06-28"}, "type"),
                        ({"organisation": "rival", "type": "hnte", "granted_on": "2023-06-28"}, "organisation"),
                        ({"organisation": "firm", "type": "hnte", "granted_on": "2023-06-28", "level": "city"},
                         "level"),
                        ({"organisation": "firm", "type": "hnte", "granted_on": "2099-01-01"}, "granted_on"),
                        ({"organisation": "firm", "type": "little-giant", "granted_on": "2023-07-01", "batch": "5"},
                         "batch")):
        response = post(bureau, "/api/v1/designations/", body)
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
    # An enterprise reads its designations but does not record them.
    denied = post(client_for(place["owner"]), "/api/v1/designations/", {"organisation": "firm", "type": "hnte",
                                                                       "granted_on": "2023-06-28"})
    assert denied.status_code == 403
    assert post(client_for(place["owner"]), f"/api/v1/designations/{grants['firm'].pk}/revoke/",
                {"on": "2024-01-01", "comment": "x"}).status_code == 403
    assert post(client_for(), f"/api/v1/designations/{grants['firm'].pk}/revoke/",
                {"on": "2024-01-01", "comment": "x"}).status_code in (401, 403)


@pytest.mark.parametrize("query, expected", [
    ("type=little-giant", {"firm", "rival", "listed"}),
    ("type=hnte", {"hnte"}),
    ("level=national&type=hnte", {"hnte"}),
    ("stage=publicity", {"listed"}),
    ("region=320612", {"firm", "hnte", "listed"}),
    ("region=320602", {"rival"}),
    ("within=zone", {"firm"}),
    ("organisation=maker", {"hnte", "listed"}),
    ("valid_on=2023-06-28", {"firm", "rival"}),
    ("valid_on=2024-08-05", {"firm", "hnte"}),
    ("granted_within=2023H1", {"firm"}),
    ("granted_within=2023", {"firm", "hnte"}),
])
def test_the_filters(place, grants, query, expected):
    rows = listed(client_for(place["city_bureau"]).get(f"/api/v1/designations/?{query}"))
    by_pk = {designation.pk: name for name, designation in grants.items()}
    assert {by_pk[row["id"]] for row in rows} == expected


def test_unknown_filter_values_are_400_and_garbage_is_never_500(place, grants):
    bureau = client_for(place["bureau"])
    for query, field in (("type=giant", "type"), ("region=999999", "region"), ("within=firm", "within"),
                         ("granted_within=soon", "granted_within"), ("stage=gone", "stage")):
        response = bureau.get(f"/api/v1/designations/?{query}")
        assert response.status_code == 400 and field in response.json(), query
    for params in GARBAGE_PARAMS + [{"valid_on": "x"}, {"expiring_within": "-3"}, {"expiring_within": "1.5"},
                                    {"days": "x"}, {"today": "2023-02-30"}]:
        for url in ("/api/v1/designations/", "/api/v1/designations/expiring/", "/api/v1/designation-types/",
                    "/api/v1/designation-imports/"):
            assert bureau.get(url, params).status_code < 500, (url, params)


def test_the_expiry_list_shows_the_bureau_its_district_and_the_enterprise_its_own(place, grants):
    services.grant(place["firm"], "hnte", granted_on=D(2021, 1, 10), today=TODAY)  # last day 2024-01-09
    url = "/api/v1/designations/expiring/?days=90&today=2023-12-01"
    bureau = [(row["organisation"], row["type"]) for row in listed(client_for(place["bureau"]).get(url))]
    assert bureau == [("firm", "hnte")]
    assert [row["organisation"] for row in listed(client_for(place["owner"]).get(url))] == ["firm"]
    assert listed(client_for(place["rival_owner"]).get(url)) == []
    assert listed(client_for().get(url)) == []
    assert listed(client_for(place["other_bureau"]).get(url)) == []
    # The rival's little giant (last day 2024-08-04) is on the city bureau's list with a longer horizon.
    later = listed(client_for(place["city_bureau"]).get(
        "/api/v1/designations/expiring/?days=300&today=2023-12-01&region=320602"))
    assert [row["organisation"] for row in later] == ["rival"]
    assert client_for(place["bureau"]).get("/api/v1/designations/expiring/?region=999999").status_code == 400


# --- imports -----------------------------------------------------------------------------------------------


def upload(client, text: str, **fields):
    data = {"file": SimpleUploadedFile("list.csv", text.encode("utf-8"), content_type="text/csv"),
            "type": "little-giant", "region": "320612", **fields}
    return client.post("/api/v1/designation-imports/", data)


def test_a_list_is_uploaded_and_its_queue_worked_through(place):
    bureau = client_for(place["bureau"])
    text = ("企业名称,统一社会信用代码,批次,认定日期\n"
            f"南通星河精密仪器有限公司,{code(1)},5,2023-06-28\n"
            "江苏海纳新材料有限公司,,5,2023-06-28\n"
            "南通某某科技有限公司,,5,2023-06-28\n")
    response = upload(bureau, text)
    assert response.status_code == 201, response.content
    record = response.json()
    assert (record["status"], record["granted"], record["queued"]) == ("done", 1, 2)
    assert [row["outcome"] for row in record["report"]["rows"]] == ["granted", "queued", "queued"]
    queue = bureau.get(f"/api/v1/designation-imports/{record['id']}/queue/?status=pending").json()
    assert len(queue) == 2, queue
    similar, unknown = queue
    assert similar["reason"] == "similar" and similar["candidates"][0]["organisation"] == "maker"
    linked = post(bureau, f"/api/v1/designation-imports/{record['id']}/queue/{similar['id']}/link/",
                  {"organisation": "maker"})
    assert linked.status_code == 200, linked.content
    assert linked.json()["status"] == "linked" and linked.json()["organisation"] == "maker"
    created = post(bureau, f"/api/v1/designation-imports/{record['id']}/queue/{unknown['id']}/create/",
                   {"key": "mou-mou"})
    assert created.status_code == 200, created.content
    assert created.json()["status"] == "created" and created.json()["organisation"] == "mou-mou"
    assert Designation.objects.filter(organisation__key="mou-mou", batch="5").exists()
    again = post(bureau, f"/api/v1/designation-imports/{record['id']}/queue/{unknown['id']}/dismiss/",
                 {"comment": "x"})
    assert again.status_code == 400 and "status" in again.json()


def test_a_refused_upload_is_400_with_every_row_and_writes_nothing(place):
    response = upload(client_for(place["bureau"]), "企业名称,认定日期\n南通星河精密仪器有限公司,2023-13-01\n,2023-06-28\n")
    assert response.status_code == 400
    assert response.json()["file"][0].startswith("row 2, column 认定日期 [2023-13-01]: not a date")
    assert response.json()["file"][1] == "row 3, column 企业名称: the row names no enterprise"
    assert not Designation.objects.exists() and not ImportCandidate.objects.exists()
    record = client_for(place["bureau"]).get(f"/api/v1/designation-imports/{response.json()['import']}/").json()
    assert record["status"] == "refused" and len(record["report"]["problems"]) == 2


def test_imports_are_the_bureaus(place):
    upload(client_for(place["bureau"]), "企业名称,认定日期\n南通某某科技有限公司,2023-06-28\n")
    assert len(listed(client_for(place["bureau"]).get("/api/v1/designation-imports/"))) == 1
    assert len(listed(client_for(place["city_bureau"]).get("/api/v1/designation-imports/"))) == 1
    for who in (None, "owner", "other_bureau", "zone_manager"):
        assert listed(client_for(place[who] if who else None).get("/api/v1/designation-imports/")) == []
    assert upload(client_for(place["owner"]), "企业名称\nx\n").status_code == 403
    assert upload(client_for(place["other_bureau"]), "企业名称\nx\n").status_code == 403
    candidate = ImportCandidate.objects.get()
    url = f"/api/v1/designation-imports/{candidate.designation_import_id}/queue/{candidate.pk}/dismiss/"
    assert post(client_for(place["other_bureau"]), url, {"comment": "x"}).status_code == 404
    assert post(client_for(place["analyst"]), url, {"comment": "x"}).status_code == 403


def test_the_schema_describes_the_designation_resources(operator_client):
    schema = operator_client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in ("/api/v1/designation-types/", "/api/v1/designations/", "/api/v1/designations/{id}/finalise/",
                 "/api/v1/designations/{id}/re-review/", "/api/v1/designations/expiring/",
                 "/api/v1/designation-imports/", "/api/v1/designation-imports/{id}/queue/{candidate_id}/create/"):
        assert path in paths, path


def test_a_list_costs_the_same_queries_for_3_rows_or_12(place):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(place["bureau"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/designations/").status_code == 200
        return len(captured)

    for year in (2019, 2020, 2021):
        grant(place, type_code="tech-sme", granted_on=D(year, 5, 1))
    few = queries()
    for firm in ("maker", "rival"):
        for year in range(2018, 2023):
            grant(place, firm=firm, type_code="tech-sme", granted_on=D(year, 5, 1))
    designation = Designation.objects.filter(organisation=place["maker"]).order_by("granted_on").first()
    services.revoke(designation, on=D(2018, 6, 1), comment="x", today=TODAY)
    assert queries() == few

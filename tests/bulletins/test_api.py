"""The bulletins over REST: who sees what (a draft is a 404 to the public), preparing and
publishing (the bureau), previews as JSON and as files, versions and their files byte for
byte, what would change after a correction, the templates, odd input, and the schema."""

import hashlib
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from kechuang.bulletins import services
from kechuang.bulletins.models import Bulletin, BulletinTemplate
from kechuang.indicators.models import Indicator
from kechuang.registry.models import Region
from kechuang.statistics.periods import Period
from kechuang.statistics.services import record_observation
from tests.api_base import GARBAGE_PARAMS, GARBAGE_VALUES
from tests.bulletins.conftest import demo_world

pytestmark = pytest.mark.django_db

H1 = Period.parse("2023H1")
BULLETINS = "/api/v1/bulletins/"
PREVIEW = "/api/v1/bulletins/preview/"
TEMPLATES = "/api/v1/bulletin-templates/"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo, with the seed's bulletin (Tongzhou, 2023H1) published and 2023H2 a draft."""
    yield from demo_world(django_db_blocker, bulletins=True)


def tongzhou() -> Region:
    return Region.objects.get(code="320612")


def published() -> Bulletin:
    return Bulletin.objects.get(period="2023H1")


def draft() -> Bulletin:
    return Bulletin.objects.get(period="2023H2")


def client_for(username: str | None = None) -> Client:
    client = Client()
    if username is not None:
        client.force_login(get_user_model().objects.get(username=username))
    return client


def post(client, url, body=None):
    return client.post(url, json.dumps(body if body is not None else {}), content_type="application/json")


def put(client, url, body):
    return client.put(url, json.dumps(body), content_type="application/json")


def listed(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- who sees which bulletin ----------------------------------------------------------------------


def test_the_public_lists_the_published_bulletins_and_the_bureau_its_drafts_too(demo):
    (shown,) = listed(client_for().get(BULLETINS))
    assert shown["id"] == published().pk and shown["template"] == "half-year" and shown["region"] == "320612"
    assert shown["region_name_zh"] == "通州区" and shown["period"] == "2023H1" and shown["latest_version"] == 1
    assert shown["links"]["latest"].endswith(f"/bulletins/{published().pk}/versions/1/")
    assert shown["links"]["would_change"].endswith("/would-change/") and shown["published_at"]
    for who in ("bureau", "analyst"):
        assert {row["period"] for row in listed(client_for(who).get(BULLETINS))} == {"2023H1", "2023H2"}
    assert [row["period"] for row in listed(client_for("zhongkeyi").get(BULLETINS))] == ["2023H1"]
    drafts = listed(client_for("bureau").get(BULLETINS, {"published": "false"}))
    assert [(row["period"], row["latest_version"], row["links"]["latest"]) for row in drafts] == [
        ("2023H2", None, None)]
    found = listed(client_for("bureau").get(BULLETINS, {"region": "320612", "period": "2023年上半年"}))
    assert [row["id"] for row in found] == [published().pk]


@pytest.mark.parametrize(("params", "named"), [
    ({"region": "999999"}, "region"), ({"period": "2023H3"}, "period"), ({"published": "maybe"}, "published"),
    ({"template": "nope"}, "template"),
])
def test_a_bad_filter_is_a_400_naming_it(demo, params, named):
    response = client_for().get(BULLETINS, params)
    assert response.status_code == 400 and named in response.json()


def test_a_draft_is_a_404_to_whoever_may_not_see_it(demo):
    url = f"{BULLETINS}{draft().pk}/"
    for who in (None, "zhongkeyi", "park", "reviewer"):
        assert client_for(who).get(url).status_code == 404, who
    shown = client_for("analyst").get(url).json()
    assert shown["published_at"] is None and shown["versions"] == []
    for odd in ("abc", "1.5", "-1", "9" * 30, "0"):
        assert client_for("bureau").get(f"{BULLETINS}{odd}/").status_code == 404, odd


def test_the_detail_lists_each_version_with_its_files(demo):
    bulletin = client_for().get(f"{BULLETINS}{published().pk}/").json()
    (version,) = bulletin["versions"]
    assert version["number"] == 1 and version["published_by"] is None and version["as_of"]
    files = {(f["language"], f["format"]): f for f in version["files"]}
    assert set(files) == {(lang, fmt) for lang in ("en", "zh") for fmt in ("html", "pdf", "docx", "md")} | {
        ("", "csv"), ("", "json")}
    assert files[("en", "pdf")]["url"].endswith(f"/bulletins/{published().pk}/versions/1/files/en.pdf")
    assert files[("", "csv")]["url"].endswith("/files/data.csv")
    assert len(files[("zh", "docx")]["sha256"]) == 64 and files[("zh", "docx")]["size"] > 1000


# --- preparing and publishing --------------------------------------------------------------------------


def test_a_bureau_admin_prepares_a_bulletin_others_may_not(demo):
    body = {"template": "half-year", "region": "320612", "period": "2022H2"}
    assert post(client_for(), BULLETINS, body).status_code in (401, 403)
    for who in ("analyst", "zhongkeyi", "park"):
        assert post(client_for(who), BULLETINS, body).status_code == 403, who
    created = post(client_for("bureau"), BULLETINS, body)
    assert created.status_code == 201, created.content
    assert created.json()["period"] == "2022H2" and created.json()["versions"] == []
    again = post(client_for("bureau"), BULLETINS, {"region": "320612", "period": "2022年下半年"})
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    elsewhere = Region.objects.filter(parent__code="320600").exclude(code="320612").first()
    assert post(client_for("bureau"), BULLETINS, {**body, "region": elsewhere.code}).status_code == 403


@pytest.mark.parametrize(("change", "named"), [
    ({"region": "999999"}, "region"), ({"region": None}, "region"), ({"period": "2023H3"}, "period"),
    ({"period": "2" * 5000}, "period"), ({"template": "nope"}, "template"), ({"template": ["half-year"]}, "template"),
])
def test_preparing_with_a_bad_field_is_a_400_naming_it(demo, change, named):
    body = {"template": "half-year", "region": "320612", "period": "2022H2", **change}
    response = post(client_for("bureau"), BULLETINS, body)
    assert response.status_code == 400 and named in response.json(), response.content


def test_only_a_bureau_admin_publishes_and_a_republication_needs_a_note(demo):
    url = f"{BULLETINS}{draft().pk}/publish/"
    assert post(client_for(), url, {}).status_code in (401, 403)
    assert post(client_for("analyst"), url, {}).status_code == 403
    assert post(client_for("zhongkeyi"), url, {}).status_code == 404  # a draft they cannot see
    assert not draft().versions.exists()
    again = post(client_for("bureau"), f"{BULLETINS}{published().pk}/publish/", {"note": "  "})
    assert again.status_code == 400 and "note" in again.json()
    assert post(client_for("bureau"), url, ["not", "an", "object"]).status_code == 400
    done = post(client_for("bureau"), url, {})
    assert done.status_code == 201, done.content
    assert done.json()["number"] == 1 and done.json()["published_by"] == "bureau"
    assert done.json()["figures"]["projects"]["period"] == "2023H2" and len(done.json()["files"]) == 10
    assert client_for().get(f"{BULLETINS}{draft().pk}/").status_code == 200  # published: everyone's now


# --- previews ---------------------------------------------------------------------------------------


def test_a_preview_as_json_is_the_document(demo):
    response = post(client_for("analyst"), PREVIEW, {"template": "half-year", "region": "320612",
                                                     "period": "2023H1", "language": "en"})
    assert response.status_code == 200, response.content
    document = response.json()
    assert document["title"] == "Tongzhou makes great strides in innovation" and document["version"] == 0
    text = json.dumps(document["sections"], ensure_ascii=False)
    assert "13.5 billion yuan ($1.86 billion)" in text and "six" in text
    assert {"projects", "high_tech_share"} <= {figure["name"] for figure in document["figures"]}


def test_a_preview_as_a_file(demo):
    client = client_for("bureau")
    markdown = post(client, PREVIEW, {"region": "320612", "period": "2023H1", "language": "zh-hans", "format": "md"})
    assert markdown.status_code == 200 and markdown["Content-Type"].startswith("text/markdown")
    assert "135亿元" in markdown.content.decode("utf-8")
    pdf = post(client, PREVIEW, {"region": "320612", "period": "2023H1", "language": "en", "format": "pdf"},)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # The client's Accept header does not turn a file into a 406.
    html = client.post(PREVIEW, json.dumps({"region": "320612", "period": "2023H1", "format": "html"}),
                       content_type="application/json", HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and b"<article" in html.content


def test_a_preview_as_the_data_stood_before_a_correction(demo):
    before = published().latest().as_of
    record_observation(tongzhou(), Indicator.objects.get(code="high_tech_share").official_metric, "2023H1",
                       Decimal(57), status="published")
    body = {"region": "320612", "period": "2023H1", "language": "en", "format": "md"}
    assert "57 percent" in post(client_for("bureau"), PREVIEW, body).content.decode()
    old = post(client_for("bureau"), PREVIEW, {**body, "as_of": before.isoformat()}).content.decode()
    assert "56 percent" in old and "57 percent" not in old


def test_a_preview_is_for_who_sees_the_regions_drafts(demo):
    body = {"region": "320612", "period": "2023H1"}
    assert post(client_for(), PREVIEW, body).status_code in (401, 403)
    for who in ("zhongkeyi", "park", "reviewer"):
        assert post(client_for(who), PREVIEW, body).status_code == 403, who


def test_a_preview_of_a_broken_spec_says_where_and_why(demo):
    spec = json.loads(json.dumps(services.find_template("half-year").spec))
    spec["sections"][0]["paragraphs"][0]["en"] = "{{ settings.SECRET_KEY }}"
    response = post(client_for("bureau"), PREVIEW, {"spec": spec, "region": "320612", "period": "2023H1"})
    assert response.status_code == 400
    refused = response.json()
    assert refused["where"] == "sections[0].paragraphs[0].en" and "settings" in refused["reason"]
    assert "sections[0].paragraphs[0].en" in refused["spec"][0]
    spec["sections"][0]["paragraphs"][0]["en"] = "{{ projects.__class__.__mro__ }}"  # refused as it renders
    escape = post(client_for("bureau"), PREVIEW, {"spec": spec, "region": "320612", "period": "2023H1",
                                                  "language": "en"})
    assert escape.status_code == 400 and "sections[0].paragraphs[0].en" in json.dumps(escape.json())
    for odd in ("text", ["a"], 42, {}, {"sections": "x"}):
        response = post(client_for("bureau"), PREVIEW, {"spec": odd, "region": "320612", "period": "2023H1"})
        assert response.status_code == 400 and "spec" in response.json(), odd
    both = post(client_for("bureau"), PREVIEW, {"spec": spec, "template": "half-year", "region": "320612",
                                                "period": "2023H1"})
    assert both.status_code == 400 and "spec" in both.json()


@pytest.mark.parametrize(("change", "named"), [
    ({"language": "fr"}, "language"), ({"format": "xls"}, "format"), ({"as_of": "yesterday"}, "as_of"),
    ({"as_of": "2023-13-45T00:00"}, "as_of"), ({"period": "x" * 5000}, "period"), ({"region": "通州区"}, "region"),
    ({"template": "missing"}, "template"),
])
def test_a_preview_with_a_bad_field_is_a_400_naming_it(demo, change, named):
    response = post(client_for("bureau"), PREVIEW, {"region": "320612", "period": "2023H1", **change})
    assert response.status_code == 400 and named in response.json(), response.content


# --- versions and files -----------------------------------------------------------------------------


def test_the_versions_and_one_version_with_its_figures(demo):
    url = f"{BULLETINS}{published().pk}/versions/"
    (version,) = client_for().get(url).json()
    assert version["number"] == 1 and "figures" not in version
    one = client_for().get(f"{url}1/").json()
    assert one["figures"]["projects"]["value"] == "74" and one["figures"]["high_tech_share"]["basis"] == "official"
    assert client_for().get(f"{url}2/").status_code == 404
    assert client_for().get(f"{BULLETINS}{draft().pk}/versions/").status_code == 404
    assert client_for("bureau").get(f"{BULLETINS}{draft().pk}/versions/").json() == []


@pytest.mark.parametrize(("name", "language", "fmt"), [
    ("en.pdf", "en", "pdf"), ("zh.docx", "zh", "docx"), ("zh-hans.md", "zh", "md"), ("en.html", "en", "html"),
    ("data.csv", "", "csv"), ("data.json", "", "json"),
])
def test_a_download_is_the_published_bytes_with_their_sha256(demo, name, language, fmt):
    stored = published().latest().files.get(language=language, format=fmt)
    url = f"{BULLETINS}{published().pk}/versions/1/files/{name}"
    response = client_for().get(url)
    assert response.status_code == 200
    assert response.content == bytes(stored.content)
    assert hashlib.sha256(response.content).hexdigest() == stored.sha256
    assert response["ETag"] == f'"{stored.sha256}"'
    assert response["Content-Disposition"] == (f'attachment; filename="tongzhou-2023H1-half-year-v1-'
                                               f'{language or "data"}.{fmt}"')
    assert client_for().get(url, HTTP_IF_NONE_MATCH=f'"{stored.sha256}"').status_code == 304


def test_a_file_that_is_not_there_is_a_404(demo):
    base = f"{BULLETINS}{published().pk}/versions/"
    for name in ("1/files/fr.pdf", "1/files/data.pdf", "1/files/en.csv", "1/files/en.xls", "2/files/en.pdf",
                 "1/files/en.pdf/", "99999/files/en.pdf", "1/files/en.pdf.zip"):
        assert client_for().get(base + name).status_code == 404, name
    assert client_for().get(f"{BULLETINS}{draft().pk}/versions/1/files/en.pdf").status_code == 404


def test_would_change_lists_a_correction_after_publication(demo):
    url = f"{BULLETINS}{published().pk}/would-change/"
    assert client_for().get(url).json() == []
    share = Indicator.objects.get(code="high_tech_share").official_metric
    record_observation(tongzhou(), share, "2023H1", Decimal(57), status="published")
    (change,) = client_for().get(url).json()
    assert change["name"] == "high_tech_share" and change["indicator"] == "high_tech_share"
    assert (Decimal(change["published"]), Decimal(change["now"])) == (56, 57)
    assert change["published_basis"] == change["now_basis"] == "official" and change["period"] == "2023H1"
    assert client_for("bureau").get(f"{BULLETINS}{draft().pk}/would-change/").status_code == 404


# --- templates --------------------------------------------------------------------------------------


def test_users_with_read_scope_see_the_templates(demo):
    (row,) = listed(client_for("analyst").get(TEMPLATES))
    assert row["code"] == "half-year" and row["built_in"] and "spec" not in row
    detail = client_for("analyst").get(f"{TEMPLATES}half-year/").json()
    assert detail["spec"]["sections"] and "sections:" in detail["source_text"]
    assert listed(client_for().get(TEMPLATES)) == [] and listed(client_for("zhongkeyi").get(TEMPLATES)) == []
    assert client_for().get(f"{TEMPLATES}half-year/").status_code == 404


def test_a_bureau_admin_saves_a_template_from_its_yaml(demo):
    source = services.find_template("half-year").source_text.replace("makes great strides", "keeps innovating")
    url = f"{TEMPLATES}half-year/"
    assert put(client_for(), url, {"source": source}).status_code in (401, 403)
    assert put(client_for("analyst"), url, {"source": source}).status_code == 403
    assert put(client_for("zhongkeyi"), url, {"source": source}).status_code == 403
    saved = put(client_for("bureau"), url, {"source": source})
    assert saved.status_code == 200, saved.content
    assert saved.json()["updated_by"] == "bureau" and "keeps innovating" in saved.json()["source_text"]
    assert BulletinTemplate.objects.get(code="half-year").spec["title"]["en"].startswith("{{ region_short }} keeps")
    new = put(client_for("bureau"), f"{TEMPLATES}half-year-copy/", {"source": source})
    assert new.status_code == 400 and "name_en" in new.json()
    new = put(client_for("bureau"), f"{TEMPLATES}half-year-copy/", {"source": source, "name_en": "Copy",
                                                                   "name_zh": "副本"})
    assert new.status_code == 201 and new.json()["code"] == "half-year-copy" and not new.json()["built_in"]


@pytest.mark.parametrize(("source", "where", "says"), [
    ("title: {en: x, zh: y}\nsections: [\n  - x: : y\n", "line 3", "not valid YAML"),
    ("- a list", "", "YAML mapping"),
    ("title: {en: x, zh: y}\nsections:\n  - paragraphs:\n      - {en: '{{ request.user }}', zh: x}\n",
     "sections[0].paragraphs[0].en", "request"),
    ("title: {en: x, zh: y}\nvalues:\n  x: {indicator: no_such_thing}\nsections:\n  - paragraphs: [{en: x, zh: y}]\n",
     "values.x.indicator", "not an indicator"),
])
def test_a_broken_template_is_a_400_saying_where(demo, source, where, says):
    response = put(client_for("bureau"), f"{TEMPLATES}half-year/", {"source": source})
    assert response.status_code == 400, response.content
    refused = response.json()
    assert refused["where"] == where and says in refused["reason"] and says in refused["source"][0]
    assert "{{ region_short }} makes great strides" in BulletinTemplate.objects.get(code="half-year").spec["title"]["en"]


# --- odd input --------------------------------------------------------------------------------------


def test_no_odd_value_in_any_field_is_a_500(demo):
    client = client_for("bureau")
    valid = {"preview": {"region": "320612", "period": "2023H1", "format": "json"},
             "create": {"template": "half-year", "region": "320612", "period": "2022H2"},
             "template": {"source": "title: {en: x, zh: y}\nsections: []\n"}}
    for value in GARBAGE_VALUES:
        for field in ("template", "spec", "region", "period", "language", "format", "as_of"):
            response = post(client, PREVIEW, {**valid["preview"], field: value})
            assert response.status_code < 500, (field, value)
        for field in ("template", "region", "period"):
            assert post(client, BULLETINS, {**valid["create"], field: value}).status_code < 500, (field, value)
        for field in ("source", "name_en", "name_zh"):
            response = put(client, f"{TEMPLATES}odd/", {**valid["template"], field: value})
            assert response.status_code < 500, (field, value)
        assert post(client, f"{BULLETINS}{published().pk}/publish/", {"note": value}).status_code < 500, value
    for body in ("{", "[]", '"text"', "null", "[" * 100_000 + "]" * 100_000):
        assert client.post(PREVIEW, body, content_type="application/json").status_code == 400, body[:10]
    for params in GARBAGE_PARAMS + [{"region": "\x00"}, {"period": "\x00"}, {"published": "\x00"}]:
        assert client_for().get(BULLETINS, params).status_code < 500, params


def test_a_list_costs_the_same_queries_for_2_bulletins_or_8(demo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for("bureau")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(BULLETINS).status_code == 200
        return len(captured)

    few = queries()
    template = services.find_template("half-year")
    for code in ("2020H1", "2020H2", "2021H1", "2021H2", "2022H1", "2022H2"):
        services.bulletin_for(template, tongzhou(), Period.parse(code))
    assert len(listed(client.get(BULLETINS))) == 8 and queries() == few


# --- the schema ---------------------------------------------------------------------------------------


def test_the_schema_describes_the_bulletin_resources_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/v1/bulletins/:", "/api/v1/bulletins/{id}/:", "/api/v1/bulletins/preview/:",
                 "/api/v1/bulletins/{id}/publish/:", "/api/v1/bulletins/{id}/versions/:",
                 "/api/v1/bulletins/{id}/versions/{number}/:",
                 "/api/v1/bulletins/{id}/versions/{number}/files/{language}.{extension}:",
                 "/api/v1/bulletins/{id}/would-change/:", "/api/v1/bulletin-templates/:",
                 "/api/v1/bulletin-templates/{code}/:"):
        assert f"\n  {path}\n" in schema, path
    assert "application/pdf" in schema and "PaginatedBulletinList" in schema

"""Recording figures, the approval workflow, locks and completeness (services.py), and
the same through the API."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from kechuang.accounts.models import Role
from kechuang.accounts.scoping import visible_to
from kechuang.accounts.services import grant_role
from kechuang.registry import services as registry
from kechuang.statistics import services
from kechuang.statistics.models import DataLock, Metric, Observation
from kechuang.workflows import TransitionError, Workflow

pytestmark = pytest.mark.django_db

ARTICLE_DAY = dt.date(2023, 9, 4)


@pytest.fixture
def place(db, django_user_model):
    """Tongzhou with an above-size firm and a park; Chongchuan with a firm; a bureau
    admin and an analyst of Tongzhou, the firm's own user, and the firm elsewhere's."""
    jiangsu = registry.save_region("320000", level="province", name_zh="江苏省")[0]
    nantong = registry.save_region("320600", level="city", name_zh="南通市", parent=jiangsu)[0]
    tongzhou = registry.save_region("320612", level="district", name_zh="通州区", parent=nantong)[0]
    chongchuan = registry.save_region("320602", level="district", name_zh="崇川区", parent=nantong)[0]
    orgs = {}
    for key, kind, region, above in (("firm", "enterprise", tongzhou, True), ("small", "enterprise", tongzhou, False),
                                     ("park", "park", tongzhou, False), ("other", "enterprise", chongchuan, True)):
        orgs[key] = registry.save_organisation(key, kind=kind, name_zh=f"{key}公司", above_designated_size=above)[0]
        registry.move_organisation(orgs[key], region, since=dt.date(2015, 1, 1))
    users = {}
    for name, role, scope in (("bureau", Role.BUREAU_ADMIN, tongzhou), ("analyst", Role.ANALYST, tongzhou),
                              ("owner", Role.ENTERPRISE_USER, orgs["firm"]),
                              ("rival", Role.ENTERPRISE_USER, orgs["other"])):
        users[name] = django_user_model.objects.create_user(name)
        grant_role(users[name], role, by=None, **({"region": scope} if role in (Role.BUREAU_ADMIN, Role.ANALYST)
                                                  else {"organisation": scope}))
    return {"tongzhou": tongzhou, "chongchuan": chongchuan, **orgs, **users}


def record(place, key="firm", metric="industrial-output", period="2023-01..2023-06", value="1000", **kwargs):
    kwargs.setdefault("today", ARTICLE_DAY)
    return services.record_observation(place[key], metric, period, value, **kwargs)


# --- the catalogue -----------------------------------------------------------------------


def test_the_catalogue_is_loaded_on_migrate_with_its_part_of_links():
    assert Metric.objects.get(code="high-tech-output").part_of.code == "industrial-output"
    assert Metric.objects.get(code="rd-expenditure-domestic").part_of.code == "rd-expenditure"
    assert {"industrial-output", "industrial-value-added", "operating-revenue", "main-business-revenue",
            "rd-expenditure", "employees", "st-personnel", "rd-personnel", "invention-patents", "ip-class-1",
            "ip-class-2", "total-assets", "net-assets", "liabilities", "high-tech-product-revenue",
            "capacity-utilisation", "technology-contract-turnover"} <= set(Metric.objects.values_list("code", flat=True))


def test_loading_the_catalogue_again_changes_nothing_and_keeps_a_bureaus_own_metric():
    Metric.objects.create(code="gazelle-count", name_zh="瞪羚企业数", name_en="gazelles", unit_kind="count",
                          base_unit="items", subject_kinds=["region"])
    before = Metric.objects.count()
    services.load_catalogue()
    assert Metric.objects.count() == before


# --- recording ---------------------------------------------------------------------------


def test_a_figure_in_wan_yuan_is_stored_in_yuan_and_as_entered(place):
    figure = record(place, value="1234.5", unit="万元")
    assert figure.value == Decimal("12345000")
    assert (figure.entered_value, figure.entered_unit) == (Decimal("1234.5"), "万元")
    assert (figure.period, figure.period_start, figure.period_end) == (
        "2023-01..2023-06", dt.date(2023, 1, 1), dt.date(2023, 6, 30))


def test_a_chinese_period_is_stored_as_its_code(place):
    assert record(place, period="2023年1-6月").period == "2023-01..2023-06"
    assert record(place, period="2023年上半年").period == "2023H1"


def test_a_correction_supersedes_and_keeps_the_old_value(place):
    first = record(place, value="1000")
    second = record(place, value="1100")
    first.refresh_from_db()
    assert first.superseded_at is not None and second.superseded_at is None
    assert Observation.objects.current().get(organisation=place["firm"]).value == Decimal("1100")
    assert Observation.objects.filter(organisation=place["firm"]).count() == 2


@pytest.mark.parametrize("change, field, words", [
    ({"value": "-5"}, "value", "cannot be negative"),
    ({"metric": "no-such-metric"}, "metric", "no metric"),
    ({"period": "2023Q5"}, "period", "Q5"),
    ({"period": "2023-01..2023-12"}, "period", "has not ended"),
    ({"unit": "furlongs"}, "unit", "furlongs"),
    ({"metric": "high-tech-output-share"}, "metric", "not for a enterprise"),
    ({"kind": "guess"}, "kind", "guess"),
])
def test_bad_figures_are_refused_naming_the_field(place, change, field, words):
    with pytest.raises(services.StatisticsError) as refused:
        record(place, **change)
    assert refused.value.field == field and words in refused.value.reason
    assert not Observation.objects.exists()


def test_an_estimate_may_be_for_a_period_not_yet_over(place):
    assert record(place, period="2023", kind="estimate").kind == "estimate"


def test_a_part_cannot_exceed_its_whole(place):
    record(place, metric="industrial-output", value="1000")
    record(place, metric="high-tech-output", value="560")
    with pytest.raises(services.StatisticsError, match="exceeds"):
        record(place, metric="high-tech-output", value="1001")
    with pytest.raises(services.StatisticsError, match="exceeds"):
        record(place, metric="industrial-output", value="500")  # now smaller than its stored part


def test_an_enterprise_reports_only_for_itself(place):
    record(place, by=place["owner"], status="submitted")
    with pytest.raises(services.NotAllowed):
        record(place, key="other", by=place["owner"])
    with pytest.raises(services.NotAllowed):
        record(place, by=place["analyst"])


def test_only_the_bureau_records_an_approved_figure(place):
    with pytest.raises(services.NotAllowed):
        record(place, by=place["owner"], status="approved")
    assert record(place, by=place["bureau"], status="approved").status == "approved"


# --- the workflow ------------------------------------------------------------------------


def test_a_figure_goes_from_draft_to_published(place):
    figure = record(place, by=place["owner"])
    services.take(figure, "submit", by=place["owner"])
    services.take(figure, "approve", by=place["bureau"])
    services.take(figure, "publish", by=place["bureau"])
    figure.refresh_from_db()
    assert (figure.status, figure.reviewed_by) == ("published", place["bureau"])


def test_a_wrong_transition_names_the_state_and_what_is_allowed(place):
    figure = record(place)
    with pytest.raises(services.StatisticsError) as refused:
        services.take(figure, "publish")
    assert "cannot publish from 'draft'" in refused.value.reason and "submit" in refused.value.reason


def test_an_enterprise_cannot_approve_its_own_figure(place):
    figure = record(place, by=place["owner"], status="submitted")
    with pytest.raises(services.NotAllowed):
        services.take(figure, "approve", by=place["owner"])


def test_a_returned_figure_carries_the_reason_and_can_be_submitted_again(place):
    figure = record(place, status="submitted")
    with pytest.raises(services.StatisticsError, match="what must be corrected"):
        services.take(figure, "return", by=place["bureau"])
    services.take(figure, "return", by=place["bureau"], comment="R&D looks like 元, not 万元")
    assert (figure.status, figure.comment) == ("returned", "R&D looks like 元, not 万元")
    services.take(figure, "submit", by=place["owner"])
    assert figure.status == "submitted"


def test_the_workflow_table_drives_the_engine():
    assert [t.name for t in services.APPROVAL.allowed_from("submitted")] == ["return", "approve"]
    with pytest.raises(TransitionError, match="no transition"):
        Workflow("x", []).check("fly", "draft")


# --- locks -------------------------------------------------------------------------------


def test_locking_approves_the_period_and_refuses_later_changes(place):
    submitted = record(place, status="submitted")
    draft = record(place, metric="employees", period="2023-01..2023-06", value="120")
    elsewhere = record(place, key="other", status="submitted")
    lock, approved = services.lock_region_period(place["tongzhou"], "2023H1", by=place["bureau"])
    assert approved == 1
    submitted.refresh_from_db(), draft.refresh_from_db(), elsewhere.refresh_from_db()
    assert (submitted.status, draft.status, elsewhere.status) == ("approved", "draft", "submitted")
    with pytest.raises(services.StatisticsError, match="unlock"):
        record(place, value="999")
    assert record(place, key="other", value="5").value == 5  # Chongchuan is not locked


def test_unlocking_needs_a_bureau_admin_and_a_reason(place):
    lock, _ = services.lock_region_period(place["tongzhou"], "2023H1", by=place["bureau"])
    with pytest.raises(services.StatisticsError, match="why"):
        services.unlock(lock, by=place["bureau"], reason="  ")
    with pytest.raises(services.NotAllowed):
        services.unlock(lock, by=place["owner"], reason="I want to")
    services.unlock(lock, by=place["bureau"], reason="the firm restated its output")
    assert DataLock.objects.get().unlock_reason == "the firm restated its output"
    assert record(place, value="999").value == 999


def test_only_the_bureau_of_the_region_locks_it(place):
    with pytest.raises(services.NotAllowed):
        services.lock_region_period(place["chongchuan"], "2023H1", by=place["bureau"])
    with pytest.raises(services.NotAllowed):
        services.lock_region_period(place["tongzhou"], "2023H1", by=place["analyst"])


# --- completeness ------------------------------------------------------------------------


def test_the_bureau_sees_which_above_size_enterprises_have_not_reported(place):
    record(place, metric="industrial-output")
    missing = dict((org.key, codes) for org, codes in services.missing_reports(place["tongzhou"], "2023-01..2023-06"))
    assert set(missing) == {"firm"}  # "small" is below the size threshold, "other" is in Chongchuan
    assert "industrial-output" not in missing["firm"] and "high-tech-output" in missing["firm"]


# --- who sees figures --------------------------------------------------------------------


def test_figures_are_seen_by_their_scope_and_the_public_sees_only_published_region_figures(place):
    record(place, status="submitted")
    record(place, key="other")
    official = services.record_observation(place["tongzhou"], "high-tech-output-share", "2023H1", "56",
                                           status="published", today=ARTICLE_DAY)
    def seen(user):
        return set(visible_to(Observation.objects.all(), user).values_list("organisation__key", "region__code"))
    assert seen(place["owner"]) == {("firm", None), (None, "320612")}
    assert seen(place["analyst"]) == {("firm", None), (None, "320612")}
    assert seen(AnonymousUser()) == {(None, "320612")}
    official.status = "approved"
    official.save()
    assert seen(AnonymousUser()) == set()


# --- the API -----------------------------------------------------------------------------


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_an_enterprise_reports_and_submits_through_the_api(place):
    client = client_for(place["owner"])
    response = post(client, "/api/v1/observations/", {"organisation": "firm", "metric": "industrial-output",
                                                      "period": "2023年1-6月", "value": "1234.5", "unit": "万元"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["value"], created["period"], created["status"]) == ("12345000.0000", "2023-01..2023-06", "draft")
    assert post(client, f"/api/v1/observations/{created['id']}/submit/", {}).json()["status"] == "submitted"
    assert post(client, f"/api/v1/observations/{created['id']}/approve/", {}).status_code == 403
    bureau = client_for(place["bureau"])
    assert post(bureau, f"/api/v1/observations/{created['id']}/approve/", {}).json()["status"] == "approved"


def test_the_api_refuses_another_enterprises_figures(place):
    client = client_for(place["owner"])
    response = post(client, "/api/v1/observations/", {"organisation": "other", "metric": "industrial-output",
                                                      "period": "2023H1", "value": "1"})
    assert response.status_code == 400 and "organisation" in response.json()  # unknown to them
    figure = record(place, key="other")
    assert client.get(f"/api/v1/observations/{figure.pk}/").status_code == 404
    assert client.get("/api/v1/observations/", {"organisation": "other"}).status_code == 400


def test_a_correction_through_the_api_keeps_the_versions(place):
    client = client_for(place["bureau"])
    body = {"organisation": "firm", "metric": "employees", "period": "2023-06", "value": "120"}
    first = post(client, "/api/v1/observations/", body).json()
    second = post(client, "/api/v1/observations/", {**body, "value": "125"}).json()
    versions = client.get(f"/api/v1/observations/{second['id']}/versions/").json()
    assert [v["value"] for v in versions] == ["125.0000", "120.0000"]
    listed = client.get("/api/v1/observations/", {"metric": "employees"}).json()["results"]
    assert [row["id"] for row in listed] == [second["id"]]
    listed = client.get("/api/v1/observations/", {"metric": "employees", "current": "false"}).json()["results"]
    assert {row["id"] for row in listed} == {first["id"], second["id"]}


def test_bad_figures_through_the_api_are_400_naming_the_field(place):
    client = client_for(place["bureau"])
    base = {"organisation": "firm", "metric": "industrial-output", "period": "2023H1", "value": "1"}
    for change, field in (({"period": "2023H3"}, "period"), ({"value": "-1"}, "value"),
                          ({"metric": "nope"}, "metric"), ({"unit": "furlongs"}, "unit"),
                          ({"region": "320612"}, "organisation"), ({"value": "1e400"}, "value"),
                          ({"period": "\x00"}, "non_field_errors")):
        response = post(client, "/api/v1/observations/", {**base, **change})
        assert response.status_code == 400 and field in response.json(), (change, response.content)


def test_locks_and_completeness_through_the_api(place):
    record(place, status="submitted")
    bureau = client_for(place["bureau"])
    response = post(bureau, "/api/v1/locks/", {"region": "320612", "period": "2023H1"})
    assert response.status_code == 201 and response.json()["approved"] == 1
    lock_id = response.json()["id"]
    assert post(bureau, f"/api/v1/locks/{lock_id}/unlock/", {}).status_code == 400
    assert post(bureau, f"/api/v1/locks/{lock_id}/unlock/", {"reason": "restated"}).status_code == 200
    assert post(client_for(place["owner"]), "/api/v1/locks/", {"region": "320612", "period": "2023"}).status_code == 403
    missing = bureau.get("/api/v1/completeness/", {"region": "320612", "period": "2023-01..2023-06"}).json()
    assert [row["organisation"] for row in missing] == ["firm"]
    assert client_for(place["owner"]).get("/api/v1/completeness/", {"region": "320612", "period": "2023"}
                                          ).status_code == 403
    assert bureau.get("/api/v1/completeness/", {"region": "320612", "period": "2023Q9"}).status_code == 400


def test_the_metrics_catalogue_is_public():
    body = Client().get("/api/v1/metrics/", {"q": "高新技术"}).json()
    assert "high-tech-output" in {row["code"] for row in body["results"]}


def test_figures_and_the_completeness_list_download_as_spreadsheets(place):
    import io

    import openpyxl

    record(place, value="1000")
    record(place, key="other", value="2000")
    owner = client_for(place["owner"])
    response = owner.get("/api/v1/observations/export/", {"download": "xlsx", "metric": "industrial-output"})
    assert response.status_code == 200 and response["Content-Disposition"].endswith('figures.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    keys = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert keys == ["firm"]  # the enterprise's own figure only
    csv_text = owner.get("/api/v1/observations/export/", {"download": "csv"}).content.decode("utf-8-sig")
    assert csv_text.splitlines()[1].startswith("firm,")
    bureau = client_for(place["bureau"])
    response = bureau.get("/api/v1/completeness/", {"region": "320612", "period": "2023-01..2023-06",
                                                    "download": "csv"})
    assert "firm" in response.content.decode("utf-8-sig") and "high-tech-output" in response.content.decode("utf-8-sig")
    assert owner.get("/api/v1/observations/export/", {"download": "pdf"}).status_code == 400

"""The programmes through the API: an enterprise applies and submits, the bureau assigns
a reviewer and decides, the reviewer scores only what is assigned; exports."""

import datetime as dt
import io
import json

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kechuang.programs import delivery, services
from kechuang.programs.models import Project

from .conftest import CATEGORIES, CRITERIA, draft, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def open_call(place):
    now = timezone.now()
    return services.open_call(place["tongzhou"], key="open-now", programme_zh="通州区科技创新项目（开放中）",
                              categories=CATEGORIES, criteria=CRITERIA, opens=now - dt.timedelta(days=1),
                              closes=now + dt.timedelta(days=30))


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def apply(place, open_call, **fields):
    body = {"key": "sensor", "applicant": "firm", "call": "open-now", "category": CATEGORIES[0],
            "title_zh": "智能传感器研发", "requested_funding": "500000", "own_funding": "1500000",
            "partners": [{"organisation": "university", "role": "university_partner"}], **fields}
    return post(client_for(place["owner"]), "/api/v1/projects/", body)


def test_an_application_goes_from_draft_to_approval_through_the_api(place, open_call):
    response = apply(place, open_call)
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "draft"
    assert {"organisation": "university", "role": "university_partner"} in response.json()["parties"]
    owner, bureau, professor, expert = (client_for(place[n]) for n in ("owner", "bureau", "professor", "expert"))
    assert post(owner, "/api/v1/projects/sensor/submit/").json()["state"] == "submitted"
    assert post(owner, "/api/v1/projects/sensor/start_review/").status_code == 403  # the bureau's step
    assert post(bureau, "/api/v1/projects/sensor/start_review/").json()["state"] == "under_review"
    # The professor works at the partner university: a conflict of interest.
    conflict = post(bureau, "/api/v1/reviews/", {"project": "sensor", "reviewer": "professor"})
    assert conflict.status_code == 400, conflict.content
    assigned = post(bureau, "/api/v1/reviews/", {"project": "sensor", "reviewer": "expert"})
    assert assigned.status_code == 201, assigned.content
    review = assigned.json()["id"]
    assert professor.get(f"/api/v1/reviews/{review}/").status_code == 404  # not theirs
    scores = {"创新性": 35, "可行性": 25, "效益": 20}
    assert post(professor, f"/api/v1/reviews/{review}/submit/", {"scores": scores}).status_code == 404
    submitted = post(expert, f"/api/v1/reviews/{review}/submit/", {"scores": scores, "comment": "可行"})
    assert submitted.status_code == 200 and submitted.json()["total"] == "80.00"
    ranking = bureau.get("/api/v1/calls/open-now/ranking/").json()
    assert ranking[0]["project"] == "sensor" and ranking[0]["mean_total"] == "80.00"
    approved = post(bureau, "/api/v1/projects/sensor/approve/", {"comment": "立项"})
    assert approved.json()["state"] == "approved" and approved.json()["approved_at"]
    steps = owner.get("/api/v1/projects/sensor/transitions/").json()
    assert [s["name"] for s in steps] == ["submit", "start_review", "approve"]
    assert [s["by"] for s in steps] == ["owner", "bureau", "bureau"]


def test_a_wrong_transition_names_the_state_and_the_allowed_ones(place, open_call):
    apply(place, open_call)
    response = post(client_for(place["bureau"]), "/api/v1/projects/sensor/approve/")
    assert response.status_code == 400
    assert "cannot approve from 'draft'" in response.json()["state"][0]


def test_applications_are_confidential_to_their_scope(place, open_call):
    apply(place, open_call)
    assert client_for(place["rival_owner"]).get("/api/v1/projects/sensor/").status_code == 404
    assert client_for(place["other_bureau"]).get("/api/v1/projects/").json()["results"] == []
    assert Client().get("/api/v1/projects/").status_code in (200, 401, 403)
    assert Client().get("/api/v1/projects/sensor/").status_code in (401, 403, 404)
    assert client_for(place["analyst"]).get("/api/v1/projects/sensor/").status_code == 200
    assert client_for(place["expert"]).get("/api/v1/projects/sensor/").status_code == 404  # not assigned


def test_an_enterprise_cannot_apply_for_another(place, open_call):
    response = apply(place, open_call, applicant="rival")
    assert response.status_code == 400 and "applicant" in response.json()  # unknown to them
    assert not Project.objects.exists()


@pytest.mark.parametrize("change, field", [
    ({"category": "不存在的类别"}, "category"),
    ({"requested_funding": "-1"}, "requested_funding"),
    ({"partners": [{"organisation": "nowhere", "role": "lead"}]}, "partners"),
    ({"kind": "collaboration", "partners": []}, "partners"),
    ({"title_zh": "\x00"}, "non_field_errors"),
])
def test_bad_applications_are_400_naming_the_field(place, open_call, change, field):
    response = apply(place, open_call, **change)
    assert response.status_code == 400 and field in response.json(), response.content


def test_the_project_list_exports_with_its_filters_and_chinese_headers(place, open_call):
    apply(place, open_call)
    apply(place, open_call, key="second", title_zh="第二个项目")
    post(client_for(place["owner"]), "/api/v1/projects/sensor/submit/")
    bureau = client_for(place["bureau"])
    response = bureau.get("/api/v1/projects/export/", {"state": "submitted"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("项目编号", "项目名称") and [row[0] for row in rows[1:]] == ["sensor"]
    english = bureau.get("/api/v1/projects/export/", HTTP_ACCEPT_LANGUAGE="en")
    header = next(openpyxl.load_workbook(io.BytesIO(english.content)).active.iter_rows(values_only=True))
    assert header[:2] == ("key", "title")


# --- after approval: tranches, reports, outcomes ---------------------------------------------


@pytest.fixture
def approved_project(place):
    """The firm's project, approved on 2023-02-03, running from 2023-03-01 to 2024-12-31."""
    project = draft(place, key="pump", requested_funding="500000", planned_start=dt.date(2023, 3, 1),
                    planned_end=dt.date(2024, 12, 31))
    return walk(project, "submit", "start_review", "approve", "start")


def test_the_bureau_plans_and_pays_the_funding_through_the_api(place, approved_project):
    bureau, owner = client_for(place["bureau"]), client_for(place["owner"])
    plan = {"tranches": [{"amount": "300000", "date": "2023-03-01", "note": "首笔"},
                         {"amount": "150000.50", "date": "2023-09-01"}], "approved_funding": "450000.50"}
    assert post(owner, "/api/v1/projects/pump/tranches/", plan).status_code == 403
    planned = post(bureau, "/api/v1/projects/pump/tranches/", plan)
    assert planned.status_code == 201, planned.content
    assert [(t["seq"], t["planned_amount"], t["paid"]) for t in planned.json()] == [
        (1, "300000.00", False), (2, "150000.50", False)]
    over = post(bureau, "/api/v1/projects/pump/tranches/", {"tranches": [{"amount": "450000.51", "date": "2023-03-01"}]})
    assert over.status_code == 400 and "more than the approved funding of 450000.50" in over.json()["tranches"][0]
    assert post(owner, "/api/v1/projects/pump/tranches/1/pay/", {"amount": "300000", "date": "2023-03-05"}
                ).status_code == 403
    too_much = post(bureau, "/api/v1/projects/pump/tranches/1/pay/", {"amount": "300000.01", "date": "2023-03-05"})
    assert too_much.status_code == 400 and "planned 300000.00" in too_much.json()["amount"][0]
    paid = post(bureau, "/api/v1/projects/pump/tranches/1/pay/", {"amount": "300000", "date": "2023-03-05"})
    assert paid.status_code == 200 and (paid.json()["paid_amount"], paid.json()["paid_date"]) == (
        "300000.00", "2023-03-05")
    assert post(bureau, "/api/v1/projects/pump/tranches/1/pay/", {"amount": "1", "date": "2023-03-06"}
                ).json()["paid_date"][0].startswith("tranche 1 was paid on 2023-03-05")
    assert post(bureau, "/api/v1/projects/pump/tranches/9/pay/", {"amount": "1", "date": "2023-03-06"}
                ).status_code == 404
    assert [t["paid"] for t in owner.get("/api/v1/projects/pump/tranches/").json()] == [True, False]
    summary = owner.get("/api/v1/projects/pump/").json()["delivery"]
    assert {k: summary[k] for k in ("funding_approved", "funding_planned", "funding_paid", "tranches_paid")} == {
        "funding_approved": "450000.50", "funding_planned": "450000.50", "funding_paid": "300000.00",
        "tranches_paid": 1}


@pytest.mark.parametrize("body, field", [
    ({}, "tranches"),
    ({"tranches": []}, "tranches"),
    ({"tranches": [{"amount": "1.001", "date": "2023-03-01"}]}, "tranches"),
    ({"tranches": [{"amount": "100", "date": "2023-02-30"}]}, "tranches"),
    ({"tranches": [{"amount": "100", "date": "2023-03-01"}], "approved_funding": "-1"}, "approved_funding"),
    ({"tranches": [{"amount": "100", "date": "2023-03-01", "note": "\x00"}]}, "non_field_errors"),
])
def test_bad_plans_are_400_naming_the_field(place, approved_project, body, field):
    response = post(client_for(place["bureau"]), "/api/v1/projects/pump/tranches/", body)
    assert response.status_code == 400 and field in response.json(), response.content


def test_reports_are_scheduled_submitted_returned_and_accepted_through_the_api(place, approved_project):
    bureau, owner = client_for(place["bureau"]), client_for(place["owner"])
    assert post(owner, "/api/v1/projects/pump/reports/", {"every_months": 6}).status_code == 403
    assert "planned_end" not in post(bureau, "/api/v1/projects/pump/reports/", {}).json()
    scheduled = post(bureau, "/api/v1/projects/pump/reports/", {"every_months": 6})
    assert scheduled.status_code == 201, scheduled.content
    assert [(r["due"], r["status"], r["overdue"]) for r in scheduled.json()] == [
        ("2023-08-31", "due", True), ("2024-02-29", "due", True), ("2024-08-31", "due", True)]
    first = scheduled.json()[0]["id"]
    assert post(owner, f"/api/v1/projects/pump/reports/{first}/submit/", {"text": " "}).json()["text"]
    submitted = post(owner, f"/api/v1/projects/pump/reports/{first}/submit/", {"text": "完成样机"})
    assert submitted.status_code == 200 and (submitted.json()["status"], submitted.json()["submitted_by"]) == (
        "submitted", "owner")
    assert post(owner, f"/api/v1/projects/pump/reports/{first}/accept/").status_code == 403
    assert "comment" in post(bureau, f"/api/v1/projects/pump/reports/{first}/return/").json()
    returned = post(bureau, f"/api/v1/projects/pump/reports/{first}/return/", {"comment": "补充经费使用"})
    assert (returned.json()["status"], returned.json()["overdue"]) == ("returned", True)
    post(owner, f"/api/v1/projects/pump/reports/{first}/submit/", {"text": "修改稿"})
    accepted = post(bureau, f"/api/v1/projects/pump/reports/{first}/accept/", {"comment": "同意"})
    assert (accepted.json()["status"], accepted.json()["reviewed_by"]) == ("accepted", "bureau")
    wrong = post(bureau, f"/api/v1/projects/pump/reports/{first}/accept/")
    assert wrong.status_code == 400 and "only a submitted report" in wrong.json()["status"][0]
    listed = owner.get("/api/v1/projects/pump/reports/").json()
    assert [r["status"] for r in listed] == ["accepted", "due", "due"]
    summary = owner.get("/api/v1/projects/pump/").json()["delivery"]
    assert (summary["reports"], summary["reports_outstanding"], summary["reports_overdue"]) == (3, 2, 2)
    by_dates = post(bureau, "/api/v1/projects/pump/reports/", {"dates": ["2024-06-30"]})
    assert [r["due"] for r in by_dates.json()] == ["2023-08-31", "2024-06-30"]
    assert client_for(place["rival_owner"]).get("/api/v1/projects/pump/reports/").status_code == 404
    assert post(owner, "/api/v1/projects/pump/reports/99999/submit/", {"text": "x"}).status_code == 404


def test_outcomes_are_recorded_and_listed_through_the_api(place, approved_project):
    owner = client_for(place["owner"])
    patent = post(owner, "/api/v1/projects/pump/outcomes/", {"kind": "patent_filed", "title": "一种密封结构",
                                                             "date": "2023-05-06", "identifier": "CN2023100000011"})
    assert patent.status_code == 201, patent.content
    assert (patent.json()["recorded_by"], patent.json()["amount"]) == ("owner", None)
    no_amount = post(owner, "/api/v1/projects/pump/outcomes/", {"kind": "revenue", "title": "销售",
                                                                "date": "2023-06-01"})
    assert no_amount.status_code == 400 and "with its amount" in no_amount.json()["amount"][0]
    revenue = post(owner, "/api/v1/projects/pump/outcomes/", {"kind": "revenue", "title": "销售",
                                                              "date": "2023-06-01", "amount": "88000.80"})
    assert revenue.json()["amount"] == "88000.80"
    assert post(owner, "/api/v1/projects/pump/outcomes/", {"kind": "paper", "title": "x", "date": "2023-06-01"}
                ).status_code == 400
    assert post(client_for(place["analyst"]), "/api/v1/projects/pump/outcomes/",
                {"kind": "product", "title": "x", "date": "2023-06-01"}).status_code == 403
    assert [o["kind"] for o in client_for(place["analyst"]).get("/api/v1/projects/pump/outcomes/").json()] == [
        "patent_filed", "revenue"]
    assert owner.get("/api/v1/projects/pump/").json()["delivery"]["outcomes"]["revenue"] == 1


def test_a_draft_takes_no_delivery_rows_through_the_api(place, open_call):
    apply(place, open_call)
    bureau = client_for(place["bureau"])
    response = post(bureau, "/api/v1/projects/sensor/tranches/", {"tranches": [{"amount": "1", "date": "2023-03-01"}]})
    assert response.status_code == 400 and "this one is draft" in response.json()["state"][0]
    assert post(client_for(place["owner"]), "/api/v1/projects/sensor/outcomes/",
                {"kind": "product", "title": "x", "date": "2023-06-01"}).status_code == 400


def test_the_project_list_reads_its_delivery_rows_in_a_constant_number_of_queries(place, approved_project):
    bureau = client_for(place["bureau"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert bureau.get("/api/v1/projects/").status_code == 200
        return len(captured)

    delivery.plan_tranches(approved_project, [("1000", dt.date(2023, 3, 1))])
    one = queries()
    for n in range(5):
        project = walk(draft(place, requested_funding="1000"), "submit", "start_review", "approve", "start")
        delivery.plan_tranches(project, [("1000", dt.date(2023, 3, 1))])
        delivery.schedule_reports(project, dates=[dt.date(2023, 6, 30)])
        delivery.record_outcome(project, kind="product", title=f"P{n}", date=dt.date(2023, 3, 1))
    assert queries() == one

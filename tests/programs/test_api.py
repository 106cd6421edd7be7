"""The programmes through the API: an enterprise applies and submits, the bureau assigns
a reviewer and decides, the reviewer scores only what is assigned; exports."""

import datetime as dt
import io
import json

import openpyxl
import pytest
from django.test import Client
from django.utils import timezone

from kechuang.programs import services
from kechuang.programs.models import Project

from .conftest import CATEGORIES, CRITERIA

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

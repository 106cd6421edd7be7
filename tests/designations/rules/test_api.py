"""Screening over REST: the rule sets (public), the pool (the bureau's and analysts'), one enterprise
(whoever may see it), spreadsheets, errors, and a schema drf-spectacular validates."""

import io

import openpyxl
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from .conftest import HNTE_GOOD, report


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pool_world(world):
    report(world["alpha"], HNTE_GOOD)
    report(world["beta"], {**HNTE_GOOD, "rd-expenditure": 3_800_000, "rd-expenditure-domestic": 3_000_000})
    report(world["rival"], HNTE_GOOD)
    return world


POOL = {"ruleset": "hnte", "region": "320612", "date": "2026-04-01"}


# --- rule sets ---------------------------------------------------------------------------------


def test_anyone_reads_the_rule_sets_and_which_are_in_force(db, client):
    response = client.get(reverse("screening-ruleset-list"), {"date": "2026-04-01"})
    assert response.status_code == 200
    found = {r["code"]: r for r in response.json()}
    assert found["LITTLE-GIANT-2026"]["in_force"] and not found["LITTLE-GIANT-2022"]["in_force"]
    assert found["HNTE-2016"]["unverified_parameters"] == ["conversion_years", "growth_item_points", "growth_bands"]


def test_a_rule_set_gives_its_criteria_thresholds_brackets_sources_and_unverified_flags(db, client):
    response = client.get(reverse("screening-ruleset-detail", args=["HNTE-2016"]))
    assert response.status_code == 200
    body = response.json()
    rd = next(c for c in body["criteria"] if c["code"] == "rd-intensity")
    assert rd["citation"]["title"].startswith("《高新技术企业认定管理办法》") and rd["citation"]["clause"] == "art. 11(5)"
    assert [(row["to"], row["to_inclusive"], row["threshold"]) for row in rd["bracket"]["rows"]] == [
        ("50000000", True, "5"), ("200000000", True, "4"), (None, True, "3")]
    assert rd["bracket"]["rows"][0]["text_zh"] == "5000万元及以下"
    score = next(c for c in body["criteria"] if c["code"] == "innovation-score")
    assert not score["verified"] and score["score"]["operator"] == "above"
    growth = next(p for p in body["parameters"] if p["name"] == "growth_bands")
    assert growth["verified"] is False and growth["value"][0]["from"] == "35%"
    assert client.get(reverse("screening-ruleset-detail", args=["NOPE-1"])).status_code == 404


# --- the pool ----------------------------------------------------------------------------------


def test_the_bureau_gets_its_pool_ranked_and_paginated(pool_world):
    response = client_of(pool_world["bureau"]).get(reverse("screening-list"), {**POOL, "page_size": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["ruleset"]["code"] == "HNTE-2016" and body["year"] == 2025 and body["count"] == 3
    assert [row["organisation"]["key"] for row in body["results"]] == ["alpha", "beta"]
    assert [row["rank"] for row in body["results"]] == [1, 2] and body["next"]
    beta = body["results"][1]
    assert beta["closeness"]["unmet"] == 1
    rd = next(c for c in beta["criteria"] if c["code"] == "rd-intensity")
    assert rd["status"] == "fail" and "percentage points short" in rd["text_en"] and "差" in rd["text_zh"]
    second = client_of(pool_world["bureau"]).get(body["next"]).json()
    assert [row["rank"] for row in second["results"]] == [3]


def test_an_analyst_of_the_city_screens_a_district_inside_it(pool_world):
    response = client_of(pool_world["analyst"]).get(reverse("screening-list"), POOL)
    assert response.status_code == 200 and response.json()["count"] == 3


@pytest.mark.parametrize("user", ["chongchuan_bureau", "owner"])
def test_others_may_not_see_a_districts_pool(pool_world, user):
    response = client_of(pool_world[user]).get(reverse("screening-list"), POOL)
    assert response.status_code == 403
    assert "cultivation pool" in response.json()["detail"]


def test_anonymous_is_asked_to_sign_in(pool_world, client):
    assert client.get(reverse("screening-list"), POOL).status_code == 401
    assert client.get(reverse("screening-detail", args=["alpha"]), {"ruleset": "hnte"}).status_code == 401


def test_the_pool_downloads_as_a_spreadsheet(pool_world):
    response = client_of(pool_world["bureau"]).get(reverse("screening-list"), {**POOL, "download": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="pool-HNTE-2016-320612-2026-04-01.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.values)
    assert rows[0][:4] == ("排名 rank", "企业 key", "企业名称 name", "结论 verdict")
    assert [row[1] for row in rows[1:]] == ["alpha", "beta", "gamma"]
    assert "rd-intensity 说明" in rows[0]


@pytest.mark.parametrize(("params", "field"), [
    ({"region": "320612"}, "ruleset"),
    ({"ruleset": "hnte"}, "region"),
    ({**POOL, "date": "2026-13-01"}, "date"),
    ({**POOL, "date": "yesterday"}, "date"),
    ({**POOL, "ruleset": "gazelle"}, "ruleset"),
    ({**POOL, "ruleset": "LITTLE-GIANT-2022"}, "ruleset"),
    ({**POOL, "date": "2015-01-01"}, "date"),
    ({**POOL, "region": "999999"}, "region"),
])
def test_bad_requests_are_answered_400_naming_the_field(pool_world, params, field):
    response = client_of(pool_world["bureau"]).get(reverse("screening-list"), params)
    assert response.status_code == 400
    assert field in response.json()


# --- one enterprise ----------------------------------------------------------------------------


def test_an_enterprise_user_screens_their_own_enterprise(pool_world):
    owner = client_of(pool_world["owner"])
    response = owner.get(reverse("screening-detail", args=["alpha"]), {"ruleset": "hnte", "date": "2026-04-01"})
    assert response.status_code == 200
    body = response.json()
    assert body["organisation"]["key"] == "alpha" and body["ruleset"] == "HNTE-2016"
    rd = next(c for c in body["criteria"] if c["code"] == "rd-intensity")
    assert {f["metric"] for f in rd["figures"]} == {"rd-expenditure", "operating-revenue"}
    score = next(c for c in body["criteria"] if c["code"] == "innovation-score")
    assert score["status"] == "awaiting" and len(score["score"]["items"]) == 12
    assert owner.get(reverse("screening-detail", args=["beta"]), {"ruleset": "hnte"}).status_code == 404


def test_the_bureau_screens_an_enterprise_of_its_district_only(pool_world):
    bureau = client_of(pool_world["bureau"])
    assert bureau.get(reverse("screening-detail", args=["beta"]), {"ruleset": "hnte"}).status_code == 200
    assert bureau.get(reverse("screening-detail", args=["rival"]), {"ruleset": "hnte"}).status_code == 404
    assert bureau.get(reverse("screening-detail", args=["park"]), {"ruleset": "hnte"}).status_code == 400


def test_the_date_picks_the_rules(pool_world):
    bureau = client_of(pool_world["bureau"])
    before = bureau.get(reverse("screening-detail", args=["alpha"]), {"ruleset": "little-giant", "date": "2026-03-31"})
    after = bureau.get(reverse("screening-detail", args=["alpha"]), {"ruleset": "little-giant", "date": "2026-04-01"})
    assert (before.json()["ruleset"], after.json()["ruleset"]) == ("LITTLE-GIANT-2022", "LITTLE-GIANT-2026")


# --- the schema --------------------------------------------------------------------------------


def test_the_schema_with_the_screening_urls_validates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    schema = (tmp_path / "schema.yaml").read_text()
    for path in ("/api/v1/screening/:", "/api/v1/screening/{key}/:", "/api/v1/screening/rulesets/:",
                 "/api/v1/screening/rulesets/{code}/:"):
        assert path in schema

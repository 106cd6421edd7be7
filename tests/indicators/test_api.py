"""The indicators over REST: values, tables, contributors, downloads, and refusals."""

import datetime as dt
import io

import openpyxl
import pytest
from rest_framework.test import APIClient

from kechuang.indicators.services import record_rate
from kechuang.programs import services as programs
from kechuang.registry.services import save_source
from kechuang.statistics.models import ObservationStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def figures(world, figure):
    for key, output, high_tech in (("parked", 100, 50), ("zoned", 200, 100), ("plain", 300, 150)):
        figure(world[key], "industrial-output", "2023H1", output)
        figure(world[key], "high-tech-output", "2023H1", high_tech)
    figure(world["rival"], "industrial-output", "2023H1", 1000)
    figure(world["tongzhou"], "high-tech-output-share", "2023H1", 56, status=ObservationStatus.PUBLISHED)
    return world


def client_of(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_values_of_an_indicator_for_a_region_and_period(figures):
    query = {"region": "320612", "period": "2023H1"}
    answer = client_of(figures["bureau"]).get("/api/v1/indicators/high_tech_share/values/", query)
    assert answer.status_code == 200
    (row,) = answer.json()["values"]
    assert (row["value"], row["basis"], row["official"], row["computed"]) == ("56.0", "official", "56.0", "50.0")
    assert row["differs"] and row["text_zh"] == "56.0%"
    assert answer.json()["indicators"][0]["formula"] == "share(high_tech_output_above_size, industrial_output_above_size)"
    # The public reads the official figure only: Tongzhou's output is hidden as the complement of
    # Chongchuan's one enterprise (Nantong's total minus Tongzhou's would give it), asked alone or not.
    (row,) = client_of().get("/api/v1/indicators/high_tech_share/values/", query).json()["values"]
    assert (row["value"], row["basis"], row["computed"], row["differs"]) == ("56.0", "official", None, False)


def test_a_table_of_indicators_for_every_child_of_a_region(figures):
    answer = client_of(figures["analyst"]).get("/api/v1/indicators/table/", {
        "codes": "industrial_output,enterprises", "region": "320600", "by": "children", "period": "2023H1"})
    assert answer.status_code == 200
    values = {(v["indicator"], v["area"]["key"]): v["value"] for v in answer.json()["values"]}
    assert values[("industrial_output", "320602")] == "1000.00"
    assert values[("industrial_output", "320600")] == "1600.00"
    assert values[("enterprises", "320612")] == "5"


def test_the_public_sees_a_one_enterprise_aggregate_as_suppressed(figures):
    answer = client_of().get("/api/v1/indicators/industrial_output/values/", {"region": "320602", "period": "2023H1"})
    (row,) = answer.json()["values"]
    assert (row["value"], row["suppressed"], row["text_zh"]) == (None, True, "—")
    assert row["note"].startswith("suppressed: fewer than 3")
    answer = client_of(figures["analyst"]).get("/api/v1/indicators/industrial_output/values/",
                                               {"region": "320602", "period": "2023H1"})
    assert answer.json()["values"][0]["value"] == "1000.00"
    answer = client_of(figures["analyst"]).get("/api/v1/indicators/industrial_output/values/",
                                               {"region": "320602", "period": "2023H1", "disclosure": "public"})
    assert answer.json()["values"][0]["value"] is None


def test_money_converted_at_a_named_rate(figures):
    save_source("article", title="the article")
    record_rate("USD", dt.date(2023, 9, 4), "7.26", "article")
    answer = client_of(figures["analyst"]).get("/api/v1/indicators/industrial_output/values/", {
        "region": "320602", "period": "2023H1", "currency": "USD", "rate_date": "2023-09-04"})
    converted = answer.json()["values"][0]["converted"]
    assert converted == {"currency": "USD", "value": "137.74", "rate": "7.260000", "rate_date": "2023-09-04",
                         "rate_source": "article"}


def test_contributors_list_the_records_the_caller_may_see(figures):
    params = {"region": "320612", "period": "2023H1"}
    answer = client_of(figures["bureau"]).get("/api/v1/indicators/industrial_output/contributors/", params)
    (part,) = answer.json()["measures"]
    assert (part["count"], part["listed"], part["not_visible"]) == (3, 3, 0)
    assert {record["organisation"] for record in part["records"]} == {"parked", "zoned", "plain"}
    answer = client_of(figures["owner"]).get("/api/v1/indicators/industrial_output/contributors/", params)
    (part,) = answer.json()["measures"]
    assert (part["count"], part["listed"], part["not_visible"]) == (3, 1, 2)  # only its own figure
    answer = client_of().get("/api/v1/indicators/industrial_output/contributors/", params)
    assert answer.json()["measures"][0]["records"] == []


def test_contributors_of_a_count_are_the_projects(figures):
    project = programs.create_project(figures["plain"], title_zh="项目", category="普通科创项目")
    for step, day in (("submit", 1), ("start_review", 2), ("approve", 3)):
        programs.take(project, step, at=dt.datetime(2023, 3, day, 10, tzinfo=programs.SHANGHAI))
    answer = client_of(figures["bureau"]).get("/api/v1/indicators/approval_rate/contributors/",
                                              {"region": "320612", "period": "2023H1"})
    parts = {part["measure"]: part for part in answer.json()["measures"]}
    assert parts["projects_approved"]["records"][0]["key"] == project.key
    assert parts["applications_submitted"]["count"] == 1


def test_a_download_opens_in_excel(figures):
    answer = client_of(figures["analyst"]).get("/api/v1/indicators/table/", {
        "codes": "industrial_output", "region": "320600", "by": "children", "period": "2023H1", "download": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("indicator", "region", "name", "period", "value")
    assert len(rows) == 4


@pytest.mark.parametrize(("params", "field"), [
    ({"period": "2023H1"}, "region"),
    ({"region": "999999", "period": "2023H1"}, "region"),
    ({"region": "320612"}, "period"),
    ({"region": "320612", "period": "2023H3"}, "period"),
    ({"region": "320612", "period_from": "2023H1", "period_to": "2021H1"}, "period"),
    ({"region": "320612", "period_from": "2023H1", "period_to": "2023Q3"}, "period"),
    ({"region": "320612", "period": "2023H1", "as_of": "yesterday"}, "as_of"),
    ({"region": "320612", "period": "2023H1", "currency": "USD"}, "rate_date"),
    ({"within": "plain", "period": "2023H1"}, "within"),
])
def test_a_bad_request_is_a_400_naming_the_field(figures, params, field):
    answer = client_of().get("/api/v1/indicators/industrial_output/values/", params)
    assert answer.status_code == 400
    assert field in answer.json()


def test_an_unknown_indicator_is_a_404_and_a_table_names_the_bad_code(figures):
    assert client_of().get("/api/v1/indicators/nothing/values/", {"region": "320612", "period": "2023H1"}).status_code == 404
    answer = client_of().get("/api/v1/indicators/table/", {"codes": "enterprises,nothing", "region": "320612",
                                                           "period": "2023H1"})
    assert answer.status_code == 400 and "nothing" in answer.json()["codes"][0]


def test_the_catalogue_lists_every_shipped_indicator(world):
    answer = client_of().get("/api/v1/indicators/", {"page_size": 100})
    codes = {row["code"] for row in answer.json()["results"]}
    assert {"high_tech_share", "projects_approved", "collaborations_introduced", "industrial_output",
            "technology_contract_turnover", "rd_intensity", "value_added_share"} <= codes


def test_corrections_since_a_publication_are_listed_with_their_values_then_and_now(figures, figure):
    from django.utils import timezone

    published = timezone.now()
    figure(figures["plain"], "industrial-output", "2023H1", 360)  # corrected after publication
    params = {"region": "320612", "period": "2023H1", "since": published.isoformat()}
    answer = client_of(figures["bureau"]).get("/api/v1/indicators/high_tech_share/corrections/", params)
    assert answer.status_code == 200
    (row,) = answer.json()["corrections"]
    assert (row["organisation"], row["metric"], row["before"], row["now"]) == ("plain", "industrial-output",
                                                                             "300.0000", "360.0000")
    answer = client_of().get("/api/v1/indicators/high_tech_share/corrections/", params)
    assert (answer.json()["corrections"], answer.json()["not_visible"]) == ([], 1)
    assert client_of().get("/api/v1/indicators/high_tech_share/corrections/",
                           {"region": "320612", "period": "2023H1"}).status_code == 400

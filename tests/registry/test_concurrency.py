"""Lost-update prevention: an update that names the version it read is refused once the row changed."""

import datetime as dt

import pytest

from kechuang.registry.models import Milestone, Organisation
from kechuang.registry.services import save_milestone, save_organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm():
    org, _ = save_organisation("firm", kind="enterprise", name_en="Firm Co")
    return org


def patch(client, url, body, etag=None):
    headers = {"HTTP_IF_MATCH": etag} if etag else {}
    return client.patch(url, body, content_type="application/json", **headers)


def test_a_read_carries_an_etag_that_changes_with_the_row(operator_client, firm):
    url = "/api/v1/organisations/firm/"
    first = operator_client.get(url)["ETag"]
    assert first == operator_client.get(url)["ETag"]
    response = patch(operator_client, url, {"description_en": "new"}, first)
    assert response.status_code == 200
    assert response["ETag"] != first
    assert response["ETag"] == operator_client.get(url)["ETag"]


def test_a_stale_update_gets_412_and_changes_nothing(operator_client, firm):
    url = "/api/v1/organisations/firm/"
    etag = operator_client.get(url)["ETag"]
    assert patch(operator_client, url, {"description_en": "first writer"}, etag).status_code == 200
    response = patch(operator_client, url, {"description_en": "second writer"}, etag)
    assert response.status_code == 412
    assert "changed since you read it" in response.json()["detail"]
    assert Organisation.objects.get(key="firm").description_en == "first writer"
    assert response.json()["current_etag"] == operator_client.get(url)["ETag"]


def test_a_stale_put_on_a_child_row_gets_412(operator_client, firm):
    milestone, _ = save_milestone(organisation=firm, date=dt.date(2022, 11, 1), kind="trial_production")
    url = f"/api/v1/milestones/{milestone.pk}/"
    read = operator_client.get(url)
    etag, body = read["ETag"], read.json()
    assert patch(operator_client, url, {"text_en": "first"}, etag).status_code == 200
    body["text_en"] = "second"
    response = operator_client.put(url, body, content_type="application/json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert Milestone.objects.get(pk=milestone.pk).text_en == "first"


def test_if_match_star_and_no_header_are_unconditional(operator_client, firm):
    url = "/api/v1/organisations/firm/"
    assert patch(operator_client, url, {"description_en": "a"}, "*").status_code == 200
    assert patch(operator_client, url, {"description_en": "b"}).status_code == 200


def test_an_unknown_row_is_404_before_any_version_check(operator_client):
    assert patch(operator_client, "/api/v1/organisations/nobody/", {"description_en": "x"}, '"abc"').status_code == 404

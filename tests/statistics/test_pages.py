"""The web pages: an enterprise reports a figure with the form; the bureau reviews it."""

from decimal import Decimal

import pytest
from django.test import Client

from kechuang.statistics.models import Observation

from .test_services import place  # noqa: F401  (the same small district)

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def report(client, **fields):
    data = {"subject": "firm", "metric": "industrial-output", "period": "2023年1-6月", "value": "1,234.5",
            "unit": "万元", "kind": "actual", "submit": "1", **fields}
    return client.post("/statistics/report/", data)


def test_an_enterprise_reports_a_figure_with_the_form(place):  # noqa: F811
    client = client_for(place["owner"])
    page = client.get("/statistics/report/").content.decode()
    assert 'value="firm"' in page and 'value="other"' not in page  # only its own enterprise is offered
    response = report(client)
    assert response.status_code == 302
    figure = Observation.objects.get()
    assert (figure.value, figure.period, figure.status, figure.entered_by) == (
        Decimal("12345000"), "2023-01..2023-06", "submitted", place["owner"])
    assert "2023-01..2023-06" in client.get("/statistics/report/").content.decode()


def test_a_value_written_with_its_unit_and_full_width_digits_is_read(place):  # noqa: F811
    assert report(client_for(place["owner"]), value="１３５亿元", unit="").status_code == 302
    assert Observation.objects.get().value == Decimal("13500000000")


@pytest.mark.parametrize("fields, words", [
    ({"period": "2023年13月"}, "13"),
    ({"value": "1.2.3"}, "1.2.3"),
    ({"subject": "other"}, "Select a valid choice"),
    ({"value": "-5", "unit": ""}, "cannot be negative"),
])
def test_a_bad_report_is_answered_on_the_form_and_writes_nothing(place, fields, words):  # noqa: F811
    client = client_for(place["owner"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = report(client, **fields)
    assert response.status_code == 200 and words in response.content.decode()
    assert not Observation.objects.exists()


def test_the_bureau_approves_and_returns_from_its_queue(place):  # noqa: F811
    report(client_for(place["owner"]))
    report(client_for(place["owner"]), metric="employees", value="120", unit="")
    bureau = client_for(place["bureau"])
    queue = bureau.get("/statistics/review/").content.decode()
    assert queue.count('name="transition" value="approve"') == 2
    output, employees = Observation.objects.order_by("metric__code")[1], Observation.objects.order_by("metric__code")[0]
    bureau.post(f"/statistics/figures/{output.pk}/decide/", {"transition": "approve"})
    response = bureau.post(f"/statistics/figures/{employees.pk}/decide/", {"transition": "return"}, follow=True)
    assert "say what must be corrected" in response.content.decode()
    bureau.post(f"/statistics/figures/{employees.pk}/decide/", {"transition": "return", "comment": "人数有误"})
    output.refresh_from_db(), employees.refresh_from_db()
    assert (output.status, employees.status, employees.comment) == ("approved", "returned", "人数有误")


def test_the_queue_is_the_bureaus(place):  # noqa: F811
    report(client_for(place["owner"]))
    figure = Observation.objects.get()
    owner = client_for(place["owner"])
    assert owner.get("/statistics/review/").status_code == 403
    assert owner.post(f"/statistics/figures/{figure.pk}/decide/", {"transition": "approve"}).status_code == 403
    assert client_for(place["rival"]).post(f"/statistics/figures/{figure.pk}/decide/",
                                           {"transition": "approve"}).status_code == 404
    assert Client().get("/statistics/report/").status_code == 302  # to the sign-in page

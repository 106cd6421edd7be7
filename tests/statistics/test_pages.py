"""The statistics' web pages through Django's test client: the report form of an
enterprise (and of the bureau for an enterprise of its district), the bureau's approval
queue, the locks and the completeness list. What each shows, to whom, the errors a form
answers with, the query counts, the exports and both languages. The uploads' pages are in
test_pages_upload.py."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.test import Client

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.registry import services as registry
from kechuang.statistics import services
from kechuang.statistics.models import DataLock, Observation

from .test_services import place, record  # noqa: F401  (the same small district)

pytestmark = pytest.mark.django_db

REPORT = "/statistics/report/"
QUEUE = "/statistics/review/"
LOCKS = "/statistics/locks/"


def client_for(user, language: str | None = "en") -> Client:
    """A signed-in client reading the pages in English (None: the default language, Chinese)."""
    client = Client(**({"HTTP_ACCEPT_LANGUAGE": language} if language else {}))
    client.force_login(user)
    return client


def report(client, subject="firm", period="2023H1", kind="actual", button="submit", **values):
    """Post the report form: values by metric code, a unit as unit_<code>."""
    data = {button: "1"}
    for name, value in values.items():
        code = name.replace("_", "-")
        if code.startswith("unit-"):
            data[f"unit_{code[5:]}"] = value
        else:
            data[f"value_{code}"] = value
    return client.post(f"{REPORT}?subject={subject}&period={period}&kind={kind}", data)


def submitted(place, key="firm", metric="industrial-output", period="2023H1", value="1000"):  # noqa: F811
    return record(place, key=key, metric=metric, period=period, value=value, status="submitted",
                  today=dt.date(2025, 1, 1))


# --- the report form --------------------------------------------------------------------


def test_the_form_offers_the_metrics_of_the_subjects_kind_with_their_units(place):  # noqa: F811
    page = client_for(place["owner"]).get(f"{REPORT}?period=2023H1").content.decode()
    assert "<h1>Report figures<small>firm公司 · 2023 H1</small></h1>" in page
    assert 'name="value_industrial-output"' in page and 'name="unit_industrial-output"' in page
    assert 'name="value_total-assets"' in page  # an enterprise's metric
    assert 'name="value_high-tech-output-share"' not in page  # a region's own figure
    assert '<option value="万元" selected>' in page and "persons" in page
    bureau = client_for(place["bureau"]).get(f"{REPORT}?subject=park&period=2023H1").content.decode()
    assert 'name="value_industrial-output"' in bureau and 'name="value_total-assets"' not in bureau  # a park's


def test_an_enterprise_submits_its_figures_in_their_units(place):  # noqa: F811
    client = client_for(place["owner"])
    response = report(client, industrial_output="1,234.5", unit_industrial_output="万元", employees="１２０")
    assert response.status_code == 302 and response.url == f"{REPORT}?subject=firm&period=2023H1&kind=actual"
    figures = {f.metric.code: f for f in Observation.objects.select_related("metric")}
    assert (figures["industrial-output"].value, figures["industrial-output"].entered_unit) == (Decimal("12345000"),
                                                                                             "万元")
    assert figures["employees"].value == 120
    assert {f.status for f in figures.values()} == {"submitted"}
    assert {f.entered_by for f in figures.values()} == {place["owner"]}
    page = client.get(response.url).content.decode()
    assert "2 figures submitted to the bureau." in page and 'value="1234.5"' in page


def test_a_draft_is_kept_and_submitted_later_unchanged(place):  # noqa: F811
    client = client_for(place["owner"])
    assert report(client, button="draft", employees="120").status_code == 302
    figure = Observation.objects.get()
    assert figure.status == "draft"
    report(client, employees="120")  # the same value: submitted as it is, not recorded again
    assert Observation.objects.count() == 1
    figure.refresh_from_db()
    assert figure.status == "submitted"


def test_a_value_with_its_unit_in_the_text_is_read(place):  # noqa: F811
    report(client_for(place["owner"]), industrial_output="１３５亿元", unit_industrial_output="亿元")
    assert Observation.objects.get().value == Decimal("13500000000")


@pytest.mark.parametrize("values, field, words", [
    ({"employees": "abc"}, "Employees", "“abc” is not a number"),
    ({"employees": "-5"}, "Employees", "Employees cannot be negative."),
    ({"industrial_output": "135亿元", "unit_industrial_output": "万元"}, "Total industrial output value",
     "The value says 亿元 but the unit chosen is 万元."),
    ({"industrial_output": "100", "high_tech_output": "200"}, "High-tech industry output value",
     "High-tech industry output value cannot exceed Total industrial output value"),
])
def test_a_bad_figure_is_named_with_its_reason_and_nothing_is_saved(place, values, field, words):  # noqa: F811
    response = report(client_for(place["owner"]), total_assets="500", **values)  # one good figure beside it
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved" in page and words in page
    assert f'">{field}</a>: ' in page  # the summary names the field and links to it
    assert 'aria-invalid="true"' in page
    assert not Observation.objects.exists()


def test_the_form_answers_in_chinese_by_default(place):  # noqa: F811
    page = report(client_for(place["owner"], language=None), employees="abc").content.decode()
    assert "<h1>数据填报" in page and '">从业人员</a>: ' in page  # the field named in Chinese
    assert "“abc”不是数字" in page and "未保存任何数据" in page


def test_a_figure_changed_meanwhile_is_a_conflict_not_overwritten(place):  # noqa: F811
    first = submitted(place, metric="employees", value="100")
    client = client_for(place["owner"])
    page = client.get(f"{REPORT}?period=2023H1").content.decode()
    assert f'name="seen_employees" value="{first.pk}"' in page
    submitted(place, metric="employees", value="110")  # someone else corrects it meanwhile
    response = client.post(f"{REPORT}?subject=firm&period=2023H1", {
        "value_employees": "120", "seen_employees": str(first.pk), "submit": "1"})
    assert "Someone changed this figure after you opened the form: it is now 110" in response.content.decode()
    assert Observation.objects.current().get(metric__code="employees").value == 110


def test_approved_and_locked_figures_are_shown_read_only_with_why(place):  # noqa: F811
    figure = submitted(place, metric="employees", value="100")
    services.take(figure, "approve", by=place["bureau"])
    client = client_for(place["owner"])
    page = client.get(f"{REPORT}?period=2023H1").content.decode()
    assert 'name="value_employees" value="100"' in page and "disabled" in page.split('name="value_employees"')[1][:200]
    assert "Approved by the bureau" in page and "ask the bureau to return it" in page
    report(client, employees="999")  # a disabled field: what the browser sends is ignored
    assert Observation.objects.get().value == 100
    services.lock_region_period(place["tongzhou"], "2023H1", by=place["bureau"])
    page = client.get(f"{REPORT}?period=2023H1").content.decode()
    assert "Locked: the bureau approved and locked the figures of 通州区 for 2023 H1" in page
    assert 'name="submit"' not in page  # nothing to save


def test_an_actual_figure_waits_for_the_end_of_its_period(place):  # noqa: F811
    year = dt.date.today().year + 1
    page = client_for(place["owner"]).get(f"{REPORT}?period={year}H1").content.decode()
    assert "has not ended yet" in page and 'name="submit"' not in page
    page = client_for(place["owner"]).get(f"{REPORT}?period={year}H1&kind=estimate").content.decode()
    assert 'name="submit"' in page


def test_the_form_runs_as_many_queries_for_ten_figures_as_for_one(place, django_assert_max_num_queries):  # noqa: F811
    client = client_for(place["owner"])
    submitted(place, metric="employees", value="10")
    with django_assert_max_num_queries(16) as one:
        assert client.get(f"{REPORT}?period=2023H1").content.decode().count('class="status submitted"') == 1
    for metric in ("industrial-output", "high-tech-output", "operating-revenue", "rd-expenditure", "total-assets",
                   "net-assets", "liabilities", "st-personnel", "rd-personnel"):
        submitted(place, metric=metric, value="5")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(f"{REPORT}?period=2023H1").content.decode().count('class="status submitted"') == 10


def test_a_bad_period_or_kind_in_the_url_is_a_message(place):  # noqa: F811
    response = client_for(place["owner"]).get(f"{REPORT}?period=2023H7&kind=guess")
    page = response.content.decode()
    assert response.status_code == 200
    assert "“2023H7” is not a period" in page and "“guess” is not a kind of figure" in page


def test_the_bureau_reports_for_an_enterprise_of_its_district_only(place):  # noqa: F811
    bureau = client_for(place["bureau"])
    page = bureau.get(f"{REPORT}?period=2023H1").content.decode()
    assert '<option value="firm">' in page and 'value="other"' not in page
    assert report(bureau, employees="7").status_code == 302
    assert Observation.objects.get().entered_by == place["bureau"]
    assert bureau.get(f"{REPORT}?subject=other").status_code == 404


def test_the_form_is_for_those_who_report(place):  # noqa: F811
    assert client_for(place["analyst"]).get(REPORT).status_code == 403
    assert client_for(place["rival"]).get(f"{REPORT}?subject=firm").status_code == 404
    assert Client().get(REPORT).status_code == 302  # to the sign-in page


# --- the approval queue -----------------------------------------------------------------


def test_the_queue_shows_the_submitted_figures_of_the_district(place):  # noqa: F811
    submitted(place, value="1000")
    submitted(place, key="other", value="5000")  # Chongchuan: another bureau's
    record(place, metric="employees", value="10")  # a draft: not submitted yet
    page = client_for(place["bureau"]).get(QUEUE).content.decode()
    assert "<caption>1 figure</caption>" in page and "firm公司" in page and "other公司" not in page
    assert page.count('name="transition" value="approve"') == 2  # its row, and the ticked rows' button


@pytest.mark.parametrize("query, shown", [
    ("metric=employees", {"employees"}),
    ("period=2023H1", {"industrial-output", "employees", "capacity-utilisation"}),
    ("period=2022", {"rd-expenditure"}),
    ("q=firm", {"industrial-output", "employees", "rd-expenditure"}),
    ("q=nobody", set()),
    ("region=320612", {"industrial-output", "employees", "rd-expenditure", "capacity-utilisation"}),
    ("park=park", {"capacity-utilisation"}),
    ("status=approved", {"total-assets"}),
    ("status=all", {"industrial-output", "employees", "rd-expenditure", "capacity-utilisation", "total-assets"}),
])
def test_the_queues_filters_are_in_the_url(place, query, shown):  # noqa: F811
    submitted(place)
    submitted(place, metric="employees", value="10")
    submitted(place, metric="rd-expenditure", period="2022", value="10")
    submitted(place, key="park", metric="capacity-utilisation", value="80")
    services.take(submitted(place, metric="total-assets", value="10"), "approve", by=place["bureau"])
    response = client_for(place["bureau"]).get(f"{QUEUE}?{query}&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert {row[3] for row in sheet.iter_rows(min_row=2, values_only=True)} == shown


def test_a_bad_filter_is_reported_and_left_out(place):  # noqa: F811
    submitted(place)
    response = client_for(place["bureau"]).get(f"{QUEUE}?period=2023H9&metric=nonsense")
    page = response.content.decode()
    assert response.status_code == 200 and "These filters were left out" in page
    assert "“2023H9” is not a period" in page and "<caption>1 figure</caption>" in page


def test_the_queue_sorts_and_exports(place):  # noqa: F811
    for metric, value in (("industrial-output", "300"), ("employees", "20"), ("rd-expenditure", "100")):
        submitted(place, metric=metric, value=value)
    bureau = client_for(place["bureau"])
    page = bureau.get(f"{QUEUE}?sort=-value").content.decode()
    assert page.index("300") < page.index("100 yuan") < page.index("20 persons")
    assert 'aria-sort="descending"' in page
    response = bureau.get(f"{QUEUE}?sort=value&format=csv")
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Key or region code,Enterprise or region") and len(lines) == 4
    assert [line.split(",")[3] for line in lines[1:]] == ["employees", "rd-expenditure", "industrial-output"]


def test_the_queue_answers_htmx_with_its_list_only(place):  # noqa: F811
    submitted(place)
    response = client_for(place["bureau"]).get(f"{QUEUE}?metric=industrial-output", HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "<html" not in page and '<table class="queue">' in page and "HX-Request" in response["Vary"]


def test_the_bureau_approves_and_returns_one_figure(place):  # noqa: F811
    output, employees = submitted(place), submitted(place, metric="employees", value="10")
    bureau = client_for(place["bureau"])
    back = f"{QUEUE}?metric=employees"
    response = bureau.post(f"/statistics/figures/{output.pk}/decide/", {"transition": "approve", "next": back})
    assert response.status_code == 302 and response.url == back
    response = bureau.post(f"/statistics/figures/{employees.pk}/decide/", {"transition": "return"}, follow=True)
    assert "Say what must be corrected." in response.content.decode()
    bureau.post(f"/statistics/figures/{employees.pk}/decide/", {"transition": "return", "comment": "人数有误"})
    output.refresh_from_db(), employees.refresh_from_db()
    assert (output.status, employees.status, employees.comment) == ("approved", "returned", "人数有误")
    page = client_for(place["owner"]).get(f"{REPORT}?period=2023H1").content.decode()
    assert "The bureau says: 人数有误" in page  # the enterprise reads why


def test_the_bureau_decides_on_the_ticked_figures(place):  # noqa: F811
    figures = [submitted(place, metric=m, value="10") for m in ("industrial-output", "employees", "total-assets")]
    bureau = client_for(place["bureau"])
    response = bureau.post("/statistics/review/decide/", {"transition": "return", "figures": [figures[0].pk]},
                           follow=True)
    assert "Say what must be corrected." in response.content.decode()
    response = bureau.post("/statistics/review/decide/", {
        "transition": "approve", "figures": [figures[0].pk, figures[1].pk]}, follow=True)
    assert "2 figures approved." in response.content.decode()
    bureau.post("/statistics/review/decide/", {"transition": "return", "comment": "请核实",
                                               "figures": [figures[2].pk]})
    assert [Observation.objects.get(pk=f.pk).status for f in figures] == ["approved", "approved", "returned"]
    response = bureau.post("/statistics/review/decide/", {"transition": "approve"}, follow=True)
    assert "Tick the figures to decide on first." in response.content.decode()


def test_a_decision_in_a_locked_period_is_refused_with_a_message(place):  # noqa: F811
    year = submitted(place, metric="employees", period="2023", value="10")  # overlaps the lock, not within it
    half = submitted(place, value="1000")
    services.lock_region_period(place["tongzhou"], "2023H1", by=place["bureau"])
    half.refresh_from_db()
    assert half.status == "approved"  # the lock approved it
    bureau = client_for(place["bureau"])
    page = bureau.get(f"{QUEUE}?status=all").content.decode()
    assert page.count('class="tag locked"') == 2
    response = bureau.post(f"/statistics/figures/{half.pk}/decide/", {"transition": "return", "comment": "改"},
                           follow=True)
    assert "Locked: the bureau approved and locked the figures of 通州区 for 2023 H1" in response.content.decode()
    response = bureau.post("/statistics/review/decide/", {"transition": "return", "comment": "改",
                                                          "figures": [year.pk]}, follow=True)
    assert "Locked: the bureau approved and locked" in response.content.decode()
    assert Observation.objects.filter(status="returned").count() == 0


def test_the_queue_is_the_bureaus(place):  # noqa: F811
    figure = submitted(place)
    owner = client_for(place["owner"])
    assert owner.get(QUEUE).status_code == 403
    assert client_for(place["analyst"]).get(QUEUE).status_code == 403
    assert owner.post(f"/statistics/figures/{figure.pk}/decide/", {"transition": "approve"}).status_code == 403
    decide_many = {"transition": "approve", "figures": [figure.pk]}
    assert owner.post("/statistics/review/decide/", decide_many).status_code == 403
    assert client_for(place["rival"]).post(f"/statistics/figures/{figure.pk}/decide/",
                                           {"transition": "approve"}).status_code == 404
    assert Client().get(QUEUE).status_code == 302
    figure.refresh_from_db()
    assert figure.status == "submitted"


def test_the_queue_runs_as_many_queries_for_ten_rows_as_for_one(place, django_assert_max_num_queries):  # noqa: F811
    bureau = client_for(place["bureau"])
    submitted(place)
    services.lock_region_period(place["tongzhou"], "2022", by=place["bureau"])
    with django_assert_max_num_queries(16) as one:
        assert "<caption>1 figure</caption>" in bureau.get(QUEUE).content.decode()
    for number in range(9):
        organisation = registry.save_organisation(f"firm{number}", kind="enterprise", name_zh=f"企业{number}")[0]
        registry.move_organisation(organisation, place["tongzhou"], since=dt.date(2015, 1, 1))
        submitted(place | {f"firm{number}": organisation}, key=f"firm{number}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert "<caption>10 figures</caption>" in bureau.get(QUEUE).content.decode()


# --- locks and completeness -------------------------------------------------------------


def test_the_locks_page_shows_who_has_not_reported_and_locks(place):  # noqa: F811
    submitted(place, value="1000")
    bureau = client_for(place["bureau"])
    page = bureau.get(f"{LOCKS}?region=320612&period=2023H1").content.decode()
    assert "submitted figures the lock approves" in page and "firm公司" in page
    assert "High-tech industry output value" in page or "high-tech industry output value" in page
    assert "small公司" not in page  # below designated size: not on the completeness list
    response = bureau.post(LOCKS, {"region": "320612", "period": "2023H1"}, follow=True)
    assert "通州区 2023 H1 is locked; 1 submitted figure was approved." in response.content.decode()
    lock = DataLock.objects.get()
    assert (lock.period, lock.locked_by, Observation.objects.get().status) == ("2023H1", place["bureau"], "approved")
    response = bureau.post(LOCKS, {"region": "320612", "period": "2023H1"}, follow=True)
    assert "already locked" in response.content.decode()
    assert "Locked on" in bureau.get(f"{LOCKS}?region=320612&period=2023H1").content.decode()


def test_an_unlock_needs_a_reason(place):  # noqa: F811
    lock, _approved = services.lock_region_period(place["tongzhou"], "2023H1", by=place["bureau"])
    bureau = client_for(place["bureau"])
    response = bureau.post(f"/statistics/locks/{lock.pk}/unlock/", {"reason": "  "}, follow=True)
    assert "Say why the figures must change." in response.content.decode()
    lock.refresh_from_db()
    assert lock.unlocked_at is None
    response = bureau.post(f"/statistics/locks/{lock.pk}/unlock/", {"reason": "企业更正产值"}, follow=True)
    assert "is unlocked: its figures may be corrected" in response.content.decode()
    lock.refresh_from_db()
    assert (lock.unlock_reason, lock.unlocked_by) == ("企业更正产值", place["bureau"])
    assert "企业更正产值" in bureau.get(f"{LOCKS}?state=lifted").content.decode()


def test_locks_are_the_bureaus_of_the_region(place, django_user_model):  # noqa: F811
    other_bureau = django_user_model.objects.create_user("chongchuan")
    grant_role(other_bureau, Role.BUREAU_ADMIN, by=None, region=place["chongchuan"])
    lock, _approved = services.lock_region_period(place["tongzhou"], "2023H1", by=place["bureau"])
    assert client_for(place["owner"]).get(LOCKS).status_code == 403
    assert client_for(place["analyst"]).get(LOCKS).status_code == 403
    other = client_for(other_bureau)
    assert "通州区" not in other.get(LOCKS).content.decode().split("<h2>Locks</h2>")[1]
    assert other.post(f"/statistics/locks/{lock.pk}/unlock/", {"reason": "x"}).status_code == 404
    assert other.post(LOCKS, {"region": "320612", "period": "2023H2"}).status_code == 404
    assert not DataLock.objects.filter(period="2023H2").exists()


def test_the_locks_list_exports_and_stays_within_its_queries(place, django_assert_max_num_queries):  # noqa: F811
    bureau = client_for(place["bureau"])
    services.lock_region_period(place["tongzhou"], "2013", by=place["bureau"])
    with django_assert_max_num_queries(14) as one:
        assert "<caption>1 lock</caption>" in bureau.get(LOCKS).content.decode()
    for year in range(2014, 2023):
        services.lock_region_period(place["tongzhou"], str(year), by=place["bureau"])
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert "<caption>10 locks</caption>" in bureau.get(LOCKS).content.decode()
    sheet = openpyxl.load_workbook(io.BytesIO(bureau.get(f"{LOCKS}?sort=period&format=xlsx").content)).active
    assert [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] == [str(y) for y in range(2013, 2023)]


def test_the_completeness_list_pages_sorts_and_exports(place, django_assert_max_num_queries):  # noqa: F811
    bureau = client_for(place["bureau"])
    url = "/statistics/completeness/?region=320612&period=2023H1"
    with django_assert_max_num_queries(12) as one:
        page = bureau.get(url).content.decode()
    assert "1 enterprise above designated size has not reported" in page and "firm公司" in page
    for number in range(9):
        organisation = registry.save_organisation(f"big{number}", kind="enterprise", name_zh=f"规上{number}",
                                                  above_designated_size=True)[0]
        registry.move_organisation(organisation, place["tongzhou"], since=dt.date(2015, 1, 1))
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert "10 enterprises above designated size" in bureau.get(url).content.decode()
    sheet = openpyxl.load_workbook(io.BytesIO(bureau.get(f"{url}&sort=-key&format=xlsx").content)).active
    keys = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert keys[0] == "firm" and keys[-1] == "big0" and len(keys) == 10
    assert bureau.get("/statistics/completeness/?region=320602&period=2023H1").status_code == 404
    assert client_for(place["owner"]).get(url).status_code == 403


# --- both languages ---------------------------------------------------------------------


@pytest.mark.parametrize("url, english, chinese", [
    (f"{REPORT}?period=2023H1", "<h1>Report figures", "<h1>数据填报"),
    (QUEUE, "<h1>Approval queue", "<h1>数据审核"),
    (LOCKS, "<h1>Locks", "<h1>数据锁定"),
    ("/statistics/completeness/", "<h1>Who has not reported", "<h1>未报企业"),
])
def test_each_page_speaks_both_languages(place, url, english, chinese):  # noqa: F811
    user = place["owner"] if url.startswith(REPORT) else place["bureau"]
    assert english in client_for(user).get(url).content.decode()
    page = client_for(user, language=None).get(url).content.decode()
    assert chinese in page and english not in page

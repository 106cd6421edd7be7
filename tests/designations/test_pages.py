"""The designations' web pages through Django's test client: the registry and one grant, the
expiry list and the import review queue — what each shows, to whom, its filters in the URL
(a bad one named on the page, never a server error), sorting, pages, the htmx part, the
export, both languages, and a number of queries that does not grow with the rows."""

import datetime as dt
import io
import re

import openpyxl
import pytest

from kechuang.designations import importer, services
from kechuang.designations.models import CandidateStatus, Designation, ImportCandidate

from .conftest import TODAY, code, grant

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def rows_of(html: str) -> list[str]:
    """The table body's rows, as text without tags."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    if not body:
        return []
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)]


@pytest.fixture
def grants(place):
    """firm: a little giant (2023-06-28) and an HNTE (2021-12-01, running out 2024-11-30);
    maker: a specialised SME in publicity; rival (Chongchuan): a little giant (2022-07-15)."""
    from kechuang.registry import services as registry

    registry.save_source("miit-5", title="工业和信息化部第五批专精特新“小巨人”企业名单",
                         url="https://www.miit.gov.cn/notice-5")
    found = {
        "giant": grant(place, "firm", "little-giant", batch="5", certificate_number="DEMO-LG-1", source="miit-5"),
        "hnte": grant(place, "firm", "hnte", granted_on=dt.date(2021, 12, 1), certificate_number="GR202132000001"),
        "listed": grant(place, "maker", "srdi-sme", stage="publicity", publicised_on=dt.date(2023, 9, 1)),
        "rival": grant(place, "rival", "little-giant", granted_on=dt.date(2022, 7, 15), batch="4"),
    }
    return {**place, **found}


# --- the registry --------------------------------------------------------------------------------


def test_the_registry_lists_the_public_record_to_anyone(client, grants):
    answer = client.get("/designations/", **EN)
    assert answer.status_code == 200
    rows = rows_of(answer.content.decode())
    assert len(rows) == 3  # the publicity listing goes with its enterprise, not to the public
    assert not any("江苏海纳新材料股份有限公司" in row for row in rows)
    html = answer.content.decode()
    assert f'href="/designations/{grants["giant"].pk}/"' in html
    # The public may not open the organisation pages: the names are not links.
    assert 'href="/organisations/firm/"' not in html


def test_the_bureau_sees_its_enterprises_publicity_listings_and_their_pages(client, grants):
    client.force_login(grants["bureau"])
    html = client.get("/designations/", **EN).content.decode()
    assert len(rows_of(html)) == 4
    assert 'href="/organisations/firm/"' in html and 'href="/organisations/maker/"' in html
    assert "in publicity since 2023-09-01" in html
    # Chongchuan's little giant is public record, but its enterprise is not the bureau's to open.
    assert 'href="/organisations/rival/"' not in html


def test_the_registry_filters_by_type_level_year_stage_and_region(client, grants):
    client.force_login(grants["bureau"])

    def shown(**query):
        return rows_of(client.get("/designations/", query, **EN).content.decode())

    assert len(shown(type="little-giant")) == 2
    assert all("little giant" in row for row in shown(type="little-giant"))
    assert len(shown(type="hnte")) == 1
    assert len(shown(level="provincial")) == 1
    assert len(shown(year="2022")) == 1 and "南通瑞丰智能装备有限公司" in shown(year="2022")[0]
    assert len(shown(stage="publicity")) == 1
    assert len(shown(region="320602")) == 1
    assert len(shown(region="320612")) == 3
    assert len(shown(valid_on="2024-12-01")) == 2  # the HNTE ran out on 2024-11-30; nothing in publicity
    assert len(shown(type="little-giant", region="320612")) == 1


def test_the_registry_searches_by_name_and_by_uscc(client, grants):
    assert len(rows_of(client.get("/designations/", {"q": "星河精密"}, **EN).content.decode())) == 2
    assert len(rows_of(client.get("/designations/", {"q": code(3, "320602")}, **EN).content.decode())) == 1
    assert len(rows_of(client.get("/designations/", {"q": "no such firm"}, **EN).content.decode())) == 0


def test_bad_filters_are_named_on_the_page_and_left_out(client, grants):
    answer = client.get("/designations/", {"type": "unicorn", "year": "twenty", "valid_on": "2023-13-01",
                                           "region": "999999", "stage": "sleeping", "page": "x", "sort": "nope"}, **EN)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'role="alert"' in html
    for label in ("Designation:", "Year granted:", "In force on:", "Region code:", "Stage:"):
        assert label in html
    assert "No region has the code 999999" in html
    assert len(rows_of(html)) == 3  # every bad filter left out: the whole public list


def test_an_empty_registry_says_what_to_do_next(client, place):
    html = client.get("/designations/", **EN).content.decode()
    assert "No designation is recorded yet." in html
    html = client.get("/designations/", {"type": "hnte"}, **EN).content.decode()
    assert "No designation matches these filters." in html and 'href="/designations/"' in html


def test_the_registry_sorts_and_pages(client, grants):
    def granted(sort):
        html = client.get("/designations/", {"sort": sort}, **EN).content.decode()
        return re.findall(r"<td>(\d{4}-\d{2}-\d{2})</td>", html)[0::2]  # granted, then valid through

    assert granted("granted") == sorted(granted("granted"))
    assert granted("-granted") == sorted(granted("granted"), reverse=True)
    html = client.get("/designations/", {"sort": "granted"}, **EN).content.decode()
    assert 'aria-sort="ascending"' in html
    for number in range(60):
        services.grant(_enterprise(grants, number), "tech-sme", granted_on=dt.date(2023, 3, 1), today=TODAY)
    html = client.get("/designations/", {"type": "tech-sme"}, **EN).content.decode()
    assert len(rows_of(html)) == 50 and "Page 1 of 2" in html and 'rel="next"' in html
    assert "type=tech-sme" in re.search(r'<a href="([^"]+)" rel="next"', html).group(1)
    assert len(rows_of(client.get("/designations/", {"type": "tech-sme", "page": "2"}, **EN).content.decode())) == 10


def _enterprise(place, number: int):
    from kechuang.registry import services as registry

    organisation = registry.save_organisation(f"tech-{number}", kind="enterprise", name_zh=f"科技企业{number}号",
                                              uscc=code(100 + number))[0]
    registry.move_organisation(organisation, place["tongzhou"], since=dt.date(2010, 1, 1))
    return organisation


def test_the_registry_answers_htmx_with_its_list_only(client, grants):
    answer = client.get("/designations/", {"type": "hnte"}, HTTP_HX_REQUEST="true", **EN)
    html = answer.content.decode()
    assert "<html" not in html and len(rows_of(html)) == 1
    assert "HX-Request" in answer["Vary"]
    full = client.get("/designations/", {"type": "hnte"}, **EN).content.decode()
    assert "<html" in full and 'hx-get="/designations/"' in full and 'hx-push-url="true"' in full


def test_the_registry_exports_what_it_shows(client, grants):
    answer = client.get("/designations/", {"type": "little-giant", "format": "xlsx"}, **EN)
    assert answer.status_code == 200 and answer["Content-Disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    values = list(sheet.values)
    assert values[0][0] == "Organisation" and len(values) == 3
    assert {row[0] for row in values[1:]} == {"南通星河精密仪器有限公司", "南通瑞丰智能装备有限公司"}
    csv = client.get("/designations/", {"type": "hnte", "format": "csv"})
    assert csv.content.startswith(b"\xef\xbb\xbf") and "GR202132000001" in csv.content.decode("utf-8-sig")
    html = client.get("/designations/", {"type": "hnte"}).content.decode()
    assert "?type=hnte&amp;format=xlsx" in html


def test_the_registry_speaks_both_languages(client, grants):
    chinese = client.get("/designations/").content.decode()
    assert "资质认定" in chinese and "专精特新" in chinese
    english = client.get("/designations/", **EN).content.decode()
    assert "Designations" in english and "Valid through" in english
    assert "“little giant”" in english


@pytest.mark.parametrize("count", [1, 10])
def test_the_registry_runs_the_same_queries_for_one_row_or_ten(client, place, count,
                                                                 django_assert_max_num_queries):
    for number in range(count):
        services.grant(_enterprise(place, number), "tech-sme", granted_on=dt.date(2023, 3, 1), today=TODAY)
    client.force_login(place["bureau"])
    with django_assert_max_num_queries(6):
        answer = client.get("/designations/")
    assert len(rows_of(answer.content.decode())) == count


# --- one grant ------------------------------------------------------------------------------------


def test_a_grant_shows_its_stages_validity_re_reviews_and_source(client, grants):
    services.re_review(grants["giant"], on=dt.date(2026, 5, 10), passed=True, today=TODAY)
    answer = client.get(f"/designations/{grants['giant'].pk}/", **EN)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'class="timeline"' in html and "granted" in html and "2023-06-28" in html
    assert "2029-06-27" in html  # valid through, after the re-review's three years
    assert "passed" in html and "2026-05-10" in html and "2026-06-27" in html
    assert "miit.gov.cn/notice-5" in html and "DEMO-LG-1" in html


def test_a_publicity_listing_is_the_enterprises_and_the_bureaus_only(client, grants):
    url = f"/designations/{grants['listed'].pk}/"
    assert client.get(url).status_code == 404
    client.force_login(grants["other_bureau"])
    assert client.get(url).status_code == 404
    client.force_login(grants["bureau"])
    html = client.get(url, **EN).content.decode()
    assert "not yet: in publicity" in html and 'href="/organisations/maker/"' in html
    assert client.get("/designations/999999/").status_code == 404


@pytest.mark.parametrize("count", [1, 6])
def test_a_grant_page_runs_the_same_queries_however_many_steps(client, place, count,
                                                               django_assert_max_num_queries):
    first = grant(place, "firm", "hnte", granted_on=dt.date(2015, 1, 10))
    day = dt.date(2015, 1, 10)
    for _ in range(count - 1):
        day = day.replace(year=day.year + 1)
        grant(place, "firm", "hnte", granted_on=day)
    client.force_login(place["bureau"])
    with django_assert_max_num_queries(7):
        answer = client.get(f"/designations/{first.pk}/")
    assert answer.status_code == 200


# --- the expiry list ------------------------------------------------------------------------------


def test_the_expiry_list_is_the_bureaus_and_the_analysts(client, grants):
    url = "/designations/expiring/"
    answer = client.get(url)
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    for name in ("owner", "zone_manager"):
        client.force_login(grants[name])
        assert client.get(url).status_code == 403
    for name in ("bureau", "analyst"):
        client.force_login(grants[name])
        assert client.get(url).status_code == 200


def test_the_expiry_list_shows_what_runs_out_within_the_days_with_the_re_review(client, grants):
    client.force_login(grants["bureau"])
    html = client.get("/designations/expiring/", {"within": "90", "on": "2024-10-01"}, **EN).content.decode()
    rows = rows_of(html)
    assert len(rows) == 1 and "high and new technology" in rows[0]
    assert "60" in rows[0]  # 2024-10-01 to its last valid day 2024-11-30
    assert "no re-review: the enterprise applies again" in rows[0]
    # Chongchuan's grant is not Tongzhou's work, whatever the span.
    html = client.get("/designations/expiring/", {"within": "3660", "on": "2024-10-01"}, **EN).content.decode()
    assert not any("瑞丰" in row for row in rows_of(html))
    assert len(rows_of(html)) == 2 and "not re-reviewed yet" in html


def test_the_expiry_list_shows_what_ran_out_lately(client, grants):
    client.force_login(grants["bureau"])
    html = client.get("/designations/expiring/", {"state": "expired", "within": "30", "on": "2024-12-10"},
                      **EN).content.decode()
    rows = rows_of(html)
    assert len(rows) == 1 and "2024-11-30" in rows[0] and " 10 " in f" {rows[0]} "


def test_the_expiry_list_has_an_empty_state_and_names_bad_filters(client, grants):
    client.force_login(grants["bureau"])
    html = client.get("/designations/expiring/", {"within": "5", "on": "2024-01-01"}, **EN).content.decode()
    assert "No designation of the enterprises you look after runs out within 5 days." in html
    assert "?within=365" in html
    answer = client.get("/designations/expiring/", {"within": "-3", "on": "someday", "type": "x"}, **EN)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Days:" in html and "As of:" in html and "Designation:" in html and 'role="alert"' in html


def test_the_expiry_list_exports_and_sorts(client, grants):
    client.force_login(grants["analyst"])
    query = {"within": "3660", "on": "2024-10-01"}
    answer = client.get("/designations/expiring/", {**query, "format": "xlsx"}, **EN)
    values = list(openpyxl.load_workbook(io.BytesIO(answer.content)).active.values)
    assert values[0][:3] == ("Organisation", "USCC", "Designation") and len(values) == 3
    assert values[1][7] == 60  # the days left, as a number
    ascending = re.findall(r"<td>(\d{4}-\d{2}-\d{2})</td>\s*<td class=",
                           client.get("/designations/expiring/", {**query, "sort": "valid"}).content.decode())
    descending = re.findall(r"<td>(\d{4}-\d{2}-\d{2})</td>\s*<td class=",
                            client.get("/designations/expiring/", {**query, "sort": "-valid"}).content.decode())
    assert ascending == ["2024-11-30", "2026-06-27"] and descending == ascending[::-1]


def test_the_expiry_list_speaks_chinese_by_default(client, grants):
    client.force_login(grants["bureau"])
    html = client.get("/designations/expiring/", {"within": "90", "on": "2024-10-01"}).content.decode()
    assert "即将到期" in html and "高新技术企业" in html


@pytest.mark.parametrize("count", [1, 10])
def test_the_expiry_list_runs_the_same_queries_for_one_row_or_ten(client, place, count,
                                                                  django_assert_max_num_queries):
    for number in range(count):
        services.grant(_enterprise(place, number), "hnte", granted_on=dt.date(2021, 12, 1), today=TODAY)
    client.force_login(place["bureau"])
    with django_assert_max_num_queries(7):
        answer = client.get("/designations/expiring/", {"within": "90", "on": "2024-10-01"})
    assert len(rows_of(answer.content.decode())) == count


# --- the import review queue ----------------------------------------------------------------------


@pytest.fixture
def queued(place):
    listing = "企业名称,统一社会信用代码\n南通星河精密仪器股份公司,\n外地某某科技有限公司,\n"
    outcome = importer.import_list(io.BytesIO(listing.encode()), designation_type="little-giant",
                                   region=place["tongzhou"], date=dt.date(2023, 7, 14), filename="list.csv",
                                   by=place["bureau"], today=TODAY)
    assert outcome.record.queued == 2
    return place


def test_the_queue_lists_the_rows_waiting_and_the_bureau_links_one(client, queued):
    client.force_login(queued["bureau"])
    html = client.get("/designations/imports/", **EN).content.decode()
    assert "南通星河精密仪器股份公司" in html and "外地某某科技有限公司" in html and "csrfmiddlewaretoken" in html
    row = ImportCandidate.objects.get(name="南通星河精密仪器股份公司")
    answer = client.post(f"/designations/imports/{row.pk}/link/", {"organisation": "firm"}, follow=True, **EN)
    assert "linked to" in answer.content.decode()
    row.refresh_from_db()
    assert row.status == CandidateStatus.LINKED
    assert Designation.objects.filter(organisation=queued["firm"], type__code="little-giant").exists()


def test_a_dismissal_needs_a_reason_and_a_bad_key_is_named(client, queued):
    client.force_login(queued["bureau"])
    row = ImportCandidate.objects.get(name="外地某某科技有限公司")
    html = client.post(f"/designations/imports/{row.pk}/dismiss/", {"comment": ""}, follow=True,
                       **EN).content.decode()
    assert "Why it is dismissed" in html and "This field is required." in html
    html = client.post(f"/designations/imports/{row.pk}/link/", {"organisation": "nobody"}, follow=True,
                       **EN).content.decode()
    assert "no enterprise you may see has the key nobody" in html
    client.post(f"/designations/imports/{row.pk}/dismiss/", {"comment": "另一区县的企业"})
    row.refresh_from_db()
    assert row.status == CandidateStatus.DISMISSED and row.comment == "另一区县的企业"


def test_the_queue_is_the_bureaus(client, queued):
    client.force_login(queued["owner"])
    assert client.get("/designations/imports/").status_code == 403
    row = ImportCandidate.objects.first()
    assert client.post(f"/designations/imports/{row.pk}/dismiss/", {"comment": "x"}).status_code == 403
    client.force_login(queued["other_bureau"])
    assert "外地某某科技有限公司" not in client.get("/designations/imports/").content.decode()
    assert client.post(f"/designations/imports/{row.pk}/dismiss/", {"comment": "x"}).status_code == 404
    assert client.get("/designations/imports/", {"status": "bogus"}).status_code == 200

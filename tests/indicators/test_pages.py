"""The indicators' web pages: a region's dashboard, the explorer, the records behind a value.

They show what the engine computes for the user asking (tests/indicators/test_engine.py
checks the figures themselves); here: what each page shows, to whom, its htmx part, and
that a bad query is answered with a message, never a server error.
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kechuang.indicators import disclosure, views
from kechuang.programs import services as programs
from kechuang.registry import services as registry
from kechuang.statistics.models import ObservationStatus
from kechuang.statistics.periods import Period
from tests.designations.conftest import grant, place  # noqa: F401  (the designations' small world)

pytestmark = pytest.mark.django_db


def approve(applicant, day: dt.date, title="项目"):
    project = programs.create_project(applicant, title_zh=title, category="普通科创项目")
    for step, hour in (("submit", 8), ("start_review", 9), ("approve", 10)):
        programs.take(project, step, at=dt.datetime.combine(day, dt.time(hour), tzinfo=programs.SHANGHAI))
    return project


@pytest.fixture
def pages(world, figure):
    """2023H1 and 2022H1 figures: output of three firms in Tongzhou and one in Chongchuan,
    Tongzhou's published share, R&D of one Tongzhou firm only, projects approved."""
    for period, scale in (("2023H1", 1), ("2022H1", 2)):
        for key, output, high_tech in (("parked", 100, 50), ("zoned", 200, 100), ("plain", 300, 150)):
            figure(world[key], "industrial-output", period, output * scale)
            figure(world[key], "high-tech-output", period, high_tech)
        figure(world["rival"], "industrial-output", period, 1000)
    figure(world["tongzhou"], "high-tech-output-share", "2023H1", 56, status=ObservationStatus.PUBLISHED)
    figure(world["plain"], "rd-expenditure", "2023H1", 30)
    figure(world["plain"], "operating-revenue", "2023H1", 300)
    approve(world["plain"], dt.date(2023, 3, 1), "智能装备研发项目")
    approve(world["parked"], dt.date(2023, 5, 1), "真空泵国产化项目")
    approve(world["plain"], dt.date(2022, 4, 1), "上年项目")
    return world


def card(html: str, code: str) -> str:
    """The dashboard's card of one indicator."""
    found = re.search(rf'<article class="card indicator" id="card-{code}">(.*?)</article>', html, re.S)
    assert found, f"no card for {code}"
    return found.group(1)


def row(html: str, name: str) -> str:
    found = re.search(rf"<tr>\s*<th scope=\"row\"><a [^>]*>{name}</a>(.*?)</tr>", html, re.S)
    assert found, f"no row for {name}"
    return found.group(1)


# --- the dashboard ---------------------------------------------------------------------------


def test_the_dashboard_shows_the_key_indicators_of_a_period_with_the_breadcrumb(client, pages):
    answer = client.get("/regions/320612/indicators/", {"period": "2023H1"})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert re.search(r"首页</a> › <a[^>]*>地区</a> › <a[^>]*>江苏省</a> › <a[^>]*>南通市</a> › "
                     r"<a[^>]*>通州区</a> › <span aria-current=\"page\">指标</span>", html)
    for code in ("projects_approved", "collaborations_introduced", "high_tech_share", "industrial_output_above_size",
                 "technology_contract_turnover", "enterprises_above_size", "rd_intensity"):
        assert f'id="card-{code}"' in html
    assert ">2个</a>" in card(html, "projects_approved")
    assert '<option value="2023H1" selected>' in html


def test_little_giants_appear_only_when_the_catalogue_has_them(client, pages):
    from kechuang.indicators.models import Indicator

    has_them = Indicator.objects.filter(code="little_giants_new").exists()
    html = client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode()
    assert ('id="card-little_giants_new"' in html) == has_them
    Indicator.objects.filter(code="little_giants_new").delete()
    html = client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode()
    assert 'id="card-little_giants_new"' not in html and 'id="card-projects_approved"' in html


def test_the_official_figure_is_shown_with_the_computed_one_where_they_differ(client, pages):
    public = card(client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode(), "high_tech_share")
    # The public: the official figure alone (Tongzhou's output is the complement of Chongchuan's one firm).
    assert ">56.0%</a>" in public and "官方</span>" in public and "测算" not in public
    client.force_login(pages["bureau"])
    share = card(client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode(), "high_tech_share")
    assert ">56.0%</a>" in share and "官方</span>" in share
    assert "≠ 测算 50.0%" in share


def test_each_figure_shows_its_change_on_the_same_period_a_year_before(client, pages):
    client.force_login(pages["bureau"])
    html = client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode()
    assert "+100.0%" in card(html, "projects_approved")  # 2 projects against 1
    assert "-50.0%" in card(html, "industrial_output_above_size")  # 600 yuan against 1200
    # The official 56% of 2023H1 is no change on the computed share of 2022H1.
    assert "同比 —" in card(html, "high_tech_share")


def test_each_figure_links_to_the_records_behind_it(client, pages):
    html = client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode()
    assert 'href="/indicators/projects_approved/contributors/?region=320612&amp;period=2023H1"' in html


def test_the_trend_charts_hold_the_last_eight_half_years(client, pages):
    html = client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode()
    trends = re.search(r'data-trends="([^"]*)"', html).group(1).replace("&amp;", "&")
    assert trends == "/regions/320612/indicators/trends/?period=2023H1"
    assert 'class="spark" data-trend="projects_approved"' in card(html, "projects_approved")
    chart = client.get(trends).json()["charts"]["projects_approved"]
    assert chart["categories"][0] == "2019年下半年" and chart["categories"][-1] == "2023年上半年"
    assert chart["series"] == [{"name": "通州区", "values": [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 2.0]}]
    english = client.get(trends, HTTP_ACCEPT_LANGUAGE="en").json()["charts"]["projects_approved"]
    assert english["categories"][-1] == "2023 H1" and english["series"][0]["name"] == "Tongzhou"


def test_a_trend_hides_what_the_dashboard_of_its_period_hides(client, pages):
    trends = client.get("/regions/320612/indicators/trends/", {"period": "2023H1"}).json()["charts"]
    public = card(client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode(), "rd_intensity")
    assert ">—</a>" in public and trends["rd_intensity"]["series"][0]["values"][-1] is None
    client.force_login(pages["bureau"])
    trends = client.get("/regions/320612/indicators/trends/", {"period": "2023H1"}).json()["charts"]
    assert trends["rd_intensity"]["series"][0]["values"][-1] == 10.0


def test_a_bad_period_for_the_trends_is_answered_with_a_message(client, pages):
    answer = client.get("/regions/320612/indicators/trends/", {"period": "2023H3"})
    assert answer.status_code == 400 and answer.json()["errors"][0].startswith("期间：")


def test_the_children_are_compared_side_by_side_with_the_region_as_their_total(client, pages, analyst_client):
    html = analyst_client.get("/regions/320600/indicators/", {"period": "2023H1"}).content.decode()
    assert ">1000元<" in row(html, "崇川区") and ">600元<" in row(html, "通州区")
    total = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    assert "南通市合计" in total and ">1600元<" in total


def test_a_division_that_no_longer_existed_in_the_period_is_not_compared(client, pages):
    registry.save_region("320683", level="district", name_zh="通州市", name_en="Tongzhou (county-level city)",
                         parent=pages["nantong"], valid_to=dt.date(2009, 7, 2))
    assert ">通州市</a>" not in client.get("/regions/320600/indicators/", {"period": "2023H1"}).content.decode()
    assert ">通州市</a>" in client.get("/regions/320600/indicators/", {"period": "2009H1"}).content.decode()


@pytest.fixture
def analyst_client(client, pages):
    client.force_login(pages["analyst"])
    return client


def test_an_anonymous_visitor_sees_a_dash_with_the_reason_where_the_bureau_sees_the_figure(client, pages):
    public = card(client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode(), "rd_intensity")
    assert ">—</a>" in public and "不予公开: 参与汇总的企业少于3家" in public
    english = card(client.get("/regions/320612/indicators/", {"period": "2023H1"}, HTTP_ACCEPT_LANGUAGE="en")
                   .content.decode(), "rd_intensity")
    assert "Suppressed: fewer than 3 enterprises contribute" in english
    client.force_login(pages["bureau"])
    bureau = card(client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode(), "rd_intensity")
    assert ">10.00%</a>" in bureau and "内部</span>" in bureau and "—</a>" not in bureau


def test_an_unapproved_figure_makes_the_value_provisional(client, pages, figure):
    figure(pages["plain"], "high-tech-output", "2023H2", 10, status=ObservationStatus.SUBMITTED)
    figure(pages["plain"], "industrial-output", "2023H2", 20)
    client.force_login(pages["bureau"])
    html = client.get("/regions/320612/indicators/", {"period": "2023H2"}).content.decode()
    assert "初步</span>" in card(html, "high_tech_share")


def test_htmx_gets_only_the_part_a_period_changes(client, pages):
    answer = client.get("/regions/320612/indicators/", {"period": "2022H1"}, headers={"HX-Request": "true"})
    html = answer.content.decode()
    assert answer.status_code == 200 and "<html" not in html and "<nav" not in html
    assert 'id="card-projects_approved"' in html and ">1个</a>" in card(html, "projects_approved")
    assert "HX-Request" in answer["Vary"]
    # Going back in history, htmx asks for the whole page again.
    answer = client.get("/regions/320612/indicators/", {"period": "2022H1"},
                        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in answer.content.decode()


def test_the_default_period_is_the_last_half_year_that_has_ended(client, pages):
    assert views.last_half_year(dt.date(2024, 6, 30)) == Period.parse("2023H2")
    assert views.last_half_year(dt.date(2024, 7, 1)) == Period.parse("2024H1")
    html = client.get("/regions/320612/indicators/").content.decode()
    assert f'<option value="{views.last_half_year().code}" selected>' in html


@pytest.mark.parametrize("period", ["2023H3", "next year", "2023-05..2023-02", "x" * 500])
def test_a_bad_period_is_answered_with_a_message(client, pages, period):
    answer = client.get("/regions/320612/indicators/", {"period": period})
    assert answer.status_code == 400
    assert 'role="alert"' in answer.content.decode() and "期间：" in answer.content.decode()
    english = client.get("/regions/320612/indicators/", {"period": period}, HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 400 and "period:" in english.content.decode()


def test_an_unknown_region_is_not_found(client, pages):
    assert client.get("/regions/999999/indicators/").status_code == 404


def test_the_region_page_links_to_its_dashboard(client, pages):
    assert 'href="/regions/320612/indicators/"' in client.get("/regions/320612/").content.decode()


def test_the_dashboard_asks_the_same_number_of_queries_whatever_the_number_of_children(client, pages, figure):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/regions/320600/indicators/", {"period": "2023H1"}).status_code == 200
        return len(captured)

    before = queries()
    for code, name in (("320611", "港闸区"), ("320623", "如东县")):
        district = registry.save_region(code, level="district", name_zh=name, name_en=name, parent=pages["nantong"])[0]
        firm = registry.save_organisation(f"firm-{code}", kind="enterprise", name_zh=f"{name}企业",
                                          above_designated_size=True)[0]
        registry.move_organisation(firm, district, since=dt.date(2015, 1, 1))
        figure(firm, "industrial-output", "2023H1", 5)
    assert queries() == before


def count_queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


# --- the explorer ----------------------------------------------------------------------------


def test_the_explorer_starts_with_the_catalogue_and_its_definitions(client, pages):
    html = client.get("/indicators/").content.decode()
    assert 'id="def-high_tech_share"' in html and "share(high_tech_output_above_size, industrial_output_above_size)" in html
    assert 'name="codes" value="projects_approved"' in html


def test_the_explorer_shows_a_table_and_a_chart_for_its_query(client, pages):
    answer = client.get("/indicators/", {"codes": "projects_approved,industrial_output", "region": "320600",
                                         "by": "children", "period_from": "2022H1", "period_to": "2023H1"})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'id="result-projects_approved"' in html and 'id="result-industrial_output"' in html
    assert html.count('class="chart" data-chart=') == 2
    assert "2022年下半年" in html and "崇川区" in html
    assert 'value="projects_approved" checked' in html and 'value="320600"' in html
    assert '<option value="children" selected>' in html


def test_the_explorer_asks_the_same_number_of_queries_whatever_the_number_of_areas_and_periods(client, pages,
                                                                                              figure):
    query = {"codes": "projects_approved,high_tech_share", "region": "320600", "by": "children", "period": "2023H1"}
    one = count_queries(client, "/indicators/", query)
    for code, name in (("320611", "港闸区"), ("320623", "如东县")):
        district = registry.save_region(code, level="district", name_zh=name, name_en=name, parent=pages["nantong"])[0]
        firm = registry.save_organisation(f"firm-{code}", kind="enterprise", name_zh=f"{name}企业",
                                          above_designated_size=True)[0]
        registry.move_organisation(firm, district, since=dt.date(2015, 1, 1))
        figure(firm, "industrial-output", "2023H1", 5)
    series = {**query, "period": "", "period_from": "2019H1", "period_to": "2023H1"}
    assert count_queries(client, "/indicators/", {k: v for k, v in series.items() if v}) == one


def test_the_explorer_offers_the_same_query_as_an_xlsx_download(client, pages):
    html = client.get("/indicators/", {"codes": "projects_approved", "region": "320612", "period": "2023H1"}).content.decode()
    link = re.search(r'href="(/api/v1/indicators/table/\?[^"]*)"', html).group(1).replace("&amp;", "&")
    assert link == "/api/v1/indicators/table/?codes=projects_approved&region=320612&period=2023H1&download=xlsx"
    download = client.get(link)
    assert download.status_code == 200 and "spreadsheetml" in download["Content-Type"]


def test_a_form_submission_is_redirected_to_the_one_url_of_its_query(client, pages):
    answer = client.get("/indicators/?codes=projects_approved&codes=high_tech_share&region=320612&by="
                        "&within=&period=2023H1&period_from=&period_to=")
    assert answer.status_code == 302
    assert answer["Location"] == "/indicators/?codes=projects_approved%2Chigh_tech_share&region=320612&period=2023H1"


def test_the_explorer_shows_what_the_user_may_see(client, pages):
    query = {"codes": "industrial_output", "region": "320602", "period": "2023H1"}
    public = client.get("/indicators/", query).content.decode()
    assert ">—</a>" in public and "参与汇总的企业少于3家" in public
    client.force_login(pages["analyst"])
    assert ">1000元</a>" in client.get("/indicators/", query).content.decode()


@pytest.mark.parametrize(("query", "message"), [
    ({"codes": "nonsense", "region": "320612", "period": "2023H1"}, "&#x27;nonsense&#x27; is not an indicator"),
    ({"codes": "projects_approved", "region": "999999", "period": "2023H1"}, "region: region &#x27;999999&#x27;"),
    ({"codes": "projects_approved", "region": "320612"}, "period: name a period"),
    ({"codes": "projects_approved", "region": "320612", "period": "2023H7"}, "period:"),
    ({"codes": "projects_approved", "region": "320612", "period_from": "2023H1", "period_to": "2021H1"}, "period:"),
    ({"codes": "projects_approved", "period": "2023H1"}, "region: name a region"),
    ({"codes": "projects_approved", "region": "320612", "by": "galaxy", "period": "2023H1"}, "by:"),
    ({"codes": "projects_approved", "within": "plain", "period": "2023H1"}, "is not the key of a zone or park"),
    ({"region": "320612", "period": "2023H1"}, "指标：请选择一个或多个指标"),
    ({"codes": ",".join(views.KEY_INDICATORS[:7]) + ",rd_expenditure", "region": "320600", "by": "children",
      "period_from": "1904H2", "period_to": "2023H1"}, "请缩小范围"),  # 8 × 3 × 240 cells
])
def test_a_bad_explorer_query_is_answered_with_a_message(client, pages, query, message):
    answer = client.get("/indicators/", query)
    assert answer.status_code == 400
    html = answer.content.decode()
    assert 'role="alert"' in html and message in html


# --- the records behind a value ----------------------------------------------------------------


def test_the_bureau_sees_the_projects_behind_a_count(client, pages):
    client.force_login(pages["bureau"])
    answer = client.get("/indicators/projects_approved/contributors/", {"region": "320612", "period": "2023H1"})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "智能装备研发项目" in html and "真空泵国产化项目" in html and "上年项目" not in html
    assert "您无权查看" not in html
    assert re.search(r"首页</a> › <a[^>]*>地区</a> › .*通州区</a> › <span aria-current=\"page\">来源记录</span>", html)


def test_the_records_a_user_may_not_see_are_counted_not_shown(client, pages):
    params = {"region": "320612", "period": "2023H1"}
    client.force_login(pages["owner"])  # the enterprise user of `plain`
    html = client.get("/indicators/industrial_output/contributors/", params).content.decode()
    assert "plain公司" in html and "parked公司" not in html
    assert "另有 2 条您无权查看" in html
    client.logout()
    html = client.get("/indicators/projects_approved/contributors/", params).content.decode()
    assert "智能装备研发项目" not in html and "另有 2 条您无权查看" in html


def test_the_records_are_listed_in_a_fixed_number_of_queries(client, pages):
    client.force_login(pages["bureau"])
    params = {"region": "320612", "period": "2023H1"}
    before = count_queries(client, "/indicators/projects_approved/contributors/", params)
    for number in range(5):
        approve(pages["zoned"], dt.date(2023, 2, 1 + number), f"新项目{number}")
    assert count_queries(client, "/indicators/projects_approved/contributors/", params) == before


@pytest.mark.parametrize("query", [{"region": "320612"}, {"period": "2023H1"}, {"region": "320612", "period": "H1"},
                                   {"region": "abc", "period": "2023H1"},
                                   {"region": "320612", "period_from": "2022H1", "period_to": "2023H1"}])
def test_a_bad_contributors_query_is_answered_with_a_message(client, pages, query):
    answer = client.get("/indicators/projects_approved/contributors/", query)
    assert answer.status_code == 400 and 'role="alert"' in answer.content.decode()


def test_an_unknown_indicator_has_no_contributors_page(client, pages):
    assert client.get("/indicators/nonsense/contributors/", {"region": "320612", "period": "2023H1"}).status_code == 404


def test_the_pages_load_no_third_party_assets_and_no_inline_script_without_the_nonce(client, pages):
    for url in ("/regions/320612/indicators/?period=2023H1", "/indicators/?codes=projects_approved&region=320612"
                "&period=2023H1", "/indicators/projects_approved/contributors/?region=320612&period=2023H1"):
        answer = client.get(url)
        html = answer.content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', html)
        for tag in re.findall(r"<script[^>]*>", html):
            nonce = re.search(r"'nonce-([^']+)'", answer["Content-Security-Policy"]).group(1)
            assert f'nonce="{nonce}"' in tag and "src=" in tag
        assert " style=" not in html and "<style" not in html
        assert "{#" not in html and "{%" not in html  # no template syntax left over


@pytest.mark.parametrize(("reason", "chinese"), [
    ("fewer than 3 enterprises contribute", "参与汇总的企业少于3家"),
    ("the two largest contributions exceed 85% of it", "最大两家企业之和超过合计的85%"),
    ("suppressed so that a suppressed neighbour cannot be derived from the total", "为防止由合计推算出已隐藏的数而隐藏"),
    ("suppressed so that its difference from a related measure cannot reveal an enterprise's figure",
     "为防止与相关指标相减推算出企业数据而隐藏"),
    ("a minimum or maximum is one enterprise's figure", "最小值或最大值即一家企业的数据"),
    ("a reason the pages do not know", ""),
])
def test_each_reason_for_a_dash_is_given_in_chinese_too(reason, chinese):
    assert disclosure.reason_zh(reason) == chinese



def test_new_little_giants_are_a_figure_of_the_dashboard_with_their_designations_behind_it(client, little_giants):
    client.force_login(little_giants["bureau"])
    html = client.get("/regions/320612/indicators/", {"period": "2023H1"}).content.decode()
    assert ">1家</a>" in card(html, "little_giants_new")
    html = client.get("/indicators/little_giants_new/contributors/", {"region": "320612", "period": "2023H1"})
    html = html.content.decode()
    assert "资质认定" in html and "南通星河精密仪器有限公司" in html


@pytest.fixture
def little_giants(place):  # noqa: F811  (the fixture imported above)
    """The designations' own small world (tests/designations), a little giant granted 2023-06-28."""
    grant(place)
    return place

"""An organisation's profile page: an enterprise (ownership chain up and down, location
history, capacity, milestones, designations, projects, figures), a park (phases, tenants)
and a university (collaborations), each as far as the reader may see, in both languages,
with a number of queries that does not grow with the rows shown."""

import datetime as dt
import json
import re
from decimal import Decimal
from html import unescape

import pytest
import yaml

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.demo.builder import WORLD_FILE
from kechuang.designations import services as designations
from kechuang.programs import services as programs
from kechuang.programs.models import ProjectKind
from kechuang.registry import services as registry
from kechuang.registry.models import Organisation
from kechuang.statistics.models import ObservationStatus
from kechuang.statistics.services import load_catalogue as load_metrics
from kechuang.statistics.services import record_observation
from kechuang.world.loader import load_world

TODAY = dt.date(2026, 11, 25)
PROFILE = "/organisations/zhongkeyi-nantong/"
PARK = "/organisations/hengli-nantong-industrial-park/"
UNIVERSITY = "/organisations/nantong-university/"


def figure(subject, metric, period, value, status=ObservationStatus.APPROVED):
    return record_observation(subject, metric, period, Decimal(str(value)), status=status, today=TODAY)


@pytest.fixture
def tongzhou(db, django_user_model):
    """The seed article's world (tongzhou.yaml: Zhongkeyi, its parent Sky Technology, the zone,
    Hengli park and its phases) in Jiangsu › Nantong › Tongzhou, with more around it: Sky
    Technology's own owner, Zhongkeyi's holdings in and out of Tongzhou, figures for three
    years, a little-giant designation, projects, a university with a collaboration, tenants of
    the park, and users of each role."""
    load_metrics()
    designations.load_catalogue()
    jiangsu = registry.save_region("320000", level="province", name_zh="江苏省", name_en="Jiangsu")[0]
    nantong = registry.save_region("320600", level="city", name_zh="南通市", name_en="Nantong", parent=jiangsu)[0]
    tongzhou = registry.save_region("320612", level="district", name_zh="通州区", name_en="Tongzhou district",
                                    parent=nantong)[0]
    chongchuan = registry.save_region("320602", level="district", name_zh="崇川区", name_en="Chongchuan district",
                                      parent=nantong)[0]
    registry.save_region("320612100", level="town", name_zh="川姜镇", name_en="Chuanjiang", parent=tongzhou)
    load_world(yaml.safe_load(WORLD_FILE.read_text(encoding="utf-8")))
    found = {key: Organisation.objects.get(key=key) for key in (
        "zhongkeyi-nantong", "sky-technology", "nantong-high-tech-zone", "hengli-nantong-industrial-park")}
    zhongkeyi, sky = found["zhongkeyi-nantong"], found["sky-technology"]

    def organisation(key, name_zh, name_en, kind="enterprise", region=tongzhou, within=None):
        row = registry.save_organisation(key, kind=kind, name_zh=name_zh, name_en=name_en)[0]
        registry.move_organisation(row, region, within=within, since=dt.date(2018, 1, 1))
        found[key] = row
        return row

    holding = registry.save_organisation("cas-holdings", kind="enterprise", name_zh="国科控股",
                                         name_en="CAS Holdings")[0]
    found["cas-holdings"] = holding
    registry.save_ownership(organisation=sky, owner=holding, share_percent=Decimal("40"), since=dt.date(2001, 1, 1))
    service = organisation("zky-service", "中科仪服务(南通)有限公司", "ZKY Service (Nantong) Co Ltd",
                           within=found["hengli-nantong-industrial-park"])
    away = organisation("zky-chongchuan", "中科仪崇川有限公司", "ZKY Chongchuan Co Ltd", region=chongchuan)
    registry.save_ownership(organisation=service, owner=zhongkeyi, share_percent=Decimal("60"), since=dt.date(2021, 5, 1))
    registry.save_ownership(organisation=away, owner=zhongkeyi, share_percent=Decimal("100"))
    organisation("hengli-tenant", "恒力示例化纤有限公司", "Hengli Example Fibres Co Ltd",
                 within=found["hengli-nantong-industrial-park"])
    university = organisation("nantong-university", "南通大学", "Nantong University", kind="university")

    for year, output, revenue, employees in (("2020", 80, 70, 120), ("2021", 150, 140, 180), ("2022", 260, 250, 240)):
        figure(zhongkeyi, "industrial-output", year, output * 1_000_000)
        figure(zhongkeyi, "operating-revenue", year, revenue * 1_000_000)
        figure(zhongkeyi, "employees", year, employees)
    figure(found["hengli-nantong-industrial-park"], "industrial-output", "2022", 13_500_000_000)
    designations.grant(zhongkeyi, "little-giant", granted_on=dt.date(2023, 7, 14), batch="第五批",
                       today=TODAY)
    collaboration = programs.create_project(
        zhongkeyi, kind=ProjectKind.COLLABORATION, title_zh="干式真空泵可靠性联合研究",
        title_en="Joint research on dry vacuum pump reliability", parties=[(university, "university_partner")],
        agreement_date=dt.date(2023, 3, 15), contract_value=Decimal("1200000"))
    programs.create_project(zhongkeyi, title_zh="12英寸晶圆厂干式真空泵国产化", title_en="Dry pumps for 12-inch fabs",
                            planned_start=dt.date(2023, 1, 1), planned_end=dt.date(2024, 12, 31))
    found["collaboration"] = collaboration
    for name, role, scope in (("bureau", Role.BUREAU_ADMIN, {"region": tongzhou}),
                              ("park", Role.PARK_MANAGER, {"organisation": found["hengli-nantong-industrial-park"]}),
                              ("firm", Role.ENTERPRISE_USER, {"organisation": zhongkeyi})):
        found[name] = django_user_model.objects.create_user(name)
        grant_role(found[name], role, by=None, **scope)
    found["tongzhou"] = tongzhou
    return found


def page(client, user, url, **headers):
    client.force_login(user)
    response = client.get(url, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def section(html, name):
    match = re.search(rf'<(section|footer)[^>]*id="{name}".*?</\1>', html, re.S)
    assert match, f"no section {name}"
    return match.group(0)


def text(html):
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- the enterprise's profile -----------------------------------------------------------------


def test_the_header_names_the_enterprise_its_code_kind_sector_and_place(client, tongzhou):
    html = page(client, tongzhou["bureau"], PROFILE)
    head = text(re.search(r'<header class="profile-head">.*?</header>', html, re.S).group(0))
    assert "中科仪(南通)半导体设备有限责任公司" in head and "Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd" in head
    assert "企业" in head and "半导体设备" in head
    assert "通州区" in head and "南通国家高新技术产业开发区" in head and "自2020年起" in head
    assert re.search(r'<nav class="breadcrumb"[^>]*><span><a href="/">首页</a> › <a href="/regions/">地区</a> › '
                     r'<a href="/regions/320000/">江苏省</a> › <a href="/regions/320600/">南通市</a> › '
                     r'<a href="/regions/320612/">通州区</a> › <span aria-current="page">中科仪', html)


def test_the_ownership_chain_goes_up_to_the_top_and_down_through_the_holdings(client, operator, tongzhou):
    html = section(page(client, operator, PROFILE), "ownership")
    chain = text(re.search(r'<ol class="chain".*?</ol>', html, re.S).group(0))
    # The principal chain from the top: CAS Holdings holds 40% of Sky Technology, which holds all of Zhongkeyi.
    assert re.search(r"国科控股 持股40% .*中国科学院沈阳科学仪器股份有限公司 持股100% .*中科仪", chain)
    up = text(html.split("向上")[1].split("<h3>")[0])
    assert "100%" in up and "全资" in up and "40%" in up
    down = text(html.split("对外投资")[1])
    assert "中科仪服务(南通)有限公司 60%" in down and "中科仪崇川有限公司 100%" in down
    assert "自2021年5月1日" in down


def test_the_chain_shows_only_what_the_reader_may_see(client, tongzhou):
    html = section(page(client, tongzhou["bureau"], PROFILE), "ownership")
    # The parent is named with the share it holds, but lies outside Tongzhou: no link, and its own owner stays hidden.
    assert "中国科学院沈阳科学仪器股份有限公司" in html and "/organisations/sky-technology/" not in html
    assert "国科控股" not in html
    # A holding in Tongzhou is listed and linked; one in Chongchuan is not even named.
    assert '<a href="/organisations/zky-service/">' in html
    assert "中科仪崇川" not in html and "zky-chongchuan" not in html


def test_location_history_and_milestones_are_timelines(client, tongzhou):
    html = page(client, tongzhou["bureau"], PROFILE)
    places = text(section(html, "locations"))
    assert "2020年 – 至今" in places and "南通国家高新技术产业开发区" in places
    milestones = section(html, "milestones")
    assert '<ol class="timeline milestones">' in milestones
    items = [text(item) for item in re.findall(r"<li.*?</li>", milestones, re.S)]
    assert items[0].startswith("2020年 落户") and "落户南通高新区" in items[0]
    assert items[1].startswith("2022年11月 首次试生产")
    assert re.search(r'<time datetime="2022-11-01">', milestones)


def test_capacity_designations_and_projects(client, tongzhou):
    html = page(client, tongzhou["bureau"], PROFILE)
    assert "13,000" in text(section(html, "capacities")) and "干式真空泵" in section(html, "capacities")
    designation = text(section(html, "designations"))
    assert "专精特新" in designation and "国家级" in designation and "2023年7月14日" in designation
    projects = text(section(html, "projects"))
    assert "干式真空泵可靠性联合研究" in projects and "南通大学" in projects and "草稿" in projects
    assert "12英寸晶圆厂干式真空泵国产化" in projects


def test_figures_are_a_table_and_a_chart_per_unit(client, tongzhou):
    html = section(page(client, tongzhou["bureau"], PROFILE), "figures")
    head = re.findall(r'<th scope="col" class="num">(.*?)</th>', html)
    assert head == ["2020年", "2021年", "2022年"]
    output = text(re.search(r"<tr>\s*<th scope=\"row\">工业总产值.*?</tr>", html, re.S).group(0))
    assert "8000万元" in output and "2.6亿元" in output
    charts = [json.loads(unescape(raw)) for raw in re.findall(r'data-chart="([^"]+)"', html)]
    money = next(chart for chart in charts if chart["unitKind"] == "money")
    assert money["categories"] == ["2020年", "2021年", "2022年"] and money["kind"] == "line"
    assert {series["name"] for series in money["series"]} == {"工业总产值", "营业收入"}
    assert [series["values"] for series in money["series"] if series["name"] == "工业总产值"] == [[8e7, 1.5e8, 2.6e8]]
    assert any(chart["unitKind"] == "count" for chart in charts)


def test_a_submitted_figure_is_marked_provisional_and_a_draft_is_not_shown(client, tongzhou):
    figure(tongzhou["zhongkeyi-nantong"], "industrial-output", "2023", 300_000_000, status=ObservationStatus.SUBMITTED)
    figure(tongzhou["zhongkeyi-nantong"], "rd-expenditure", "2023", 9_000_000, status=ObservationStatus.DRAFT)
    html = section(page(client, tongzhou["bureau"], PROFILE), "figures")
    assert "初步" in html and "3亿元" in html
    assert "研发费用" not in html


def test_sources_are_footnotes(client, tongzhou):
    html = page(client, tongzhou["bureau"], PROFILE)
    sources = text(section(html, "sources"))
    assert "Tongzhou makes great strides in innovation" in sources
    number = re.search(r'<li id="source-(\d+)"[^>]*>Tongzhou makes', html).group(1)
    assert f'href="#source-{number}"' in section(html, "milestones")


def test_the_profile_in_english(client, tongzhou):
    html = page(client, tongzhou["bureau"], PROFILE, HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="en">' in html
    assert re.search(r'<a href="/">Home</a> › <a href="/regions/">Regions</a> › <a href="/regions/320000/">Jiangsu</a>'
                     r' › <a href="/regions/320600/">Nantong</a> › <a href="/regions/320612/">Tongzhou district</a>', html)
    assert "<h1>Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd" in html
    milestones = text(section(html, "milestones"))
    assert "2020 Arrived" in milestones and "November 2022 First trial production" in milestones
    assert "First trial production rolled out." in milestones
    assert "holds 100%" in html and "Owners, up the chain" in html
    figures = section(html, "figures")
    assert "260 million yuan" in text(figures) or "260.00 million yuan" in text(figures)
    assert "Little giant" in text(section(html, "designations")) or "little giant" in text(section(html, "designations"))


def test_the_enterprise_user_sees_its_own_profile_and_not_its_parent_page(client, tongzhou):
    html = page(client, tongzhou["firm"], PROFILE)
    assert "中科仪服务" not in html  # a holding in the park is not the firm's to see
    client.force_login(tongzhou["firm"])
    assert client.get("/organisations/sky-technology/").status_code == 404
    assert client.get("/organisations/zky-service/").status_code == 404


def test_an_anonymous_visitor_gets_a_404(client, tongzhou):
    for url in (PROFILE, PARK, UNIVERSITY):
        assert client.get(url).status_code == 404


def test_the_profile_asks_the_same_number_of_queries_for_1_or_10_rows(client, tongzhou, django_assert_max_num_queries):
    zhongkeyi = tongzhou["zhongkeyi-nantong"]
    client.force_login(tongzhou["bureau"])
    with django_assert_max_num_queries(40) as few:
        client.get(PROFILE)
    for number in range(10):
        registry.save_milestone(organisation=zhongkeyi, date=dt.date(2010 + number, 1, 1), kind="other",
                                text_zh=f"事件{number}")
        registry.save_capacity(organisation=zhongkeyi, product_en=f"Product {number}", quantity=Decimal(number),
                               unit="units", as_of=dt.date(2023, 1, 1))
        figure(zhongkeyi, "rd-expenditure", str(2010 + number), 1_000_000 + number)
        holding = registry.save_organisation(f"held-{number}", kind="enterprise", name_zh=f"子公司{number}")[0]
        registry.move_organisation(holding, tongzhou["tongzhou"], since=dt.date(2019, 1, 1))
        registry.save_ownership(organisation=holding, owner=zhongkeyi, share_percent=Decimal("51"))
        programs.create_project(zhongkeyi, title_zh=f"项目{number}")
    registry.move_organisation(zhongkeyi, tongzhou["tongzhou"], within=tongzhou["hengli-nantong-industrial-park"],
                               since=dt.date(2024, 1, 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(PROFILE).content.decode()
    assert "事件9" in html and "子公司9" in html and "项目9" in html


# --- a park -----------------------------------------------------------------------------------


def test_the_park_shows_its_phases_on_a_timeline_and_its_tenants(client, tongzhou):
    html = page(client, tongzhou["park"], PARK)
    phases = section(html, "phases")
    items = [text(item) for item in re.findall(r"<li.*?</li>", phases, re.S)]
    assert [item.split(" ")[0] for item in items] == ["第1期", "第2期", "第3期", "第4期"]
    assert "运营" in items[2] and "在建" in items[3] and "计划于2023年12月投运" in items[3]
    tenants = text(section(html, "tenants"))
    assert "中科仪服务(南通)有限公司" in tenants and "恒力示例化纤有限公司" in tenants
    assert "中科仪(南通)" not in tenants  # in the zone, not in the park
    assert "135亿元" in text(section(html, "figures"))


def test_tenants_filter_sort_page_and_export(client, tongzhou):
    client.force_login(tongzhou["park"])
    html = client.get(PARK, {"q": "zkyfw"}).content.decode()
    assert "中科仪服务" in text(section(html, "tenants")) and "恒力示例" not in text(section(html, "tenants"))
    orders = []
    for sort in ("name", "-name"):
        tenants = text(section(client.get(PARK, {"sort": sort}).content.decode(), "tenants"))
        orders.append(tenants.index("恒力示例") < tenants.index("中科仪服务"))
    assert orders in ([True, False], [False, True])  # one way, then the other (the collation decides which first)
    response = client.get(PARK, {"format": "csv", "sort": "name", "kind": "enterprise"})
    assert response["Content-Type"].startswith("text/csv")
    rows = [row.split(",") for row in response.content.decode("utf-8-sig").splitlines()]
    assert rows[0][:3] == ["登记标识", "中文名称", "英文名称"]
    assert sorted(row[0] for row in rows[1:]) == ["hengli-tenant", "zky-service"]
    assert rows[1][0] == ("hengli-tenant" if orders[0] else "zky-service")
    part = client.get(PARK, {"kind": "enterprise"}, HTTP_HX_REQUEST="true")
    assert "<html" not in part.content.decode() and "中科仪服务" in part.content.decode()
    assert "HX-Request" in part["Vary"]


def test_a_bad_tenant_filter_is_a_message_not_an_error(client, tongzhou):
    client.force_login(tongzhou["park"])
    response = client.get(PARK, {"kind": "spaceship", "page": "x", "sort": "nonsense"})
    assert response.status_code == 200
    assert "筛选条件" in response.content.decode() and "中科仪服务" in response.content.decode()


def test_a_zone_shows_its_tenants_with_those_of_its_parks(client, tongzhou):
    html = text(section(page(client, tongzhou["bureau"], "/organisations/nantong-high-tech-zone/"), "tenants"))
    assert "中科仪(南通)半导体设备有限责任公司" in html


def test_the_park_page_queries_do_not_grow_with_its_tenants(client, tongzhou, django_assert_max_num_queries):
    client.force_login(tongzhou["park"])
    with django_assert_max_num_queries(40) as few:
        client.get(PARK)
    park = tongzhou["hengli-nantong-industrial-park"]
    for number in range(20):
        row = registry.save_organisation(f"tenant-{number}", kind="enterprise", name_zh=f"入驻企业{number}",
                                         sectors=["semiconductor-equipment"])[0]
        registry.move_organisation(row, tongzhou["tongzhou"], within=park, since=dt.date(2020, 1, 1))
    for number in range(5, 10):
        registry.save_phase(park=park, number=number, status="planned")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(PARK).content.decode()
    assert "入驻企业19" in html and "第9期" in html


# --- a university -----------------------------------------------------------------------------


def test_the_university_shows_its_collaborations_with_the_enterprise_partners(client, tongzhou):
    html = page(client, tongzhou["bureau"], UNIVERSITY)
    rows = text(section(html, "collaborations"))
    assert "干式真空泵可靠性联合研究" in rows and "中科仪(南通)半导体设备有限责任公司" in rows
    assert "2023年3月15日" in rows and "120万元" in rows and "草稿" in rows
    assert '<a href="/organisations/zhongkeyi-nantong/">' in section(html, "collaborations")
    # Only collaborations: the firm's innovation project is not the university's.
    assert "12英寸晶圆厂" not in rows


def test_the_university_collaborations_export(client, tongzhou):
    client.force_login(tongzhou["bureau"])
    response = client.get(UNIVERSITY, {"format": "csv"})
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "中科仪(南通)半导体设备有限责任公司" in lines[1]


def test_the_university_page_in_english(client, tongzhou):
    html = page(client, tongzhou["bureau"], UNIVERSITY, HTTP_ACCEPT_LANGUAGE="en")
    rows = text(section(html, "collaborations"))
    assert "Joint research on dry vacuum pump reliability" in rows and "Draft" in rows and "Lead" in rows


def test_the_university_page_queries_do_not_grow_with_its_collaborations(client, tongzhou,
                                                                         django_assert_max_num_queries):
    client.force_login(tongzhou["bureau"])
    with django_assert_max_num_queries(40) as few:
        client.get(UNIVERSITY)
    university = tongzhou["nantong-university"]
    for number in range(10):
        firm = registry.save_organisation(f"partner-{number}", kind="enterprise", name_zh=f"合作企业{number}")[0]
        registry.move_organisation(firm, tongzhou["tongzhou"], since=dt.date(2019, 1, 1))
        programs.create_project(firm, kind=ProjectKind.COLLABORATION, title_zh=f"合作项目{number}",
                                parties=[(university, "university_partner")], agreement_date=dt.date(2023, 1, 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(UNIVERSITY).content.decode()
    assert "合作企业9" in html

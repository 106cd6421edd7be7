"""The read-only registry pages: home, search, regions, a region, an organisation (the
profiles' sections are in test_pages_profile.py)."""

import datetime as dt
import re

import pytest

from kechuang.registry.models import Region
from kechuang.registry.services import move_organisation, save_organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def tongzhou_world(divisions):
    tongzhou = Region.objects.get(code="320612")
    zone, _ = save_organisation("zone", kind="zone", name_zh="南通国家高新技术产业开发区",
                                name_en="Nantong National High-tech Industrial Development Zone")
    move_organisation(zone, tongzhou, since=dt.date(2000, 1, 1))
    firm, _ = save_organisation("zhongkeyi-nantong", kind="enterprise", name_zh="中科仪(南通)半导体设备有限责任公司",
                                name_en="Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd")
    move_organisation(firm, tongzhou, within=zone, since=dt.date(2020, 1, 1), since_precision="year")
    return firm


def test_home_shows_the_district_with_its_breadcrumb(operator_client, tongzhou_world):
    html = operator_client.get("/").content.decode()
    assert "通州区" in html and "320612" in html
    assert re.search(r'<a href="/">首页</a> › <a href="/regions/">地区</a> › <a[^>]*>江苏省</a> › <a[^>]*>南通市</a>', html)
    assert "中科仪(南通)半导体设备有限责任公司" in html


def test_home_picks_a_region_up_or_down_and_searches(operator_client, tongzhou_world):
    html = operator_client.get("/").content.decode()
    assert '<a href="/regions/320600/">南通市</a>' in html  # up
    assert '<a href="/regions/320612120/">川姜镇</a>' in html  # down
    assert '<form class="finder" method="get" action="/regions/">' in html
    assert 'href="/regions/320612/indicators/"' in html
    assert re.search(r'<label for="home-search">[^<]+</label>', html)


def test_home_in_english(operator_client, tongzhou_world):
    html = operator_client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r'<a href="/">Home</a> › <a href="/regions/">Regions</a> › <a[^>]*>Jiangsu</a>', html)
    assert "Find an enterprise, park, zone, university or institute" in html


@pytest.mark.parametrize("query", ["zky", "zhongkeyi", "中科仪", "semiconductor", "ZHONGKEYI-NANTONG"])
def test_search_finds_by_any_form_of_the_name(operator_client, tongzhou_world, query):
    html = operator_client.get("/", {"q": query}).content.decode()
    assert "中科仪(南通)半导体设备有限责任公司" in html and "找到1家机构" in html


def test_search_finds_by_uscc(operator_client, tongzhou_world):
    save_organisation("zhongkeyi-nantong", uscc="91320612MA1MXXXX00", legacy_uscc=True)
    html = operator_client.get("/", {"q": "91320612ma1m"}).content.decode()
    assert "找到1家机构" in html


def test_search_says_what_to_try_when_nothing_is_found(operator_client, tongzhou_world):
    html = operator_client.get("/", {"q": "nothing-like-it"}).content.decode()
    assert "未找到“nothing-like-it”" in html and "拼音" in html


def test_search_sorts_filters_and_exports(operator_client, tongzhou_world):
    html = operator_client.get("/", {"q": "nan", "kind": "zone"}).content.decode()
    assert "南通国家高新技术产业开发区" in html and "中科仪(南通)" not in html.split('id="search-results"')[1]
    response = operator_client.get("/", {"q": "nantong", "format": "xlsx", "sort": "-kind"})
    assert response["Content-Disposition"] == 'attachment; filename="search.xlsx"'
    assert response.content[:2] == b"PK"
    html = operator_client.get("/", {"q": "nantong", "sort": "kind"}).content.decode()
    assert html.index("zhongkeyi-nantong/") < html.index("/organisations/zone/")  # enterprise before zone
    assert 'aria-sort="ascending"' in html


def test_search_answers_htmx_with_the_results_only(operator_client, tongzhou_world):
    response = operator_client.get("/", {"q": "zky"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and "中科仪(南通)" in html and "HX-Request" in response["Vary"]


def test_regions_page_lists_provinces_and_finds_any_region(client, tongzhou_world):
    html = client.get("/regions/").content.decode()
    assert '<a href="/regions/320000/">江苏省</a>' in html and '<a href="/regions/110000/">北京市</a>' in html
    html = client.get("/regions/", {"q": "通州"}).content.decode()
    # The two 通州区 are told apart by the regions above them.
    assert "110112" in html and "320612" in html and "南通市" in html and "北京市" in html
    assert client.get("/regions/", {"q": "320612"}).url == "/regions/320612/"
    assert "没有与“火星”匹配的地区" in client.get("/regions/", {"q": "火星"}).content.decode()


def test_region_page_lists_children_and_organisations(operator_client, tongzhou_world):
    html = operator_client.get("/regions/320612/").content.decode()
    assert "川姜镇" in html and "中科仪(南通)半导体设备有限责任公司" in html
    assert '<a class="button" href="/regions/320612/indicators/">' in html
    assert re.search(r'<span aria-current="page">通州区</span>', html)


def test_region_page_filters_by_kind_sorts_and_exports(operator_client, tongzhou_world):
    html = operator_client.get("/regions/320612/", {"kind": "zone"}).content.decode()
    listed = html.split('id="organisation-list"')[1]
    assert "南通国家高新技术产业开发区" in listed and "中科仪" not in listed
    assert '<option value="zone" selected>' in html
    html = operator_client.get("/regions/320612/", {"kind": "university"}).content.decode()
    assert "没有符合筛选条件的机构" in html and '<a href="/regions/320612/">清除筛选条件</a>' in html
    response = operator_client.get("/regions/320612/", {"format": "csv", "sort": "-name"})
    lines = response.content.decode("utf-8-sig").splitlines()
    assert response["Content-Disposition"] == 'attachment; filename="organisations-320612.csv"'
    assert len(lines) == 3 and lines[0].startswith("登记标识,中文名称,英文名称,类型")


def test_region_page_pages_keep_the_filters(operator_client, tongzhou_world):
    for number in range(55):
        firm, _ = save_organisation(f"firm-{number:02d}", kind="enterprise", name_zh=f"企业{number:02d}")
        move_organisation(firm, Region.objects.get(code="320612"), since=dt.date(2020, 1, 1))
    html = operator_client.get("/regions/320612/", {"kind": "enterprise", "sort": "name"}).content.decode()
    assert "第 1 / 2 页" in html and 'href="?kind=enterprise&amp;sort=name&amp;page=2"' in html
    html = operator_client.get("/regions/320612/", {"kind": "enterprise", "sort": "name", "page": "2"}).content.decode()
    assert "第 2 / 2 页" in html and "企业54" in html


def test_a_bad_filter_or_page_is_a_message(operator_client, tongzhou_world):
    response = operator_client.get("/regions/320612/", {"kind": "rocket", "page": "-3", "sort": "x; drop"})
    html = response.content.decode()
    assert response.status_code == 200 and "筛选条件“类型”已忽略" in html and "中科仪(南通)" in html


def test_the_public_sees_the_region_and_no_organisation(client, tongzhou_world):
    html = client.get("/regions/320612/").content.decode()
    assert "川姜镇" in html and "中科仪" not in html and "请登录后查看" in html
    assert "中科仪" not in client.get("/", {"q": "zky"}).content.decode().split('id="search-results"')[1]


def test_region_page_queries_do_not_grow_with_its_organisations(operator_client, tongzhou_world,
                                                                django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        operator_client.get("/regions/320612/")
    zone = tongzhou_world.current_location.within
    for number in range(20):
        firm, _ = save_organisation(f"firm-{number:02d}", kind="enterprise", name_zh=f"企业{number:02d}")
        move_organisation(firm, Region.objects.get(code="320612120"), within=zone, since=dt.date(2020, 1, 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = operator_client.get("/regions/320612/").content.decode()
    assert "企业19" in html
    with django_assert_max_num_queries(len(few.captured_queries)):
        operator_client.get("/", {"q": "qiye"})


def test_organisation_page_shows_location_in_the_zone(operator_client, tongzhou_world):
    html = operator_client.get("/organisations/zhongkeyi-nantong/").content.decode()
    assert "南通国家高新技术产业开发区" in html and "自2020年起" in html


@pytest.mark.parametrize("url", ["/regions/999999/", "/organisations/nobody/", "/regions/%00/"])
def test_unknown_pages_are_404(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("query", ["\x00", "'; drop table x; --", "%", "_", "a" * 5000, "（）"])
def test_odd_searches_never_fail(client, tongzhou_world, query):
    assert client.get("/", {"q": query}).status_code == 200


def test_pages_load_no_third_party_assets(operator_client, tongzhou_world):
    html = operator_client.get("/organisations/zhongkeyi-nantong/").content.decode()
    assert not re.search(r'(src|href)="https?://', html)


def test_admin_answers_a_bad_uscc_on_the_form(admin_client, tongzhou_world):
    response = admin_client.post(f"/admin/registry/organisation/{tongzhou_world.pk}/change/", {
        "kind": "enterprise", "name_zh": tongzhou_world.name_zh, "name_en": tongzhou_world.name_en,
        "name_zh_verified": "on", "uscc": "91350203M0001QAY9B",
    })
    assert response.status_code == 200
    assert "expected &#x27;9&#x27;" in response.content.decode()  # the USCC rule, on the form
    tongzhou_world.refresh_from_db()
    assert tongzhou_world.uscc is None

"""The read-only registry pages: home, search, region, organisation."""

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
    assert re.search(r"首页 Home</a> › 地区 Regions › <a[^>]*>江苏省 Jiangsu</a> › <a[^>]*>南通市 Nantong</a>", html)
    assert "中科仪(南通)半导体设备有限责任公司" in html


def test_search_page_finds_by_pinyin(operator_client, tongzhou_world):
    html = operator_client.get("/", {"q": "zky"}).content.decode()
    assert "Zhongkeyi (Nantong)" in html and "1 个结果" in html


def test_region_page_lists_children_and_organisations(operator_client, tongzhou_world):
    html = operator_client.get("/regions/320612/").content.decode()
    assert "川姜镇" in html and "Zhongkeyi (Nantong)" in html


def test_organisation_page_shows_location_in_the_zone(operator_client, tongzhou_world):
    html = operator_client.get("/organisations/zhongkeyi-nantong/").content.decode()
    assert "南通国家高新技术产业开发区" in html and ">2020<" in html


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

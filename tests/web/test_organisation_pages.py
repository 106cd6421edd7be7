"""The registry's pages in Chromium: an enterprise's profile (ownership chain, milestones on a
timeline, a chart of its figures), a park's phases, a region's organisations filtered in place
(htmx), and the home page. Each page is saved as a screenshot in artifacts/; the conftest fails
a test on any console error or Content-Security-Policy refusal."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.registry.test_pages_profile import tongzhou  # noqa: F401  (the world the pages show)

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WIDE = {"width": 1280, "height": 900}


@pytest.fixture
def shown(transactional_db, tongzhou, django_user_model):  # noqa: F811
    tongzhou["demo"] = django_user_model.objects.create_user("demo-admin", is_staff=True, is_superuser=True)
    return tongzhou


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def test_the_enterprise_profile_shows_its_ownership_chain_milestones_and_a_chart(page, shown, sign_in):
    sign_in(shown["demo"])
    page.set_viewport_size(WIDE)
    page.goto("/organisations/zhongkeyi-nantong/")
    expect(page.locator("h1")).to_contain_text("中科仪(南通)半导体设备有限责任公司")
    chain = page.locator("ol.chain li")
    expect(chain).to_have_count(3)
    expect(chain.nth(0)).to_contain_text("国科控股")
    expect(chain.nth(1)).to_contain_text("中国科学院沈阳科学仪器股份有限公司")
    expect(chain.nth(2)).to_contain_text("中科仪(南通)")
    expect(page.locator("#ownership")).to_contain_text("中科仪服务(南通)有限公司")
    milestones = page.locator("ol.timeline.milestones > li")
    expect(milestones).to_have_count(2)
    expect(milestones.nth(1)).to_contain_text("2022年11月")
    expect(milestones.nth(1)).to_contain_text("首次试生产")
    # ECharts draws the figures on a canvas: one chart per unit (money, persons).
    expect(page.locator("#figures .chart canvas")).to_have_count(2)
    assert page.locator("#figures .chart").first.bounding_box()["height"] > 200
    expect(page.locator("#designations")).to_contain_text("国家级")
    page.click("ol.chain li >> nth=1 >> a")
    page.wait_for_url(re.compile(r"/organisations/sky-technology/$"))
    page.go_back()
    page.wait_for_url(re.compile(r"/organisations/zhongkeyi-nantong/$"))
    expect(page.locator("#figures .chart canvas")).to_have_count(2)
    screenshot(page, "enterprise-profile")


def test_the_park_page_shows_its_phases_and_filters_its_tenants_in_place(page, shown, sign_in):
    sign_in(shown["park"])
    page.set_viewport_size(WIDE)
    page.goto("/organisations/hengli-nantong-industrial-park/")
    phases = page.locator("ol.timeline.phases > li")
    expect(phases).to_have_count(4)
    expect(phases.nth(3)).to_contain_text("计划于2023年12月投运")
    expect(page.locator("#organisation-list tbody tr")).to_have_count(2)
    page.evaluate("window.__samePage = true")
    page.fill("#filter-q", "zkyfw")
    page.press("#filter-q", "Enter")
    page.wait_for_url(re.compile(r"\?q=zkyfw"))
    expect(page.locator("#organisation-list tbody tr")).to_have_count(1)
    assert page.evaluate("window.__samePage") is True  # htmx swapped the list, the page stayed
    page.goto("/organisations/hengli-nantong-industrial-park/")
    screenshot(page, "park-page")


def test_the_region_page_filters_by_kind_without_reloading(page, shown, sign_in):
    sign_in(shown["bureau"])
    page.set_viewport_size(WIDE)
    page.goto("/regions/320612/")
    expect(page.locator(".breadcrumb")).to_have_text("首页 › 地区 › 江苏省 › 南通市 › 通州区")
    expect(page.locator("a.button", has_text="主要指标")).to_have_attribute("href", "/regions/320612/indicators/")
    screenshot(page, "region-page")
    page.evaluate("window.__samePage = true")
    page.select_option("#filter-kind", "university")
    page.wait_for_url(re.compile(r"kind=university"))
    expect(page.locator("#organisation-list tbody tr")).to_have_count(1)
    expect(page.locator("#organisation-list")).to_contain_text("南通大学")
    assert page.evaluate("window.__samePage") is True


def test_the_home_page_in_english(page, shown, sign_in, context):
    sign_in(shown["bureau"])
    page.set_viewport_size(WIDE)
    page.goto("/")
    page.click("form.language button")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".breadcrumb")).to_have_text("Home › Regions › Jiangsu › Nantong")
    expect(page.locator("h1")).to_contain_text("Tongzhou district")
    page.click("form.language button")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    screenshot(page, "home")
    page.fill("#home-search", "zky")
    page.press("#home-search", "Enter")
    expect(page.locator("#search-results")).to_contain_text("中科仪(南通)半导体设备有限责任公司")

"""The designations' pages in Chromium: the registry filtered in place (htmx) with the filter in
the URL, the expiry list, the screening of a district with an eligible enterprise, and that
enterprise's explanation criterion by criterion. Every page is also checked for console errors
and Content-Security-Policy refusals (conftest), and photographed into artifacts/."""

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kechuang.designations import services
from tests.designations.rules.conftest import HNTE_GOOD, TODAY, report, world  # noqa: F401

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
POOL = "/designations/screening/?ruleset=INNOVATIVE-SME-2022&region=320612&date=2026-03-31"


@pytest.fixture
def granted(transactional_db, world):  # noqa: F811
    """alpha: a high-tech enterprise (so an eligible innovative SME); beta: a little giant and the
    HNTE figures; gamma: a specialised SME; Chongchuan's rival: a little giant."""
    services.grant(world["alpha"], "hnte", granted_on=dt.date(2024, 1, 10), today=TODAY)
    services.grant(world["beta"], "little-giant", granted_on=dt.date(2023, 6, 28), batch="5", today=TODAY)
    services.grant(world["gamma"], "srdi-sme", granted_on=dt.date(2023, 3, 1), today=TODAY)
    services.grant(world["rival"], "little-giant", granted_on=dt.date(2022, 7, 15), batch="4", today=TODAY)
    report(world["beta"], HNTE_GOOD)
    ARTIFACTS.mkdir(exist_ok=True)
    return world


def test_the_registry_filtered_by_type_shows_its_rows_and_keeps_the_filter_in_the_url(page, granted, sign_in):
    sign_in(granted["bureau"])
    page.goto("/designations/")
    expect(page.locator("h1")).to_contain_text("资质认定")
    expect(page.locator("table.designations tbody tr")).to_have_count(4)
    page.evaluate("window.__samePage = true")
    page.select_option("#id_type", "little-giant")
    page.wait_for_url(re.compile(r"/designations/\?.*type=little-giant"))
    rows = page.locator("table.designations tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("beta公司")
    expect(rows.nth(1)).to_contain_text("rival公司")
    expect(page.locator("table.designations")).not_to_contain_text("alpha公司")
    assert page.evaluate("window.__samePage") is True  # htmx swapped the list; the page stayed
    page.screenshot(path=ARTIFACTS / "designations-registry.png", full_page=True)
    # The address holds the filter: a new visit shows the same list.
    page.goto(page.url)
    expect(page.locator("#id_type")).to_have_value("little-giant")
    expect(page.locator("table.designations tbody tr")).to_have_count(2)
    page.click("table.designations tbody tr >> nth=0 >> text=详情")
    expect(page.locator("ol.timeline li")).to_have_count(1)
    expect(page.locator("main")).to_contain_text("2026-06-27")


def test_the_expiry_list_shows_what_runs_out(page, granted, sign_in):
    sign_in(granted["bureau"])
    page.goto("/designations/expiring/?within=1000&on=2025-12-01")
    expect(page.locator("h1")).to_contain_text("即将到期的资质")
    rows = page.locator("table.designations tbody tr")
    expect(rows).to_have_count(3)  # Tongzhou's three; Chongchuan's is not this bureau's work
    expect(rows.nth(0)).to_contain_text("gamma公司")  # its validity runs out first (2026-02-28)
    expect(rows.nth(0)).to_contain_text("尚未复核")
    page.screenshot(path=ARTIFACTS / "designations-expiring.png", full_page=True)


def test_the_screening_lists_an_eligible_enterprise_and_explains_each_criterion(page, granted, sign_in):
    sign_in(granted["bureau"])
    page.goto(POOL)
    first = page.locator("table.pool tbody tr").first
    expect(first).to_contain_text("alpha公司")
    expect(first.locator(".standing")).to_have_text("符合条件")
    expect(page.locator(".pool-counts .card.eligible .figure")).to_have_text("1")
    page.screenshot(path=ARTIFACTS / "designations-screening.png", full_page=True)
    first.locator("a", has_text="说明").click()
    page.wait_for_url(re.compile(r"/designations/screening/INNOVATIVE-SME-2022/alpha/\?date=2026-03-31$"))
    expect(page.locator("h1")).to_contain_text("alpha公司")
    criteria = page.locator("ol.criteria > li.criterion")
    assert criteria.count() >= 2
    for index in range(criteria.count()):
        expect(criteria.nth(index).locator(":scope > .criterion-head > .status")).to_have_text(
            re.compile("^(符合|不符合|缺少数据|待专家评审)$"))
        expect(criteria.nth(index).locator(":scope > dl > dd.text")).not_to_be_empty()
    expect(page.locator("li.criterion.pass#criterion-evaluation")).to_contain_text("高新技术企业")
    page.screenshot(path=ARTIFACTS / "designations-explanation.png", full_page=True)


def test_an_explanation_shows_the_figures_and_their_sources(page, granted, sign_in):
    sign_in(granted["bureau"])
    page.goto("/designations/screening/HNTE-2016/beta/?date=2026-04-01")
    rd = page.locator("#criterion-rd-intensity")
    expect(rd.locator(":scope > .criterion-head > .status")).to_have_text("符合")
    expect(rd.locator("dd.threshold")).to_contain_text("≥ 4%")
    expect(rd.locator("table.figures-used tbody tr")).to_have_count(6)  # R&D and revenue, 2023–2025
    expect(rd.locator("table.figures-used .status.approved")).to_have_count(6)
    page.screenshot(path=ARTIFACTS / "designations-explanation-hnte.png", full_page=True)

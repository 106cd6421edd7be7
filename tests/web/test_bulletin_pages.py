"""The bulletins' pages in Chromium, on the demo: the bureau opens the seed's draft and
publishes it; then a visitor, signed out, finds it in the list, reads it with the seed's
breadcrumb, follows the figure 74 to its row in the annex, switches the language and reads
135亿元, and downloads the PDF. Every page is also checked for console errors and
Content-Security-Policy refusals (conftest), and photographed into artifacts/."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from kechuang.bulletins import services
from kechuang.demo.builder import build_demo
from kechuang.registry.models import Region
from kechuang.statistics.periods import Period

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
TITLE_EN = "Tongzhou makes great strides in innovation"


def screenshot(page, name: str) -> None:
    """A picture of the page for a reviewer (artifacts/ is git-ignored)."""
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True, caret="initial")


@pytest.fixture
def draft(transactional_db):
    list(build_demo())
    ARTIFACTS.mkdir(exist_ok=True)
    return services.bulletin_for(services.find_template("half-year"), Region.objects.get(code="320612"),
                                 Period.parse("2023H1"))


def test_the_bureau_publishes_a_draft_and_a_visitor_reads_it_and_downloads_the_pdf(page, context, draft, sign_in):
    sign_in(get_user_model().objects.get(username="bureau"))
    page.goto(f"/bulletins/{draft.pk}/")
    expect(page.locator(".draft-notice h2")).to_have_text("草稿：尚未发布")
    expect(page.locator("article.bulletin h1")).to_have_text("通州科技创新取得新进展")
    screenshot(page, "bulletin-draft")
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.locator("ul.messages")).to_contain_text("第1版已发布。")
    expect(page.locator(".draft-notice")).to_have_count(0)
    expect(page.locator(".downloads li")).to_have_count(10)
    expect(page.locator(".would-change")).to_contain_text("无：现在重新发布，数据不会变化。")
    screenshot(page, "bulletin-published-for-the-bureau")

    # A visitor: signed out, in a browser that asks for Chinese.
    context.clear_cookies()
    page.goto("/bulletins/")
    page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_contain_text("Bulletins")
    row = page.locator("table.bulletins tbody tr")
    expect(row).to_have_count(1)
    expect(row).not_to_contain_text("draft")
    screenshot(page, "bulletins-list")
    row.get_by_role("link", name=TITLE_EN).click()
    page.wait_for_url(re.compile(rf"/bulletins/{draft.pk}/$"))
    expect(page.locator("nav.breadcrumb")).to_have_text(
        f"Home › Regions › Jiangsu › Nantong › Tongzhou District › {TITLE_EN}")
    expect(page.locator('nav.breadcrumb [aria-current="page"]')).to_have_text(TITLE_EN)
    expect(page.get_by_role("button", name=re.compile("Publish"))).to_have_count(0)

    figure = page.locator("article.bulletin a.figure", has_text=re.compile(r"^74$"))
    target = figure.get_attribute("href")
    figure.click()
    page.wait_for_url(re.compile(rf"{target}$"))
    row = page.locator(f"tr{target}")
    expect(row).to_be_in_viewport()
    expect(row).to_contain_text("74")
    assert page.evaluate("document.querySelector(':target').id") == target.removeprefix("#")
    screenshot(page, "bulletin-figure-in-the-annex")

    page.get_by_role("button", name="中文").click()
    expect(page.locator("article.bulletin")).to_contain_text("135亿元")
    expect(page.locator("nav.breadcrumb")).to_contain_text("首页 › 地区 › 江苏省 › 南通市 › 通州区")
    screenshot(page, "bulletin-in-chinese")
    with page.expect_download() as downloading:
        page.locator(".downloads a", has_text="PDF").first.click()
    download = downloading.value
    assert download.suggested_filename == "tongzhou-2023H1-half-year-v1-zh.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")


def test_the_bureau_previews_a_template_in_place_and_sees_where_it_is_wrong(page, draft, sign_in):
    sign_in(get_user_model().objects.get(username="bureau"))
    page.goto("/bulletins/templates/half-year/")
    expect(page.locator("textarea#id_source")).to_contain_text("makes great strides")
    page.evaluate("window.__samePage = true")
    page.get_by_role("button", name="预览").click()
    expect(page.locator("#preview article.bulletin")).to_have_count(2)
    expect(page.locator("#preview")).to_contain_text("135亿元")
    expect(page.locator("#preview")).to_contain_text("13.5 billion yuan ($1.86 billion)")
    assert page.evaluate("window.__samePage") is True  # htmx replaced the preview; the page stayed
    screenshot(page, "bulletin-template-preview")
    source = page.locator("textarea#id_source")
    source.fill(source.input_value().replace("Additionally, the high-tech sector",
                                             "Additionally, {{ secret }} the high-tech sector"))
    page.get_by_role("button", name="预览").click()
    expect(page.locator("#preview .errors")).to_contain_text("sections[0].paragraphs[1].en: secret: not declared")
    expect(page.locator("#preview article.bulletin")).to_have_count(0)
    screenshot(page, "bulletin-template-error")

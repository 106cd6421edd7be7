"""The indicators' pages in Chromium: the dashboard, its period picker (htmx), its charts
(ECharts), the links to the records behind a figure, and the explorer's query in the URL.
Every page is also checked for console errors and Content-Security-Policy refusals (conftest)."""

import re
from pathlib import Path

from playwright.sync_api import expect

from kechuang.statistics.models import ObservationStatus

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def screenshot(page, name: str) -> None:
    """A picture of the page for a reviewer (artifacts/ is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True, caret="initial")

DASHBOARD = "/regions/320612/indicators/?period=2023H1"


def test_the_dashboard_shows_its_figures_in_chinese_with_a_trend_chart_for_each(page, shown):
    page.goto(DASHBOARD)
    expect(page.locator("h1")).to_contain_text("通州区 · 主要指标")
    expect(page.locator(".breadcrumb")).to_contain_text("首页 › 地区 › 江苏省 › 南通市 › 通州区 › 指标")
    expect(page.locator("#card-projects_approved a.value")).to_have_text("2个")
    expect(page.locator("#card-high_tech_share")).to_contain_text("官方")
    cards = page.locator("article.card.indicator")
    # ECharts draws each trend on a canvas of its own.
    expect(page.locator(".spark canvas")).to_have_count(cards.count())
    assert page.locator(".spark").first.bounding_box()["height"] > 40
    # The Chinese is drawn with a CJK font, not as empty boxes: its glyphs are as wide as they are tall.
    width = page.evaluate("""() => {
        const probe = document.createElement("span"); probe.textContent = "通州区科技创新";
        document.querySelector("main").append(probe); const width = probe.getBoundingClientRect().width;
        probe.remove(); return width; }""")
    assert width > 7 * 12


def test_the_period_picker_changes_the_figures_and_the_url_without_reloading_the_page(page, shown):
    page.goto(DASHBOARD)
    expect(page.locator(".spark canvas").first).to_be_visible()
    page.evaluate("window.__samePage = true")
    page.select_option("#period", "2022H1")
    page.wait_for_url(re.compile(r"/regions/320612/indicators/\?period=2022H1$"))
    expect(page.locator("#card-projects_approved a.value")).to_have_text("1个")
    expect(page.locator(".period-line")).to_contain_text("2022年上半年")
    assert page.evaluate("window.__samePage") is True  # htmx swapped a part; the page was not loaded again
    expect(page).to_have_title(re.compile("2022年上半年"))
    expect(page.locator(".spark canvas")).to_have_count(page.locator(".spark").count())
    # The URL holds the state: back goes to 2023H1, a new visit to 2022H1 shows 2022H1.
    page.go_back()
    page.wait_for_url(re.compile(r"period=2023H1$"))
    expect(page.locator("#card-projects_approved a.value")).to_have_text("2个")
    page.goto("/regions/320612/indicators/?period=2022H1")
    expect(page.locator("#period")).to_have_value("2022H1")
    # The page's trends come after it: the test ends when they are drawn, not while the server
    # still answers them (an answer in flight at the end held the SQLite database's lock while
    # the test's data was removed).
    expect(page.locator(".spark canvas")).to_have_count(page.locator(".spark").count())


def test_a_figure_links_to_the_records_behind_it(page, shown, sign_in):
    sign_in(shown["bureau"])
    page.goto(DASHBOARD)
    page.click("#card-projects_approved a.value")
    page.wait_for_url(re.compile(r"/indicators/projects_approved/contributors/\?region=320612&period=2023H1$"))
    expect(page.locator("main")).to_contain_text("智能装备研发项目")
    expect(page.locator("main")).to_contain_text("真空泵国产化项目")
    expect(page.locator("main")).not_to_contain_text("您无权查看")


def test_the_public_sees_how_many_records_it_may_not_see(page, shown):
    page.goto(DASHBOARD)
    page.click("#card-projects_approved a.value")
    expect(page.locator(".not-visible")).to_contain_text("另有 2 条您无权查看")
    expect(page.locator("main")).not_to_contain_text("智能装备研发项目")


def test_the_explorer_form_round_trips_its_query_through_the_url(page, shown):
    page.goto("/indicators/")
    expect(page.locator(".catalogue")).to_contain_text("share(high_tech_output_above_size, industrial_output_above_size)")
    page.check("input[name=codes][value=projects_approved]")
    page.check("input[name=codes][value=industrial_output]")
    page.fill("input[name=region]", "320600")
    page.select_option("select[name=by]", "children")
    page.fill("input[name=period_from]", "2022H1")
    page.fill("input[name=period_to]", "2023H1")
    page.click("form.explorer-form button[type=submit]")
    # The catalogue's order (by code), whatever order they were ticked in.
    query = "codes=industrial_output%2Cprojects_approved&region=320600&by=children&period_from=2022H1&period_to=2023H1"
    page.wait_for_url(re.compile(re.escape(f"/indicators/?{query}") + "$"))
    expect(page.locator("#result-projects_approved table tbody tr")).to_have_count(3)  # two districts and Nantong
    expect(page.locator("#result-industrial_output .chart canvas")).to_have_count(1)
    expect(page.locator("a[download]")).to_have_attribute("href", f"/api/v1/indicators/table/?{query}&download=xlsx")
    # The address alone brings the same page back, its form filled in.
    page.goto(page.url)
    expect(page.locator("input[name=codes][value=projects_approved]")).to_be_checked()
    expect(page.locator("input[name=codes][value=high_tech_share]")).not_to_be_checked()
    expect(page.locator("input[name=region]")).to_have_value("320600")
    expect(page.locator("select[name=by]")).to_have_value("children")
    expect(page.locator("input[name=period_to]")).to_have_value("2023H1")


def test_a_bad_query_in_the_explorer_is_explained_on_the_page(page, shown):
    answer = page.goto("/indicators/?codes=projects_approved&region=999999&period=2023H1")
    assert answer.status == 400
    expect(page.locator("[role=alert]")).to_contain_text("region '999999' is not a division code kechuang knows")
    expect(page.locator("input[name=region]")).to_have_value("999999")
    # The browser reports the 400 on the console; that one is expected.
    assert [error for error in page.console.errors if "400 (Bad Request)" not in error] == []
    page.console.errors.clear()


def test_the_charts_tooltips_and_updates_break_no_content_security_rule(page, shown):
    page.goto("/indicators/?codes=projects_approved&region=320600&by=children&period_from=2021H1&period_to=2023H1")
    chart = page.locator(".chart").first
    expect(chart.locator("canvas")).to_have_count(1)
    box = chart.bounding_box()
    for fraction in (0.3, 0.6, 0.9):  # the tooltip is drawn where the pointer is
        page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
        page.wait_for_timeout(100)
    page.goto(DASHBOARD)
    page.hover("#card-high_tech_share .spark")
    page.select_option("#period", "2022H1")
    page.wait_for_url(re.compile(r"period=2022H1$"))
    expect(page.locator(".spark canvas")).to_have_count(page.locator(".spark").count())
    assert page.console.problems() == []


def test_the_language_switch_turns_the_dashboard_into_english_and_back(page, shown):
    page.goto(DASHBOARD)
    expect(page.locator("#card-projects_approved a.value")).to_have_text("2个")
    page.click("form.language button")
    page.wait_for_url(re.compile(r"/regions/320612/indicators/\?period=2023H1$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_contain_text("Tongzhou · key indicators")
    expect(page.locator("#card-projects_approved a.value")).to_have_text("2")
    expect(page.locator("#card-high_tech_share")).to_contain_text("official")
    expect(page.locator(".period-line")).to_contain_text("2023 H1")
    expect(page.locator(".spark canvas")).to_have_count(page.locator(".spark").count())
    screenshot(page, "dashboard-en")
    page.click("form.language button")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#card-projects_approved a.value")).to_have_text("2个")


def test_an_anonymous_visitor_sees_approved_figures_only(page, shown, figure, sign_in):
    # A figure the bureau has not approved yet counts for the bureau (marked provisional), not for the public.
    figure(shown["mover"], "industrial-output", "2023H1", 5000, status=ObservationStatus.SUBMITTED)
    page.goto(DASHBOARD)
    public = page.locator("#card-industrial_output_above_size")
    # 600元 without the submitted figure, or withheld: in this small world disclosure control may
    # hide it (the measures of one metric share one pattern), but never shows 5600元.
    expect(public.locator("a.value")).to_have_text(re.compile(r"^(600元|—)$"))
    expect(public).not_to_contain_text("初步")
    sign_in(shown["bureau"])
    page.goto(DASHBOARD)
    bureau = page.locator("#card-industrial_output_above_size")
    expect(bureau.locator("a.value")).to_have_text("5600元")
    expect(bureau).to_contain_text("初步")
    screenshot(page, "dashboard")

"""A programme's journey in Chromium, as its real users take it: an enterprise applies to an
open call with a PDF, saves a draft and submits; the bureau starts the review and assigns a
reviewer; the reviewer scores; the bureau sees the score and approves; the district's
dashboard counts one more project approved in the current half-year. Every page is also
checked for console errors and Content-Security-Policy refusals (conftest)."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.programs import services
from kechuang.programs.models import Project, ProjectState

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CRITERIA = [{"name": "创新性", "max": 40}, {"name": "可行性", "max": 30}, {"name": "效益", "max": 30}]


def small_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, table)
    return bytes(out)


def current_period() -> str:
    today = timezone.localdate()
    return f"{today.year}H{1 if today.month <= 6 else 2}"


@pytest.fixture
def journey(transactional_db, world, django_user_model, settings, tmp_path):
    """The small world of tests/indicators, a call of Tongzhou open now and a reviewing expert."""
    settings.MEDIA_ROOT = tmp_path / "media"
    now = timezone.now()
    services.open_call(world["tongzhou"], key="tongzhou-now", programme_zh="通州区科技创新项目（当期）",
                       programme_en="Tongzhou innovation projects", categories=["普通科创项目", "高成长型科创项目"],
                       criteria=CRITERIA, opens=now - dt.timedelta(days=3), closes=now + dt.timedelta(days=30),
                       required_documents=["可行性研究报告"])
    world["reviewer"] = django_user_model.objects.create_user("reviewer", first_name="王", last_name="专家")
    grant_role(world["reviewer"], Role.REVIEWER, by=None)
    services.register_expert(world["reviewer"], expertise="智能制造")
    return world


def approved_on_the_dashboard(page, period: str) -> int:
    page.goto(f"/regions/320612/indicators/?period={period}")
    shown = page.locator("#card-projects_approved a.value").inner_text()
    found = re.search(r"\d+", shown)
    return int(found.group()) if found else 0


def test_an_application_goes_from_the_call_to_approval(page, journey, sign_in):
    ARTIFACTS.mkdir(exist_ok=True)
    period = current_period()
    sign_in(journey["bureau"])
    before = approved_on_the_dashboard(page, period)

    # The enterprise opens the open call and applies.
    sign_in(journey["owner"])
    page.goto("/programmes/calls/")
    expect(page.locator("h1")).to_have_text("申报通知")
    page.evaluate("window.__samePage = true")
    page.select_option("#id_status", "open")  # htmx swaps the list and puts the filter in the address
    page.wait_for_url(re.compile(r"/programmes/calls/\?status=open(&|$)"))
    expect(page.locator("#call-list tbody tr")).to_have_count(1)
    assert page.evaluate("window.__samePage") is True
    page.screenshot(path=ARTIFACTS / "programmes-calls.png", full_page=True)
    page.click("text=通州区科技创新项目（当期）")
    expect(page.locator(".status.call-open")).to_have_text("申报中")
    page.click("a.button:has-text('申报')")
    page.wait_for_url("**/programmes/calls/tongzhou-now/apply/")
    page.select_option("#id_category", "普通科创项目")
    page.fill("#id_title_zh", "干式真空泵国产化研发")
    page.fill("#id_title_en", "Dry vacuum pumps")
    page.fill("#id_summary", "面向12英寸晶圆厂的干式真空泵。")
    page.fill("#id_requested_funding", "500000")
    page.fill("#id_own_funding", "1500000")
    page.fill("#id_planned_start", "2027-01-01")
    page.fill("#id_planned_end", "2028-12-31")
    page.set_input_files("#id_file", files=[{"name": "可行性研究报告.pdf", "mimeType": "application/pdf",
                                            "buffer": small_pdf()}])
    page.screenshot(path=ARTIFACTS / "programmes-application-form.png", full_page=True)
    page.click("button[name=draft]")
    page.wait_for_url(re.compile(r"/programmes/applications/project-[0-9a-f]+/$"))
    expect(page.locator("#project-status")).to_have_text("草稿")
    expect(page.locator("main")).to_contain_text("可行性研究报告.pdf")
    project = Project.objects.get(title_zh="干式真空泵国产化研发")
    assert project.attachments.get().content_type == "application/pdf"
    page.click("text=修改或提交")
    expect(page.locator("#id_title_zh")).to_have_value("干式真空泵国产化研发")
    page.click("button[name=submit]")
    expect(page.locator("#project-status")).to_have_text("已申报")
    expect(page.locator(".timeline")).to_contain_text("提交申报")

    # The bureau starts the review and assigns the expert.
    sign_in(journey["bureau"])
    page.goto("/programmes/board/")
    expect(page.locator("#board-list")).to_contain_text("干式真空泵国产化研发")
    page.screenshot(path=ARTIFACTS / "programmes-review-board.png", full_page=True)
    page.click("text=干式真空泵国产化研发")
    page.click("#start-review")
    expect(page.locator("#project-status")).to_have_text("评审中")
    page.select_option("#id_reviewer", str(journey["reviewer"].pk))
    page.click("#assign button[type=submit]")
    expect(page.locator("table.scores")).to_contain_text("王")

    # The reviewer scores it from their queue.
    sign_in(journey["reviewer"])
    page.goto("/programmes/reviews/")
    expect(page.locator("#review-list")).to_contain_text("待评分")
    page.screenshot(path=ARTIFACTS / "programmes-reviewer-queue.png", full_page=True)
    page.click("text=干式真空泵国产化研发")
    page.fill("#id_score_0", "36")
    page.fill("#id_score_1", "25")
    page.fill("#id_score_2", "22.5")
    page.fill("#id_comment", "技术路线清晰，市场前景好。")
    page.click("form.score button[type=submit]")
    page.wait_for_url("**/programmes/reviews/")
    expect(page.locator("#review-list")).to_contain_text("83.50")

    # The bureau sees the score and approves.
    sign_in(journey["bureau"])
    page.goto(f"/programmes/board/{project.key}/")
    expect(page.locator("table.scores")).to_contain_text("83.50")
    expect(page.locator("table.ranking tr.current")).to_contain_text("83.50")
    page.screenshot(path=ARTIFACTS / "programmes-board-project.png", full_page=True)
    page.check("#decide input[value=approve]")
    page.fill("#decide textarea[name=comment]", "同意立项")
    page.click("#decide button[type=submit]")
    expect(page.locator("#project-status")).to_have_text("已立项")
    page.goto(f"/programmes/applications/{project.key}/")
    expect(page.locator("section.decision")).to_contain_text("同意立项")
    page.screenshot(path=ARTIFACTS / "programmes-application.png", full_page=True)
    project.refresh_from_db()
    assert project.state == ProjectState.APPROVED

    # The district's dashboard counts it.
    assert approved_on_the_dashboard(page, period) == before + 1
    expect(page.locator("#card-projects_approved a.value")).to_have_text(f"{before + 1}个")

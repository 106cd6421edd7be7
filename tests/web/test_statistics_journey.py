"""The statistics in Chromium: an enterprise reports on the form, uploads a workbook with
mistakes, reads every problem on the job's page (which htmx refreshes while the worker
imports), downloads the error report, corrects it and uploads it again; then the bureau
approves a figure in its queue and looks at the locks of the period.

The background task runs in the database backend of Django's tasks framework, as in
production; the test plays the worker (`run_worker`) once the upload is queued, and the
page, polling every 2 seconds, shows the outcome by itself."""

import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from kechuang.statistics.importer import PROBLEMS_COLUMN
from kechuang.statistics.models import ImportJob, Observation
from tests.statistics.test_pages_upload import run_worker

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
HEADER = ["主体标识", "指标", "期间", "数值", "单位"]


@pytest.fixture
def journey(transactional_db, world, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    ARTIFACTS.mkdir(exist_ok=True)
    return world


def workbook(path: Path, rows: list[list]) -> Path:
    book = openpyxl.Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    book.save(path)
    return path


def upload(page, path: Path) -> None:
    page.goto("/statistics/import/")
    page.set_input_files("#id_file", str(path))
    page.get_by_role("button", name="上传并导入").click()
    page.wait_for_url(re.compile(r"/statistics/import/\d+/$"))


def test_an_enterprise_corrects_its_upload_from_the_error_report_and_the_bureau_approves(
        page, journey, sign_in, tmp_path):
    sign_in(journey["owner"])

    # The report form: the enterprise's metrics for the period, in Chinese; a draft saved.
    page.goto("/statistics/report/?period=2023H1")
    expect(page.locator("h1")).to_contain_text("数据填报")
    expect(page.locator("h1 small")).to_contain_text("plain公司 · 2023年上半年")
    page.fill("#id_value_rd-expenditure", "35")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("ul.messages")).to_contain_text("已保存 1 条数据为草稿")
    expect(page.locator("#id_value_rd-expenditure")).to_have_value("35")
    page.screenshot(path=ARTIFACTS / "statistics-report-form.png", full_page=True, caret="initial")

    # A workbook with a word for a number (row 3) and a metric nobody knows (row 4).
    bad = workbook(tmp_path / "上半年数据.xlsx", [
        ["plain", "工业总产值", "2023H1", 1234.5, "万元"],
        ["plain", "从业人员", "2023H1", "一百二十", "人"],
        ["plain", "不存在的指标", "2023H1", 5, "万元"],
    ])
    upload(page, bad)
    expect(page.locator(".job-status")).to_contain_text("等待处理")
    expect(page.locator("#job")).to_have_attribute("hx-trigger", "every 2s")
    run_worker()
    # No reload: htmx asks for the status part again and it shows the outcome.
    problems = page.locator("table.problems tbody tr")
    expect(problems).to_have_count(2)
    expect(page.locator(".job-status")).to_contain_text("发现 2 处错误，未写入任何数据")
    expect(page.locator("#job")).not_to_have_attribute("hx-trigger", "every 2s")
    expect(problems.nth(0).locator("th")).to_have_text("3")
    expect(problems.nth(0)).to_contain_text("数值")
    expect(problems.nth(0)).to_contain_text("一百二十")
    expect(problems.nth(0)).to_contain_text("is not a number")
    expect(problems.nth(1).locator("th")).to_have_text("4")
    expect(problems.nth(1)).to_contain_text("指标")
    expect(problems.nth(1)).to_contain_text("不存在的指标")
    expect(problems.nth(1)).to_contain_text("no metric has this code or name")
    assert not Observation.objects.filter(import_job__isnull=False).exists()
    page.screenshot(path=ARTIFACTS / "statistics-import-errors.png", full_page=True, caret="initial")

    # The error report: the same table with a first column naming each row's problems.
    with page.expect_download() as download:
        page.get_by_role("link", name="下载问题清单（.xlsx）").click()
    report = tmp_path / "report.xlsx"
    download.value.save_as(report)
    book = openpyxl.load_workbook(report)
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == PROBLEMS_COLUMN and list(rows[0][1:]) == HEADER
    assert not rows[1][0]  # the good row has no problem
    assert rows[2][0].startswith("error: 数值:") and "is not a number" in rows[2][0]
    assert rows[3][0].startswith("error: 指标:") and "no metric has this code or name" in rows[3][0]
    # The clerk corrects the two cells and uploads the same file again.
    sheet.cell(row=3, column=5).value = 120
    sheet.cell(row=4, column=3).value = "营业收入"
    fixed = tmp_path / "上半年数据-已改.xlsx"
    book.save(fixed)
    upload(page, fixed)
    run_worker()
    expect(page.locator(".job-status")).to_contain_text("已写入 3 条数据")
    job = ImportJob.objects.order_by("-pk").first()
    figures = dict(Observation.objects.current().filter(import_job=job).values_list("metric__code", "value"))
    assert figures == {"industrial-output": 12345000, "employees": 120, "operating-revenue": 50000}

    # The bureau: its queue, filtered in place, and one figure approved.
    sign_in(journey["bureau"])
    page.goto("/statistics/review/")
    expect(page.locator("table.queue caption")).to_have_text("共 3 条数据")
    page.screenshot(path=ARTIFACTS / "statistics-approval-queue.png", full_page=True, caret="initial")
    page.evaluate("window.__samePage = true")
    page.select_option("#id_metric", "employees")
    page.wait_for_url(re.compile(r"metric=employees"))
    expect(page.locator("table.queue caption")).to_have_text("共 1 条数据")
    assert page.evaluate("window.__samePage") is True  # htmx swapped the list; the page stayed
    page.locator("table.queue tbody tr").first.get_by_role("button", name="通过").click()
    expect(page.locator("ul.messages")).to_contain_text("plain公司 · 从业人员 · 2023年上半年：已审核")
    assert Observation.objects.current().get(import_job=job, metric__code="employees").status == "approved"
    expect(page).to_have_url(re.compile(r"metric=employees"))  # back to the queue as it was filtered

    # The locks of the period: who has not reported, and the lock.
    page.goto("/statistics/locks/?region=320612&period=2023H1")
    expect(page.locator("section.check")).to_contain_text("未报齐的规模以上企业")
    page.screenshot(path=ARTIFACTS / "statistics-locks.png", full_page=True, caret="initial")
    page.get_by_role("button", name=re.compile("审核通过并锁定")).click()
    expect(page.locator("ul.messages")).to_contain_text("数据已锁定")
    expect(page.locator("table.locks tbody tr")).to_have_count(1)

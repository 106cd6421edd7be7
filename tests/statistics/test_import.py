"""Importing figures from files (importer.py): every column form, the wide layout of Chinese
tables, each rule, atomicity, the error report, corrections, permissions and the command.
Every file is built here, in tmp_path."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from kechuang.registry import services as registry
from kechuang.statistics import importer
from kechuang.statistics.importer import PROBLEMS_COLUMN, import_observations, write_error_report
from kechuang.statistics.models import DataLock, ImportJob, Observation, ObservationStatus
from kechuang.tabular import open_table, read_table

from .conftest import csv_bytes

pytestmark = pytest.mark.django_db

TODAY = dt.date(2024, 3, 1)
LONG = ["统一社会信用代码", "企业名称", "指标", "期间", "数值", "单位"]


def run(path, **options):
    options.setdefault("today", TODAY)
    return import_observations(path, **options)


def current(organisation, metric="industrial-output", period=None, kind="actual"):
    rows = Observation.objects.current().filter(organisation=organisation, metric__code=metric, kind=kind)
    if period:
        rows = rows.filter(period=period)
    return rows.get()


def reasons(outcome):
    return [problem.reason for problem in outcome.errors]


def rows_of(outcome):
    return sorted({problem.row for problem in outcome.errors})


# --- the columns of a long table -----------------------------------------------------------------


def test_a_long_csv_with_chinese_headers_is_stored_exactly_in_yuan_as_submitted(district, csv_file):
    path = csv_file([LONG,
                     [district["zhongkeyi"].uscc, "", "工业总产值", "2023年", "1,234.5", "万元"],
                     ["", "南通甲公司", "工业总产值", "2023年", "13.5", "亿元"]])
    outcome = run(path)
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert (outcome.rows_read, outcome.figures, outcome.written) == (2, 2, 2)
    figure = current(district["zhongkeyi"])
    assert figure.value == Decimal("12345000")
    assert (figure.entered_value, figure.entered_unit) == (Decimal("1234.5"), "万元")
    assert (figure.period, figure.period_start, figure.period_end) == ("2023", dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert (figure.status, figure.interface, figure.import_job) == (ObservationStatus.SUBMITTED, "import", outcome.job)
    assert figure.entered_by is None
    assert current(district["jia"]).value == Decimal("1350000000")


def test_english_headers_organisation_keys_and_metric_codes_are_read(district, csv_file):
    path = csv_file([["key", "Metric", "Period", "Value", "Unit", "Kind"],
                     ["jia", "industrial-output", "2023H1", "100", "10k yuan", "actual"],
                     ["jia", "total industrial output value", "2023Q3", "7", "", "estimate"],
                     ["jia", "Employees", "2023", "120", "persons", ""]])
    outcome = run(path)
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert current(district["jia"], period="2023H1").value == Decimal("1000000")
    assert current(district["jia"], period="2023Q3", kind="estimate").value == Decimal("7")
    assert current(district["jia"], "employees").value == 120


def test_a_name_is_matched_exactly_whatever_the_width_of_its_brackets(district, csv_file):
    # Registered with full-width brackets, typed with ASCII ones.
    path = csv_file([["企业名称", "指标", "期间", "数值"],
                     ["中科仪(南通)半导体设备有限责任公司", "工业总产值", "2023", "5"]])
    assert run(path).status == ImportJob.Status.DONE
    assert current(district["zhongkeyi"]).value == 5


def test_a_name_two_organisations_share_is_an_error_listing_them_unless_the_region_is_given(district, csv_file):
    path = csv_file([["企业名称", "指标", "期间", "数值"], ["南通丙公司", "工业总产值", "2023", "5"]])
    outcome = run(path)
    assert outcome.status == ImportJob.Status.REFUSED
    assert "2 organisations have this name: bing-chongchuan in 320602, bing-tongzhou in 320612" in reasons(outcome)[0]
    outcome = run(path, region="320612")
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert current(district["bing-tongzhou"]).value == 5


def test_a_name_outside_the_region_given_is_unknown(district, csv_file):
    path = csv_file([["企业名称", "指标", "期间", "数值"], ["南通乙公司", "工业总产值", "2023", "5"]])
    outcome = run(path, region="通州区")
    assert "no organisation in 通州区 320612 has exactly this name" in reasons(outcome)[0]


@pytest.mark.parametrize(("written", "code"), [
    ("2023", "2023"), ("2023年度", "2023"), ("2023H1", "2023H1"), ("2023年上半年", "2023H1"),
    ("2023年1-6月", "2023-01..2023-06"), ("2023年1—5月", "2023-01..2023-05"), ("2023Q3", "2023Q3"),
    ("2023年一季度", "2023Q1"), ("2023-07", "2023-07"), ("2023年7月", "2023-07"), ("2023年前三季度", "2023-01..2023-09"),
    ("２０２３年１－６月", "2023-01..2023-06"),
])
def test_every_form_of_period_is_read(district, csv_file, written, code):
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", written, "1"]]))
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert current(district["jia"]).period == code


def test_a_period_phrase_without_a_year_takes_the_year_of_the_period_given(district, csv_file):
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "一季度", "1"]]), period="2023")
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert current(district["jia"]).period == "2023Q1"


def test_the_kind_is_read_in_chinese_and_an_estimate_may_be_for_a_period_not_over(district, csv_file):
    path = csv_file([["主体标识", "指标", "期间", "数值", "类型"],
                     ["jia", "工业总产值", "2024", "9", "预计"], ["jia", "工业总产值", "2025", "10", "目标"],
                     ["jia", "工业总产值", "2023", "8", "实际"]])
    assert run(path).status == ImportJob.Status.DONE
    assert current(district["jia"], period="2024", kind="estimate").value == 9
    assert current(district["jia"], period="2025", kind="target").value == 10
    assert current(district["jia"], period="2023").value == 8


def test_a_source_is_named_by_its_key(district, csv_file):
    source = registry.save_source("tongzhou-2023", title="通州区2023年统计公报")[0]
    path = csv_file([["主体标识", "指标", "期间", "数值", "来源"], ["jia", "工业总产值", "2023", "8", "tongzhou-2023"],
                     ["jia", "营业收入", "2023", "8", "no-such-source"]])
    outcome = run(path)
    assert reasons(outcome) == ["no source has this key: register the source first"]
    run(path.with_name("ok.csv") if False else csv_file(
        [["主体标识", "指标", "期间", "数值", "来源"], ["jia", "工业总产值", "2023", "8", "tongzhou-2023"]], name="ok.csv"))
    assert current(district["jia"]).source == source


def test_a_unit_written_after_the_number_is_read(district, csv_file):
    assert run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "135亿元"]])).written == 1
    assert current(district["jia"]).value == Decimal("13500000000")


def test_a_cell_and_the_unit_column_that_disagree_are_an_error(district, csv_file):
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值", "单位"], ["jia", "工业总产值", "2023", "135亿元", "万元"]]))
    assert "disagree on the unit (亿元, 万元)" in reasons(outcome)[0]


def test_a_unit_that_is_not_the_metrics_is_an_error(district, csv_file):
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值", "单位"], ["jia", "工业总产值", "2023", "5", "人"],
                            ["jia", "从业人员", "2023", "5", "万元"]]))
    assert reasons(outcome) == ["the unit column: 工业总产值 (industrial-output) is not given in 人: use 元, 千元, 万元 or 亿元",
                                "the unit column: 从业人员 (employees) is not given in 万元: use 人"]


def test_a_region_code_names_a_regions_own_figure(district, csv_file):
    path = csv_file([["地区代码", "指标", "期间", "数值"], ["320612", "高新技术产业产值占规上工业总产值比重", "2023", "56%"]])
    outcome = run(path)
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    figure = Observation.objects.get(region=district["tongzhou"])
    assert (figure.value, figure.metric.code) == (Decimal("56"), "high-tech-output-share")


# --- the wide layout -------------------------------------------------------------------------


def test_a_wide_table_with_units_in_brackets_takes_the_period_given(district, csv_file):
    path = csv_file([["统一社会信用代码", "企业名称", "工业总产值(万元)", "高新技术产业产值（万元）", "从业人员(人)", "序号"],
                     [district["zhongkeyi"].uscc, "中科仪(南通)半导体设备有限责任公司", "1,000", "600", "85", "1"],
                     [district["jia"].uscc, "南通甲公司", "2000", "—", "40", "2"]])
    outcome = run(path, period="2023年1-6月")
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert (outcome.layout, outcome.figures, outcome.written) == ("wide", 5, 5)
    assert current(district["zhongkeyi"], "high-tech-output").value == Decimal("6000000")
    assert current(district["zhongkeyi"]).period == "2023-01..2023-06"
    assert current(district["jia"], "employees").value == 40
    assert not Observation.objects.filter(organisation=district["jia"], metric__code="high-tech-output").exists()


def test_a_wide_table_takes_the_period_of_each_row_from_a_period_column(district, csv_file):
    path = csv_file([["主体标识", "期间", "营业收入(万元)"], ["jia", "2022", "10"], ["jia", "2023", "11"]])
    assert run(path).written == 2
    assert current(district["jia"], "operating-revenue", period="2022").value == 100000


def test_a_merged_two_level_header_under_a_title_reads_this_period_and_last_years(district, xlsx_file):
    path = xlsx_file([
        ["2023年1-6月规上工业企业主要指标", None, None, None, None, None],
        ["企业名称", "工业总产值(万元)", None, "营业收入(万元)", None, "增长(%)"],
        [None, "本期", "上年同期", "本期", "上年同期", None],
        ["南通甲公司", 1200, "1,000", 300, 250, 20],
        ["中科仪(南通)半导体设备有限责任公司", "１２３４．５", 1000.5, None, None, None],
    ], merges=["A1:F1", "A2:A3", "B2:C2", "D2:E2", "F2:F3"])
    outcome = run(path, period="2023H1")
    assert outcome.status == ImportJob.Status.DONE, (outcome.errors, outcome.warnings)
    assert outcome.ignored_columns == ["增长(%)"]
    assert current(district["jia"], period="2023H1").value == Decimal("12000000")
    assert current(district["jia"], period="2022H1").value == Decimal("10000000")
    assert current(district["jia"], "operating-revenue", period="2022H1").value == Decimal("2500000")
    assert current(district["zhongkeyi"], period="2023H1").value == Decimal("12345000")
    assert current(district["zhongkeyi"], period="2022H1").value == Decimal("10005000")
    assert outcome.job.format == "xlsx" and outcome.job.sheet == "Sheet"


def test_a_header_level_may_name_the_period_and_the_unit(district, xlsx_file):
    path = xlsx_file([["企业名称", "2022年", None, "2023年", None],
                      [None, "工业总产值", "营业收入", "工业总产值", "营业收入"],
                      [None, "(万元)", "(万元)", "(亿元)", "(亿元)"],
                      ["南通甲公司", 10000, 20000, 1.2, 2.5]], merges=["A1:A3", "B1:C1", "D1:E1"])
    outcome = run(path)
    assert outcome.status == ImportJob.Status.DONE, (outcome.errors, outcome.warnings)
    assert current(district["jia"], period="2022").value == 100000000
    assert current(district["jia"], "operating-revenue", period="2023").value == 250000000


def test_a_unit_note_above_the_table_applies_to_its_money_columns_only(district, xlsx_file):
    path = xlsx_file([["单位：万元", None, None], ["企业名称", "工业总产值", "从业人员"], ["南通甲公司", 12, 30]])
    outcome = run(path, period="2023")
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert current(district["jia"]).value == 120000
    assert current(district["jia"], "employees").value == 30


def test_a_column_the_importer_does_not_know_is_a_warning_and_is_not_read(district, csv_file):
    path = csv_file([["主体标识", "工业总产值(万元)", "工业总产量(万元)"], ["jia", "1", "2"]])
    outcome = run(path, period="2023")
    assert outcome.status == ImportJob.Status.REFUSED
    assert [(w.column, w.reason.split(":")[0]) for w in outcome.warnings] == [("工业总产量(万元)", "this column is not read")]
    assert run(path, period="2023", accept_warnings=True).written == 1


def test_a_total_row_at_the_foot_of_the_table_is_skipped(district, csv_file):
    path = csv_file([["企业名称", "工业总产值(万元)"], ["南通甲公司", "1"], ["合计", "1"]])
    outcome = run(path, period="2023")
    assert (outcome.status, outcome.written, outcome.skipped_totals) == (ImportJob.Status.DONE, 1, 1)


def test_a_table_without_a_subject_or_a_period_is_refused_before_any_row_is_read(district, csv_file):
    outcome = run(csv_file([["指标", "数值"], ["工业总产值", "1"]]))
    assert outcome.status == ImportJob.Status.REFUSED
    assert [problem.row for problem in outcome.errors] == [1, 1]
    assert reasons(outcome)[0].startswith("no column names the subject")
    assert reasons(outcome)[1].startswith("no period")


# --- encodings and Excel's ways with numbers -------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_in_gbk_and_in_utf8_with_or_without_bom_is_read(district, csv_file, encoding):
    path = csv_file([LONG, ["", "南通甲公司", "工业总产值", "2023年上半年", "1,234.5", "万元"]], encoding=encoding)
    outcome = run(path)
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert current(district["jia"]).value == Decimal("12345000")
    assert outcome.job.encoding == {"gbk": "gb18030", "utf-8-sig": "utf-8-sig", "utf-8": "utf-8"}[encoding]


def test_numbers_stored_as_text_with_full_width_digits_and_thousands_separators_are_read(district, xlsx_file):
    path = xlsx_file([["企业名称", "指标", "期间", "数值", "单位"],
                      ["南通甲公司", "工业总产值", "２０２３年", "１，２３４．５", "万元"],
                      ["南通甲公司", "营业收入", "2023", " 12,345,678 ", "元"],
                      ["南通甲公司", "从业人员", "2023", 85, "人"]])
    outcome = run(path)
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert current(district["jia"]).value == Decimal("12345000")
    assert current(district["jia"], "operating-revenue").value == Decimal("12345678")


def test_a_named_sheet_is_read(district, tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["nothing"])
    sheet = workbook.create_sheet("2023年报")
    sheet.append(["主体标识", "指标", "期间", "数值"])
    sheet.append(["jia", "工业总产值", "2023", "3"])
    workbook.save(tmp_path / "book.xlsx")
    outcome = run(tmp_path / "book.xlsx", sheet="2023年报")
    assert (outcome.status, outcome.job.sheet) == (ImportJob.Status.DONE, "2023年报")


def test_a_file_object_such_as_an_upload_is_read_like_a_path(district):
    upload = io.BytesIO(csv_bytes([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "3"]], "gbk"))
    outcome = import_observations(upload, filename="上报.csv", today=TODAY)
    assert (outcome.status, outcome.job.file_name) == (ImportJob.Status.DONE, "上报.csv")


# --- the rules ----------------------------------------------------------------------------------


def test_a_negative_value_is_refused_where_the_metric_cannot_be_negative(district, csv_file):
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "-5"],
                            ["jia", "净资产", "2023", "-5"]]))
    assert reasons(outcome) == ["工业总产值 (industrial-output) cannot be negative: -5"]


def test_a_part_above_its_whole_in_the_same_file_is_refused(district, csv_file):
    outcome = run(csv_file([["主体标识", "工业总产值(万元)", "高新技术产业产值(万元)", "研发费用", "境内研发费用"],
                            ["jia", "100", "120", "10", "9"]]), period="2023")
    assert outcome.status == ImportJob.Status.REFUSED
    assert [(p.row, p.column) for p in outcome.errors] == [(2, "高新技术产业产值(万元)")]
    assert "高新技术产业产值 (high-tech-output) 1200000 exceeds 工业总产值 (industrial-output) 1000000" in reasons(outcome)[0]


def test_a_part_is_checked_against_the_whole_already_stored_and_the_other_way_round(district, csv_file):
    run(csv_file([["主体标识", "工业总产值", "高新技术产业产值"], ["jia", "100", "60"]], name="first.csv"), period="2023")
    outcome = run(csv_file([["主体标识", "高新技术产业产值"], ["jia", "120"]], name="part.csv"), period="2023")
    assert "(the figure already stored)" in reasons(outcome)[0]
    outcome = run(csv_file([["主体标识", "工业总产值"], ["jia", "50"]], name="whole.csv"), period="2023")
    assert "the part is already stored" in reasons(outcome)[0]
    # Both corrected together pass.
    outcome = run(csv_file([["主体标识", "工业总产值", "高新技术产业产值"], ["jia", "50", "40"]], name="both.csv"),
                  period="2023")
    assert outcome.status == ImportJob.Status.DONE, outcome.errors


def test_a_value_ten_thousand_times_the_previous_periods_is_a_warning_that_must_be_accepted(district, csv_file):
    run(csv_file([["主体标识", "工业总产值(万元)"], ["jia", "5000"]], name="2022.csv"), period="2022")
    path = csv_file([["主体标识", "工业总产值(万元)"], ["jia", "50,000,000"]], name="2023.csv")  # typed in 元
    outcome = run(path, period="2023")
    assert outcome.status == ImportJob.Status.REFUSED
    assert (outcome.error_count, outcome.warning_count, outcome.written) == (0, 1, 1)
    assert "probably entered in 元 instead of 万元" in outcome.warnings[0].reason
    assert "(2022, already stored)" in outcome.warnings[0].reason
    assert "--accept-warnings" in outcome.message
    assert not Observation.objects.filter(period="2023").exists()
    assert run(path, period="2023", accept_warnings=True).status == ImportJob.Status.DONE
    assert current(district["jia"], period="2023").value == Decimal("500000000000")


def test_the_mix_up_is_also_found_between_two_periods_of_the_same_file(district, csv_file):
    outcome = run(csv_file([["主体标识", "期间", "营业收入(万元)"], ["jia", "2022", "3"], ["jia", "2023", "30000"]]))
    assert [(warning.row, warning.reason.endswith("(2022, row 2)")) for warning in outcome.warnings] == [(3, True)]


def test_a_cumulative_range_is_compared_with_the_same_months_a_year_before(district, csv_file):
    outcome = run(csv_file([["主体标识", "期间", "营业收入"], ["jia", "2022年1-5月", "1"], ["jia", "2023年1-5月", "10000"]]))
    assert [warning.row for warning in outcome.warnings] == [3]


def test_unknown_subjects_metrics_and_periods_are_errors(district, csv_file):
    bad_uscc = district["jia"].uscc[:-1] + ("0" if district["jia"].uscc[-1] != "0" else "1")
    outcome = run(csv_file([LONG,
                            ["", "南通无此公司", "工业总产值", "2023", "1", ""],
                            [bad_uscc, "", "工业总产值", "2023", "1", ""],
                            ["", "南通甲公司", "工业总产量", "2023", "1", ""],
                            ["", "南通甲公司", "工业总产值", "2023年第五季度", "1", ""]]))
    assert rows_of(outcome) == [2, 3, 4, 5]
    assert reasons(outcome)[0].startswith("no organisation has exactly this name")
    assert reasons(outcome)[1].startswith("not a valid Unified Social Credit Code: check character")
    assert reasons(outcome)[2].startswith("no metric has this code or name")
    assert "there is no quarter 五" in reasons(outcome)[3]


def test_a_metric_is_refused_for_a_kind_of_subject_it_does_not_apply_to(district, csv_file):
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值"], ["hengli", "高新技术产品收入", "2023", "1"]]))
    assert reasons(outcome) == ["高新技术产品收入 (high-tech-product-revenue) is reported for enterprise, not for a park"]


def test_the_same_figure_twice_in_a_file_is_an_error_naming_both_rows(district, csv_file):
    outcome = run(csv_file([LONG, ["", "南通甲公司", "工业总产值", "2023", "1", ""],
                            ["", "南通乙公司", "工业总产值", "2023", "1", ""],
                            [district["jia"].uscc, "", "industrial-output", "2023年度", "2", ""]]))
    assert [(p.row, p.reason.split(" give")[0]) for p in outcome.errors] == [(4, "rows 2 and 4")]


def test_an_actual_figure_for_a_period_not_over_is_refused(district, csv_file):
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2024", "1"]]))
    assert reasons(outcome)[0].startswith("2024 has not ended yet")


def test_a_figure_under_an_open_lock_is_refused_naming_the_lock(district, csv_file):
    path = csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023年1-6月", "1"],
                     ["yi", "工业总产值", "2023年1-6月", "1"]])
    lock = DataLock.objects.create(region=district["tongzhou"], period="2023", period_start=dt.date(2023, 1, 1),
                                   period_end=dt.date(2023, 12, 31))
    outcome = run(path)
    assert rows_of(outcome) == [2]
    assert reasons(outcome)[0].startswith("the bureau approved and locked 通州区 320612 for 2023")
    lock.unlocked_at, lock.unlock_reason = dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "a firm corrected its output"
    lock.save()
    assert run(path).status == ImportJob.Status.DONE


# --- who may import what ------------------------------------------------------------------------


def test_an_enterprise_user_imports_only_their_own_figures(district, csv_file):
    path = csv_file([LONG, [district["zhongkeyi"].uscc, "", "工业总产值", "2023", "1", "万元"],
                     [district["jia"].uscc, "", "工业总产值", "2023", "1", "万元"]])
    outcome = run(path, by=district["owner"])
    assert outcome.status == ImportJob.Status.REFUSED
    assert [(p.row, p.column) for p in outcome.errors] == [(3, "统一社会信用代码")]
    assert reasons(outcome)[0].startswith("you may not report figures for this organisation")
    assert not Observation.objects.exists()
    outcome = run(csv_file([LONG, [district["zhongkeyi"].uscc, "", "工业总产值", "2023", "1", "万元"]], name="own.csv"),
                  by=district["owner"])
    assert outcome.status == ImportJob.Status.DONE
    assert current(district["zhongkeyi"]).entered_by == district["owner"]
    assert outcome.job.by == district["owner"]


def test_a_bureau_admin_imports_for_their_district_only(district, csv_file):
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "1"],
                            ["hengli", "工业总产值", "2023", "1"], ["yi", "工业总产值", "2023", "1"],
                            ["320612", "工业总产值", "2023", "1"], ["320602", "工业总产值", "2023", "1"]]),
                  by=district["bureau"])
    assert rows_of(outcome) == [4, 6]


# --- all or nothing, and the report --------------------------------------------------------------


def test_a_file_with_errors_writes_nothing_and_lists_every_bad_row(district, csv_file):
    rows = [LONG] + [["", "南通甲公司", "工业总产值", f"2023-{month:02d}", "1", "万元"] for month in range(1, 13)]
    rows[3][4] = "12a"
    rows[7][3] = "2023-13"
    rows[11][2] = "工业总产量"
    outcome = run(csv_file(rows))
    assert outcome.status == ImportJob.Status.REFUSED
    assert not Observation.objects.exists()
    assert [(p.row, p.column, p.value) for p in outcome.errors] == [
        (4, "数值", "12a"), (8, "期间", "2023-13"), (12, "指标", "工业总产量")]
    assert outcome.job.report["error_count"] == 3
    assert outcome.job.report["errors"][0] == {"row": 4, "column": "数值", "value": "12a",
                                               "reason": "'12a' is not a number: 'a' after the digits is not a unit"}
    assert outcome.job.rows_written == 0


def test_the_error_report_is_a_copy_of_the_file_with_a_problems_column_to_fix_and_upload_again(
        district, csv_file, tmp_path):
    path = csv_file([["企业名称", "工业总产值(万元)", "营业收入(万元)"], ["南通甲公司", "12", "-3"],
                     ["=HYPERLINK(\"http://evil\",\"南通乙公司\")", "5", "6"], ["南通乙公司", "7", "8"]])
    outcome = run(path, period="2023")
    report = tmp_path / "report.xlsx"
    assert write_error_report(outcome, path, report) == 3
    table = read_table(report)
    assert table.header == [PROBLEMS_COLUMN, "企业名称", "工业总产值(万元)", "营业收入(万元)"]
    problems = [row.values[PROBLEMS_COLUMN] for row in table.rows]
    assert problems[0] == "error: 营业收入(万元): 营业收入 (operating-revenue) cannot be negative: -30000"
    assert problems[1].startswith("error: 企业名称: no organisation has exactly this name")
    assert problems[2] == ""
    assert table.rows[1].values["企业名称"] == "'=HYPERLINK(\"http://evil\",\"南通乙公司\")"
    sheet = openpyxl.load_workbook(report).active
    assert sheet["D2"].value == -3  # a figure stays a number, so that it is not neutralised as text
    # Corrected and uploaded again, the report imports (its problems column is ignored).
    workbook = openpyxl.load_workbook(report)
    workbook.active["D2"] = 3
    workbook.active.delete_rows(3)
    workbook.save(report)
    outcome = run(report, period="2023")
    assert (outcome.status, outcome.written) == (ImportJob.Status.DONE, 4), outcome.errors


def test_the_error_report_puts_problems_of_no_row_first(district, csv_file, tmp_path):
    path = csv_file([["主体标识", "指标", "数值"], ["jia", "工业总产值", "1"]])
    outcome = run(path)
    write_error_report(outcome, path, tmp_path / "report.csv")
    table = read_table(tmp_path / "report.csv")
    assert table.rows[0].values[PROBLEMS_COLUMN].startswith("error: no period")


def test_a_correction_supersedes_the_current_figure_and_keeps_it(district, csv_file):
    run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "100"]], name="a.csv"))
    first = current(district["jia"])
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "110"],
                            ["jia", "营业收入", "2023", "5"]], name="b.csv"))
    assert (outcome.written, outcome.superseded) == (2, 1)
    first.refresh_from_db()
    assert first.superseded_at is not None and first.value == 100
    assert current(district["jia"]).value == 110
    assert Observation.objects.filter(organisation=district["jia"], metric__code="industrial-output").count() == 2


def test_importing_the_same_file_again_changes_nothing(district, csv_file):
    path = csv_file([["主体标识", "指标", "期间", "数值", "单位"], ["jia", "工业总产值", "2023", "100", "万元"]])
    run(path)
    outcome = run(path)
    assert (outcome.status, outcome.written, outcome.superseded, outcome.unchanged) == (ImportJob.Status.DONE, 0, 0, 1)
    assert Observation.objects.count() == 1


def test_a_dry_run_writes_nothing_but_says_what_it_would_do(district, csv_file):
    run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "100"]], name="a.csv"))
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "110"],
                            ["jia", "营业收入", "2023", "5"]], name="b.csv"), dry_run=True)
    assert (outcome.status, outcome.written, outcome.superseded) == (ImportJob.Status.CHECKED, 2, 1)
    assert "2 would be written, 1 would be superseded" in outcome.summary()
    assert Observation.objects.count() == 1 and current(district["jia"]).value == 100
    assert outcome.job.dry_run and outcome.job.rows_written == 0


def test_an_import_interrupted_at_row_n_leaves_nothing_and_the_job_says_it_failed(district, csv_file):
    rows = [["主体标识", "指标", "期间", "数值"]] + [["jia", "工业总产值", f"2023-{m:02d}", "1"] for m in range(1, 13)]

    def stop_at_row_8(done, total):
        if done >= 8:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        run(csv_file(rows), progress=stop_at_row_8, chunk_size=4)
    assert not Observation.objects.exists()
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED and job.finished_at is not None
    assert "KeyboardInterrupt" in job.report["message"]


def test_an_import_that_fails_after_its_write_leaves_nothing_either(district, csv_file):
    rows = [["主体标识", "指标", "期间", "数值"]] + [["jia", "工业总产值", f"2023-{m:02d}", "1"] for m in range(1, 13)]
    calls = []

    def fail_at_the_end(done, total):
        calls.append((done, total))
        if done == total == 12 and len(calls) == 4:  # three chunks read, then the write
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run(csv_file(rows), progress=fail_at_the_end, chunk_size=5)
    assert not Observation.objects.exists()
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED


def test_the_import_job_records_the_file_and_what_happened(district, csv_file):
    path = csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "100"]], encoding="gbk")
    job = run(path, by=district["bureau"]).job
    job.refresh_from_db()
    import hashlib
    assert (job.file_name, job.sha256, job.size) == ("figures.csv", hashlib.sha256(path.read_bytes()).hexdigest(),
                                                     path.stat().st_size)
    assert (job.format, job.encoding, job.status, job.rows_total, job.rows_written) == (
        "csv", "gb18030", ImportJob.Status.DONE, 1, 1)
    assert (job.by, job.interface, job.dry_run) == (district["bureau"], "cli", False)
    assert job.report["written"] == 1 and job.report["errors"] == []


def test_many_rows_are_staged_in_chunks_and_written_at_once(district, csv_file):
    # On PostgreSQL each chunk goes through COPY; on SQLite through executemany.
    rows = [["主体标识", "期间", "工业总产值", "营业收入", "从业人员"]]
    rows += [[key, f"{year}-{month:02d}", str(month * 10), str(month), "5"]
             for key in ("jia", "zhongkeyi") for year in (2021, 2022) for month in range(1, 13)]
    outcome = run(csv_file(rows), chunk_size=7)
    assert (outcome.status, outcome.rows_read, outcome.written) == (ImportJob.Status.DONE, 48, 144), outcome.errors
    assert Observation.objects.count() == 144
    assert connection.vendor in ("sqlite", "postgresql")


def test_a_csv_file_is_streamed_so_its_size_is_not_bound_by_the_workbook_limit(district, csv_file):
    rows = [["主体标识", "指标", "期间", "数值"]] + [["jia", "工业总产值", f"2023-{m:02d}", "1"] for m in range(1, 13)]
    path = csv_file(rows)
    with pytest.raises(Exception, match="larger than"):
        read_table(path, max_bytes=100)
    assert run(path, max_bytes=100).written == 12
    outcome = run(path, max_stream_bytes=100)
    assert outcome.status == ImportJob.Status.REFUSED and "larger than" in reasons(outcome)[0]


def test_open_table_streams_rows_lazily_with_their_excel_row_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("单位：万元\r\n企业名称,工业总产值\r\n甲,\"1,0\r\n00\"\r\n\r\n乙,2\r\n".encode("gbk"))
    with open_table(path) as table:
        assert (table.header, table.notes, table.encoding) == (["企业名称", "工业总产值"], ["单位:万元"], "gb18030")
        rows = list(table.rows)
    assert [(row.number, row.values["工业总产值"]) for row in rows] == [(3, "1,0\r\n00"), (5, "2")]


def test_an_unreadable_file_is_refused_with_the_readers_message(district, tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    outcome = run(path)
    assert outcome.status == ImportJob.Status.REFUSED
    assert "unpacks" in reasons(outcome)[0]
    assert ImportJob.objects.get().report["error_count"] == 1


def test_a_name_that_differs_from_the_registered_one_is_a_warning(district, csv_file):
    outcome = run(csv_file([LONG, [district["jia"].uscc, "南通乙公司", "工业总产值", "2023", "1", ""]]))
    assert [warning.column for warning in outcome.warnings] == ["企业名称"]


def test_the_bulk_insert_fills_every_column_of_an_observation():
    columns = {field.column for field in Observation._meta.concrete_fields} - {"id"}
    assert set(importer.WRITTEN_COLUMNS) == columns


# --- the command -----------------------------------------------------------------------------------


def test_the_command_imports_and_prints_a_summary(district, csv_file, capsys):
    path = csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "100"]])
    call_command("import", "observations", str(path))
    out = capsys.readouterr().out
    assert "1 rows read, 1 figures; 1 were written" in out
    assert current(district["jia"]).value == 100


def test_the_command_refuses_with_a_non_zero_status_listing_errors_and_writing_the_report(
        district, csv_file, tmp_path, capsys):
    rows = [["主体标识", "指标", "期间", "数值"]] + [["nobody", "工业总产值", "2023", "1"]] * 60
    report = tmp_path / "report.xlsx"
    with pytest.raises(CommandError, match="60 errors: nothing was written"):
        call_command("import", "observations", str(csv_file(rows)), "--report", str(report))
    out = capsys.readouterr().out
    assert out.count("error: row ") == 50
    assert "… and 10 more errors (see the report)" in out
    assert len(read_table(report).rows) == 60


def test_the_command_imports_as_a_user_with_warnings_accepted_and_the_period_given(district, csv_file, capsys):
    path = csv_file([["企业名称", "工业总产值(万元)", "备注2"], ["南通甲公司", "1", "x"]])
    with pytest.raises(CommandError):
        call_command("import", "observations", str(path), "--period", "2023", "--user", "bureau")
    call_command("import", "observations", str(path), "--period", "2023", "--user", "bureau", "--accept-warnings",
                 "--region", "320612")
    assert current(district["jia"]).entered_by == district["bureau"]
    with pytest.raises(CommandError, match="no user is named"):
        call_command("import", "observations", str(path), "--user", "nobody")


def test_the_command_dry_run_writes_nothing(district, csv_file, capsys):
    path = csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值", "2023", "100"]])
    call_command("import", "observations", str(path), "--dry-run")
    assert "dry run" in capsys.readouterr().out
    assert not Observation.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_on_postgresql_the_figures_are_staged_with_copy(district, csv_file, monkeypatch):
    with connection.cursor() as cursor:
        cursor_class = type(cursor.cursor)
    copies = []
    original = cursor_class.copy

    def counting_copy(self, statement, *args, **kwargs):
        copies.append(str(statement))
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(cursor_class, "copy", counting_copy)
    rows = [["主体标识", "指标", "期间", "数值"]] + [["jia", "工业总产值", f"2023-{m:02d}", "1"] for m in range(1, 13)]
    assert run(csv_file(rows), chunk_size=5).written == 12
    assert len(copies) == 3 and all(copy.startswith('COPY "kechuang_import_') for copy in copies)


def test_a_metric_cell_may_carry_its_unit_in_brackets(district, csv_file):
    outcome = run(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "工业总产值（亿元）", "2023", "1.5"],
                            ["jia", "营业收入(当年价格)(万元)", "2023", "2"]]))
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    assert current(district["jia"]).value == 150000000
    assert current(district["jia"], "operating-revenue").value == 20000


# --- the pure rules the importer shares with the single-figure service ---------------------------------


def test_the_period_compared_for_a_mix_up_is_the_one_before_or_for_a_cumulative_range_last_years():
    from kechuang.statistics.periods import Period
    from kechuang.statistics.rules import comparison_period

    assert [str(comparison_period(Period.parse(code))) for code in ("2023", "2023Q1", "2023-01", "2023-01..2023-05")] == [
        "2022", "2022Q4", "2022-12", "2022-01..2022-05"]


def test_a_value_must_fit_the_four_decimals_and_twenty_digits_the_database_keeps():
    from kechuang.statistics.rules import storable_problem

    assert storable_problem(Decimal("1234.5678")) is None
    assert storable_problem(Decimal("1234.56780")) is None
    assert "more than 4 decimal places" in storable_problem(Decimal("0.00001"))
    assert "too large" in storable_problem(Decimal("1" + "0" * 20))


def test_a_count_takes_any_counting_word_and_money_any_money_unit(metrics):
    from kechuang.statistics.rules import unit_problem

    assert unit_problem(metrics["employees"], "人") is None and unit_problem(metrics["employees"], "个") is None
    assert unit_problem(metrics["industrial-output"], "亿元") is None
    assert unit_problem(metrics["industrial-output"], "万人") == (
        "工业总产值 (industrial-output) is not given in 万人: use 元, 千元, 万元 or 亿元")

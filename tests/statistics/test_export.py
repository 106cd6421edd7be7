"""Exporting figures (exports.py and `kechuang export observations`): the columns, formula
neutralising, scoping and filters, and an export that imports again unchanged."""

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from kechuang.accounts.scoping import visible_to
from kechuang.registry import services as registry
from kechuang.statistics.exports import EXPORT_COLUMNS, export_observations, export_rows
from kechuang.statistics.importer import import_observations
from kechuang.statistics.models import ImportJob, Observation
from kechuang.tabular import read_table

pytestmark = pytest.mark.django_db

TODAY = dt.date(2024, 3, 1)


@pytest.fixture
def figures(district, csv_file):
    """Output and revenue of three enterprises and a park for 2023, and Tongzhou's own share."""
    registry.save_source("tongzhou-2023", title="通州区2023年统计公报")
    path = csv_file([["主体标识", "指标", "期间", "数值", "单位", "来源"],
                     ["zhongkeyi", "工业总产值", "2023", "1234.5", "万元", "tongzhou-2023"],
                     ["jia", "工业总产值", "2023", "13.5", "亿元", ""],
                     ["jia", "营业收入", "2023H1", "7", "万元", ""],
                     ["yi", "工业总产值", "2023", "8", "万元", ""],
                     ["hengli", "从业人员", "2023", "1200", "人", ""],
                     ["320612", "高新技术产业产值占规上工业总产值比重", "2023", "56", "%", ""]])
    outcome = import_observations(path, today=TODAY)
    assert outcome.status == ImportJob.Status.DONE, outcome.errors
    return district


def test_an_export_row_names_the_subject_metric_period_and_value_in_the_base_unit(figures):
    rows = {(row["主体标识 key"], row["指标代码 metric"]): row for row in export_rows(Observation.objects.current())}
    assert rows[("zhongkeyi", "industrial-output")] == {
        "主体标识 key": "zhongkeyi", "主体名称 name": "中科仪（南通）半导体设备有限责任公司",
        "统一社会信用代码 USCC": figures["zhongkeyi"].uscc, "所在地区 region": "320612",
        "指标代码 metric": "industrial-output", "指标名称 metric name": "工业总产值", "期间 period": "2023",
        "类型 kind": "actual", "数值 value": Decimal("12345000"), "单位 unit": "yuan", "状态 status": "submitted",
        "来源 source": "tongzhou-2023"}
    region = rows[("320612", "high-tech-output-share")]
    assert (region["主体名称 name"], region["所在地区 region"], region["数值 value"], region["单位 unit"]) == (
        "通州区", "320612", Decimal("56"), "%")
    assert rows[("yi", "industrial-output")]["所在地区 region"] == "320602"


def test_an_xlsx_export_has_the_columns_and_writes_values_as_numbers(figures, tmp_path):
    path = tmp_path / "out.xlsx"
    assert export_observations(Observation.objects.current(), path) == 6
    sheet = openpyxl.load_workbook(path).active
    assert [cell.value for cell in sheet[1]] == list(EXPORT_COLUMNS)
    values = {row[0].value + "/" + row[4].value: row[8].value for row in sheet.iter_rows(min_row=2)}
    assert values["jia/industrial-output"] == 1350000000


def test_a_csv_export_is_utf8_with_a_bom_for_excel(figures, tmp_path):
    path = tmp_path / "out.csv"
    export_observations(Observation.objects.current(), path, format="csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    table = read_table(path)
    assert {row.values["数值 value"] for row in table.rows} >= {"12345000", "1350000000", "56"}


def test_a_name_that_is_a_formula_is_neutralised_in_the_export(figures, tmp_path):
    registry.save_organisation("jia", name_zh='=HYPERLINK("http://evil.example","点击")')
    for format in ("xlsx", "csv"):
        path = tmp_path / f"out.{format}"
        export_observations(Observation.objects.current().filter(organisation=figures["jia"]), path, format=format)
        names = {row.values["主体名称 name"] for row in read_table(path).rows}
        assert names == {'\'=HYPERLINK("http://evil.example","点击")'}


def test_an_export_only_holds_what_the_user_may_see(figures):
    owner_sees = {row["主体标识 key"] for row in export_rows(visible_to(Observation.objects.current(), figures["owner"]))}
    assert owner_sees == {"zhongkeyi"}
    bureau_sees = {row["主体标识 key"] for row in export_rows(visible_to(Observation.objects.current(), figures["bureau"]))}
    assert bureau_sees == {"zhongkeyi", "jia", "hengli", "320612"}


def test_an_export_corrected_in_excel_imports_again(figures, tmp_path):
    path = tmp_path / "out.xlsx"
    export_observations(Observation.objects.current(), path)
    outcome = import_observations(path, today=TODAY)
    assert (outcome.status, outcome.unchanged, outcome.written) == (ImportJob.Status.DONE, 6, 0), outcome.errors
    workbook = openpyxl.load_workbook(path)
    sheet = workbook.active
    row = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "jia" and row[4].value == "operating-revenue")
    row[8].value = 80000
    workbook.save(path)
    outcome = import_observations(path, today=TODAY)
    assert (outcome.written, outcome.superseded, outcome.unchanged) == (1, 1, 5)


def test_the_export_command_filters_by_metric_period_region_and_user(figures, tmp_path, capsys):
    path = tmp_path / "out.xlsx"
    call_command("export", "observations", "-o", str(path), "--metric", "industrial-output", "--period", "2023年")
    assert {row.values["主体标识 key"] for row in read_table(path).rows} == {"zhongkeyi", "jia", "yi"}
    call_command("export", "observations", "-o", str(path), "--region", "320612")
    assert {row.values["主体标识 key"] for row in read_table(path).rows} == {"zhongkeyi", "jia", "hengli", "320612"}
    call_command("export", "observations", "-o", str(path), "--user", "owner")
    assert {row.values["主体标识 key"] for row in read_table(path).rows} == {"zhongkeyi"}
    assert "1 figures written" in capsys.readouterr().out


def test_the_export_command_refuses_an_unknown_format_metric_or_user(figures, tmp_path):
    with pytest.raises(CommandError, match=r"\.xlsx or \.csv"):
        call_command("export", "observations", "-o", str(tmp_path / "out.txt"))
    with pytest.raises(CommandError, match="no metric"):
        call_command("export", "observations", "-o", str(tmp_path / "out.csv"), "--metric", "nothing")
    with pytest.raises(CommandError, match="no user"):
        call_command("export", "observations", "-o", str(tmp_path / "out.csv"), "--user", "nobody")


def test_superseded_figures_are_exported_only_when_asked(figures, tmp_path, csv_file):
    import_observations(csv_file([["主体标识", "指标", "期间", "数值"], ["jia", "营业收入", "2023H1", "8"]],
                                 name="fix.csv"), today=TODAY)
    path = tmp_path / "out.csv"
    call_command("export", "observations", "-o", str(path), "--metric", "operating-revenue")
    assert len(read_table(path).rows) == 1
    call_command("export", "observations", "-o", str(path), "--metric", "operating-revenue", "--all-versions")
    assert len(read_table(path).rows) == 2

"""kechuang.tabular: reading the files clerks hand in, and writing exports safely."""

import datetime as dt
import io
import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from kechuang.tabular import (
    Row,
    TableError,
    column_key,
    neutralise,
    normalise_text,
    open_table,
    read_table,
    write_table,
)
from tests.reliability.bad_files import many_strings_xlsx

# --- building test files ----------------------------------------------------------------


def _csv_file(tmp_path, text, encoding, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _xlsx_file(tmp_path, rows, merges=(), name="data.xlsx", sheet_title=None):
    """A workbook whose first sheet holds `rows` (lists of values, None for blank) and merged `merges`."""
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    if sheet_title:
        worksheet.title = sheet_title
    for row in rows:
        worksheet.append(row)
    for merge in merges:
        worksheet.merge_cells(merge)
    path = tmp_path / name
    workbook.save(path)
    return path


def _replace_in_zip(path, member, old, new):
    """Rewrite one part of a workbook, as Excel would have saved it. `old` is bytes, or a
    pattern where openpyxl's serialiser (lxml when installed, et_xmlfile otherwise) may differ."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    pattern = old if isinstance(old, re.Pattern) else re.compile(re.escape(old))
    parts[member], replaced = pattern.subn(new, parts[member])
    assert replaced, f"{pattern.pattern!r} is not in {member}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)


STATISTICS = [
    ["2023年1-6月规上工业企业主要指标", None, None, None, None],
    ["企业名称", "营业收入", None, "利润总额", None],
    [None, "本期", "上年同期", "本期", "上年同期"],
    ["南通甲公司", 13000, 12000.5, 0.1, -20],
    ["南通乙公司", "１３０００", " 8000 ", 1.86e9, 0],
]
STATISTICS_MERGES = ["A1:E1", "A2:A3", "B2:C2", "D2:E2"]


@pytest.fixture
def statistics_xlsx(tmp_path):
    return _xlsx_file(tmp_path, STATISTICS, STATISTICS_MERGES)


# --- CSV ------------------------------------------------------------------------------------


def test_a_gbk_csv_is_detected_and_read(tmp_path):
    path = _csv_file(tmp_path, "企业名称,营业收入\r\n南通甲公司,13000\r\n", "gbk")
    table = read_table(path)
    assert table.encoding == "gb18030"
    assert table.format == "csv"
    assert table.header == ["企业名称", "营业收入"]
    assert table.rows[0].values == {"企业名称": "南通甲公司", "营业收入": "13000"}


def test_a_utf8_csv_with_bom_is_read_without_the_bom_in_the_first_column_name(tmp_path):
    path = _csv_file(tmp_path, "企业名称,营业收入\r\n南通甲公司,13000\r\n", "utf-8-sig")
    table = read_table(path)
    assert table.encoding == "utf-8-sig"
    assert table.header == ["企业名称", "营业收入"]


def test_a_utf8_csv_without_bom_is_read(tmp_path):
    path = _csv_file(tmp_path, "企业名称,营业收入\n南通甲公司,13000\n", "utf-8")
    table = read_table(path)
    assert table.encoding == "utf-8"
    assert table.rows[0].values["企业名称"] == "南通甲公司"


def test_utf16_text_saved_by_excel_as_unicode_text_is_read(tmp_path):
    path = _csv_file(tmp_path, "企业名称\t营业收入\r\n南通甲公司\t13000\r\n", "utf-16")
    table = read_table(path)
    assert table.encoding == "utf-16"
    assert table.rows[0].values == {"企业名称": "南通甲公司", "营业收入": "13000"}


def test_a_tab_delimited_file_is_read_even_with_commas_in_its_numbers(tmp_path):
    path = _csv_file(tmp_path, "企业名称\t营业收入\t利润\n南通甲公司\t1,300,000\t2,000\n", "gbk")
    table = read_table(path)
    assert table.delimiter == "\t"
    assert table.rows[0].values == {"企业名称": "南通甲公司", "营业收入": "1,300,000", "利润": "2,000"}


def test_a_semicolon_delimited_file_is_read(tmp_path):
    path = _csv_file(tmp_path, "企业名称;营业收入\n南通甲公司;13000\n", "utf-8")
    assert read_table(path).rows[0].values == {"企业名称": "南通甲公司", "营业收入": "13000"}


def test_a_comma_inside_quotes_does_not_split_the_cell(tmp_path):
    path = _csv_file(tmp_path, '企业名称,地址\n南通甲公司,"通州区, 金沙街道"\n', "utf-8")
    assert read_table(path).rows[0].values["地址"] == "通州区, 金沙街道"


def test_text_that_is_neither_utf8_nor_gb18030_is_refused_naming_the_row_and_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"name,value\nA,1\nB,\x80\x80\n")
    with pytest.raises(TableError, match="^row 3, column B: the cell holds bytes that are neither UTF-8 nor GBK/GB18030"
                       ) as caught:
        read_table(path)
    assert (caught.value.row, caught.value.column) == (3, "B")
    assert caught.value.reason.startswith("the cell holds bytes")


def test_a_stray_byte_in_utf8_chinese_is_refused_on_its_own_row_not_where_gb18030_stops(tmp_path):
    """GB18030 stops at the first field of an odd number of Chinese characters (row 2 here);
    UTF-8 reads on to the stray byte, so the file is UTF-8 and the byte is the one to name."""
    path = tmp_path / "data.csv"
    path.write_bytes("企业名称,产值\n南通甲公司,100\n南通乙公司,200\n".encode() + b"\xff,300\n")
    for read in (read_table, _streamed):
        with pytest.raises(TableError) as caught:
            read(path)
        assert (caught.value.row, caught.value.column) == (4, "A"), str(caught.value)


def test_a_gbk_file_with_a_stray_byte_is_refused_on_that_byte_s_row(tmp_path):
    path = tmp_path / "data.csv"
    rows = "企业名称,产值\n" + "".join(f"南通企业{number}公司,{number}\n" for number in range(3000))
    data = bytearray(rows.encode("gbk"))
    data[data.index("南通企业2500公司".encode("gbk"))] = 0xFF
    path.write_bytes(bytes(data))
    for read in (read_table, _streamed):
        with pytest.raises(TableError, match="neither UTF-8 nor GBK") as caught:
            read(path)
        assert (caught.value.row, caught.value.column) == (2502, "A"), str(caught.value)


def _streamed(path):
    """Every row of `path` as open_table streams it (errors further down arise while reading)."""
    with open_table(path) as table:
        return list(table.rows)


def test_a_stray_byte_far_down_a_streamed_file_is_named_on_its_row_not_the_block_read_ahead(tmp_path):
    path = tmp_path / "data.csv"
    lines = ["企业名称,产值"] + [f"南通企业{number}公司,{number}" for number in range(20_000)]
    data = bytearray("\n".join(lines).encode() + b"\n")
    data[data.index("南通企业19000公司".encode()) + 3] = 0xFF
    path.write_bytes(bytes(data))
    with open_table(path) as table:
        with pytest.raises(TableError, match="neither UTF-8 nor GBK") as caught:
            list(table.rows)
    assert (caught.value.row, caught.value.column) == (19_002, "A"), str(caught.value)


def test_a_quoted_line_break_counts_as_one_row_when_a_stray_byte_is_named(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes('企业名称,备注\n南通甲公司,"第一行\n第二行"\n南通乙公司,'.encode() + b"\xfe\n")
    with pytest.raises(TableError) as caught:
        read_table(path)
    assert (caught.value.row, caught.value.column) == (3, "B"), str(caught.value)


def test_a_utf8_file_cut_off_mid_character_is_refused_rather_than_misread_as_gbk(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes("企业名称,产值\n南通甲公司,100\n南通".encode()[:-1])
    with pytest.raises(TableError, match="cut off"):
        read_table(path)


def test_binary_data_that_is_not_text_is_refused(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"name,value\x00\x00\x01\n")
    with pytest.raises(TableError, match="binary data"):
        read_table(path)


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"")
    with pytest.raises(TableError, match="empty"):
        read_table(path)


def test_a_csv_of_blank_rows_only_is_refused(tmp_path):
    path = _csv_file(tmp_path, ",,\n , ,\n", "utf-8")
    with pytest.raises(TableError, match="no data"):
        read_table(path)


def test_a_title_row_above_a_csv_header_is_skipped(tmp_path):
    path = _csv_file(tmp_path, "2023年1-6月规上工业企业主要指标,,\n企业名称,营业收入,利润\n南通甲公司,13000,20\n", "gbk")
    table = read_table(path)
    assert table.header == ["企业名称", "营业收入", "利润"]
    assert table.header_row == 2
    assert table.rows[0].number == 3


def test_a_two_level_csv_header_saved_from_merged_cells_is_joined_with_a_slash(tmp_path):
    text = "企业名称,营业收入,,利润总额,\n,本期,上年同期,本期,上年同期\n南通甲公司,13000,12000,20,18\n"
    table = read_table(_csv_file(tmp_path, text, "gbk"))
    assert table.header == ["企业名称", "营业收入/本期", "营业收入/上年同期", "利润总额/本期", "利润总额/上年同期"]
    assert table.rows[0].values["营业收入/上年同期"] == "12000"


def test_a_text_row_under_a_csv_header_with_an_unnamed_column_stays_data(tmp_path):
    text = "企业名称,统一社会信用代码,认定类型\n南通甲公司,91320612MA1XXXXX0A,高新技术企业,已复核\n"
    table = read_table(_csv_file(tmp_path, text, "utf-8"))
    assert table.header == ["企业名称", "统一社会信用代码", "认定类型", "column D"]
    assert table.rows[0].values["column D"] == "已复核"


def test_csv_row_numbers_count_records_as_excel_shows_them(tmp_path):
    text = '企业名称,备注\n南通甲公司,"第一行\n第二行"\n\n南通乙公司,无\n'
    table = read_table(_csv_file(tmp_path, text, "utf-8"))
    assert [row.number for row in table.rows] == [2, 4]
    assert table.rows[0].values["备注"] == "第一行\n第二行"


# --- text normalisation -----------------------------------------------------------------


def test_full_width_digits_letters_and_punctuation_become_half_width():
    assert normalise_text("１３，０００．５０％") == "13,000.50%"
    assert normalise_text("ＡＢＣ－１２３（万元）") == "ABC-123(万元)"


def test_chinese_punctuation_and_symbols_without_a_half_width_form_are_kept():
    text = "通州区、金沙街道。《通知》“高新”①m²℃…"
    assert normalise_text(text) == text


def test_surrounding_ideographic_no_break_and_zero_width_spaces_are_stripped():
    assert normalise_text("\u3000\u00a0 南通甲公司\u200b\t\u3000") == "南通甲公司"


def test_column_names_compare_without_blanks_case_or_width():
    assert column_key("营业收入\n（万元）") == column_key("营业收入(万元)")
    assert column_key("ＵＳＣＣ") == column_key("uscc")


# --- Excel ------------------------------------------------------------------------------


def test_a_merged_two_level_header_becomes_parent_slash_child_names(statistics_xlsx):
    table = read_table(statistics_xlsx)
    assert table.format == "xlsx"
    assert table.header == ["企业名称", "营业收入/本期", "营业收入/上年同期", "利润总额/本期", "利润总额/上年同期"]


def test_a_three_level_header_whose_top_level_fills_few_cells_is_found_without_hints(tmp_path):
    rows = [
        ["表1 主要指标", None, None, None, None],
        ["单位：万元", None, None, None, None],
        ["企业名称", "经营情况", None, None, None],
        [None, "营业收入", None, "利润", None],
        [None, "本期", "上年同期", "本期", "上年同期"],
        ["南通甲公司", 1, 2, 3, 4],
    ]
    table = read_table(_xlsx_file(tmp_path, rows, ["A1:E1", "A3:A5", "B3:E3", "B4:C4", "D4:E4"]))
    assert table.header == ["企业名称", "经营情况/营业收入/本期", "经营情况/营业收入/上年同期",
                            "经营情况/利润/本期", "经营情况/利润/上年同期"]
    assert [row.number for row in table.rows] == [6]


def test_a_merged_title_row_above_the_header_is_skipped(statistics_xlsx):
    table = read_table(statistics_xlsx)
    assert table.header_row == 3
    assert table.rows[0].values["企业名称"] == "南通甲公司"


def test_numbers_stored_as_numbers_read_without_float_noise(statistics_xlsx):
    first, second = read_table(statistics_xlsx).rows
    assert first.values["营业收入/本期"] == "13000"
    assert first.values["营业收入/上年同期"] == "12000.5"
    assert first.values["利润总额/本期"] == "0.1"
    assert first.values["利润总额/上年同期"] == "-20"
    assert second.values["利润总额/本期"] == "1860000000"
    assert second.values["利润总额/上年同期"] == "0"


def test_a_sum_saved_by_excel_with_seventeen_digits_reads_as_excel_shows_it(tmp_path):
    path = _xlsx_file(tmp_path, [["企业名称", "利润"], ["南通甲公司", 0.25]])
    _replace_in_zip(path, "xl/worksheets/sheet1.xml", b"<v>0.25</v>", b"<v>0.30000000000000004</v>")
    assert read_table(path).rows[0].values["利润"] == "0.3"


def test_numbers_stored_as_text_and_full_width_digits_are_normalised(statistics_xlsx):
    second = read_table(statistics_xlsx).rows[1]
    assert second.values["营业收入/本期"] == "13000"
    assert second.values["营业收入/上年同期"] == "8000"


def test_a_percent_formatted_number_keeps_its_percent_sign(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["企业名称", "增长率"])
    workbook.active.append(["南通甲公司", 0.153])
    workbook.active["B2"].number_format = "0.0%"
    path = tmp_path / "data.xlsx"
    workbook.save(path)
    assert read_table(path).rows[0].values["增长率"] == "15.3%"


def test_dates_read_as_iso_text(tmp_path):
    rows = [["企业名称", "认定日期", "填报时间"], ["南通甲公司", dt.date(2023, 6, 30), dt.datetime(2023, 7, 1, 9, 30)]]
    values = read_table(_xlsx_file(tmp_path, rows)).rows[0].values
    assert values["认定日期"] == "2023-06-30"
    assert values["填报时间"] == "2023-07-01 09:30:00"


def test_row_numbers_match_the_sheet_and_empty_rows_are_skipped(tmp_path):
    rows = [["企业名称", "产值"], ["南通甲公司", 1], [None, None], [], ["南通乙公司", 2], ["\u3000", " "]]
    table = read_table(_xlsx_file(tmp_path, rows))
    assert [(row.number, row.values["企业名称"]) for row in table.rows] == [(2, "南通甲公司"), (5, "南通乙公司")]


def test_header_hints_pick_the_header_row_under_a_busy_note_row(tmp_path):
    rows = [
        ["填报单位", "南通市通州区科技局", "填报日期", "2023-07-10"],
        ["企业名称", "营业收入", "利润总额", "从业人员"],
        ["南通甲公司", 13000, 20, 150],
    ]
    path = _xlsx_file(tmp_path, rows)
    assert read_table(path).header[0] == "填报单位"
    assert read_table(path, header_hints={"企业名称", "营业收入"}).header[0] == "企业名称"


def test_header_hints_name_the_parents_of_a_two_level_header(statistics_xlsx):
    table = read_table(statistics_xlsx, header_hints=["企业名称", "营业收入/本期"])
    assert table.header_row == 3
    assert "营业收入/本期" in table.header


def test_a_header_cell_merged_across_two_columns_does_not_swallow_the_first_data_row(tmp_path):
    rows = [["企业名称", "产值", "备注", None], ["南通甲公司", 100, "新增", None]]
    table = read_table(_xlsx_file(tmp_path, rows, ["C1:D1"]))
    assert table.header == ["企业名称", "产值", "备注"]
    assert [row.number for row in table.rows] == [2]


def test_a_column_without_name_or_data_is_dropped(tmp_path):
    rows = [["企业名称", None, "产值"], ["南通甲公司", None, 100]]
    assert read_table(_xlsx_file(tmp_path, rows)).header == ["企业名称", "产值"]


def test_duplicate_column_names_are_refused_naming_the_columns(tmp_path):
    rows = [["企业名称", "本期", "本期"], ["南通甲公司", 1, 2]]
    with pytest.raises(TableError, match='"本期" is used by columns B and C') as caught:
        read_table(_xlsx_file(tmp_path, rows))
    assert caught.value.row == 1


def test_a_named_sheet_is_read(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["说明"])
    workbook.create_sheet("数据").append(["企业名称", "产值"])
    workbook["数据"].append(["南通甲公司", 100])
    path = tmp_path / "data.xlsx"
    workbook.save(path)
    table = read_table(path, sheet="数据")
    assert table.sheet == "数据"
    assert table.rows[0].values == {"企业名称": "南通甲公司", "产值": "100"}


def test_a_missing_sheet_is_refused_listing_the_sheets(statistics_xlsx):
    with pytest.raises(TableError, match='no sheet named "数据"; its sheets are "Sheet"'):
        read_table(statistics_xlsx, sheet="数据")


def test_a_formula_without_a_saved_result_is_refused_naming_the_cell(tmp_path):
    path = _xlsx_file(tmp_path, [["企业名称", "产值", "合计"], ["南通甲公司", 100, "=B2*2"]])
    with pytest.raises(TableError, match="cell C2 holds a formula whose result was never calculated"):
        read_table(path)


def test_a_formula_reads_the_result_excel_saved(tmp_path):
    path = _xlsx_file(tmp_path, [["企业名称", "产值", "合计"], ["南通甲公司", 100, "=B2*2"]])
    _replace_in_zip(path, "xl/worksheets/sheet1.xml", re.compile(rb"<f>B2\*2</f>(<v\s*/>|<v></v>)"), b"<f>B2*2</f><v>200</v>")
    assert read_table(path).rows[0].values["合计"] == "200"


def test_a_cell_longer_than_excels_limit_is_refused_naming_row_and_column(tmp_path):
    path = _csv_file(tmp_path, "企业名称,备注\n南通甲公司," + "长" * 40_000 + "\n", "utf-8")
    with pytest.raises(TableError, match="row 2, column B: the cell holds 40,000 characters") as caught:
        read_table(path)
    assert (caught.value.row, caught.value.column) == (2, "B")


def test_an_xlsx_named_csv_is_read_as_a_workbook(statistics_xlsx, tmp_path):
    renamed = tmp_path / "statistics.csv"
    renamed.write_bytes(statistics_xlsx.read_bytes())
    assert read_table(renamed).format == "xlsx"


def test_a_file_object_is_read_like_a_path(statistics_xlsx):
    upload = io.BytesIO(statistics_xlsx.read_bytes())
    assert read_table(upload, filename="upload.xlsx").header[0] == "企业名称"


# --- refusals that keep the server safe -------------------------------------------------


def test_a_zip_bomb_is_refused_by_its_compression_ratio(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    with pytest.raises(TableError, match="xl/worksheets/sheet1.xml unpacks .* times larger"):
        read_table(path)


def test_a_workbook_unpacking_beyond_the_limit_is_refused(statistics_xlsx):
    with pytest.raises(TableError, match=r"the workbook unpacks to \d+ KB, more than the 1 KB allowed"):
        read_table(statistics_xlsx, max_unpacked_bytes=1000)


def test_a_truncated_workbook_is_refused_as_damaged(statistics_xlsx, tmp_path):
    data = statistics_xlsx.read_bytes()
    truncated = tmp_path / "cut.xlsx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(TableError, match="damaged or incomplete"):
        read_table(truncated)


def test_a_workbook_with_a_corrupted_part_is_refused_as_damaged(statistics_xlsx):
    _replace_in_zip(statistics_xlsx, "xl/worksheets/sheet1.xml", b"<sheetData>", b"<sheetData><row")
    with pytest.raises(TableError, match="damaged or incomplete"):
        read_table(statistics_xlsx)


def test_an_old_xls_file_is_refused_with_save_as_xlsx_advice(tmp_path):
    path = tmp_path / "data.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(TableError, match=r"\.xls\), which cannot be read: .*save it as an Excel workbook \(\.xlsx\)"):
        read_table(path)


def test_a_password_protected_workbook_is_refused(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64 + "EncryptedPackage".encode("utf-16-le"))
    with pytest.raises(TableError, match="protected by a password"):
        read_table(path)


def test_a_text_file_named_xlsx_is_refused(tmp_path):
    path = _csv_file(tmp_path, "企业名称,产值\n南通甲公司,100\n", "gbk", name="data.xlsx")
    with pytest.raises(TableError, match="named data.xlsx but it is not an Excel workbook"):
        read_table(path)


def test_a_web_page_exported_under_an_excel_name_is_refused(tmp_path):
    path = _csv_file(tmp_path, "<html><table><tr><td>企业名称</td></tr></table></html>", "utf-8", name="data.xls")
    with pytest.raises(TableError, match="web page"):
        read_table(path)


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "data.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", b"<document/>")
    with pytest.raises(TableError, match="zip archive but not an Excel workbook"):
        read_table(path)


def test_a_file_over_max_bytes_is_refused(tmp_path):
    path = _csv_file(tmp_path, "企业名称,产值\n" + "南通甲公司,100\n" * 100, "utf-8")
    with pytest.raises(TableError, match="larger than"):
        read_table(path, max_bytes=1000)


def test_a_table_with_too_many_cells_is_refused(statistics_xlsx):
    with pytest.raises(TableError, match="more than 10 cells"):
        read_table(statistics_xlsx, max_cells=10)


def test_a_workbook_with_more_shared_texts_than_cells_accepted_is_refused_before_openpyxl_reads_them(tmp_path):
    """openpyxl writes inline strings; the bad-files corpus adds a shared-strings table no cell uses."""
    path = tmp_path / "data.xlsx"
    path.write_bytes(many_strings_xlsx(50, [["企业名称", "产值"], ["南通甲公司", 100]]))
    with pytest.raises(TableError, match="more than 40 different texts, more than the 40 cells accepted") as caught:
        read_table(path, max_cells=40)
    assert caught.value.row is None
    assert read_table(path, max_cells=60).rows[0].values == {"企业名称": "南通甲公司", "产值": "100"}


# --- writing ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_neutralise_prefixes_text_that_a_spreadsheet_would_run_as_a_formula(text):
    assert neutralise(text) == "'" + text


def test_neutralise_leaves_ordinary_text_alone():
    assert neutralise("南通甲公司 = 甲") == "南通甲公司 = 甲"


def test_a_csv_export_is_utf8_with_a_bom(tmp_path):
    path = tmp_path / "export.csv"
    write_table([{"企业名称": "南通甲公司"}], ["企业名称"], path, format="csv")
    assert path.read_bytes() == "\ufeff企业名称\r\n南通甲公司\r\n".encode()


def test_a_csv_export_neutralises_formulas_but_writes_numbers_as_numbers(tmp_path):
    path = tmp_path / "export.csv"
    rows = [["=HYPERLINK(\"http://x\")", -5, Decimal("-1.50"), 0.1, "-5"]]
    write_table(rows, ["备注", "a", "b", "c", "d"], path, format="csv")
    line = path.read_bytes().decode("utf-8-sig").splitlines()[1]
    assert line == "\"'=HYPERLINK(\"\"http://x\"\")\",-5,-1.50,0.1,'-5"


def test_an_xlsx_export_neutralises_formulas_but_writes_numbers_as_numbers(tmp_path):
    path = tmp_path / "export.xlsx"
    write_table([["=1+1", -5, Decimal("-1.5"), 0.1, "@cmd"]], ["备注", "a", "b", "c", "d"], path)
    cells = openpyxl.load_workbook(path).active[2]
    assert [cell.value for cell in cells] == ["'=1+1", -5, -1.5, 0.1, "'@cmd"]
    assert [cell.data_type for cell in cells] == ["s", "n", "n", "n", "s"]


def test_an_xlsx_export_has_a_bold_frozen_header_and_fitted_columns(tmp_path):
    path = tmp_path / "export.xlsx"
    write_table([["南通市通州区金沙街道某某科技有限公司", 1]], ["企业名称", "产值"], path)
    worksheet = openpyxl.load_workbook(path).active
    assert worksheet["A1"].font.bold
    assert worksheet.freeze_panes == "A2"
    assert worksheet.column_dimensions["A"].width > worksheet.column_dimensions["B"].width >= 8


def test_a_workbook_written_then_read_gives_back_the_same_table(tmp_path):
    path = tmp_path / "export.xlsx"
    rows = [{"企业名称": "南通甲公司", "产值": 13000, "增长率": Decimal("0.1"), "认定日期": dt.date(2023, 6, 30)}]
    write_table(rows, list(rows[0]), path)
    table = read_table(path)
    assert table.header == ["企业名称", "产值", "增长率", "认定日期"]
    assert table.rows == [Row(2, {"企业名称": "南通甲公司", "产值": "13000", "增长率": "0.1", "认定日期": "2023-06-30"})]


def test_a_csv_written_then_read_gives_back_the_same_rows(tmp_path):
    original = read_table(_csv_file(tmp_path, "企业名称,产值\n南通甲公司,13000\n南通乙公司,0.5\n", "gbk"))
    path = tmp_path / "export.csv"
    write_table(original.rows, original.header, path, format="csv")
    table = read_table(path)
    assert table.encoding == "utf-8-sig"
    assert [row.values for row in table.rows] == [{"企业名称": "南通甲公司", "产值": "13000"},
                                                  {"企业名称": "南通乙公司", "产值": "0.5"}]

"""Reading the division files: read as written, checked whole, refused naming the file, row and column.

The broken files of the bad-files drill (a GBK file, a row cut short, a renamed column, a code
twice, a program, a 10 MB cell, an empty file) are in tests/reliability/test_bad_files.py.
"""

import codecs
import shutil

import pytest

from kechuang.registry.divisions import (
    PROBLEMS_SHOWN,
    DivisionFileError,
    default_directory,
    load_divisions,
    read_divisions,
    read_history,
)
from kechuang.registry.models import Region, Source

HISTORY_HEADER = ("code,level,name_zh,name_en,parent,valid_from,valid_to,successor,source_key,source_title,"
                  "source_url\n")


@pytest.fixture
def folder(tmp_path):
    """A copy of the real division files (without the streets, which are not needed here)."""
    copy = tmp_path / "divisions"
    copy.mkdir()
    for name in ("provinces.csv", "cities.csv", "areas.csv"):
        shutil.copy(default_directory() / name, copy / name)
    return copy


def test_names_are_kept_as_written_full_width_brackets_and_all():
    rows = read_divisions(default_directory(), towns=["2108"], provinces=["21"])

    assert "辽宁（营口）沿海产业基地" in {row.name_zh for row in rows}


def test_a_file_saved_by_excel_as_csv_utf8_with_its_bom_is_read(folder):
    areas = folder / "areas.csv"
    areas.write_bytes(codecs.BOM_UTF8 + areas.read_bytes())

    rows = read_divisions(folder, provinces=["32"])

    assert "320612" in {row.code for row in rows}


def test_every_problem_of_every_file_is_listed_before_anything_is_read_further(folder):
    (folder / "cities.csv").write_text("code,name,provinceCode\n3206,南通市,32\n3206,南通市,32\n", encoding="utf-8")
    (folder / "provinces.csv").write_text("code,name\n3,江苏省\n", encoding="utf-8")

    with pytest.raises(DivisionFileError) as refused:
        read_divisions(folder)

    assert [(path.name, str(problem)) for path, problem in refused.value.problems] == [
        ("provinces.csv", "row 2, column code [3]: not a code of 2 digits"),
        ("cities.csv", "row 3, column code [3206]: the code is given twice (rows 2 and 3)"),
    ]
    assert refused.value.reason.startswith("the division files were not loaded (2 problems); nothing was written:")


def test_a_long_list_of_problems_is_cut_to_the_first_ones_and_a_count(folder):
    rows = "".join(f"32{number:04d},区{number},9999,32\n" for number in range(PROBLEMS_SHOWN + 5))
    (folder / "areas.csv").write_text("code,name,cityCode,provinceCode\n" + rows, encoding="utf-8")

    with pytest.raises(DivisionFileError) as refused:
        read_divisions(folder)

    lines = refused.value.reason.splitlines()
    assert len(refused.value.problems) == PROBLEMS_SHOWN + 5
    assert len(lines) == 1 + PROBLEMS_SHOWN + 1 and lines[-1] == "  … and 5 more"
    assert lines[1].endswith("areas.csv: row 2, column cityCode [9999]: 9999 does not head the code 320000")


def test_a_history_file_with_a_date_that_is_not_a_date_is_refused_naming_the_cell(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HISTORY_HEADER + "320683,district,通州市,Tongzhou,320600,,2009-07-32,320612,s,S,\n",
                    encoding="utf-8")

    with pytest.raises(DivisionFileError) as refused:
        read_history(path)

    assert [str(problem) for _, problem in refused.value.problems] == [
        "row 2, column valid_to [2009-07-32]: not a date: write it as 2009-07-02"]


@pytest.mark.django_db
def test_a_refused_file_writes_nothing_not_even_the_source(folder):
    (folder / "areas.csv").write_text("code,name,cityCode,provinceCode\n320612,,3206,32\n", encoding="utf-8")
    sources = Source.objects.count()

    with pytest.raises(DivisionFileError, match=r"row 2, column name: the name is empty"):
        load_divisions(folder, history=False, provinces=["32"])

    assert not Region.objects.exists() and Source.objects.count() == sources

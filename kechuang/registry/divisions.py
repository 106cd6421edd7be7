"""Load China's administrative divisions (统计用区划代码) into the region tree.

The source is the NBS division list as published by modood/Administrative-divisions-
of-China (`provinces.csv`, `cities.csv`, `areas.csv`, `streets.csv`). Its codes are
truncated (2, 4, 6 and 9 digits); GB/T 2260 pads them to six digits (32 → 320000,
3206 → 320600). Towns keep their 9-digit statistical code.

The files carry today's divisions only. What changed before (通州市 320683 became
通州区 320612 in 2009) comes from `data/division-history.csv`, written by the team
with a source for every row.

This module is the import service for divisions: it writes regions in bulk (a few
statements for 3,000 regions, not one per row), idempotently, each row with its
history record (interface `import`, docs/audit.md).
"""

import csv
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from pypinyin import Style, lazy_pinyin

from kechuang import audit
from kechuang.tabular import Problem

from .models import Region, RegionLevel, RegionLink, Source
from .services import RegistryError, save_source

HISTORY_FILE = Path(__file__).parent / "data" / "division-history.csv"
NAME_MAX_LENGTH = Region._meta.get_field("name_zh").max_length
# What surrogateescape makes of a byte that is not UTF-8.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")

SOURCE_KEY = "nbs-divisions-modood"
SOURCE = dict(
    title="统计用区划代码 (National Bureau of Statistics), as published by modood/Administrative-divisions-of-China",
    url="https://github.com/modood/Administrative-divisions-of-China",
    publisher="National Bureau of Statistics of China",
    note="dist/*.csv at commit 57a0aa9cef47169a2eb74cf057b0245052a34e8c; data vintage 2022 or 2023.",
)

#: Established English names; pinyin alone would confuse 陕西 (Shaanxi) with 山西 (Shanxi).
PROVINCE_NAMES_EN = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
    "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
    "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
    "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi",
    "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan",
    "54": "Tibet", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia",
    "65": "Xinjiang", "71": "Taiwan", "81": "Hong Kong", "82": "Macao",
}

# Longest suffix first, so 自治县 wins over 县 and 高新技术产业开发区 over 开发区.
_SUFFIXES = {
    RegionLevel.CITY: [("自治州", " Autonomous Prefecture"), ("市辖区", "Municipal districts"),
                       ("地区", " Prefecture"), ("盟", " League"), ("市", ""), ("县", "Counties")],
    RegionLevel.DISTRICT: [
        ("高新技术产业开发区", " High-tech Industrial Development Zone"),
        ("经济技术开发区", " Economic and Technological Development Zone"),
        ("开发区", " Development Zone"), ("新区", " New Area"), ("自治县", " Autonomous County"),
        ("自治旗", " Autonomous Banner"), ("特区", " Special District"), ("林区", " Forestry District"),
        ("矿区", " Mining District"), ("旗", " Banner"), ("县", " County"), ("区", " District"), ("市", " City"),
    ],
    RegionLevel.TOWN: [("街道办事处", " Subdistrict"), ("街道", " Subdistrict"), ("办事处", " Office"),
                       ("苏木", " Sumu"), ("农场", " Farm"), ("林场", " Forest Farm"), ("牧场", " Ranch"),
                       ("镇", " Town"), ("乡", " Township"), ("区", " District")],
}


def pinyin_name(han: str) -> str:
    return "".join(lazy_pinyin(han, style=Style.NORMAL, errors="default")).capitalize()


def english_name(code: str, name_zh: str, level: str) -> str:
    """A machine-made English name (南通市 → Nantong, 通州区 → Tongzhou District).

    Good for telling places apart; polyphonic characters may need a hand correction.
    """
    if level == RegionLevel.PROVINCE:
        return PROVINCE_NAMES_EN.get(code[:2], pinyin_name(name_zh))
    for suffix, english in _SUFFIXES.get(level, []):
        if name_zh.endswith(suffix) and (len(name_zh) > len(suffix) or not english.startswith(" ")):
            stem = name_zh[: -len(suffix)]
            return (pinyin_name(stem) + english).strip() if stem else english.strip()
    return pinyin_name(name_zh)


@dataclass
class DivisionRow:
    code: str
    level: str
    name_zh: str
    parent: str | None
    name_en: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    successor: str | None = None
    statistical_only: bool = False
    source_key: str = SOURCE_KEY
    origin: str = ""  # the file and row it was read from, for a refusal


@dataclass(frozen=True)
class FileLayout:
    """A division file: its name, the digits of its codes, and its parents' columns with their digits.

    A parent's code is the start of its child's: 3206 (南通市) heads 320612 (通州区).
    """

    name: str
    code_digits: int
    parents: tuple[tuple[str, int], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return ("code", "name", *(column for column, _ in self.parents))


PROVINCES = FileLayout("provinces.csv", code_digits=2)
CITIES = FileLayout("cities.csv", code_digits=4, parents=(("provinceCode", 2),))
AREAS = FileLayout("areas.csv", code_digits=6, parents=(("cityCode", 4), ("provinceCode", 2)))
STREETS = FileLayout("streets.csv", code_digits=9, parents=(("areaCode", 6), ("cityCode", 4), ("provinceCode", 2)))
HISTORY_COLUMNS = ("code", "level", "name_zh", "name_en", "parent", "valid_from", "valid_to", "successor",
                   "source_key", "source_title", "source_url")
#: Problems listed in a refusal; the count of the others follows them.
PROBLEMS_SHOWN = 20


class DivisionFileError(RegistryError):
    """Division files that cannot be loaded: every problem found, each naming its file, row,
    column and reason. Nothing was written."""

    def __init__(self, problems: list[tuple[Path, Problem]]):
        self.problems = problems
        count = len(problems)
        lines = [f"  {path}: {problem}" for path, problem in problems[:PROBLEMS_SHOWN]]
        if count > PROBLEMS_SHOWN:
            lines.append(f"  … and {count - PROBLEMS_SHOWN:,} more")
        heading = f"the division files were not loaded ({count} problem{'s' if count != 1 else ''}); nothing was written:"
        super().__init__("divisions", "\n".join([heading, *lines]))


def default_directory() -> Path:
    """The shared real-data folder next to the repository, unless KECHUANG_DIVISIONS_DIR says otherwise."""
    configured = os.environ.get("KECHUANG_DIVISIONS_DIR")
    if configured:
        return Path(configured)
    return Path(settings.BASE_DIR).parent / "shared" / "data" / "real" / "admin-divisions"


@dataclass
class _File:
    """The rows read from one file, each with its number as a spreadsheet shows it, and the file's problems."""

    path: Path
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def problem(self, row: int | None, column: str | None, value: str, reason: str) -> None:
        self.problems.append(Problem(row, column, value[:60], reason))


def _read(path: Path, columns: tuple[str, ...]) -> _File:
    """The rows of a CSV file that has `columns` (among others), and what is wrong with it.

    The division files are machine-written UTF-8 and are read as they are: no encoding
    guessed and no text normalised, so that names keep their full-width brackets
    (辽宁（营口）沿海产业基地). Reading stops at the first row that is not UTF-8 text.
    """
    if not path.exists():
        raise RegistryError("divisions", f"{path} not found: point --dir (or KECHUANG_DIVISIONS_DIR) at the division CSV folder")
    read = _File(path)
    number = 0
    # surrogateescape: a byte that is not UTF-8 becomes a character of its own, found in its row and column.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        try:
            for number, fields in enumerate(csv.reader(handle), start=1):
                if number == 1:
                    header = fields
                    if _not_text(read, 1, fields, header=None) or _columns_missing(read, header, columns):
                        return read
                elif any(fields):  # a blank line is skipped
                    if _not_text(read, number, fields, header):
                        return read
                    if len(fields) != len(header):
                        read.problem(number, None, ",".join(fields), (
                            f"the row has {len(fields)} fields where the header names {len(header)}: it was cut "
                            "short, or has a comma too many"))
                    else:
                        read.rows.append((number, dict(zip(header, fields, strict=True))))
        except csv.Error as error:
            read.problem(number + 1, None, "", f"the CSV text could not be read ({error}); a quotation mark that is "
                                               "never closed makes the rest of the file one cell")
            return read
    if number == 0:
        read.problem(None, None, "", "the file is empty")
    elif number == 1:
        read.problem(None, None, "", "the file has no rows below its header")
    return read


def _not_text(read: _File, number: int, fields: list[str], header: list[str] | None) -> bool:
    """Whether a field of the row is not UTF-8 text; the reason recorded, naming the field."""
    for index, text in enumerate(fields):
        column = header[index] if header and index < len(header) else None
        if "\x00" in text:
            read.problem(number, column, "", "the file holds binary data, not text: it is not a CSV file")
            return True
        if _NOT_UTF8.search(text):
            read.problem(number, column, "", "the text is not UTF-8: the division files are UTF-8, and one saved "
                                             "from Excel (in GBK) must be saved again as \"CSV UTF-8\"")
            return True
    return False


def _columns_missing(read: _File, header: list[str], columns: tuple[str, ...]) -> bool:
    missing = [column for column in columns if column not in header]
    if missing:
        read.problem(1, None, "", f"no column {', '.join(missing)}: the header is {','.join(header)[:200]!r} "
                                  f"and must name {', '.join(columns)}")
    return bool(missing)


def _checked(read: _File, layout: FileLayout) -> list[tuple[int, dict[str, str]]]:
    """The rows whose codes and names are well formed; a problem recorded for each that is not."""
    first_row: dict[str, int] = {}
    good = []
    for number, values in read.rows:
        before = len(read.problems)
        code, name = values["code"], values["name"]
        if not _is_code(code, layout.code_digits):
            read.problem(number, "code", code, f"not a code of {layout.code_digits} digits")
        elif code in first_row:
            read.problem(number, "code", code, f"the code is given twice (rows {first_row[code]} and {number})")
        else:
            first_row[code] = number
        if not name.strip():
            read.problem(number, "name", name, "the name is empty")
        elif len(name) > NAME_MAX_LENGTH:
            read.problem(number, "name", name, f"the name is {len(name):,} characters long; at most "
                                               f"{NAME_MAX_LENGTH} fit")
        for column, digits in layout.parents:
            parent = values[column]
            if not _is_code(parent, digits):
                read.problem(number, column, parent, f"not a code of {digits} digits")
            elif not code.startswith(parent):
                read.problem(number, column, parent, f"{parent} does not head the code {code}")
        if len(read.problems) == before:
            good.append((number, values))
    return good


def _is_code(text: str, digits: int) -> bool:
    return len(text) == digits and text.isascii() and text.isdigit()


def read_divisions(directory: Path, towns: list[str] = (), provinces: list[str] = ()) -> list[DivisionRow]:
    """Rows for provinces, cities and districts (of the given two-digit `provinces`, or
    all), and for towns under the given code prefixes (`["320612"]`, `["3206"]`, or
    `["all"]`).

    Every file is checked whole before any of its rows is used: DivisionFileError lists
    every problem (file, row, column and why).
    """
    layouts = [PROVINCES, CITIES, AREAS] + ([STREETS] if towns else [])
    files = {layout: _read(directory / layout.name, layout.columns) for layout in layouts}
    checked = {layout: _checked(read, layout) for layout, read in files.items()}
    problems = [(read.path, problem) for read in files.values() for problem in read.problems]
    if problems:
        raise DivisionFileError(problems)

    def origin(layout: FileLayout, number: int) -> str:
        return f"{directory / layout.name}: row {number}"

    rows = [
        DivisionRow(r["code"].ljust(6, "0"), RegionLevel.PROVINCE, r["name"], None, origin=origin(PROVINCES, n))
        for n, r in checked[PROVINCES]
    ]
    rows += [
        DivisionRow(r["code"].ljust(6, "0"), RegionLevel.CITY, r["name"], r["provinceCode"].ljust(6, "0"),
                    origin=origin(CITIES, n))
        for n, r in checked[CITIES]
    ]
    rows += [
        # Codes whose fifth digit is 7 are NBS statistical pseudo-counties (development zones).
        DivisionRow(r["code"], RegionLevel.DISTRICT, r["name"], r["cityCode"].ljust(6, "0"),
                    statistical_only=r["code"][4] == "7", origin=origin(AREAS, n))
        for n, r in checked[AREAS]
        # Cities without districts (东莞 441900, 中山 442000, 儋州 460400) repeat the city as
        # their only "area"; their towns hang directly under the city.
        if r["code"] != r["cityCode"].ljust(6, "0")
    ]
    if towns:
        prefixes = tuple(towns) if "all" not in towns else ("",)
        rows += [
            DivisionRow(r["code"], RegionLevel.TOWN, r["name"], r["areaCode"], origin=origin(STREETS, n))
            for n, r in checked[STREETS]
            if r["code"].startswith(prefixes)
        ]
    if provinces:
        rows = [row for row in rows if row.code[:2] in provinces]
    for row in rows:
        row.name_en = english_name(row.code, row.name_zh, row.level)
    return rows


def read_history(path: Path = HISTORY_FILE) -> tuple[list[DivisionRow], list[dict]]:
    """Historical regions and amendments to current ones, and the sources they cite."""
    read = _read(path, HISTORY_COLUMNS)
    rows, sources = [], {}
    for number, r in read.rows:
        sources[r["source_key"]] = dict(key=r["source_key"], title=r["source_title"], url=r["source_url"])
        rows.append(DivisionRow(
            code=r["code"], level=r["level"], name_zh=r["name_zh"], name_en=r["name_en"],
            parent=r["parent"] or None, valid_from=_date(read, number, "valid_from", r["valid_from"]),
            valid_to=_date(read, number, "valid_to", r["valid_to"]), successor=r["successor"] or None,
            source_key=r["source_key"], origin=f"{path}: row {number}",
        ))
    if read.problems:
        raise DivisionFileError([(path, problem) for problem in read.problems])
    return rows, list(sources.values())


def _date(read: _File, number: int, column: str, text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        read.problem(number, column, text, "not a date: write it as 2009-07-02")
        return None


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


_FIELDS = ("level", "name_zh", "name_en", "statistical_only")


def load_divisions(directory: Path | None = None, towns: list[str] = (), history: bool = True,
                   provinces: list[str] = ()) -> LoadReport:
    """Create or update the region tree from the division files (and the history file).

    Idempotent: a second load reports every region unchanged and writes nothing. A
    region's parent never moves here: a re-drawn tree is recorded with
    `services.save_region`, which keeps the old link.
    """
    directory = directory or default_directory()
    with transaction.atomic(), audit.importing(f"division list {directory}"):
        return _load_divisions(directory, towns, history, provinces)


def _load_divisions(directory: Path, towns: list[str], history: bool, provinces: list[str]) -> LoadReport:
    rows = read_divisions(directory, towns, provinces)
    sources = {SOURCE_KEY: _source(SOURCE_KEY, SOURCE)}
    if history:
        past, cited = read_history()
        for spec in cited:
            key = spec.pop("key")
            sources[key] = _source(key, spec)
        rows = _merge_history(rows, [row for row in past if not provinces or row.code[:2] in provinces])

    report = LoadReport()
    existing = {r.code: r for r in Region.objects.filter(code__in=[row.code for row in rows])}
    by_code: dict[str, Region] = dict(existing)
    new_regions, changed = [], []
    for row in _parents_first(rows):
        parent = by_code.get(row.parent) if row.parent else None
        if row.parent and parent is None:
            parent = Region.objects.filter(code=row.parent).first()
            if parent is None:
                raise RegistryError("parent", f"{row.origin}: region {row.code} {row.name_zh}: parent {row.parent} "
                                              "is not known, in the files or in the database: nothing was written")
            by_code[parent.code] = parent
        values = dict(level=row.level, name_zh=row.name_zh, name_en=row.name_en, statistical_only=row.statistical_only,
                      valid_from=row.valid_from, valid_to=row.valid_to, source=sources[row.source_key])
        region = existing.get(row.code)
        if region is None:
            region = Region(code=row.code, parent=parent, path=f"{parent.path if parent else ''}{row.code}/", **values)
            new_regions.append(region)
            by_code[row.code] = region
            report.created += 1
            continue
        # The source is compared by id: reading region.source would cost a query per region.
        if any((region.source_id != (v.pk if v else None)) if k == "source" else getattr(region, k) != v
               for k, v in values.items()):
            for k, v in values.items():
                setattr(region, k, v)
            changed.append(region)
            report.updated += 1
        else:
            report.unchanged += 1
    # Level by level, so that each parent has its primary key before its children are inserted.
    for level in (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.TOWN):
        audit.bulk_create(Region, [r for r in new_regions if r.level == level], batch_size=2000)
    audit.bulk_update(Region, changed, [*_FIELDS, "valid_from", "valid_to", "source"], batch_size=2000)
    audit.bulk_create(
        RegionLink,
        [RegionLink(region=r, parent=r.parent, path=r.path, valid_from=r.valid_from, valid_to=r.valid_to, source=r.source)
         for r in new_regions],
        batch_size=2000,
    )
    _link_successors(rows, by_code)
    return report


def _source(key: str, spec: dict) -> Source:
    # The service, not update_or_create: that saves (and records a change) even when
    # nothing differs, and a second load must write nothing.
    return save_source(key, **spec)[0]


def _merge_history(rows: list[DivisionRow], past: list[DivisionRow]) -> list[DivisionRow]:
    """Historical rows add abolished codes or amend the dates of current ones."""
    by_code = {row.code: row for row in rows}
    for row in past:
        current = by_code.get(row.code)
        if current is None:
            rows.append(row)
            by_code[row.code] = row
        else:
            current.valid_from = row.valid_from or current.valid_from
            current.valid_to = row.valid_to or current.valid_to
            current.source_key = row.source_key
    return rows


def _parents_first(rows: list[DivisionRow]) -> list[DivisionRow]:
    order = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.DISTRICT: 2, RegionLevel.TOWN: 3}
    return sorted(rows, key=lambda row: (order[row.level], row.code))


def _link_successors(rows: list[DivisionRow], by_code: dict[str, Region]) -> None:
    changed = []
    for row in rows:
        if row.successor:
            region, successor = by_code[row.code], by_code.get(row.successor)
            if successor is None:
                raise RegistryError("successor", f"{row.origin}: region {row.code}: successor {row.successor} "
                                                 "is not known: nothing was written")
            if region.successor_id != successor.pk:
                region.successor = successor
                changed.append(region)
    audit.bulk_update(Region, changed, ["successor"])

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
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from pypinyin import Style, lazy_pinyin

from kechuang import audit

from .models import Region, RegionLevel, RegionLink, Source
from .services import RegistryError, save_source

HISTORY_FILE = Path(__file__).parent / "data" / "division-history.csv"

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
    extra: dict = field(default_factory=dict)


def default_directory() -> Path:
    """The shared real-data folder next to the repository, unless KECHUANG_DIVISIONS_DIR says otherwise."""
    configured = os.environ.get("KECHUANG_DIVISIONS_DIR")
    if configured:
        return Path(configured)
    return Path(settings.BASE_DIR).parent / "shared" / "data" / "real" / "admin-divisions"


def _read(path: Path) -> list[dict]:
    if not path.exists():
        raise RegistryError("divisions", f"{path} not found: point --dir (or KECHUANG_DIVISIONS_DIR) at the division CSV folder")
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_divisions(directory: Path, towns: list[str] = (), provinces: list[str] = ()) -> list[DivisionRow]:
    """Rows for provinces, cities and districts (of the given two-digit `provinces`, or
    all), and for towns under the given code prefixes (`["320612"]`, `["3206"]`, or
    `["all"]`)."""
    rows = [
        DivisionRow(r["code"].ljust(6, "0"), RegionLevel.PROVINCE, r["name"], None)
        for r in _read(directory / "provinces.csv")
    ]
    rows += [
        DivisionRow(r["code"].ljust(6, "0"), RegionLevel.CITY, r["name"], r["provinceCode"].ljust(6, "0"))
        for r in _read(directory / "cities.csv")
    ]
    rows += [
        # Codes whose fifth digit is 7 are NBS statistical pseudo-counties (development zones).
        DivisionRow(r["code"], RegionLevel.DISTRICT, r["name"], r["cityCode"].ljust(6, "0"), statistical_only=r["code"][4] == "7")
        for r in _read(directory / "areas.csv")
        # Cities without districts (东莞 441900, 中山 442000, 儋州 460400) repeat the city as
        # their only "area"; their towns hang directly under the city.
        if r["code"] != r["cityCode"].ljust(6, "0")
    ]
    if towns:
        prefixes = tuple(towns) if "all" not in towns else ("",)
        rows += [
            DivisionRow(r["code"], RegionLevel.TOWN, r["name"], r["areaCode"])
            for r in _read(directory / "streets.csv")
            if r["code"].startswith(prefixes)
        ]
    if provinces:
        rows = [row for row in rows if row.code[:2] in provinces]
    for row in rows:
        row.name_en = english_name(row.code, row.name_zh, row.level)
    return rows


def read_history(path: Path = HISTORY_FILE) -> tuple[list[DivisionRow], list[dict]]:
    """Historical regions and amendments to current ones, and the sources they cite."""
    rows, sources = [], {}
    for r in _read(path):
        sources[r["source_key"]] = dict(key=r["source_key"], title=r["source_title"], url=r["source_url"])
        rows.append(DivisionRow(
            code=r["code"], level=r["level"], name_zh=r["name_zh"], name_en=r["name_en"],
            parent=r["parent"] or None,
            valid_from=dt.date.fromisoformat(r["valid_from"]) if r["valid_from"] else None,
            valid_to=dt.date.fromisoformat(r["valid_to"]) if r["valid_to"] else None,
            successor=r["successor"] or None, source_key=r["source_key"],
        ))
    return rows, list(sources.values())


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
                raise RegistryError("parent", f"region {row.code} {row.name_zh}: parent {row.parent} is not known")
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
                raise RegistryError("successor", f"region {row.code}: successor {row.successor} is not known")
            if region.successor_id != successor.pk:
                region.successor = successor
                changed.append(region)
    audit.bulk_update(Region, changed, ["successor"])

"""Published lists (名单导入): `import_list` reads a CSV or .xlsx list of designated
enterprises (a ministry's little giants, a province's HNTE filings) and grants the
designation to each enterprise it finds — all rows or none.

How a row finds its enterprise, in order, never by a guess:

1. the USCC (统一社会信用代码), exactly, wherever the enterprise is;
2. the name, exactly (compared without blanks, case, or the width of brackets), against
   the registered Chinese and English names and the aliases (简称, 曾用名) of the
   enterprises located in the import's region;
3. otherwise the row goes to the review queue (`ImportCandidate`), with the enterprises
   of similar names (Dice similarity of the names' character pairs, company forms such as
   有限公司 left out) and their similarity: a person links it, registers the enterprise,
   or dismisses it (`link_candidate`, `create_from_candidate`, `dismiss_candidate`).

A row with a problem (no name, a USCC that fails its check, an unknown stage, a date that
is not a date, the same enterprise twice, a matched enterprise without the notice's date)
refuses the whole file: every problem is reported with its row, column, value and reason,
and nothing is written — no designation, no queue entry, no notice. The import itself is
logged (`DesignationImport`) either way, to say what happened.

A row about an enterprise the user may not record designations for (another district's,
found by its USCC) is skipped and reported, not refused: lists are national or provincial,
and a district bureau imports the whole list to find its own.

Importing the same list again changes nothing ("already recorded"); importing the final
list after the publicity list finalises the listings.
"""

import datetime as dt
import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from pypinyin import lazy_pinyin

from kechuang.accounts.scoping import can_change, can_create_in, can_review, scope_of
from kechuang.audit.context import importing
from kechuang.registry import uscc as uscc_rules
from kechuang.registry.models import Alias, Organisation, OrganisationKind, Region, Source
from kechuang.registry.services import RegistryError, find_region, move_organisation, save_organisation, save_source
from kechuang.tabular import Problem, Table, TableError, column_key, read_table

from . import services
from .models import (
    CandidateReason,
    CandidateStatus,
    Designation,
    DesignationImport,
    DesignationType,
    ImportCandidate,
    ImportStatus,
    Stage,
)
from .services import DesignationError, NotAllowed

#: Column names by what the column holds, in Chinese and English (compared by tabular.column_key).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "name": ("企业名称", "单位名称", "公司名称", "名称", "企业", "企业(单位)名称", "company_name", "company name",
             "company", "enterprise", "enterprise name", "name"),
    "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "uscc", "unified social credit code", "credit code"),
    "batch": ("批次", "批次号", "batch"),
    "stage": ("阶段", "名单类型", "公示或公告", "list_stage", "list stage", "stage"),
    "granted_on": ("认定日期", "认定时间", "公告日期", "发证日期", "发证时间", "granted_on", "granted on", "granted"),
    "publicised_on": ("公示日期", "公示时间", "publicised_on", "publicised on", "publicity date"),
    "valid_until": ("有效期至", "valid_until", "valid until"),
    "certificate_number": ("证书编号", "证书号", "登记编号", "入库登记编号", "certificate_number", "certificate number",
                           "certificate"),
    "district": ("区县代码", "区县", "district_code", "district code"),
    "region": ("地区代码", "行政区划代码", "区划代码", "region_code", "region code", "region"),
    "city": ("城市代码", "地市代码", "city_code", "city code"),
    "province": ("省份代码", "省代码", "province_code", "province code"),
    "source_url": ("来源", "来源网址", "来源链接", "source_url", "source url", "source", "url"),
}
#: The region columns, most specific first: a row is placed by the first one it fills.
REGION_ROLES = ("district", "region", "city", "province")
#: What a problem names when the value did not come from a column of the file (--date, --batch).
LABELS = {
    "name": "enterprise name (企业名称)", "uscc": "USCC (统一社会信用代码)", "batch": "batch (批次)",
    "stage": "stage (阶段)", "granted_on": "granted date (认定日期, or --date)",
    "publicised_on": "publicity date (公示日期, or --date)", "valid_until": "valid until (有效期至)",
    "certificate_number": "certificate number (证书编号)",
}
#: Columns read by people: reported as ignored, never an error.
IGNORED_COLUMNS = ("序号", "no", "no.", "#", "batch_year", "年份", "city", "城市", "province", "省份", "所属地区",
                   "地区", "所属区县", "地址", "address", "行业", "industry", "备注", "note", "notes", "remark")
_ROLE_OF = {column_key(name): role for role, names in COLUMN_NAMES.items() for name in names}
_IGNORED = {column_key(name) for name in IGNORED_COLUMNS}

#: Words of a stage column (list_stage): the final list (公告/公布/认定) or a publicity list (公示).
STAGE_WORDS = {
    "final": Stage.FINAL, "announced": Stage.FINAL, "公布": Stage.FINAL, "公告": Stage.FINAL, "认定": Stage.FINAL,
    "已认定": Stage.FINAL, "正式名单": Stage.FINAL,
    "publicity": Stage.PUBLICITY, "公示": Stage.PUBLICITY, "拟认定": Stage.PUBLICITY, "公示名单": Stage.PUBLICITY,
    "proposed": Stage.PUBLICITY,
}
_STAGES = {column_key(word): stage for word, stage in STAGE_WORDS.items()}

#: Names at least this similar (0–1) are offered in the review queue; at most this many.
SIMILAR_AT = 0.6
CANDIDATES_KEPT = 5
#: Company forms left out when names are compared for similarity: 南通星球石墨设备有限公司 and
#: 南通星球石墨设备股份有限公司 are the same words.
COMPANY_FORMS = ("股份有限公司", "有限责任公司", "集团有限公司", "集团股份有限公司", "有限公司", "集团", "公司",
                 "companylimited", "coltd", "limited", "ltd", "co", "inc", "corporation", "corp")

_DATE_PATTERNS = (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
                  re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"))


# --- comparing names -----------------------------------------------------------------------------


def name_key(text: str) -> str:
    """What two names are compared by: NFKC (full-width brackets and letters made plain),
    case-folded, without blanks. 中科仪（南通） and 中科仪(南通) are the same name."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    return "".join(folded.split())


def name_core(text: str) -> str:
    """The words of a name for similarity: letters, digits and Han characters only, without
    the company form at its end."""
    core = "".join(ch for ch in name_key(text) if ch.isalnum())
    for form in sorted(COMPANY_FORMS, key=len, reverse=True):
        if core.endswith(form) and len(core) > len(form):
            core = core[: -len(form)]
            break
    return core


def _pairs(text: str) -> Counter:
    return Counter(text[i:i + 2] for i in range(len(text) - 1)) if len(text) > 1 else Counter([text])


def similarity(a: str, b: str) -> float:
    """Dice similarity of the names' character pairs (0: nothing shared, 1: the same words)."""
    first, second = _pairs(name_core(a)), _pairs(name_core(b))
    total = sum(first.values()) + sum(second.values())
    if not total:
        return 0.0
    return round(2 * sum((first & second).values()) / total, 3)


# --- what an import answers ----------------------------------------------------------------------


@dataclass
class RowOutcome:
    """What became of one row: granted, finalised, listed (for publicity), already (recorded
    before), queued (for review) or skipped (not the user's to record)."""

    row: int
    name: str
    outcome: str
    organisation: str | None = None
    designation: int | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "name": self.name, "outcome": self.outcome, "organisation": self.organisation,
                "designation": self.designation, "reason": self.reason}


@dataclass
class ImportOutcome:
    record: DesignationImport
    problems: list[Problem] = field(default_factory=list)
    rows: list[RowOutcome] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def refused(self) -> bool:
        return self.record.status == ImportStatus.REFUSED

    def error(self, row: int | None, column: str | None, value: str, reason: str) -> None:
        self.problems.append(Problem(row, column, value, reason))

    def count(self, *outcomes: str) -> int:
        return sum(1 for row in self.rows if row.outcome in outcomes)

    def summary(self) -> str:
        verb = "" if self.record.status == ImportStatus.DONE else "would be "
        if self.refused:
            return f"{self.record.rows_read} rows read, {len(self.problems)} problems: nothing was written"
        return (f"{self.record.rows_read} rows read: {self.count('granted', 'finalised', 'listed')} {verb}granted or "
                f"finalised, {self.count('already')} already recorded, {self.count('queued')} {verb}queued for "
                f"review, {self.count('skipped')} skipped")

    def report(self) -> dict[str, Any]:
        return {"message": self.message, "summary": self.summary(), "ignored_columns": self.ignored_columns,
                "problems": [problem.as_dict() for problem in self.problems],
                "rows": [row.as_dict() for row in self.rows]}


@dataclass
class _Row:
    """One row as read: its values checked, its enterprise not yet found."""

    number: int
    name: str
    uscc: str
    batch: str
    stage: str
    publicised_on: dt.date | None
    granted_on: dt.date | None
    valid_until: dt.date | None
    certificate_number: str
    region: Region | None
    source_url: str
    columns: dict[str, str] = field(default_factory=dict)  # what each value was read from: role → column
    outside: str = ""  # why the row lies outside the region imported, if it does

    def column(self, role: str) -> str:
        return self.columns.get(role) or LABELS.get(role, role)


# --- the import ----------------------------------------------------------------------------------


def import_list(source: "str | BinaryIO", *, designation_type: "DesignationType | str", level: str | None = None,
                region: "Region | str | None" = None, stage: str = Stage.FINAL, date: dt.date | None = None,
                batch: str = "", notice: "Source | str | None" = None, by=None, filename: str | None = None,
                dry_run: bool = False, today: dt.date | None = None) -> ImportOutcome:
    """Import a published list of `designation_type` at `level` from a CSV or .xlsx file (a
    path, or a binary file object). Names are matched among the enterprises located in
    `region` (a code or name); `stage`, `date` (the notice's date), `batch` and `notice` (a
    Source or its key) apply to the rows whose own columns say nothing. `by` is the user
    importing (None: the operator). Raises DesignationError for arguments that are wrong
    before any row is read; returns the outcome, refused or not, otherwise."""
    designation_type = services.find_type(designation_type)
    level = level or designation_type.default_level
    if level not in designation_type.levels:
        raise DesignationError("level", f"{designation_type} is issued at level {', '.join(designation_type.levels)}"
                                        f", not {level!r}")
    if stage not in (Stage.FINAL, Stage.PUBLICITY):
        raise DesignationError("stage", "a list is a final list (final) or a publicity list (publicity)")
    if isinstance(region, str):
        try:
            region = find_region(region)
        except RegistryError as error:
            raise DesignationError("region", error.reason) from None
    if by is not None and not scope_of(by).everything:
        if region is None:
            raise DesignationError("region", "give the region whose enterprises the names are looked up in")
        if not can_review(by, region):
            raise NotAllowed("region", f"only the bureau of {region.name_zh} {region.code} imports lists for it")
    notice = services._source(notice)
    name = filename or getattr(source, "name", None) or str(source)
    name = str(name).rsplit("/", 1)[-1]
    digest, size = _fingerprint(source)
    record = DesignationImport.objects.create(
        file_name=name[:300], sha256=digest, size=size, type=designation_type, level=level, region=region,
        stage=stage, date=date, batch=(batch or "")[:60], source=notice, dry_run=dry_run,
        status=ImportStatus.REFUSED, by=by)
    outcome = ImportOutcome(record)
    with importing(f"designation list {name}"):
        try:
            if hasattr(source, "seek"):
                source.seek(0)
            table = read_table(source, filename=name, header_hints=[n for names in COLUMN_NAMES.values()
                                                                    for n in names])
        except TableError as error:
            outcome.error(error.row, error.column, "", error.reason)
            return _finish(outcome, ImportStatus.REFUSED, "the file cannot be read: nothing was written")
        record.format = table.format
        rows = _read_rows(table, outcome, default_stage=stage, default_date=date, default_batch=batch or "",
                          region=region, today=today or timezone.localdate())
        record.rows_read = len(table.rows)
        if outcome.problems:
            return _finish(outcome, ImportStatus.REFUSED, "the file has errors: nothing was written")
        with transaction.atomic():
            _match_and_write(rows, outcome, by=by, today=today)
            if outcome.problems or dry_run:
                transaction.set_rollback(True)
    if outcome.problems:
        outcome.rows = []
        return _finish(outcome, ImportStatus.REFUSED, "the file has errors: nothing was written")
    if dry_run:
        return _finish(outcome, ImportStatus.CHECKED, "dry run: the list can be imported as it is; nothing was "
                                                      "written")
    return _finish(outcome, ImportStatus.DONE, "imported")


def _fingerprint(source) -> tuple[str, int]:
    """The file's SHA-256 and size, read in blocks: an upload costs a block of memory, whatever its size
    (read_table then refuses a file over its limit from the size alone)."""
    digest, size = hashlib.sha256(), 0
    handle = source if hasattr(source, "read") else open(source, "rb")
    try:
        if handle is source:
            source.seek(0)
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
            size += len(block)
    finally:
        if handle is source:
            source.seek(0)
        else:
            handle.close()
    return digest.hexdigest(), size


def _finish(outcome: ImportOutcome, status: str, message: str) -> ImportOutcome:
    record = outcome.record
    outcome.message = message
    record.status = status
    record.granted = outcome.count("granted", "finalised", "listed") if status == ImportStatus.DONE else 0
    record.queued = outcome.count("queued") if status == ImportStatus.DONE else 0
    record.report = outcome.report()
    record.save()
    return outcome


# --- reading rows ----------------------------------------------------------------------------------


def _roles(table: Table, outcome: ImportOutcome) -> dict[str, str]:
    roles: dict[str, str] = {}
    for column in table.header:
        key = column_key(column)
        role = _ROLE_OF.get(key)
        if role is not None and role not in roles:
            roles[role] = column
        elif key not in _IGNORED:
            outcome.ignored_columns.append(column)
    if "name" not in roles:
        outcome.error(table.header_row, None, "", "no column of enterprise names: name one 企业名称 (or company_name)"
                                                  f"; the columns are {', '.join(table.header)}")
    return roles


def parse_day(text: str) -> dt.date:
    """2023-07-14, 2023/7/14, 2023.7.14 or 2023年7月14日."""
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text.strip())
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return dt.date(year, month, day)
            except ValueError as error:
                raise ValueError(f"not a date ({error})") from None
    raise ValueError("not a date: write it as 2023-07-14 or 2023年7月14日")


def _read_rows(table: Table, outcome: ImportOutcome, *, default_stage: str, default_date: dt.date | None,
               default_batch: str, region: Region | None, today: dt.date) -> list[_Row]:
    roles = _roles(table, outcome)
    if outcome.problems:
        return []
    if not table.rows:
        outcome.error(table.header_row, None, "", "the list has no rows below its header")
        return []
    codes = {_padded(line.values.get(roles[role], "")) for line in table.rows for role in REGION_ROLES if role in roles}
    regions = {r.code: r for r in Region.objects.filter(code__in=codes - {""})}
    rows: list[_Row] = []
    seen_uscc: dict[str, int] = {}
    seen_name: dict[str, int] = {}
    for line in table.rows:
        number = line.number

        def cell(role: str, values: dict[str, str] = line.values) -> str:
            return values.get(roles[role], "") if role in roles else ""

        problems_before = len(outcome.problems)
        name = cell("name")
        if not name:
            outcome.error(number, roles["name"], "", "the row names no enterprise")
        elif len(name) > 300:
            outcome.error(number, roles["name"], name[:50], "a name of more than 300 characters")
        code = ""
        if cell("uscc"):
            checked = uscc_rules.check(cell("uscc"))
            if not checked.valid:
                outcome.error(number, roles["uscc"], cell("uscc"), f"not a valid Unified Social Credit Code: "
                                                                   f"{checked.error}")
            code = checked.code
        stage = default_stage
        if cell("stage"):
            stage = _STAGES.get(column_key(cell("stage")))
            if stage is None:
                outcome.error(number, roles["stage"], cell("stage"), "not a stage: final (公告, 认定, announced) or "
                                                                     "publicity (公示)")
        dates = {}
        for role in ("publicised_on", "granted_on", "valid_until"):
            dates[role] = None
            if cell(role):
                try:
                    dates[role] = parse_day(cell(role))
                except ValueError as error:
                    outcome.error(number, roles[role], cell(role), str(error))
                    continue
                if role != "valid_until" and dates[role] > today:
                    outcome.error(number, roles[role], cell(role), "a date in the future")
        if stage == Stage.FINAL and dates["granted_on"] is None:
            dates["granted_on"] = default_date
        if stage == Stage.PUBLICITY and dates["publicised_on"] is None:
            dates["publicised_on"] = default_date
        if stage == Stage.PUBLICITY and dates["granted_on"] is not None:
            outcome.error(number, roles["granted_on"], cell("granted_on"), "a publicity listing has no granted date "
                                                                           "yet: its stage says 公示")
        row_region, outside = None, ""
        for role in REGION_ROLES:
            if cell(role):
                row_region = regions.get(_padded(cell(role)))
                if row_region is None:
                    outcome.error(number, roles[role], cell(role), "not a division code kechuang knows")
                break
        if row_region is not None and region is not None and not row_region.path.startswith(region.path) \
                and not region.path.startswith(row_region.path):
            # A city's list imported by one district: the other districts' rows are theirs.
            outside = f"the list places it in {row_region.name_zh} {row_region.code}, outside {region.name_zh}"
        for field_name, limit in (("batch", 60), ("certificate_number", 60), ("source_url", 1000)):
            if len(cell(field_name)) > limit:
                outcome.error(number, roles[field_name], cell(field_name)[:50], f"at most {limit} characters")
        if cell("source_url") and not urlsplit(cell("source_url")).scheme.startswith("http"):
            outcome.error(number, roles["source_url"], cell("source_url"), "not a web address (http:// or https://)")
        if code and code in seen_uscc:
            outcome.error(number, roles["uscc"], cell("uscc"), f"the same USCC as row {seen_uscc[code]}")
        elif name and name_key(name) in seen_name:
            outcome.error(number, roles["name"], name, f"the same enterprise as row {seen_name[name_key(name)]}")
        if code:
            seen_uscc.setdefault(code, number)
        if name:
            seen_name.setdefault(name_key(name), number)
        if len(outcome.problems) > problems_before:
            continue
        rows.append(_Row(number, name, code, cell("batch") or default_batch, stage, dates["publicised_on"],
                         dates["granted_on"], dates["valid_until"], cell("certificate_number"),
                         row_region or region, cell("source_url"), roles, outside))
    return rows


def _padded(code: str) -> str:
    """A truncated statistical code as the division lists write them (32, 3206) in its
    six-digit GB/T 2260 form (320000, 320600)."""
    return code.ljust(6, "0") if code.isdigit() and len(code) < 6 else code


# --- matching and writing -------------------------------------------------------------------------


class _Registry:
    """The enterprises a list's rows may name, looked up once for all rows."""

    def __init__(self, region: Region | None, rows: list[_Row]):
        self.region = region
        usccs = {row.uscc for row in rows if row.uscc}
        self.by_uscc = {org.uscc: org for org in Organisation.objects.filter(uscc__in=usccs)} if usccs else {}
        self.by_name: dict[str, list[Organisation]] = defaultdict(list)
        self.names: dict[int, list[str]] = {}
        self._index: dict[str, set[int]] | None = None
        self._organisations: dict[int, Organisation] = {}
        self._remember(self.by_uscc.values())
        variants = set()
        for row in rows:
            variants |= {row.name, row.name.replace("(", "（").replace(")", "）"),
                         row.name.replace("（", "(").replace("）", ")")}
        if variants:
            found = list(self._enterprises().filter(Q(name_zh__in=variants) | Q(name_en__in=variants)
                                                    | Q(pk__in=Alias.objects.filter(name__in=variants)
                                                        .values("organisation_id"))))
            self._remember(found)
            wanted = {name_key(row.name) for row in rows}
            for org in found:
                for key in {name_key(name) for name in self.names[org.pk]} & wanted:
                    self.by_name[key].append(org)

    def _enterprises(self):
        enterprises = Organisation.objects.filter(kind=OrganisationKind.ENTERPRISE)
        if self.region is not None:
            enterprises = enterprises.filter(pk__in=Organisation.objects.in_region(self.region).values("pk"))
        return enterprises

    def _remember(self, organisations, aliases=None) -> None:
        """Keep the organisations and their names; `aliases` are theirs, when a subquery
        finds them better than a list of every id (a whole region's enterprises)."""
        fresh = [org for org in organisations if org.pk not in self._organisations]
        for org in fresh:
            self._organisations[org.pk] = org
            self.names[org.pk] = [name for name in (org.name_zh, org.name_en) if name]
        if aliases is None:
            aliases = Alias.objects.filter(organisation_id__in=[org.pk for org in fresh])
        for organisation_id, alias in aliases.values_list("organisation_id", "name"):
            if organisation_id in self.names and alias not in self.names[organisation_id]:
                self.names[organisation_id].append(alias)

    def similar(self, name: str) -> list[dict]:
        """The enterprises of the region whose names are at least SIMILAR_AT similar, best first."""
        if self._index is None:
            enterprises = self._enterprises()
            self._remember(enterprises.order_by("pk"), Alias.objects.filter(organisation__in=enterprises.values("pk")))
            self._index = defaultdict(set)
            for organisation_id, names in self.names.items():
                for text in names:
                    for pair in _pairs(name_core(text)):
                        self._index[pair].add(organisation_id)
        near = set().union(*(self._index.get(pair, set()) for pair in _pairs(name_core(name))))
        found = []
        for organisation_id in near:
            org = self._organisations[organisation_id]
            score, closest = max((similarity(name, text), text) for text in self.names[organisation_id])
            if score >= SIMILAR_AT:
                found.append(candidate_entry(org, score, closest))
        found.sort(key=lambda entry: (-entry["similarity"], entry["organisation"]))
        return found[:CANDIDATES_KEPT]


def candidate_entry(org: Organisation, score: float, matched: str) -> dict:
    return {"organisation": org.key, "name": str(org), "matched_name": matched, "similarity": score,
            "uscc": org.uscc or ""}


def _match_and_write(rows: list[_Row], outcome: ImportOutcome, *, by, today) -> None:
    record = outcome.record
    registry = _Registry(record.region, rows)
    for row in rows:
        if row.outside:
            outcome.rows.append(RowOutcome(row.number, row.name, "skipped", None, None, row.outside))
            continue
        org = registry.by_uscc.get(row.uscc) if row.uscc else None
        note = ""
        if org is not None and name_key(row.name) not in {name_key(n) for n in registry.names[org.pk]}:
            note = (f"matched by its USCC; the list names it {row.name}, the registry {org}: check that the code "
                    "belongs to this company")
        if org is None:
            named = registry.by_name.get(name_key(row.name), [])
            if len(named) > 1:
                _queue(row, outcome, CandidateReason.AMBIGUOUS,
                       [candidate_entry(o, 1.0, row.name) for o in sorted(named, key=lambda o: o.key)])
                continue
            if named and row.uscc and named[0].uscc and named[0].uscc != row.uscc:
                _queue(row, outcome, CandidateReason.CONFLICT, [candidate_entry(named[0], 1.0, row.name)])
                continue
            org = named[0] if named else None
            if org is not None and row.uscc and not org.uscc:
                note = f"matched by its name; the list gives the USCC {row.uscc}, which the registry does not hold"
        if org is None:
            similar = registry.similar(row.name)
            _queue(row, outcome, CandidateReason.SIMILAR if similar else CandidateReason.UNMATCHED, similar)
            continue
        if org.kind != OrganisationKind.ENTERPRISE:
            outcome.error(row.number, row.column("uscc"), row.uscc, f"{org.key} is a {org.kind}: designations are "
                                                                    "granted to enterprises")
            continue
        if by is not None and not can_review(by, org):
            outcome.rows.append(RowOutcome(row.number, row.name, "skipped", org.key, None,
                                           "not located in your district: its bureau records it"))
            continue
        try:
            result, designation = apply_row(org, record, row, by=by, today=today)
        except DesignationError as error:
            value = getattr(row, error.field, None)
            shown = value.isoformat() if isinstance(value, dt.date) else str(value or "")
            outcome.error(row.number, row.column(error.field), shown, error.reason)
            continue
        outcome.rows.append(RowOutcome(row.number, row.name, result, org.key, designation.pk, note))


def _queue(row: _Row, outcome: ImportOutcome, reason: str, candidates: list[dict]) -> None:
    record = outcome.record
    ImportCandidate.objects.create(
        designation_import=record, row=row.number, name=row.name, uscc=row.uscc, batch=row.batch, stage=row.stage,
        publicised_on=row.publicised_on, granted_on=row.granted_on, valid_until=row.valid_until,
        certificate_number=row.certificate_number, region=row.region, source=_notice(row.source_url, record),
        reason=reason, candidates=candidates)
    best = f"; closest: {candidates[0]['name']} ({candidates[0]['similarity']})" if candidates else ""
    outcome.rows.append(RowOutcome(row.number, row.name, "queued", None, None,
                                   f"{CandidateReason(reason).label}{best}"))


def _notice(url: str, record: DesignationImport) -> Source | None:
    """The notice a row comes from: its source URL (registered once as a Source), else the import's."""
    if not url:
        return record.source
    found = Source.objects.filter(url=url).order_by("pk").first()
    if found is not None:
        return found
    key = "notice-" + hashlib.sha1(url.encode()).hexdigest()[:16]
    host = urlsplit(url).netloc
    source, _ = save_source(key, title=f"{record.type.name_zh}名单 ({host})", url=url,
                            note=f"Registered by the import of {record.file_name}.")
    return source


def apply_row(org: Organisation, record: DesignationImport, row, *, by, today=None) -> tuple[str, Designation]:
    """Grant (or finalise) the designation a list's row says `org` holds, unless it is
    recorded already. `row` is a read row or an ImportCandidate (their fields are alike)."""
    source = _notice(getattr(row, "source_url", "") or "", record) if not isinstance(row, ImportCandidate) \
        else (row.source or record.source)
    held = Designation.objects.filter(organisation=org, type=record.type, level=record.level).exclude(
        stage=Stage.RENAMED)
    same = None
    if row.batch:
        same = held.filter(batch=row.batch).first()
    if same is None and row.stage == Stage.FINAL and row.granted_on:
        same = held.filter(granted_on=row.granted_on).first()
    if same is None and row.stage == Stage.PUBLICITY and row.publicised_on:
        same = held.filter(publicised_on=row.publicised_on).first()
    if same is None and row.stage == Stage.FINAL:
        same = held.filter(stage=Stage.PUBLICITY).first()
    if same is not None:
        if same.stage == Stage.PUBLICITY and row.stage == Stage.FINAL:
            if row.granted_on is None:
                raise DesignationError("granted_on", "the list gives no date: give the notice's date (--date)")
            finalised = services.advance_stage(same, Stage.FINAL, on=row.granted_on, by=by, source=source,
                                               valid_until=row.valid_until,
                                               certificate_number=row.certificate_number or None, today=today)
            return "finalised", finalised
        return "already", same
    date = row.granted_on if row.stage == Stage.FINAL else row.publicised_on
    if date is None:
        field = "granted_on" if row.stage == Stage.FINAL else "publicised_on"
        raise DesignationError(field, "the list gives no date: give the notice's date (--date)")
    designation = services.grant(
        org, record.type, stage=row.stage, level=record.level, granted_on=row.granted_on,
        publicised_on=row.publicised_on, valid_until=row.valid_until, batch=row.batch,
        certificate_number=row.certificate_number, name_on_list=row.name, source=source, by=by, today=today)
    return ("granted" if row.stage == Stage.FINAL else "listed"), designation


# --- the review queue ----------------------------------------------------------------------------


def _pending(candidate: ImportCandidate, by) -> ImportCandidate:
    stored = (ImportCandidate.objects.select_for_update(of=("self",))
              .select_related("designation_import__type", "designation_import__region", "region", "source")
              .get(pk=candidate.pk))
    if by is not None and not can_change(by, stored):
        raise NotAllowed("candidate", "only the bureau that imported the list reviews its rows")
    if stored.status != CandidateStatus.PENDING:
        raise DesignationError("status", f"row {stored.row} was already reviewed: {stored.get_status_display()}")
    return stored


def _with_dates(candidate: ImportCandidate, granted_on, publicised_on) -> ImportCandidate:
    if granted_on is not None:
        candidate.granted_on = granted_on
    if publicised_on is not None:
        candidate.publicised_on = publicised_on
    return candidate


def _resolve(candidate: ImportCandidate, status: str, org: Organisation | None, designation: Designation | None,
             by, comment: str) -> ImportCandidate:
    candidate.status, candidate.organisation, candidate.designation = status, org, designation
    candidate.resolved_by, candidate.resolved_at = by, timezone.now()
    candidate.comment = (comment or "").strip()
    if by is not None:
        candidate._history_user = by
    candidate.save()
    return candidate


@transaction.atomic
def link_candidate(candidate: ImportCandidate, organisation: Organisation, *, by=None,
                   granted_on: dt.date | None = None, publicised_on: dt.date | None = None, comment: str = "",
                   today: dt.date | None = None) -> ImportCandidate:
    """The row names `organisation` (one of the candidates, or another the bureau found):
    link it and grant the designation (dates from the list, or given here)."""
    stored = _with_dates(_pending(candidate, by), granted_on, publicised_on)
    if by is not None and not can_review(by, organisation):
        raise NotAllowed("organisation", f"only the bureau of {organisation}'s district records its designations")
    if organisation.kind != OrganisationKind.ENTERPRISE:
        raise DesignationError("organisation", f"{organisation} is a {organisation.kind}: designations are granted "
                                               "to enterprises")
    if stored.uscc and organisation.uscc and stored.uscc != organisation.uscc:
        raise DesignationError("organisation", f"the list gives the USCC {stored.uscc}; {organisation} has "
                                               f"{organisation.uscc}")
    with importing(f"review of {stored.designation_import.file_name}, row {stored.row}"):
        _, designation = apply_row(organisation, stored.designation_import, stored, by=by, today=today)
        return _resolve(stored, CandidateStatus.LINKED, organisation, designation, by, comment)


def new_key(name: str) -> str:
    """A key for an enterprise registered from a list: its name in pinyin (南通星球石墨设备有限公司 →
    nantong-xing-qiu-shi-mo-she-bei), unique."""
    syllables = [s for s in lazy_pinyin(name_core(name), errors="ignore") if s.isascii() and s.isalnum()]
    base = "-".join(syllables)[:80].strip("-") or "enterprise"
    key, number = base, 1
    while Organisation.objects.filter(key=key).exists():
        number += 1
        key = f"{base}-{number}"
    return key


@transaction.atomic
def create_from_candidate(candidate: ImportCandidate, *, by=None, key: str | None = None,
                          region: Region | None = None, name_en: str = "", granted_on: dt.date | None = None,
                          publicised_on: dt.date | None = None, comment: str = "",
                          today: dt.date | None = None) -> ImportCandidate:
    """Register the enterprise the row names (it is not in the registry yet), located in
    `region` (default: where the list places it) since the notice's date at the latest,
    and grant the designation."""
    stored = _with_dates(_pending(candidate, by), granted_on, publicised_on)
    region = region or stored.region or stored.designation_import.region
    if region is None:
        raise DesignationError("region", "say where the enterprise is located (a division code)")
    if by is not None and not can_create_in(by, region):
        raise NotAllowed("region", f"only the bureau of {region.name_zh} {region.code} registers enterprises there")
    since = stored.publicised_on or stored.granted_on
    if since is None:
        field = "granted_on" if stored.stage == Stage.FINAL else "publicised_on"
        raise DesignationError(field, "the list gives no date: give the notice's date")
    han = any("\u4e00" <= ch <= "\u9fff" for ch in stored.name)
    fields = {"kind": OrganisationKind.ENTERPRISE, "name_zh": stored.name if han else "",
              "name_en": name_en or ("" if han else stored.name), "source": stored.source}
    if stored.uscc:
        fields["uscc"] = stored.uscc
    key = key or new_key(stored.name)
    if Organisation.objects.filter(key=key).exists():
        raise DesignationError("key", f"{key} is the key of {Organisation.objects.get(key=key)} already")
    with importing(f"review of {stored.designation_import.file_name}, row {stored.row}"):
        org, _ = save_organisation(key, **fields)
        # The list says the enterprise was there when it was listed; since when is not known.
        move_organisation(org, region, since=since, source=stored.source)
        _, designation = apply_row(org, stored.designation_import, stored, by=by, today=today)
        return _resolve(stored, CandidateStatus.CREATED, org, designation, by, comment)


@transaction.atomic
def dismiss_candidate(candidate: ImportCandidate, *, comment: str, by=None) -> ImportCandidate:
    """The row is not the bureau's to record (another district's enterprise, a duplicate): say why."""
    stored = _pending(candidate, by)
    if not (comment or "").strip():
        raise DesignationError("comment", "say why the row is dismissed (另一区县的企业, 重复 …)")
    return _resolve(stored, CandidateStatus.DISMISSED, None, None, by, comment)

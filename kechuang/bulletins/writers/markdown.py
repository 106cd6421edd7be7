"""A bulletin as Markdown (CommonMark with GitHub's footnotes and pipe tables), for pasting
into a newsletter, a wiki or a WeChat editor.

A figure in the text is followed by its footnote mark (`74[^1]`); the footnotes are the annex:
what the figure is, where and when, its value, basis and sources. A chart is the table of its
data. The document's own text is escaped, so that a "*" or a "<" in it prints as itself.
"""

from __future__ import annotations

import re

from kechuang.bulletins.document import Chart, Document, Figure, Paragraph, Table
from kechuang.bulletins.writers.html import PROVISIONAL_MARK, labels, moment_text, period_text, safe_url

# CommonMark's punctuation that can start markup inline; "$" too, which some renderers read as
# mathematics ("13.5 billion yuan ($1.86 billion) … $2 billion").
_SPECIAL = re.compile(r"([\\`*_\[\]<>|$~])")
_SPACE = re.compile(r"\s+")
# At the start of a line: a heading, a list item, a quotation or a numbered item.
_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])")

FOOTNOTE = {
    "en": {"dash": " — ", "comma": ", ", "colon": ": ", "open": " (", "close": ")", "semicolon": "; ",
           "sources": "sources: ", "withheld": "withheld: "},
    "zh": {"dash": "——", "comma": "，", "colon": "：", "open": "（", "close": "）", "semicolon": "；",
           "sources": "来源：", "withheld": "不予公开："},
}


def escape(text: str) -> str:
    """`text` on one line, its markup characters escaped (not those that start a block: see `plain_start`)."""
    return _SPECIAL.sub(r"\\\1", _SPACE.sub(" ", text))


def plain_start(text: str) -> str:
    """A paragraph's text that must not start a heading, a list or a quotation."""
    return _LINE_START.sub(lambda match: match.group(1) + "\\" + match.group(2), text)


def destination(url: str) -> str:
    """A link's address in angle brackets, with what would end it early percent-encoded."""
    return "<" + url.replace(" ", "%20").replace("<", "%3C").replace(">", "%3E") + ">"


def cell(text: str) -> str:
    return escape(text) or " "


def render(document: Document) -> str:
    words = labels(document)
    parts = [f"# {escape(document.title)}", plain_start(escape(document.dateline))]
    if document.version > 0:
        parts.append(plain_start(escape(words["version"].format(n=document.version))))
        if document.revision_note:
            parts.append(plain_start(escape(words["revision"].format(note=document.revision_note))))
    for section in document.sections:
        if section.heading:
            parts.append(f"## {escape(section.heading)}")
        for block in section.blocks:
            if isinstance(block, Paragraph):
                parts.append(_paragraph(document, block))
            elif isinstance(block, Chart):
                parts.append(_chart(document, block))
            elif isinstance(block, Table):
                parts.append(_table(block.title, block.header, block.rows, block.note))
    if document.figures:
        parts.append(f"## {escape(words['annex'])}")
        parts += [_footnote(document, figure) for figure in document.figures]
    return "\n\n".join(part for part in parts if part) + "\n"


def _paragraph(document: Document, paragraph: Paragraph) -> str:
    words = labels(document)
    written = []
    for run in paragraph.runs:
        if isinstance(run, str):
            written.append(escape(run))
            continue
        figure = document.figure(run.figure)
        written.append(escape(run.text) + (PROVISIONAL_MARK if figure.provisional else ""))
        if figure.suppressed:
            written.append(escape(words["aside"].format(note=figure.suppressed)))
        # After the note: "[^5](…" would read as a link.
        written.append(f"[^{figure.number}]")
    return plain_start("".join(written))


def _chart(document: Document, chart: Chart) -> str:
    words = labels(document)
    title = chart.title
    if chart.unit:
        title += words["aside"].format(note=words["unit"].format(unit=chart.unit))
    header = ("", *(name for name, _ in chart.series))
    rows = [(category, *(values[index] for _, values in chart.series))
            for index, category in enumerate(chart.categories)]
    return _table(title, header, rows, "")


def _table(title: str, header, rows, note: str) -> str:
    lines = [plain_start(f"**{escape(title)}**"), ""] if title else []
    lines.append("| " + " | ".join(cell(text) for text in header) + " |")
    lines.append("|" + "|".join([" --- "] + [" ---: "] * (len(header) - 1)) + "|")
    lines += ["| " + " | ".join(cell(text) for text in row) + " |" for row in rows]
    if note:
        lines += ["", plain_start(escape(note))]
    return "\n".join(lines)


def _footnote(document: Document, figure: Figure) -> str:
    """[^N]: label — area, period: value (basis; sources …; as of …)."""
    words, marks = labels(document), FOOTNOTE[document.language]
    where = marks["comma"].join(escape(part) for part in (figure.area, period_text(document, figure)) if part)
    value = escape(figure.text) + (PROVISIONAL_MARK if figure.provisional else "")
    details = []
    if figure.basis:
        details.append(escape(words[figure.basis]))
    if figure.provisional:
        details.append(escape(words["provisional"]))
    if figure.suppressed:
        details.append(marks["withheld"] + escape(figure.suppressed))
    if figure.sources:
        details.append(marks["sources"] + marks["comma"].join(_source(document, source) for source in figure.sources))
    if figure.contributors:
        details.append(escape(words["contributors"].format(n=figure.contributors)))
    if figure.as_of:
        details.append(escape(words["as_of"].format(moment=moment_text(figure.as_of))))
    if url := safe_url(figure.link):
        details.append(f"[{escape(words['link'])}]({destination(url)})")
    head = escape(figure.label) + (marks["dash"] + where if where else "") + marks["colon"] + value
    tail = marks["open"] + marks["semicolon"].join(details) + marks["close"] if details else ""
    return f"[^{figure.number}]: {head}{tail}"


def _source(document: Document, source) -> str:
    url = safe_url(source.url)
    title = f"[{escape(source.title)}]({destination(url)})" if url else escape(source.title)
    return title + (labels(document)["list"] + escape(source.publisher) if source.publisher else "")

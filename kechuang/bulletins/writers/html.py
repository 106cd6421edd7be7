"""A bulletin as HTML: the fragment the web page frames (`article`) and the downloadable page
the PDF is made from (`standalone`).

Every figure the text states links to its row in the annex (`#figure-N`), where a reader finds
what it is, where it comes from and how many records stand behind it. The output depends on
the document only, never on the request (its language is the document's, not the reader's),
so a published bulletin reads the same to everyone and two renders give the same bytes. The
site's CSP forbids inline styles and scripts: there are classes only, styled by bulletin.css.

The chart SVG is written as it is: kechuang.bulletins.charts made it and escaped its text.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from kechuang.bulletins.document import Chart, Document, Figure, FigureRef, Paragraph, SourceRef, Table

STYLESHEET = Path(__file__).with_name("bulletin.css")

# The words the writers print around the document's own text, by the document's language
# (Django's gettext would follow the request's language instead).
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "lang": "en",
        "annex": "Figures in this bulletin",
        "version": "Version {n}",
        "revision": "Revised: {note}",
        "number": "No.",
        "figure": "Figure",
        "area": "Area",
        "period": "Period",
        "value": "Value",
        "basis": "Basis",
        "sources": "Sources",
        "records": "Records",
        "official": "Official statistics",
        "computed": "Computed from official statistics",
        "registry": "Registry record",
        "provisional": "Provisional",
        "provisional_title": "Provisional figure: it may be revised",
        "provisional_note": "† Provisional: the figure may be revised when final statistics are published.",
        "withheld": "Withheld: {reason}",
        "aside": " ({note})",
        "contributors": "Based on {n} records",
        "as_of": "As of {moment}",
        "link": "records",
        "exact": "Exact value: {value}",
        "breadcrumb": "Breadcrumb",
        "unit": "Unit: {unit}",
        "list": ", ",
    },
    "zh": {
        "lang": "zh-Hans",
        "annex": "本简报数据说明",
        "version": "第{n}版",
        "revision": "修订说明：{note}",
        "number": "序号",
        "figure": "数据项",
        "area": "地区",
        "period": "时期",
        "value": "数值",
        "basis": "依据",
        "sources": "来源",
        "records": "记录",
        "official": "官方统计",
        "computed": "据官方统计计算",
        "registry": "登记信息",
        "provisional": "初步数",
        "provisional_title": "初步数，可能修订",
        "provisional_note": "† 初步数：正式统计数据发布后可能修订。",
        "withheld": "不予公开：{reason}",
        "aside": "（{note}）",
        "contributors": "依据{n}条记录",
        "as_of": "数据截至{moment}",
        "link": "来源记录",
        "exact": "精确值：{value}",
        "breadcrumb": "导航路径",
        "unit": "单位：{unit}",
        "list": "，",
    },
}
PROVISIONAL_MARK = "†"
BREADCRUMB_SEPARATOR = "›"


def labels(document: Document) -> dict[str, str]:
    return LABELS[document.language]


# --- what every writer prints about a figure ----------------------------------------------


def period_text(document: Document, figure: Figure) -> str:
    """The bulletin's own period by its label ("2023年上半年"); another period by its code."""
    return document.period_label if figure.period == document.period else figure.period


def moment_text(as_of: str) -> str:
    """An ISO 8601 moment as a reader reads it, in the zone it was written in: 2023-09-04 10:00."""
    try:
        moment = dt.datetime.fromisoformat(as_of)
    except ValueError:
        return as_of
    return moment.strftime("%Y-%m-%d %H:%M")


def exact_value(figure: Figure) -> str:
    """The exact value with its unit, when the printed text does not show it: "6" for "six",
    "13500000000.0000 元" for "135亿元", nothing for "74个"."""
    if not figure.value or figure.value in figure.text:
        return ""
    if not figure.unit:
        return figure.value
    # 56.0%, 6家 (GB/T 15835 sets no space before % or a Chinese unit); 13000 units.
    joined = figure.unit == "%" or ord(figure.unit[0]) >= 0x2E80
    return f"{figure.value}{figure.unit}" if joined else f"{figure.value} {figure.unit}"


def safe_url(url: str) -> str:
    """`url` if a reader may follow it (web or site-relative), else "": a source's address is
    typed by staff, and a javascript: link must not become one."""
    if url.startswith(("https://", "http://")) or (url.startswith("/") and not url.startswith("//")):
        return url
    return ""


def reference_ids(document: Document) -> dict[tuple[int, int, int, int], str]:
    """Each FigureRef's id, `ref-N-K` for the K-th mention of figure N, keyed by its place
    (section, block, run): a figure mentioned twice gets two ids."""
    counts: dict[int, int] = defaultdict(int)
    ids = {}
    for s, section in enumerate(document.sections):
        for b, block in enumerate(section.blocks):
            if not isinstance(block, Paragraph):
                continue
            for r, run in enumerate(block.runs):
                if isinstance(run, FigureRef):
                    counts[run.figure] += 1
                    ids[(s, b, r, run.figure)] = f"ref-{run.figure}-{counts[run.figure]}"
    return ids


# --- the fragment -------------------------------------------------------------------------


def article(document: Document) -> str:
    """The bulletin as `<article class="bulletin">`: title, dateline, sections and the annex."""
    words = labels(document)
    ids = reference_ids(document)
    parts = [
        format_html('<article class="bulletin" lang="{}">', words["lang"]),
        format_html("<header>\n<h1>{}</h1>\n<p class=\"dateline\">{}</p>", document.title, document.dateline),
    ]
    if document.version > 0:
        parts.append(format_html('<p class="version">{}</p>', words["version"].format(n=document.version)))
        if document.revision_note:
            parts.append(format_html('<p class="revision-note">{}</p>',
                                     words["revision"].format(note=document.revision_note)))
    parts.append("</header>")
    for s, section in enumerate(document.sections):
        parts.append("<section>")
        if section.heading:
            parts.append(format_html("<h2>{}</h2>", section.heading))
        for b, block in enumerate(section.blocks):
            if isinstance(block, Paragraph):
                parts.append(_paragraph(document, block, ids, s, b))
            elif isinstance(block, Chart):
                parts.append(_chart(block))
            elif isinstance(block, Table):
                parts.append(_table(block))
        parts.append("</section>")
    if document.figures:
        parts.append(_annex(document))
    parts.append("</article>")
    return "\n".join(parts) + "\n"


def _paragraph(document: Document, paragraph: Paragraph, ids, s: int, b: int) -> SafeString:
    words = labels(document)
    written = []
    for r, run in enumerate(paragraph.runs):
        if isinstance(run, str):
            written.append(escape(run))
            continue
        figure = document.figure(run.figure)
        anchor = {"href": f"#figure-{figure.number}", "id": ids[(s, b, r, run.figure)]}
        classes = ["figure"]
        if figure.provisional:
            classes.append("provisional")
            anchor["title"] = words["provisional_title"]
        if figure.suppressed:
            classes.append("suppressed")
            anchor["title"] = words["withheld"].format(reason=figure.suppressed)
        mark = ""
        if figure.provisional:
            mark = format_html('<sup class="mark" aria-hidden="true">{}</sup>', PROVISIONAL_MARK)
        written.append(format_html('<a class="{}"{}>{}{}</a>', " ".join(classes), _attributes(anchor), run.text, mark))
        if figure.suppressed:
            written.append(format_html('<span class="withheld">{}</span>',
                                       words["aside"].format(note=figure.suppressed)))
    return format_html("<p>{}</p>", mark_safe("".join(written)))


def _attributes(attributes: dict[str, str]) -> SafeString:
    return format_html_join("", ' {}="{}"', attributes.items())


def _chart(chart: Chart) -> SafeString:
    # The SVG comes from kechuang.bulletins.charts, which escapes every text it writes.
    return format_html('<figure class="chart">\n<figcaption>{}</figcaption>\n{}</figure>', chart.title,
                       mark_safe(chart.svg.strip() + "\n"))


def _table(table: Table) -> SafeString:
    head = format_html_join("", '<th scope="col">{}</th>', ((cell,) for cell in table.header))
    rows = [
        format_html("<tr><th scope=\"row\">{}</th>{}</tr>", row[0] if row else "",
                    format_html_join("", "<td>{}</td>", ((cell,) for cell in row[1:])))
        for row in table.rows
    ]
    note = format_html('\n<p class="table-note">{}</p>', table.note) if table.note else ""
    return format_html('<div class="table">\n<table>\n<caption>{}</caption>\n<thead><tr>{}</tr></thead>\n'
                       "<tbody>\n{}\n</tbody>\n</table>{}\n</div>",
                       table.title, head, mark_safe("\n".join(rows)), note)


# --- the annex ----------------------------------------------------------------------------


def _annex(document: Document) -> SafeString:
    words = labels(document)
    columns = ("number", "figure", "area", "period", "value", "basis", "sources", "records")
    head = format_html_join("", '<th scope="col">{}</th>', ((words[column],) for column in columns))
    rows = mark_safe("\n".join(_annex_row(document, figure) for figure in document.figures))
    note = ""
    if any(figure.provisional for figure in document.figures):
        note = format_html('\n<p class="annex-note">{}</p>', words["provisional_note"])
    return format_html('<section id="annex" class="annex">\n<h2>{}</h2>{}\n<table>\n<thead><tr>{}</tr></thead>\n'
                       "<tbody>\n{}\n</tbody>\n</table>\n</section>", words["annex"], note, head, rows)


def _annex_row(document: Document, figure: Figure) -> SafeString:
    words = labels(document)
    what = format_html('<span class="label">{}</span>', figure.label)
    if figure.definition:
        what += format_html('<span class="definition">{}</span>', figure.definition)

    value = format_html('<span class="text">{}</span>', figure.text)
    if exact := exact_value(figure):
        value += format_html('<span class="exact">{}</span>', words["exact"].format(value=exact))
    if figure.provisional:
        value += format_html('<span class="provisional">{} {}</span>', PROVISIONAL_MARK, words["provisional"])
    if figure.suppressed:
        value += format_html('<span class="withheld">{}</span>', words["withheld"].format(reason=figure.suppressed))

    sources = ""
    if figure.sources:
        sources = format_html('<ul class="sources">{}</ul>',
                              mark_safe("".join(_source(document, source) for source in figure.sources)))

    records = []
    if figure.contributors:
        records.append(format_html("<span>{}</span>", words["contributors"].format(n=figure.contributors)))
    if figure.as_of:
        records.append(format_html('<span><time datetime="{}">{}</time></span>', figure.as_of,
                                   words["as_of"].format(moment=moment_text(figure.as_of))))
    if url := safe_url(figure.link):
        records.append(format_html('<a class="records" href="{}">{}</a>', url, words["link"]))

    cells = (
        format_html('<th scope="row">{}</th>', figure.number),
        format_html("<td>{}</td>", what),
        format_html("<td>{}</td>", figure.area),
        format_html("<td>{}</td>", period_text(document, figure)),
        format_html('<td class="value">{}</td>', value),
        format_html("<td>{}</td>", words[figure.basis] if figure.basis else ""),
        format_html("<td>{}</td>", sources),
        format_html("<td>{}</td>", mark_safe("".join(records))),
    )
    return format_html('<tr id="figure-{}">{}</tr>', figure.number, mark_safe("".join(cells)))


def _source(document: Document, source: SourceRef) -> SafeString:
    url = safe_url(source.url)
    title = format_html('<a href="{}">{}</a>', url, source.title) if url else escape(source.title)
    publisher = format_html('<span class="publisher">{}{}</span>', labels(document)["list"],
                            source.publisher) if source.publisher else ""
    return format_html("<li>{}{}</li>", title, publisher)


# --- the page -----------------------------------------------------------------------------


def stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def standalone(document: Document) -> str:
    """The bulletin as a complete HTML5 page: the downloadable .html, and what the PDF is made of.

    The dcterms dates are the moment the data was read (`document.as_of`), not now: WeasyPrint
    writes them into the PDF's metadata, and the same document must give the same file."""
    words = labels(document)
    crumbs = []
    for number, crumb in enumerate(document.breadcrumb):
        separator = format_html('<span class="separator" aria-hidden="true">{}</span> ',
                                BREADCRUMB_SEPARATOR) if number else ""
        url = safe_url(crumb.url)
        if url:
            crumbs.append(format_html('<li>{}<a href="{}">{}</a></li>', separator, url, crumb.label))
        else:
            crumbs.append(format_html('<li>{}<span aria-current="page">{}</span></li>', separator, crumb.label))
    nav = ""
    if crumbs:
        nav = format_html('<nav class="breadcrumb" aria-label="{}"><ol>{}</ol></nav>\n', words["breadcrumb"],
                          mark_safe(" ".join(crumbs)))
    dates = ""
    if document.as_of:
        dates = format_html('<meta name="dcterms.created" content="{}">\n<meta name="dcterms.modified" content="{}">\n',
                            document.as_of, document.as_of)
    return format_html(
        '<!DOCTYPE html>\n<html lang="{}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{}</title>\n{}'
        "<style>\n{}</style>\n</head>\n<body class=\"bulletin-page\">\n{}<main>\n{}</main>\n</body>\n</html>\n",
        words["lang"], document.title, dates, mark_safe(stylesheet()), nav, mark_safe(article(document)),
    )

"""kechuang.bulletins.writers: a bulletin as HTML, PDF, Word and Markdown, in Chinese and English.

The sample bulletins (conftest.py) state the seed article's figures; each format is rendered
once per language per module and read back: the HTML parsed, the PDF's text and fonts through
pypdf, the Word file through python-docx.
"""

import dataclasses
import io
import re
import zipfile
from html.parser import HTMLParser

import docx
import pytest
from django.utils.html import escape
from docx.oxml.ns import qn
from pypdf import PdfReader

from kechuang.bulletins.charts import bar_chart
from kechuang.bulletins.document import Chart, FigureRef, Paragraph, Section, SourceRef, Table
from kechuang.bulletins.writers import FORMATS, html, markdown, pdf, word, write
from tests.bulletins.conftest import chinese, english

MONEY = {"en": "13.5 billion yuan ($1.86 billion)", "zh": "135亿元（约合18.6亿美元）"}
ANNEX = {"en": "Figures in this bulletin", "zh": "本简报数据说明"}
WITHHELD = {"en": "fewer than 3 enterprises contribute", "zh": "涉及企业少于3家"}


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML string."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag, **attributes):
        return [attrs for name, attrs in self.tags
                if name == tag and all(attrs.get(key.replace("_", "-")) == value for key, value in attributes.items())]


@pytest.fixture(scope="module")
def pdfs():
    return {language: pdf.render(make()) for language, make in (("en", english), ("zh", chinese))}


@pytest.fixture(scope="module")
def words():
    return {language: word.render(make()) for language, make in (("en", english), ("zh", chinese))}


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _squeezed(text: str) -> str:
    """Text without the line breaks and spaces a PDF's layout puts in."""
    return re.sub(r"\s+", "", text)


# --- HTML ---------------------------------------------------------------------------------


def test_every_figure_in_the_text_links_to_its_row_in_the_annex(sample_document):
    parsed = Elements(html.article(sample_document))
    rows = {attrs["id"] for attrs in parsed.all("tr") if attrs.get("id", "").startswith("figure-")}
    assert rows == {f"figure-{figure.number}" for figure in sample_document.figures}
    references = [run for section in sample_document.sections for block in section.blocks
                  if isinstance(block, Paragraph) for run in block.runs if isinstance(run, FigureRef)]
    links = [attrs for attrs in parsed.all("a") if "figure" in attrs.get("class", "").split()]
    assert [link["href"] for link in links] == [f"#figure-{reference.figure}" for reference in references]
    assert all(link["href"].removeprefix("#") in rows for link in links)


def test_a_figure_mentioned_twice_has_two_unique_ids(sample_document):
    parsed = Elements(html.article(sample_document))
    ids = [attrs["id"] for _, attrs in parsed.tags if "id" in attrs]
    assert len(ids) == len(set(ids))
    assert {"ref-1-1", "ref-1-2"} <= set(ids)


def test_provisional_and_withheld_figures_are_marked_in_the_text(sample_document):
    parsed = Elements(html.article(sample_document))
    (provisional,) = [attrs for attrs in parsed.all("a") if "provisional" in attrs.get("class", "")]
    assert provisional["href"] == "#figure-4" and provisional["title"]
    (withheld,) = [attrs for attrs in parsed.all("a") if "suppressed" in attrs.get("class", "")]
    assert WITHHELD[sample_document.language] in withheld["title"]
    assert WITHHELD[sample_document.language] in "".join(parsed.text)


def test_the_annex_says_what_each_figure_is_and_where_it_comes_from(sample_document):
    article = html.article(sample_document)
    annex = article[article.index('<section id="annex"'):]
    assert ANNEX[sample_document.language] in annex
    for figure in sample_document.figures:
        row = re.search(rf'<tr id="figure-{figure.number}">(.*?)</tr>', annex).group(1)
        assert escape(figure.label) in row
        assert escape(figure.area) in row
        assert escape(figure.text) in row
        if figure.link:
            assert f'href="{figure.link}"' in row
    assert '<a href="https://example.org/tongzhou/sti-2023h1">' in annex
    assert {"en": "Official statistics", "zh": "官方统计"}[sample_document.language] in annex
    assert {"en": "Registry record", "zh": "登记信息"}[sample_document.language] in annex
    assert {"en": "Based on 74 records", "zh": "依据74条记录"}[sample_document.language] in annex


def test_the_article_has_charts_and_accessible_tables_and_no_inline_style_or_script(sample_document):
    article = html.article(sample_document)
    parsed = Elements(article)
    language = {"en": "en", "zh": "zh-Hans"}[sample_document.language]
    assert parsed.all("article", **{"class": "bulletin", "lang": language})
    assert len(parsed.all("h1")) == 1
    assert parsed.all("figure", **{"class": "chart"}) and parsed.all("figcaption") and parsed.all("svg")
    assert parsed.all("caption") and parsed.all("th", scope="col") and parsed.all("th", scope="row")
    assert not [attrs for _, attrs in parsed.tags if "style" in attrs]
    assert "<script" not in article and "<nav" not in article


def test_version_and_revision_note_are_shown_for_a_published_version():
    article = html.article(english())
    assert '<p class="version">Version 2</p>' in article
    assert "corrected from 55 to 56 percent" in article
    assert 'class="version"' not in html.article(chinese())  # a preview (version 0)


def test_text_from_the_document_is_escaped():
    hostile = dataclasses.replace(
        english(), title="<script>alert(1)</script>",
        sections=(Section("<b>heading</b>", (Paragraph(("Tom & <script>x()</script> ", FigureRef(1, "<i>74</i>"))),
                                             Table('"quoted" <table>', ("a<b",), (("c>d",),)))),))
    for written in (html.article(hostile), html.standalone(hostile)):
        assert "<script>" not in written
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in written
        assert "Tom &amp; &lt;script&gt;x()&lt;/script&gt;" in written
        assert "&lt;i&gt;74&lt;/i&gt;" in written and "<b>heading" not in written


def test_a_source_link_that_is_not_a_web_address_is_not_a_link():
    document = english()
    figure = dataclasses.replace(document.figures[0], sources=(SourceRef("x", "Evil", "javascript:alert(1)"),),
                                 link="javascript:alert(2)")
    article = html.article(dataclasses.replace(document, figures=(figure, *document.figures[1:])))
    assert "javascript:" not in article
    assert "<li>Evil</li>" in article


def test_the_standalone_page_has_the_breadcrumb_the_stylesheet_and_the_article(sample_document):
    page = html.standalone(sample_document)
    assert page.startswith("<!DOCTYPE html>\n<html lang=")
    assert '<meta charset="utf-8">' in page and f"<title>{sample_document.title}</title>" in page
    assert html.stylesheet() in page and "<link" not in page
    nav = re.search(r'<nav class="breadcrumb".*?</nav>', page).group(0)
    crumbs = re.sub(r"<[^>]+>", "", nav)
    assert " › ".join(crumb.label for crumb in sample_document.breadcrumb) == re.sub(r"\s+", " ", crumbs).strip()
    assert '<a href="/regions/">' in nav
    assert html.article(sample_document) in page


def test_the_html_is_the_same_every_time(sample_document):
    assert html.standalone(sample_document) == html.standalone(sample_document)
    assert write(sample_document, "html") == html.standalone(sample_document).encode()


# --- PDF ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_pdf_has_the_text_and_the_annex(pdfs, language):
    document = english() if language == "en" else chinese()
    text = _pdf_text(pdfs[language])
    squeezed = _squeezed(text)
    assert _squeezed(MONEY[language]) in squeezed
    assert _squeezed(document.title) in squeezed
    assert ANNEX[language] in text
    annex = squeezed[squeezed.index(_squeezed(ANNEX[language])):]
    for figure in document.figures:
        assert _squeezed(figure.label) in annex
        assert _squeezed(figure.text) in annex


def test_the_pdf_text_states_the_parks_output_as_the_seed_does(pdfs):
    assert "13.5 billion yuan" in _pdf_text(pdfs["en"])
    assert "135亿元" in _pdf_text(pdfs["zh"])


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_pdf_embeds_a_cjk_font(pdfs, language):
    reader = PdfReader(io.BytesIO(pdfs[language]))
    fonts = {font["/BaseFont"]: font for page in reader.pages
             for font in (reference.get_object() for reference in page["/Resources"]["/Font"].values())}
    cjk = [font for name, font in fonts.items() if "CJK" in name]
    assert cjk, sorted(fonts)
    # Embedded (a subset), not only named: a reader without the font would draw tofu.
    descriptor = cjk[0]["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor)


def test_the_pdf_numbers_its_pages_in_the_documents_language(pdfs):
    english_pages = PdfReader(io.BytesIO(pdfs["en"])).pages
    assert f"Page 1 of {len(english_pages)}" in english_pages[0].extract_text()
    chinese_pages = PdfReader(io.BytesIO(pdfs["zh"])).pages
    assert f"第{len(chinese_pages)}页 共{len(chinese_pages)}页" in chinese_pages[-1].extract_text()


def test_the_pdf_annex_starts_on_a_new_landscape_page(pdfs):
    reader = PdfReader(io.BytesIO(pdfs["zh"]))
    (first,) = [number for number, page in enumerate(reader.pages) if ANNEX["zh"] in page.extract_text()]
    assert first > 0

    def landscape(page):
        return page.mediabox.width > page.mediabox.height

    # The page before is portrait, so nothing of the text shares the annex's page.
    assert not landscape(reader.pages[first - 1]) and landscape(reader.pages[first])


def test_the_annex_header_repeats_on_each_page_it_spans(pdfs):
    reader = PdfReader(io.BytesIO(pdfs["en"]))
    pages = [page.extract_text() for page in reader.pages]
    start = next(number for number, text in enumerate(pages) if ANNEX["en"] in text)
    assert len(pages) - start >= 2, "the sample annex should span two pages"
    assert all("No. Figure Area Period Value Basis Sources Records" in text for text in pages[start:])


def test_the_pdf_is_the_same_every_time_and_dated_as_of_the_data(pdfs):
    assert pdf.render(english()) == pdfs["en"]
    metadata = PdfReader(io.BytesIO(pdfs["en"])).metadata
    assert metadata["/CreationDate"] == metadata["/ModDate"] == "D:20230904100000+08'00"
    assert metadata["/Title"] == english().title


def test_the_pdf_fetches_nothing():
    fetcher = pdf.OfflineFetcher()
    for url in ("https://example.org/x.png", "file:///etc/hostname", "ftp://example.org/x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"


def test_an_image_from_outside_is_left_out_of_the_pdf_and_one_inline_is_drawn():
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
             "awAAAABJRU5ErkJggg==")

    def rendered(href):
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
               f'<image href="{href}" width="10" height="10"/></svg>')
        document = dataclasses.replace(english(), sections=(Section("", (Chart("x", svg, (), ()),)),))
        return pdf.render(document)

    assert b"/Subtype /Image" not in rendered("file:///usr/share/pixmaps/debian-logo.png")
    assert b"/Subtype /Image" not in rendered("https://example.org/x.png")
    assert b"/Subtype /Image" in rendered(pixel)


# --- Word ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_word_file_has_the_paragraphs_tables_and_annex(words, language):
    document = english() if language == "en" else chinese()
    opened = docx.Document(io.BytesIO(words[language]))
    paragraphs = [paragraph.text for paragraph in opened.paragraphs]
    assert paragraphs[0] == document.title and paragraphs[1] == document.dateline
    assert any(MONEY[language] in text for text in paragraphs)
    assert any(WITHHELD[language] in text for text in paragraphs)  # the withheld figure's note
    assert ANNEX[language] in paragraphs
    annex = opened.tables[-1]
    assert len(annex.rows) == 1 + len(document.figures)
    for row, figure in zip(annex.rows[1:], document.figures, strict=True):
        assert row.cells[0].text == str(figure.number)
        assert figure.label in row.cells[1].text and figure.text in row.cells[4].text
    # Each chart as the table of its data: a header of its series, a row per category.
    chart = next(block for section in document.sections for block in section.blocks if isinstance(block, Chart))
    data = next(table for table in opened.tables if table.rows[0].cells[1].text == chart.series[0][0])
    assert [row.cells[0].text for row in data.rows[1:]] == list(chart.categories)
    assert [row.cells[1].text for row in data.rows[1:]] == list(chart.series[0][1])


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_word_file_sets_the_east_asian_font_and_language(words, language):
    opened = docx.Document(io.BytesIO(words[language]))
    fonts = opened.styles["Normal"].element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == word.EAST_ASIAN_FONT
    assert not [element for element in opened.styles.element.iter(qn("w:rFonts"))
                if element.get(qn("w:eastAsiaTheme"))]
    assert opened.core_properties.language == {"en": "en-US", "zh": "zh-CN"}[language]
    assert opened.core_properties.created.isoformat() == "2023-09-04T02:00:00+00:00"


def test_the_word_file_is_the_same_every_time(words):
    assert word.render(chinese()) == words["zh"]
    stamps = {entry.date_time for entry in zipfile.ZipFile(io.BytesIO(words["zh"])).infolist()}
    assert stamps == {(2023, 9, 4, 10, 0, 0)}


# --- Markdown -----------------------------------------------------------------------------


def test_markdown_marks_each_figure_with_its_footnote(sample_document):
    written = markdown.render(sample_document)
    assert written.startswith(f"# {sample_document.title}\n")
    for figure in sample_document.figures:
        assert f"[^{figure.number}]: {markdown.escape(figure.label)}" in written
        assert re.search(rf"{re.escape(markdown.escape(figure.text))}†?(（[^）]*）| \([^)]*\))?\[\^{figure.number}\]",
                         written), figure.text
    footnote = next(line for line in written.splitlines() if line.startswith("[^1]: "))
    official = {"en": "Official statistics", "zh": "官方统计"}[sample_document.language]
    assert official in footnote and "(<https://example.org/tongzhou/sti-2023h1>)" in footnote


def test_markdown_writes_tables_and_charts_as_pipe_tables(sample_document):
    written = markdown.render(sample_document)
    assert "| 通州区 | 74 | 59 | 56.0 |" in written or "| Tongzhou district | 74 | 59 | 56.0 |" in written
    chart = sample_document.sections[0].blocks[-1]
    assert f"| {chart.categories[1]} | 74 | 59 |" in written


def test_markdown_escapes_pipes_and_markup():
    document = dataclasses.replace(english(), sections=(Section("", (
        Paragraph(("# not a heading * and _ and ", FigureRef(1, "74"), " <b>")),
        Table("t", ("a|b", "c"), (("x|y", "1"),)))),))
    written = markdown.render(document)
    assert "\\# not a heading \\* and \\_ and 74[^1] \\<b\\>" in written
    assert "| a\\|b | c |" in written and "| x\\|y | 1 |" in written


def test_a_chart_without_title_still_has_its_data():
    svg = bar_chart(["A"], [("S", [1])], language="en")
    document = dataclasses.replace(english(), sections=(Section("", (Chart("", svg, ("A",), (("S", ("1",)),)),)),))
    assert "| A | 1 |" in markdown.render(document)


# --- the formats --------------------------------------------------------------------------


def test_each_format_has_a_content_type_extension_and_bytes():
    document = chinese()
    assert set(FORMATS) == {"html", "pdf", "docx", "md"}
    assert write(document, "md") == markdown.render(document).encode("utf-8")
    assert FORMATS["pdf"][:2] == ("application/pdf", "pdf")
    assert FORMATS["docx"][1] == "docx" and FORMATS["docx"][2] is word.render


def test_an_unknown_format_names_the_known_ones():
    with pytest.raises(ValueError, match="html, pdf, docx, md"):
        write(english(), "rtf")

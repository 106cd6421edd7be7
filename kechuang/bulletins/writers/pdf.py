"""A bulletin as PDF: WeasyPrint prints the downloadable page (writers.html.standalone).

bulletin.css holds the print rules (A4, the annex on a new page with its header repeated);
this module adds the page footer, whose words depend on the document's language, which a
stylesheet's @page rule cannot select on.

Nothing is fetched: the page carries its stylesheet and its charts inline, and a bulletin
that names an outside resource is a fault to stop on, not a request to send from the server.
The same document gives the same bytes: the PDF's dates are the document's `as_of` (from the
page's dcterms meta), its identifier a hash of its content, and its fonts' subset tags hashes
of their descriptions (WeasyPrint ≥ 53).
"""

from weasyprint import CSS, HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from kechuang.bulletins.document import Document
from kechuang.bulletins.writers.html import standalone

FOOTER = {
    "en": '"Page " counter(page) " of " counter(pages)',
    "zh": '"第" counter(page) "页 共" counter(pages) "页"',
}


class FetchRefused(ValueError):
    """A bulletin named a resource outside itself (an <img> or a stylesheet by URL)."""


class OfflineFetcher(URLFetcher):
    """Fetches data: URLs only. Another URL in the page stops the render (fail_on_errors);
    one inside an SVG is left out, with WeasyPrint's logged error, as WeasyPrint draws the
    rest of the SVG whatever its images do."""

    def __init__(self):
        super().__init__(allowed_protocols={"data"}, fail_on_errors=True)

    def fetch(self, url, headers=None):
        if not url.startswith("data:"):
            raise ValueError(f"a bulletin fetches nothing; refused {url!r}")
        return super().fetch(url, headers)


def footer_stylesheet(document: Document) -> str:
    """The footer's words; bulletin.css sets its font."""
    return "@page { @bottom-center { content: " + FOOTER[document.language] + "; } }"


def render(document: Document) -> bytes:
    fetcher = OfflineFetcher()
    page = HTML(string=standalone(document), url_fetcher=fetcher)
    footer = CSS(string=footer_stylesheet(document), url_fetcher=fetcher)
    # pdf_identifier=True: the /ID is the md5 of the file's own bytes, so it is the same for
    # the same document (False would leave it out, which some readers warn about).
    try:
        return page.write_pdf(stylesheets=[footer], pdf_identifier=True)
    except FatalURLFetchingError as error:
        # A BaseException: it would pass every `except Exception` between here and the view.
        raise FetchRefused(str(error)) from error

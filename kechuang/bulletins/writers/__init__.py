"""Writers (简报输出): a bulletin's Document as HTML, PDF, Word or Markdown.

Each reads the Document only (kechuang.bulletins.document), never the database or the request,
so a published bulletin gives the same file every time it is downloaded.

    write(document, "pdf")  →  the PDF's bytes
    FORMATS["pdf"]          →  ("application/pdf", "pdf", pdf.render)
"""

from collections.abc import Callable

from kechuang.bulletins.document import Document
from kechuang.bulletins.writers import html, markdown, pdf, word


def _html(document: Document) -> bytes:
    return html.standalone(document).encode("utf-8")


def _markdown(document: Document) -> bytes:
    return markdown.render(document).encode("utf-8")


# format → (content type, file extension, writer)
FORMATS: dict[str, tuple[str, str, Callable[[Document], bytes]]] = {
    "html": ("text/html; charset=utf-8", "html", _html),
    "pdf": ("application/pdf", "pdf", pdf.render),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", word.render),
    "md": ("text/markdown; charset=utf-8", "md", _markdown),
}


def write(document: Document, fmt: str) -> bytes:
    try:
        _, _, writer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown bulletin format {fmt!r}; the formats are {', '.join(FORMATS)}") from None
    return writer(document)

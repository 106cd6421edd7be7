"""A bulletin as rendered, before it is written out as HTML, PDF, Word or Markdown.

A template (kechuang.bulletins.templating) renders, for one region, period and language, to a
`Document`: a title, sections of paragraphs, charts and tables, and the list of every figure
the text states. A paragraph is a sequence of runs: plain text, or a `FigureRef` naming a
figure by its number, so each writer decides how a figure looks (a link to its row in the
annex in HTML, a footnote-like superscript in Word, plain text in Markdown) without parsing
text. Everything here is plain data: it is what a publication freezes (`as_dict` /
`from_dict`), and the writers (kechuang.bulletins.writers) read nothing else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Literal

Basis = Literal["official", "computed", "registry", ""]


@dataclass(frozen=True)
class SourceRef:
    """A published source a figure or fact rests on (kechuang.registry.models.Source)."""

    key: str
    title: str
    url: str = ""
    publisher: str = ""


@dataclass(frozen=True)
class Figure:
    """One figure (or registry fact) the bulletin states, with what the annex says of it.

    `number` is its place in the annex (1, 2, …) and its anchor (`figure-1`). `text` is how
    the sentence writes it in the document's language ("six", "135亿元"); `value` the exact
    value as a string ("74", "13500000000.0000"; "" for a suppressed or missing one). A
    registry fact (`basis="registry"`: a parent company, a date, a capacity, a phase) has no
    indicator; its `link` is the organisation's page.
    """

    number: int
    name: str  # the template's name for it: projects, zhongkeyi.parent …
    label: str  # what it is, in the document's language: "Projects approved"
    definition: str  # the indicator's definition (or the fact's), in the document's language
    area: str  # the area's name in the document's language
    area_key: str  # a division code or an organisation key
    period: str  # period code ("2023H1"); "" for a fact
    value: str
    text: str
    unit: str = ""
    basis: Basis = ""
    provisional: bool = False
    suppressed: str = ""  # why it is not shown ("" = shown); the text then says so
    indicator: str = ""  # the indicator's code; "" for a registry fact
    sources: tuple[SourceRef, ...] = ()
    contributors: int = 0  # records behind it (projects, figures, designations)
    as_of: str = ""  # ISO 8601: the moment the data was read
    link: str = ""  # the live provenance page (contributors, organisation)


@dataclass(frozen=True)
class FigureRef:
    """A figure in running text: `figure` is its `Figure.number`, `text` what is printed."""

    figure: int
    text: str


Run = str | FigureRef


@dataclass(frozen=True)
class Paragraph:
    runs: tuple[Run, ...]

    @property
    def text(self) -> str:
        return "".join(run if isinstance(run, str) else run.text for run in self.runs)


@dataclass(frozen=True)
class Chart:
    """A chart as SVG (kechuang.bulletins.charts), and its data for a writer that cannot
    draw SVG (Word gets the data as a table)."""

    title: str
    svg: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[str, ...]], ...]  # (name, values as printed, "—" suppressed)
    unit: str = ""


@dataclass(frozen=True)
class Table:
    """A table of figures: a header row and rows of printed cells; the first column names
    the row (a region, a period)."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


Block = Paragraph | Chart | Table


@dataclass(frozen=True)
class Section:
    heading: str  # "" for the opening section
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str = ""  # "" for the current page


@dataclass(frozen=True)
class Document:
    language: Literal["zh", "en"]
    title: str
    region: str  # the region's name in the document's language
    region_code: str
    period: str  # period code
    period_label: str  # "2023年上半年" / "first half of 2023"
    dateline: str  # "Updated: 2023-09-04" / "更新日期：2023-09-04"
    breadcrumb: tuple[Crumb, ...]
    sections: tuple[Section, ...]
    figures: tuple[Figure, ...]
    as_of: str  # ISO 8601
    template: str  # the template's code
    version: int = 0  # the published version, 0 for a preview
    revision_note: str = ""
    left_out: tuple[str, ...] = field(default_factory=tuple)  # sentences without their figures

    def figure(self, number: int) -> Figure:
        return self.figures[number - 1]

    @property
    def text(self) -> str:
        """The running text, paragraphs separated by blank lines (for tests and search)."""
        parts = [self.title]
        for section in self.sections:
            if section.heading:
                parts.append(section.heading)
            parts += [block.text for block in section.blocks if isinstance(block, Paragraph)]
        return "\n\n".join(parts)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Document:
        def run(item):
            return item if isinstance(item, str) else FigureRef(**item)

        def block(item: dict) -> Block:
            if "runs" in item:
                return Paragraph(tuple(run(r) for r in item["runs"]))
            if "svg" in item:
                return Chart(item["title"], item["svg"], tuple(item["categories"]),
                             tuple((name, tuple(values)) for name, values in item["series"]), item.get("unit", ""))
            return Table(item["title"], tuple(item["header"]), tuple(tuple(row) for row in item["rows"]),
                         item.get("note", ""))

        figures = tuple(
            Figure(**{**item, "sources": tuple(SourceRef(**s) for s in item["sources"])}) for item in data["figures"])
        return cls(
            **{**data,
               "breadcrumb": tuple(Crumb(**c) for c in data["breadcrumb"]),
               "sections": tuple(Section(s["heading"], tuple(block(b) for b in s["blocks"])) for s in data["sections"]),
               "figures": figures,
               "left_out": tuple(data.get("left_out", ()))})


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


def site(path: str) -> str:
    """A link of the site as a document holds it: absolute under SITE_URL when the server
    sets one, so that the links of a downloaded PDF or Word file lead back to the site."""
    from django.conf import settings

    return f"{settings.SITE_URL}{path}"

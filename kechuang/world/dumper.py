"""Dumping the registry as a world file: everything, or one region's subtree.

A dump loads on its own into an empty database, and loads into the database it came
from with every entry unchanged. Sections are dumped in reverse load order, so that
each can require what it refers to from the sections dumped after it (an owner
outside the region, its region, the sources cited).
"""

from pathlib import Path

from kechuang.registry.models import Region

from .context import DumpContext
from .errors import WorldError
from .formats import format_of, render
from .sections import FORMAT_VERSION, ordered_sections


def dump_world(region: Region | str | None = None) -> dict:
    """The registry as a world document (a dict ready for `formats.render`).

    With `region` (a Region or its code): the region's subtree and its ancestors, the
    organisations located there now or before, and every row these refer to, wherever
    it is. Decimals come back as int or Decimal, dates as ISO strings.
    """
    if isinstance(region, str):
        code = region
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise WorldError([("region", f"no region has the code {code}")])
    ctx = DumpContext(region)
    sections = ordered_sections()
    dumped = {section.name: section.dump(ctx) for section in reversed(sections)}
    document: dict = {"kechuang": FORMAT_VERSION}
    document.update((section.name, dumped[section.name]) for section in sections if dumped[section.name])
    return document


def dump_text(region: Region | str | None = None, fmt: str = "yaml") -> str:
    """The dump as YAML or JSON text."""
    return render(dump_world(region), fmt)


def dump_file(path: Path | str, region: Region | str | None = None, fmt: str | None = None) -> None:
    """Write the dump to `path`, as JSON for a .json name unless `fmt` says otherwise."""
    text = dump_text(region, fmt or format_of(path))
    Path(path).write_text(text, encoding="utf-8")

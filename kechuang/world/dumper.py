"""Dumping the registry as a world file: everything, or one region's subtree.

A dump loads on its own into an empty database, and loads into the database it came
from with every entry unchanged. Its head declares how many entries each section holds
(`entries`), so that a copy cut off on the way is refused rather than loaded in part.
Sections are dumped in reverse load order, so that each can require what it refers to
from the sections dumped after it (an owner outside the region, its region, the sources
cited).
"""

from pathlib import Path

from kechuang.registry.models import Region

from .context import DumpContext
from .errors import WorldError
from .formats import format_of, render
from .sections import ENTRIES, FORMAT_VERSION, ordered_sections


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
    held = {section.name: dumped[section.name] for section in sections if dumped[section.name]}
    document: dict = {"kechuang": FORMAT_VERSION}
    if held:
        # Declared at the head, so that a copy cut off between two entries is refused when loaded.
        document[ENTRIES] = {name: len(entries) for name, entries in held.items()}
    document.update(held)
    return document


def dump_text(region: Region | str | None = None, fmt: str = "yaml") -> str:
    """The dump as YAML or JSON text."""
    return render(dump_world(region), fmt)


def dump_file(path: Path | str, region: Region | str | None = None, fmt: str | None = None) -> None:
    """Write the dump to `path`, as JSON for a .json name unless `fmt` says otherwise."""
    text = dump_text(region, fmt or format_of(path))
    Path(path).write_text(text, encoding="utf-8")

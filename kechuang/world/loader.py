"""Loading world files: check everything, then write everything, in one transaction.

A load runs in two phases. The check phase compares each section with the number of
entries the file's head declares (a file cut off on the way), validates the document
against the JSON Schema and then asks every section for its semantic problems (unknown
codes and keys, bad USCCs, overlapping periods …), writing nothing; if any is found, all
of them are raised together as one WorldError. The load phase then writes section by
section through the services; a write they or the database refuse also ends as a
WorldError naming the entry, and the transaction leaves nothing behind.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db import transaction

from kechuang import audit

from .context import LoadContext, Report
from .errors import Problem, WorldError, at
from .formats import read_document
from .schema import schema_problems
from .sections import ENTRIES, ordered_sections, world_schema
from .values import plain


def load_world(document: dict, *, dry_run: bool = False) -> Report:
    """Create or update what `document` (a parsed world file) describes.

    Idempotent: loading the same document again reports every entry unchanged and
    writes nothing. Raises WorldError (nothing written) if the document has problems.
    With `dry_run`, everything is checked and counted, then rolled back.
    """
    return load_documents([("", document)], dry_run=dry_run)


def load_file(path: Path | str, *, dry_run: bool = False) -> Report:
    """Load a .yaml/.yml or .json world file."""
    return load_files([path], dry_run=dry_run)


def load_files(paths: Iterable[Path | str], *, dry_run: bool = False) -> Report:
    """Load several files in one transaction, in order: a later file may refer to what an
    earlier one defines; a problem in any file loads none of them."""
    return load_documents([(str(path), read_document(path)) for path in paths], dry_run=dry_run)


def load_documents(documents: Iterable[tuple[str, Any]], *, dry_run: bool = False) -> Report:
    """Load (label, document) pairs in one transaction; problem paths start with the label.

    Every row written is recorded in its history as an import (docs/audit.md).
    """
    report = Report()
    documents = list(documents)
    labels = ", ".join(label for label, _ in documents if label)
    with transaction.atomic(), audit.importing(f"world file {labels}" if labels else "world file"):
        for label, document in documents:
            try:
                _load(document, LoadContext(report, label=label))
            except WorldError as exc:
                raise (exc.prefixed(label) if label else exc) from None
        if dry_run:
            transaction.set_rollback(True)
    return report


def _load(document: Any, ctx: LoadContext) -> None:
    document = plain(document)
    if not isinstance(document, dict):
        raise WorldError([("", "a world file is a mapping: `kechuang: 1` followed by sections")])
    problems = _entries_missing(document) + schema_problems(world_schema(), document)
    if problems:
        raise WorldError(problems)
    sections = [section for section in ordered_sections() if section.name in document]
    for section in sections:
        section.check(document[section.name], ctx)
    if ctx.problems:
        raise WorldError(ctx.problems)
    for section in sections:
        section.load(document[section.name], ctx)


def _entries_missing(document: dict) -> list[Problem]:
    """Where a section holds another number of entries than the file's head declares (`entries`).

    YAML has no closing bracket: a file cut off between two entries (a copy or an upload
    that stopped early) is valid YAML and a valid world, and would load what is left. The
    counts at the head survive the cut. A count that is not a whole number is the schema's
    to refuse.
    """
    declared = document.get(ENTRIES)
    if not isinstance(declared, dict):
        return []
    problems = []
    for name, count in declared.items():
        entries = document.get(name)
        if not isinstance(count, int) or isinstance(count, bool) or not isinstance(entries, list | None):
            continue
        held = len(entries or [])
        if held != count:
            problems.append((at(ENTRIES, name), (
                f"the file declares {count} entries of {name} and holds {held}: it was probably cut off while being "
                f"copied or uploaded (copy it again); if {name} was edited by hand, correct `{ENTRIES}` or remove it")))
    return problems

"""The bulletins' use cases: keeping templates, previewing, publishing, and what would change.

Every function that changes data runs in one transaction and records who did it; `by=None`
is the operator on the command line (or the demo). Templates are the bureau's: a bureau admin
(or the operator) saves them. A bulletin is published by a bureau admin of a subtree holding
its region (`scoping.can_review`).

Publishing freezes a version (models.BulletinVersion): the figures with their definitions and
as-of time, the documents in both languages, and every file (HTML, PDF, Word, Markdown in
both languages; the figures as CSV and JSON) with its SHA-256. Everything is rendered before
the transaction opens, so a failure writes nothing, and a crash leaves either the whole
version or none of it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from kechuang.accounts.scoping import can_review, scope_of
from kechuang.errors import RoleRefusal
from kechuang.indicators import cache
from kechuang.registry.models import Region
from kechuang.statistics.periods import Period, PeriodError

from . import templating, writers
from .document import Document
from .models import Bulletin, BulletinFile, BulletinTemplate, BulletinVersion

SHIPPED = Path(__file__).parent / "data"
LANGUAGES = templating.LANGUAGES
#: The files each version holds: every format in every language, then the open data.
DOCUMENT_FORMATS = ("html", "pdf", "docx", "md")
DATA_FORMATS = ("csv", "json")
#: The columns of the open data (CSV), one row per declared value.
DATA_COLUMNS = ("name", "indicator", "area", "period", "value", "unit", "basis", "provisional", "suppressed",
                "contributors", "as_of", "definition_en", "definition_zh")


class BulletinError(ValidationError):
    """A rule of the bulletins was broken; `field` names what was wrong, and for a template,
    `where` the place in it ("sections[0].paragraphs[1].en")."""

    def __init__(self, field: str, message: str, where: str = ""):
        super().__init__({field: [message]})
        self.field = field
        self.reason = message
        self.where = where


def _refused(field: str, error: templating.TemplateError) -> BulletinError:
    return BulletinError(field, str(error), where=error.where)


class NotAllowed(BulletinError, RoleRefusal):
    """The user's role does not allow this (the API answers 403)."""


# --- templates ----------------------------------------------------------------------------------


def load_shipped() -> int:
    """Add the shipped templates (data/*.yaml) that are missing; an existing one is left alone,
    since a bureau may have edited it. Returns how many were added."""
    added = 0
    for path in sorted(SHIPPED.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        spec = yaml.safe_load(text)
        code = spec.pop("code")
        name = spec.pop("name")
        if BulletinTemplate.objects.filter(code=code).exists():
            continue
        with transaction.atomic():
            BulletinTemplate.objects.create(code=code, name_en=name["en"], name_zh=name["zh"],
                                            spec=templating.check(spec), source_text=_body(text), built_in=True)
        added += 1
    return added


def _body(text: str) -> str:
    """A shipped file's YAML without its code and name (the editor shows the spec only)."""
    lines = text.splitlines()
    kept = [line for line in lines if not line.startswith(("code:", "name:"))]
    return "\n".join(kept).strip() + "\n"


def may_keep_templates(user) -> bool:
    scope = scope_of(user)
    return scope.everything or bool(scope.change_paths)


@transaction.atomic
def save_template(code: str, source: str, *, name_en: str | None = None, name_zh: str | None = None,
                  by=None) -> BulletinTemplate:
    """Create or change a template from the editor's YAML, after checking it renders."""
    if by is not None and not may_keep_templates(by):
        raise NotAllowed("code", "only a bureau admin keeps bulletin templates")
    try:
        spec = templating.check(templating.parse(source))
    except templating.TemplateError as error:
        raise _refused("source", error) from None
    row = BulletinTemplate.objects.select_for_update().filter(code=code).first() or BulletinTemplate(code=code)
    if row.pk is None and not (name_en and name_zh):
        raise BulletinError("name_en", "a new template needs its name in English and Chinese")
    row.name_en = name_en or row.name_en
    row.name_zh = name_zh or row.name_zh
    row.spec, row.source_text, row.updated_by = spec, source, by
    row.full_clean(exclude=["spec", "updated_by"])
    row.save()
    return row


def find_template(code: str | None) -> BulletinTemplate:
    template = BulletinTemplate.objects.filter(code=code or "half-year").first()
    if template is None:
        raise BulletinError("template", f"{code!r} is not a bulletin template "
                                        f"({', '.join(BulletinTemplate.objects.values_list('code', flat=True))})")
    return template


def parse_subject(region: str, period: str) -> tuple[Region, Period]:
    found = Region.objects.filter(code=region).first()
    if found is None:
        raise BulletinError("region", f"{region!r} is not a division code kechuang knows")
    try:
        return found, Period.parse(period)
    except PeriodError as error:
        raise BulletinError("period", str(error)) from None


# --- rendering ----------------------------------------------------------------------------------


def gather(spec: dict, region: Region, period: Period, as_of: dt.datetime | None = None) -> templating.Inputs:
    try:
        return templating.gather(spec, region, period, as_of=as_of)
    except templating.TemplateError as error:
        raise _refused("template", error) from None


def preview(template: BulletinTemplate | dict, region: Region, period: Period, *, languages=LANGUAGES,
            as_of: dt.datetime | None = None) -> dict[str, Document]:
    """The bulletin as it would be published now (or as the data stood at `as_of`): the
    public's figures, in each language. Reads only; `template` may be an unsaved spec."""
    spec = template.spec if isinstance(template, BulletinTemplate) else template
    inputs = gather(spec, region, period, as_of)
    try:
        return {lang: templating.render(inputs, lang) for lang in languages}
    except templating.TemplateError as error:
        raise _refused("template", error) from None


def render_file(template: BulletinTemplate, region: Region, period: Period, lang: str, fmt: str, *,
                as_of: dt.datetime | None = None) -> bytes:
    """One file of a bulletin not published (the command line's `kechuang bulletin`)."""
    if fmt not in writers.FORMATS:
        raise BulletinError("format", f"{fmt!r}: expected one of {', '.join(writers.FORMATS)}")
    (document,) = preview(template, region, period, languages=(lang,), as_of=as_of).values()
    return writers.write(document, fmt)


# --- publication --------------------------------------------------------------------------------


def bulletin_for(template: BulletinTemplate, region: Region, period: Period, *, by=None) -> Bulletin:
    """The bulletin of a template, region and period, made when first asked for (a draft)."""
    if by is not None and not can_review(by, region):
        raise NotAllowed("region", f"only a bureau admin of {region.name_zh} prepares its bulletins")
    try:
        with transaction.atomic():
            bulletin, _ = Bulletin.objects.get_or_create(template=template, region=region, period=period.code,
                                                         defaults={"created_by": by})
    except IntegrityError:  # made at the same moment by someone else
        bulletin = Bulletin.objects.get(template=template, region=region, period=period.code)
    return bulletin


@dataclass(frozen=True)
class Rendered:
    """Everything a version holds, made before it is written."""

    as_of: dt.datetime
    figures: dict
    documents: dict[str, Document]
    files: dict[tuple[str, str], bytes]


def render_version(bulletin: Bulletin, number: int, note: str, as_of: dt.datetime | None = None) -> Rendered:
    spec = bulletin.template.spec
    inputs = gather(spec, bulletin.region, Period.parse(bulletin.period), as_of)
    try:
        documents = {lang: templating.render(inputs, lang, version=number, note=note) for lang in LANGUAGES}
    except templating.TemplateError as error:
        raise _refused("template", error) from None
    figures = {name: value.snapshot() for name, value in inputs.values.items()}
    files = {(lang, fmt): writers.write(documents[lang], fmt) for lang in LANGUAGES for fmt in DOCUMENT_FORMATS}
    files[("", "csv")] = open_data_csv(figures)
    files[("", "json")] = open_data_json(bulletin, number, inputs.as_of, figures)
    return Rendered(inputs.as_of, figures, documents, files)


def publish(bulletin: Bulletin, *, by=None, note: str = "", as_of: dt.datetime | None = None) -> BulletinVersion:
    """Freeze the bulletin's next version. From version 2 a revision note is required; a version
    with the latest one's note that would say exactly what it says is refused (a republication
    sent twice, by a double click or a client's retry)."""
    if by is not None and not can_review(by, bulletin.region):
        raise NotAllowed("bulletin", f"only a bureau admin of {bulletin.region.name_zh} publishes its bulletins")
    note = (note or "").strip()
    number = bulletin.versions.count() + 1
    if number > 1 and not note:
        raise BulletinError("note", "a republished bulletin needs a revision note saying what changed")
    if len(note) > 2000:
        raise BulletinError("note", "a revision note is at most 2,000 characters")
    rendered = render_version(bulletin, number, note, as_of)
    now = timezone.now()
    with transaction.atomic():
        locked = Bulletin.objects.select_for_update().get(pk=bulletin.pk)
        if locked.versions.count() + 1 != number:
            raise BulletinError("bulletin", "someone published this bulletin at the same moment; "
                                            "reload it to see their version")
        latest = locked.versions.order_by("-number").first()
        if latest is not None and latest.note == note and _says_the_same(latest, rendered, locked.template.spec):
            raise BulletinError("note", f"version {latest.number} was published at "
                                        f"{timezone.localtime(latest.published_at):%Y-%m-%d %H:%M} with this note, "
                                        "and nothing has changed since (the same template, figures and text): "
                                        "it is not published again")
        version = BulletinVersion.objects.create(
            bulletin=locked, number=number, published_at=now, published_by=by, as_of=rendered.as_of, note=note,
            figures=rendered.figures, documents={lang: doc.as_dict() for lang, doc in rendered.documents.items()},
            spec=locked.template.spec)
        BulletinFile.objects.bulk_create([
            BulletinFile(version=version, language=lang, format=fmt, content=content,
                         sha256=BulletinFile.digest(content), size=len(content))
            for (lang, fmt), content in rendered.files.items()])
        locked.published_at = now
        locked.save(update_fields=["published_at"])
    bulletin.published_at = now
    return version


#: What differs between two publications of the same content: the moment the data was read
#: and the version's own number and note.
PER_PUBLICATION = ("as_of", "dateline", "version", "revision_note")


def _says_the_same(version: BulletinVersion, rendered: Rendered, spec: dict) -> bool:
    """Whether `rendered` would publish what `version` holds again (a republication sent twice):
    the same template, the same figures and the same text in each language."""
    return (version.spec == spec and _comparable_figures(version.figures) == _comparable_figures(rendered.figures)
            and _comparable_documents(version.documents)
            == _comparable_documents({lang: document.as_dict() for lang, document in rendered.documents.items()}))


def _comparable_figures(figures: dict) -> dict:
    return {name: {key: value for key, value in figure.items() if key != "as_of"}
            for name, figure in json.loads(json.dumps(figures)).items()}


def _comparable_documents(documents: dict) -> dict:
    normal = json.loads(json.dumps(documents))  # as stored: tuples become lists
    for document in normal.values():
        for key in PER_PUBLICATION:
            document.pop(key, None)
        for figure in document.get("figures", ()):
            figure.pop("as_of", None)
    return normal


def open_data_csv(figures: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DATA_COLUMNS)
    for name, figure in figures.items():
        writer.writerow([name, *(_csv(figure.get(column)) for column in DATA_COLUMNS[1:])])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM, so that Excel reads it as UTF-8


def _csv(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def open_data_json(bulletin: Bulletin, number: int, as_of: dt.datetime, figures: dict) -> bytes:
    data = {"template": bulletin.template.code, "region": bulletin.region.code, "period": bulletin.period,
            "version": number, "as_of": as_of.isoformat(timespec="seconds"), "figures": figures}
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


# --- after publication --------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A published figure that republishing now would print differently."""

    name: str
    indicator: str
    area: str
    period: str
    published: str | None
    now: str | None
    published_basis: str
    now_basis: str


def would_change(version: BulletinVersion) -> list[Change]:
    """The figures of `version` whose value (or whether it is withheld) differs from what the
    data says now: corrections, late approvals, a figure that became official.

    Every visit of a published bulletin's page asks, so the answer is kept (kechuang.indicators.
    cache) until the public's data changes: a version is frozen, and what it is compared with
    is the public's figures, which read only what the bureau approved."""
    key = None
    if cache.size() > 0:
        key = ("would change", version.pk, cache.public_generations(cache.snapshot()))
        if (kept := cache.get(key)) is not None:
            return list(kept)
    changes = _would_change(version)
    if key is not None:
        cache.put(key, tuple(changes))
    return changes


def _would_change(version: BulletinVersion) -> list[Change]:
    bulletin = version.bulletin
    inputs = gather(version.spec, bulletin.region, Period.parse(bulletin.period))
    changes = []
    for name, old in version.figures.items():
        new = inputs.values.get(name)
        if new is None:
            continue
        now = new.snapshot()
        if _same(old["value"], now["value"]) and old["suppressed"] == now["suppressed"] \
                and old["basis"] == now["basis"]:
            continue
        changes.append(Change(name, old["indicator"], old["area"], old["period"], old["value"], now["value"],
                              old["basis"], now["basis"]))
    return changes


def _same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a == b
    return Decimal(a) == Decimal(b)


def file_of(version: BulletinVersion, lang: str, fmt: str) -> BulletinFile:
    found = version.files.filter(language="" if fmt in DATA_FORMATS else lang, format=fmt).first()
    if found is None:
        held = ", ".join(f"{row.language or 'data'}.{row.format}" for row in version.files.all())
        raise BulletinError("format", f"{lang}.{fmt}: this version has {held}")
    return found


LEVEL_WORDS = re.compile(r"-(province|city|district|county|town|subdistrict|township)$")


def file_name(bulletin: Bulletin, number: int, lang: str, fmt: str) -> str:
    """tongzhou-2023H1-half-year-v1-en.pdf; the open data: …-v1-data.csv."""
    place = LEVEL_WORDS.sub("", slugify(bulletin.region.name_en)) or bulletin.region.code
    extension = writers.FORMATS[fmt][1] if fmt in writers.FORMATS else fmt
    return f"{place}-{bulletin.period}-{bulletin.template.code}-v{number}-{lang or 'data'}.{extension}"

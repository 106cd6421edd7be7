"""`kechuang bulletin`: a bulletin rendered to a file, the templates and bulletins, publishing.

    kechuang bulletin --region 320612 --period 2023H1 --lang en --format pdf -o tongzhou-2023h1.pdf
    kechuang bulletin --region 320612 --period 2023H1 --lang zh-hans --format md -o - --as-of 2023-09-04T10:00
    kechuang bulletin --list
    kechuang bulletin --publish --region 320612 --period 2023H1 [--note "why"] [-o FILE --lang en --format pdf]
"""

import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max
from django.utils.dateparse import parse_datetime

from kechuang.audit import interface
from kechuang.bulletins import services, writers
from kechuang.bulletins.document import Document
from kechuang.bulletins.models import Bulletin, BulletinTemplate
from kechuang.indicators.engine import SHANGHAI

#: The languages the command reads, and the bulletin's own.
LANGUAGES = {"en": "en", "zh-hans": "zh", "zh": "zh"}
#: Formats that may go to standard output (-o -); PDF and Word are binary.
TEXT_FORMATS = ("html", "md")
#: The option that names what a service's error is about.
OPTIONS = {"region": "--region", "period": "--period", "template": "--template", "format": "--format",
           "note": "--note", "bulletin": "--publish"}


class Command(BaseCommand):
    help = ("Render a bulletin to a file, as the public would see it now (or as the data stood at --as-of); "
            "--list the templates and bulletins; --publish a bulletin's next version (as the operator). "
            "See docs/bulletins.md.")

    def add_arguments(self, parser):
        parser.add_argument("--region", metavar="CODE", help="the region's division code, e.g. 320612")
        parser.add_argument("--period", metavar="CODE", help="the period: 2023H1, 2023Q3, 2023, 2023-01..2023-05")
        parser.add_argument("--lang", choices=list(LANGUAGES), help="the language: en, or zh-hans (zh)")
        parser.add_argument("--format", choices=list(writers.FORMATS),
                            help="html, pdf, docx or md (default: from the extension of -o)")
        parser.add_argument("-o", "--output", metavar="FILE",
                            help='the file to write ("-" for standard output: html and md only)')
        parser.add_argument("--template", metavar="CODE", help="the template's code (default half-year)")
        parser.add_argument("--as-of", dest="as_of", metavar="DATETIME",
                            help="as the data stood then: an ISO date-time or date (its first moment); "
                                 "Asia/Shanghai when no offset is given")
        parser.add_argument("--list", action="store_true", help="list the templates and the bulletins")
        parser.add_argument("--publish", action="store_true",
                            help="publish the bulletin's next version; with -o, also write one of its files")
        parser.add_argument("--note", default="", help="with --publish: what changed (required from version 2)")

    def handle(self, *args, list=False, publish=False, note="", **options):
        with interface("cli"):
            if list:
                return self.catalogue()
            try:
                if publish:
                    return self.publish(note=note, **options)
                return self.render(**options)
            except services.BulletinError as error:
                raise CommandError(f"{OPTIONS.get(error.field, error.field)}: {error.reason}") from None
            except (ValueError, OverflowError) as error:  # a moment or period at the calendar's ends
                raise CommandError(f"the bulletin cannot be rendered: {error}") from None

    # --- rendering ------------------------------------------------------------------------------

    def render(self, *, region=None, period=None, lang=None, format=None, output=None, template=None, as_of=None,
               **options):
        if not output:
            raise CommandError("-o FILE is required: where to write the bulletin (- for standard output)")
        language, fmt = self.language(lang), self.format(format, output)
        subject_template, subject_region, subject_period = self.subject(template, region, period)
        moment = self.moment(as_of)
        (document,) = services.preview(subject_template, subject_region, subject_period, languages=(language,),
                                       as_of=moment).values()
        self.write(writers.write(document, fmt), output, fmt)
        self.report(document)

    def subject(self, template, region, period):
        if not region:
            raise CommandError("--region is required: the region's division code, e.g. 320612")
        if not period:
            raise CommandError("--period is required: 2023H1, 2023Q3, 2023 or 2023-01..2023-05")
        found_region, found_period = services.parse_subject(region, period)
        return services.find_template(template), found_region, found_period

    @staticmethod
    def language(lang: str | None) -> str:
        if not lang:
            raise CommandError("--lang is required: en or zh-hans")
        return LANGUAGES[lang]

    @staticmethod
    def format(fmt: str | None, output: str) -> str:
        if fmt:
            if output == "-" and fmt not in TEXT_FORMATS:
                raise CommandError(f"--format {fmt} is binary: write it to a file (-o FILE), not to standard output")
            return fmt
        extension = Path(output).suffix.lstrip(".").lower()
        if output == "-" or extension not in writers.FORMATS:
            raise CommandError(f"--format is required ({', '.join(writers.FORMATS)}): -o {output} does not say "
                               "which")
        return extension

    @staticmethod
    def moment(text: str | None):
        if not text:
            return None
        try:
            moment = parse_datetime(text)
        except ValueError:  # well formed, but no such moment (2023-02-30)
            moment = None
        if moment is None:
            raise CommandError(f"--as-of {text!r} is not an ISO date-time or date, e.g. 2023-09-04T10:00 or "
                               "2023-09-04")
        return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)

    def write(self, content: bytes, output: str, fmt: str) -> None:
        if output == "-":
            self.stdout.write(content.decode("utf-8"), ending="")
            return
        path = Path(output)
        try:
            write_atomically(path, content)
        except OSError as error:
            raise CommandError(f"-o {output}: {error.strerror or error}") from None
        self.stderr.write(f"written to {path} ({len(content):,} bytes, {fmt})")

    def report(self, document: Document) -> None:
        self.stderr.write(f"{len(document.figures)} figures, as of {document.as_of}; "
                          f"{len(document.left_out)} sentences left out")
        for reason in document.left_out:
            self.stderr.write(f"  left out: {reason}")

    # --- publishing -----------------------------------------------------------------------------

    def publish(self, *, note="", region=None, period=None, lang=None, format=None, output=None, template=None,
                as_of=None, **options):
        if output:  # checked before publishing, so that a wrong option publishes nothing
            language, fmt = self.language(lang), self.format(format, output)
        subject_template, subject_region, subject_period = self.subject(template, region, period)
        moment = self.moment(as_of)
        bulletin = services.bulletin_for(subject_template, subject_region, subject_period)
        version = services.publish(bulletin, note=note, as_of=moment)
        files = version.files.order_by("language", "format")
        self.stdout.write(f"{bulletin} published as version {version.number} (as of "
                          f"{version.as_of.astimezone(SHANGHAI).isoformat(timespec='seconds')}): "
                          f"{len(files)} files")
        for row in files:
            self.stdout.write(f"  {row.language or 'data'}.{row.format:<5} {row.size:>10,} bytes  sha256 {row.sha256}")
        if output:
            self.write(bytes(services.file_of(version, language, fmt).content), output, fmt)

    # --- the list -------------------------------------------------------------------------------

    def catalogue(self) -> None:
        self.stdout.write("templates:")
        for template in BulletinTemplate.objects.order_by("code"):
            built_in = "  (shipped)" if template.built_in else ""
            self.stdout.write(f"  {template.code:<24} {template.name_zh} / {template.name_en}{built_in}")
        bulletins = list(Bulletin.objects.select_related("template", "region").annotate(
            latest=Max("versions__number")).order_by("region__code", "period", "template__code"))
        published = [b for b in bulletins if b.is_published]
        drafts = [b for b in bulletins if not b.is_published]
        self.stdout.write(f"published bulletins: {len(published)}")
        for bulletin in published:
            self.stdout.write(f"  {bulletin.pk:>5}  {bulletin.template.code:<16} {bulletin.region.code} "
                              f"{bulletin.region.name_zh}  {bulletin.period:<10} version {bulletin.latest}, "
                              f"{bulletin.published_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}")
        self.stdout.write(f"drafts: {len(drafts)}")
        for bulletin in drafts:
            self.stdout.write(f"  {bulletin.pk:>5}  {bulletin.template.code:<16} {bulletin.region.code} "
                              f"{bulletin.region.name_zh}  {bulletin.period}")


def write_atomically(path: Path, content: bytes) -> None:
    """Write `path` whole or not at all: a temporary file beside it, renamed over it, so a
    crash or a full disk leaves the old file (or none), never half of the new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; the file is an ordinary one
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

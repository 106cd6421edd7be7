from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kechuang.world.dumper import dump_text
from kechuang.world.errors import WorldError
from kechuang.world.formats import FORMATS, format_of


class Command(BaseCommand):
    help = ("Write the registry as a world file (see docs/world-file.md): everything, or with --region "
            "the region's subtree, its ancestors, the organisations located there and what they refer to.")

    def add_arguments(self, parser):
        parser.add_argument("--region", metavar="CODE", help="only this region's subtree (e.g. 320612)")
        parser.add_argument("--output", type=Path, metavar="FILE", help="write here instead of stdout")
        parser.add_argument("--format", choices=FORMATS, default=None,
                            help="yaml or json (default: from the --output name, else yaml)")

    def handle(self, *args, region=None, output=None, format=None, **options):
        fmt = format or (format_of(output) if output else "yaml")
        try:
            text = dump_text(region, fmt)
        except WorldError as exc:
            raise CommandError(str(exc)) from None
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {output}")

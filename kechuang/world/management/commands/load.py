from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kechuang.world.errors import WorldError
from kechuang.world.loader import load_files


class Command(BaseCommand):
    help = ("Create or update the registry from world files (YAML or JSON; see docs/world-file.md). "
            "All files load in one transaction: any problem in any file loads nothing, and every "
            "problem found is listed with the path of its entry. Loading twice changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="world file (.yaml, .yml or .json)")
        parser.add_argument("--dry-run", action="store_true",
                            help="check and count everything, then roll back")

    def handle(self, *args, files, dry_run=False, **options):
        try:
            report = load_files(files, dry_run=dry_run)
        except WorldError as exc:
            raise CommandError(str(exc)) from None
        for path, reason in report.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {path}: {reason}"))
        for line in report.section_lines():
            self.stdout.write(line)
        if dry_run:
            self.stdout.write("dry run: nothing was written")

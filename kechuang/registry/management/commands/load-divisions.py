from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kechuang.registry.divisions import default_directory, load_divisions
from kechuang.registry.services import RegistryError


class Command(BaseCommand):
    help = ("Load China's provinces, cities and districts (and optionally towns) from the NBS division "
            "CSV files, plus the recorded history of changes (通州市 320683 → 通州区 320612). Idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=None,
                            help="folder with provinces.csv, cities.csv, areas.csv, streets.csv "
                                 "(default: ../shared/data/real/admin-divisions or $KECHUANG_DIVISIONS_DIR)")
        parser.add_argument("--towns", action="append", default=[], metavar="CODE",
                            help="also load towns and streets under this code prefix (320612, 3206, or 'all'); repeatable")
        parser.add_argument("--province", action="append", default=[], metavar="CODE",
                            help="only this province, by its two-digit code (32 for Jiangsu); repeatable")
        parser.add_argument("--no-history", action="store_true", help="skip the recorded history of division changes")

    def handle(self, *args, dir=None, towns=(), province=(), no_history=False, **options):
        directory = dir or default_directory()
        try:
            report = load_divisions(directory, towns=towns, history=not no_history, provinces=province)
        except RegistryError as exc:
            raise CommandError(exc.reason) from None
        self.stdout.write(f"regions from {directory}: {report}")

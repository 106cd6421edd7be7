import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from kechuang.statistics.importer import import_observations, write_error_report
from kechuang.tabular import TableError

#: Problems printed on the terminal; the rest are in the report (--report) and on the import job.
SHOWN = 50


class Command(BaseCommand):
    help = ("Import statistics from a CSV or Excel (.xlsx) file: one figure per row (指标, 期间, 数值 columns) or "
            "one row per enterprise and one column per metric (工业总产值(万元)). A file with any error writes "
            "nothing, and every error is listed with its row and column; see docs/statistics.md.")

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["observations"], help="what the file holds")
        parser.add_argument("file", type=Path, metavar="FILE", help="a .csv or .xlsx file")
        parser.add_argument("--sheet", help="the worksheet to read (default: the first)")
        parser.add_argument("--region", help="the region (code or name) whose organisations the names in the file "
                                             "are looked up in")
        parser.add_argument("--period", help="the period of figures whose row or column names none "
                                             "(2023, 2023H1, 2023年1-6月 …)")
        parser.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
        parser.add_argument("--accept-warnings", action="store_true",
                            help="import although warnings were found (a probable 元/万元 mix-up, an unknown column)")
        parser.add_argument("--report", type=Path, metavar="OUT.xlsx",
                            help="write a copy of the file with a column naming each row's problems (.xlsx or .csv)")
        parser.add_argument("--user", metavar="USERNAME",
                            help="import as this user, within what they may change (default: the operator, anything)")

    def handle(self, *args, what, file, sheet=None, region=None, period=None, dry_run=False, accept_warnings=False,
               report=None, user=None, **options):
        by = None
        if user:
            by = get_user_model().objects.filter(username=user).first()
            if by is None:
                raise CommandError(f"no user is named {user!r}")
        if not file.is_file():
            raise CommandError(f"{file} is not a file")
        with tqdm(total=0, unit=" rows", file=sys.stderr, disable=None, leave=False) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            outcome = import_observations(file, by=by, sheet=sheet, region=region, period=period, dry_run=dry_run,
                                          accept_warnings=accept_warnings, progress=progress)
        self.stdout.write(outcome.summary())
        for label, problems, count in (("error", outcome.errors, outcome.error_count),
                                       ("warning", outcome.warnings, outcome.warning_count)):
            for problem in problems[:SHOWN]:
                self.stdout.write(f"{label}: {problem}")
            if count > SHOWN:
                where = "see the report" if report else "write them all with --report FILE.xlsx"
                self.stdout.write(f"… and {count - SHOWN:,} more {label}s ({where})")
        if report:
            try:
                written = write_error_report(outcome, file, report, sheet=sheet)
            except TableError as error:
                self.stderr.write(f"the report could not be written: {error}")
            else:
                self.stdout.write(f"report: {report} ({written:,} rows)")
        self.stdout.write(f"import job {outcome.job.pk}: {outcome.message}")
        if outcome.refused:
            raise CommandError(outcome.message)

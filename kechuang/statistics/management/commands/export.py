from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kechuang.accounts.scoping import visible_to
from kechuang.registry.services import RegistryError, find_region
from kechuang.statistics.exports import export_observations
from kechuang.statistics.models import Metric, Observation
from kechuang.statistics.periods import Period, PeriodError
from kechuang.statistics.services import in_region


class Command(BaseCommand):
    help = ("Export the current statistics (one figure per row, values in the metric's base unit) to .xlsx or CSV. "
            "The file can be corrected and imported again with `kechuang import observations`.")

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["observations"], help="what to export")
        parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                            help="the file to write: .xlsx or .csv (UTF-8 with a BOM, as Excel reads it)")
        parser.add_argument("--metric", help="only this metric (code)")
        parser.add_argument("--period", help="only this period (2023, 2023H1, 2023年1-6月 …)")
        parser.add_argument("--region", help="only subjects in this region's subtree (code or name)")
        parser.add_argument("--user", metavar="USERNAME",
                            help="export only what this user may see (default: the operator, everything)")
        parser.add_argument("--all-versions", action="store_true",
                            help="also the figures that corrections superseded")

    def handle(self, *args, what, output, metric=None, period=None, region=None, user=None, all_versions=False,
               **options):
        suffix = output.suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            raise CommandError(f"{output}: the file must end in .xlsx or .csv")
        observations = Observation.objects.all() if all_versions else Observation.objects.current()
        if metric:
            if not Metric.objects.filter(code=metric).exists():
                raise CommandError(f"no metric has the code {metric!r}")
            observations = observations.filter(metric__code=metric)
        if period:
            try:
                observations = observations.filter(period=Period.parse(period).code)
            except PeriodError as error:
                raise CommandError(str(error)) from None
        if region:
            try:
                observations = in_region(observations, find_region(region))
            except RegistryError as error:
                raise CommandError(error.reason) from None
        if user:
            by = get_user_model().objects.filter(username=user).first()
            if by is None:
                raise CommandError(f"no user is named {user!r}")
            observations = visible_to(observations, by)
        count = export_observations(observations, output, format=suffix[1:])
        self.stdout.write(f"{count:,} figures written to {output}")

import csv
import datetime as dt
import io
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from kechuang.indicators import display, engine
from kechuang.indicators.models import Indicator
from kechuang.statistics.periods import Period, PeriodError


class Command(BaseCommand):
    help = ("Compute an indicator for a region (or its children) and a period, with the official figure beside the "
            "computed one; `--list` prints the catalogue. The operator sees every figure (nothing suppressed) "
            "unless --public.")

    def add_arguments(self, parser):
        parser.add_argument("code", nargs="?", help="the indicator's code (see --list)")
        parser.add_argument("--list", action="store_true", help="print the catalogue")
        parser.add_argument("--region", help="a division code, e.g. 320612")
        parser.add_argument("--within", metavar="KEY", help="a zone or park, by key")
        parser.add_argument("--period", help="a period code (2023H1), or FIRST..LAST of a series (2019H1..2023H2)")
        parser.add_argument("--by", choices=engine.BY,
                            help="every child of the region (children), or every region of a level below it; "
                                 "the region itself last, as their total")
        parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
        parser.add_argument("--as-of", dest="as_of", metavar="DATETIME",
                            help="as the data stood then (ISO date-time; Asia/Shanghai when no offset is given)")
        parser.add_argument("--public", action="store_true", help="what the public sees: disclosure control on, "
                                                                  "approved figures only")

    def handle(self, *args, code=None, list=False, region=None, within=None, period=None, by=None,
               format="table", as_of=None, public=False, **options):
        if list:
            return self.catalogue()
        if not code:
            raise CommandError("name an indicator (kechuang indicator --list shows them)")
        if not period:
            raise CommandError("--period is required (2023H1, or 2019H1..2023H2 for a series)")
        try:
            periods = self.periods(period)
            areas = engine.areas_for(region, by=by, within=within, on=min(max(periods).end, dt.date.today()))
            table = engine.evaluate([code], areas, periods, as_of=self.moment(as_of), public=public)
        except (engine.EngineError, PeriodError) as error:
            raise CommandError(str(error)) from None
        getattr(self, f"write_{format}")(table)

    def periods(self, text: str) -> list[Period]:
        if text.count("..") == 1 and ("H" in text or "Q" in text or text.replace("..", "").isdigit()):
            first, last = text.split("..")
            return engine.period_series(Period.parse(first), Period.parse(last))
        return [Period.parse(text)]

    def moment(self, text: str | None):
        if not text:
            return None
        moment = parse_datetime(text)
        if moment is None:
            raise CommandError(f"--as-of {text!r} is not an ISO date-time such as 2024-01-01T00:00")
        return moment if moment.tzinfo else moment.replace(tzinfo=engine.SHANGHAI)

    def catalogue(self):
        for indicator in Indicator.objects.order_by("code"):
            official = f"  official: {indicator.official_metric.code}" if indicator.official_metric_id else ""
            self.stdout.write(f"{indicator.code}\t{indicator.name_zh}\t{indicator.name_en}\t[{indicator.unit}]\n"
                              f"    = {indicator.formula}{official}")

    @staticmethod
    def record(result: engine.Result) -> dict:
        shown = result.shown
        return {
            "indicator": result.indicator.code, "region": result.area.key, "name": result.area.name_zh,
            "period": result.period.code,
            "value": _text(display.rounded(shown, result.indicator.precision)),
            "unit": result.indicator.unit,
            "basis": result.basis,
            "computed": None if result.suppressed else
            _text(display.rounded(result.computed, result.indicator.precision + 4)),
            "official": _text(display.rounded(result.official, result.indicator.precision)),
            "differs": result.differs,
            "contributors": result.contributors,
            "suppressed": bool(result.suppressed and result.basis == "computed"),
            "provisional": result.provisional,
            "as_of": result.as_of.isoformat(),
        }

    def write_json(self, table):
        self.stdout.write(json.dumps([self.record(result) for result in table], ensure_ascii=False, indent=1))

    def write_csv(self, table):
        records = [self.record(result) for result in table]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]) if records else ["indicator"])
        writer.writeheader()
        writer.writerows(records)
        self.stdout.write(buffer.getvalue(), ending="")

    def write_table(self, table):
        for result in table:
            indicator = result.indicator
            line = (f"{result.area.name_zh} {result.area.key}  {result.period.label('zh')}  "
                    f"{display.text(indicator, result.shown, 'zh')}")
            notes = []
            if result.basis == "official":
                notes.append("official")
                if result.computed is not None:
                    notes.append(f"computed {display.text(indicator, result.computed, 'zh')}"
                                 + (", DIFFERS" if result.differs else ""))
            elif result.basis == "computed":
                notes.append(f"computed from {result.contributors} records")
            if result.suppressed and result.basis == "computed":
                notes.append(f"suppressed: {result.suppressed}")
            if result.provisional:
                notes.append("provisional")
            self.stdout.write(line + (f"  ({'; '.join(notes)})" if notes else ""))


def _text(value) -> str | None:
    return None if value is None else f"{value:f}"

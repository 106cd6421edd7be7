import datetime as dt
import json
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError

from kechuang.designations.rules import report
from kechuang.designations.rules.explain import status_name, verdict_name
from kechuang.designations.rules.loader import RuleSetError
from kechuang.designations.rules.screening import (
    ScreeningError,
    find_rule_set,
    list_rule_sets,
    screen_organisation,
    screen_region,
    today,
)
from kechuang.tabular import write_table


class Command(BaseCommand):
    help = ("Screen enterprises against an eligibility rule set: the cultivation pool of a region, closest "
            "first, or one enterprise's explanation (--organisation). RULESET is a code (HNTE-2016) or a family "
            "(hnte, innovative-sme, srdi-sme, little-giant, tech-sme), which picks the rules in force on --date. "
            "`--list` prints the rule sets. The operator sees every enterprise.")

    def add_arguments(self, parser):
        parser.add_argument("ruleset", nargs="?", help="a rule set code or family (see --list)")
        parser.add_argument("--list", action="store_true", help="print the rule sets and which are in force on --date")
        parser.add_argument("--region", help="a division code, e.g. 320612: screen every enterprise located there")
        parser.add_argument("--organisation", metavar="KEY", help="screen this one enterprise, with every figure")
        parser.add_argument("--date", help="the screening (application) date YYYY-MM-DD; default today")
        parser.add_argument("--format", choices=["table", "json", "xlsx"], default="table")
        parser.add_argument("--output", "-o", type=Path, metavar="FILE",
                            help="write to this file (required for xlsx; json and table go to stdout without it)")
        parser.add_argument("--expert-inputs", dest="expert_inputs", type=Path, metavar="FILE",
                            help="judgements already given, as JSON or YAML: {organisation key: {judgement code: "
                                 "answer}} (yes/no, points, or a choice's code)")

    def handle(self, *args, ruleset=None, list=False, region=None, organisation=None, date=None, format="table",
               output=None, expert_inputs=None, **options):
        on = self.date(date)
        try:
            if list:
                return self.catalogue(on)
            if not ruleset:
                raise CommandError("name a rule set or a family (kechuang screen --list shows them)")
            if format == "xlsx" and output is None:
                raise CommandError("--format xlsx writes a file: give --output FILE.xlsx")
            if not organisation and not region:
                raise CommandError("give --region CODE for the cultivation pool, or --organisation KEY for one enterprise")
            rule_set = find_rule_set(ruleset, on)
            inputs = self.inputs(expert_inputs)
            if organisation:
                screening, names = screen_organisation(organisation, rule_set, on, expert_inputs=inputs)
                self.write_one(screening, names, format, output)
            else:
                pool = screen_region(rule_set, region, on, expert_inputs=inputs)
                self.write_pool(pool, format, output)
        except ScreeningError as error:
            raise CommandError(f"{error.field}: {error.reason}") from None
        except RuleSetError as error:
            raise CommandError(str(error)) from None

    @staticmethod
    def date(text: str | None) -> dt.date:
        if not text:
            return today()
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise CommandError(f"--date {text!r} is not a date YYYY-MM-DD") from None

    @staticmethod
    def inputs(path: Path | None) -> dict | None:
        if path is None:
            return None
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))  # YAML reads JSON too
        except OSError as error:
            raise CommandError(f"--expert-inputs {path}: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise CommandError(f"--expert-inputs {path}: not JSON or YAML: {error}") from None
        if not isinstance(data, dict):
            raise CommandError(f"--expert-inputs {path}: expected {{organisation key: {{judgement: answer}}}}")
        return data

    def catalogue(self, on: dt.date):
        for rule_set in list_rule_sets():
            until = f" until {rule_set.effective_to}" if rule_set.effective_to else ""
            mark = "*" if rule_set.in_force_on(on) else " "
            unverified = len(rule_set.unverified_parameters)
            self.stdout.write(f"{mark} {rule_set.code:<26} {rule_set.family:<16} from {rule_set.effective_from}{until}"
                              f"  {rule_set.name_zh}"
                              + (f"  [{unverified} unverified parameter{'s' if unverified > 1 else ''}]" if unverified else ""))
        self.stdout.write(f"(* in force on {on})")

    def emit(self, text: str, output: Path | None) -> None:
        if output is None:
            self.stdout.write(text)
        else:
            output.write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"written to {output}")

    def write_pool(self, pool, format: str, output: Path | None) -> None:
        if format == "xlsx":
            header, rows = report.pool_table(pool)
            write_table(rows, header, output, "xlsx")
            self.stderr.write(f"{len(rows):,} enterprises written to {output}")
            return
        if format == "json":
            document = {"ruleset": report.rule_set_summary(pool.rule_set, pool.on),
                        "region": {"code": pool.region.code, "name_zh": pool.region.name_zh,
                                   "name_en": pool.region.name_en},
                        "date": pool.on.isoformat(), "year": pool.year, "count": len(pool.results),
                        "results": [report.screening_summary(s, pool.metric_names) for s in pool.results]}
            return self.emit(json.dumps(document, ensure_ascii=False, indent=1), output)
        lines = [f"{pool.rule_set.code} {pool.rule_set.name_zh} — {pool.region.name_zh} {pool.region.code}, "
                 f"{pool.on} (last year {pool.year}): {len(pool.results)} enterprises, closest first"]
        for screening in pool.results:
            unmet, shortfall, awaiting = screening.overall.closeness
            open_codes = ", ".join(f"{o.criterion.code}:{o.status}" for o in screening.outcomes if o.status != "pass")
            lines.append(f"{screening.rank:>5}  {screening.organisation.key:<30} {verdict_name(screening.status, 'zh')}"
                         f"  unmet {unmet}, shortfall {report.decimal_text(shortfall, 3)}, awaiting {awaiting}"
                         + (f"  [{open_codes}]" if open_codes else ""))
        self.emit("\n".join(lines), output)

    def write_one(self, screening, names: dict, format: str, output: Path | None) -> None:
        if format == "xlsx":
            header, rows = report.screening_table(screening, names)
            write_table(rows, header, output, "xlsx")
            self.stderr.write(f"{len(rows)} criteria written to {output}")
            return
        if format == "json":
            return self.emit(json.dumps(report.screening_detail(screening, names), ensure_ascii=False, indent=1),
                             output)
        organisation = screening.organisation
        lines = [f"{organisation.name_zh or organisation.name_en} ({organisation.key}) — {screening.rule_set.code}, "
                 f"{screening.on} (last year {screening.year}): {verdict_name(screening.status, 'zh')} / "
                 f"{verdict_name(screening.status, 'en')}"]

        def add(outcome, depth):
            indent = "  " * (depth + 1)
            lines.append(f"{indent}[{status_name(outcome.status, 'en')}] {outcome.criterion.code}: "
                         f"{report.explain.text(outcome, screening.year, 'zh', names, screening.on)}")
            lines.append(f"{indent}    {report.explain.text(outcome, screening.year, 'en', names, screening.on)}")
            for child in outcome.children:
                add(child, depth + 1)

        for outcome in screening.outcomes:
            add(outcome, 0)
        self.emit("\n".join(lines), output)

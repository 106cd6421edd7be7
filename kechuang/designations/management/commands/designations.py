import datetime as dt
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kechuang.audit import interface
from kechuang.designations import importer, services
from kechuang.designations.models import CandidateStatus, ImportCandidate, Level, Stage
from kechuang.registry.models import Organisation, Region

#: Problems printed on the terminal; the import's record (and the API) has them all.
SHOWN = 50


def _day(text: str | None, option: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option} {text!r}: give a date as YYYY-MM-DD, e.g. 2023-07-14") from None


class Command(BaseCommand):
    help = ("Designations (资质认定): import a published list (import), list those expiring (expiring), mark those "
            "whose validity ran out (expire), and work through the review queue of an import (queue, confirm). "
            "See docs/designations.md.")

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

        imports = commands.add_parser("import", help="import a published list (CSV or .xlsx): all rows or none")
        imports.add_argument("file", type=Path, metavar="FILE")
        imports.add_argument("--type", required=True, help="the designation type's code (little-giant, hnte …)")
        imports.add_argument("--level", choices=Level.values, help="default: the type's usual level")
        imports.add_argument("--region", help="match names among the enterprises located in this region (code)")
        imports.add_argument("--stage", choices=[Stage.FINAL, Stage.PUBLICITY], default=Stage.FINAL,
                             help="the stage of rows whose own column says none (default final)")
        imports.add_argument("--date", metavar="YYYY-MM-DD", help="the notice's date, for rows that give none")
        imports.add_argument("--batch", default="", help="the batch of rows that name none (5, 2023-2 …)")
        imports.add_argument("--source", metavar="KEY", help="the notice (a registry source), for rows naming none")
        imports.add_argument("--dry-run", action="store_true", help="check and match everything, write nothing")
        imports.add_argument("--user", metavar="USERNAME", help="import as this user, within what they may change")

        expiring = commands.add_parser("expiring", help="designations whose validity runs out soon")
        expiring.add_argument("--days", type=int, default=90, help="within this many days (default 90)")
        expiring.add_argument("--region", help="of enterprises located in this region (code)")
        expiring.add_argument("--today", metavar="YYYY-MM-DD", help="count from this day (default today)")

        expire = commands.add_parser("expire", help="mark final designations whose validity ran out as expired")
        expire.add_argument("--today", metavar="YYYY-MM-DD")

        queue = commands.add_parser("queue", help="the rows of imports waiting for review")
        queue.add_argument("--import", dest="import_id", type=int, metavar="ID", help="of this import only")

        confirm = commands.add_parser("confirm", help="review a queued row: link, create or dismiss")
        confirm.add_argument("candidate", type=int, metavar="ROW_ID", help="the queued row's id (see `queue`)")
        action = confirm.add_mutually_exclusive_group(required=True)
        action.add_argument("--link", metavar="KEY", help="the row names this enterprise: link it and grant")
        action.add_argument("--create", action="store_true", help="register the enterprise and grant")
        action.add_argument("--dismiss", metavar="WHY", help="not ours to record, and why")
        confirm.add_argument("--region", help="with --create: where it is located (default: where the list says)")
        confirm.add_argument("--key", help="with --create: its key (default: its name in pinyin)")
        confirm.add_argument("--date", metavar="YYYY-MM-DD", help="the notice's date, when the list gives none")

    def handle(self, *args, command, **options):
        with interface("cli"):
            try:
                return getattr(self, f"do_{command}")(**options)
            except ValidationError as error:
                messages = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
                raise CommandError("; ".join(f"{field}: {' '.join(texts)}" if field else " ".join(texts)
                                             for field, texts in messages.items())) from None

    # --- import ---------------------------------------------------------------------------------

    def do_import(self, *, file, type, level=None, region=None, stage=Stage.FINAL, date=None, batch="", source=None,
                  dry_run=False, user=None, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file")
        by = self._user(user)
        with file.open("rb") as handle:
            outcome = importer.import_list(handle, designation_type=type, level=level, region=region, stage=stage,
                                           date=_day(date, "--date"), batch=batch, notice=source, by=by,
                                           filename=file.name, dry_run=dry_run)
        for problem in outcome.problems[:SHOWN]:
            self.stdout.write(f"error: {problem}")
        if len(outcome.problems) > SHOWN:
            self.stdout.write(f"… and {len(outcome.problems) - SHOWN} more errors (see import {outcome.record.pk})")
        for row in outcome.rows:
            who = f" → {row.organisation}" if row.organisation else ""
            reason = f": {row.reason}" if row.reason else ""
            self.stdout.write(f"row {row.row} {row.name}{who}: {row.outcome}{reason}")
        self.stdout.write(outcome.summary())
        queued = outcome.count("queued")
        if queued and not dry_run and not outcome.refused:
            self.stdout.write(f"{queued} rows wait for review: kechuang designations queue --import "
                              f"{outcome.record.pk}")
        self.stdout.write(f"designation import {outcome.record.pk}: {outcome.message}")
        if outcome.refused:
            raise CommandError(outcome.message)

    def _user(self, username: str | None):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user is named {username!r}")
        return user

    # --- expiry ---------------------------------------------------------------------------------

    def do_expiring(self, *, days=90, region=None, today=None, **options):
        day = _day(today, "--today") or timezone.localdate()
        if region and not Region.objects.filter(code=region).exists():
            raise CommandError(f"--region {region}: no region has this code")
        rows = services.expiring(days, today=day, region=region)
        count = 0
        for designation in rows:
            count += 1
            left = (designation.last_valid_day - day).days
            batch = f" batch {designation.batch}" if designation.batch else ""
            self.stdout.write(f"{designation.last_valid_day:%Y-%m-%d}\t{left:>4} days\t{designation.type.code}"
                              f"{batch}\t{designation.organisation.key}\t{designation.organisation}")
        where = f" in {region}" if region else ""
        self.stdout.write(f"{count} designations{where} run out within {days} days of {day:%Y-%m-%d}")

    def do_expire(self, *, today=None, **options):
        marked = services.expire_lapsed(_day(today, "--today"))
        self.stdout.write(f"{marked} designations marked expired")

    # --- the review queue ------------------------------------------------------------------------

    def do_queue(self, *, import_id=None, **options):
        rows = ImportCandidate.objects.filter(status=CandidateStatus.PENDING).select_related("designation_import")
        if import_id is not None:
            rows = rows.filter(designation_import_id=import_id)
        count = 0
        for candidate in rows.order_by("designation_import_id", "row"):
            count += 1
            self.stdout.write(f"{candidate.pk}\timport {candidate.designation_import_id} row {candidate.row}\t"
                              f"{candidate.name}\t{candidate.get_reason_display()}")
            for entry in candidate.candidates:
                self.stdout.write(f"\t\t{entry['similarity']:.2f} {entry['organisation']} {entry['name']}")
        self.stdout.write(f"{count} rows wait for review")

    def do_confirm(self, *, candidate, link=None, create=False, dismiss=None, region=None, key=None, date=None,
                   **options):
        row = ImportCandidate.objects.filter(pk=candidate).first()
        if row is None:
            raise CommandError(f"no queued row has the id {candidate}")
        day = _day(date, "--date")
        dates = {"granted_on": day} if row.stage == Stage.FINAL else {"publicised_on": day}
        if link:
            organisation = Organisation.objects.filter(key=link).first()
            if organisation is None:
                raise CommandError(f"--link {link}: no organisation has this key")
            done = importer.link_candidate(row, organisation, **dates)
        elif create:
            place = None
            if region:
                place = Region.objects.filter(code=region).first()
                if place is None:
                    raise CommandError(f"--region {region}: no region has this code")
            done = importer.create_from_candidate(row, region=place, key=key, **dates)
        else:
            done = importer.dismiss_candidate(row, comment=dismiss)
        who = f" → {done.organisation.key}" if done.organisation_id else ""
        granted = f", designation {done.designation_id}" if done.designation_id else ""
        self.stdout.write(f"row {done.row} {done.name}: {done.get_status_display()}{who}{granted}")

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from kechuang.notifications.reminders import send_reminders


class Command(BaseCommand):
    help = ("Send the reminders that are due today: calls closing, reviews due or overdue, statistics not "
            "reported (docs/notifications.md). Each is sent once; running again sends only what is new. "
            "Meant to run daily from cron or a systemd timer.")

    def add_arguments(self, parser):
        parser.add_argument("--today", metavar="YYYY-MM-DD",
                            help="the day to remind for (default: today in Asia/Shanghai)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be sent; send and write nothing")

    def handle(self, *args, today=None, dry_run=False, **options):
        if today:
            try:
                day = dt.date.fromisoformat(today)
            except ValueError:
                raise CommandError(f"--today {today!r}: give a date as YYYY-MM-DD, e.g. 2023-03-13") from None
        else:
            day = timezone.localdate()
        outcome = send_reminders(day, dry_run=dry_run)
        verb = "would send" if dry_run else "sent"
        for name in outcome.sent:
            line = f"{name}: {verb} {outcome.sent[name]}, already sent {outcome.already_sent[name]}"
            if name in outcome.failed:
                line += f"; FAILED: {outcome.failed[name]}"
            self.stdout.write(line)
        self.stdout.write(f"{day.isoformat()}: {verb} {outcome.total_sent}, "
                          f"already sent {outcome.total_already_sent}")
        if outcome.failed:
            raise CommandError(f"{len(outcome.failed)} reminder source(s) failed: {', '.join(outcome.failed)}")

"""Reminders: what is due, found once a day (`kechuang remind`, from cron or a systemd timer).

A reminder source is a function `source(today: date)` that yields `Reminder`s: who to
remind of what, and the key that makes it one reminder ("call:3:closing:17"). The run
hands each to `services.notify`; a reminder whose key the recipient already has is not
sent again, so running twice a day, or again after a crash, is harmless.

The sources are named here by dotted path (`SOURCES`) and imported when a run starts, so
an app's reminders need no start-up hook and this module imports no app. A deployment
may replace the list with the setting `NOTIFICATION_REMINDER_SOURCES`; code (a plugin, a
test) may add a source with `register`.
"""

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .models import Notification
from .services import notify

log = logging.getLogger("kechuang.notifications")

#: The reminder sources, in the order they run.
SOURCES = [
    # Calls closing within 3 days: the applicants that still have a draft in them.
    "kechuang.programs.reminders.calls_closing",
    # Reviews due within 2 days, or overdue: their reviewers.
    "kechuang.programs.reminders.reviews_due",
    # Project progress reports (项目进度报告) due within a week, or overdue: the applicant's users.
    "kechuang.programs.reminders.progress_reports_due",
    # Designations expiring within 90 days, and again within 30: the enterprises' users.
    "kechuang.designations.reminders.designations_expiring",
    # Statistics not reported for the last complete month (1-N月累计): the enterprises' users.
    "kechuang.statistics.reminders.reports_due",
]

Source = Callable[[dt.date], Iterable["Reminder"]]
_registered: list[Source] = []


@dataclass(frozen=True)
class Reminder:
    """One reminder to one user; `key` names what it is about, so it is sent once."""

    recipient: object
    kind: str
    key: str
    subject: str
    body: str
    link: str = ""


def register(source: Source) -> Source:
    """Add a reminder source to every run (usable as a decorator)."""
    if source not in _registered:
        _registered.append(source)
    return source


def unregister(source: Source) -> None:
    if source in _registered:
        _registered.remove(source)


def sources() -> list[Source]:
    """The sources of a run: those named in `SOURCES` (or the setting), then those registered."""
    found = []
    for path in getattr(settings, "NOTIFICATION_REMINDER_SOURCES", SOURCES):
        try:
            found.append(import_string(path))
        except ImportError as error:
            raise ImproperlyConfigured(f"reminder source {path!r} cannot be imported: {error}") from None
    return [*found, *(source for source in _registered if source not in found)]


def source_name(source: Source) -> str:
    return f"{source.__module__}.{source.__qualname__}"


@dataclass
class Outcome:
    """What a run did: per source, how many reminders were new and how many already sent."""

    sent: dict[str, int] = field(default_factory=dict)
    already_sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    @property
    def total_already_sent(self) -> int:
        return sum(self.already_sent.values())


def send_reminders(today: dt.date, *, dry_run: bool = False) -> Outcome:
    """Run every source for `today` and notify each reminder once. With `dry_run`, count
    what would be sent and write nothing. A source that fails is logged and reported; the
    others still run, so one broken source does not silence the rest."""
    outcome = Outcome()
    seen: set[tuple[int, str]] = set()
    for source in sources():
        name = source_name(source)
        outcome.sent[name] = outcome.already_sent[name] = 0
        try:
            for reminder in source(today):
                if _deliver(reminder, dry_run, seen):
                    outcome.sent[name] += 1
                else:
                    outcome.already_sent[name] += 1
        except Exception as error:  # a broken source is reported, the run goes on with the next
            log.exception("reminder source %s failed", name)
            outcome.failed[name] = f"{type(error).__name__}: {error}"
    return outcome


def _deliver(reminder: Reminder, dry_run: bool, seen: set[tuple[int, str]]) -> bool:
    """Whether the reminder is (or, in a dry run, would be) new to its recipient."""
    if dry_run:
        mark = (reminder.recipient.pk, reminder.key)
        new = mark not in seen and not Notification.objects.filter(
            recipient=reminder.recipient, key=reminder.key).exists()
        seen.add(mark)
        return new
    _, created = notify(reminder.recipient, kind=reminder.kind, key=reminder.key, subject=reminder.subject,
                        body=reminder.body, link=reminder.link)
    return created

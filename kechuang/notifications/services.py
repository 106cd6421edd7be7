"""Telling users what happened and what is due: one in-app notification per recipient and
event, emailed once when the user has an address.

`notify` is what the other apps call, inside their own transaction. The row is written
with that transaction, so an action that rolls back tells no one; the email goes out
only after the commit (`transaction.on_commit`), so no one is emailed about an action
that did not happen. A mail server that fails is recorded on the row (`email_error`)
and logged; it never undoes or breaks the action that caused the notification.

"Sent once" is the database's rule (one row per recipient and `key`): a second `notify`
with the same key, from a retry, a reminder run twice or a concurrent worker, finds the
row and sends nothing.
"""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from kechuang.accounts.models import Grant, Role
from kechuang.errors import RoleRefusal

from .models import Notification, NotificationKind

log = logging.getLogger("kechuang.notifications")

SUBJECT_LENGTH = Notification._meta.get_field("subject").max_length
KEY_LENGTH = Notification._meta.get_field("key").max_length
LINK_LENGTH = Notification._meta.get_field("link").max_length


class NotificationError(ValidationError):
    """A notification that cannot be written; `field` names what was wrong."""

    def __init__(self, field: str, message: str):
        super().__init__({field: [message]})
        self.field = field
        self.reason = message


class NotAllowed(NotificationError, RoleRefusal):
    """Someone acting on another user's notification."""


# --- writing -----------------------------------------------------------------------------


_silenced: ContextVar[str] = ContextVar("kechuang_notifications_silenced", default="")


@contextmanager
def silenced(why: str) -> Iterator[None]:
    """Tell nobody about what happens inside: records loaded from a world file replay the
    past (a project approved in 2023), they are not news for anyone's inbox."""
    token = _silenced.set(why)
    try:
        yield
    finally:
        _silenced.reset(token)


def notify(recipient, *, kind: str, key: str, subject: str, body: str,
           link: str = "") -> tuple[Notification | None, bool]:
    """Put a notification in `recipient`'s inbox unless one with this `key` is there already,
    and email it after the commit. Returns the row and whether it was new (None and False
    inside `silenced`)."""
    _check(kind, key, link)
    if _silenced.get():
        log.info("not notifying %s of %s: %s", recipient, key, _silenced.get())
        return None, False
    # A mail header is one line; a title typed with a line break must not break the email.
    subject = " ".join(subject.split())
    if len(subject) > SUBJECT_LENGTH:
        subject = subject[:SUBJECT_LENGTH - 1] + "…"
    # A savepoint: a concurrent insert of the same key (IntegrityError, which get_or_create
    # answers by reading the other row) must not spoil the caller's transaction.
    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            recipient=recipient, key=key, defaults={"kind": kind, "subject": subject, "body": body, "link": link})
    if created and recipient.is_active and recipient.email:
        transaction.on_commit(partial(send_email, notification.pk), robust=True)
    return notification, created


def notify_many(recipients: Iterable, *, kind: str, key: str, subject: str, body: str,
                link: str = "") -> list[tuple[Notification, bool]]:
    """`notify` each recipient once (a user named twice, say as applicant's user and as the
    one who acted, is told once)."""
    seen, results = set(), []
    for recipient in recipients:
        if recipient is None or recipient.pk in seen:
            continue
        seen.add(recipient.pk)
        results.append(notify(recipient, kind=kind, key=key, subject=subject, body=body, link=link))
    return results


def _check(kind: str, key: str, link: str) -> None:
    if kind not in NotificationKind.values:
        raise NotificationError("kind", f"{kind!r} is not a kind of notification; the kinds are "
                                        f"{', '.join(NotificationKind.values)}")
    if not key or not key.strip() or len(key) > KEY_LENGTH:
        raise NotificationError("key", f"a notification needs a key of 1 to {KEY_LENGTH} characters naming its event")
    if link and (not link.startswith("/") or link.startswith("//") or len(link) > LINK_LENGTH):
        raise NotificationError("link", f"{link[:100]!r}: a link is a path on this site, starting with a single /")


# --- email -------------------------------------------------------------------------------


def send_email(notification_id: int) -> bool:
    """Email one notification to its recipient and record how it went. Never raises: it runs
    after the action has committed, which a mail server's failure must not disturb."""
    notification = (Notification.objects.select_related("recipient")
                    .filter(pk=notification_id, emailed_at__isnull=True).first())
    if notification is None or not notification.recipient.email:
        return False
    message = EmailMessage(subject=notification.subject, body=email_body(notification),
                           from_email=settings.DEFAULT_FROM_EMAIL, to=[notification.recipient.email])
    try:
        message.send()
    except Exception as error:  # whatever the backend raises (SMTP, DNS, a full disk) is recorded, not raised
        reason = f"{type(error).__name__}: {error}"[:2000]
        log.warning("notification %s to %s not emailed: %s", notification.key,
                    notification.recipient.get_username(), reason)
        Notification.objects.filter(pk=notification.pk).update(email_error=reason)
        return False
    Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now(), email_error="")
    log.info("notification %s emailed to %s", notification.key, notification.recipient.get_username())
    return True


def email_body(notification: Notification) -> str:
    """The notification's text, with its link made absolute when the site's address is known."""
    lines = [notification.body.rstrip()]
    if notification.link:
        lines += ["", f"{getattr(settings, 'SITE_URL', '').rstrip('/')}{notification.link}"]
    lines += ["", "—", "科创 kechuang. 此通知也在您的站内消息中 This notice is also in your inbox."]
    return "\n".join(lines) + "\n"


# --- reading -----------------------------------------------------------------------------


def inbox(user):
    """The user's own notifications, newest first; nobody else's, whatever their role."""
    if user is None or not user.is_authenticated:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user)


@transaction.atomic
def mark_read(notification: Notification, *, by) -> Notification:
    """The recipient has read it (read again: the first reading counts)."""
    if by is not None and by.pk != notification.recipient_id:
        raise NotAllowed("recipient", "only its recipient marks a notification read")
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
    notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def mark_all_read(user) -> int:
    """Every unread notification of `user` is read now; how many were unread."""
    return inbox(user).filter(read_at__isnull=True).update(read_at=timezone.now())


# --- who is told -------------------------------------------------------------------------


def enterprise_users(organisation_ids: Iterable[int]) -> dict[int, list]:
    """The people of each organisation: active users holding an active enterprise-user grant
    (企业用户) on it, in one query. An organisation with none is left out."""
    grants = (Grant.objects.active()
              .filter(role=Role.ENTERPRISE_USER, organisation_id__in=organisation_ids, user__is_active=True)
              .select_related("user").order_by("organisation_id", "user_id"))
    users: dict[int, list] = {}
    seen = set()
    for grant in grants:
        if (grant.organisation_id, grant.user_id) not in seen:  # two grants of the same role: told once
            seen.add((grant.organisation_id, grant.user_id))
            users.setdefault(grant.organisation_id, []).append(grant.user)
    return users


def users_of(organisation) -> list:
    """The people of one organisation (see enterprise_users): an applicant's users."""
    return enterprise_users([organisation.pk]).get(organisation.pk, [])

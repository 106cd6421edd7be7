"""Notifications (通知): what kechuang told a user, in their in-app inbox and by email.

A notification is written once per recipient and `key`, a stable name of the event it
reports ("project:12:submit:57", "review:8:overdue"). The database holds that rule
(`notification_once_per_key`), so an action retried, a reminder run twice or two
workers racing still tell a user once. The row is the log: when it was made, whether
and when it was emailed, and why an email failed.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    SUBMISSION_RECEIPT = "submission_receipt", "submission receipt 申报回执"
    REVIEW_ASSIGNED = "review_assigned", "review assigned 评审任务"
    DECISION = "decision", "decision 审批结果"
    DEADLINE = "deadline", "approaching deadline 截止提醒"
    REPORT_DUE = "report_due", "report due 报送提醒"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    key = models.CharField(max_length=200, help_text='What it reports, e.g. "project:12:submit:57": sent once per key.')
    subject = models.CharField(max_length=300)
    body = models.TextField(help_text="Plain text.")
    link = models.CharField(max_length=500, blank=True, help_text="Where to act: a URL on this site, e.g. /api/v1/…")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.TextField(blank=True, help_text="Why the email could not be sent (the inbox still has it).")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_key"),
            models.CheckConstraint(condition=~Q(key=""), name="notification_has_key"),
        ]
        indexes = [
            # The inbox: one user's notifications, newest first, unread ones among them.
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.subject}"

    @property
    def unread(self) -> bool:
        return self.read_at is None

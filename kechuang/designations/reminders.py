"""The designations' reminder source (kechuang/notifications/reminders.py runs it daily):

- `designations_expiring`: a final designation whose validity runs out within
  `EXPIRY_NOTICE_DAYS` days → the enterprise's users, once at 90 days and once more at
  30, so there is time for a re-review (复核) or a new application. The key names the day
  the validity runs out: a re-review that extends it starts the reminders afresh.
"""

import datetime as dt
from collections.abc import Iterator

from django.urls import reverse

from kechuang.notifications.models import NotificationKind
from kechuang.notifications.reminders import Reminder
from kechuang.notifications.services import enterprise_users

from .services import expiring

#: Reminded when the validity runs out within this many days; again at the second, nearer mark.
EXPIRY_NOTICE_DAYS = (90, 30)


def designations_expiring(today: dt.date) -> Iterator[Reminder]:
    """The users of each enterprise whose designation's validity runs out within 90 days (and
    again within 30)."""
    designations = list(expiring(max(EXPIRY_NOTICE_DAYS), today=today))
    users = enterprise_users({designation.organisation_id for designation in designations})
    for designation in designations:
        last_day = designation.last_valid_day
        left = (last_day - today).days
        mark = min(days for days in EXPIRY_NOTICE_DAYS if left <= days)
        name = designation.type.name_zh
        if designation.type.re_review_years:
            advice_zh = "请按通知及时申请复核。"
            advice_en = "Apply for its re-review (复核) in time, as the notice says."
        else:
            advice_zh = "到期后需重新申请认定。"
            advice_en = "After it expires, the enterprise applies again."
        body = (f"{designation.organisation}的{name}（{designation.get_level_display()}"
                f"{f'，第{designation.batch}批' if designation.batch else ''}）有效期至 {last_day:%Y-%m-%d}，"
                f"还有 {left} 天。{advice_zh}\n"
                f"The {designation.type.name_en} designation of {designation.organisation} is valid until "
                f"{last_day:%Y-%m-%d}, {left} days from now. {advice_en}")
        for user in users.get(designation.organisation_id, []):
            yield Reminder(user, NotificationKind.DEADLINE,
                           f"designation:{designation.pk}:expiring:{designation.valid_until:%Y-%m-%d}:{mark}",
                           f"资质即将到期 Designation expiring {last_day:%Y-%m-%d}: {name}", body,
                           reverse("designation", args=[designation.pk]))

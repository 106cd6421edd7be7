"""The statistics' reminder source (kechuang/notifications/reminders.py runs it daily).

`reports_due`: enterprises that have not reported the figures due, reminded through their
users, once per enterprise and period.

The rule:
- The period due is the year to date through the last complete month, as the statistics
  bureau collects it (1-N月累计, domain-rules.md §6.1): on 2023-09-04 that is
  2023-01..2023-08; in January it is the whole previous year, 2022-01..2022-12.
- Who must report it, and what is missing, is exactly the bureau's completeness list
  (`services.missing_reports`): enterprises above designated size without a current
  actual figure of every required metric for that period. A reminder says what the
  bureau's list says, and changing that rule changes both.
- Only where a bureau collects figures in kechuang: the region subtrees of the active
  bureau-admin grants. An enterprise in a district whose bureau does not use kechuang is
  not asked for anything.
"""

import datetime as dt
from collections.abc import Iterator

from kechuang.accounts.models import Grant, Role
from kechuang.notifications.models import NotificationKind
from kechuang.notifications.reminders import Reminder
from kechuang.notifications.services import enterprise_users
from kechuang.registry.models import Region

from .models import Metric
from .periods import Period
from .services import missing_reports


def period_due(today: dt.date) -> Period:
    """The year to date through the last month that ended before `today` (1-N月)."""
    if today.month == 1:
        return Period.of_months(today.year - 1, 1, 12)
    return Period.of_months(today.year, 1, today.month - 1)


def collecting_regions() -> list[Region]:
    """The regions whose bureau works in kechuang, without those inside another of them
    (Tongzhou's enterprises are in Nantong's list already)."""
    regions = sorted(Region.objects.filter(pk__in=Grant.objects.active().filter(role=Role.BUREAU_ADMIN)
                                           .values("region_id")), key=lambda region: region.path)
    outermost: list[Region] = []
    for region in regions:
        if not any(region.path.startswith(outer.path) for outer in outermost):
            outermost.append(region)
    return outermost


def reports_due(today: dt.date) -> Iterator[Reminder]:
    """The users of enterprises that have not reported every required metric for the period due."""
    period = period_due(today)
    missing = {organisation.pk: (organisation, codes)
               for region in collecting_regions() for organisation, codes in missing_reports(region, period)}
    if not missing:
        return
    names = {metric.code: metric.name_zh for metric in Metric.objects.filter(code__in={
        code for _, codes in missing.values() for code in codes})}
    users = enterprise_users(missing)
    for organisation_id, (organisation, codes) in missing.items():
        listed = "、".join(f"{names.get(code, code)}（{code}）" for code in codes)
        body = (f"{organisation}尚未报送{period.label('zh')}的统计数据：{listed}。请登录科创平台报送。\n"
                f"{organisation} has not yet reported these figures for {period.label('en')} ({period.code}): "
                f"{', '.join(codes)}. Please report them.")
        for user in users.get(organisation_id, []):
            yield Reminder(user, NotificationKind.REPORT_DUE, f"statistics:{period.code}:{organisation_id}",
                           f"统计数据待报送 Statistics due, {period.label('zh')}: {organisation}", body,
                           "/statistics/report/")

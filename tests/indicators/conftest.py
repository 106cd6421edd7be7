"""A small world for the indicator tests.

Nantong (320600) with two districts. In Tongzhou (320612): a zone with a park inside it,
`parked` in the park, `zoned` in the zone directly, `plain` and `small` (below designated
size) elsewhere in the district. In Chongchuan (320602): `rival`. `mover` was in Chongchuan
until 2023-03-01 and is in Tongzhou since. The catalogues of metrics and indicators are
loaded; `figure(...)` records an approved observation through the statistics service.
"""

import datetime as dt
from decimal import Decimal

import pytest

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.indicators.services import load_catalogue as load_indicators
from kechuang.registry import services as registry
from kechuang.statistics.models import ObservationStatus
from kechuang.statistics.services import load_catalogue as load_metrics
from kechuang.statistics.services import record_observation

TODAY = dt.date(2026, 11, 25)


@pytest.fixture
def world(db, django_user_model):
    load_metrics()
    load_indicators()
    jiangsu = registry.save_region("320000", level="province", name_zh="江苏省", name_en="Jiangsu")[0]
    nantong = registry.save_region("320600", level="city", name_zh="南通市", name_en="Nantong", parent=jiangsu)[0]
    tongzhou = registry.save_region("320612", level="district", name_zh="通州区", name_en="Tongzhou",
                                    parent=nantong)[0]
    chongchuan = registry.save_region("320602", level="district", name_zh="崇川区", name_en="Chongchuan",
                                      parent=nantong)[0]
    since = dt.date(2015, 1, 1)
    found = {"jiangsu": jiangsu, "nantong": nantong, "tongzhou": tongzhou, "chongchuan": chongchuan}

    def organisation(key, kind="enterprise", region=tongzhou, within=None, above=True, start=since):
        row = registry.save_organisation(key, kind=kind, name_zh=f"{key}公司", above_designated_size=above)[0]
        registry.move_organisation(row, region, within=within, since=start)
        found[key] = row
        return row

    zone = organisation("zone", kind="zone", above=False)
    park = organisation("park", kind="park", within=zone, above=False)
    organisation("parked", within=park)
    organisation("zoned", within=zone)
    organisation("plain")
    organisation("small", above=False)
    organisation("rival", region=chongchuan)
    mover = organisation("mover", region=chongchuan)
    registry.move_organisation(mover, tongzhou, since=dt.date(2023, 3, 1))
    for name, role, scope in (("bureau", Role.BUREAU_ADMIN, {"region": tongzhou}),
                              ("analyst", Role.ANALYST, {"region": nantong}),
                              ("owner", Role.ENTERPRISE_USER, {"organisation": found["plain"]})):
        found[name] = django_user_model.objects.create_user(name)
        grant_role(found[name], role, by=None, **scope)
    return found


@pytest.fixture
def figure():
    """figure(subject, metric, period, value, status="approved") through record_observation."""

    def record(subject, metric, period, value, status=ObservationStatus.APPROVED, unit=None):
        return record_observation(subject, metric, period, Decimal(str(value)), status=status, unit=unit,
                                  today=TODAY)

    return record

"""A small world for the designation tests: Jiangsu › Nantong › Tongzhou and Chongchuan, a
zone in Tongzhou, two enterprises in Tongzhou (one in the zone, one with a former name), one
in Chongchuan, a university; the bureau of each district, an analyst, each firm's own user,
the zone's manager. The shipped designation types are loaded by `migrate`."""

import datetime as dt

import pytest

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.designations import services
from kechuang.registry import services as registry
from kechuang.registry import uscc

#: A day after every date the tests use, so that "not in the future" never gets in the way.
TODAY = dt.date(2026, 11, 25)


def code(identifier: int, region: str = "320612") -> str:
    """A valid USCC for a test enterprise (entity identifier 0000xxxx, as the demo's)."""
    return uscc.make("91" + region, f"0000{identifier:04d}")


@pytest.fixture
def place(db, django_user_model):
    jiangsu = registry.save_region("320000", level="province", name_zh="江苏省")[0]
    nantong = registry.save_region("320600", level="city", name_zh="南通市", parent=jiangsu)[0]
    tongzhou = registry.save_region("320612", level="district", name_zh="通州区", parent=nantong)[0]
    chongchuan = registry.save_region("320602", level="district", name_zh="崇川区", parent=nantong)[0]
    zone = registry.save_organisation("zone", kind="zone", name_zh="南通高新区")[0]
    registry.move_organisation(zone, tongzhou, since=dt.date(2000, 1, 1))
    orgs = {"zone": zone}
    for key, name, region, identifier, within in (
            ("firm", "南通星河精密仪器有限公司", tongzhou, 1, zone),
            ("maker", "江苏海纳新材料股份有限公司", tongzhou, 2, None),
            ("rival", "南通瑞丰智能装备有限公司", chongchuan, 3, None),
            ("university", "南通示例大学", chongchuan, 4, None)):
        kind = "university" if key == "university" else "enterprise"
        orgs[key] = registry.save_organisation(key, kind=kind, name_zh=name,
                                               uscc=code(identifier, region.code))[0]
        registry.move_organisation(orgs[key], region, within=within, since=dt.date(2010, 1, 1))
    registry.save_organisation("maker", aliases=[{"name": "南通海纳材料厂", "kind": "former"}])
    users = {}
    for name, role, scope in (("bureau", Role.BUREAU_ADMIN, {"region": tongzhou}),
                              ("other_bureau", Role.BUREAU_ADMIN, {"region": chongchuan}),
                              ("city_bureau", Role.BUREAU_ADMIN, {"region": nantong}),
                              ("analyst", Role.ANALYST, {"region": tongzhou}),
                              ("owner", Role.ENTERPRISE_USER, {"organisation": orgs["firm"]}),
                              ("rival_owner", Role.ENTERPRISE_USER, {"organisation": orgs["rival"]}),
                              ("zone_manager", Role.PARK_MANAGER, {"organisation": zone})):
        users[name] = django_user_model.objects.create_user(name)
        grant_role(users[name], role, by=None, **scope)
    return {"jiangsu": jiangsu, "nantong": nantong, "tongzhou": tongzhou, "chongchuan": chongchuan, **orgs, **users}


def grant(place, firm="firm", type_code="little-giant", **fields):
    """A designation of `firm`, final on 2023-06-28 unless told otherwise, recorded by the operator."""
    fields.setdefault("today", TODAY)
    if fields.get("stage") != "publicity":
        fields.setdefault("granted_on", dt.date(2023, 6, 28))
    return services.grant(place[firm], type_code, **fields)

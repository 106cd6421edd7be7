"""A small world for the programme tests: Tongzhou and Chongchuan, an enterprise in each,
a university outside Tongzhou and an institute inside it, the bureau of each district,
the firm's own user, and two experts (one from the university). A call of Tongzhou
open from 2023-01-01 09:00 to 2023-03-15 17:00, Asia/Shanghai."""

import datetime as dt

import pytest

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.programs import services
from kechuang.registry import services as registry

SHANGHAI = services.SHANGHAI
CATEGORIES = ["普通科创项目", "高成长型科创项目"]
CRITERIA = [{"name": "创新性", "max": 40}, {"name": "可行性", "max": 30}, {"name": "效益", "max": 30}]


def local(*args) -> dt.datetime:
    """A moment in Asia/Shanghai: local(2023, 6, 30, 23, 59)."""
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def place(db, django_user_model):
    jiangsu = registry.save_region("320000", level="province", name_zh="江苏省")[0]
    nantong = registry.save_region("320600", level="city", name_zh="南通市", parent=jiangsu)[0]
    tongzhou = registry.save_region("320612", level="district", name_zh="通州区", parent=nantong)[0]
    chongchuan = registry.save_region("320602", level="district", name_zh="崇川区", parent=nantong)[0]
    orgs = {}
    for key, kind, region in (("firm", "enterprise", tongzhou), ("rival", "enterprise", chongchuan),
                              ("university", "university", chongchuan), ("institute", "institute", tongzhou),
                              ("park", "park", tongzhou)):
        orgs[key] = registry.save_organisation(key, kind=kind, name_zh=f"{key}单位")[0]
        registry.move_organisation(orgs[key], region, since=dt.date(2015, 1, 1))
    users = {}
    for name, role, scope in (("bureau", Role.BUREAU_ADMIN, {"region": tongzhou}),
                              ("other_bureau", Role.BUREAU_ADMIN, {"region": chongchuan}),
                              ("analyst", Role.ANALYST, {"region": tongzhou}),
                              ("owner", Role.ENTERPRISE_USER, {"organisation": orgs["firm"]}),
                              ("rival_owner", Role.ENTERPRISE_USER, {"organisation": orgs["rival"]}),
                              ("expert", Role.REVIEWER, {}), ("professor", Role.REVIEWER, {})):
        users[name] = django_user_model.objects.create_user(name)
        grant_role(users[name], role, by=None, **scope)
    services.register_expert(users["expert"], expertise="新材料")
    services.register_expert(users["professor"], affiliation=orgs["university"], expertise="机械")
    call = services.open_call(tongzhou, key="tongzhou-2023", programme_zh="2023年通州区科技创新项目",
                              categories=CATEGORIES, criteria=CRITERIA, opens=local(2023, 1, 1, 9, 0),
                              closes=local(2023, 3, 15, 17, 0), review_days=10)
    return {"tongzhou": tongzhou, "chongchuan": chongchuan, "nantong": nantong, "call": call, **orgs, **users}


def draft(place, applicant="firm", **fields):
    """A draft innovation project of the firm in the call, unless told otherwise."""
    fields.setdefault("kind", "innovation")
    if fields["kind"] == "innovation":
        fields.setdefault("call", place["call"])
        fields.setdefault("category", CATEGORIES[0])
    fields.setdefault("title_zh", "智能传感器研发")
    return services.create_project(place[applicant], **fields)


def walk(project, *steps, at=None, by=None):
    """Take each transition in turn, a day apart from 2023-02-01 10:00 local unless `at` is given."""
    moment = at or local(2023, 2, 1, 10, 0)
    for name in steps:
        services.take(project, name, by=by, at=moment, comment="reason" if name in services.NEED_COMMENT else "")
        moment += dt.timedelta(days=1)
    return project

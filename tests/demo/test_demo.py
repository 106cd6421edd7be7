"""The demo world holds every entity and fact of the seed article, each with its source."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction

from kechuang.demo.builder import build_demo, tongzhou_towns
from kechuang.demo.synthetic import synthetic_world
from kechuang.registry import uscc
from kechuang.registry.models import (
    Capacity,
    Contact,
    Location,
    Milestone,
    Organisation,
    Ownership,
    Phase,
    Region,
)

ARTICLE = "tongzhou-innovation-2023-09-04"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Build the demo once for this module, inside a transaction rolled back at the end."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            log = list(build_demo())
            yield log
            transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def org(key):
    return Organisation.objects.get(key=key)


def test_tongzhou_sits_in_nantong_in_jiangsu(demo):
    tongzhou = Region.objects.get(code="320612")
    assert [r.name_zh for r in tongzhou.ancestors()] == ["江苏省", "南通市"]
    assert tongzhou.name_en == "Tongzhou District"
    assert len(tongzhou_towns()) == 17


def test_the_high_tech_zone_is_in_tongzhou(demo):
    zone = org("nantong-high-tech-zone")
    assert zone.kind == "zone" and zone.name_zh == "南通国家高新技术产业开发区"
    assert zone.name_en == "Nantong National High-tech Industrial Development Zone"
    assert "南通高新区" in zone.aliases.values_list("name", flat=True)
    assert zone.current_location.region.code == "320612"


def test_zhongkeyi_is_in_the_zone_since_2020(demo):
    firm = org("zhongkeyi-nantong")
    assert firm.name_zh == "中科仪(南通)半导体设备有限责任公司"
    assert firm.name_en == "Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd"
    location = firm.current_location
    assert location.region.code == "320612" and location.within.key == "nantong-high-tech-zone"
    assert str(location.since) == "2020"
    assert firm in Organisation.objects.within(org("nantong-high-tech-zone"))
    assert firm in Organisation.objects.in_region("320600")
    assert "semiconductor-equipment" in firm.sectors.values_list("code", flat=True)
    assert "12-inch wafer fabs" in firm.description_en and "dry vacuum pumps" in firm.description_en


def test_zhongkeyi_is_wholly_owned_by_sky_technology_outside_the_region(demo):
    ownership = Ownership.objects.get(organisation__key="zhongkeyi-nantong")
    assert ownership.owner.key == "sky-technology" and ownership.wholly_owned
    parent = ownership.owner
    assert parent.name_en == "Sky Technology Development Co Ltd"
    assert parent.name_zh == "中国科学院沈阳科学仪器股份有限公司"
    assert not Location.objects.filter(organisation=parent).exists()
    assert parent not in Organisation.objects.in_region("320612")


def test_zhongkeyi_milestones_arrival_2020_and_trial_production_november_2022(demo):
    milestones = {m.kind: m for m in Milestone.objects.filter(organisation__key="zhongkeyi-nantong")}
    assert str(milestones["arrived"].when) == "2020"
    trial = milestones["trial_production"]
    assert str(trial.when) == "2022-11" and trial.date == dt.date(2022, 11, 1)


def test_zhongkeyi_capacity_is_13000_units_a_year(demo):
    capacity = Capacity.objects.get(organisation__key="zhongkeyi-nantong")
    assert capacity.quantity == Decimal("13000") and capacity.unit == "units" and capacity.per == "year"
    assert capacity.product_en == "Dry vacuum pumps" and capacity.as_of == dt.date(2023, 9, 4)


def test_the_quoted_managers_are_contacts(demo):
    jin = Contact.objects.get(name_en="Jin Xue")
    liu = Contact.objects.get(name_en="Liu Jiaying")
    assert jin.organisation.key == "zhongkeyi-nantong" and jin.role_en == "Assistant general manager"
    assert liu.organisation.key == "hengli-nantong-industrial-park" and liu.role_en == "Deputy general manager"


def test_hengli_park_has_reached_phase_three_and_opens_phase_four_at_year_end(demo):
    park = org("hengli-nantong-industrial-park")
    assert park.kind == "park" and not park.name_zh_verified
    assert park.current_location.region.code == "320612"
    phases = {p.number: p for p in Phase.objects.filter(park=park)}
    assert sorted(phases) == [1, 2, 3, 4]
    assert phases[3].status == "operating"
    assert phases[4].status == "construction"
    assert (phases[4].operation_start, phases[4].operation_start_precision) == (dt.date(2023, 12, 1), "month")


def test_every_real_fact_names_its_source(demo):
    real = Organisation.objects.filter(synthetic=False)
    assert real.count() == 4
    for model, field in [(Location, "organisation"), (Ownership, "organisation"), (Phase, "park"),
                         (Milestone, "organisation"), (Capacity, "organisation"), (Contact, "organisation")]:
        rows = model.objects.filter(**{f"{field}__in": real})
        assert rows.exists(), model
        assert not rows.filter(source__isnull=True).exists(), model
    assert not real.filter(source__isnull=True).exists()
    assert set(Milestone.objects.filter(organisation__in=real).values_list("source__key", flat=True)) == {ARTICLE}


def test_synthetic_organisations_are_marked_and_valid(demo):
    synthetic = Organisation.objects.filter(synthetic=True)
    assert synthetic.count() >= 100
    assert all(o.name_zh.endswith("(demo)") and o.name_en.endswith("(demo)") for o in synthetic)
    assert all(uscc.check(o.uscc).valid for o in synthetic)
    assert not Organisation.objects.filter(synthetic=False, name_en__endswith="(demo)").exists()
    tongzhou = Organisation.objects.in_region("320612").filter(synthetic=True, kind="enterprise")
    assert tongzhou.count() == 120
    assert Organisation.objects.within(org("nantong-high-tech-zone")).filter(synthetic=True).exists()
    # every other county-level division of Nantong has enterprises to compare with
    for code in ["320613", "320614", "320623", "320681", "320682", "320685"]:
        assert Organisation.objects.in_region(code).exists(), code


def test_search_finds_zhongkeyi_by_pinyin_initials_and_chinese(demo):
    for query in ("zhongkeyi", "zky", "中科仪"):
        assert org("zhongkeyi-nantong") in Organisation.objects.search(query), query


def test_the_synthetic_world_is_the_same_every_time(demo):
    towns = tongzhou_towns()
    assert synthetic_world(towns, "nantong-high-tech-zone") == synthetic_world(towns, "nantong-high-tech-zone")


def test_building_again_changes_nothing(demo):
    before = {o.key: o.updated_at for o in Organisation.objects.all()}
    list(build_demo())
    assert {o.key: o.updated_at for o in Organisation.objects.all()} == before


def test_demo_if_empty_keeps_existing_data(demo, capsys):
    Organisation.objects.filter(key="zhongkeyi-nantong").update(name_en="Edited by the bureau")
    call_command("demo", "--if-empty")
    assert "leaving it as it is" in capsys.readouterr().out
    assert org("zhongkeyi-nantong").name_en == "Edited by the bureau"


@pytest.mark.parametrize("url", [
    "/admin/registry/organisation/", "/admin/registry/region/", "/admin/registry/location/",
    "/admin/registry/phase/", "/admin/registry/milestone/", "/admin/registry/capacity/",
    "/admin/registry/contact/", "/admin/registry/ownership/", "/admin/registry/source/",
    "/admin/registry/sector/", "/admin/registry/alias/",
])
def test_admin_lists_every_registry_table(demo, admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 200, url


def test_admin_change_page_of_zhongkeyi(demo, admin_client):
    response = admin_client.get(f"/admin/registry/organisation/{org('zhongkeyi-nantong').pk}/change/")
    assert response.status_code == 200
    assert "中科仪(南通)半导体设备有限责任公司" in response.content.decode()


def test_there_is_a_demo_login_for_every_role(demo):
    from django.contrib.auth import get_user_model

    from kechuang.accounts.models import Grant, Role
    from kechuang.accounts.scoping import visible_to
    from kechuang.demo.builder import DEMO_PASSWORD, DEMO_ROLES

    assert {role for _, role, _, _ in DEMO_ROLES} == set(Role.values)
    for username, role, _, _ in DEMO_ROLES:
        user = get_user_model().objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        assert Grant.objects.active().filter(user=user, role=role).exists()
    zhongkeyi = get_user_model().objects.get(username="zhongkeyi")
    assert list(visible_to(Organisation.objects.all(), zhongkeyi).values_list("key", flat=True)) == ["zhongkeyi-nantong"]
    bureau = get_user_model().objects.get(username="bureau")
    assert visible_to(Organisation.objects.all(), bureau).count() == Organisation.objects.in_region("320612").count()

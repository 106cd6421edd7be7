"""Organisations: search in every script, locations over time, zones and parks."""

import datetime as dt

import pytest

from kechuang.registry.models import Location, Organisation, Region
from kechuang.registry.search import build_search_text, pinyin_forms
from kechuang.registry.services import RegistryError, check_no_overlap, move_organisation, save_organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhongkeyi():
    org, _ = save_organisation(
        "zhongkeyi-nantong", kind="enterprise",
        name_zh="中科仪(南通)半导体设备有限责任公司", name_en="Zhongkeyi (Nantong) Semiconductor Equipment Co Ltd",
    )
    return org


def test_pinyin_forms_give_full_pinyin_and_initials():
    assert pinyin_forms("中科仪") == ["zhongkeyi", "zky"]
    assert pinyin_forms("Sky Technology") == []


@pytest.mark.parametrize("query", ["zhongkeyi", "ZKY", "zky", "中科仪", "中科仪（南通）", "semiconductor equipment", "Zhongkeyi (Nantong)"])
def test_search_finds_zhongkeyi_in_every_script(zhongkeyi, query):
    assert list(Organisation.objects.search(query)) == [zhongkeyi]


def test_search_finds_by_alias_and_former_name(zhongkeyi):
    save_organisation("zhongkeyi-nantong", aliases=[{"name": "南通中科", "kind": "former"}])
    assert list(Organisation.objects.search("ntzk")) == [zhongkeyi]
    assert list(Organisation.objects.search("南通中科")) == [zhongkeyi]
    save_organisation("zhongkeyi-nantong", aliases=[])
    assert not Organisation.objects.search("南通中科").exists()


def test_search_by_uscc():
    org, _ = save_organisation("coded", kind="enterprise", name_en="Coded Co", uscc="91320612000000000B")
    assert list(Organisation.objects.search("91320612000000000b")) == [org]


def test_search_does_not_match_across_two_names():
    forms = build_search_text(["甲公司", "乙公司"]).split("|")
    assert {"甲公司", "jiagongsi", "jgs", "乙公司", "yigongsi", "ygs"} == set(forms)
    org, _ = save_organisation("two-names", kind="enterprise", name_zh="甲公司", aliases=[{"name": "乙公司"}])
    assert Organisation.objects.search("乙公司").get() == org
    assert not Organisation.objects.search("jgsyi").exists()


def test_blank_search_returns_everything(zhongkeyi):
    assert Organisation.objects.search("  ").count() == Organisation.objects.count()


def test_saving_an_unchanged_organisation_reports_unchanged(zhongkeyi):
    _, status = save_organisation("zhongkeyi-nantong", kind="enterprise", name_zh=zhongkeyi.name_zh)
    assert status == "unchanged"
    _, status = save_organisation("zhongkeyi-nantong", name_en="Zhongkeyi Nantong")
    assert status == "updated"


def test_an_organisation_needs_a_name():
    with pytest.raises(RegistryError, match="needs a Chinese or an English name"):
        save_organisation("nameless", kind="enterprise")


def test_unknown_kind_is_refused():
    with pytest.raises(RegistryError, match="is not one of"):
        save_organisation("odd", kind="company", name_en="Odd")


def test_unknown_sector_is_refused(zhongkeyi):
    with pytest.raises(RegistryError, match="unknown sector"):
        save_organisation("zhongkeyi-nantong", sectors=["no-such-sector"])


def test_a_move_closes_the_previous_location(divisions, zhongkeyi):
    tongzhou, chongchuan = Region.objects.get(code="320612"), Region.objects.get(code="320613")
    move_organisation(zhongkeyi, chongchuan, since=dt.date(2018, 1, 1))
    move_organisation(zhongkeyi, tongzhou, since=dt.date(2020, 1, 1), since_precision="year")
    first, second = Location.objects.filter(organisation=zhongkeyi).order_by("valid_from")
    assert first.valid_to == dt.date(2020, 1, 1) and second.valid_to is None
    assert str(second.since) == "2020"
    assert zhongkeyi in Organisation.objects.in_region("320612")
    assert zhongkeyi in Organisation.objects.in_region("320613", on=dt.date(2019, 6, 1))
    assert zhongkeyi not in Organisation.objects.in_region("320612", on=dt.date(2019, 6, 1))


def test_a_move_must_come_after_the_current_location(divisions, zhongkeyi):
    tongzhou = Region.objects.get(code="320612")
    move_organisation(zhongkeyi, tongzhou, since=dt.date(2020, 1, 1))
    with pytest.raises(RegistryError, match="must come after"):
        move_organisation(zhongkeyi, tongzhou, since=dt.date(2019, 1, 1))


def test_only_zones_and_parks_contain_organisations(divisions, zhongkeyi):
    other, _ = save_organisation("other", kind="enterprise", name_en="Other Co")
    with pytest.raises(RegistryError, match="only a zone or park"):
        move_organisation(zhongkeyi, Region.objects.get(code="320612"), within=other)


def test_within_includes_tenants_of_parks_inside_the_zone(divisions, zhongkeyi):
    tongzhou = Region.objects.get(code="320612")
    zone, _ = save_organisation("zone", kind="zone", name_en="High-tech Zone")
    park, _ = save_organisation("park", kind="park", name_en="Park in the zone")
    tenant, _ = save_organisation("tenant", kind="enterprise", name_en="Tenant of the park")
    move_organisation(zone, tongzhou, since=dt.date(2010, 1, 1))
    move_organisation(park, tongzhou, within=zone, since=dt.date(2012, 1, 1))
    move_organisation(tenant, tongzhou, within=park, since=dt.date(2015, 1, 1))
    move_organisation(zhongkeyi, tongzhou, within=zone, since=dt.date(2020, 1, 1))
    assert set(Organisation.objects.within(zone)) == {park, tenant, zhongkeyi}
    assert set(Organisation.objects.within(park)) == {tenant}
    assert set(Organisation.objects.within(zone, on=dt.date(2016, 1, 1))) == {park, tenant}


@pytest.mark.parametrize("spans, ok", [
    ([(dt.date(2010, 1, 1), dt.date(2015, 1, 1)), (dt.date(2015, 1, 1), None)], True),
    ([(None, dt.date(2015, 1, 1)), (dt.date(2015, 1, 1), None)], True),
    ([(dt.date(2010, 1, 1), dt.date(2016, 1, 1)), (dt.date(2015, 1, 1), None)], False),
    ([(dt.date(2010, 1, 1), None), (dt.date(2015, 1, 1), None)], False),
])
def test_overlapping_periods_are_refused(spans, ok):
    if ok:
        check_no_overlap(spans, "locations")
    else:
        with pytest.raises(RegistryError, match="overlap"):
            check_no_overlap(spans, "locations")

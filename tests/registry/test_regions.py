"""The region tree: real divisions, the two Tongzhous, subtrees today and in the past."""

import datetime as dt

import pytest

from kechuang.registry.divisions import english_name, load_divisions
from kechuang.registry.models import Organisation, Region, RegionLink
from kechuang.registry.services import (
    AmbiguousRegion,
    RegistryError,
    find_region,
    move_organisation,
    save_organisation,
    save_region,
)

pytestmark = pytest.mark.django_db


def test_division_codes_are_padded_to_six_digits(divisions):
    jiangsu, nantong, tongzhou = (Region.objects.get(code=c) for c in ("320000", "320600", "320612"))
    assert (jiangsu.name_zh, nantong.name_zh, tongzhou.name_zh) == ("江苏省", "南通市", "通州区")
    assert tongzhou.parent == nantong and nantong.parent == jiangsu
    assert tongzhou.path == "320000/320600/320612/"
    assert [r.code for r in tongzhou.ancestors()] == ["320000", "320600"]


def test_tongzhou_has_its_17_real_towns_and_streets(divisions):
    towns = Region.objects.subtree("320612").filter(level="town")
    assert towns.count() == 17
    assert set(towns.values_list("name_zh", flat=True)) >= {"金沙街道", "川姜镇", "环本农场"}


def test_a_second_load_changes_nothing(divisions):
    again = load_divisions(towns=["3206"], provinces=["32", "11"])
    assert again.created == 0 and again.updated == 0 and again.unchanged == divisions.created


def test_bare_name_matching_two_regions_is_an_error_listing_both(divisions):
    with pytest.raises(AmbiguousRegion) as info:
        find_region("通州区")
    message = info.value.reason
    assert "320612" in message and "110112" in message
    assert "南通市" in message and "北京市" in message


@pytest.mark.parametrize("scope, code", [("南通市", "320612"), ("320000", "320612"), ("北京市", "110112"), ("110000", "110112")])
def test_a_scoped_name_finds_one_tongzhou(divisions, scope, code):
    assert find_region("通州区", within=scope).code == code


def test_unknown_names_and_codes_say_so(divisions):
    with pytest.raises(RegistryError, match="no region has the code 999999"):
        find_region("999999")
    with pytest.raises(RegistryError, match="no region is named"):
        find_region("不存在区", within="320600")


def test_development_zones_coded_x7x_are_marked_statistical(divisions):
    assert Region.objects.get(code="320671").statistical_only
    assert not Region.objects.get(code="320612").statistical_only


def test_tongzhou_city_became_tongzhou_district_in_2009(divisions):
    old = Region.objects.get(code="320683")
    assert old.name_zh == "通州市" and old.valid_to == dt.date(2009, 7, 2)
    assert old.successor.code == "320612"
    nantong_2005 = Region.objects.filter(parent__code="320600").valid_on(dt.date(2005, 1, 1))
    nantong_2023 = Region.objects.filter(parent__code="320600").valid_on(dt.date(2023, 6, 30))
    assert "320683" in nantong_2005.values_list("code", flat=True)
    assert "320612" not in nantong_2005.values_list("code", flat=True)
    assert "320612" in nantong_2023.values_list("code", flat=True)
    assert "320683" not in nantong_2023.values_list("code", flat=True)


@pytest.mark.parametrize("code, name, level, english", [
    ("320000", "江苏省", "province", "Jiangsu"),
    ("610000", "陕西省", "province", "Shaanxi"),
    ("140000", "山西省", "province", "Shanxi"),
    ("320600", "南通市", "city", "Nantong"),
    ("320612", "通州区", "district", "Tongzhou District"),
    ("320623", "如东县", "district", "Rudong County"),
    ("320681", "启东市", "district", "Qidong City"),
    ("320671", "南通经济技术开发区", "district", "Nantong Economic and Technological Development Zone"),
    ("320612120", "川姜镇", "town", "Chuanjiang Town"),
    ("320612001", "金沙街道", "town", "Jinsha Subdistrict"),
])
def test_english_names(code, name, level, english):
    assert english_name(code, name, level) == english


def test_moving_a_region_keeps_the_old_tree_for_past_dates(divisions):
    """A district redrawn into another city: 2023 figures still see the 2023 tree."""
    org, _ = save_organisation("mover", kind="enterprise", name_en="Mover Co")
    move_organisation(org, Region.objects.get(code="320612001"), since=dt.date(2015, 1, 1))
    tongzhou = Region.objects.get(code="320612")
    suzhou = Region.objects.get(code="320500")
    save_region("320612", level="district", name_zh="通州区", name_en="Tongzhou District", parent=suzhou,
                valid_from=tongzhou.valid_from, source=tongzhou.source, moved_on=dt.date(2030, 1, 1))

    tongzhou.refresh_from_db()
    assert tongzhou.path == "320000/320500/320612/"
    assert Region.objects.get(code="320612001").path == "320000/320500/320612/320612001/"
    assert Organisation.objects.in_region("320500").filter(key="mover").exists()
    assert not Organisation.objects.in_region("320600").filter(key="mover").exists()
    # As the tree stood in 2023, the firm is in Nantong and not in Suzhou.
    assert Organisation.objects.in_region("320600", on=dt.date(2023, 6, 30)).filter(key="mover").exists()
    assert not Organisation.objects.in_region("320500", on=dt.date(2023, 6, 30)).filter(key="mover").exists()
    assert RegionLink.objects.filter(region__code="320612001").count() == 2


def test_a_region_cannot_move_below_itself(divisions):
    nantong = Region.objects.get(code="320600")
    with pytest.raises(RegistryError, match="inside"):
        save_region("320600", level="city", name_zh="南通市", name_en="Nantong", parent=Region.objects.get(code="320612"))
    nantong.refresh_from_db()
    assert nantong.path == "320000/320600/"


def test_saving_an_unchanged_region_writes_nothing(divisions):
    tongzhou = Region.objects.get(code="320612")
    _, status = save_region("320612", level=tongzhou.level, name_zh=tongzhou.name_zh, name_en=tongzhou.name_en,
                            parent=tongzhou.parent, valid_from=tongzhou.valid_from, source=tongzhou.source)
    assert status == "unchanged"


@pytest.mark.parametrize("code", ["32061", "abcdef", "3206120011"])
def test_region_codes_must_be_division_codes(code):
    with pytest.raises(RegistryError, match="not a division code"):
        save_region(code, level="district", name_zh="某区")

"""Dumping: the same format back, loadable on its own, stable through a round trip."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kechuang.world.dumper import dump_text, dump_world
from kechuang.world.errors import WorldError
from kechuang.world.formats import parse_json, parse_yaml, to_json, to_yaml
from kechuang.world.loader import load_world

from .conftest import entry, row_counts, updated_stamps, wipe_registry

pytestmark = pytest.mark.django_db


def keys(document: dict, section: str) -> list[str]:
    field = "code" if section in ("regions", "sectors") else "key"
    return [item[field] for item in document.get(section, [])]


def test_a_dump_loaded_into_an_empty_database_dumps_the_same(tongzhou):
    load_world(tongzhou)
    first = dump_text()

    wipe_registry()
    load_world(parse_yaml(first))

    assert dump_text() == first


def test_a_dump_loaded_into_its_own_database_changes_nothing(tongzhou):
    load_world(tongzhou)
    counts, stamps = row_counts(), updated_stamps()

    report = load_world(parse_yaml(dump_text()))

    assert not report.changed
    assert row_counts() == counts and updated_stamps() == stamps


def test_the_dump_says_what_the_file_said(tongzhou):
    load_world(tongzhou)

    dumped = dump_world()

    zhongkeyi = entry(dumped, "organisations", "zhongkeyi-nantong")
    assert zhongkeyi["locations"] == [{"region": "320612", "within": "nantong-hi-tech-zone", "valid_from": "2020",
                                       "source": "tongzhou-innovation-2023-09-04"}]
    assert [m["date"] for m in zhongkeyi["milestones"]] == ["2020", "2022-11"]
    assert zhongkeyi["owners"][0]["share_percent"] == 100 and type(zhongkeyi["owners"][0]["share_percent"]) is int
    assert zhongkeyi["capacities"][0]["as_of"] == "2023-09-04"
    assert "uscc" not in zhongkeyi and "synthetic" not in zhongkeyi  # defaults are left out
    assert entry(dumped, "organisations", "hengli-nantong-park")["name_zh_verified"] is False
    assert entry(dumped, "regions", "320683") == {
        "code": "320683", "level": "district", "name_zh": "通州市", "name_en": "Tongzhou (county-level city)",
        "parent": "320600", "valid_to": "2009-07-02", "successor": "320612"}
    assert keys(dumped, "regions")[:2] == ["110000", "110112"]  # parents first


def test_decimals_keep_their_digits_and_lose_only_trailing_zeros(tongzhou):
    zhongkeyi = entry(tongzhou, "organisations", "zhongkeyi-nantong")
    zhongkeyi["owners"] = [{"owner": "sky-technology", "share_percent": "12.5"},
                           {"owner": "nantong-hi-tech-zone", "share_percent": Decimal("0.0001")}]
    # 15 significant digits: what SQLite, which keeps decimals as REAL, holds exactly.
    zhongkeyi["capacities"][0]["quantity"] = "12345678901.2345"
    load_world(tongzhou)

    dumped = entry(dump_world(), "organisations", "zhongkeyi-nantong")
    assert [o["share_percent"] for o in dumped["owners"]] == [Decimal("0.0001"), Decimal("12.5")]
    assert dumped["capacities"][0]["quantity"] == Decimal("12345678901.2345")

    text = to_yaml({"x": dumped["owners"][1]["share_percent"], "y": Decimal("1234567890123456.1234")})
    assert text == "x: 12.5\ny: 1234567890123456.1234\n"
    assert parse_yaml(text) == {"x": Decimal("12.5"), "y": Decimal("1234567890123456.1234")}
    # JSON numbers are floats to many readers: a value a float cannot hold is written as a string.
    json_text = to_json({"x": Decimal("12.5"), "y": Decimal("1234567890123456.1234"), "z": Decimal("100.0000")})
    assert json_text == '{\n  "x": 12.5,\n  "y": "1234567890123456.1234",\n  "z": 100\n}\n'
    assert parse_json(json_text)["x"] == Decimal("12.5")


def test_a_json_dump_round_trips_too(tongzhou):
    load_world(tongzhou)
    first = dump_text(fmt="json")

    wipe_registry()
    load_world(parse_json(first))

    assert dump_text(fmt="json") == first
    assert parse_json(first) == parse_yaml(dump_text())


def test_a_region_dump_holds_the_subtree_its_ancestors_and_what_it_refers_to(tongzhou):
    load_world(tongzhou)

    dumped = dump_world("320612")

    assert keys(dumped, "regions") == ["210000", "210100", "320000", "320600", "320612"]
    assert keys(dumped, "organisations") == ["hengli-nantong-park", "nantong-hi-tech-zone", "sky-technology",
                                             "zhongkeyi-nantong"]
    assert keys(dumped, "sectors") == ["semiconductor-equipment"]  # textiles is nobody's
    assert keys(dumped, "sources") == ["tongzhou-gov-zhongkeyi", "tongzhou-innovation-2023-09-04"]


def test_a_region_dump_loads_on_its_own_and_dumps_the_same(tongzhou):
    load_world(tongzhou)
    first = dump_text("320612")

    wipe_registry()
    report = load_world(parse_yaml(first))

    assert report["organisations"]["created"] == 4
    assert dump_text("320612") == first


def test_a_region_dump_of_beijing_tongzhou_holds_none_of_nantong(tongzhou):
    load_world(tongzhou)

    dumped = dump_world("110112")

    assert keys(dumped, "regions") == ["110000", "110112"]
    assert "organisations" not in dumped and "sources" not in dumped


def test_a_region_dump_follows_owners_of_owners():
    load_world({"kechuang": 1,
                "regions": [{"code": "320000", "level": "province", "name_zh": "江苏省"},
                            {"code": "110000", "level": "province", "name_zh": "北京市"}],
                "organisations": [
                    {"key": "a", "kind": "enterprise", "name_en": "A", "locations": [{"region": "320000"}],
                     "owners": [{"owner": "b", "share_percent": 100}]},
                    {"key": "b", "kind": "enterprise", "name_en": "B",
                     "owners": [{"owner": "c", "share_percent": 51}]},
                    {"key": "c", "kind": "enterprise", "name_en": "C", "locations": [{"region": "110000"}]},
                    {"key": "d", "kind": "enterprise", "name_en": "D", "locations": [{"region": "110000"}]},
                ]})

    dumped = dump_world("320000")

    assert keys(dumped, "organisations") == ["a", "b", "c"]
    assert keys(dumped, "regions") == ["110000", "320000"]


def test_an_unknown_region_is_a_world_error():
    with pytest.raises(WorldError, match="no region has the code 999999"):
        dump_world("999999")


def _organisations(count: int) -> dict:
    return {"kechuang": 1,
            "sources": [{"key": "s", "title": "S"}],
            "sectors": [{"code": "x", "name_zh": "X", "name_en": "X"}],
            "regions": [{"code": "320000", "level": "province", "name_zh": "江苏省"}],
            "organisations": [
                {"key": f"firm-{n}", "kind": "enterprise", "name_zh": f"企业{n}", "sectors": ["x"], "source": "s",
                 "aliases": [{"name": f"企{n}", "source": "s"}],
                 "locations": [{"region": "320000", "valid_from": "2019", "valid_to": "2020-01-01"},
                               {"region": "320000", "valid_from": "2020", "source": "s"}],
                 "owners": [{"owner": "firm-0", "share_percent": 10}] if n else [],
                 "milestones": [{"date": "2020", "kind": "founded"}],
                 "capacities": [{"product_en": "P", "quantity": 1, "unit": "t", "as_of": "2020-01-01"}],
                 "contacts": [{"name_en": f"P{n}"}]}
                for n in range(count)]}


def _queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def test_a_dump_takes_the_same_number_of_queries_for_3_or_30_organisations():
    load_world(_organisations(3))
    few = _queries(dump_world)
    load_world(_organisations(30))

    assert _queries(dump_world) == few


def test_reloading_an_unchanged_file_takes_the_same_number_of_queries_for_3_or_30_organisations():
    small, large = _organisations(3), _organisations(30)
    load_world(small)
    few = _queries(lambda: load_world(small))
    load_world(large)

    assert _queries(lambda: load_world(large)) == few


def test_a_region_moved_through_the_services_keeps_its_history_through_a_round_trip(tongzhou):
    import datetime as dt

    from kechuang.registry.models import Region
    from kechuang.registry.services import save_region

    load_world(tongzhou)
    # Nantong moves under Beijing (never happened): its subtree's paths change on that day.
    save_region("320600", level="city", name_zh="南通市", name_en="Nantong", parent=Region.objects.get(code="110000"),
                moved_on=dt.date(2030, 1, 1))
    then = dt.date(2029, 12, 31)
    before = sorted(Region.objects.subtree("320000", on=then).values_list("code", flat=True))
    first = dump_text()

    wipe_registry()
    load_world(parse_yaml(first))

    assert dump_text() == first
    assert sorted(Region.objects.subtree("320000", on=then).values_list("code", flat=True)) == before
    assert "320612" in before and Region.objects.get(code="320612").path == "110000/320600/320612/"
    # An abolished code below the moved region stays where it was when it ended.
    assert not Region.objects.subtree("110000", on=dt.date(2031, 1, 1)).filter(code="320683").exists()
    assert entry(parse_yaml(first), "regions", "320612")["former_parents"] == [
        {"parent": "320600", "valid_from": "2009-07-02", "valid_to": "2030-01-01"}]


#: Every key of every entry, none at its default, in the form and order a dump writes.
EVERY_FIELD = {
    "kechuang": 1,
    "entries": {"sources": 2, "sectors": 1, "regions": 5, "organisations": 3},
    "sources": [
        {"key": "notice", "title": "A notice", "url": "https://example.org/notice", "publisher": "Bureau",
         "published": "2023-01-02", "note": "first line\nsecond line"},
        {"key": "page", "title": "A page"},
    ],
    "sectors": [{"code": "new-materials", "name_zh": "新材料", "name_en": "New materials"}],
    "regions": [
        {"code": "320000", "level": "province", "name_zh": "江苏省", "name_en": "Jiangsu", "source": "page"},
        {"code": "320600", "level": "city", "name_zh": "南通市", "parent": "320000"},
        {"code": "320612", "level": "district", "name_zh": "通州区", "parent": "320600", "valid_from": "2009-07-02",
         "former_parents": [{"parent": "320000", "valid_from": "2009-07-02", "valid_to": "2010-01-01"}]},
        {"code": "320671", "level": "district", "name_zh": "南通经济技术开发区", "parent": "320600",
         "statistical_only": True},
        {"code": "320683", "level": "district", "name_zh": "通州市", "parent": "320600", "valid_from": "1993-01-01",
         "valid_to": "2009-07-02", "successor": "320612", "source": "notice"},
    ],
    "organisations": [
        {"key": "firm", "kind": "enterprise", "name_zh": "某某有限公司", "name_en": "Firm Co Ltd",
         "name_zh_verified": False, "uscc": "91350203M0001QAY99", "above_designated_size": True,
         "sectors": ["new-materials"], "description_zh": "描述", "description_en": "Description",
         "website": "https://example.org/", "synthetic": True, "source": "notice",
         "aliases": [{"name": "旧名", "kind": "former", "valid_to": "2015-05-01", "source": "page"},
                     {"name": "某某", "source": "notice"}],
         "locations": [
             {"region": "320683", "valid_from": "2001-03", "valid_to": "2009-07-02", "address": "Old road 1"},
             {"region": "320612", "within": "park", "valid_from": "2009-07-02", "address": "New road 2",
              "source": "notice"}],
         "owners": [
             {"owner": "holding", "share_percent": Decimal("12.5"), "since": "2010-01-01", "until": "2020-01-01",
              "note": "sold", "source": "notice"},
             {"owner": "holding", "share_percent": Decimal("51.0001"), "since": "2020-01-01"},
             {"owner": "park", "share_percent": 3}],
         "milestones": [
             {"date": "2001", "kind": "founded", "text_zh": "成立", "text_en": "Founded", "source": "notice"},
             {"date": "2022-11-15", "kind": "other", "text_en": "Something"}],
         "capacities": [
             {"product_zh": "泵", "product_en": "Pumps", "quantity": Decimal("0.5"), "unit": "t", "per": "day",
              "as_of": "2023-01-01", "source": "notice"},
             {"product_en": "Pumps", "quantity": 13000, "unit": "units", "as_of": "2023-09-04"}],
         "contacts": [
             {"name_zh": "某人"},  # absent values sort first
             {"name_zh": "金雪", "name_en": "Jin Xue", "role_zh": "总经理助理", "role_en": "Assistant general manager",
              "email": "jin@example.org", "phone": "+86 513 0000 0000", "valid_from": "2020-01-01",
              "valid_to": "2024-01-01", "source": "notice"}]},
        {"key": "holding", "kind": "institute", "name_en": "Holding Institute"},
        {"key": "park", "kind": "park", "name_zh": "园区",
         "phases": [
             {"number": 1, "name_zh": "一期", "name_en": "Phase one", "status": "operating",
              "construction_start": "2015", "operation_start": "2016-06", "note": "done", "source": "notice"},
             {"number": 2, "status": "planned", "operation_start": "2026-03-01"}]},
    ],
}


def test_every_field_round_trips_in_the_form_a_dump_writes():
    load_world(EVERY_FIELD)

    assert dump_world() == EVERY_FIELD
    assert parse_yaml(dump_text()) == EVERY_FIELD
    assert parse_json(dump_text(fmt="json")) == EVERY_FIELD
    assert not load_world(parse_yaml(dump_text())).changed

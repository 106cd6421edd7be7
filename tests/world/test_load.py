"""Loading a world file: every fact lands, a second load changes nothing, a change updates."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F

from kechuang.registry.models import (
    Alias,
    Capacity,
    Contact,
    Location,
    Milestone,
    Organisation,
    Ownership,
    Phase,
    Region,
    RegionLink,
    Source,
)
from kechuang.registry.services import AmbiguousRegion, find_region
from kechuang.world.loader import load_world

from .conftest import entry, row_counts, updated_stamps

pytestmark = pytest.mark.django_db


def test_the_seed_article_loads_with_every_fact(tongzhou):
    report = load_world(tongzhou)

    assert report["sources"]["created"] == 2
    assert report["sectors"]["created"] == 2
    assert report["regions"]["created"] == 8
    assert report["organisations"]["created"] == 4

    zhongkeyi = Organisation.objects.get(key="zhongkeyi-nantong")
    assert zhongkeyi.name_zh == "中科仪(南通)半导体设备有限责任公司"
    assert zhongkeyi.kind == "enterprise" and zhongkeyi.above_designated_size and zhongkeyi.name_zh_verified
    assert zhongkeyi.source.key == "tongzhou-innovation-2023-09-04"
    assert list(zhongkeyi.sectors.values_list("code", flat=True)) == ["semiconductor-equipment"]
    assert list(zhongkeyi.aliases.values_list("name", "kind")) == [("中科仪南通", "short")]
    assert "中科仪南通" in zhongkeyi.search_text  # kept by save_organisation, aliases included

    location = zhongkeyi.locations.get()
    assert location.region.code == "320612"
    assert location.within.key == "nantong-hi-tech-zone"
    assert (location.valid_from, location.valid_from_precision) == (dt.date(2020, 1, 1), "year")
    assert location.valid_to is None

    ownership = zhongkeyi.owners.get()
    assert ownership.owner.key == "sky-technology" and ownership.share_percent == 100 and ownership.wholly_owned

    milestones = {(m.kind, str(m.when)) for m in zhongkeyi.milestones.all()}
    assert milestones == {("arrived", "2020"), ("trial_production", "2022-11")}

    capacity = zhongkeyi.capacities.get()
    assert (capacity.product_en, capacity.quantity, capacity.unit, capacity.per, capacity.as_of) == (
        "Dry vacuum pumps", Decimal("13000"), "units", "year", dt.date(2023, 9, 4))
    assert zhongkeyi.contacts.get().role_en == "Assistant general manager"

    hengli = Organisation.objects.get(key="hengli-nantong-park")
    assert hengli.name_zh_verified is False
    phases = {p.number: p for p in hengli.phases.all()}
    assert phases[3].status == "operating"
    assert (phases[4].status, phases[4].operation_start, phases[4].operation_start_precision) == (
        "construction", dt.date(2023, 12, 1), "month")
    assert list(Organisation.objects.within(Organisation.objects.get(key="nantong-hi-tech-zone"))) == [zhongkeyi]


def test_regions_load_parents_first_with_their_history(tongzhou):
    load_world(tongzhou)

    tongzhou_district = Region.objects.get(code="320612")
    assert tongzhou_district.path == "320000/320600/320612/"
    assert tongzhou_district.qualified_name == "江苏省 › 南通市 › 通州区"

    former_city = Region.objects.get(code="320683")
    assert former_city.successor == tongzhou_district
    assert former_city.valid_to == dt.date(2009, 7, 2)
    link = former_city.links.get()
    # valid_to is exclusive: on the day of the change the old code no longer holds.
    assert link.valid_to == dt.date(2009, 7, 2) and link.parent.code == "320600"
    assert not Region.objects.subtree("320600", on=dt.date(2009, 7, 2)).filter(code="320683").exists()
    assert Region.objects.subtree("320600", on=dt.date(2009, 7, 1)).filter(code="320683").exists()


def test_the_two_tongzhous_coexist(tongzhou):
    load_world(tongzhou)

    both = Region.objects.filter(name_zh="通州区").order_by("code")
    assert [(r.code, r.parent.code) for r in both] == [("110112", "110000"), ("320612", "320600")]
    with pytest.raises(AmbiguousRegion):
        find_region("通州区")
    assert find_region("通州区", within="320600").code == "320612"


def test_a_second_load_changes_nothing(tongzhou):
    load_world(tongzhou)
    counts, stamps = row_counts(), updated_stamps()

    report = load_world(tongzhou)

    assert not report.changed
    assert {section: counter["unchanged"] for section, counter in report.counts.items()} == {
        "sources": 2, "sectors": 2, "regions": 8, "organisations": 4}
    assert row_counts() == counts
    assert updated_stamps() == stamps


def test_a_changed_field_is_updated(tongzhou):
    load_world(tongzhou)
    zhongkeyi = entry(tongzhou, "organisations", "zhongkeyi-nantong")
    zhongkeyi["name_en"] = "Zhongkeyi (Nantong) Semiconductor Equipment Co., Ltd."
    zhongkeyi["capacities"][0]["quantity"] = 15000
    entry(tongzhou, "sources", "tongzhou-innovation-2023-09-04")["url"] = "https://news.example.org/tongzhou-2023-09-04"

    report = load_world(tongzhou)

    assert (report["organisations"]["updated"], report["organisations"]["unchanged"]) == (1, 3)
    assert report["sources"]["updated"] == 1
    org = Organisation.objects.get(key="zhongkeyi-nantong")
    assert org.name_en == "Zhongkeyi (Nantong) Semiconductor Equipment Co., Ltd."
    assert org.capacities.get().quantity == 15000
    assert Source.objects.get(key="tongzhou-innovation-2023-09-04").url == "https://news.example.org/tongzhou-2023-09-04"


def test_a_changed_child_alone_counts_its_organisation_updated(tongzhou):
    load_world(tongzhou)
    entry(tongzhou, "organisations", "hengli-nantong-park")["phases"][1]["status"] = "operating"

    report = load_world(tongzhou)

    assert report["organisations"]["updated"] == 1
    assert Phase.objects.get(number=4).status == "operating"


def test_a_milestone_removed_from_the_file_is_deleted(tongzhou):
    load_world(tongzhou)
    zhongkeyi = entry(tongzhou, "organisations", "zhongkeyi-nantong")
    zhongkeyi["milestones"] = [m for m in zhongkeyi["milestones"] if m["kind"] != "trial_production"]

    load_world(tongzhou)

    assert list(Milestone.objects.values_list("kind", flat=True)) == ["arrived"]


def test_a_child_list_left_out_leaves_the_rows_alone(tongzhou):
    load_world(tongzhou)
    zhongkeyi = entry(tongzhou, "organisations", "zhongkeyi-nantong")
    for name in ("aliases", "sectors", "locations", "owners", "milestones", "capacities", "contacts"):
        del zhongkeyi[name]

    report = load_world(tongzhou)

    assert not report.changed
    org = Organisation.objects.get(key="zhongkeyi-nantong")
    assert (org.aliases.count(), org.sectors.count(), org.locations.count(), org.owners.count(),
            org.milestones.count(), org.capacities.count(), org.contacts.count()) == (1, 1, 1, 1, 2, 1, 1)


def test_an_empty_child_list_deletes_the_rows(tongzhou):
    load_world(tongzhou)
    entry(tongzhou, "organisations", "zhongkeyi-nantong")["contacts"] = []
    entry(tongzhou, "organisations", "zhongkeyi-nantong")["aliases"] = []

    load_world(tongzhou)

    assert not Contact.objects.filter(organisation__key="zhongkeyi-nantong").exists()
    assert not Alias.objects.filter(organisation__key="zhongkeyi-nantong").exists()


def test_an_omitted_optional_field_takes_its_default(tongzhou):
    load_world(tongzhou)
    del entry(tongzhou, "organisations", "zhongkeyi-nantong")["description_en"]

    load_world(tongzhou)

    assert Organisation.objects.get(key="zhongkeyi-nantong").description_en == ""


def test_a_move_closes_the_old_location_and_opens_the_new_one(tongzhou):
    load_world(tongzhou)
    zhongkeyi = entry(tongzhou, "organisations", "zhongkeyi-nantong")
    # Listed open-ended first: the loader still closes the old one before opening the new.
    zhongkeyi["locations"] = [
        {"region": "110112", "valid_from": "2024-03"},
        {"region": "320612", "within": "nantong-hi-tech-zone", "valid_from": 2020, "valid_to": "2024-03-01"},
    ]

    load_world(tongzhou)

    rows = Location.objects.filter(organisation__key="zhongkeyi-nantong").order_by(F("valid_from").asc())
    assert [(r.region.code, r.valid_from, r.valid_to) for r in rows] == [
        ("320612", dt.date(2020, 1, 1), dt.date(2024, 3, 1)), ("110112", dt.date(2024, 3, 1), None)]
    assert list(Organisation.objects.in_region("110112")) == [Organisation.objects.get(key="zhongkeyi-nantong")]
    assert list(Organisation.objects.in_region("320612", on=dt.date(2023, 1, 1))
                .filter(key="zhongkeyi-nantong")) != []


def test_a_corrected_start_of_the_open_location_replaces_it(tongzhou):
    load_world(tongzhou)
    entry(tongzhou, "organisations", "zhongkeyi-nantong")["locations"][0]["valid_from"] = "2020-06"

    load_world(tongzhou)

    location = Location.objects.get(organisation__key="zhongkeyi-nantong")
    assert (location.valid_from, location.valid_from_precision) == (dt.date(2020, 6, 1), "month")


def test_a_finer_date_of_the_same_day_updates_the_precision(tongzhou):
    load_world(tongzhou)
    entry(tongzhou, "organisations", "zhongkeyi-nantong")["locations"][0]["valid_from"] = "2020-01-01"

    report = load_world(tongzhou)

    assert report["organisations"]["updated"] == 1
    assert Location.objects.get(organisation__key="zhongkeyi-nantong").valid_from_precision == "day"


def test_organisations_may_refer_to_ones_defined_later_in_the_file(tongzhou):
    keys = [org["key"] for org in tongzhou["organisations"]]
    # The seed lists Zhongkeyi before its owner and the zone it sits in.
    assert keys.index("zhongkeyi-nantong") < keys.index("sky-technology")
    assert keys.index("zhongkeyi-nantong") < keys.index("nantong-hi-tech-zone")

    load_world(tongzhou)

    assert Ownership.objects.get().organisation.key == "zhongkeyi-nantong"
    assert Location.objects.get(organisation__key="zhongkeyi-nantong").within.key == "nantong-hi-tech-zone"


def test_an_entry_may_refer_to_rows_already_in_the_database(tongzhou):
    load_world(tongzhou)

    report = load_world({
        "kechuang": 1,
        "organisations": [{"key": "new-firm", "kind": "enterprise", "name_zh": "新企业",
                           "locations": [{"region": "320612", "within": "hengli-nantong-park"}],
                           "owners": [{"owner": "sky-technology", "share_percent": "12.5"}],
                           "source": "tongzhou-innovation-2023-09-04"}],
    })

    assert report["organisations"]["created"] == 1
    assert Ownership.objects.get(organisation__key="new-firm").share_percent == Decimal("12.5")


def test_a_legacy_uscc_failing_only_its_check_character_loads_with_a_warning(tongzhou):
    zhongkeyi = entry(tongzhou, "organisations", "zhongkeyi-nantong")
    zhongkeyi["uscc"] = "91350203M0001QAY9B"

    report = load_world(tongzhou)

    assert [path for path, _ in report.warnings] == ["organisations[0].uscc"]
    assert "check character is 'B', expected '9'" in report.warnings[0][1]
    org = Organisation.objects.get(key="zhongkeyi-nantong")
    assert org.uscc == "91350203M0001QAY9B"
    assert "expected '9'" in org.uscc_warning
    # The warning is a fact about the record: reloading reports it again and changes nothing.
    again = load_world(tongzhou)
    assert not again.changed and len(again.warnings) == 1


def test_a_uscc_is_normalised_like_the_register_writes_it(tongzhou):
    entry(tongzhou, "organisations", "zhongkeyi-nantong")["uscc"] = "91350203m0001qay99"

    load_world(tongzhou)

    assert Organisation.objects.get(key="zhongkeyi-nantong").uscc == "91350203M0001QAY99"
    assert not load_world(tongzhou).changed


def test_dry_run_counts_and_writes_nothing(tongzhou):
    report = load_world(tongzhou, dry_run=True)

    assert report["organisations"]["created"] == 4
    assert not any(row_counts().values())


def test_former_parents_record_a_region_that_moved():
    history = {
        "kechuang": 1,
        "regions": [
            {"code": "320000", "level": "province", "name_zh": "江苏省"},
            {"code": "320600", "level": "city", "name_zh": "南通市", "parent": "320000"},
            {"code": "321000", "level": "city", "name_zh": "扬州市", "parent": "320000"},
            {"code": "321200", "level": "city", "name_zh": "泰州市", "parent": "320000", "valid_from": "1996-08-12"},
            {"code": "321281", "level": "district", "name_zh": "兴化市", "parent": "321200",
             "former_parents": [{"parent": "321000", "valid_to": "1996-08-12"}]},
        ],
    }
    load_world(history)

    xinghua = Region.objects.get(code="321281")
    links = list(xinghua.links.order_by(F("valid_from").asc(nulls_first=True)))
    assert [(link.parent.code, link.valid_from, link.valid_to, link.path) for link in links] == [
        ("321000", None, dt.date(1996, 8, 12), "320000/321000/321281/"),
        ("321200", dt.date(1996, 8, 12), None, "320000/321200/321281/"),
    ]
    assert Region.objects.subtree("321000", on=dt.date(1990, 1, 1)).filter(code="321281").exists()
    assert not load_world(history).changed


def test_a_changed_parent_with_its_history_moves_the_region_on_that_day():
    tree = {
        "kechuang": 1,
        "regions": [
            {"code": "320000", "level": "province", "name_zh": "江苏省"},
            {"code": "321000", "level": "city", "name_zh": "扬州市", "parent": "320000"},
            {"code": "321200", "level": "city", "name_zh": "泰州市", "parent": "320000"},
            {"code": "321281", "level": "district", "name_zh": "兴化市", "parent": "321000"},
        ],
    }
    load_world(tree)
    tree["regions"][3].update(parent="321200", former_parents=[{"parent": "321000", "valid_to": "1996-08-12"}])

    report = load_world(tree)

    assert report["regions"]["updated"] == 1
    links = RegionLink.objects.filter(region__code="321281").order_by(F("valid_from").asc(nulls_first=True))
    assert [(link.parent.code, link.valid_from, link.valid_to) for link in links] == [
        ("321000", None, dt.date(1996, 8, 12)), ("321200", dt.date(1996, 8, 12), None)]
    assert Region.objects.get(code="321281").path == "320000/321200/321281/"


def test_abolishing_a_region_ends_its_link(tongzhou):
    load_world(tongzhou)
    entry(tongzhou, "regions", "110112")["valid_to"] = "2030-01-01"

    report = load_world(tongzhou)

    assert report["regions"]["updated"] == 1
    assert RegionLink.objects.get(region__code="110112").valid_to == dt.date(2030, 1, 1)


def test_a_python_document_may_hold_dates_and_floats(tongzhou):
    zhongkeyi = entry(tongzhou, "organisations", "zhongkeyi-nantong")
    zhongkeyi["owners"][0]["share_percent"] = 87.5
    zhongkeyi["capacities"][0]["as_of"] = dt.date(2023, 9, 4)

    load_world(tongzhou)

    assert Ownership.objects.get().share_percent == Decimal("87.5")
    assert Capacity.objects.get().as_of == dt.date(2023, 9, 4)


def test_the_report_reads_as_one_line_and_as_a_summary(tongzhou):
    entry(tongzhou, "organisations", "zhongkeyi-nantong")["uscc"] = "91350203M0001QAY9B"

    report = load_world(tongzhou)

    assert str(report) == ("sources: 2 created, 0 updated, 0 unchanged; sectors: 2 created, 0 updated, 0 unchanged; "
                           "regions: 8 created, 0 updated, 0 unchanged; "
                           "organisations: 4 created, 0 updated, 0 unchanged; 1 warning")
    assert report.summary().splitlines()[-2:] == [
        "1 warning:", "  organisations[0].uscc: 91350203M0001QAY9B imported with a failing check: "
                      "check character is 'B', expected '9'"]

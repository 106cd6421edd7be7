"""A bad world file loads nothing, and every problem is named with the path of its entry."""

import pytest
from django.core.exceptions import ValidationError

from kechuang.registry.models import Organisation
from kechuang.world.errors import WorldError
from kechuang.world.loader import load_world

from .conftest import entry, row_counts, updated_stamps

pytestmark = pytest.mark.django_db


def problems(document: dict) -> dict[str, str]:
    """Load `document`, which must fail; its problems by path."""
    with pytest.raises(WorldError) as caught:
        load_world(document)
    return dict(caught.value.errors)


def break_in_five_ways(document: dict) -> None:
    """Zhongkeyi (organisations[0]) gets a USCC with a character no code uses, an unknown
    region, an unknown owner and overlapping locations; the park (organisations[3]) a
    typo'd key."""
    zhongkeyi = entry(document, "organisations", "zhongkeyi-nantong")
    zhongkeyi["uscc"] = "91350203M0001QAY9I"  # I never appears in a USCC
    zhongkeyi["locations"] = [
        {"region": "320612", "valid_from": "2020"},
        {"region": "999999", "valid_from": "2021-06", "valid_to": "2022-01-01"},
    ]
    zhongkeyi["owners"][0]["owner"] = "sky-technolgy"
    entry(document, "organisations", "hengli-nantong-park")["phases"][0]["stauts"] = "operating"


def test_a_file_with_several_problems_loads_nothing_and_names_them_all(tongzhou):
    break_in_five_ways(tongzhou)
    # Schema problems stop the load before the semantic checks; take the typo out to see those.
    del entry(tongzhou, "organisations", "hengli-nantong-park")["phases"][0]["stauts"]

    found = problems(tongzhou)

    assert "contains characters not used in the code: I" in found["organisations[0].uscc"]
    assert found["organisations[0].locations[1].region"].startswith("no region has the code 999999")
    assert "sky-technolgy" in found["organisations[0].owners[0].owner"]
    assert "periods overlap" in found["organisations[0].locations"]
    assert not any(row_counts().values())


def test_a_typo_in_a_key_is_named_with_its_path_and_a_suggestion(tongzhou):
    break_in_five_ways(tongzhou)

    found = problems(tongzhou)

    assert found == {"organisations[3].phases[0].stauts": "unknown key; did you mean 'status'?"}
    assert not any(row_counts().values())


def test_a_bad_file_leaves_the_previous_state_intact(tongzhou):
    load_world(tongzhou)
    counts, stamps = row_counts(), updated_stamps()
    entry(tongzhou, "organisations", "sky-technology")["name_en"] = "Renamed, but never saved"
    entry(tongzhou, "organisations", "zhongkeyi-nantong")["locations"][0]["within"] = "sky-technology"

    found = problems(tongzhou)

    assert found["organisations[0].locations[0].within"] == (
        "sky-technology is a enterprise; only a zone or park can contain organisations")
    assert row_counts() == counts and updated_stamps() == stamps
    assert Organisation.objects.get(key="sky-technology").name_en == "Sky Technology Development Co Ltd"


def test_world_error_is_a_validation_error_carrying_path_reason_pairs(tongzhou):
    tongzhou["regions"][0]["parent"] = "329999"

    with pytest.raises(ValidationError) as caught:
        load_world(tongzhou)

    assert isinstance(caught.value, WorldError)
    assert caught.value.errors == [
        ("regions[0].parent", "no region has the code 329999, in this file or in the database")]
    assert "regions[0].parent: no region has the code 329999" in str(caught.value)


def test_a_region_code_written_as_a_number_is_refused_with_a_hint(tongzhou):
    tongzhou["regions"][0]["code"] = 320612

    found = problems(tongzhou)

    assert found["regions[0].code"] == '320612 is a number; expected string (write codes and keys in quotes: "320612")'


@pytest.mark.parametrize(("change", "path", "reason"), [
    (lambda d: d.pop("kechuang"), "kechuang", "is required"),
    (lambda d: d.update(organisations=None), "organisations", "is empty (null); expected array"),
    (lambda d: d["organisations"][0].update(above_designated_size="yes"), "organisations[0].above_designated_size",
     "'yes' is a text; expected boolean"),
    (lambda d: d.update(kechuang=2), "kechuang", "2: must be 1"),
    (lambda d: d.update(organisation=[]), "organisation", "unknown key; did you mean 'organisations'?"),
    (lambda d: d["regions"][2].update(level="county"), "regions[2].level",
     "'county' is not one of province, city, district, town; did you mean 'city'?"),
    (lambda d: d["regions"][2].update(code="3206"), "regions[2].code",
     "'3206' is not valid here: 6 digits (GB/T 2260), or 9/12 digits for a town; a quoted string."),
    (lambda d: d["sources"][0].update(published="2023-02-30"), "sources[0].published",
     "'2023-02-30' is not valid here: Publication date, YYYY-MM-DD."),
    (lambda d: d["sources"][0].update(title=""), "sources[0].title", "must not be empty"),
    (lambda d: d["organisations"][0].update(name_en="x" * 301), "organisations[0].name_en",
     "is 301 characters long; at most 300 fit"),
    (lambda d: d["organisations"][0]["owners"][0].update(share_percent=0), "organisations[0].owners[0].share_percent",
     "0 is less than or equal to the minimum of 0"),
])
def test_schema_problems_name_the_path(tongzhou, change, path, reason):
    change(tongzhou)

    assert problems(tongzhou) == {path: reason}


@pytest.mark.parametrize(("change", "path", "reason"), [
    (lambda d: d["organisations"][0]["milestones"][1].update(date="2022-13"), "organisations[0].milestones[1].date",
     "'2022-13' is not a date: month must be in 1..12"),
    (lambda d: d["organisations"][0]["owners"][0].update(share_percent="-3"),
     "organisations[0].owners[0].share_percent", "a share is more than 0 and at most 100 percent, not -3"),
    (lambda d: d["organisations"][0]["capacities"][0].update(quantity="-1"),
     "organisations[0].capacities[0].quantity", "a capacity cannot be negative (-1)"),
    (lambda d: d["organisations"][0]["owners"][0].update(share_percent="12.34567"),
     "organisations[0].owners[0].share_percent", "12.34567 has 5 decimal places; at most 4 are kept"),
    (lambda d: d["organisations"][0].update(phases=[{"number": 1, "status": "planned"}]), "organisations[0].phases",
     "only a zone or park has phases; zhongkeyi-nantong is a enterprise"),
    (lambda d: d["organisations"][0].update(sectors=["robots"]), "organisations[0].sectors[0]",
     "no sector has the code 'robots', in this file or in the database"),
    (lambda d: d["organisations"][0].update(source="nowhere"), "organisations[0].source",
     "no source has the key 'nowhere', in this file or in the database"),
    (lambda d: d["organisations"][0]["owners"][0].update(owner="zhongkeyi-nantong"),
     "organisations[0].owners[0].owner", "an organisation cannot own itself"),
    (lambda d: d["organisations"][0]["owners"].append({"owner": "nantong-hi-tech-zone", "share_percent": 1}),
     "organisations[0].owners", "the open shares add up to 101 percent; at most 100"),
    (lambda d: d["organisations"][0]["locations"][0].update(within="zhongkeyi-nantong"),
     "organisations[0].locations[0].within", "an organisation cannot be located inside itself"),
    (lambda d: d["organisations"][0]["locations"][0].update(valid_to="2019-12-31"),
     "organisations[0].locations[0].valid_to",
     "must be after valid_from (valid_to is the first day it no longer holds)"),
    (lambda d: d["organisations"][0]["milestones"].append({"date": "2022-11-01", "kind": "trial_production"}),
     "organisations[0].milestones[2]", "repeats milestones[1] (same trial_production, 2022-11-01)"),
    (lambda d: d["organisations"][0]["contacts"].append({"role_en": "Engineer"}), "organisations[0].contacts[1]",
     "a contact needs a Chinese or an English name"),
    (lambda d: d["organisations"][0].update(website="www.example"), "organisations[0].website",
     "'www.example' is not a web address (http:// or https://)"),
    (lambda d: d["organisations"][1].update(name_zh="", name_en=""), "organisations[1].name_zh",
     "an organisation needs a Chinese or an English name"),
    (lambda d: d["organisations"].append(dict(d["organisations"][1])), "organisations[4]",
     "'sky-technology' is defined twice in organisations (first at organisations[1])"),
    (lambda d: d["regions"][0].pop("parent"), "regions[0].parent",
     "only a province has no parent; give the code of the region 320612 lies in"),
    (lambda d: d["regions"][3].update(parent="320612"), "regions[0]",
     "regions refer to each other in a circle: 320612 → 320600"),
])
def test_semantic_problems_name_the_path(tongzhou, change, path, reason):
    change(tongzhou)

    assert problems(tongzhou) == {path: reason}


def test_a_uscc_held_by_another_organisation_is_refused(tongzhou):
    entry(tongzhou, "organisations", "sky-technology")["uscc"] = "91350203M0001QAY99"
    load_world(tongzhou)
    entry(tongzhou, "organisations", "sky-technology")["uscc"] = None
    document = {"kechuang": 1, "organisations": [
        {"key": "copycat", "kind": "enterprise", "name_en": "Copycat", "uscc": "91350203M0001QAY99"}]}

    assert problems(document) == {"organisations[0].uscc": "91350203M0001QAY99 already belongs to sky-technology "
                                                           "in the database"}


def test_the_same_uscc_twice_in_a_file_is_refused(tongzhou):
    entry(tongzhou, "organisations", "sky-technology")["uscc"] = "91350203M0001QAY99"
    entry(tongzhou, "organisations", "hengli-nantong-park")["uscc"] = "91350203m0001qay99"

    assert problems(tongzhou) == {"organisations[3].uscc": "91350203M0001QAY99 is also the code of sky-technology"}


def test_a_document_that_is_not_a_mapping_is_refused():
    assert problems(["kechuang", 1]) == {"": "a world file is a mapping: `kechuang: 1` followed by sections"}


# --- the entries the head declares (a file cut off on the way) --------------------------------


def declared(document: dict) -> dict:
    """`document` with the head a dump writes: how many entries each section holds."""
    sections = {name: entries for name, entries in document.items() if isinstance(entries, list)}
    return {"kechuang": 1, "entries": {name: len(entries) for name, entries in sections.items()}, **sections}


def test_a_file_that_declares_its_entries_and_holds_them_all_loads(tongzhou):
    report = load_world(declared(tongzhou))

    assert report["organisations"]["created"] == len(tongzhou["organisations"])


def test_a_file_holding_fewer_entries_than_it_declares_is_refused_naming_the_section(tongzhou):
    document = declared(tongzhou)
    held = len(document["organisations"])
    document["organisations"] = document["organisations"][:-1]  # cut off between two entries

    found = problems(document)

    assert found == {"entries.organisations": (
        f"the file declares {held} entries of organisations and holds {held - 1}: it was probably cut off while "
        "being copied or uploaded (copy it again); if organisations was edited by hand, correct `entries` or "
        "remove it")}
    assert not any(row_counts().values())


def test_a_file_cut_off_before_a_declared_section_is_refused(tongzhou):
    document = declared(tongzhou)
    del document["organisations"]

    assert list(problems(document)) == ["entries.organisations"]


def test_a_file_cut_inside_an_entry_is_named_both_as_cut_and_by_what_the_entry_lacks(tongzhou):
    document = declared(tongzhou)
    document["organisations"] = document["organisations"][:2]
    del document["organisations"][1]["kind"]  # the entry's lines after its key were lost

    found = problems(document)

    assert list(found)[0] == "entries.organisations"
    assert found["organisations[1].kind"] == "is required"


def test_a_file_without_entries_is_not_asked_for_them(tongzhou):
    assert "entries" not in tongzhou
    assert load_world(tongzhou)["organisations"]["created"] == len(tongzhou["organisations"])


@pytest.mark.parametrize("entries, path, reason", [
    ({"organisatons": 1}, "entries.organisatons", "did you mean 'organisations'?"),
    ({"organisations": -1}, "entries.organisations", "less than the minimum of 0"),
    ({"organisations": "4"}, "entries.organisations", "is a text; expected integer"),
])
def test_a_malformed_entries_head_is_refused_by_the_schema(tongzhou, entries, path, reason):
    found = problems({**tongzhou, "entries": entries})

    assert reason in found[path], found

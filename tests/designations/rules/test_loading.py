"""Rule sets are data: the shipped files load, each version is chosen by date, and a file the
engine could misread is refused, naming the file, the table and the rows."""

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from kechuang.designations.rules import loader
from kechuang.designations.rules.loader import DATA, RuleSetError, load_directories, rule_sets
from kechuang.designations.rules.screening import ScreeningError, find_rule_set

from .conftest import evaluate, facts, rules

SHIPPED = ["HNTE-2016", "INNOVATIVE-SME-2022", "LITTLE-GIANT-2022", "LITTLE-GIANT-2026", "SRDI-SME-2022",
           "SRDI-SME-2026", "TECH-INNOVATIVE-SME-2026", "TECH-SME-2017"]


def test_every_shipped_rule_set_loads():
    assert sorted(rule_sets()) == SHIPPED


def test_every_metric_a_rule_set_reads_is_in_the_catalogue():
    catalogue = {entry["code"] for entry in yaml.safe_load(loader.METRICS_CATALOGUE.read_text(encoding="utf-8"))}
    for rule_set in rule_sets().values():
        assert rule_set.metric_codes <= catalogue, rule_set.code


def test_numbers_are_read_exactly_never_as_float():
    hnte = rules("HNTE-2016")
    rows = next(c for c in hnte.criteria if c.code == "rd-intensity").bracket.bands
    assert [row.threshold for row in rows] == [Decimal(5), Decimal(4), Decimal(3)]
    assert [row.upper for row in rows[:2]] == [Decimal(50_000_000), Decimal(200_000_000)]
    data = loader.read_yaml(DATA / "hnte-2016.yaml")
    assert isinstance(data["parameters"]["conversion_years"]["value"], int)
    assert isinstance(yaml.load("x: 4.99", Loader=loader._DecimalLoader)["x"], Decimal)


def test_unverified_numbers_are_parameters_marked_unverified():
    hnte = rules("HNTE-2016")
    assert {p.name for p in hnte.unverified_parameters} == {"conversion_years", "growth_item_points", "growth_bands"}
    score = next(c for c in hnte.criteria if c.code == "innovation-score")
    assert not score.verified
    assert any("growth bands" in note.en for note in score.notes)
    assert next(c for c in hnte.criteria if c.code == "rd-intensity").verified
    innovative = rules("INNOVATIVE-SME-2022")
    assert innovative.parameters["band_edges"].value == "higher-points"
    assert not innovative.parameters["band_edges"].verified


# --- the version in force on the screening date -------------------------------------------------


@pytest.mark.parametrize(("family", "day", "expected"), [
    ("little-giant", dt.date(2026, 3, 31), "LITTLE-GIANT-2022"),
    ("little-giant", dt.date(2026, 4, 1), "LITTLE-GIANT-2026"),
    ("srdi-sme", dt.date(2026, 3, 31), "SRDI-SME-2022"),
    ("srdi-sme", dt.date(2026, 4, 1), "SRDI-SME-2026"),
    ("innovative-sme", dt.date(2026, 3, 31), "INNOVATIVE-SME-2022"),
    ("innovative-sme", dt.date(2026, 4, 1), "TECH-INNOVATIVE-SME-2026"),
    ("tech-innovative-sme", dt.date(2026, 4, 1), "TECH-INNOVATIVE-SME-2026"),
    ("hnte", dt.date(2026, 4, 1), "HNTE-2016"),
    ("tech-sme", dt.date(2026, 4, 1), "TECH-SME-2017"),
    ("LITTLE-GIANT-2026", dt.date(2026, 4, 1), "LITTLE-GIANT-2026"),
    ("hnte-2016", dt.date(2020, 1, 1), "HNTE-2016"),
])
def test_the_rule_set_applied_is_the_one_in_force_on_the_date(family, day, expected):
    assert find_rule_set(family, day).code == expected


def test_a_version_not_in_force_on_the_date_is_refused_naming_the_one_that_is():
    with pytest.raises(ScreeningError) as error:
        find_rule_set("LITTLE-GIANT-2022", dt.date(2026, 4, 1))
    assert "LITTLE-GIANT-2022 is in force from 2022-08-01 (until 2026-04-01)" in error.value.reason
    assert "LITTLE-GIANT-2026" in error.value.reason
    with pytest.raises(ScreeningError, match="LITTLE-GIANT-2026 is in force from 2026-04-01"):
        find_rule_set("LITTLE-GIANT-2026", dt.date(2026, 3, 31))


def test_no_version_before_the_first_and_unknown_names_are_refused():
    with pytest.raises(ScreeningError, match="no hnte rule set is in force on 2015-12-31"):
        find_rule_set("hnte", dt.date(2015, 12, 31))
    with pytest.raises(ScreeningError, match="no rule set or family is named 'gazelle'"):
        find_rule_set("gazelle", dt.date(2026, 4, 1))


def test_the_2026_base_tier_keeps_the_2022_scoring_under_its_new_title():
    old, new = rules("INNOVATIVE-SME-2022"), rules("TECH-INNOVATIVE-SME-2026")
    assert (old.grants, new.grants) == ("innovative-sme", "tech-innovative-sme")
    assert new.based_on == "INNOVATIVE-SME-2022"
    assert [c.code for c in new.all_criteria()] == [c.code for c in old.all_criteria()]
    assert "miit-2026-2" in new.sources and "miit-2022-63" in new.sources


def test_the_same_enterprise_is_judged_by_different_rules_either_side_of_2026_04_01():
    # A specialised SME with 2 years in its segment and revenue of 12 million yuan: enough under
    # 63号文 (2 years, 10 million), not under 2号文 (3 years, 15 million).
    given = facts(years=(2024, 2025), years_in_segment=2, operating_revenue=12_000_000)
    before, _ = evaluate("SRDI-SME-2022", given, on=dt.date(2026, 3, 31))
    after, _ = evaluate("SRDI-SME-2026", given, on=dt.date(2026, 4, 1))
    assert before["segment-years"].status == "pass" and before["revenue-amount"].status == "pass"
    assert after["segment-years"].status == "fail" and after["revenue-amount"].status == "fail"


# --- refusing an inconsistent file ------------------------------------------------------------


@pytest.fixture
def rules_dir(tmp_path):
    """A copy of the shipped rule sets to break one at a time."""
    directory = tmp_path / "rules"
    shutil.copytree(DATA, directory)
    return directory


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def refusal(directory: Path) -> str:
    with pytest.raises(RuleSetError) as error:
        load_directories([directory])
    return str(error.value)


def test_overlapping_brackets_are_refused_naming_file_table_and_rows(rules_dir):
    edit(rules_dir / "hnte-2016.yaml", "- {from: 5000万元, to: 2亿元, threshold: 4%}",
         "- {from: 4000万元, to: 2亿元, threshold: 4%}")
    message = refusal(rules_dir)
    assert message.startswith("hnte-2016.yaml: criteria[rd-intensity].at_least.bracket.rows: ")
    assert "rows 1 and 2 overlap between 40 million yuan and 50 million yuan" in message


def test_gapped_brackets_are_refused(rules_dir):
    edit(rules_dir / "hnte-2016.yaml", "- {from: 2亿元, threshold: 3%}", "- {from: 3亿元, threshold: 3%}")
    message = refusal(rules_dir)
    assert "hnte-2016.yaml: criteria[rd-intensity].at_least.bracket.rows" in message
    assert "a gap between rows 2 and 3: no row holds values between 200 million yuan and 300 million yuan" in message


def test_a_bracket_edge_held_by_both_rows_or_by_neither_is_refused(rules_dir):
    edit(rules_dir / "hnte-2016.yaml", "- {from: 5000万元, to: 2亿元, threshold: 4%}",
         "- {from: 5000万元, from_inclusive: true, to: 2亿元, threshold: 4%}")
    assert "rows 1 and 2 overlap at 50 million yuan: both include it" in refusal(rules_dir)
    edit(rules_dir / "hnte-2016.yaml", "from_inclusive: true", "from_inclusive: false")
    edit(rules_dir / "hnte-2016.yaml", "- {to: 5000万元, threshold: 5%}",
         "- {to: 5000万元, to_inclusive: false, threshold: 5%}")
    assert "a gap between rows 1 and 2: neither holds 50 million yuan itself" in refusal(rules_dir)


def test_a_table_must_cover_every_value(rules_dir):
    edit(rules_dir / "hnte-2016.yaml", "- {to: 5000万元, threshold: 5%}", "- {from: 0元, to: 5000万元, threshold: 5%}")
    assert "a gap: no row holds values below 0 yuan (row 1 starts there)" in refusal(rules_dir)


def test_a_score_table_whose_bands_overlap_is_refused(rules_dir):
    edit(rules_dir / "innovative-sme-2022.yaml", "- {from: 3%, to: 5%, points: 15}", "- {from: 3%, to: 6%, points: 15}")
    message = refusal(rules_dir)
    assert message.startswith("innovative-sme-2022.yaml: criteria[score].score.items[rd-intensity].bands:")
    assert "rows 1 and 2 overlap between 5% and 6%" in message


def test_a_band_worth_more_than_its_item_is_refused(rules_dir):
    edit(rules_dir / "tech-sme-2017.yaml", "- {from: 30%, points: 20}", "- {from: 30%, points: 25}")
    assert "row 1 gives 25 points; the item is worth at most 20" in refusal(rules_dir)


def test_a_parameter_table_is_checked_like_any_other(rules_dir):
    edit(rules_dir / "hnte-2016.yaml", "- {from: 25%, to: 35%, points: [7, 8]}", "- {from: 20%, to: 35%, points: [7, 8]}")
    message = refusal(rules_dir)
    assert "hnte-2016.yaml: criteria[innovation-score].score.items[net-asset-growth].bands" in message
    assert "rows 2 and 3 overlap between 20% and 25%" in message


def test_two_versions_in_force_on_one_day_are_refused(rules_dir):
    edit(rules_dir / "little-giant-2022.yaml", "effective_to: 2026-04-01", "effective_to: 2026-05-01")
    message = refusal(rules_dir)
    assert "little-giant-2026.yaml: effective_from" in message
    assert "overlaps LITTLE-GIANT-2022 in little-giant-2022.yaml" in message


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("formula: share(rd_3y, sales_3y)", "formula: share(rd_3y, sales_3y", "figures.rd_intensity_3y.formula"),
    ("formula: share(rd_3y, sales_3y)", "formula: share(rd_3y, turnover)", "no figure is named 'turnover'"),
    ("formula: ip_class_1 + ip_class_2", "formula: ip_items + 1", "ip_items → ip_items refers back to itself"),
    ("remedy: {figure: rd_3y,", "remedy: {figure: net_assets,", "net_assets is not one of the figures"),
    ("at_least: 10%", "at_least: 10万元", "'10万元' is not in percent"),
    ("judgement: no_major_incident", "judgement: ip_advancement", "'ip_advancement' is not a yes-no judgement"),
    ("    figure: years_registered\n    at_least: 1", "    figure: years_registered\n    at_least: 1\n    below: 3",
     "exactly one of at_least, above, at_most, below"),
    ("grants: hnte", "grants: gazelle", "'gazelle' is not a designation type"),
    ("unit: money\n    name_zh: 销售收入", "unit: yuan\n    name_zh: 销售收入", "'yuan' is not one of money"),
])
def test_other_mistakes_are_refused_with_their_place(rules_dir, old, new, expected):
    edit(rules_dir / "hnte-2016.yaml", old, new)
    message = refusal(rules_dir)
    assert message.startswith("hnte-2016.yaml: ")
    assert expected in message


# --- parameters a deployment overrides ------------------------------------------------------------


def test_a_deployment_overrides_a_parameter_and_the_rule_set_says_so(settings):
    settings.ELIGIBILITY_PARAMETERS = {"INNOVATIVE-SME-2022": {"band_edges": "lower-inclusive"}}
    innovative = rules("INNOVATIVE-SME-2022")
    assert innovative.parameters["band_edges"].overridden
    # Debt exactly 55%: the higher-scoring band (10 points) by default; [55%, 75%) → 5 once overridden.
    given = facts(years=(2024, 2025), liabilities=55, total_assets=100)
    found, _ = evaluate("INNOVATIVE-SME-2022", given, on=dt.date(2026, 3, 31))
    item = next(i for i in found["score"].items if i.item.code == "debt-ratio")
    assert item.low == 5
    assert any("overridden" in note.en for note in found["score"].criterion.notes)


def test_an_override_of_an_unknown_parameter_is_refused(settings):
    settings.ELIGIBILITY_PARAMETERS = {"HNTE-2016": {"growth_band": 1}}
    with pytest.raises(RuleSetError, match="hnte-2016.yaml has no parameter 'growth_band'"):
        rule_sets()
    settings.ELIGIBILITY_PARAMETERS = {"HNTE-2099": {}}
    with pytest.raises(RuleSetError, match="no rule set has the code HNTE-2099"):
        rule_sets()


def test_a_new_rule_set_is_a_new_file(tmp_path):
    # A bureau's own 2027 HNTE revision: the 2016 file ends, the new one starts, with one threshold changed.
    directory = tmp_path / "rules"
    shutil.copytree(DATA, directory)
    edit(directory / "hnte-2016.yaml", "effective_from: 2016-01-01", "effective_from: 2016-01-01\neffective_to: 2027-01-01")
    text = (directory / "hnte-2016.yaml").read_text(encoding="utf-8")
    text = text.replace("code: HNTE-2016", "code: HNTE-2027").replace("effective_from: 2016-01-01\neffective_to: 2027-01-01",
                                                                   "effective_from: 2027-01-01")
    (directory / "hnte-2027.yaml").write_text(text.replace("at_least: 10%", "at_least: 12%"), encoding="utf-8")
    loaded = load_directories([directory])
    assert loaded["HNTE-2016"].effective_to == dt.date(2027, 1, 1)
    st = next(c for c in loaded["HNTE-2027"].criteria if c.code == "st-personnel")
    assert st.threshold == 12

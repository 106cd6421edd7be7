"""Missing data is never a pass, and every outcome is told in Chinese and English: what failed, by
how much, and what would make it pass."""

import datetime as dt
from decimal import Decimal

import pytest

from kechuang.designations.rules import explain
from kechuang.designations.rules.engine import Evaluator, Facts
from kechuang.designations.rules.loader import load_file

from .conftest import ON, YEAR, evaluate, facts, rules

NAMES = {"rd-expenditure": ("研发费用", "R&D expenditure"), "operating-revenue": ("营业收入", "operating revenue")}


def sentence(outcome, language: str) -> str:
    return explain.text(outcome, YEAR, language, NAMES, ON)


# --- missing data ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["HNTE-2016", "INNOVATIVE-SME-2022", "SRDI-SME-2022", "SRDI-SME-2026",
                                  "LITTLE-GIANT-2022", "LITTLE-GIANT-2026", "TECH-SME-2017",
                                  "TECH-INNOVATIVE-SME-2026"])
def test_an_enterprise_with_no_figures_passes_nothing_that_needs_figures(code):
    rule_set = rules(code)
    on = rule_set.effective_from if rule_set.effective_to else ON
    outcomes, overall = Evaluator(rule_set, on).evaluate(Facts(held=set()))
    assert overall.status in ("missing", "fail")
    for outcome in outcomes:
        for criterion in outcome.criterion.walk():
            if criterion.kind in ("compare", "score", "bracket"):
                found = _find(outcome, criterion.code)
                assert found is None or found.status != "pass", (code, criterion.code)


def _find(outcome, code):
    if outcome.criterion.code == code:
        return outcome
    for child in outcome.children:
        if (found := _find(child, code)) is not None:
            return found
    return None


def test_one_missing_year_makes_a_three_year_ratio_missing_and_says_which():
    given = facts({("operating-revenue", 2023): 100, ("operating-revenue", 2024): 100, ("operating-revenue", 2025): 100,
                   ("rd-expenditure", 2023): 50, ("rd-expenditure", 2025): 50})
    outcome = evaluate("HNTE-2016", given)[0]["rd-intensity"]
    assert outcome.status == "missing" and outcome.missing == (("rd-expenditure", 2024),)
    assert "missing data: R&D expenditure for 2024" in sentence(outcome, "en")
    assert "缺少数据：2024年研发费用" in sentence(outcome, "zh")


def test_a_ratio_over_zero_is_missing_not_a_pass():
    outcome = evaluate("HNTE-2016", facts(employees=0, st_personnel=0))[0]["st-personnel"]
    assert (outcome.status, outcome.reason) == ("missing", "undefined")
    assert "cannot be computed" in sentence(outcome, "en")


def test_a_score_with_a_missing_item_is_missing_even_when_every_other_item_is_full():
    # Everything at full marks except the main-business share, which is not reported.
    given = facts({("operating-revenue", YEAR): 100, ("rd-expenditure", YEAR): 10, ("main-business-revenue", 2024): 50,
                   ("liabilities", YEAR): 10, ("total-assets", YEAR): 100, ("ip-class-1-high-value", YEAR): 1,
                   ("ip-class-1-own", YEAR): 1, ("ip-class-1", YEAR): 1, ("ip-class-2", YEAR): 1},
                  judgements={"main_product_field": "strategic-emerging"})
    found, overall = evaluate("INNOVATIVE-SME-2022", given, on=dt.date(2026, 3, 31))
    assert found["score"].status == "missing"
    assert overall.status != "pass"
    assert "items lacking data" in sentence(found["score"], "en")


def test_a_score_that_cannot_reach_its_threshold_fails_even_with_data_missing():
    given = facts({("operating-revenue", YEAR): 100, ("rd-expenditure", YEAR): 0, ("liabilities", YEAR): 90,
                   ("total-assets", YEAR): 100, ("ip-class-1-high-value", YEAR): 0, ("ip-class-1-own", YEAR): 0,
                   ("ip-class-1", YEAR): 0, ("ip-class-2", YEAR): 0})
    found, _ = evaluate("INNOVATIVE-SME-2022", given, on=dt.date(2026, 3, 31))
    assert found["score"].status == "fail"  # innovation is 0 of at most 20 + 0: the floor of 20 is out of reach


def test_an_unknown_designation_registry_is_missing_data():
    found, _ = evaluate("SRDI-SME-2026", facts(held=None))
    assert found["base-tier"].status == "missing"
    assert "designation registry is not available" in sentence(found["base-tier"], "en")


def test_an_expert_judgement_not_given_is_awaited_not_missing_and_never_a_pass():
    outcome = evaluate("HNTE-2016", facts())[0]["technology-field"]
    assert outcome.status == "awaiting"
    assert sentence(outcome, "en").endswith("awaiting expert judgement.")
    assert "待专家评审" in sentence(outcome, "zh")
    given = evaluate("HNTE-2016", facts(judgements={"core_technology_field": True}))[0]["technology-field"]
    assert given.status == "pass"


def test_groups_combine_as_three_valued_logic():
    # Little giant 2026: any of domestic share, international share, rank. Domestic 5% fails, the rest unknown.
    found, _ = evaluate("LITTLE-GIANT-2026", facts(segment_market_share=5))
    assert found["market-share-domestic"].status == "fail"
    assert found["market-share"].status == "missing"
    found, _ = evaluate("LITTLE-GIANT-2026", facts(segment_market_share=5, international_segment_market_share=11))
    assert found["market-share"].status == "pass"


# --- the sentences -----------------------------------------------------------------------------


def shortfall_case():
    """R&D 3.4% of 320 million yuan over 2023–2025, last year's sales 120 million (the 4% bracket)."""
    sales = {2023: 100_000_000, 2024: 100_000_000, 2025: 120_000_000}
    values = {("operating-revenue", year): amount for year, amount in sales.items()}
    values.update({("rd-expenditure", 2023): 3_400_000, ("rd-expenditure", 2024): 3_400_000,
                   ("rd-expenditure", 2025): 4_080_000})
    return evaluate("HNTE-2016", facts(values))[0]["rd-intensity"]


def test_a_fail_says_the_figure_the_years_the_threshold_and_the_shortfall_in_english():
    outcome = shortfall_case()
    assert outcome.status == "fail"
    assert outcome.remedies == ((2025, Decimal("1920000.00")),)  # 0.6% of 320 million
    assert sentence(outcome, "en") == (
        "R&D intensity 3.4% over 2023–2025; needs ≥ 4% for sales revenue above 50 million yuan up to "
        "200 million yuan (120 million yuan in 2025): 0.6 percentage points short, about 1.92 million yuan more "
        "R&D over 2023–2025.")


def test_a_fail_in_chinese():
    assert sentence(shortfall_case(), "zh") == (
        "2023–2025年研发费用占销售收入比例为3.4%；2025年销售收入为1.2亿元（5000万元（不含）至2亿元（含））时"
        "要求≥4%：差0.6个百分点，约需2023–2025年合计增加研发费用192万元。")


def test_a_pass_in_both_languages():
    given = facts(employees=100, st_personnel=12)
    outcome = evaluate("HNTE-2016", given)[0]["st-personnel"]
    assert sentence(outcome, "en") == "S&T personnel share of employees 12% in 2025: meets ≥ 10%."
    assert sentence(outcome, "zh") == "2025年科技人员占职工总数比例为12%，达到≥10%的要求。"


def test_a_value_just_below_its_threshold_is_not_shown_rounded_up_to_it():
    outcome = evaluate("HNTE-2016", facts(employees=100000, st_personnel=9999))[0]["st-personnel"]
    assert "9.999%" in sentence(outcome, "en") and "0.001 percentage points short" in sentence(outcome, "en")


def test_a_ceiling_exceeded_says_over_and_what_to_reduce():
    outcome = evaluate("LITTLE-GIANT-2026", facts(liabilities=80_000_000, total_assets=100_000_000))[0]["debt-ratio"]
    assert outcome.status == "fail"
    text = sentence(outcome, "en")
    # (80 − 20) / (100 − 20) = 75%: repaying 20 million yuan of debt from the assets.
    assert ("debt-to-asset ratio 80% in 2025; needs ≤ 75%: 5 percentage points over, about 20 million yuan less "
            "liabilities (repaid from assets) in 2025.") in text
    assert "超出5个百分点，约需2025年减少负债（以资产偿还）2000万元" in sentence(outcome, "zh")


def test_a_part_of_a_whole_is_remedied_with_the_whole_growing_with_it():
    # High-tech revenue 50 of 100: (50 + 25) / (100 + 25) = 60%, not 50 + 10.
    outcome = evaluate("HNTE-2016", facts(operating_revenue=100_000_000,
                                          high_tech_product_revenue=50_000_000))[0]["high-tech-revenue"]
    assert outcome.remedies == ((2025, Decimal("25000000.00")),)
    # Domestic R&D 5 of 10 a year over 3 years: (15 + 7.5) / (30 + 7.5) = 60%.
    given = facts(years=(2023, 2024, 2025), rd_expenditure=10_000_000, rd_expenditure_domestic=5_000_000)
    assert evaluate("HNTE-2016", given)[0]["rd-domestic"].remedies == ((2025, Decimal("7500000.00")),)


def test_a_growth_rate_is_remedied_by_search(tmp_path):
    # A rule set of one criterion: compound revenue growth over 2 years of at least 5%, remedied by
    # last year's revenue. 10000 → 10000 → 10000 is 0%; 11025 in 2025 makes it 5%.
    (tmp_path / "growth.yaml").write_text("""
code: GROWTH-TEST
family: growth-test
grants: tech-sme
name_zh: 增长
name_en: growth
effective_from: 2020-01-01
sources: {test: {title: a test}}
figures:
  revenue: {metric: operating-revenue, unit: money, name_zh: 营业收入, name_en: revenue}
  growth: {growth: revenue, years: 2, average: compound, unit: percent, name_zh: 复合增长率, name_en: growth}
criteria:
  - {code: growth, name_zh: 增长, name_en: growth, figure: growth, at_least: 5%,
     remedy: {figure: revenue, name_zh: 营业收入, name_en: revenue}}
""", encoding="utf-8")
    rule_set = load_file(tmp_path / "growth.yaml")
    given = facts({("operating-revenue", 2023): 10000, ("operating-revenue", 2024): 10000,
                   ("operating-revenue", 2025): 10000})
    outcomes, _ = Evaluator(rule_set, ON).evaluate(given)
    assert outcomes[0].status == "fail" and outcomes[0].remedies == ((2025, Decimal("1025.00")),)
    assert "about 1,025 yuan more revenue in 2025" in sentence(outcomes[0], "en")

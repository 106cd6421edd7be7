"""Every threshold of every shipped rule set, on both sides of it, and the edges of every bracket.

The engine is fed facts by hand (no database): the screening date is 2026-04-01 for the 2026
measures and 2026-03-31 for the 2022 ones, so "last year" is 2025 and the last 3 years 2023–2025.
"""

import datetime as dt
from decimal import Decimal

import pytest

from .conftest import YEAR, evaluate, facts

BEFORE = dt.date(2026, 3, 31)  # the 2022 gradient measures
D = Decimal


def status(code: str, criterion: str, given, on=dt.date(2026, 4, 1)) -> str:
    return evaluate(code, given, on)[0][criterion].status


def item_points(code: str, item: str, given, on=BEFORE):
    found, _ = evaluate(code, given, on)
    score = next(o for o in found.values() if o.criterion.kind == "score")
    outcome = next(i for i in score.items if i.item.code == item)
    return outcome.low if outcome.low == outcome.high else (outcome.low, outcome.high)


# --- HNTE (国科发火〔2016〕32号 art. 11) ----------------------------------------------------------


def hnte_rd(sales: int | str, intensity: str):
    """Sales the same in each of 2023–2025 and R&D at `intensity` percent of it."""
    rd = D(str(sales)) * D(intensity) / 100
    return facts(years=(2023, 2024, 2025), operating_revenue=sales, rd_expenditure=rd)


@pytest.mark.parametrize(("sales", "intensity", "expected", "threshold"), [
    # The bracket edge itself: 5000万元 is in the first bracket ("小于5,000万元（含）"): 5%.
    (50_000_000, "4.99", "fail", 5), (50_000_000, "5.00", "pass", 5),
    # A yuan above it is in the second bracket: 4%.
    (50_000_001, "3.99", "fail", 4), (50_000_001, "4.00", "pass", 4),
    (49_999_999, "4.99", "fail", 5),
    # 2亿元 is in the second bracket ("5,000万元至2亿元（含）"); above it 3%.
    (200_000_000, "3.99", "fail", 4), (200_000_000, "4.00", "pass", 4),
    (200_000_001, "2.99", "fail", 3), (200_000_001, "3.00", "pass", 3),
])
def test_hnte_rd_intensity_by_sales_bracket(sales, intensity, expected, threshold):
    outcome = evaluate("HNTE-2016", hnte_rd(sales, intensity))[0]["rd-intensity"]
    assert (outcome.status, outcome.threshold) == (expected, threshold)


def test_hnte_bracket_is_chosen_by_last_years_sales_alone():
    # 2023 and 2024 were large, 2025 small: the 5% bracket of 2025's sales applies to the 3-year ratio.
    given = facts({("operating-revenue", 2023): 300_000_000, ("operating-revenue", 2024): 300_000_000,
                   ("operating-revenue", 2025): 40_000_000}, years=(2023, 2024, 2025), rd_expenditure=10_000_000)
    outcome = evaluate("HNTE-2016", given)[0]["rd-intensity"]
    assert outcome.threshold == 5 and outcome.band.row == 1


@pytest.mark.parametrize(("founded", "expected"), [
    (dt.date(2025, 4, 1), "pass"),  # one full year on 2026-04-01
    (dt.date(2025, 4, 2), "fail"),
    (dt.date(2024, 2, 29), "pass"),
])
def test_hnte_registered_for_one_year(founded, expected):
    assert status("HNTE-2016", "registered", facts(founded=founded)) == expected


@pytest.mark.parametrize(("criterion", "figures", "expected"), [
    ("st-personnel", {"employees": 1000, "st_personnel": 100}, "pass"),
    ("st-personnel", {"employees": 1000, "st_personnel": "99.9"}, "fail"),
    ("owns-ip", {"ip_class_1": 0, "ip_class_2": 1}, "pass"),
    ("owns-ip", {"ip_class_1": 0, "ip_class_2": 0}, "fail"),
    ("high-tech-revenue", {"operating_revenue": 100, "high_tech_product_revenue": 60}, "pass"),
    ("high-tech-revenue", {"operating_revenue": 10000, "high_tech_product_revenue": 5999}, "fail"),
])
def test_hnte_last_year_shares(criterion, figures, expected):
    assert status("HNTE-2016", criterion, facts(**figures)) == expected


@pytest.mark.parametrize(("domestic", "expected"), [("600", "pass"), ("599.99", "fail")])
def test_hnte_domestic_rd_share(domestic, expected):
    given = facts(years=(2023, 2024, 2025), rd_expenditure=1000, rd_expenditure_domestic=domestic)
    assert status("HNTE-2016", "rd-domestic", given) == expected


HNTE_JUDGED = {"ip_advancement": 8, "ip_core_support": 8, "ip_standards": 2, "ip_acquisition": "own-rd",
               "conversion_rules": 0, "talent": 0, "rd_institution": 0}


def hnte_score(management: int, **figures):
    judgements = {**HNTE_JUDGED, "rd_rules": management}
    values = {"ip_class_1": 1, "ip_class_2": 0, **figures}
    given = facts(judgements=judgements, years=(2023, 2024, 2025), technology_conversions=5, **values)
    for year, amount in ((2023, 100), (2024, 140), (2025, 196)):  # growth of 40% a year: 9–10 points each
        given.values[("net-assets", year)] = D(amount)
        given.values[("operating-revenue", year)] = D(amount)
    return evaluate("HNTE-2016", given)[0]["innovation-score"]


def test_hnte_score_must_exceed_70():
    # IP 26–30 (quantity 7–8, acquisition 1–6), conversions 25–30, growth 18–20, management as given.
    passing = hnte_score(management=2)
    assert (passing.low, passing.status) == (71, "pass")
    at_70 = hnte_score(management=1)  # 70 at the least: "above 70" is not met yet, experts decide
    assert (at_70.low, at_70.status) == (70, "awaiting")


def test_hnte_score_fails_when_even_full_marks_reach_only_70():
    # IP 19–21 (no IP items: 0; acquisition 1–3), conversions 7–12, management 17, growth 18–20: 61–70.
    judgements = {**HNTE_JUDGED, "ip_acquisition": "transfer-only", "rd_rules": 6, "rd_institution": 6,
                  "conversion_rules": 4, "talent": 1}
    given = facts(judgements=judgements, years=(2023, 2024, 2025), technology_conversions=2, ip_class_1=0,
                  ip_class_2=0)
    for year, amount in ((2023, 100), (2024, 140), (2025, 196)):
        given.values[("net-assets", year)] = D(amount)
        given.values[("operating-revenue", year)] = D(amount)
    outcome = evaluate("HNTE-2016", given)[0]["innovation-score"]
    assert (outcome.low, outcome.high, outcome.status, outcome.gap) == (61, 70, "fail", 0)


@pytest.mark.parametrize(("growth", "points"), [
    ("35", (9, 10)), ("34.99", (7, 8)), ("5", (3, 4)), ("0.01", (1, 2)), ("0", 0), ("-3", 0)])
def test_hnte_growth_bands(growth, points):
    rate = 1 + D(growth) / 100
    values = {("net-assets", 2023): D(1000), ("net-assets", 2024): 1000 * rate, ("net-assets", 2025): 1000 * rate * rate}
    assert item_points("HNTE-2016", "net-asset-growth", facts(values), on=dt.date(2026, 4, 1)) == points


# --- 创新型中小企业 (63号文 Annex 1) -----------------------------------------------------------


@pytest.mark.parametrize(("item", "figures", "points"), [
    ("rd-intensity", {"operating_revenue": 10000, "rd_expenditure": 500}, 20),  # 5.00%: the higher band
    ("rd-intensity", {"operating_revenue": 10000, "rd_expenditure": 499}, 15),
    ("rd-intensity", {"operating_revenue": 10000, "rd_expenditure": 300}, 15),
    ("rd-intensity", {"operating_revenue": 10000, "rd_expenditure": 299}, 10),
    ("rd-intensity", {"operating_revenue": 10000, "rd_expenditure": 100}, 5),
    ("rd-intensity", {"operating_revenue": 10000, "rd_expenditure": 99}, 0),
    ("debt-ratio", {"liabilities": 5500, "total_assets": 10000}, 10),  # 55%: the higher band
    ("debt-ratio", {"liabilities": 5501, "total_assets": 10000}, 5),
    ("debt-ratio", {"liabilities": 7500, "total_assets": 10000}, 5),
    ("debt-ratio", {"liabilities": 7501, "total_assets": 10000}, 0),
    ("main-share", {"main_business_revenue": 7000, "operating_revenue": 10000}, 20),
    ("main-share", {"main_business_revenue": 6999, "operating_revenue": 10000}, 15),
    ("main-share", {"main_business_revenue": 5000, "operating_revenue": 10000}, 5),
    ("main-share", {"main_business_revenue": 4999, "operating_revenue": 10000}, 0),
])
def test_innovative_sme_score_bands(item, figures, points):
    assert item_points("INNOVATIVE-SME-2022", item, facts(**figures)) == points


@pytest.mark.parametrize(("last", "points"), [(11500, 20), (11499, 15), (10000, 5), (9999, 0)])
def test_innovative_sme_growth_bands(last, points):
    given = facts({("main-business-revenue", 2024): 10000, ("main-business-revenue", 2025): last})
    assert item_points("INNOVATIVE-SME-2022", "main-revenue-growth", given) == points


def innovative(rd: int, growth_last: int, share_main: int, field: str = "strategic-emerging", **extra):
    """IP 10 (Class I), R&D as given of 10000 revenue, debt 50% (10), field as given."""
    values = {("operating-revenue", YEAR): 10000, ("rd-expenditure", YEAR): rd,
              ("main-business-revenue", 2024): 5000, ("main-business-revenue", YEAR): growth_last,
              ("liabilities", YEAR): 50, ("total-assets", YEAR): 100, ("ip-class-1", YEAR): 1,
              ("ip-class-1-own", YEAR): 0, ("ip-class-1-high-value", YEAR): 0, ("ip-class-2", YEAR): 0,
              **extra}
    values[("main-business-revenue", YEAR)] = share_main
    values[("main-business-revenue", 2024)] = D(share_main) * 100 / D(100 + growth_last)
    return facts(values, judgements={"main_product_field": field})


def test_innovative_sme_score_of_60_with_the_group_floors():
    # innovation 10 (IP) + 10 (R&D 2%) = 20; growth 10 (debt) + 5 (growth 0–5%) = 15; specialisation 10 + 15 = 25: 60.
    found, _ = evaluate("INNOVATIVE-SME-2022", innovative(rd=200, growth_last=0, share_main=6000), on=BEFORE)
    assert (found["score"].low, found["score"].status) == (60, "pass")
    # 59 in total: innovation 20 but R&D 1.99% → 5: the score fails on the total and the innovation floor.
    found, _ = evaluate("INNOVATIVE-SME-2022", innovative(rd=199, growth_last=0, share_main=6000), on=BEFORE)
    assert found["score"].status == "fail"


def test_innovative_sme_group_floor_fails_a_score_above_60():
    # 20 + 20 + 0 (growth < 0: 0) + 10 (debt) + 10 + 20 = 80, but growth is 10 < 15.
    found, _ = evaluate("INNOVATIVE-SME-2022", innovative(rd=500, growth_last=-1, share_main=7000), on=BEFORE)
    assert found["score"].low == 80 - 10 and found["score"].status == "fail"
    assert found["score"].gap == 5


@pytest.mark.parametrize(("equity", "expected"), [(5_000_000, "pass"), ("4999999.99", "fail")])
def test_innovative_sme_direct_pass_by_equity(equity, expected):
    given = facts({("new-equity-financing", 2023): 0, ("new-equity-financing", 2024): 0,
                   ("new-equity-financing", 2025): equity})
    assert status("INNOVATIVE-SME-2022", "direct-equity", given, on=BEFORE) == expected


def test_innovative_sme_direct_pass_by_a_valid_hnte_title():
    found, overall = evaluate("INNOVATIVE-SME-2022", facts(held={"hnte"}), on=BEFORE)
    assert found["direct-honour"].status == "pass"
    assert found["evaluation"].status == "pass" and overall.status == "pass"


# --- 专精特新中小企业, 2022 and 2026 -----------------------------------------------------------


@pytest.mark.parametrize(("criterion", "figures", "expected"), [
    ("segment-years", {"years_in_segment": 2}, "pass"),
    ("segment-years", {"years_in_segment": 1}, "fail"),
    ("rd-amount", {"rd_expenditure": 1_000_000}, "pass"),
    ("rd-amount", {"rd_expenditure": "999999.99"}, "fail"),
    ("rd-intensity", {"rd_expenditure": 300, "operating_revenue": 10000}, "pass"),
    ("rd-intensity", {"rd_expenditure": 299, "operating_revenue": 10000}, "fail"),
    ("revenue-amount", {"operating_revenue": 10_000_000}, "pass"),
    ("revenue-amount", {"operating_revenue": 9_999_999}, "fail"),
    ("revenue-equity", {"new_equity_financing": 10_000_000}, "pass"),
    ("revenue-equity", {"new_equity_financing": 9_999_999}, "fail"),
    ("direct-rd", {"rd_expenditure": 10_000_000}, "pass"),
    ("direct-rd", {"rd_expenditure": 9_999_999}, "fail"),
    ("direct-equity", {"new_equity_financing": 30_000_000}, "pass"),
    ("direct-equity", {"new_equity_financing": 29_999_999}, "fail"),
])
def test_srdi_sme_2022_conditions(criterion, figures, expected):
    assert status("SRDI-SME-2022", criterion, facts(years=(2024, 2025), **figures), on=BEFORE) == expected


@pytest.mark.parametrize(("item", "figures", "points"), [
    ("main-share", {"main_business_revenue": 80, "operating_revenue": 100}, 5),
    ("main-share", {"main_business_revenue": "79.99", "operating_revenue": 100}, 3),
    ("segment-years", {"years_in_segment": 10}, 5),
    ("segment-years", {"years_in_segment": 9}, 4),
    ("segment-years", {"years_in_segment": 2}, 1),
    ("segment-years", {"years_in_segment": 1}, 0),
    ("net-margin", {"net_profit": 10, "operating_revenue": 100}, 10),
    ("net-margin", {"net_profit": "1.99", "operating_revenue": 100}, 0),
    ("debt-ratio", {"liabilities": 50, "total_assets": 100}, 5),
    ("debt-ratio", {"liabilities": "70.01", "total_assets": 100}, 0),
    ("rd-staff", {"rd_personnel": 20, "employees": 100}, 5),
    ("rd-staff", {"rd_personnel": "4.99", "employees": 100}, 0),
    # R&D input: the amount or the share, whichever scores more.
    ("rd-input", {"rd_expenditure": 5_000_000, "operating_revenue": 1_000_000_000}, 10),
    ("rd-input", {"rd_expenditure": 1_000_000, "operating_revenue": 10_000_000}, 10),
    ("rd-input", {"rd_expenditure": 999_999, "operating_revenue": 1_000_000_000}, 0),
])
def test_srdi_sme_2022_score_bands(item, figures, points):
    assert item_points("SRDI-SME-2022", item, facts(years=(2024, 2025), **figures)) == points


@pytest.mark.parametrize(("criterion", "figures", "expected"), [
    ("segment-years", {"years_in_segment": 3}, "pass"),
    ("segment-years", {"years_in_segment": 2}, "fail"),
    ("revenue-amount", {"operating_revenue": 15_000_000}, "pass"),
    ("revenue-amount", {"operating_revenue": "14999999.99"}, "fail"),
    ("main-share", {"main_business_revenue": 80, "operating_revenue": 100}, "pass"),
    ("main-share", {"main_business_revenue": "79.99", "operating_revenue": 100}, "fail"),
    ("debt-ratio", {"liabilities": 80, "total_assets": 100}, "pass"),
    ("debt-ratio", {"liabilities": "80.01", "total_assets": 100}, "fail"),
    ("ip-class-1", {"ip_class_1": 1}, "pass"),
    ("ip-class-1", {"ip_class_1": 0}, "fail"),
    ("development-score", {"srdi_development_score": 50}, "pass"),
    ("development-score", {"srdi_development_score": "49.99"}, "fail"),
])
def test_srdi_sme_2026_conditions(criterion, figures, expected):
    assert status("SRDI-SME-2026", criterion, facts(years=(2024, 2025), **figures)) == expected


def test_srdi_sme_2026_rd_must_hold_in_each_of_two_years():
    both = facts(years=(2024, 2025), rd_expenditure=1_000_000, operating_revenue=10_000_000)
    assert status("SRDI-SME-2026", "rd-amount", both) == "pass"
    assert status("SRDI-SME-2026", "rd-intensity", both) == "pass"
    one_short = facts({("rd-expenditure", 2024): "999999.99", ("rd-expenditure", 2025): 2_000_000})
    outcome = evaluate("SRDI-SME-2026", one_short)[0]["rd-amount"]
    assert outcome.status == "fail" and outcome.gap == D("0.01") and [y for y, _ in outcome.remedies] == [2024]


def test_srdi_sme_2026_needs_the_base_tier_title():
    assert status("SRDI-SME-2026", "base-tier", facts(held={"innovative-sme"})) == "pass"
    assert status("SRDI-SME-2026", "base-tier", facts(held={"tech-innovative-sme"})) == "pass"
    assert status("SRDI-SME-2026", "base-tier", facts(held={"hnte"})) == "fail"


# --- 专精特新"小巨人" 2022 and 2026 -------------------------------------------------------------


@pytest.mark.parametrize(("criterion", "figures", "expected"), [
    ("segment-years", {"years_in_segment": 3}, "pass"),
    ("segment-years", {"years_in_segment": 2}, "fail"),
    ("main-share", {"main_business_revenue": 70, "operating_revenue": 100}, "pass"),
    ("main-share", {"main_business_revenue": "69.99", "operating_revenue": 100}, "fail"),
    ("debt-ratio", {"liabilities": 70, "total_assets": 100}, "pass"),
    ("debt-ratio", {"liabilities": "70.01", "total_assets": 100}, "fail"),
    ("segment-share", {"segment_market_share": 10}, "pass"),
    ("segment-share", {"segment_market_share": "9.99"}, "fail"),
    ("innovation-ip", {"ip_class_1": 2}, "pass"),
    ("innovation-ip", {"ip_class_1": 1}, "fail"),
])
def test_little_giant_2022_conditions(criterion, figures, expected):
    assert status("LITTLE-GIANT-2022", criterion, facts(years=(2024, 2025), **figures), on=BEFORE) == expected


@pytest.mark.parametrize(("last", "expected"), [(11025, "pass"), (11024, "fail")])
def test_little_giant_2022_average_growth_of_5_percent(last, expected):
    # 10000 → 10500 → 11025 is 5% a year; the mean of the two yearly rates.
    given = facts({("main-business-revenue", 2023): 10000, ("main-business-revenue", 2024): 10500,
                   ("main-business-revenue", 2025): last})
    assert status("LITTLE-GIANT-2022", "main-revenue-growth", given, on=BEFORE) == expected


@pytest.mark.parametrize(("revenue", "intensity", "row", "expected"), [
    (100_000_000, "3", 1, "pass"),   # 1亿元 itself: the ≥ 1亿 bracket, 3%
    (100_000_000, "2.99", 1, "fail"),
    ("99999999.99", "5.99", 2, "fail"),  # just below: 5000万–1亿, 6%
    ("99999999.99", "6", 2, "pass"),
    (50_000_000, "6", 2, "pass"),     # 5000万元 itself: the middle bracket
])
def test_little_giant_2022_rd_by_revenue_bracket(revenue, intensity, row, expected):
    rd = D(str(revenue)) * D(intensity) / 100
    given = facts(years=(2024, 2025), operating_revenue=revenue, rd_expenditure=rd)
    found, _ = evaluate("LITTLE-GIANT-2022", given, on=BEFORE)
    assert found["innovation-rd"].band.row == row
    assert found["innovation-rd"].status == expected


@pytest.mark.parametrize(("equity", "rd_each_year", "staff", "expected"), [
    (80_000_000, 15_000_000, 50, "pass"),
    ("79999999.99", 15_000_000, 50, "fail"),
    (80_000_000, "14999999.99", 50, "fail"),
    (80_000_000, 15_000_000, "49.99", "fail"),
])
def test_little_giant_2022_small_enterprises_bracket(equity, rd_each_year, staff, expected):
    given = facts({("new-equity-financing", 2024): 0, ("new-equity-financing", 2025): equity},
                  years=(2024, 2025), operating_revenue="49999999.99", rd_expenditure=rd_each_year,
                  rd_personnel=staff, employees=100)
    found, _ = evaluate("LITTLE-GIANT-2022", given, on=BEFORE)
    assert found["innovation-rd"].band.row == 3
    assert found["innovation-rd"].status == expected


@pytest.mark.parametrize(("criterion", "figures", "expected"), [
    ("revenue", {"operating_revenue": 50_000_000}, "pass"),
    ("revenue", {"operating_revenue": "49999999.99"}, "fail"),
    ("main-share", {"main_business_revenue": 90, "operating_revenue": 100}, "pass"),
    ("main-share", {"main_business_revenue": "89.99", "operating_revenue": 100}, "fail"),
    ("debt-ratio", {"liabilities": 75, "total_assets": 100}, "pass"),
    ("debt-ratio", {"liabilities": "75.01", "total_assets": 100}, "fail"),
    ("rd-total", {"rd_expenditure": 6_000_000}, "pass"),
    ("rd-total", {"rd_expenditure": "5999999.99"}, "fail"),
    ("ip-class-1", {"ip_class_1": 4}, "pass"),
    ("ip-class-1", {"ip_class_1": 3}, "fail"),
    ("market-rank", {"segment_market_rank": 3}, "pass"),
    ("market-rank", {"segment_market_rank": 4}, "fail"),
    ("market-share-international", {"international_segment_market_share": 10}, "pass"),
    ("market-share-international", {"international_segment_market_share": "9.99"}, "fail"),
    ("development-score", {"srdi_development_score": 60}, "pass"),
    ("development-score", {"srdi_development_score": "59.99"}, "fail"),
])
def test_little_giant_2026_conditions(criterion, figures, expected):
    assert status("LITTLE-GIANT-2026", criterion, facts(years=(2024, 2025), **figures)) == expected


@pytest.mark.parametrize(("last", "expected"), [(11025, "pass"), (11024, "fail")])
def test_little_giant_2026_compound_growth_of_5_percent(last, expected):
    # CAGR over 2 years: (11025 / 10000)^(1/2) − 1 = 5% exactly.
    given = facts({("operating-revenue", 2023): 10000, ("operating-revenue", 2024): 1, ("operating-revenue", 2025): last})
    assert status("LITTLE-GIANT-2026", "revenue-growth", given) == expected


# --- 科技型中小企业 (国科发政〔2017〕115号) ---------------------------------------------------------


@pytest.mark.parametrize(("criterion", "figures", "expected"), [
    ("size-employees", {"employees": 500}, "pass"),
    ("size-employees", {"employees": 501}, "fail"),
    ("size-sales", {"operating_revenue": 200_000_000}, "pass"),
    ("size-sales", {"operating_revenue": "200000000.01"}, "fail"),
    ("size-assets", {"total_assets": 200_000_000}, "pass"),
    ("size-assets", {"total_assets": "200000000.01"}, "fail"),
    ("st-personnel-score", {"st_personnel": 10, "employees": 100}, "pass"),
    ("st-personnel-score", {"st_personnel": "9.99", "employees": 100}, "fail"),
])
def test_tech_sme_conditions(criterion, figures, expected):
    assert status("TECH-SME-2017", criterion, facts(**figures)) == expected


@pytest.mark.parametrize(("item", "figures", "points"), [
    ("st-personnel", {"st_personnel": 30, "employees": 100}, 20),  # "30%(含)": lower bound inclusive
    ("st-personnel", {"st_personnel": "29.99", "employees": 100}, 16),
    ("st-personnel", {"st_personnel": 10, "employees": 100}, 4),
    ("st-personnel", {"st_personnel": "9.99", "employees": 100}, 0),
    ("rd-input", {"rd_expenditure": 6, "operating_revenue": 100, "total_costs": 1000}, 50),
    ("rd-input", {"rd_expenditure": "5.99", "operating_revenue": 100, "total_costs": 1000}, 40),
    ("rd-input", {"rd_expenditure": 30, "operating_revenue": 10000, "total_costs": 100}, 50),  # by costs
    ("results", {"ip_class_1": 1, "ip_class_2": 0}, 30),
    ("results", {"ip_class_1": 0, "ip_class_2": 4}, 24),
    ("results", {"ip_class_1": 0, "ip_class_2": 3}, 18),
    ("results", {"ip_class_1": 0, "ip_class_2": 1}, 6),
    ("results", {"ip_class_1": 0, "ip_class_2": 0}, 0),
])
def test_tech_sme_score_bands(item, figures, points):
    assert item_points("TECH-SME-2017", item, facts(**figures), on=dt.date(2026, 4, 1)) == points


def tech_sme(st: int, rd: str):
    return facts(judgements={"general_conditions": True}, employees=100, st_personnel=st, operating_revenue=100,
                 rd_expenditure=rd, total_costs=1000, total_assets=100, ip_class_1=0, ip_class_2=1)


def test_tech_sme_score_of_60_and_a_non_zero_staff_score():
    # staff 20% → 12, R&D 5% → 40, IP 1 Class II → 6: 58; R&D 6% → 50: 68.
    assert status("TECH-SME-2017", "score", tech_sme(20, "5")) == "fail"
    found, overall = evaluate("TECH-SME-2017", tech_sme(20, "6"))
    assert found["score"].low == 68 and found["scored"].status == "pass"
    assert overall.status == "pass"
    # Staff under 10% scores 0: even a score of 60 or more does not pass.
    found, _ = evaluate("TECH-SME-2017", facts(judgements={"general_conditions": True}, employees=100,
                                               st_personnel=9, operating_revenue=100, rd_expenditure=6,
                                               total_costs=1000, total_assets=100, ip_class_1=1, ip_class_2=0))
    assert found["score"].low == 80 and found["scored"].status == "fail"


def test_tech_sme_direct_confirmation_by_hnte():
    found, _ = evaluate("TECH-SME-2017", facts(held={"hnte"}))
    assert found["direct-hnte"].status == "pass" and found["evaluation"].status == "pass"


def srdi_2022_scored(local_features: str):
    """Specialisation 25, refinement 0, innovation 20 (high-value IP 10, R&D of 5 million 10): 45, plus
    the province's local-feature points."""
    values = {("main-business-revenue", 2023): 100, ("main-business-revenue", 2024): 110,
              ("main-business-revenue", YEAR): 121}
    given = facts(values, years=(YEAR,), operating_revenue=121, years_in_segment=10, net_profit=0, liabilities=80,
                  total_assets=100, ip_class_1_high_value=1, ip_class_1_own=1, ip_class_1=1, ip_class_2=0,
                  rd_expenditure=5_000_000, rd_personnel=0, employees=100,
                  judgements={"main_product_field": "key-chain", "digitalisation": "grade-1",
                              "quality_management": "none", "rd_institution_level": "none",
                              "local_features": D(local_features)})
    given.values[("operating-revenue", YEAR)] = D(121)
    return evaluate("SRDI-SME-2022", given, on=BEFORE)[0]["score"]


def test_srdi_sme_2022_score_of_60():
    passing = srdi_2022_scored("15")
    assert (passing.low, passing.high, passing.status) == (60, 60, "pass")
    failing = srdi_2022_scored("14.99")
    assert (failing.low, failing.status) == (D("59.99"), "fail")


def test_tech_sme_score_boundary_of_60():
    # staff 20% → 12, R&D 4% of sales → 30, 3 Class II IP → 18: 60. With 2 Class II (12): 54.
    def tech(ip_class_2):
        return facts(employees=100, st_personnel=20, operating_revenue=100, rd_expenditure=4, total_costs=1000,
                     ip_class_1=0, ip_class_2=ip_class_2)
    found, _ = evaluate("TECH-SME-2017", tech(3))
    assert (found["score"].low, found["score"].status) == (60, "pass")
    found, _ = evaluate("TECH-SME-2017", tech(2))
    assert (found["score"].low, found["score"].status) == (54, "fail")

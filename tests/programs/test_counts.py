"""The programmes' figures for a region subtree and a period (counts.py), with the records
just inside and just outside the period's edges, in Asia/Shanghai."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import QuerySet

from kechuang.programs import counts, delivery, services
from kechuang.registry import services as registry
from kechuang.statistics.periods import Period

from .conftest import CATEGORIES, draft, local

pytestmark = pytest.mark.django_db

H1 = Period.of_half(2023, 1)


def approved_at(place, moment, applicant="firm", category=CATEGORIES[0], kind="innovation", **fields):
    """A project outside any call, submitted ten days before `moment` and approved at it."""
    if kind == "collaboration":
        fields.setdefault("parties", [(place["institute"], "institute_partner")])
        fields.setdefault("agreement_date", (moment - dt.timedelta(days=20)).date())
    project = draft(place, applicant, call=None, category=category, kind=kind, **fields)
    services.take(project, "submit", at=moment - dt.timedelta(days=10))
    services.take(project, "start_review", at=moment - dt.timedelta(days=5))
    services.take(project, "approve", at=moment)
    return project


def collaboration(place, signed, applicant="firm", state="in_progress", partner=("university", "university_partner"),
                  value="100000"):
    project = draft(place, applicant, kind="collaboration", parties=[(place[partner[0]], partner[1])],
                    agreement_date=signed, contract_value=Decimal(value))
    moment = local(signed.year, signed.month, signed.day, 9, 0) + dt.timedelta(days=1)
    steps = {"submitted": ["submit"], "rejected": ["submit", "reject"],
             "in_progress": ["submit", "start_review", "approve", "start"],
             "completed": ["submit", "start_review", "approve", "start", "complete"]}[state]
    for name in steps:
        services.take(project, name, at=moment, comment="x")
        moment += dt.timedelta(days=1)
    return project


# --- the period's edges -------------------------------------------------------------------


def test_the_period_runs_from_local_midnight_to_local_midnight():
    assert counts.window(H1) == (local(2023, 1, 1, 0, 0), local(2023, 7, 1, 0, 0))


def test_an_approval_at_23_59_on_30_june_shanghai_is_in_2023_h1_and_one_at_midnight_is_not(place):
    inside = approved_at(place, local(2023, 6, 30, 23, 59))
    outside = approved_at(place, local(2023, 7, 1, 0, 0))
    assert counts.projects_approved(place["tongzhou"], H1).value == 1
    assert list(counts.projects_approved(place["tongzhou"], H1).records) == [inside]
    assert list(counts.projects_approved(place["tongzhou"], Period.of_half(2023, 2)).records) == [outside]


def test_an_approval_at_midnight_on_1_january_is_in_the_half_and_one_a_minute_before_is_not(place):
    inside = approved_at(place, local(2023, 1, 1, 0, 0))
    approved_at(place, local(2022, 12, 31, 23, 59))
    assert list(counts.projects_approved(place["tongzhou"], H1).records) == [inside]
    assert counts.projects_approved(place["tongzhou"], Period.of_year(2022)).value == 1


def test_the_edge_is_shanghais_not_utcs(place):
    # 2023-06-30 23:30 UTC is 2023-07-01 07:30 in Shanghai: July, not the first half.
    approved_at(place, dt.datetime(2023, 6, 30, 23, 30, tzinfo=dt.UTC))
    assert counts.projects_approved(place["tongzhou"], H1).value == 0
    assert counts.projects_approved(place["tongzhou"], Period.of_month(2023, 7)).value == 1


# --- regions ------------------------------------------------------------------------------


def test_a_project_in_another_district_is_not_counted_but_counts_for_the_city(place):
    approved_at(place, local(2023, 5, 1, 10, 0))
    approved_at(place, local(2023, 5, 1, 10, 0), applicant="rival")
    assert counts.projects_approved(place["tongzhou"], H1).value == 1
    assert counts.projects_approved(place["chongchuan"], H1).value == 1
    assert counts.projects_approved(place["nantong"], H1).value == 2
    assert counts.projects_approved("320600", H1).value == 2


def test_a_project_counts_where_its_applicant_is_located_now(place):
    approved_at(place, local(2023, 5, 1, 10, 0))
    registry.move_organisation(place["firm"], place["chongchuan"], since=dt.date(2023, 8, 1))
    assert counts.projects_approved(place["tongzhou"], H1).value == 0
    assert counts.projects_approved(place["chongchuan"], H1).value == 1


# --- what is counted ----------------------------------------------------------------------


def test_approvals_count_by_category_and_leave_collaborations_out(place):
    approved_at(place, local(2023, 3, 1, 10, 0))
    approved_at(place, local(2023, 4, 1, 10, 0), category=CATEGORIES[1])
    approved_at(place, local(2023, 4, 2, 10, 0), category=CATEGORIES[1])
    approved_at(place, local(2023, 4, 3, 10, 0), kind="collaboration", category="")
    assert counts.projects_approved(place["tongzhou"], H1).value == 3
    assert counts.projects_approved(place["tongzhou"], H1, category=CATEGORIES[1]).value == 2
    assert counts.projects_approved(place["tongzhou"], H1, kind=None).value == 4
    assert counts.projects_approved_by_category(place["tongzhou"], H1) == {CATEGORIES[0]: 1, CATEGORIES[1]: 2}


def test_a_rejected_or_pending_application_is_not_an_approval(place):
    project = draft(place)
    services.take(project, "submit", at=local(2023, 2, 1, 10, 0))
    services.take(project, "reject", at=local(2023, 4, 1, 10, 0), comment="未达立项线")
    services.take(draft(place), "submit", at=local(2023, 2, 1, 10, 0))
    assert counts.projects_approved(place["tongzhou"], H1).value == 0


def test_applications_are_counted_once_by_their_submission_date(place):
    again = draft(place)
    for name, day in (("submit", 1), ("withdraw", 2), ("submit", 3)):
        services.take(again, name, at=local(2023, 2, day, 10, 0))
    once = draft(place)
    services.take(once, "submit", at=local(2023, 3, 15, 17, 0))
    draft(place)  # never submitted
    submitted = counts.applications_submitted(place["tongzhou"], H1)
    assert submitted.value == 2 and set(submitted.records) == {again, once}
    assert counts.applications_submitted(place["tongzhou"], Period.of_quarter(2023, 2)).value == 0


def test_collaborations_are_introduced_by_their_agreement_date_within_the_period(place):
    first_day = collaboration(place, dt.date(2023, 1, 1))
    last_day = collaboration(place, dt.date(2023, 6, 30), value="250000.50")
    collaboration(place, dt.date(2022, 12, 31))
    collaboration(place, dt.date(2023, 7, 1))
    introduced = counts.collaborations_introduced(place["tongzhou"], H1)
    assert introduced.value == 2 and set(introduced.records) == {first_day, last_day}
    assert counts.technology_contract_turnover(place["tongzhou"], H1).value == Decimal("350000.50")


def test_a_collaboration_counts_once_the_bureau_recognises_it(place):
    collaboration(place, dt.date(2023, 3, 1), state="submitted")
    collaboration(place, dt.date(2023, 3, 1), state="rejected")
    done = collaboration(place, dt.date(2023, 3, 1), state="completed")
    assert list(counts.collaborations_introduced(place["tongzhou"], H1).records) == [done]


def test_a_collaboration_counts_for_the_applicant_enterprises_district_wherever_its_partners_are(place):
    ours = collaboration(place, dt.date(2023, 3, 1))  # with a university in Chongchuan
    theirs = collaboration(place, dt.date(2023, 3, 1), applicant="rival", partner=("institute", "institute_partner"),
                           value="40000")
    assert list(counts.collaborations_introduced(place["tongzhou"], H1).records) == [ours]
    assert list(counts.collaborations_introduced(place["chongchuan"], H1).records) == [theirs]
    assert counts.technology_contract_turnover(place["chongchuan"], H1).value == Decimal("40000.00")
    assert counts.technology_contract_turnover(place["nantong"], H1).value == Decimal("140000.00")


def test_the_turnover_of_no_collaborations_is_zero_yuan(place):
    assert counts.technology_contract_turnover(place["tongzhou"], H1).value == Decimal("0.00")


# --- one query each, records on demand ----------------------------------------------------


@pytest.mark.parametrize("figure", [counts.applications_submitted, counts.projects_approved,
                                    counts.collaborations_introduced, counts.technology_contract_turnover,
                                    counts.projects_approved_by_category])
def test_each_figure_is_one_query_and_its_records_are_not_read_until_asked(place, figure,
                                                                           django_assert_num_queries):
    for day in range(1, 4):
        approved_at(place, local(2023, 3, day, 10, 0))
        collaboration(place, dt.date(2023, 3, day))
    with django_assert_num_queries(1):
        result = figure(place["tongzhou"], H1)
    if not isinstance(result, dict):
        assert isinstance(result.records, QuerySet) and result.records._result_cache is None


# --- after approval: outcomes, funding, reports (dates, compared as dates) ---------------------

#: The days at H1's edges: its first and last day are in it, the days either side are not.
EDGES = {"inside": (dt.date(2023, 1, 1), dt.date(2023, 6, 30)), "outside": (dt.date(2022, 12, 31), dt.date(2023, 7, 1))}


def delivered(place, applicant="firm", requested="1000000"):
    """A project approved on 2022-12-01 (before H1), in progress, with its requested funding in yuan."""
    project = approved_at(place, local(2022, 12, 1, 10, 0), applicant=applicant, requested_funding=Decimal(requested),
                          planned_start=dt.date(2022, 12, 1), planned_end=dt.date(2024, 11, 30))
    services.take(project, "start", at=local(2022, 12, 2, 10, 0))
    return project


def test_the_period_edges_for_dates_are_those_of_the_window():
    start, end = counts.window(H1)
    assert (start.date(), (end - dt.timedelta(microseconds=1)).date()) == EDGES["inside"]


def test_outcomes_count_by_the_day_they_happened(place):
    project = delivered(place)
    for where, days in EDGES.items():
        for day in days:
            delivery.record_outcome(project, kind="patent_filed", title=f"{where} {day}", date=day)
    delivery.record_outcome(project, kind="product", title="新产品", date=dt.date(2023, 3, 1))
    figure = counts.outcomes(place["tongzhou"], H1)
    assert figure.value == 3
    assert sorted(o.date for o in figure.records) == [dt.date(2023, 1, 1), dt.date(2023, 3, 1), dt.date(2023, 6, 30)]
    assert counts.outcomes(place["tongzhou"], H1, kind="patent_filed").value == 2
    assert counts.outcomes(place["tongzhou"], Period.of_month(2023, 7)).value == 1
    assert counts.outcomes_by_kind(place["tongzhou"], H1) == {
        "patent_filed": 2, "patent_granted": 0, "product": 1, "standard": 0, "revenue": 0}


def test_revenue_from_results_sums_the_revenue_outcomes_in_yuan(place):
    ours, theirs = delivered(place), delivered(place, applicant="rival")
    delivery.record_outcome(ours, kind="revenue", title="首批销售", date=dt.date(2023, 6, 30), amount="1200000.50")
    delivery.record_outcome(ours, kind="revenue", title="七月销售", date=dt.date(2023, 7, 1), amount="999")
    delivery.record_outcome(ours, kind="patent_granted", title="专利", date=dt.date(2023, 5, 1), identifier="ZL1")
    delivery.record_outcome(theirs, kind="revenue", title="崇川销售", date=dt.date(2023, 1, 1), amount="300000")
    figure = counts.revenue_from_results(place["tongzhou"], H1)
    assert figure.value == Decimal("1200000.50") and [o.title for o in figure.records] == ["首批销售"]
    assert counts.revenue_from_results(place["nantong"], H1).value == Decimal("1500000.50")
    assert counts.revenue_from_results(place["tongzhou"], Period.of_year(2022)).value == Decimal("0.00")


def test_funding_is_counted_paid_by_the_day_it_was_paid_and_planned_by_the_day_planned(place):
    project = delivered(place)
    tranches = delivery.plan_tranches(project, [(Decimal("100000"), dt.date(2022, 12, 31)),
                                                (Decimal("200000"), dt.date(2023, 1, 1)),
                                                (Decimal("300000"), dt.date(2023, 6, 30)),
                                                (Decimal("400000"), dt.date(2023, 7, 1))])
    for tranche, paid_on in zip(tranches, [dt.date(2022, 12, 31), dt.date(2023, 1, 1), dt.date(2023, 7, 1)],
                                strict=False):
        delivery.record_payment(tranche, tranche.planned_amount - 1, paid_on)
    paid = counts.funding_paid(place["tongzhou"], H1)
    assert paid.value == Decimal("199999.00") and [t.seq for t in paid.records] == [2]
    assert counts.funding_paid(place["tongzhou"], Period.of_half(2023, 2)).value == Decimal("299999.00")
    assert counts.funding_planned(place["tongzhou"], H1).value == Decimal("500000.00")
    assert counts.funding_planned(place["chongchuan"], H1).value == Decimal("0.00")


def test_reports_are_overdue_the_day_after_they_are_due_while_still_owed(place):
    project = delivered(place)
    first, second, third, *_ = delivery.schedule_reports(project, every_months=6)  # 2023-05-31, 2023-11-30 …
    assert counts.reports_overdue(place["tongzhou"], dt.date(2023, 5, 31)).value == 0
    assert list(counts.reports_overdue(place["tongzhou"], dt.date(2023, 6, 1)).records) == [first]
    delivery.submit_report(first, "已完成")
    assert counts.reports_overdue(place["tongzhou"], dt.date(2023, 6, 1)).value == 0
    delivery.return_report(first, "请补充")  # owed again
    assert counts.reports_overdue(place["tongzhou"], dt.date(2023, 12, 1)).value == 2
    assert counts.reports_overdue(place["chongchuan"], dt.date(2023, 12, 1)).value == 0
    services.take(project, "terminate", comment="终止")  # a closed project owes nothing
    assert counts.reports_overdue(place["tongzhou"], dt.date(2023, 12, 1)).value == 0


@pytest.mark.parametrize("figure", [counts.outcomes, counts.outcomes_by_kind, counts.revenue_from_results,
                                    counts.funding_paid, counts.funding_planned])
def test_each_delivery_figure_is_one_query(place, figure, django_assert_num_queries):
    project = delivered(place)
    delivery.plan_tranches(project, [(Decimal("1000"), dt.date(2023, 3, 1))])
    delivery.record_outcome(project, kind="revenue", title="R", date=dt.date(2023, 3, 1), amount="10")
    with django_assert_num_queries(1):
        result = figure(place["tongzhou"], H1)
    if not isinstance(result, dict):
        assert isinstance(result.records, QuerySet) and result.records._result_cache is None

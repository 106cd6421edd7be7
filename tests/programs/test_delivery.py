"""After approval (delivery.py): funding in tranches, progress reports on a schedule,
outcomes; each service, and each of its refusals, with nothing half-written."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from kechuang.programs import attachments, delivery, services
from kechuang.programs.models import Outcome, ProgressReport, Project, Tranche

from .conftest import draft, walk

pytestmark = pytest.mark.django_db

APPROVED = ["submit", "start_review", "approve"]  # approved on 2023-02-03 (walk's dates)
APPROVED_ON = dt.date(2023, 2, 3)


def approved(place, *more, **fields):
    """The firm's project, approved on 2023-02-03, then taken through `more` steps."""
    fields.setdefault("requested_funding", Decimal("500000"))
    fields.setdefault("planned_start", dt.date(2023, 3, 1))
    fields.setdefault("planned_end", dt.date(2024, 12, 31))
    return walk(draft(place, **fields), *APPROVED, *more)


def plan(project, *amounts, by=None, **options):
    """Tranches of `amounts` yuan, a month apart from 2023-03-01."""
    tranches = [(Decimal(a), dt.date(2023, 3 + i, 1)) for i, a in enumerate(amounts)]
    return delivery.plan_tranches(project, tranches, by=by, **options)


# --- funding tranches ----------------------------------------------------------------------


def test_the_bureau_plans_tranches_within_the_requested_funding(place):
    project = approved(place)
    rows = plan(project, "300000", "200000", by=place["bureau"])
    assert [(t.seq, t.planned_amount, t.planned_date, t.paid) for t in rows] == [
        (1, Decimal("300000.00"), dt.date(2023, 3, 1), False), (2, Decimal("200000.00"), dt.date(2023, 4, 1), False)]
    project.refresh_from_db()
    assert project.approved_funding == Decimal("500000.00")  # the requested funding, by default
    assert rows[0].history.get().history_user == place["bureau"]


def test_a_plan_over_the_approved_funding_is_refused_and_nothing_is_written(place):
    project = approved(place)
    with pytest.raises(services.ProgrammeError) as refused:
        plan(project, "300000", "200000.01", by=place["bureau"])
    assert refused.value.field == "tranches" and "more than the approved funding of 500000.00" in refused.value.reason
    with pytest.raises(services.ProgrammeError, match="more than the approved funding of 400000.00"):
        plan(project, "300000", "200000", approved_funding=Decimal("400000"))
    assert not Tranche.objects.exists()
    project.refresh_from_db()
    assert project.approved_funding is None


def test_the_bureau_may_grant_less_than_requested_but_not_more(place):
    project = approved(place)
    plan(project, "100000", "100000", approved_funding="200000", by=place["bureau"])
    project.refresh_from_db()
    assert project.approved_funding == Decimal("200000.00")
    with pytest.raises(services.ProgrammeError, match="more than the requested funding") as refused:
        plan(project, "100000", approved_funding="500000.01")
    assert refused.value.field == "approved_funding"
    # A later plan keeps the approved funding the bureau set.
    with pytest.raises(services.ProgrammeError, match="approved funding of 200000.00"):
        plan(project, "300000")


@pytest.mark.parametrize("steps", [[], ["submit"], ["submit", "start_review"], ["submit", "reject"],
                                   [*APPROVED, "start", "complete"], [*APPROVED, "terminate"]])
def test_only_an_approved_or_running_project_is_planned(place, steps):
    project = walk(draft(place, requested_funding=Decimal("500000")), *steps)
    with pytest.raises(services.ProgrammeError, match=f"this one is {project.state}") as refused:
        plan(project, "1000")
    assert refused.value.field == "state"


def test_a_running_project_is_planned_too(place):
    assert len(plan(approved(place, "start"), "1000", by=place["bureau"])) == 1


@pytest.mark.parametrize("who", ["owner", "other_bureau", "analyst", "expert"])
def test_only_the_bureau_of_the_district_plans_the_funding(place, who):
    project = approved(place)
    with pytest.raises(services.NotAllowed, match="only the bureau"):
        plan(project, "1000", by=place[who])
    assert not Tranche.objects.exists()


@pytest.mark.parametrize("tranches, words", [
    ([], "at least one tranche"),
    ([(Decimal("0"), dt.date(2023, 3, 1))], "tranche 1: an amount is more than zero"),
    ([(Decimal("-5"), dt.date(2023, 3, 1))], "tranche 1: an amount cannot be negative"),
    ([(1000.5, dt.date(2023, 3, 1))], "tranche 1: give amounts as Decimal or text, not float"),
    ([(Decimal("1000"), dt.date(2023, 3, 1)), ("0.001", dt.date(2023, 4, 1))], "tranche 2: amounts are in yuan"),
    ([(Decimal("1000"), "2023-03-01")], "tranche 1: '2023-03-01' is not a date"),
    ([(Decimal("1000"), dt.datetime(2023, 3, 1, 9))], "is not a date"),
    ([(Decimal("1000"), dt.date(2023, 2, 2))], "before the project was approved on 2023-02-03"),
    ([(Decimal("1000"), dt.date(2023, 5, 1)), (Decimal("1000"), dt.date(2023, 4, 1))], "list the tranches in order"),
    ([(Decimal("1000"),)], "give (amount, date)"),
])
def test_bad_tranches_are_refused_naming_the_tranche(place, tranches, words):
    project = approved(place)
    with pytest.raises(services.ProgrammeError) as refused:
        delivery.plan_tranches(project, tranches)
    assert refused.value.field == "tranches" and words in refused.value.reason


def test_a_new_plan_keeps_the_paid_tranches_and_replaces_the_unpaid_ones(place):
    project = approved(place)
    first, second, _ = plan(project, "100000", "100000", "100000")
    delivery.record_payment(first, Decimal("80000"), dt.date(2023, 3, 2), by=place["bureau"])
    rows = delivery.plan_tranches(project, [(Decimal("420000"), dt.date(2023, 6, 1))], by=place["bureau"])
    assert [(t.seq, t.planned_amount, t.paid_amount) for t in rows] == [
        (1, Decimal("100000.00"), Decimal("80000.00")), (2, Decimal("420000.00"), None)]
    # 80,000 paid (less than planned: the rest is free again) + 420,000 = the 500,000 granted.
    with pytest.raises(services.ProgrammeError, match="80000.00 yuan already paid and 420000.01 yuan planned"):
        delivery.plan_tranches(project, [(Decimal("420000.01"), dt.date(2023, 6, 1))])
    assert Tranche.history.filter(history_type="-", id=second.pk).get().history_user == place["bureau"]


def test_the_bureau_records_a_payment(place):
    project = approved(place, "start")
    tranche = plan(project, "300000")[0]
    paid = delivery.record_payment(tranche, "300000", dt.date(2023, 3, 5), by=place["bureau"], note="首笔")
    tranche.refresh_from_db()
    assert (tranche.paid_amount, tranche.paid_date, tranche.note) == (Decimal("300000.00"), dt.date(2023, 3, 5), "首笔")
    assert paid.history.first().history_user == place["bureau"]


def test_the_last_tranche_may_be_paid_after_completion_but_not_after_termination(place):
    completed = approved(place)
    tranche = plan(completed, "1000")[0]
    walk(completed, "start", "complete", at=dt.datetime(2023, 6, 1, 10, tzinfo=services.SHANGHAI))
    assert delivery.record_payment(tranche, "1000", dt.date(2023, 6, 10)).paid
    terminated = approved(place)
    tranche = plan(terminated, "1000")[0]
    walk(terminated, "terminate", at=dt.datetime(2023, 6, 1, 10, tzinfo=services.SHANGHAI))
    with pytest.raises(services.ProgrammeError, match="this one is terminated"):
        delivery.record_payment(tranche, "1000", dt.date(2023, 6, 10))


@pytest.mark.parametrize("amount, day, field, words", [
    ("300000.01", dt.date(2023, 3, 5), "amount", "more than tranche 1's planned 300000.00"),
    ("0", dt.date(2023, 3, 5), "amount", "more than zero"),
    (0.5, dt.date(2023, 3, 5), "amount", "not float"),
    ("1000", dt.date(2023, 2, 2), "date", "before the project was approved on 2023-02-03"),
    ("1000", dt.date.today() + dt.timedelta(days=2), "date", "in the future"),
    ("1000", "2023-03-05", "date", "is not a date"),
])
def test_bad_payments_are_refused(place, amount, day, field, words):
    tranche = plan(approved(place), "300000")[0]
    with pytest.raises(services.ProgrammeError) as refused:
        delivery.record_payment(tranche, amount, day)
    assert refused.value.field == field and words in refused.value.reason
    tranche.refresh_from_db()
    assert not tranche.paid


def test_a_tranche_is_paid_once_and_only_by_the_bureau(place):
    tranche = plan(approved(place), "300000")[0]
    with pytest.raises(services.NotAllowed, match="only the bureau"):
        delivery.record_payment(tranche, "300000", dt.date(2023, 3, 5), by=place["owner"])
    delivery.record_payment(tranche, "300000", dt.date(2023, 3, 5), by=place["bureau"])
    with pytest.raises(services.ProgrammeError, match="was paid on 2023-03-05") as refused:
        delivery.record_payment(tranche, "1", dt.date(2023, 3, 6), by=place["bureau"])
    assert refused.value.field == "paid_date"


@pytest.mark.parametrize("change", [
    {"paid_amount": Decimal("10")},                                      # without its date
    {"paid_date": dt.date(2023, 3, 1)},                                  # without its amount
    {"paid_amount": Decimal("2000"), "paid_date": dt.date(2023, 3, 1)},  # more than planned
    {"planned_amount": Decimal("0")},
    {"seq": 0},
])
def test_the_database_holds_the_tranche_rules(place, change):
    tranche = plan(approved(place), "1000")[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        Tranche.objects.filter(pk=tranche.pk).update(**change)


# --- progress reports ----------------------------------------------------------------------


def test_reports_are_scheduled_every_six_months_until_the_planned_end(place):
    project = approved(place)
    reports = delivery.schedule_reports(project, every_months=6, by=place["bureau"])
    assert [(r.title, r.due, r.status) for r in reports] == [
        ("第1期进度报告（2023-03-01至2023-08-31）", dt.date(2023, 8, 31), "due"),
        ("第2期进度报告（2023-09-01至2024-02-29）", dt.date(2024, 2, 29), "due"),
        ("第3期进度报告（2024-03-01至2024-08-31）", dt.date(2024, 8, 31), "due"),
    ]


def test_reports_are_scheduled_on_given_dates(place):
    project = approved(place, "start")
    reports = delivery.schedule_reports(project, dates=[dt.date(2024, 6, 30), dt.date(2023, 12, 31)])
    assert [(r.title, r.due) for r in reports] == [("第1期进度报告（2023-03-01至2023-12-31）", dt.date(2023, 12, 31)),
                                                   ("第2期进度报告（2024-01-01至2024-06-30）", dt.date(2024, 6, 30))]


def test_the_months_end_is_kept_when_adding_months():
    assert delivery.add_months(dt.date(2023, 8, 31), 6) == dt.date(2024, 2, 29)
    assert delivery.add_months(dt.date(2023, 11, 15), 3) == dt.date(2024, 2, 15)


@pytest.mark.parametrize("fields, options, field, words", [
    ({"planned_end": None}, {"every_months": 6}, "planned_end", "no planned end"),
    ({"planned_end": dt.date(2023, 5, 31)}, {"every_months": 6}, "every_months", "before its first report"),
    ({}, {"every_months": 0}, "every_months", "every 1 to 12 months"),
    ({}, {"every_months": True}, "every_months", "every 1 to 12 months"),
    ({}, {}, "every_months", "either every_months or dates"),
    ({}, {"every_months": 6, "dates": [dt.date(2023, 6, 30)]}, "every_months", "either"),
    ({}, {"dates": []}, "dates", "at least one"),
    ({}, {"dates": [dt.date(2023, 6, 30), dt.date(2023, 6, 30)]}, "dates", "same day"),
    ({}, {"dates": [dt.date(2025, 1, 1)]}, "dates", "after the project's planned end (2024-12-31)"),
    ({}, {"dates": [dt.date(2023, 2, 1)]}, "dates", "before the project starts (2023-03-01)"),
])
def test_bad_schedules_are_refused(place, fields, options, field, words):
    project = approved(place, **fields)
    with pytest.raises(services.ProgrammeError) as refused:
        delivery.schedule_reports(project, **options)
    assert refused.value.field == field and words in refused.value.reason
    assert not ProgressReport.objects.exists()


def test_only_the_bureau_schedules_reports_of_a_running_project(place):
    with pytest.raises(services.NotAllowed):
        delivery.schedule_reports(approved(place), every_months=6, by=place["owner"])
    with pytest.raises(services.ProgrammeError, match="this one is submitted"):
        delivery.schedule_reports(walk(draft(place, planned_end=dt.date(2024, 1, 1)), "submit"), every_months=6)


def test_a_new_schedule_keeps_the_submitted_reports_and_replaces_the_others(place):
    project = approved(place)
    first, *_ = delivery.schedule_reports(project, every_months=6)
    delivery.submit_report(first, "完成样机设计", by=place["owner"])
    reports = delivery.schedule_reports(project, every_months=3, by=place["bureau"])
    assert [(r.due, r.status) for r in reports][:3] == [
        (dt.date(2023, 5, 31), "due"), (dt.date(2023, 8, 31), "submitted"), (dt.date(2023, 11, 30), "due")]
    assert len(reports) == 7  # quarterly until 2024-11-30; the report of 2023-08-31 kept, not made twice


def test_the_applicant_submits_a_report_and_the_bureau_accepts_it(place):
    report = delivery.schedule_reports(approved(place, "start"), every_months=6)[0]
    submitted = delivery.submit_report(report, "  完成样机设计  ", by=place["owner"])
    assert (submitted.status, submitted.text, submitted.submitted_by) == ("submitted", "完成样机设计", place["owner"])
    assert submitted.submitted_at is not None
    accepted = delivery.accept_report(report, by=place["bureau"], comment="同意")
    assert (accepted.status, accepted.reviewed_by, accepted.review_comment) == ("accepted", place["bureau"], "同意")
    with pytest.raises(services.ProgrammeError, match="is accepted; only a report that is due") as refused:
        delivery.submit_report(report, "again", by=place["owner"])
    assert refused.value.field == "status"


def test_a_returned_report_is_owed_again_until_submitted_anew(place):
    report = delivery.schedule_reports(approved(place), every_months=6)[0]
    delivery.submit_report(report, "初稿", by=place["owner"])
    with pytest.raises(services.ProgrammeError, match="say why") as refused:
        delivery.return_report(report, " ", by=place["bureau"])
    assert refused.value.field == "comment"
    returned = delivery.return_report(report, "缺少经费使用情况", by=place["bureau"])
    assert returned.status == "returned" and returned.review_comment == "缺少经费使用情况"
    assert list(delivery.reports_due(dt.date(2023, 9, 1))) == [returned]  # overdue again
    assert delivery.submit_report(report, "修改稿", by=place["owner"]).status == "submitted"
    assert not delivery.reports_due(dt.date(2023, 9, 1)).exists()


def test_report_refusals(place):
    report = delivery.schedule_reports(approved(place), every_months=6)[0]
    with pytest.raises(services.NotAllowed, match="applicant's own users"):
        delivery.submit_report(report, "x", by=place["rival_owner"])
    with pytest.raises(services.ProgrammeError, match="says what was done") as refused:
        delivery.submit_report(report, "  ", by=place["owner"])
    assert refused.value.field == "text"
    with pytest.raises(services.ProgrammeError, match="only a submitted report"):
        delivery.accept_report(report, by=place["bureau"])
    delivery.submit_report(report, "x", by=place["owner"])
    with pytest.raises(services.NotAllowed, match="only the bureau"):
        delivery.accept_report(report, by=place["owner"])
    with pytest.raises(services.NotAllowed, match="only the bureau"):
        delivery.return_report(report, "no", by=place["other_bureau"])
    report.refresh_from_db()
    assert report.status == "submitted"


def test_a_report_of_a_terminated_project_is_not_submitted(place):
    project = approved(place)
    report = delivery.schedule_reports(project, every_months=6)[0]
    services.take(project, "terminate", comment="资金挪用")
    with pytest.raises(services.ProgrammeError, match="this one is terminated"):
        delivery.submit_report(report, "x", by=place["owner"])


def test_reports_due_lists_the_overdue_and_those_coming_due_of_running_projects(place):
    running = delivery.schedule_reports(approved(place), every_months=6)  # 2023-08-31, 2024-02-29, 2024-08-31
    completed = approved(place, title_zh="已结题项目")
    delivery.schedule_reports(completed, dates=[dt.date(2023, 8, 31)])
    walk(completed, "start", "complete", at=dt.datetime(2023, 9, 1, 10, tzinfo=services.SHANGHAI))
    assert list(delivery.reports_due(dt.date(2023, 8, 30))) == []
    assert list(delivery.reports_due(dt.date(2023, 8, 31))) == running[:1]  # due today: due, not overdue
    assert list(delivery.reports_due(dt.date(2023, 8, 1), within_days=30)) == running[:1]
    assert list(delivery.reports_due(dt.date(2024, 3, 1))) == running[:2]
    delivery.submit_report(running[0], "x", by=place["owner"])
    assert list(delivery.reports_due(dt.date(2024, 3, 1))) == running[1:2]
    assert not running[1].overdue(dt.date(2024, 2, 29)) and running[1].overdue(dt.date(2024, 3, 1))


def test_the_database_holds_the_report_rules(place):
    report = delivery.schedule_reports(approved(place), every_months=6)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressReport.objects.filter(pk=report.pk).update(status="submitted")  # without submitted_at
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressReport.objects.create(project=report.project, title="again", due=report.due)


# --- outcomes ------------------------------------------------------------------------------


def test_the_applicant_records_a_patent_and_the_bureau_revenue(place):
    project = approved(place, "start")
    patent = delivery.record_outcome(project, kind="patent_filed", title="一种真空泵密封结构",
                                     date=dt.date(2023, 5, 6), identifier=" CN202310000001.X ", by=place["owner"])
    assert (patent.kind, patent.identifier, patent.amount, patent.recorded_by) == (
        "patent_filed", "CN202310000001.X", None, place["owner"])
    revenue = delivery.record_outcome(project, kind="revenue", title="样机销售", date=dt.date(2023, 6, 30),
                                      amount="1250000.50", by=place["bureau"])
    assert revenue.amount == Decimal("1250000.50")
    # A patent filed and the same patent granted are two outcomes.
    delivery.record_outcome(project, kind="patent_granted", title="一种真空泵密封结构", date=dt.date(2023, 6, 1),
                            identifier="CN202310000001.X")
    assert Outcome.objects.filter(project=project).count() == 3
    assert patent.history.get().history_user == place["owner"]


@pytest.mark.parametrize("fields, field, words", [
    ({"kind": "revenue"}, "amount", "with its amount"),
    ({"kind": "revenue", "amount": "0"}, "amount", "more than zero"),
    ({"kind": "revenue", "amount": 10.5}, "amount", "not float"),
    ({"kind": "product", "amount": "1000"}, "amount", "only revenue carries an amount"),
    ({"kind": "paper"}, "kind", "'paper' is not one of"),
    ({"title": " "}, "title", "has a title"),
    ({"date": dt.date.today() + dt.timedelta(days=2)}, "date", "in the future"),
    ({"date": "2023-05-06"}, "date", "not a date"),
    ({"identifier": "x" * 101}, "identifier", "at most 100"),
])
def test_bad_outcomes_are_refused(place, fields, field, words):
    project = approved(place)
    outcome = {"kind": "product", "title": "干式真空泵", "date": dt.date(2023, 5, 6), **fields}
    with pytest.raises(services.ProgrammeError) as refused:
        delivery.record_outcome(project, **outcome)
    assert refused.value.field == field and words in refused.value.reason
    assert not Outcome.objects.exists()


def test_a_patent_is_counted_once(place):
    project = approved(place)
    delivery.record_outcome(project, kind="patent_granted", title="A", date=dt.date(2023, 5, 6), identifier="ZL1")
    with pytest.raises(services.ProgrammeError, match="ZL1 is already recorded") as refused:
        delivery.record_outcome(project, kind="patent_granted", title="A again", date=dt.date(2023, 5, 7),
                                identifier="ZL1")
    assert refused.value.field == "identifier"
    # Without a number, two products are two outcomes.
    delivery.record_outcome(project, kind="product", title="P1", date=dt.date(2023, 5, 6))
    delivery.record_outcome(project, kind="product", title="P2", date=dt.date(2023, 5, 6))


@pytest.mark.parametrize("steps", [[], ["submit"], ["submit", "start_review"], ["submit", "reject"]])
def test_outcomes_are_recorded_only_once_a_project_is_approved(place, steps):
    project = walk(draft(place), *steps)
    with pytest.raises(services.ProgrammeError, match="outcomes are recorded only for a project that is approved"):
        delivery.record_outcome(project, kind="product", title="P", date=dt.date(2023, 5, 6))


def test_a_completed_project_still_records_its_outcomes(place):
    project = approved(place, "start", "complete")
    assert delivery.record_outcome(project, kind="standard", title="干式真空泵团体标准", date=dt.date(2024, 1, 5),
                                   identifier="T/JSVA 001-2024", by=place["owner"]).pk


@pytest.mark.parametrize("who", ["rival_owner", "analyst", "other_bureau", "expert"])
def test_only_the_applicants_people_and_the_bureau_record_outcomes(place, who):
    project = approved(place)
    with pytest.raises(services.NotAllowed):
        delivery.record_outcome(project, kind="product", title="P", date=dt.date(2023, 5, 6), by=place[who])


def test_the_database_holds_the_outcome_rules(place):
    project = approved(place)
    with pytest.raises(IntegrityError), transaction.atomic():
        Outcome.objects.create(project=project, kind="revenue", title="R", date=dt.date(2023, 5, 6))
    with pytest.raises(IntegrityError), transaction.atomic():
        Outcome.objects.create(project=project, kind="product", title="P", date=dt.date(2023, 5, 6),
                               amount=Decimal("5"))


def test_a_project_with_delivery_rows_is_not_deleted_with_them(place):
    project = approved(place)
    plan(project, "1000")
    with pytest.raises(Exception, match="protected"), transaction.atomic():
        Project.objects.filter(pk=project.pk).delete()


# --- the admin -----------------------------------------------------------------------------


def test_the_project_admin_shows_the_delivery_rows_read_only(place, operator_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    project = approved(place)
    plan(project, "300000")
    delivery.schedule_reports(project, every_months=6)
    delivery.record_outcome(project, kind="standard", title="团体标准", date=dt.date(2023, 5, 6))
    row = attachments.attach(project, SimpleUploadedFile("合同.pdf", b"%PDF-1.7 contract"))
    page = operator_client.get(f"/admin/programs/project/{project.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("300000", "第1期进度报告", "团体标准", "合同.pdf",
                 f"/api/v1/projects/{project.key}/attachments/{row.pk}/download/"):
        assert text in html, text
    assert 'name="tranches-0-planned_amount"' not in html  # shown, not editable

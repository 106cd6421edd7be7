"""Expert review: assigning reviewers (conflicts of interest), scoring against the call's
criteria, the ranking, overdue reviews, and what a reviewer sees."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kechuang.accounts.scoping import visible_to
from kechuang.programs import services
from kechuang.programs.models import Project, ProjectTransition, ReviewAssignment

from .conftest import draft, local, walk

pytestmark = pytest.mark.django_db

GOOD = {"创新性": 35, "可行性": 25, "效益": "20.5"}


@pytest.fixture
def under_review(place):
    return walk(draft(place), "submit", "start_review")


def assign(place, project, reviewer="expert", **kwargs):
    kwargs.setdefault("by", place["bureau"])
    return services.assign_reviewer(project, place[reviewer], **kwargs)


# --- assigning ----------------------------------------------------------------------------


def test_the_bureau_assigns_a_reviewer_due_after_the_calls_review_days(place, under_review):
    assignment = assign(place, under_review)
    assert assignment.due == timezone.localdate() + dt.timedelta(days=10)
    assert (assignment.assigned_by, assignment.submitted_at) == (place["bureau"], None)


@pytest.mark.parametrize("user", ["owner", "analyst", "other_bureau", "expert"])
def test_only_the_bureau_of_the_applicants_district_assigns_reviewers(place, under_review, user):
    with pytest.raises(services.NotAllowed, match="only the bureau"):
        assign(place, under_review, by=place[user])
    assert not ReviewAssignment.objects.exists()


def test_a_reviewer_from_a_party_to_the_project_cannot_be_assigned(place):
    project = walk(draft(place, kind="collaboration", parties=[(place["university"], "university_partner")],
                         agreement_date=dt.date(2023, 1, 20)), "submit", "start_review")
    with pytest.raises(services.ProgrammeError) as refused:
        assign(place, project, reviewer="professor")
    assert refused.value.field == "reviewer"
    assert "conflict of interest: professor works for university单位, a party to this project" in refused.value.reason
    assert not ReviewAssignment.objects.exists()


def test_a_reviewer_from_an_organisation_that_is_not_a_party_may_be_assigned(place, under_review):
    assert assign(place, under_review, reviewer="professor").reviewer == place["professor"]


def test_a_user_of_a_party_cannot_review_it(place, under_review):
    services.register_expert(place["owner"])
    with pytest.raises(services.ProgrammeError, match="conflict of interest: owner is a user of a party"):
        assign(place, under_review, reviewer="owner")


def test_a_reviewer_needs_an_expert_profile_and_is_assigned_once(place, under_review):
    with pytest.raises(services.ProgrammeError, match="no expert profile"):
        assign(place, under_review, reviewer="analyst")
    assign(place, under_review)
    with pytest.raises(services.ProgrammeError, match="already assigned"):
        assign(place, under_review)


def test_reviewers_are_not_assigned_to_drafts_or_decided_projects(place):
    with pytest.raises(services.ProgrammeError, match="this one is draft"):
        assign(place, draft(place))


# --- scoring ------------------------------------------------------------------------------


def test_the_assigned_reviewer_scores_every_criterion_and_the_total_is_their_sum(place, under_review):
    assignment = assign(place, under_review)
    reviewed = services.submit_review(assignment, GOOD, "清晰", by=place["expert"], declaration="无利益冲突")
    assert reviewed.total == Decimal("80.50")
    assert reviewed.scores == {"创新性": 35, "可行性": 25, "效益": 20.5}
    assert reviewed.submitted_at is not None and reviewed.conflict_declaration == "无利益冲突"


@pytest.mark.parametrize("scores, words", [
    ({"创新性": 35, "可行性": 25}, "missing: 效益"),
    ({**GOOD, "颜值": 5}, "颜值: not a criterion"),
    ({**GOOD, "创新性": 41}, "创新性: 41 is outside 0..40"),
    ({**GOOD, "可行性": -1}, "可行性: -1 is outside 0..30"),
    ({**GOOD, "效益": "many"}, "效益: 'many' is not a score"),
    ({**GOOD, "效益": True}, "效益: True is not a score"),
])
def test_scores_are_checked_against_the_calls_criteria(place, under_review, scores, words):
    assignment = assign(place, under_review)
    with pytest.raises(services.ProgrammeError, match=words):
        services.submit_review(assignment, scores, by=place["expert"])
    assignment.refresh_from_db()
    assert assignment.submitted_at is None


@pytest.mark.parametrize("user", ["professor", "bureau", "owner"])
def test_only_the_assigned_reviewer_submits_the_review(place, under_review, user):
    assignment = assign(place, under_review)
    with pytest.raises(services.NotAllowed, match="only the assigned reviewer"):
        services.submit_review(assignment, GOOD, by=place[user])


def test_a_submitted_review_is_final(place, under_review):
    assignment = assign(place, under_review)
    services.submit_review(assignment, GOOD, by=place["expert"])
    with pytest.raises(services.ProgrammeError, match="a submitted review is final"):
        services.submit_review(assignment, GOOD, by=place["expert"])


def test_a_review_is_submitted_only_while_the_project_is_under_review(place):
    project = walk(draft(place), "submit")
    assignment = assign(place, project)
    with pytest.raises(services.ProgrammeError, match="is submitted, not under review"):
        services.submit_review(assignment, GOOD, by=place["expert"])


# --- approval waits for the reviews -------------------------------------------------------


def test_approval_waits_for_every_assigned_review(place, under_review):
    assignment = assign(place, under_review)
    assign(place, under_review, reviewer="professor")
    services.submit_review(assignment, GOOD, by=place["expert"])
    with pytest.raises(services.ProgrammeError, match="waiting for professor") as refused:
        services.take(under_review, "approve", by=place["bureau"], at=local(2023, 3, 1, 10, 0))
    assert refused.value.field == "reviews"
    assert not ProjectTransition.objects.filter(name="approve").exists()
    services.submit_review(ReviewAssignment.objects.get(reviewer=place["professor"]), GOOD, by=place["professor"])
    services.take(under_review, "approve", by=place["bureau"], at=local(2023, 3, 1, 10, 0))
    assert under_review.state == "approved"


# --- ranking and deadlines ----------------------------------------------------------------


def test_the_ranking_orders_the_calls_projects_by_mean_total(place):
    first, second, unscored = (walk(draft(place, title_zh=f"项目{i}"), "submit", "start_review") for i in range(3))
    draft(place, title_zh="草稿")  # a draft is not ranked
    for project, (mine, theirs) in ((first, (30, 40)), (second, (40, 40))):
        for reviewer, innovation in (("expert", mine), ("professor", theirs)):
            services.submit_review(assign(place, project, reviewer=reviewer), {**GOOD, "创新性": innovation},
                                   by=place[reviewer])
    ranked = services.ranking(place["call"], by=place["bureau"])
    assert [row.project for row in ranked] == [second, first, unscored]
    assert [row.mean_total for row in ranked] == [Decimal("85.50"), Decimal("80.50"), None]
    assert ranked[1].totals == [Decimal("85.50"), Decimal("75.50")] and ranked[1].reviews == 2


@pytest.mark.parametrize("user", ["owner", "other_bureau", "expert"])
def test_the_ranking_is_the_bureaus(place, user):
    with pytest.raises(services.NotAllowed):
        services.ranking(place["call"], by=place[user])


def test_reviews_past_their_due_date_and_not_submitted_are_overdue(place, under_review):
    late = assign(place, under_review, due=dt.date(2023, 3, 10))
    done = assign(place, under_review, reviewer="professor", due=dt.date(2023, 3, 10))
    services.submit_review(done, GOOD, by=place["professor"])
    other = walk(draft(place, title_zh="另一个"), "submit", "start_review")
    on_time = assign(place, other, due=dt.date(2023, 3, 20))
    assert list(services.overdue_reviews(dt.date(2023, 3, 11))) == [late]
    assert list(services.overdue_reviews(dt.date(2023, 3, 10))) == []
    assert set(services.overdue_reviews(dt.date(2023, 3, 21))) == {late, on_time}


def test_a_pending_review_of_a_rejected_project_is_no_longer_overdue(place, under_review):
    assign(place, under_review, due=dt.date(2023, 3, 10))
    services.take(under_review, "reject", at=local(2023, 3, 5, 10, 0), comment="未达立项线")
    assert not services.overdue_reviews(dt.date(2023, 3, 11)).exists()


# --- what a reviewer sees -----------------------------------------------------------------


def test_a_reviewer_sees_only_the_projects_assigned_to_them(place, under_review):
    other = walk(draft(place, title_zh="另一个"), "submit", "start_review")
    assign(place, under_review)
    assign(place, other, reviewer="professor")
    assert list(visible_to(Project.objects.all(), place["expert"])) == [under_review]
    assert list(visible_to(Project.objects.all(), place["professor"])) == [other]
    assert list(visible_to(ReviewAssignment.objects.all(), place["expert"])) == [
        ReviewAssignment.objects.get(reviewer=place["expert"])]
    assert set(visible_to(Project.objects.all(), place["bureau"])) == {under_review, other}


def test_a_reviewer_cannot_submit_a_review_of_a_project_not_assigned_to_them(place, under_review):
    other = walk(draft(place, title_zh="另一个"), "submit", "start_review")
    assign(place, under_review)
    theirs = assign(place, other, reviewer="professor")
    with pytest.raises(services.NotAllowed):
        services.submit_review(theirs, GOOD, by=place["expert"])
    assert not ReviewAssignment.objects.filter(submitted_at__isnull=False).exists()


def test_the_admin_refuses_a_conflicted_assignment_on_the_form(place, admin_client):
    project = walk(draft(place, kind="collaboration", parties=[(place["university"], "university_partner")],
                         agreement_date=dt.date(2023, 1, 20)), "submit", "start_review")
    form = {"project": project.pk, "reviewer": place["professor"].pk, "due": "2023-03-01", "conflict_declaration": ""}
    response = admin_client.post("/admin/programs/reviewassignment/add/", form)
    assert response.status_code == 200 and "conflict of interest" in response.content.decode()
    assert not ReviewAssignment.objects.exists()
    response = admin_client.post("/admin/programs/reviewassignment/add/", {**form, "reviewer": place["expert"].pk})
    assert response.status_code == 302
    assert ReviewAssignment.objects.get().assigned_by.username == "admin"

"""Creating projects and taking them through the lifecycle (services.create_project, take)."""

import datetime as dt
from decimal import Decimal

import pytest

from kechuang.programs import services
from kechuang.programs.models import Party, Project, ProjectTransition

from .conftest import draft, local, walk

pytestmark = pytest.mark.django_db

#: How to bring a draft into each state, a day apart from 2023-02-01.
PATHS = {
    "draft": [],
    "submitted": ["submit"],
    "under_review": ["submit", "start_review"],
    "approved": ["submit", "start_review", "approve"],
    "rejected": ["submit", "reject"],
    "in_progress": ["submit", "start_review", "approve", "start"],
    "completed": ["submit", "start_review", "approve", "start", "complete"],
    "terminated": ["submit", "start_review", "approve", "terminate"],
}
TRANSITIONS = list(services.LIFECYCLE.transitions.values())


def in_state(place, state):
    return walk(draft(place), *PATHS[state])


# --- creating ----------------------------------------------------------------------------


def test_a_new_project_is_a_draft_with_its_applicant_as_lead_party(place):
    project = draft(place, requested_funding=Decimal("500000.00"), own_funding="1000000")
    assert project.state == "draft"
    assert list(project.parties.values_list("organisation__key", "role")) == [("firm", "lead")]
    assert (project.requested_funding, project.own_funding) == (Decimal("500000.00"), Decimal("1000000.00"))
    assert project.history.count() == 1


def test_a_collaboration_joins_an_enterprise_with_a_university_outside_the_district(place):
    project = draft(place, kind="collaboration", parties=[(place["university"], "university_partner")],
                    agreement_date=dt.date(2023, 3, 1), contract_value=Decimal("800000"))
    assert set(project.parties.values_list("role", flat=True)) == {"lead", "university_partner"}


def test_a_collaboration_without_a_university_or_institute_is_refused(place):
    with pytest.raises(services.ProgrammeError, match="university or research institute") as refused:
        draft(place, kind="collaboration", parties=[(place["rival"], "enterprise_partner")])
    assert refused.value.field == "parties"
    assert not Project.objects.exists()


@pytest.mark.parametrize("fields, field, words", [
    ({"requested_funding": Decimal("-1")}, "requested_funding", "negative"),
    ({"own_funding": 1.5}, "own_funding", "not float"),
    ({"requested_funding": "0.001"}, "requested_funding", "two decimals"),
    ({"category": "重大专项"}, "category", "not a category"),
    ({"title_zh": " "}, "title_zh", "title"),
    ({"kind": "grant"}, "kind", "grant"),
    ({"planned_start": dt.date(2024, 1, 1), "planned_end": dt.date(2023, 1, 1)}, "planned_end", "ends after"),
    ({"parties": [("university", "institute_partner")]}, "parties", "not a institute"),
    ({"parties": [("firm", "enterprise_partner")]}, "parties", "once"),
    ({"parties": [("institute", "lead")]}, "parties", "lead party"),
])
def test_bad_projects_are_refused_naming_the_field(place, fields, field, words):
    if "parties" in fields:
        fields["parties"] = [(place[key], role) for key, role in fields["parties"]]
    with pytest.raises(services.ProgrammeError) as refused:
        draft(place, **fields)
    assert refused.value.field == field and words in refused.value.reason


def test_an_applicant_outside_the_calls_region_is_refused(place):
    with pytest.raises(services.ProgrammeError, match="not located there"):
        draft(place, applicant="rival")


def test_a_park_does_not_apply(place):
    with pytest.raises(services.ProgrammeError, match="is a park"):
        draft(place, applicant="park")


def test_an_enterprise_user_creates_projects_for_their_own_enterprise_only(place):
    assert draft(place, by=place["owner"]).created_by == place["owner"]
    with pytest.raises(services.NotAllowed):
        draft(place, by=place["rival_owner"])


# --- every transition ---------------------------------------------------------------------


@pytest.mark.parametrize("transition, source", [(t.name, s) for t in TRANSITIONS for s in t.sources])
def test_every_transition_moves_the_project_and_records_the_step(place, transition, source):
    project = in_state(place, source)
    at = local(2023, 3, 1, 10, 0)
    step = services.take(project, transition, at=at, comment="because")
    target = services.LIFECYCLE.transitions[transition].target
    project.refresh_from_db()
    assert project.state == target
    assert (step.name, step.from_state, step.to_state, step.at, step.by) == (transition, source, target, at, None)
    assert project.transitions.last() == step


@pytest.mark.parametrize("transition, state", [
    (t.name, state) for t in TRANSITIONS for state in PATHS if state not in t.sources])
def test_every_transition_from_a_wrong_state_is_refused_naming_the_state_and_the_allowed_ones(
        place, transition, state):
    project = in_state(place, state)
    before = ProjectTransition.objects.count()
    with pytest.raises(services.ProgrammeError) as refused:
        services.take(project, transition, at=local(2023, 3, 1, 10, 0), comment="because")
    allowed = ", ".join(t.name for t in services.LIFECYCLE.allowed_from(state)) or "none"
    assert refused.value.field == "state"
    assert f"cannot {transition} from '{state}'" in refused.value.reason
    assert f"allowed transitions are: {allowed}" in refused.value.reason
    assert ProjectTransition.objects.count() == before
    project.refresh_from_db()
    assert project.state == state


def test_an_unknown_transition_is_refused_listing_the_transitions(place):
    with pytest.raises(services.ProgrammeError, match="no transition 'publish'; transitions are submit, withdraw"):
        services.take(draft(place), "publish")


def test_the_whole_life_of_a_project_is_its_transitions(place):
    project = walk(draft(place), "submit", "start_review", "approve", "start", "complete")
    assert list(project.transitions.values_list("name", flat=True)) == [
        "submit", "start_review", "approve", "start", "complete"]
    assert project.state == "completed"
    assert services.approval_date(project) == local(2023, 2, 3, 10, 0)


def test_a_state_change_is_in_the_audit_trail_with_its_user(place):
    project = draft(place)
    services.take(project, "submit", by=place["owner"], at=local(2023, 2, 1, 10, 0))
    latest = project.history.order_by("-history_date", "-history_id").first()
    assert (latest.state, latest.history_user) == ("submitted", place["owner"])


# --- who may take each transition ---------------------------------------------------------


@pytest.mark.parametrize("user", ["owner", "bureau"])
def test_the_applicants_people_and_the_bureau_submit(place, user):
    project = draft(place)
    services.take(project, "submit", by=place[user], at=local(2023, 2, 1, 10, 0))
    assert project.state == "submitted"


@pytest.mark.parametrize("user", ["rival_owner", "analyst", "other_bureau", "expert"])
def test_others_may_not_submit(place, user):
    project = draft(place)
    with pytest.raises(services.NotAllowed, match="only the applicant's own users may submit"):
        services.take(project, "submit", by=place[user], at=local(2023, 2, 1, 10, 0))
    project.refresh_from_db()
    assert project.state == "draft" and not project.transitions.exists()


@pytest.mark.parametrize("transition, state", [
    ("start_review", "submitted"), ("approve", "under_review"), ("reject", "under_review"),
    ("return", "submitted"), ("start", "approved"), ("complete", "in_progress"), ("terminate", "in_progress")])
@pytest.mark.parametrize("user", ["owner", "analyst", "other_bureau", "expert"])
def test_only_the_bureau_of_the_applicants_district_decides(place, transition, state, user):
    project = in_state(place, state)
    with pytest.raises(services.NotAllowed, match=f"bureau of .*district may {transition}"):
        services.take(project, transition, by=place[user], at=local(2023, 3, 1, 10, 0), comment="x")
    services.take(project, transition, by=place["bureau"], at=local(2023, 3, 1, 10, 0), comment="x")
    assert project.state == services.LIFECYCLE.transitions[transition].target


def test_the_applicant_withdraws_and_submits_again_while_the_call_is_open(place):
    project = draft(place)
    walk(project, "submit", "withdraw", "submit", by=place["owner"])
    assert project.state == "submitted"
    assert project.transitions.filter(name="submit").count() == 2


# --- what must be present -----------------------------------------------------------------


@pytest.mark.parametrize("transition", ["return", "reject", "terminate"])
def test_returning_rejecting_and_terminating_say_why(place, transition):
    state = {"return": "submitted", "reject": "submitted", "terminate": "approved"}[transition]
    project = in_state(place, state)
    with pytest.raises(services.ProgrammeError, match="say why") as refused:
        services.take(project, transition, at=local(2023, 3, 1, 10, 0))
    assert refused.value.field == "comment"


def test_a_submission_needs_a_category_of_the_call(place):
    project = draft(place, category="")
    with pytest.raises(services.ProgrammeError, match="choose a category") as refused:
        services.take(project, "submit", at=local(2023, 2, 1, 10, 0))
    assert refused.value.field == "category"


def test_a_submission_needs_a_lead_party(place):
    project = draft(place)
    Party.objects.filter(project=project).delete()
    with pytest.raises(services.ProgrammeError, match="lead party"):
        services.take(project, "submit", at=local(2023, 2, 1, 10, 0))


def test_a_collaboration_is_submitted_with_its_agreement_date(place):
    project = draft(place, kind="collaboration", parties=[(place["institute"], "institute_partner")])
    with pytest.raises(services.ProgrammeError, match="agreement was signed"):
        services.take(project, "submit", at=local(2023, 2, 1, 10, 0))


def test_a_step_cannot_be_dated_before_the_one_before_it_or_in_the_future(place):
    project = walk(draft(place), "submit")
    with pytest.raises(services.ProgrammeError, match="last step was on 2023-02-01 10:00"):
        services.take(project, "start_review", at=local(2023, 1, 31, 10, 0))
    with pytest.raises(services.ProgrammeError, match="future"):
        services.take(project, "start_review", at=dt.datetime.now(services.SHANGHAI) + dt.timedelta(days=1))


# --- deadlines ----------------------------------------------------------------------------


def test_a_submission_at_the_closing_moment_is_accepted(place):
    project = draft(place)
    services.take(project, "submit", at=local(2023, 3, 15, 17, 0))
    assert project.state == "submitted"


def test_a_submission_after_the_call_closes_is_refused(place):
    project = draft(place)
    with pytest.raises(services.ProgrammeError) as refused:
        services.take(project, "submit", by=place["owner"], at=local(2023, 3, 15, 17, 1))
    assert refused.value.field == "call"
    assert "closed on 2023-03-15 17:00 (Asia/Shanghai); submissions after the closing date are refused" in (
        refused.value.reason)
    project.refresh_from_db()
    assert project.state == "draft"


def test_a_submission_now_to_a_call_closed_in_2023_is_refused(place):
    with pytest.raises(services.ProgrammeError, match="closed on 2023-03-15"):
        services.take(draft(place), "submit", by=place["owner"])


def test_a_submission_before_the_call_opens_is_refused(place):
    with pytest.raises(services.ProgrammeError, match="opens on 2023-01-01 09:00"):
        services.take(draft(place), "submit", at=local(2023, 1, 1, 8, 59))


def test_a_naive_moment_is_read_in_shanghai_time(place):
    project = draft(place)
    step = services.take(project, "submit", at=dt.datetime(2023, 3, 15, 17, 0))
    assert step.at == local(2023, 3, 15, 17, 0)


# --- calls --------------------------------------------------------------------------------


def test_only_the_bureau_of_a_region_opens_its_calls(place):
    with pytest.raises(services.NotAllowed):
        services.open_call(place["tongzhou"], key="x", programme_zh="x", categories=["a"], by=place["other_bureau"],
                           opens=local(2023, 1, 1, 0, 0), closes=local(2023, 2, 1, 0, 0))


@pytest.mark.parametrize("change, field", [
    ({"categories": []}, "categories"),
    ({"closes": local(2022, 12, 1, 0, 0)}, "closes"),
    ({"criteria": [{"name": "创新性"}]}, "criteria"),
    ({"criteria": [{"name": "a", "max": 10}, {"name": "a", "max": 5}]}, "criteria"),
])
def test_bad_calls_are_refused(place, change, field):
    fields = {"key": "x", "programme_zh": "x", "categories": ["a"], "opens": local(2023, 1, 1, 0, 0),
              "closes": local(2023, 2, 1, 0, 0), **change}
    with pytest.raises(services.ProgrammeError) as refused:
        services.open_call(place["tongzhou"], **fields)
    assert refused.value.field == field


# --- the admin ----------------------------------------------------------------------------


def test_the_admin_takes_transitions_through_the_service(place, admin_client, admin_user):
    project = walk(draft(place), "submit")
    response = admin_client.post("/admin/programs/project/", {"action": "take_start_review",
                                                              "_selected_action": [project.pk]})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.state == "under_review"
    assert project.transitions.last().by == admin_user


def test_the_admin_reports_a_refused_transition(place, admin_client):
    project = draft(place)
    response = admin_client.post("/admin/programs/project/", {"action": "take_approve",
                                                              "_selected_action": [project.pk]}, follow=True)
    assert "cannot approve from &#x27;draft&#x27;" in response.content.decode()
    project.refresh_from_db()
    assert project.state == "draft"

"""The demo's programmes: the seed article's 74 innovation projects approved and 59
academia–industry collaborations introduced in Tongzhou in 2023H1, and invented
projects around them that the counts must leave out."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Count, Max, Min, Q

from kechuang.demo.builder import build_demo
from kechuang.demo.programs import CALL_KEY, OPEN_CALL_KEY, demo_programmes
from kechuang.programs import counts, services
from kechuang.programs.models import Call, Project, ProjectTransition
from kechuang.registry.models import Organisation
from kechuang.statistics.periods import Period

H1_2023 = Period.of_half(2023, 1)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Build the demo once for this module, inside a transaction rolled back at the end."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            log = list(build_demo())
            yield log
            transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def test_tongzhou_approved_74_innovation_projects_in_2023_h1_as_the_article_says(demo):
    assert counts.projects_approved("320612", H1_2023).value == 74


def test_tongzhou_introduced_59_collaborations_in_2023_h1_as_the_article_says(demo):
    assert counts.collaborations_introduced("320612", H1_2023).value == 59


def test_a_call_is_open_on_the_day_the_demo_is_built_for_its_enterprise_user_to_apply_to(demo, client):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    call = Call.objects.get(key=OPEN_CALL_KEY)
    assert call.opens < timezone.now() < call.closes and not call.projects.exists()
    client.force_login(get_user_model().objects.get(username="zhongkeyi"))
    page = client.get("/programmes/calls/", {"status": "open"}).content.decode()
    assert f'href="/programmes/calls/{OPEN_CALL_KEY}/apply/"' in page or f"/programmes/calls/{OPEN_CALL_KEY}/" in page
    assert client.get(f"/programmes/calls/{OPEN_CALL_KEY}/apply/").status_code == 200


def test_the_call_of_the_article_is_there_with_its_two_categories(demo):
    call = Call.objects.get(key=CALL_KEY)
    assert call.programme_zh == "2023年通州区科技创新项目"
    assert call.region.code == "320612" and call.categories == ["普通科创项目", "高成长型科创项目"]


def test_the_approvals_of_2023_h1_are_dated_within_the_half_in_shanghai(demo):
    records = counts.projects_approved("320612", H1_2023).records
    moments = ProjectTransition.objects.filter(project__in=records, to_state="approved").aggregate(
        first=Min("at"), last=Max("at"))
    assert moments["first"] >= dt.datetime(2023, 1, 1, tzinfo=services.SHANGHAI)
    assert moments["last"] < dt.datetime(2023, 7, 1, tzinfo=services.SHANGHAI)
    assert records.filter(call__key=CALL_KEY).count() == 74


def test_the_counts_are_not_simply_every_row(demo):
    assert counts.projects_approved("320612", Period.of_half(2022, 2)).value > 0
    assert counts.projects_approved("320612", Period.of_half(2023, 2)).value > 0
    assert counts.collaborations_introduced("320612", Period.of_year(2022)).value > 0
    assert counts.collaborations_introduced("320612", Period.of_half(2023, 2)).value > 0
    states = set(Project.objects.values_list("state", flat=True))
    assert {"draft", "submitted", "under_review", "rejected", "approved", "in_progress", "completed",
            "terminated"} <= states
    # Collaborations signed in 2023H1 that the bureau has not recognised (or refused) are not counted.
    signed = Project.objects.filter(kind="collaboration", agreement_date__range=(H1_2023.start, H1_2023.end),
                                    applicant__in=Organisation.objects.in_region("320612"))
    assert signed.count() > 59


def test_collaborations_of_other_districts_count_for_them_and_for_nantong(demo):
    nantong = counts.collaborations_introduced("320600", H1_2023).value
    assert nantong > 59
    assert counts.collaborations_introduced("320613", H1_2023).value + 59 <= nantong


def test_approvals_by_category_add_up_to_74(demo):
    by_category = counts.projects_approved_by_category("320612", H1_2023)
    assert set(by_category) == {"普通科创项目", "高成长型科创项目"}
    assert sum(by_category.values()) == 74
    assert counts.projects_approved("320612", H1_2023, category="高成长型科创项目").value == by_category[
        "高成长型科创项目"]


def test_the_technology_contract_turnover_of_2023_h1_is_the_sum_of_the_59(demo):
    turnover = counts.technology_contract_turnover("320612", H1_2023)
    assert turnover.value == sum(p.contract_value for p in turnover.records)
    assert turnover.value > Decimal(0) and turnover.records.count() == 59


def test_every_demo_project_is_synthetic_and_marked(demo):
    projects = Project.objects.all()
    assert projects.exists()
    assert not projects.filter(synthetic=False).exists()
    assert all(p.title_zh.endswith("(demo)") for p in projects)
    assert not projects.exclude(applicant__synthetic=True).exists()


def test_every_demo_project_ends_in_the_state_of_its_last_transition(demo):
    for project in Project.objects.prefetch_related("transitions"):
        steps = list(project.transitions.all())
        assert project.state == (steps[-1].to_state if steps else "draft")
        for before, after in zip(steps, steps[1:], strict=False):
            assert before.to_state == after.from_state and before.at <= after.at


def test_every_collaboration_has_an_enterprise_and_a_university_or_institute(demo):
    collaborations = Project.objects.filter(kind="collaboration").annotate(
        academic=Count("parties", filter=Q(parties__organisation__kind__in=["university", "institute"])))
    assert not collaborations.filter(academic=0).exists()


def test_nothing_is_dated_after_the_article(demo):
    assert not ProjectTransition.objects.filter(at__gte=dt.datetime(2023, 9, 5, tzinfo=services.SHANGHAI)).exists()


def test_the_demo_reviewer_has_scored_some_and_is_overdue_on_others(demo):
    call = Call.objects.get(key=CALL_KEY)
    ranked = services.ranking(call)
    assert any(row.mean_total is not None for row in ranked)
    assert services.overdue_reviews(dt.date(2023, 9, 4)).exists()


def test_building_the_programmes_again_adds_nothing(demo):
    before = Project.objects.count()
    assert "already" in next(demo_programmes("320612"))
    assert Project.objects.count() == before


# --- the admin ----------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["call", "project", "reviewassignment", "expert", "historicalparty", "historicalproject",
                                   "historicalcall"])
def test_the_admin_lists_every_programme_table(demo, admin_client, table):
    assert admin_client.get(f"/admin/programs/{table}/").status_code == 200


def test_the_admin_change_pages_of_a_project_a_call_and_a_review_load(demo, admin_client):
    project = Project.objects.filter(state="completed").first()
    page = admin_client.get(f"/admin/programs/project/{project.pk}/change/").content.decode()
    assert project.title_zh in page and "start_review" in page  # the transitions, listed read-only
    for url in (f"/admin/programs/project/{project.pk}/history/", "/admin/programs/project/add/",
                f"/admin/programs/call/{Call.objects.get(key=CALL_KEY).pk}/change/",
                "/admin/programs/reviewassignment/add/"):
        assert admin_client.get(url).status_code == 200, url
    from kechuang.programs.models import ReviewAssignment

    review = ReviewAssignment.objects.first()
    assert admin_client.get(f"/admin/programs/reviewassignment/{review.pk}/change/").status_code == 200


def test_the_admin_has_no_field_to_change_the_state(demo, admin_client):
    project = Project.objects.filter(state="submitted").first()
    page = admin_client.get(f"/admin/programs/project/{project.pk}/change/").content.decode()
    assert 'name="state"' not in page


def test_the_bureau_login_sees_tongzhous_projects_in_the_admin(demo, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="bureau"))
    response = client.get("/admin/programs/project/")
    assert response.status_code == 200
    tongzhou = Project.objects.filter(applicant__in=Organisation.objects.in_region("320612")).count()
    assert response.context["cl"].result_count == tongzhou < Project.objects.count()

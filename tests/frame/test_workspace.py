"""The home page's panel of what waits for the signed-in user, by role."""

import datetime as dt

import pytest
from django.utils import translation

from kechuang.programs import services as programs
from kechuang.statistics.models import ObservationStatus
from kechuang.web.workspace import tasks_for
from tests.indicators.conftest import figure, world  # noqa: F401  (fixtures)


def counts(user) -> dict[str, int | None]:
    with translation.override("en"):
        return {task.text: task.count for task in tasks_for(user)}


def test_the_bureau_is_told_what_waits_for_approval(world, figure):  # noqa: F811
    submitted = programs.create_project(world["plain"], title_zh="待评审项目")
    programs.take(submitted, "submit")
    programs.create_project(world["plain"], title_zh="草稿项目")  # a draft is nobody's work but the applicant's
    figure(world["plain"], "industrial-output", "2023H1", 100, status=ObservationStatus.SUBMITTED)
    figure(world["rival"], "industrial-output", "2023H1", 100, status=ObservationStatus.SUBMITTED)  # Chongchuan
    found = counts(world["bureau"])
    assert found["applications submitted, waiting for review"] == 1
    assert found["figures waiting for approval"] == 1  # Tongzhou's, not Chongchuan's


def test_an_enterprise_user_sees_their_drafts_and_the_figures_returned_to_them(world, figure):  # noqa: F811
    programs.create_project(world["plain"], title_zh="我的草稿")
    programs.create_project(world["parked"], title_zh="别家的草稿")
    figure(world["plain"], "industrial-output", "2023H1", 100, status=ObservationStatus.RETURNED)
    found = counts(world["owner"])
    assert found["applications in draft"] == 1
    assert found["figures returned for correction"] == 1
    assert "figures waiting for approval" not in found


def test_an_analyst_changes_nothing_and_is_given_no_approvals(world):  # noqa: F811
    found = counts(world["analyst"])
    assert "figures waiting for approval" not in found and "applications in draft" not in found


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_home_page_shows_the_panel_to_the_signed_in_and_not_to_the_public(client, world, language):  # noqa: F811
    assert 'class="workspace"' not in client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    client.force_login(world["bureau"])
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert 'class="workspace"' in html
    assert ("figures waiting for approval" in html) == (language == "en")


def test_a_reviewer_sees_what_is_overdue(world, django_user_model):  # noqa: F811
    from kechuang.accounts.models import Role
    from kechuang.accounts.services import grant_role

    expert = django_user_model.objects.create_user("expert")
    grant_role(expert, Role.REVIEWER, by=None)
    programs.register_expert(expert, expertise="半导体装备")
    project = programs.create_project(world["plain"], title_zh="评审项目")
    programs.take(project, "submit")
    programs.take(project, "start_review")
    programs.assign_reviewer(project, expert, due=dt.date(2020, 1, 1))
    found = counts(expert)
    assert found["applications to score"] == 1 and found["of them overdue"] == 1

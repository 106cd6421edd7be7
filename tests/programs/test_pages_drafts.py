"""`services.update_draft`, the use case the application form's edit page needed: the
applicant's people change their draft, checked as `create_project` checks it; a draft
changed meanwhile by someone else is not silently overwritten."""

import datetime as dt
from decimal import Decimal

import pytest

from kechuang.programs import services

from .conftest import CATEGORIES, draft, walk

pytestmark = pytest.mark.django_db


def test_the_applicant_changes_the_fields_of_a_draft(place):
    project = draft(place)
    changed = services.update_draft(project, by=place["owner"], title_zh="新名称", title_en="New title",
                                    category=CATEGORIES[1], requested_funding="300000.50",
                                    planned_start=dt.date(2024, 1, 1), planned_end=dt.date(2024, 12, 31))
    project.refresh_from_db()
    assert (project.title_zh, project.title_en, project.category) == ("新名称", "New title", CATEGORIES[1])
    assert project.requested_funding == Decimal("300000.50") and changed.updated_at == project.updated_at
    assert project.history.order_by("history_date").last().history_user == place["owner"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"title_zh": "  "}, "title_zh"),
    ({"category": "不存在的类别"}, "category"),
    ({"requested_funding": "-1"}, "requested_funding"),
    ({"own_funding": 1.5}, "own_funding"),
    ({"planned_start": dt.date(2024, 2, 1), "planned_end": dt.date(2024, 1, 1)}, "planned_end"),
    ({"applicant": None}, "applicant"),
])
def test_a_bad_change_is_refused_naming_the_field_and_nothing_is_written(place, changes, field):
    project = draft(place, title_zh="原名称")
    with pytest.raises(services.ProgrammeError) as refused:
        services.update_draft(project, by=place["owner"], **changes)
    assert refused.value.field == field
    project.refresh_from_db()
    assert project.title_zh == "原名称" and project.requested_funding == 0


def test_only_the_applicant_s_people_change_it_and_only_while_a_draft(place):
    project = draft(place)
    with pytest.raises(services.NotAllowed):
        services.update_draft(project, by=place["rival_owner"], title_zh="别人改的")
    with pytest.raises(services.NotAllowed):
        services.update_draft(project, by=place["analyst"], title_zh="分析员改的")
    services.update_draft(project, by=place["bureau"], title_zh="科技局改的")  # can_change: the district's bureau
    walk(project, "submit")
    with pytest.raises(services.ProgrammeError) as refused:
        services.update_draft(project, by=place["owner"], title_zh="提交后改")
    assert refused.value.field == "state"


def test_a_change_made_on_a_stale_copy_is_refused(place):
    project = draft(place)
    seen = project.updated_at
    services.update_draft(project, by=place["bureau"], title_zh="先保存的")
    with pytest.raises(services.ProgrammeError) as refused:
        services.update_draft(project, by=place["owner"], unchanged_since=seen, title_zh="后保存的")
    assert refused.value.field == "updated_at"
    project.refresh_from_db()
    assert project.title_zh == "先保存的"
    services.update_draft(project, by=place["owner"], unchanged_since=project.updated_at, title_zh="刷新后保存")
    project.refresh_from_db()
    assert project.title_zh == "刷新后保存"

"""The programmes' web pages: calls, applications, the review board and the reviewers'
queue. Who may open each page (anonymous → the login page, another role → 403, a row out of
scope → 404), what each shows, the forms' errors naming their field, the lists' filters,
sorting, pages, htmx part and export, the number of queries, and both languages."""

import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kechuang.programs import services
from kechuang.programs.models import Attachment, Project, ProjectState

from .conftest import CATEGORIES, CRITERIA, draft, walk

pytestmark = pytest.mark.django_db

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(200)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def pages(place, media):
    """The programmes' small world with a call of Tongzhou open now (`open`) beside the 2023 one."""
    now = timezone.now()
    place["open"] = services.open_call(place["tongzhou"], key="tongzhou-now", programme_zh="通州区科技创新项目（当期）",
                                       programme_en="Tongzhou innovation projects (current)",
                                       categories=CATEGORIES, criteria=CRITERIA, opens=now - dt.timedelta(days=1),
                                       closes=now + dt.timedelta(days=30), review_days=10,
                                       required_documents=["可行性研究报告"])
    return place


def applied(place, title="智能传感器研发", applicant="firm", **fields):
    """A draft of the firm in the open call, submitted (now)."""
    project = draft(place, applicant, call=place["open"], title_zh=title, **fields)
    services.take(project, "submit")
    return project


def under_review(place, title="智能传感器研发", **fields):
    project = applied(place, title, **fields)
    services.take(project, "start_review")
    return project


def pdf(name="可行性研究报告.pdf", data=PDF_BYTES):
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def sheet(answer) -> list[tuple]:
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(answer.content))
    return list(workbook.active.iter_rows(values_only=True))


def text(answer) -> str:
    assert answer.status_code == 200, answer.status_code
    return answer.content.decode()


# --- who may open which page ---------------------------------------------------------------------


PAGES = {
    # page: (who may, who is refused with 403, who gets 404)
    "calls": (("bureau", "analyst", "owner"), ("expert",), ()),
    "call": (("bureau", "analyst", "owner"), ("expert",), ()),
    "apply": (("owner",), ("bureau", "analyst"), ("expert",)),
    "applications": (("owner",), ("bureau", "analyst", "expert"), ()),
    "application": (("owner", "bureau", "analyst", "professor"), (), ("rival_owner", "other_bureau", "expert")),
    "edit": (("owner", "bureau"), ("analyst",), ("rival_owner", "expert")),
    "attachment": (("owner", "bureau", "professor"), (), ("rival_owner", "expert")),
    "board": (("bureau",), ("owner", "analyst", "expert"), ()),
    "board_project": (("bureau",), ("owner", "analyst", "expert"), ("other_bureau",)),
    "reviews": (("professor", "expert"), ("owner", "bureau", "analyst"), ()),
    "review": (("professor",), (), ("expert", "owner", "bureau")),
}


@pytest.fixture
def urls(pages, client):
    """One of each: a draft with a file, an application under review assigned to the professor."""
    mine = draft(pages, call=pages["open"], title_zh="草稿项目")
    file = services_attach(mine, pages["owner"])
    reviewed = under_review(pages, "评审中项目")
    assignment = services.assign_reviewer(reviewed, pages["professor"])
    # The professor reads the application and its files: attach one to the reviewed project (the bureau may).
    services_attach(reviewed, pages["bureau"], pdf(data=PDF_BYTES + b"%review"))
    reviewed_file = reviewed.attachments.get()
    return {
        "calls": "/programmes/calls/",
        "call": "/programmes/calls/tongzhou-now/",
        "apply": "/programmes/calls/tongzhou-now/apply/",
        "applications": "/programmes/applications/",
        "application": f"/programmes/applications/{reviewed.key}/",
        "edit": f"/programmes/applications/{mine.key}/edit/",
        "attachment": f"/programmes/applications/{reviewed.key}/attachments/{reviewed_file.pk}/",
        "board": "/programmes/board/",
        "board_project": f"/programmes/board/{reviewed.key}/",
        "reviews": "/programmes/reviews/",
        "review": f"/programmes/reviews/{assignment.pk}/",
        "_draft_file": f"/programmes/applications/{mine.key}/attachments/{file.pk}/",
    }


def services_attach(project, user, upload=None):
    from kechuang.programs.attachments import attach

    return attach(project, upload or pdf(), by=user)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_anonymous_visitors_are_sent_to_the_login_page(client, urls, name):
    answer = client.get(urls[name])
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_opens_for_its_roles_only(client, pages, urls, name):
    allowed, refused, missing = PAGES[name]
    for who in allowed:
        client.force_login(pages[who])
        assert client.get(urls[name]).status_code == 200, (name, who)
    for who in refused:
        client.force_login(pages[who])
        assert client.get(urls[name]).status_code == 403, (name, who)
    for who in missing:
        client.force_login(pages[who])
        assert client.get(urls[name]).status_code == 404, (name, who)


def test_a_draft_s_file_is_downloaded_by_its_owner_only(client, pages, urls):
    client.force_login(pages["owner"])
    answer = client.get(urls["_draft_file"])
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == PDF_BYTES
    assert "attachment;" in answer["Content-Disposition"]
    assert answer["Cache-Control"] == "private, no-store"
    client.force_login(pages["professor"])  # not assigned to the draft
    assert client.get(urls["_draft_file"]).status_code == 404


# --- calls --------------------------------------------------------------------------------------


def test_the_calls_list_shows_each_call_with_its_status_and_deadlines(client, pages):
    client.force_login(pages["owner"])
    html = text(client.get("/programmes/calls/"))
    assert "通州区科技创新项目（当期）" in html and "2023年通州区科技创新项目" in html
    assert 'class="status call-open">申报中' in html
    assert 'class="status call-closed">已截止' in html
    assert "2023-03-15 17:00" in html  # the closing moment, Beijing time
    assert 'aria-sort="none"' in html and "?sort=closes" in html


def test_the_calls_list_filters_by_status_year_and_region_in_the_url(client, pages):
    client.force_login(pages["bureau"])
    html = text(client.get("/programmes/calls/", {"status": "closed"}))
    assert "2023年通州区科技创新项目" in html and "通州区科技创新项目（当期）" not in html
    html = text(client.get("/programmes/calls/", {"year": "2023"}))
    assert "2023年通州区科技创新项目" in html and "通州区科技创新项目（当期）" not in html
    html = text(client.get("/programmes/calls/", {"region": "320612", "status": "open"}))
    assert "通州区科技创新项目（当期）" in html and "2023年通州区" not in html
    html = text(client.get("/programmes/calls/", {"status": "upcoming"}))
    assert "没有符合筛选条件的申报通知" in html and "/programmes/calls/" in html


def test_a_bad_filter_is_said_and_left_out_never_a_server_error(client, pages):
    client.force_login(pages["bureau"])
    html = text(client.get("/programmes/calls/", {"status": "bogus", "year": "abc", "page": "x", "sort": "nope"}))
    assert "以下筛选条件无法识别" in html
    assert "状态" in html and "年份" in html
    assert "2023年通州区科技创新项目" in html  # the other filters still apply: none


def test_the_calls_list_sorts_by_the_url(client, pages):
    client.force_login(pages["bureau"])
    html = text(client.get("/programmes/calls/", {"sort": "closes"}))
    assert html.index("2023年通州区科技创新项目") < html.index("通州区科技创新项目（当期）")
    assert 'aria-sort="ascending"' in html
    html = text(client.get("/programmes/calls/", {"sort": "-closes"}))
    assert html.index("2023年通州区科技创新项目") > html.index("通州区科技创新项目（当期）")


def test_the_calls_list_is_paged_keeping_its_filters(client, pages):
    now = timezone.now()
    for n in range(55):
        services.open_call(pages["tongzhou"], key=f"call-{n:02}", programme_zh=f"第{n:02}号通知", categories=CATEGORIES,
                           opens=now - dt.timedelta(hours=n + 1), closes=now + dt.timedelta(days=5))
    client.force_login(pages["owner"])
    html = text(client.get("/programmes/calls/", {"status": "open", "sort": "programme"}))
    assert "第49号通知" in html and "第50号通知" not in html  # 50 a page; 通州区… sorts after 第…
    assert 'href="?status=open&amp;sort=programme&amp;page=2"' in html
    html = text(client.get("/programmes/calls/", {"status": "open", "sort": "programme", "page": "2"}))
    assert "第50号通知" in html and "第49号通知" not in html and "通州区科技创新项目（当期）" in html
    assert 'href="?status=open&amp;sort=programme&amp;page=1"' in html


def test_the_calls_list_answers_htmx_with_the_list_only(client, pages):
    client.force_login(pages["bureau"])
    answer = client.get("/programmes/calls/", {"status": "open"}, HTTP_HX_REQUEST="true")
    html = text(answer)
    assert "<html" not in html and "<table" in html and "通州区科技创新项目（当期）" in html
    assert "HX-Request" in answer["Vary"]
    assert "<html" in text(client.get("/programmes/calls/", {"status": "open"}))


def test_the_calls_export_holds_the_filtered_rows(client, pages):
    client.force_login(pages["bureau"])
    rows = sheet(client.get("/programmes/calls/", {"format": "xlsx", "status": "closed"}))
    assert rows[0][:3] == ("编号", "计划（中文）", "计划（英文）")
    assert [row[0] for row in rows[1:]] == ["tongzhou-2023"]
    assert rows[1][5] == dt.datetime(2023, 1, 1, 9, 0) and rows[1][7] == "已截止"
    csv = client.get("/programmes/calls/", {"format": "csv"})
    assert csv.status_code == 200 and "tongzhou-now" in csv.content.decode("utf-8-sig")


def test_the_call_page_offers_an_enterprise_to_apply_while_the_call_is_open(client, pages):
    client.force_login(pages["owner"])
    html = text(client.get("/programmes/calls/tongzhou-now/"))
    assert 'href="/programmes/calls/tongzhou-now/apply/"' in html
    assert "可行性研究报告" in html and "创新性" in html
    html = text(client.get("/programmes/calls/tongzhou-2023/"))
    assert "/apply/" not in html and "已截止" in html
    client.force_login(pages["bureau"])
    assert "/apply/" not in text(client.get("/programmes/calls/tongzhou-now/"))


def test_a_closed_call_cannot_be_applied_to(client, pages):
    client.force_login(pages["owner"])
    answer = client.get("/programmes/calls/tongzhou-2023/apply/", follow=True)
    assert answer.redirect_chain[-1][0] == "/programmes/calls/tongzhou-2023/"
    assert "本申报通知当前不接受申报" in answer.content.decode()


def test_an_unknown_call_is_a_404(client, pages):
    client.force_login(pages["owner"])
    assert client.get("/programmes/calls/no-such-call/").status_code == 404


# --- the application form ----------------------------------------------------------------------


def form_data(**changes):
    data = {"applicant": "", "category": CATEGORIES[0], "title_zh": "真空泵国产化", "title_en": "Vacuum pumps",
            "summary": "干式真空泵", "requested_funding": "500000", "own_funding": "1200000.50",
            "planned_start": "2026-01-01", "planned_end": "2027-12-31"}
    data.update(changes)
    return data


def test_an_enterprise_saves_a_draft_with_a_file(client, pages):
    client.force_login(pages["owner"])
    data = form_data(applicant=pages["firm"].pk, file=pdf(), draft="1")
    answer = client.post("/programmes/calls/tongzhou-now/apply/", data)
    project = Project.objects.get(title_zh="真空泵国产化")
    assert answer.status_code == 302 and answer["Location"] == f"/programmes/applications/{project.key}/"
    assert project.state == ProjectState.DRAFT and project.call == pages["open"]
    assert project.requested_funding == Decimal("500000.00") and project.own_funding == Decimal("1200000.50")
    assert project.planned_end == dt.date(2027, 12, 31) and project.created_by == pages["owner"]
    file = project.attachments.get()
    assert file.original_name == "可行性研究报告.pdf" and file.uploaded_by == pages["owner"]
    html = text(client.get(answer["Location"]))
    assert "草稿" in html and "可行性研究报告.pdf" in html
    assert f"/programmes/applications/{project.key}/attachments/{file.pk}/" in html
    assert "尚未提交" in html


def test_an_enterprise_submits_its_application_at_once(client, pages):
    client.force_login(pages["owner"])
    answer = client.post("/programmes/calls/tongzhou-now/apply/", form_data(applicant=pages["firm"].pk, submit="1"))
    project = Project.objects.get(title_zh="真空泵国产化")
    assert answer.status_code == 302
    assert project.state == ProjectState.SUBMITTED
    step = project.transitions.get()
    assert step.name == "submit" and step.by == pages["owner"]
    html = text(client.get(answer["Location"], HTTP_ACCEPT_LANGUAGE="en"))
    assert "Submitted" in html and "owner" in html and "Status history" in html


def test_a_refused_file_shows_the_reason_and_leaves_no_draft(client, pages):
    client.force_login(pages["owner"])
    data = form_data(applicant=pages["firm"].pk, file=pdf("报告.pdf", EXE_BYTES), draft="1")
    html = text(client.post("/programmes/calls/tongzhou-now/apply/", data))
    assert "Windows program" in html and 'id="id_file_error"' in html
    assert not Project.objects.filter(title_zh="真空泵国产化").exists()
    assert not Attachment.objects.exists()
    assert 'value="真空泵国产化"' in html  # what was typed is kept


def test_an_upload_far_over_the_limit_is_refused_by_its_length(client, pages, settings):
    settings.PROGRAMME_ATTACHMENT_MAX_BYTES = 1000
    client.force_login(pages["owner"])
    data = form_data(applicant=pages["firm"].pk, file=pdf(data=PDF_BYTES + bytes(70_000)), draft="1")
    html = text(client.post("/programmes/calls/tongzhou-now/apply/", data))
    assert "上传的内容超过 1000 bytes 的限制" in html
    assert not Project.objects.exists() and not Attachment.objects.exists()
    # Within the envelope's room the service reads it, and names the field.
    html = text(client.post("/programmes/calls/tongzhou-now/apply/",
                            form_data(applicant=pages["firm"].pk, file=pdf(data=PDF_BYTES + bytes(2000)), draft="1")))
    assert 'id="id_file_error"' in html and "larger than the limit of 1000 bytes" in html


def test_a_garbled_version_is_taken_for_a_conflict(client, pages):
    project = draft(pages, call=pages["open"], title_zh="原名称")
    client.force_login(pages["owner"])
    for garbled in ("2024-13-45T00:00:00", "yesterday"):
        html = text(client.post(f"/programmes/applications/{project.key}/edit/",
                                form_data(updated_at=garbled, draft="1")))
        assert "在您打开后已被他人保存" in html
    project.refresh_from_db()
    assert project.title_zh == "原名称"


def test_the_service_s_refusals_name_the_field(client, pages):
    client.force_login(pages["owner"])
    html = text(client.post("/programmes/calls/tongzhou-now/apply/",
                            form_data(applicant=pages["firm"].pk, title_zh="  ", draft="1")))
    assert 'id="id_title_zh_error"' in html and "a project has a title" in html
    html = text(client.post("/programmes/calls/tongzhou-now/apply/",
                            form_data(applicant=pages["firm"].pk, requested_funding="-5", draft="1")))
    assert 'id="id_requested_funding_error"' in html and "cannot be negative" in html
    html = text(client.post("/programmes/calls/tongzhou-now/apply/",
                            form_data(applicant=pages["firm"].pk, requested_funding="abc", draft="1")))
    assert 'id="id_requested_funding_error"' in html and "输入一个数字" in html
    html = text(client.post("/programmes/calls/tongzhou-now/apply/",
                            form_data(applicant=pages["firm"].pk, planned_end="2025-01-01", draft="1")))
    assert 'id="id_planned_end_error"' in html and "ends after it starts" in html
    assert not Project.objects.exists()


def test_a_refused_submission_keeps_the_draft_and_shows_the_guard_s_reason(client, pages):
    client.force_login(pages["owner"])
    html = text(client.post("/programmes/calls/tongzhou-now/apply/",
                            form_data(applicant=pages["firm"].pk, category="", submit="1")))
    project = Project.objects.get(title_zh="真空泵国产化")
    assert project.state == ProjectState.DRAFT
    assert 'id="id_category_error"' in html and "choose a category" in html
    assert "草稿已保存，但未能提交" in html
    # The next save changes that draft (the form now posts to its edit page, with its version).
    assert f'action="/programmes/applications/{project.key}/edit/"' in html
    version = project.updated_at.isoformat()
    assert f'value="{version}"' in html
    answer = client.post(f"/programmes/applications/{project.key}/edit/",
                         form_data(category=CATEGORIES[1], updated_at=version, submit="1"))
    assert answer.status_code == 302
    project.refresh_from_db()
    assert project.state == ProjectState.SUBMITTED and project.category == CATEGORIES[1]
    assert Project.objects.count() == 1


def one_time_key(client) -> str:
    """The key the blank application form carries for the application it will make."""
    page = text(client.get("/programmes/calls/tongzhou-now/apply/"))
    (key,) = re.findall(r'<input type="hidden" name="key" value="(project-[0-9a-f]{16})"', page)
    return key


def test_the_form_sent_again_names_the_application_its_first_sending_made(client, pages):
    client.force_login(pages["owner"])
    key = one_time_key(client)
    assert one_time_key(client) != key  # each blank form makes its own application
    first = client.post("/programmes/calls/tongzhou-now/apply/", form_data(applicant=pages["firm"].pk, key=key,
                                                                          draft="1"))
    again = client.post("/programmes/calls/tongzhou-now/apply/", form_data(applicant=pages["firm"].pk, key=key,
                                                                          title_zh="改过的标题", submit="1"))
    project = Project.objects.get()
    assert project.key == key and first["Location"] == again["Location"] == f"/programmes/applications/{key}/"
    assert project.title_zh == "真空泵国产化" and project.state == ProjectState.DRAFT  # the second changed nothing
    assert "草稿已保存" in text(client.get(again["Location"]))


def test_a_refused_submission_sent_again_lands_on_its_draft(client, pages):
    client.force_login(pages["owner"])
    data = form_data(applicant=pages["firm"].pk, key=one_time_key(client), category="", submit="1")
    assert "草稿已保存，但未能提交" in text(client.post("/programmes/calls/tongzhou-now/apply/", data))
    again = client.post("/programmes/calls/tongzhou-now/apply/", data)  # the browser's "send again"
    project = Project.objects.get()
    assert again.status_code == 302 and again["Location"] == f"/programmes/applications/{project.key}/"
    assert project.state == ProjectState.DRAFT


def test_a_key_of_another_user_s_application_makes_a_new_one(client, pages):
    theirs = draft(pages, call=pages["open"], title_zh="他人的项目")
    Project.objects.filter(pk=theirs.pk).update(key="project-0123456789abcdef", created_by=pages["bureau"])
    client.force_login(pages["owner"])
    answer = client.post("/programmes/calls/tongzhou-now/apply/",
                         form_data(applicant=pages["firm"].pk, key="project-0123456789abcdef", draft="1"))
    mine = Project.objects.get(title_zh="真空泵国产化")
    assert answer.status_code == 302 and answer["Location"] == f"/programmes/applications/{mine.key}/"
    assert mine.key != "project-0123456789abcdef"
    assert Project.objects.get(pk=theirs.pk).title_zh == "他人的项目"


def test_a_garbled_one_time_key_is_refused_and_makes_nothing(client, pages):
    client.force_login(pages["owner"])
    html = text(client.post("/programmes/calls/tongzhou-now/apply/",
                            form_data(applicant=pages["firm"].pk, key="../../admin", draft="1")))
    assert 'class="errors"' in html and not Project.objects.exists()


def test_a_draft_is_edited_and_more_files_attached(client, pages):
    project = draft(pages, call=pages["open"], title_zh="旧名称")
    client.force_login(pages["owner"])
    html = text(client.get(f"/programmes/applications/{project.key}/edit/"))
    assert 'value="旧名称"' in html and 'name="applicant"' not in html
    answer = client.post(f"/programmes/applications/{project.key}/edit/",
                         form_data(updated_at=project.updated_at.isoformat(), file=pdf(), draft="1"))
    assert answer.status_code == 302
    project.refresh_from_db()
    assert project.title_zh == "真空泵国产化" and project.attachments.count() == 1
    history = project.history.order_by("history_date").last()
    assert history.history_user == pages["owner"]


def test_an_edit_made_on_a_stale_page_is_refused_as_a_conflict(client, pages):
    project = draft(pages, call=pages["open"], title_zh="原名称")
    seen = project.updated_at.isoformat()
    services.update_draft(project, by=pages["bureau"], title_zh="局里改的名称")
    client.force_login(pages["owner"])
    html = text(client.post(f"/programmes/applications/{project.key}/edit/", form_data(updated_at=seen, draft="1")))
    assert "在您打开后已被他人保存" in html
    project.refresh_from_db()
    assert project.title_zh == "局里改的名称"


def test_a_submitted_application_is_not_edited_but_may_be_withdrawn(client, pages):
    project = applied(pages)
    client.force_login(pages["owner"])
    answer = client.get(f"/programmes/applications/{project.key}/edit/", follow=True)
    assert answer.redirect_chain[-1][0] == f"/programmes/applications/{project.key}/"
    assert "只能修改草稿" in answer.content.decode()
    assert "撤回" in answer.content.decode()
    client.force_login(pages["analyst"])
    assert client.post(f"/programmes/applications/{project.key}/withdraw/").status_code == 403
    client.force_login(pages["rival_owner"])
    assert client.post(f"/programmes/applications/{project.key}/withdraw/").status_code == 404
    client.force_login(pages["owner"])
    assert client.post(f"/programmes/applications/{project.key}/withdraw/").status_code == 302
    project.refresh_from_db()
    assert project.state == ProjectState.DRAFT


def test_the_applications_list_holds_the_organisation_s_projects_only(client, pages):
    applied(pages, "本企业项目")
    draft(pages, call=pages["open"], title_zh="本企业草稿")
    draft(pages, "rival", kind="collaboration", title_zh="别家项目",
          parties=[(pages["university"], "university_partner")])
    client.force_login(pages["owner"])
    html = text(client.get("/programmes/applications/"))
    assert "本企业项目" in html and "本企业草稿" in html and "别家项目" not in html
    assert "已申报" in html and "草稿" in html
    assert "通州区科技创新项目（当期）" in html  # the calls open now, to apply to
    html = text(client.get("/programmes/applications/", {"status": "draft"}))
    assert "本企业草稿" in html and "本企业项目" not in html
    rows = sheet(client.get("/programmes/applications/", {"format": "xlsx"}))
    assert sorted(row[1] for row in rows[1:]) == ["本企业草稿", "本企业项目"]
    html = text(client.get("/programmes/applications/", {"status": "approved"}))
    assert "没有符合筛选条件的申报" in html


def test_an_enterprise_without_applications_is_told_how_to_start(client, pages):
    client.force_login(pages["owner"])
    html = text(client.get("/programmes/applications/"))
    assert "还没有申报" in html and "/programmes/calls/?status=open" in html


# --- the review board ---------------------------------------------------------------------------


def test_the_board_lists_the_applications_waiting_for_the_bureau(client, pages):
    walk(draft(pages, title_zh="上期项目"), "submit")  # to the 2023 call, in its window
    applied(pages, "待评审项目")
    under_review(pages, "评审中项目")
    draft(pages, call=pages["open"], title_zh="草稿不上板")
    rejected = applied(pages, "已否决项目")
    services.take(rejected, "reject", comment="不符合申报条件")
    client.force_login(pages["bureau"])
    html = text(client.get("/programmes/board/"))
    assert "待评审项目" in html and "评审中项目" in html
    assert "草稿不上板" not in html and "已否决项目" not in html
    html = text(client.get("/programmes/board/", {"call": "tongzhou-2023"}))
    assert "上期项目" in html and "待评审项目" not in html
    html = text(client.get("/programmes/board/", {"status": "rejected"}))
    assert "已否决项目" in html and "待评审项目" not in html
    html = text(client.get("/programmes/board/", {"call": "tongzhou-now", "q": "没有这个名称"}))
    assert "没有符合筛选条件的申报" in html
    html = text(client.get("/programmes/board/", {"status": "nonsense"}))
    assert "以下筛选条件无法识别" in html and "待评审项目" in html
    rows = sheet(client.get("/programmes/board/", {"format": "xlsx", "status": "all"}))
    assert sorted(row[1] for row in rows[1:]) == ["上期项目", "已否决项目", "待评审项目", "评审中项目"]
    assert rows[0][-1] == "平均分"


def test_the_other_district_s_bureau_sees_none_of_it(client, pages):
    applied(pages, "待评审项目")
    client.force_login(pages["other_bureau"])
    html = text(client.get("/programmes/board/"))
    assert "待评审项目" not in html and "目前没有待决定的申报" in html


def test_the_bureau_starts_the_review_assigns_reviewers_and_approves(client, pages):
    project = applied(pages)
    client.force_login(pages["bureau"])
    url = f"/programmes/board/{project.key}/"
    assert client.post(url, {"action": "start_review"}).status_code == 302
    project.refresh_from_db()
    assert project.state == ProjectState.UNDER_REVIEW
    answer = client.post(url, {"action": "assign", "reviewer": pages["expert"].pk, "due": "2030-01-31"})
    assert answer.status_code == 302
    assignment = project.reviews.get()
    assert assignment.reviewer == pages["expert"] and assignment.due == dt.date(2030, 1, 31)
    html = text(client.post(url, {"action": "decide", "decision": "approve"}))
    assert 'id="decide"' in html and "every assigned review must be submitted" in html
    services.submit_review(assignment, {"创新性": 35, "可行性": 25, "效益": 20}, "好")
    html = text(client.get(url))
    assert "<strong>80.00</strong>" in html  # the total in the reviews
    assert 'class="current"' in html and "80.00" in html  # the ranking
    answer = client.post(url, {"action": "decide", "decision": "approve", "comment": "同意立项"})
    assert answer.status_code == 302
    project.refresh_from_db()
    assert project.state == ProjectState.APPROVED
    assert project.transitions.get(name="approve").by == pages["bureau"]


def test_a_conflict_of_interest_is_refused_on_the_form(client, pages):
    project = applied(pages, parties=[(pages["university"], "university_partner")])
    client.force_login(pages["bureau"])
    html = text(client.post(f"/programmes/board/{project.key}/", {"action": "assign",
                                                                  "reviewer": pages["professor"].pk}))
    assert 'id="id_reviewer_error"' in html and "conflict of interest" in html
    assert not project.reviews.exists()


def test_rejecting_or_returning_needs_a_reason(client, pages):
    project = applied(pages)
    client.force_login(pages["bureau"])
    url = f"/programmes/board/{project.key}/"
    html = text(client.post(url, {"action": "decide", "decision": "reject", "comment": ""}))
    assert 'id="id_comment_error"' in html and "say why" in html
    html = text(client.post(url, {"action": "decide"}))
    assert "该字段是必填项" in html  # no decision chosen
    assert client.post(url, {"action": "decide", "decision": "return", "comment": "请补充预算"}).status_code == 302
    project.refresh_from_db()
    assert project.state == ProjectState.DRAFT
    client.force_login(pages["owner"])
    html = text(client.get(f"/programmes/applications/{project.key}/"))
    assert 'class="decision return"' in html and "请补充预算" in html
    services.take(project, "submit")  # submitted again: the return is history, no longer the decision
    html = text(client.get(f"/programmes/applications/{project.key}/"))
    assert 'class="decision' not in html and "请补充预算" in html  # still in the status history


def test_the_applicant_sees_the_decision_but_never_the_scores(client, pages):
    project = under_review(pages)
    assignment = services.assign_reviewer(project, pages["expert"])
    services.submit_review(assignment, {"创新性": 35, "可行性": 25, "效益": 20}, "创新性突出")
    services.take(project, "approve")
    client.force_login(pages["owner"])
    html = text(client.get(f"/programmes/applications/{project.key}/"))
    assert 'class="decision approve"' in html and "已立项" in html
    assert "80.00" not in html and "创新性突出" not in html
    client.force_login(pages["bureau"])
    html = text(client.get(f"/programmes/applications/{project.key}/"))
    assert "80.00" in html and "创新性突出" in html


def test_an_unknown_board_action_is_a_404(client, pages):
    project = applied(pages)
    client.force_login(pages["bureau"])
    assert client.post(f"/programmes/board/{project.key}/", {"action": "explode"}).status_code == 404


# --- the reviewer's queue ----------------------------------------------------------------------


def test_the_reviewer_sees_their_assignments_with_due_dates(client, pages):
    mine = under_review(pages, "分给我的项目")
    services.assign_reviewer(mine, pages["expert"], due=dt.date(2030, 5, 20))
    other = under_review(pages, "别人的评审")
    services.assign_reviewer(other, pages["professor"])
    client.force_login(pages["expert"])
    html = text(client.get("/programmes/reviews/"))
    assert "分给我的项目" in html and "2030-05-20" in html and "别人的评审" not in html
    assert "待评分" in html
    rows = sheet(client.get("/programmes/reviews/", {"format": "xlsx"}))
    assert [row[0] for row in rows[1:]] == ["分给我的项目"] and rows[1][3] == dt.datetime(2030, 5, 20)
    html = text(client.get("/programmes/reviews/", {"status": "submitted"}))
    assert "没有符合筛选条件的评审任务" in html


def test_an_overdue_review_is_marked(client, pages):
    project = under_review(pages)
    services.assign_reviewer(project, pages["expert"], due=timezone.localdate() - dt.timedelta(days=1))
    client.force_login(pages["expert"])
    html = text(client.get("/programmes/reviews/", {"status": "overdue"}))
    assert "智能传感器研发" in html and 'class="status overdue"' in html


def test_the_reviewer_scores_each_criterion_and_submits_once(client, pages):
    project = under_review(pages)
    assignment = services.assign_reviewer(project, pages["expert"])
    client.force_login(pages["expert"])
    url = f"/programmes/reviews/{assignment.pk}/"
    html = text(client.get(url))
    assert "创新性（0 至 40）" in html and 'name="score_0"' in html and 'name="score_2"' in html
    html = text(client.post(url, {"score_0": "45", "score_1": "20", "score_2": "20"}))
    assert 'id="id_score_0_error"' in html and "outside 0..40" in html
    html = text(client.post(url, {"score_0": "30", "score_1": "20"}))
    assert "missing: 效益" in html
    html = text(client.post(url, {"score_0": "x", "score_1": "20", "score_2": "20"}))
    assert 'id="id_score_0_error"' in html
    assignment.refresh_from_db()
    assert assignment.submitted_at is None
    answer = client.post(url, {"score_0": "35.5", "score_1": "20", "score_2": "20", "comment": "可行",
                               "declaration": "本人与该项目无利益冲突"})
    assert answer.status_code == 302 and answer["Location"] == "/programmes/reviews/"
    assignment.refresh_from_db()
    assert assignment.total == Decimal("75.50") and assignment.comment == "可行"
    assert assignment.conflict_declaration == "本人与该项目无利益冲突"
    html = text(client.get(url))
    assert "75.50" in html and 'name="score_0"' not in html and "提交后的评审不可更改" in html
    client.post(url, {"score_0": "1", "score_1": "1", "score_2": "1"})
    assignment.refresh_from_db()
    assert assignment.total == Decimal("75.50")


def test_a_project_not_under_review_is_not_scored_yet(client, pages):
    project = applied(pages)
    assignment = services.assign_reviewer(project, pages["expert"])
    client.force_login(pages["expert"])
    html = text(client.get(f"/programmes/reviews/{assignment.pk}/"))
    assert 'name="score_0"' not in html and "仅在评审中时评分" in html


# --- speed: the same number of queries for 1 row as for 10 ------------------------------------


def many(pages, count: int):
    for n in range(count):
        project = under_review(pages, f"项目{n}")
        services.assign_reviewer(project, pages["expert"])
    now = timezone.now()
    for n in range(count):
        services.open_call(pages["tongzhou"], key=f"call-{n}", programme_zh=f"通知{n}", categories=CATEGORIES,
                           opens=now - dt.timedelta(days=n + 2), closes=now + dt.timedelta(days=5))


@pytest.mark.parametrize("count", [1, 10])
@pytest.mark.parametrize(("url", "who", "bound"), [
    ("/programmes/calls/", "owner", 8),
    ("/programmes/applications/", "owner", 10),
    ("/programmes/board/", "bureau", 10),
    ("/programmes/reviews/", "expert", 9),
])
def test_a_list_runs_the_same_queries_for_one_row_as_for_ten(client, pages, django_assert_max_num_queries, count,
                                                             url, who, bound):
    many(pages, count)
    client.force_login(pages[who])
    with django_assert_max_num_queries(bound):
        html = text(client.get(url))
    assert "项目0" in html or "通知0" in html


@pytest.mark.parametrize("count", [1, 10])
def test_the_board_project_page_s_queries_do_not_grow_with_the_call(client, pages, django_assert_max_num_queries,
                                                                     count):
    many(pages, count)
    project = Project.objects.get(title_zh="项目0")
    client.force_login(pages["bureau"])
    with django_assert_max_num_queries(24):
        assert "项目0" in text(client.get(f"/programmes/board/{project.key}/"))


# --- both languages ------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "who", "chinese", "english"), [
    ("/programmes/calls/", "owner", "申报通知", "Calls for applications"),
    ("/programmes/calls/tongzhou-now/", "owner", "申报", "Apply"),
    ("/programmes/calls/tongzhou-now/apply/", "owner", "保存草稿", "Save as draft"),
    ("/programmes/applications/", "owner", "我的申报", "My applications"),
    ("/programmes/board/", "bureau", "评审看板", "Review board"),
    ("/programmes/reviews/", "expert", "我的评审", "My reviews"),
])
def test_each_page_speaks_chinese_by_default_and_english_when_asked(client, pages, url, who, chinese, english):
    client.force_login(pages[who])
    zh = text(client.get(url))
    en = text(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert f"<h1>{chinese}" in zh or f">{chinese}<" in zh
    assert english in en and english not in zh
    assert '<html lang="zh-hans">' in zh and '<html lang="en">' in en

"""The security drill (issue 10), on the demo world and its eight ways in: anonymous, demo (the
superuser), bureau, analyst, zone, park, zhongkeyi and reviewer (kechuang/demo/builder.py).

- The permission matrix of tests/accounts/test_matrix.py, carried over every endpoint the
  apps after the registry added (programmes, reviews, statistics and their locks,
  designations and their imported lists, bulletins, the inbox): beside the demo, which is all
  Tongzhou's, the drill builds a twin of each kind of row in Chongchuan (320613), outside every
  demo role's scope but the superuser's, and a Tongzhou one of a firm outside every zone and
  park. Every write of the API on either twin, by every role that may not make it, is
  answered 401, 403 or 404 (a 400 only where the body names something the caller cannot see,
  and then naming that field), and nothing is written; the same request then succeeds for a
  role that may make it, so the refusals are the roles' and not the requests'. A row outside
  the caller's scope is a 404 to read, as one that does not exist, and absent from every list
  (each list holds exactly what `scoping.visible_to` gives the caller) and page.
- Login throttling (django-axes, five failures) under a loop of twenty wrong passwords by the
  web sign-in, the token endpoint and HTTP Basic.
- CSRF: every page of the URL resolver refuses a POST without the token, as does the API to a
  session; the same POST with the token is let through.
- Uploads: a program renamed .csv, .xlsx or .pdf, and a file over the limit, refused by every
  upload (statistics import page, designation list API, project attachments by API and page).
- `kechuang check --deploy` with the production settings of docs/operations.md.

Something that fails here is a finding: it is pinned with xfail(strict=True) naming the fix
(docs/reliability.md, Security).
"""

import base64
import datetime as dt
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.crypto import get_random_string

from kechuang.accounts.models import Role
from kechuang.accounts.scoping import visible_to
from kechuang.accounts.services import grant_role
from kechuang.bulletins import services as bulletins
from kechuang.bulletins.models import Bulletin, BulletinTemplate
from kechuang.demo.builder import DEMO_PASSWORD, build_demo
from kechuang.designations import importer as designation_lists
from kechuang.designations import services as designations
from kechuang.designations.models import Designation, DesignationImport
from kechuang.notifications.models import Notification
from kechuang.notifications.services import notify
from kechuang.programs import delivery
from kechuang.programs import services as programs
from kechuang.programs.models import Call, Project, ReviewAssignment
from kechuang.registry import services as registry
from kechuang.registry.models import Organisation, Region
from kechuang.statistics import services as statistics
from kechuang.statistics.models import DataLock, ImportJob, Observation
from kechuang.statistics.periods import Period
from tests.reliability import bad_files as corpus
from tests.reliability.test_bad_files import run_worker

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "demo", "bureau", "analyst", "zone", "park", "zhongkeyi", "reviewer"]
#: Roles that may change something (kechuang.accounts.scoping.may_change_anything); the others
#: get 401/403 on every write of the ScopedAccess endpoints before any row is looked at.
WRITERS = {"demo", "bureau", "zone", "park", "zhongkeyi"}
TONGZHOU, CHONGCHUAN = "320612", "320613"
SHANGHAI = programs.SHANGHAI
CRITERIA = [{"name": "创新性", "max": 40}, {"name": "可行性", "max": 30}, {"name": "效益", "max": 30}]
TEMPLATE = """\
title: {en: "Drill bulletin of {{ region_short }}", zh: "{{ region_short }}演练简报"}
sections:
  - paragraphs:
      - {en: "Nothing to report {{ in_period }}.", zh: "{{ in_period }}无事可报。"}
"""
#: A PDF by its first bytes, as the attachment checks recognise one.
PDF = b"%PDF-1.4\n% security drill\n" + bytes(2048)
#: Marks every row of the twin outside the demo's scope: a page or export naming it leaks it.
FOREIGN_MARK = "drill-foreign"
ROOT = Path(__file__).resolve().parents[2]


# --- the world: the demo, and a twin of each kind of row in Tongzhou and in Chongchuan ------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module (the demo takes seconds), rolled back at its end; each test
    runs in a savepoint of it."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            for _ in build_demo():
                pass
            yield twins()
            transaction.set_rollback(True)


def twins() -> dict:
    """Per side ("local": a Tongzhou firm in no zone or park, so that only the bureau of
    Tongzhou may act on it; "foreign": a Chongchuan firm, only the superuser's), one row of each
    kind and in each state a write of the API starts from."""
    User = get_user_model()
    registry.save_source("drill-notice", title="Security drill notice")
    template = bulletins.save_template("drill", TEMPLATE, name_en="Drill", name_zh="演练")
    foreign_reviewer = User.objects.create_user("drill-reviewer", password=DEMO_PASSWORD)
    grant_role(foreign_reviewer, Role.REVIEWER, by=None)
    programs.register_expert(foreign_reviewer, expertise="演练")
    reviewer = User.objects.get(username="reviewer")  # an expert of the demo's
    sides = {}
    for side, code, expert in (("local", TONGZHOU, reviewer), ("foreign", CHONGCHUAN, foreign_reviewer)):
        region = Region.objects.get(code=code)
        key = f"drill-{side}"
        firm = registry.save_organisation(key, kind="enterprise", name_zh=f"{key}演练企业有限公司",
                                          name_en=f"{key} works")[0]
        registry.move_organisation(firm, region, since=dt.date(2015, 1, 1))
        # Calls are published notices, which whoever has a role reads: their keys are not "drill-foreign".
        prefix = {"local": "tongzhou-drill", "foreign": "chongchuan-drill"}[side]
        past = programs.open_call(region, key=f"{prefix}-2023", programme_zh="演练项目", categories=["普通"],
                                  criteria=CRITERIA, opens=dt.datetime(2023, 1, 1, 9, tzinfo=SHANGHAI),
                                  closes=dt.datetime(2023, 3, 15, 17, tzinfo=SHANGHAI), review_days=10)
        now = timezone.now()
        open_now = programs.open_call(region, key=f"{prefix}-open", programme_zh="演练项目", categories=["普通"],
                                      criteria=CRITERIA, opens=now - dt.timedelta(days=1),
                                      closes=now + dt.timedelta(days=30), review_days=10)
        twin = {"code": code, "region": region, "firm": firm, "call": past, "open_call": open_now,
                "draft": walked(firm, open_now, "草稿"), "submitted": walked(firm, past, "申报", "submit"),
                "under_review": walked(firm, past, "待批", "submit", "start_review"),
                "reviewed": walked(firm, past, "评审", "submit", "start_review"),
                "approved": walked(firm, past, "立项", "submit", "start_review", "approve"),
                "running": walked(firm, past, "实施", "submit", "start_review", "approve", "start")}
        twin["assignment"] = programs.assign_reviewer(twin["reviewed"], expert)
        delivery.plan_tranches(twin["running"], [(Decimal(1000), dt.date(2024, 6, 1))])
        twin["due_report"], twin["submitted_report"] = delivery.schedule_reports(
            twin["running"], dates=[dt.date(2024, 6, 30), dt.date(2024, 12, 31)])
        delivery.submit_report(twin["submitted_report"], "drill progress")
        twin["figure"] = statistics.record_observation(firm, "industrial-output", "2023", 100, status="submitted")
        twin["draft_figure"] = statistics.record_observation(firm, "industrial-output", "2024", 100)
        twin["region_figure"] = statistics.record_observation(region, "industrial-output", "2021", 100,
                                                              status="approved")
        twin["lock"] = (DataLock.objects.filter(region=region, period="2022").first()  # the demo locked Tongzhou's
                        or statistics.lock_region_period(region, "2022")[0])
        twin["publicity"] = designations.grant(firm, "little-giant", stage="publicity",
                                               publicised_on=dt.date(2023, 6, 1), source="drill-notice")
        twin["final"] = designations.grant(firm, "srdi-sme", granted_on=dt.date(2023, 1, 10), source="drill-notice")
        twin["lapsed"] = designations.grant(firm, "innovative-sme", granted_on=dt.date(2019, 1, 10),
                                            source="drill-notice")
        twin["upload"] = designation_lists.import_list(_list_file(key), designation_type="little-giant",
                                                       region=region, notice="drill-notice").record
        twin["candidate"] = twin["upload"].candidates.get()
        twin["bulletin"] = bulletins.bulletin_for(template, region, Period.parse("2023H1"))
        twin["template"] = template
        sides[side] = twin
    demo = User.objects.get(username="demo")
    sides["foreign"]["job"] = ImportJob.objects.create(file_name="drill-foreign.csv", by=demo, interface="web",
                                                       status=ImportJob.Status.REFUSED)
    sides["foreign"]["notification"] = notify(demo, kind="decision", key="drill:foreign", subject="drill-foreign",
                                              body="For the demo user only.")[0]
    return sides


def walked(firm, call, title: str, *steps: str) -> Project:
    """A project of `firm` in `call`, taken through `steps` a day apart from 2023-02-01."""
    made = programs.create_project(firm, call=call, category="普通", title_zh=f"{firm.key}{title}",
                                   requested_funding=Decimal(5000), planned_end=dt.date(2025, 12, 31))
    moment = dt.datetime(2023, 2, 1, 10, tzinfo=SHANGHAI)
    for step in steps:
        programs.take(made, step, at=moment, comment="drill" if step in programs.NEED_COMMENT else "")
        moment += dt.timedelta(days=1)
    return made


def _list_file(key: str):
    """A published list of one enterprise no register holds: it waits in the review queue."""
    return io.BytesIO(corpus.csv_bytes([["企业名称", "统一社会信用代码", "批次", "认定日期"],
                                        [f"{key}名单企业有限公司", "", "5", "2023-06-28"]]))


def client_of(role: str, **options) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", **options)
    if role != "anonymous":
        client.force_login(get_user_model().objects.get(username=role))
    return client


def user_of(role: str):
    return None if role == "anonymous" else get_user_model().objects.get(username=role)


# --- reads: a row outside the scope is not there -------------------------------------------------

#: List endpoint → (model, the field of a result naming the row, the row's attribute it is).
LISTS = {
    "/api/v1/calls/": (Call, "key", "key"),
    "/api/v1/projects/": (Project, "key", "key"),
    "/api/v1/reviews/": (ReviewAssignment, "id", "pk"),
    "/api/v1/observations/": (Observation, "id", "pk"),
    "/api/v1/locks/": (DataLock, "id", "pk"),
    "/api/v1/designations/": (Designation, "id", "pk"),
    "/api/v1/designation-imports/": (DesignationImport, "id", "pk"),
    "/api/v1/bulletins/": (Bulletin, "id", "pk"),
    "/api/v1/bulletin-templates/": (BulletinTemplate, "code", "code"),
    "/api/v1/inbox/": (Notification, "id", "pk"),
}



def listed(client, url: str, field: str) -> set:
    """Every row of a list endpoint, page after page."""
    rows, page = set(), f"{url}?page_size=500"
    while page:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code, response.content[:300])
        body = response.json()
        rows |= {row[field] for row in body["results"]}
        page = body["next"]
    return rows


def expected_rows(model, attribute: str, role: str) -> set:
    """What the list must hold: visible_to's answer; one's own notifications; the locks of the
    regions the role reads (the bureau's and analysts' Tongzhou; everything for the superuser)."""
    if model is Notification:
        return set(Notification.objects.filter(recipient=user_of(role)).values_list(attribute, flat=True))
    if model is DataLock:
        locks = {"demo": DataLock.objects.all(), "bureau": DataLock.objects.filter(region__code=TONGZHOU),
                 "analyst": DataLock.objects.filter(region__code=TONGZHOU)}.get(role, DataLock.objects.none())
        return set(locks.values_list(attribute, flat=True))
    return set(visible_to(model.objects.all(), user_of(role)).values_list(attribute, flat=True))


def foreign_rows(world, model, attribute: str) -> set:
    """The rows of the Chongchuan twin that nobody but the superuser may see. What is public is
    not among them: a final designation, a published bulletin, a call for applications (a
    published notice, which whoever works in the system may read), and bulletin templates
    (shared by every region)."""
    if model in (Call, BulletinTemplate):
        return set()
    rows = {value for value in world["foreign"].values() if isinstance(value, model)}
    if model is Designation:
        rows = {row for row in rows if row.granted_on is None}
    return {getattr(row, attribute) for row in rows}


@pytest.mark.parametrize("url", list(LISTS))
def test_each_list_holds_exactly_the_rows_in_the_callers_scope(world, url):
    model, field, attribute = LISTS[url]
    foreign = foreign_rows(world, model, attribute)
    for role in ROLES:
        if role == "anonymous" and model in (ReviewAssignment, Notification):
            assert client_of(role).get(url).status_code == 401
            continue
        rows = listed(client_of(role), url, field)
        assert rows == expected_rows(model, attribute, role), role
        if role == "demo":
            assert foreign <= rows  # the superuser sees the twin: the others' lists could have held it
        else:
            assert not rows & foreign, (role, rows & foreign)


#: A review's page is its reviewer's alone, the superuser's included.
REVIEW_PAGE = "/programmes/reviews/{}/"


def foreign_reads(world) -> list[tuple[str, object]]:
    """Every API and page address of a row of the Chongchuan twin: (address with {} for the
    row's id or key, the id or key)."""
    twin = world["foreign"]
    running, firm = twin["running"].key, twin["firm"].key
    reads = [("/api/v1/projects/{}/", twin[state].key) for state in
             ("draft", "submitted", "reviewed", "under_review", "approved", "running")]
    reads += [(f"/api/v1/projects/{{}}/{part}/", running) for part in
              ("transitions", "tranches", "reports", "outcomes", "attachments")]
    reads += [("/api/v1/reviews/{}/", twin["assignment"].pk),
              *[("/api/v1/observations/{}/", twin[figure].pk) for figure in ("figure", "draft_figure", "region_figure")],
              ("/api/v1/observations/{}/versions/", twin["figure"].pk),
              ("/api/v1/designations/{}/", twin["publicity"].pk),
              ("/api/v1/designation-imports/{}/", twin["upload"].pk),
              ("/api/v1/designation-imports/{}/queue/", twin["upload"].pk),
              ("/api/v1/bulletins/{}/", twin["bulletin"].pk),
              ("/api/v1/inbox/{}/", twin["notification"].pk),
              ("/api/v1/screening/{}/?ruleset=hnte-2016", firm)]
    reads += [("/programmes/applications/{}/", twin[state].key) for state in ("draft", "submitted", "approved")]
    reads += [("/programmes/board/{}/", twin["submitted"].key), (REVIEW_PAGE, twin["assignment"].pk),
              ("/designations/{}/", twin["publicity"].pk), ("/bulletins/{}/", twin["bulletin"].pk),
              ("/organisations/{}/", firm), ("/statistics/import/{}/", twin["job"].pk),
              ("/designations/screening/hnte-2016/{}/", firm)]
    return reads


def test_a_row_outside_the_scope_is_not_there_to_read(world):
    """Every role but the superuser gets for each row of the Chongchuan twin exactly what it gets
    for a row that does not exist (404, or a 403 or the sign-in page it gets whatever the row);
    the superuser (the reviewer, for a review's page) reads each of them, so the rows are there."""
    demo, reviewer = client_of("demo"), client_of("drill-reviewer")
    for template, value in foreign_reads(world):
        control = reviewer if template == REVIEW_PAGE else demo
        assert control.get(template.format(value)).status_code == 200, template.format(value)
    wrong = []
    for role in ROLES:
        if role == "demo":
            continue
        client = client_of(role)
        for template, value in foreign_reads(world):
            missing = "drill-missing" if isinstance(value, str) else 999_999_999
            there, absent = client.get(template.format(value)).status_code, client.get(template.format(missing))
            if there != absent.status_code or there not in (302, 401, 403, 404):
                wrong.append(f"{role} GET {template.format(value)}: {there}, for a missing row {absent.status_code}")
    assert not wrong, "\n".join(wrong)


def test_a_region_outside_the_scope_is_refused_to_whoever_does_not_work_on_it(world):
    """Regions are public: their workspaces answer 403 to the others (401 or 403 without credentials)."""
    for url in (f"/api/v1/completeness/?region={CHONGCHUAN}&period=2023",
                f"/api/v1/screening/?ruleset=hnte-2016&region={CHONGCHUAN}"):
        assert client_of("demo").get(url).status_code == 200, url
        for role in ROLES:
            if role != "demo":
                answer = client_of(role).get(url).status_code
                assert answer in ((401, 403) if role == "anonymous" else (403,)), (role, url, answer)


def test_a_lock_outside_the_scope_is_not_there(world):
    """Found by the security drill, fixed: /api/v1/locks/ listed every region's locks to anyone,
    anonymous included (who locked and unlocked, and why), and answered a lock outside the
    caller's scope 200. Locks are now the bureau's and analysts' of a subtree holding the region."""
    lock = world["foreign"]["lock"]
    assert client_of("anonymous").get("/api/v1/locks/").json()["results"] == []
    for role in ("bureau", "analyst", "zone", "zhongkeyi"):
        client = client_of(role)
        assert client.get(f"/api/v1/locks/{lock.pk}/").status_code == 404, role
    response = client_of("bureau").post(f"/api/v1/locks/{lock.pk}/unlock/", {"reason": "drill"},
                                        content_type="application/json")
    assert response.status_code == 404


#: Pages and exports that list rows: the twin's must not be named in them.
LISTINGS = ["/", "/?q=演练企业", f"/regions/{CHONGCHUAN}/", "/programmes/applications/", "/programmes/board/",
            "/programmes/reviews/", "/designations/", "/designations/imports/", "/designations/expiring/",
            "/bulletins/", "/statistics/review/", "/statistics/locks/", "/statistics/import/",
            f"/statistics/completeness/?region={CHONGCHUAN}&period=2023",
            "/api/v1/projects/export/?download=csv", "/api/v1/observations/export/?download=csv",
            "/api/v1/designations/expiring/?days=3650", "/api/v1/organisations/?q=演练企业"]


def test_no_page_or_export_names_a_row_outside_the_scope(world):
    wrong = []
    for role in ROLES:
        client = client_of(role)
        for url in LISTINGS:
            response = client.get(url)
            if response.status_code == 200 and FOREIGN_MARK in response.content.decode(errors="replace"):
                wrong.append(f"{role} {url}")
    # The superuser's pages name the twin: the others' could have.
    assert {f"demo {url}" for url in ("/programmes/board/", "/api/v1/projects/export/?download=csv",
                                      "/api/v1/observations/export/?download=csv")} <= set(wrong)
    assert [line for line in wrong if not line.startswith("demo ")] == []


# --- writes: every write of the API, by every role that may not make it -----------------------------


@dataclass(frozen=True)
class Write:
    """A write of the API: how to make it on one twin (method, path, body), which roles may make
    it on the Tongzhou twin (the superuser: on both), whether it creates a row rather than acting
    on one, and the body's field naming the row it concerns, where "unknown" (400, naming that
    field) is the answer for a row the caller cannot see."""

    name: str
    build: object  # (twin) -> (method, path, body)
    local: frozenset = frozenset({"bureau"})
    creates: bool = False
    names: str | None = None
    sides: tuple = ("local", "foreign")
    public: bool = False  # it acts on a row everyone reads (a final designation): 403, not 404
    foreign_control: str = "demo"  # who makes it on the Chongchuan twin, to show the request is sound


def _project(state: str, action: str, body: dict | None = None):
    return lambda twin: ("post", f"/api/v1/projects/{twin[state].key}/{action}/", body or {})


def _report(report: str, action: str, body: dict | None = None):
    return lambda twin: ("post", f"/api/v1/projects/{twin['running'].key}/reports/{twin[report].pk}/{action}/",
                         body or {})


def _figure(figure: str, action: str, body: dict | None = None):
    return lambda twin: ("post", f"/api/v1/observations/{twin[figure].pk}/{action}/", body or {})


def _designation(row: str, action: str, body: dict):
    return lambda twin: ("post", f"/api/v1/designations/{twin[row].pk}/{action}/", body)


def _candidate(action: str, body):
    return lambda twin: ("post", f"/api/v1/designation-imports/{twin['upload'].pk}/queue/{twin['candidate'].pk}/"
                                 f"{action}/", body(twin) if callable(body) else body)


def _list_upload(twin):
    return ("multipart", "/api/v1/designation-imports/", {
        "file": SimpleUploadedFile("list.csv", _list_file(f"{twin['firm'].key}-new").getvalue()),
        "type": "little-giant", "region": twin["code"], "source": "drill-notice"})


NOTICE = {"source": "drill-notice"}
WRITES = [
    Write("open a call", lambda twin: ("post", "/api/v1/calls/", {
        "key": f"drill-new-{twin['code']}", "programme_zh": "新演练项目", "region": twin["code"], "categories": ["普通"],
        "opens": "2030-01-01T09:00:00+08:00", "closes": "2030-03-01T17:00:00+08:00"}), creates=True),
    Write("create an application", lambda twin: ("post", "/api/v1/projects/", {
        "kind": "innovation", "call": twin["open_call"].key, "category": "普通", "title_zh": "新演练项目",
        "applicant": twin["firm"].key}), names="applicant", creates=True),
    Write("submit", _project("draft", "submit")),
    Write("withdraw", _project("submitted", "withdraw")),
    Write("return", _project("submitted", "return", {"comment": "drill"})),
    Write("start the review", _project("submitted", "start_review")),
    Write("reject", _project("submitted", "reject", {"comment": "drill"})),
    Write("approve", _project("under_review", "approve")),
    Write("start", _project("approved", "start")),
    Write("complete", _project("running", "complete")),
    Write("terminate", _project("approved", "terminate", {"comment": "drill"})),
    Write("plan tranches", _project("running", "tranches", {"tranches": [{"amount": "500", "date": "2024-09-01"}]})),
    Write("pay a tranche", lambda twin: ("post", f"/api/v1/projects/{twin['running'].key}/tranches/1/pay/",
                                         {"amount": "1000", "date": "2024-06-01"})),
    Write("schedule reports", _project("running", "reports", {"dates": ["2025-06-30"]})),
    Write("submit a report", _report("due_report", "submit", {"text": "drill"})),
    Write("accept a report", _report("submitted_report", "accept")),
    Write("return a report", _report("submitted_report", "return", {"comment": "drill"})),
    Write("record an outcome", _project("running", "outcomes", {"kind": "product", "title": "演练产品",
                                                                 "date": "2023-10-01"})),
    Write("attach a file", lambda twin: ("multipart", f"/api/v1/projects/{twin['running'].key}/attachments/",
                                         {"file": SimpleUploadedFile("plan.pdf", PDF)})),
    Write("assign a reviewer", lambda twin: ("post", "/api/v1/reviews/", {
        "project": twin["submitted"].key, "reviewer": "drill-reviewer" if twin["code"] == CHONGCHUAN else "reviewer"}),
        names="project", creates=True),
    Write("submit a review", lambda twin: ("post", f"/api/v1/reviews/{twin['assignment'].pk}/submit/",
                                           {"scores": {"创新性": 30, "可行性": 20, "效益": 20}}),
          local=frozenset({"reviewer"}), foreign_control="drill-reviewer"),
    Write("record a figure", lambda twin: ("post", "/api/v1/observations/", {
        "organisation": twin["firm"].key, "metric": "industrial-output", "period": "2024H1", "value": "120"}),
        names="organisation", creates=True),
    Write("submit a figure", _figure("draft_figure", "submit")),
    Write("approve a figure", _figure("figure", "approve")),
    Write("return a figure", _figure("figure", "return", {"comment": "drill"})),
    Write("publish a figure", _figure("region_figure", "publish")),
    Write("lock a period", lambda twin: ("post", "/api/v1/locks/", {"region": twin["code"], "period": "2020"}), creates=True),
    Write("unlock", lambda twin: ("post", f"/api/v1/locks/{twin['lock'].pk}/unlock/", {"reason": "drill"})),
    Write("define a designation type", lambda twin: ("post", "/api/v1/designation-types/", {
        "code": "drill-type", "name_zh": "演练认定", "name_en": "Drill designation", "levels": ["district"],
        "validity": "years", "validity_years": 3}), sides=("local",), creates=True),
    Write("record a designation", lambda twin: ("post", "/api/v1/designations/", {
        "organisation": twin["firm"].key, "type": "hnte", "stage": "final", "granted_on": "2023-11-01",
        **NOTICE}), names="organisation", creates=True),
    Write("finalise", _designation("publicity", "finalise", {"on": "2023-07-01", **NOTICE})),
    Write("expire", _designation("lapsed", "expire", {}), public=True),
    Write("revoke", _designation("final", "revoke", {"on": "2023-08-01", "comment": "drill", **NOTICE}), public=True),
    Write("rename", _designation("final", "rename", {"name_on_list": "新名称演练有限公司", "on": "2023-08-01", **NOTICE}),
          public=True),
    Write("re-review", _designation("final", "re-review", {"on": "2023-08-01", "passed": True, **NOTICE}),
          public=True),
    Write("upload a list", _list_upload, creates=True),
    Write("link a candidate", _candidate("link", lambda twin: {"organisation": twin["firm"].key})),
    Write("register a candidate", _candidate("create", {})),
    Write("dismiss a candidate", _candidate("dismiss", {"comment": "drill"})),
    Write("prepare a bulletin", lambda twin: ("post", "/api/v1/bulletins/", {
        "template": "drill", "region": twin["code"], "period": "2024H1"}), creates=True),
    Write("preview a bulletin", lambda twin: ("post", "/api/v1/bulletins/preview/", {
        "template": "drill", "region": twin["code"], "period": "2023H1"}), local=frozenset({"bureau", "analyst"}), creates=True),
    Write("publish a bulletin", lambda twin: ("post", f"/api/v1/bulletins/{twin['bulletin'].pk}/publish/",
                                              {"note": "drill"})),
    Write("save a template", lambda twin: ("put", f"/api/v1/bulletin-templates/{twin['template'].code}/",
                                           {"source": TEMPLATE}),
          sides=("local",), creates=True),
    Write("mark another's notification read",
          lambda twin: ("post", f"/api/v1/inbox/{twin['notification'].pk}/read/", {}), sides=("foreign",)),
]
#: A write's own routes, beside the API's schema: the test of the schema below keeps the table whole.
WRITTEN = {"POST /api/v1/inbox/read-all/": "each user's own inbox: nobody else's is touched"}


def send(client, method: str, path: str, body: dict):
    if method == "multipart":
        for value in body.values():
            if hasattr(value, "seek"):
                value.seek(0)
        return client.post(path, body)
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


def refused(role: str, write: Write, side: str, response) -> bool:
    """Whether the answer refuses `role` as docs/access.md says it must: 401 without
    credentials; "unknown" (400 naming the field) for a row named in the body that they cannot
    see; 404 for a row acted on outside the scope of a user who may change something (as for a
    row that does not exist); otherwise 403 or 404."""
    status = response.status_code
    if role == "anonymous":
        return status == 401
    if status == 400:
        return write.names is not None and write.names in response.json()
    if side == "foreign" and role in WRITERS and not (write.creates or write.public):
        return status == 404
    return status in (403, 404)


def write_cases() -> list:
    return [pytest.param(write, side, id=f"{write.name}-{side}")
            for write in WRITES for side in write.sides]


def counts() -> dict[str, int]:
    """The rows of every table but the sessions and axes' log of sign-ins (signing the roles in
    writes those)."""
    return {label: rows for label, rows in corpus.table_counts().items()
            if label not in ("sessions.Session", "axes.AccessLog")}


@pytest.mark.parametrize(("write", "side"), write_cases())
def test_a_write_the_role_may_not_make_is_refused_and_writes_nothing(world, write, side):
    twin = world[side]
    allowed = {"demo"} | (write.local if side == "local" else set())
    before = counts()
    wrong = []
    for role in ROLES:
        if role in allowed:
            continue
        method, path, body = write.build(twin)
        response = send(client_of(role), method, path, body)
        if not refused(role, write, side, response):
            wrong.append(f"{role} {method.upper()} {path}: {response.status_code} {response.content[:300]!r}")
    assert not wrong, "\n".join(wrong)
    assert corpus.changed(before, counts()) == {}
    # The request was one a role with the right makes: the refusals above were the roles'.
    control = write.foreign_control if side == "foreign" else sorted(write.local)[0]
    method, path, body = write.build(twin)
    response = send(client_of(control), method, path, body)
    assert 200 <= response.status_code < 300, (control, response.status_code, response.content[:500])


def test_every_write_of_the_api_is_in_the_matrix_or_the_registrys():
    """A new write of the API must join WRITES (or tests/accounts/test_matrix.py, for the
    registry's): the drill covers the schema, not a list that ages."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    writes = {f"{method.upper()} {path}" for path, operations in schema["paths"].items() for method in operations
              if method in ("post", "put", "patch", "delete")}
    registry_and_accounts = {write for write in writes if re.match(
        r"\w+ /api/v1/(auth|regions|organisations|locations|phases|ownerships|capacities|milestones|contacts|"
        r"sources|sectors)/", write)}
    covered = set(WRITTEN)
    for write in WRITES:
        method, path, _ = write.build(SHAPES)
        covered.add(f"{'POST' if method == 'multipart' else method.upper()} {re.sub(r'/[0-9]+/', '/{}/', path)}")
    assert {re.sub(r"\{\w+\}", "{}", write) for write in writes - registry_and_accounts} == covered


class _Shapes(dict):
    """A twin whose rows are named "{}", as the schema's path parameters are once normalised."""

    def __missing__(self, name):
        return type("Row", (), {"pk": "{}", "key": "{}", "code": "{}"})()

    def __getitem__(self, name):
        if name == "code":
            return CHONGCHUAN
        return super().__getitem__(name)


SHAPES = _Shapes()


def test_assigning_a_reviewer_does_not_tell_others_which_usernames_exist(world):
    """Found by the drill, fixed: found by the security drill: POST /api/v1/reviews/ answers any
    signed-in user (an enterprise user, a park manager, an analyst, a reviewer) whether a username
    exists ('Object with username=… does not exist' for one that does not; another answer for one
    that does), so usernames can be listed by anyone with a login. Fix: refuse the create to a user
    who may assign no reviewer before the body is read (403 in ReviewViewSet.create, as ScopedAccess
    does elsewhere), and limit ReviewSerializer.reviewer to registered experts."""
    project = world["local"]["submitted"].key
    for role in ("analyst", "zone", "park", "zhongkeyi", "reviewer"):
        client = client_of(role)
        existing, missing = (send(client, "post", "/api/v1/reviews/", {"project": project, "reviewer": username})
                             for username in ("bureau", "no-such-user"))
        assert (missing.status_code, missing.content.replace(b"no-such-user", b"bureau")) == (
            existing.status_code, existing.content), role


# --- login throttling: twenty wrong passwords ------------------------------------------------------

ADDRESS = "198.51.100.7"


def web_sign_in(client, username, password):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ADDRESS)


def token_request(client, username, password):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password},
                       content_type="application/json", REMOTE_ADDR=ADDRESS)


def basic_request(client, username, password):
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return client.get("/api/v1/inbox/", HTTP_AUTHORIZATION=f"Basic {credentials}", REMOTE_ADDR=ADDRESS)


#: Way in → (send, the answer to a wrong password, whether the answer signed the user in).
WAYS = {
    "web sign-in": (web_sign_in, 200, lambda client, response: response.status_code == 302
                    and "_auth_user_id" in client.session),
    "token endpoint": (token_request, 401, lambda client, response: response.status_code == 200
                       and "token" in response.json()),
    "HTTP Basic": (basic_request, 401, lambda client, response: response.status_code == 200),
}


@pytest.mark.parametrize("way", WAYS)
def test_twenty_wrong_passwords_lock_the_user_out_after_five_and_no_one_else(world, way):
    send, wrong_answer, signed_in = WAYS[way]
    client = Client()
    answers = [send(client, "analyst", f"guess-{attempt}").status_code for attempt in range(20)]
    assert answers == [wrong_answer] * 4 + [429] * 16
    for other_send, _, other_signed_in in WAYS.values():  # locked by every way in, the right password too
        retry = Client()
        response = other_send(retry, "analyst", DEMO_PASSWORD)
        assert response.status_code == 429 and not other_signed_in(retry, response)
    other = Client()
    assert signed_in(other, send(other, "park", DEMO_PASSWORD))  # another user, from the same address


# --- CSRF: every form ----------------------------------------------------------------------------


def page_addresses() -> list[str]:
    """One address for every route of the URL resolver outside the API, its parameters filled
    with a value each accepts (a row that does not exist, so that a POST let through changes nothing)."""
    addresses = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + _sample(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and not route.startswith("api/"):
                addresses.append("/" + route)

    walk(get_resolver().url_patterns, "")
    for address in addresses:
        resolve(address)  # a sample that does not resolve would test nothing
    return addresses


def _sample(pattern) -> str:
    text = str(pattern)
    if text.startswith("^") or text.endswith("$") or "(?P<" in text:  # a regular expression
        text = re.sub(r"\(\?P<(\w+)>([^)]*)\)", lambda group: _value(group.group(2)), text.lstrip("^"))
        return re.sub(r"\\(.)", r"\1", text.removesuffix("$").removesuffix(r"\Z"))
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda part: "999999999" if part.group(1) == "int" else "drill-missing",
                  text)


def _value(expression: str) -> str:
    """A value the group's expression matches in full: a number, a division code, a word, or
    the first of its alternatives."""
    for candidate in ("999999999", "320612", "99999", "drill-missing", "drill_missing", "en",
                      expression.split("|")[0]):
        if re.fullmatch(expression, candidate):
            return candidate
    raise AssertionError(f"no sample value for ({expression})")


def csrf_refused(response) -> bool:
    return response.status_code == 403 and b"CSRF" in response.content


def test_every_page_refuses_a_post_without_the_csrf_token_and_takes_one_with_it(world):
    addresses = page_addresses()
    assert len(addresses) > 60 and "/statistics/import/" in addresses and "/accounts/login/" in addresses
    client = client_of("demo", enforce_csrf_checks=True)  # the superuser: allowed every form
    let_through = [address for address in addresses if not csrf_refused(client.post(address, {}))]
    assert let_through == []
    token = get_random_string(32)
    for address in addresses:
        if address.startswith("/admin/"):
            continue  # the admin acts on a bare POST (a deletion confirmed): its refusals above are enough
        client = client_of("demo", enforce_csrf_checks=True)
        client.cookies["csrftoken"] = token
        response = client.post(address, {"csrfmiddlewaretoken": token})
        assert not csrf_refused(response), address


#: A value each of the API's path parameters accepts (numbers for the others).
PATH_SAMPLES = {"key": "drill-missing", "code": "999999"}


def test_the_api_refuses_a_write_by_session_without_the_csrf_token(world):
    """The API takes a browser's session too (the pages' htmx calls it): without the token,
    every write is refused before anything is looked at."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    client = client_of("demo", enforce_csrf_checks=True)
    let_through = []
    for path, operations in schema["paths"].items():
        address = re.sub(r"\{(\w+)\}", lambda name: PATH_SAMPLES.get(name.group(1), "999999999"), path)
        for method in set(operations) & {"post", "put", "patch", "delete"}:
            response = getattr(client, method)(address, data="{}", content_type="application/json")
            if not (response.status_code == 403 and "CSRF" in response.json().get("detail", "")):
                let_through.append(f"{method.upper()} {path}: {response.status_code}")
    assert let_through == []


# --- uploads: programs and oversized files ---------------------------------------------------------

KILOBYTES = 1024
LIMIT = 64 * KILOBYTES

#: What is sent: (name, bytes).
PAYLOADS = {
    "elf-as-csv": ("figures.csv", lambda: corpus.program("elf")),
    "exe-as-xlsx": ("figures.xlsx", lambda: corpus.program("exe")),
    "elf-as-pdf": ("report.pdf", lambda: corpus.program("elf")),
    "oversized-csv": ("figures.csv", lambda: corpus.csv_bytes([["企业名称", "数值"]] + [["演练企业", "1"]] * 8000)),
    "oversized-pdf": ("report.pdf", lambda: b"%PDF-1.4\n" + bytes(LIMIT + KILOBYTES)),
}


@pytest.fixture
def upload_limits(settings, tmp_path):
    settings.DATA_DIR, settings.MEDIA_ROOT = tmp_path / "data", tmp_path / "media"
    settings.UPLOAD_MAX_BYTES = settings.PROGRAMME_ATTACHMENT_MAX_BYTES = LIMIT
    return tmp_path


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file() and path.suffix != ".lock"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_upload_that_is_a_program_or_too_large_is_refused_everywhere_and_nothing_is_kept(
        world, upload_limits, payload, django_capture_on_commit_callbacks):
    name, build = PAYLOADS[payload]
    data = build()
    assert payload.startswith("oversized") == (len(data) > LIMIT)
    local = world["local"]
    zhongkeyi_draft = programs.create_project(Organisation.objects.get(key="zhongkeyi-nantong"),
                                              call=local["open_call"], category="普通", title_zh="中科仪演练申报")
    before = counts()
    refusals = {}
    bureau = client_of("bureau")
    with django_capture_on_commit_callbacks(execute=True):
        page = bureau.post("/statistics/import/", {"file": SimpleUploadedFile(name, data)})
    if page.status_code == 302:  # taken for the task worker, which refuses it
        run_worker()
        job = ImportJob.objects.get(file_name=name)
        assert job.status == ImportJob.Status.REFUSED and job.rows_written == 0
        refusals["statistics import page"] = job.report["errors"][0]["reason"]
    else:
        refusals["statistics import page"] = _form_error(page)
    listing = bureau.post("/api/v1/designation-imports/", {"file": SimpleUploadedFile(name, data),
                                                           "type": "little-giant", "region": TONGZHOU})
    assert listing.status_code == 400, listing.content[:300]
    refusals["designation list API"] = " ".join(listing.json()["file"])
    attachment = bureau.post(f"/api/v1/projects/{local['running'].key}/attachments/",
                             {"file": SimpleUploadedFile(name, data)})
    assert attachment.status_code == 400, attachment.content[:300]
    refusals["attachment API"] = " ".join(attachment.json()["file"])
    application = client_of("zhongkeyi").post(f"/programmes/applications/{zhongkeyi_draft.key}/edit/", {
        "category": "普通", "title_zh": zhongkeyi_draft.title_zh, "requested_funding": "0", "own_funding": "0",
        "updated_at": zhongkeyi_draft.updated_at.isoformat(), "draft": "1", "file": SimpleUploadedFile(name, data)})
    assert application.status_code == 200, application.status_code
    refusals["application page"] = _form_error(application)
    for where, reason in refusals.items():
        assert _names_why(payload, reason), (where, reason)
    # Only the records of what was refused: the import job and its task, the list's import.
    changed = corpus.changed(before, counts())
    assert set(changed) <= RECORDS_OF_REFUSALS and set(changed.values()) <= {1}, changed
    assert stored_files(upload_limits / "media") == []


def _form_error(response) -> str:
    html = response.content.decode()
    errors = re.findall(r'role="alert">(.*?)</div>', html, re.S)
    assert errors, html[:2000]
    return re.sub(r"<[^>]+>", " ", " ".join(errors))


RECORDS_OF_REFUSALS = {"statistics.ImportJob", "django_tasks_database.DBTaskResult", "designations.DesignationImport"}


def _names_why(payload: str, reason: str) -> bool:
    """Whether a refusal says why: the file's real kind, its size, or the kinds accepted."""
    reason = reason.lower()
    if payload.startswith("oversized"):
        return any(word in reason for word in ("limit", "larger", "more than", "too large"))
    return any(word in reason for word in ("linux program", "windows program", ".xlsx or .csv", "accepted",
                                           "not a", "cannot be read", "unreadable", "binary"))


# --- production settings -------------------------------------------------------------------------------


def test_the_deploy_checks_pass_with_the_documented_production_settings(tmp_path):
    """docs/operations.md, Installing on a server: `kechuang check --deploy` says "no issues"."""
    import os
    import secrets

    key_file = tmp_path / "secret_key"
    key_file.write_text(secrets.token_urlsafe(50))
    configuration = {"DJANGO_SETTINGS_MODULE", "KECHUANG_ENV", "SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "HTTPS",
                     "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "PROXY_COUNT", "DATABASE_URL", "KECHUANG_DATA_DIR"}
    environment = {name: value for name, value in os.environ.items() if name not in configuration}
    environment.update(KECHUANG_ENV="production", SECRET_KEY_FILE=str(key_file), HTTPS="1",
                       DATABASE_URL="postgres://kechuang@127.0.0.1:5432/kechuang",
                       ALLOWED_HOSTS="kechuang.example.gov.cn", CSRF_TRUSTED_ORIGINS="https://kechuang.example.gov.cn",
                       KECHUANG_DATA_DIR=str(tmp_path), LOG_FORMAT="text")
    finished = subprocess.run([sys.executable, "-m", "kechuang", "check", "--deploy", "--fail-level", "WARNING"],
                              cwd=ROOT, env=environment,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "System check identified no issues" in finished.stdout
    assert "WARNING" not in finished.stderr and "?: (" not in finished.stderr

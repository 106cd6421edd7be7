"""Calls and projects in the world file (kechuang/programs/world.py): a project's history
replayed through the lifecycle, the counts seeing it as dated, reloads that only ever
extend a history, round trips, and every problem reported with its path before
anything is written."""

import copy
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kechuang.programs import counts
from kechuang.programs.models import Call, Party, Project, ProjectTransition
from kechuang.programs.world import read_moment, write_moment
from kechuang.registry.models import Organisation
from kechuang.statistics.periods import Period
from kechuang.world.dumper import dump_text, dump_world
from kechuang.world.errors import WorldError
from kechuang.world.formats import parse_json, parse_yaml
from kechuang.world.loader import load_files, load_world
from tests.programs.conftest import CATEGORIES, local, place  # noqa: F401  (the fixture, shared)
from tests.world.conftest import (  # noqa: F401  (the fixtures, shared)
    DATA,
    TONGZHOU_FILE,
    _tongzhou_parsed,
    entry,
    tongzhou,
    wipe_registry,
)

pytestmark = pytest.mark.django_db

PROGRAMMES_FILE = DATA / "tongzhou-programmes.yaml"
WORLD_FILE_DOCS = Path(__file__).resolve().parents[2] / "docs" / "world-file.md"
H1 = Period.of_half(2023, 1)
PUMP, SEALING = "zhongkeyi-dry-pump-2023", "zhongkeyi-jianghai-sealing"


@pytest.fixture(scope="module")
def _programmes_parsed() -> dict:
    return parse_yaml(PROGRAMMES_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def world(tongzhou, _programmes_parsed) -> dict:  # noqa: F811
    """The Tongzhou world and its programmes as one document; each test may change its copy."""
    document = tongzhou
    for section, entries in copy.deepcopy(_programmes_parsed).items():
        if section != "kechuang":
            document.setdefault(section, []).extend(entries)
    return document


def project_of(document: dict, key: str) -> dict:
    return entry(document, "projects", key)


def history(key: str) -> list[tuple[str, dt.datetime, str]]:
    return list(ProjectTransition.objects.filter(project__key=key).order_by("at", "id")
                .values_list("name", "at", "comment"))


def wipe_world() -> None:
    """Empty what a world file writes, programmes first (they protect their organisations)."""
    Project.objects.all().delete()
    Call.objects.all().delete()
    wipe_registry()


def stamps() -> dict:
    return {"projects": list(Project.objects.order_by("key").values_list("key", "state", "updated_at")),
            "transitions": ProjectTransition.objects.count(), "parties": Party.objects.count(),
            "calls": list(Call.objects.order_by("key").values())}


# --- loading --------------------------------------------------------------------------------


def test_a_call_a_project_and_a_collaboration_load_with_the_states_their_histories_reach(world):
    report = load_world(world)

    assert report["calls"]["created"] == 1 and report["projects"]["created"] == 2
    call = Call.objects.get(key="tongzhou-2023")
    assert call.region.code == "320612" and call.categories == CATEGORIES
    assert call.opens == local(2023, 1, 1, 9, 0) and call.closes == local(2023, 3, 15, 17, 0)
    assert call.budget == Decimal("5000000.00") and call.review_days == 10
    assert call.criteria[0] == {"name": "创新性", "max": 40}
    pump = Project.objects.get(key=PUMP)
    assert pump.state == "approved" and pump.call == call and pump.requested_funding == Decimal("500000.00")
    assert history(PUMP) == [("submit", local(2023, 2, 10, 10, 0), ""),
                             ("start_review", local(2023, 3, 20, 9, 0), ""),
                             ("approve", local(2023, 4, 10, 15, 0), "评审通过")]
    sealing = Project.objects.get(key=SEALING)
    assert sealing.state == "in_progress" and sealing.contract_value == Decimal("1200000.50")
    assert sorted(sealing.parties.values_list("organisation__key", "role")) == [
        ("jianghai-university", "university_partner"), ("zhongkeyi-nantong", "lead")]


def test_the_counts_see_the_approval_and_the_collaboration_as_the_file_dates_them(world):
    load_world(world)

    approved = counts.projects_approved("320612", H1)
    assert approved.value == 1 and [p.key for p in approved.records] == [PUMP]
    assert counts.applications_submitted("320612", H1).value == 1
    # The university is in Chongchuan: a collaboration counts for its applicant's district.
    introduced = counts.collaborations_introduced("320612", H1)
    assert introduced.value == 1 and [p.key for p in introduced.records] == [SEALING]
    assert counts.technology_contract_turnover("320612", H1).value == Decimal("1200000.50")
    assert counts.collaborations_introduced("320602", H1).value == 0
    assert counts.projects_approved("320612", Period.of_half(2023, 2)).value == 0


def test_the_programmes_file_loads_after_the_file_it_refers_to():
    report = load_files([TONGZHOU_FILE, PROGRAMMES_FILE])

    assert report["projects"]["created"] == 2 and report["organisations"]["created"] == 5


def test_the_example_in_the_documentation_loads(world):
    text = WORLD_FILE_DOCS.read_text(encoding="utf-8")
    example = parse_yaml(re.search(r"```yaml\n(calls:\n.*?)```", text, re.DOTALL).group(1))
    world.update(example)  # its calls and projects in place of the programmes file's

    report = load_world(world)

    assert report["calls"]["created"] == 1 and report["projects"]["created"] == 2
    assert Project.objects.get(key=SEALING).state == "approved"


def test_a_project_may_name_a_call_and_organisations_the_database_holds(place):  # noqa: F811
    report = load_world({"kechuang": 1, "projects": [{
        "key": "firm-sensor", "call": "tongzhou-2023", "category": CATEGORIES[1], "title_zh": "智能传感器研发",
        "applicant": "firm", "parties": [{"organisation": "university", "role": "university_partner"}],
        "history": [{"transition": "submit", "at": "2023-02-01T10:00"}]}]})

    assert report["projects"]["created"] == 1
    assert Project.objects.get(key="firm-sensor").state == "submitted"


def test_steps_replayed_from_a_file_are_nobodys_news(place):  # noqa: F811
    from kechuang.notifications.models import Notification

    load_world({"kechuang": 1, "projects": [{
        "key": "firm-sensor", "call": "tongzhou-2023", "category": CATEGORIES[1], "title_zh": "智能传感器研发",
        "applicant": "firm", "history": [{"transition": "submit", "at": "2023-02-01T10:00"}]}]})

    assert Project.objects.get(key="firm-sensor").state == "submitted"
    assert not Notification.objects.filter(recipient=place["owner"]).exists()  # the firm's own user


def test_a_write_the_services_refuse_is_reported_at_its_entry_and_leaves_nothing(place):  # noqa: F811
    # The rival firm is in Chongchuan; the call is Tongzhou's (create_project's rule).
    with pytest.raises(WorldError) as caught:
        load_world({"kechuang": 1, "projects": [
            {"key": "ok", "title_zh": "可以", "applicant": "firm"},
            {"key": "rival-sensor", "call": "tongzhou-2023", "title_zh": "传感器", "applicant": "rival"}]})

    [(path, reason)] = caught.value.errors
    assert path == "projects[1].call" and "not located there" in reason
    assert not Project.objects.exists()


# --- reloading ------------------------------------------------------------------------------


def test_reloading_the_same_file_changes_nothing(world):
    load_world(world)
    before = stamps()

    report = load_world(world)

    assert not report.changed
    assert report["projects"]["unchanged"] == 2 and report["calls"]["unchanged"] == 1
    assert stamps() == before


def test_a_reload_takes_the_steps_the_database_lacks(world):
    full = copy.deepcopy(project_of(world, PUMP)["history"])
    project_of(world, PUMP)["history"] = full[:1]
    load_world(world)
    assert Project.objects.get(key=PUMP).state == "submitted"

    project_of(world, PUMP)["history"] = full
    report = load_world(world)

    assert report["projects"]["updated"] == 1 and report["projects"]["unchanged"] == 1
    assert Project.objects.get(key=PUMP).state == "approved"
    assert [name for name, _, _ in history(PUMP)] == ["submit", "start_review", "approve"]
    assert counts.projects_approved("320612", H1).value == 1


def test_a_history_that_contradicts_the_database_is_a_problem_not_a_rewrite(world):
    load_world(world)
    before = stamps()
    project_of(world, PUMP)["history"][2] = {"transition": "reject", "at": "2023-04-10T15:00", "comment": "不予立项"}

    with pytest.raises(WorldError) as caught:
        load_world(world)

    [(path, reason)] = caught.value.errors
    assert path == "projects[0].history[2]"
    assert "the database holds step 2 as approve at 2023-04-10T15:00:00+08:00 (评审通过)" in reason
    assert "never rewritten" in reason
    assert stamps() == before


def test_a_file_that_stops_short_of_the_database_keeps_the_later_steps_with_a_warning(world):
    load_world(world)
    project_of(world, SEALING)["history"] = project_of(world, SEALING)["history"][:2]

    report = load_world(world)

    assert not report.changed
    assert Project.objects.get(key=SEALING).state == "in_progress"
    [(path, reason)] = report.warnings
    assert path == "projects[1].history" and "2 later step(s), up to start at 2023-04-15T09:00:00+08:00" in reason


def test_changed_fields_and_parties_are_updated_and_counted(world):
    load_world(world)
    sealing = project_of(world, SEALING)
    sealing["summary"] = "密封材料的寿命测试"
    sealing["parties"].append({"organisation": "sky-technology", "role": "enterprise_partner"})
    call = entry(world, "calls", "tongzhou-2023")
    call["places"] = 74

    report = load_world(world)

    assert report["projects"]["updated"] == 1 and report["calls"]["updated"] == 1
    project = Project.objects.get(key=SEALING)
    assert project.summary == "密封材料的寿命测试" and project.state == "in_progress"
    assert sorted(project.parties.values_list("organisation__key", flat=True)) == [
        "jianghai-university", "sky-technology", "zhongkeyi-nantong"]
    assert Call.objects.get(key="tongzhou-2023").places == 74

    sealing["parties"] = sealing["parties"][:1]
    load_world(world)
    assert project.parties.count() == 2


def test_reloading_takes_the_same_number_of_queries_for_2_or_20_projects(world):
    def with_copies(count: int) -> dict:
        document = copy.deepcopy(world)
        document["projects"] += [{**copy.deepcopy(project_of(world, SEALING)), "key": f"sealing-{n}"}
                                 for n in range(count)]
        return document

    def queries(document: dict) -> int:
        with CaptureQueriesContext(connection) as captured:
            load_world(document)
        return len(captured)

    small, large = with_copies(0), with_copies(18)
    load_world(small)
    few = queries(small)
    load_world(large)

    assert queries(large) == few


# --- dumping --------------------------------------------------------------------------------


def test_the_dump_says_what_the_file_said_in_shanghai_time(world):
    load_world(world)

    dumped = dump_world()

    assert entry(dumped, "calls", "tongzhou-2023")["opens"] == "2023-01-01T09:00:00+08:00"
    assert entry(dumped, "calls", "tongzhou-2023")["budget"] == 5000000
    pump = entry(dumped, "projects", PUMP)
    assert "kind" not in pump and "parties" not in pump  # defaults are left out
    assert pump["history"] == [
        {"transition": "submit", "at": "2023-02-10T10:00:00+08:00"},
        {"transition": "start_review", "at": "2023-03-20T09:00:00+08:00"},
        {"transition": "approve", "at": "2023-04-10T15:00:00+08:00", "comment": "评审通过"}]
    sealing = entry(dumped, "projects", SEALING)
    assert sealing["parties"] == [{"organisation": "jianghai-university", "role": "university_partner"}]
    assert sealing["contract_value"] == Decimal("1200000.5")


def test_dump_load_dump_round_trips_through_an_empty_database(world):
    load_world(world)
    first = dump_text()

    wipe_world()
    report = load_world(parse_yaml(first))

    assert report["projects"]["created"] == 2
    assert dump_text() == first
    assert history(PUMP)[-1] == ("approve", local(2023, 4, 10, 15, 0), "评审通过")


def test_a_json_dump_round_trips_too(world):
    load_world(world)
    first = dump_text(fmt="json")

    wipe_world()
    load_world(parse_json(first))

    assert dump_text(fmt="json") == first


def test_a_dump_loaded_into_its_own_database_changes_nothing(world):
    load_world(world)
    before = stamps()

    report = load_world(parse_yaml(dump_text()))

    assert not report.changed and stamps() == before


def test_a_region_dump_holds_its_projects_their_call_and_partners_from_elsewhere(world):
    load_world(world)

    dumped = dump_world("320612")

    assert [p["key"] for p in dumped["projects"]] == [PUMP, SEALING]
    assert [c["key"] for c in dumped["calls"]] == ["tongzhou-2023"]
    assert "jianghai-university" in [o["key"] for o in dumped["organisations"]]
    assert "320602" in [r["code"] for r in dumped["regions"]]
    assert "programmes-test" in [s["key"] for s in dumped["sources"]]
    assert "projects" not in dump_world("110112") and "calls" not in dump_world("110112")

    first = dump_text("320612")
    wipe_world()
    load_world(parse_yaml(first))
    assert dump_text("320612") == first


# --- problems -------------------------------------------------------------------------------


def _set(section: str, index: int, path: tuple, value):
    """A change to the document: set the value at `path` inside entry `index` of `section`
    (the world's calls and projects are those of the programmes file, in its order)."""
    def change(document: dict) -> None:
        target = document[section][index]
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


def _drop_start_review(document: dict) -> None:
    del document["projects"][0]["history"][1]


PROBLEMS = {
    "unknown applicant": (_set("projects", 0, ("applicant",), "nobody"),
                          "projects[0].applicant", "no organisation has the key 'nobody'"),
    "unknown call": (_set("projects", 0, ("call",), "tongzhou-2024"),
                     "projects[0].call", "no call has the key 'tongzhou-2024'"),
    "category not in the call": (_set("projects", 0, ("category",), "重大专项"),
                                 "projects[0].category", "'重大专项' is not a category of the call tongzhou-2023"),
    "illegal transition": (_drop_start_review, "projects[0].history[1].transition",
                           "cannot approve from 'submitted'; from 'submitted' the allowed transitions are"),
    "collaboration without an academic party": (_set("projects", 1, ("parties",), []), "projects[1].parties",
                                                "needs at least one enterprise and at least one university"),
    "submission after the call closed": (_set("projects", 0, ("history", 0, "at"), "2023-03-15T17:01"),
                                         "projects[0].history[0].at",
                                         "the call closed on 2023-03-15T17:00:00+08:00"),
    "submission before the call opened": (_set("projects", 0, ("history", 0, "at"), "2023-01-01T08:59"),
                                          "projects[0].history[0].at", "the call opens on 2023-01-01T09:00:00+08:00"),
    "a step dated before the previous one": (_set("projects", 0, ("history", 2, "at"), "2023-03-19T09:00"),
                                             "projects[0].history[2].at", "cannot be dated before it"),
    "a step in the future": (_set("projects", 0, ("history", 2, "at"), "2999-01-01T00:00"),
                             "projects[0].history[2].at", "cannot be dated in the future"),
    "a rejection without a reason": (_set("projects", 0, ("history", 2), {"transition": "reject",
                                                                          "at": "2023-04-10T15:00"}),
                                     "projects[0].history[2].comment", "say why (reject)"),
    "a collaboration submitted without its agreement date": (_set("projects", 1, ("agreement_date",), None),
                                                             "projects[1].agreement_date", "agreement was signed"),
    "a partner in the wrong role": (_set("projects", 1, ("parties", 0, "role"), "institute_partner"),
                                    "projects[1].parties[0].role", "is a university, not a institute"),
    "the applicant listed as a partner": (_set("projects", 1, ("parties", 0, "organisation"), "zhongkeyi-nantong"),
                                          "projects[1].parties[0].organisation", "the applicant is the lead party"),
    "money with a fraction of a fen": (_set("projects", 0, ("requested_funding",), "0.001"),
                                       "projects[0].requested_funding", "has 3 decimal places; at most 2"),
    "a moment that is no moment": (_set("projects", 0, ("history", 0, "at"), "2023-02-30T10:00"),
                                   "projects[0].history[0].at", "no such date or time"),
    "a call that closes before it opens": (_set("calls", 0, ("closes",), "2022-12-31T17:00"),
                                           "calls[0].closes", "a call closes after it opens"),
    "a call of an unknown region": (_set("calls", 0, ("region",), "329999"),
                                    "calls[0].region", "no region has the code 329999"),
    "two criteria of one name": (_set("calls", 0, ("criteria", 1, "name"), "创新性"),
                                 "calls[0].criteria[1].name", "repeats criteria[0]"),
}


@pytest.mark.parametrize("change, path, reason", PROBLEMS.values(), ids=PROBLEMS.keys())
def test_a_problem_is_reported_at_its_entry_and_field_and_nothing_is_written(world, change, path, reason):
    change(world)

    with pytest.raises(WorldError) as caught:
        load_world(world)

    assert [problem for problem, _ in caught.value.errors] == [path]
    assert reason in caught.value.errors[0][1]
    assert not Project.objects.exists() and not Call.objects.exists() and not Organisation.objects.exists()


def test_every_problem_of_a_file_is_reported_at_once(world):
    for name in ("unknown applicant", "illegal transition", "collaboration without an academic party",
                 "a call that closes before it opens"):
        PROBLEMS[name][0](world)

    with pytest.raises(WorldError) as caught:
        load_world(world)

    assert [path for path, _ in caught.value.errors] == [
        "calls[0].closes", "projects[0].applicant", "projects[0].history[1].transition", "projects[1].parties"]


def test_an_unknown_key_or_transition_is_a_schema_problem(world):
    project_of(world, PUMP)["history"][0]["transition"] = "approved"
    project_of(world, PUMP)["budget"] = 1

    with pytest.raises(WorldError) as caught:
        load_world(world)

    assert [path for path, _ in caught.value.errors] == ["projects[0].budget", "projects[0].history[0].transition"]


# --- moments --------------------------------------------------------------------------------


def test_a_moment_without_an_offset_is_shanghai_time_and_is_written_with_it():
    assert read_moment("2023-06-30T23:59") == local(2023, 6, 30, 23, 59)
    assert read_moment("2023-06-30 15:59:00Z") == local(2023, 6, 30, 23, 59)
    assert write_moment(dt.datetime(2023, 6, 30, 16, 0, tzinfo=dt.UTC)) == "2023-07-01T00:00:00+08:00"

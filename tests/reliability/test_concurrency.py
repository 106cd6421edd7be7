"""Two users act on the same thing at the same moment (issue 10): exactly one wins, the other
is told it lost, and nothing is written twice.

Each user is a thread with its own database connection and transaction, released together
by a barrier at the worst moment: after each has read the row (as two requests that loaded
the same page), or, for a publication, after each has rendered its files. PostgreSQL only:
the SQLite test database is one in-memory file that serialises every writer, so nothing
collides there (its IMMEDIATE transactions make the second writer wait, as a lock would).
"""

import threading

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

from kechuang.accounts.models import Role
from kechuang.accounts.services import grant_role
from kechuang.bulletins import services as bulletins
from kechuang.bulletins.models import BulletinVersion
from kechuang.programs import services as programs
from kechuang.programs import views
from kechuang.programs.models import Project, ProjectTransition
from kechuang.statistics import services as statistics
from kechuang.statistics.models import Observation
from kechuang.statistics.periods import Period
from tests.programs.conftest import draft, place, walk  # noqa: F401  (the programmes' small world)
from tests.programs.test_pages import form_data, media, pages  # noqa: F401  (…with a call open now)
from tests.reliability.test_faults import TEMPLATE, versions_are_whole
from tests.statistics.conftest import district, metrics  # noqa: F401  (the statistics' district)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
                       reason="collisions need PostgreSQL: the SQLite test database serialises its writers"),
]


def collide(*calls, barrier: threading.Barrier | None = None) -> list[tuple[str, object]]:
    """Run each call in a thread of its own, all released at once; ("won", result) or
    ("lost", exception) for each, in order."""
    barrier = barrier or threading.Barrier(len(calls))
    outcomes: list[tuple[str, object]] = [("not run", None)] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=60)
            outcomes[index] = ("won", call())
        except Exception as error:  # the loser's refusal, checked by the test
            outcomes[index] = ("lost", error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck: a deadlock?"
    return outcomes


def winners(outcomes) -> int:
    return sum(verdict == "won" for verdict, _ in outcomes)


@pytest.fixture
def second_bureau(place, django_user_model):  # noqa: F811
    """Another bureau admin of Tongzhou: two sessions deciding the same project."""
    colleague = django_user_model.objects.create_user("bureau_colleague")
    grant_role(colleague, Role.BUREAU_ADMIN, by=None, region=place["tongzhou"])
    return colleague


# --- programmes --------------------------------------------------------------------------------


@pytest.mark.parametrize("decisions", [("approve", "approve"), ("approve", "reject")])
def test_two_bureau_admins_deciding_one_project_at_once_one_wins(place, second_bureau, decisions):  # noqa: F811
    project = walk(draft(place), "submit", "start_review")
    first, second = Project.objects.get(pk=project.pk), Project.objects.get(pk=project.pk)  # two pages loaded
    outcomes = collide(
        lambda: programs.take(first, decisions[0], by=place["bureau"], comment="不符合条件"),
        lambda: programs.take(second, decisions[1], by=second_bureau, comment="不符合条件"))
    assert winners(outcomes) == 1
    (lost,) = [error for verdict, error in outcomes if verdict == "lost"]
    assert isinstance(lost, programs.ProgrammeError) and lost.field == "state"
    (step,) = ProjectTransition.objects.filter(project=project, name__in=("approve", "reject"))
    assert Project.objects.get(pk=project.pk).state == step.to_state


def test_a_draft_saved_from_two_pages_at_once_keeps_one_change_and_refuses_the_other(place):  # noqa: F811
    project = draft(place)
    opened = Project.objects.get(pk=project.pk).updated_at  # both editors opened the same version
    outcomes = collide(
        lambda: programs.update_draft(project, by=place["owner"], unchanged_since=opened, title_zh="甲的标题"),
        lambda: programs.update_draft(project, by=place["owner"], unchanged_since=opened, title_zh="乙的标题"))
    assert winners(outcomes) == 1
    (won,) = [result for verdict, result in outcomes if verdict == "won"]
    (lost,) = [error for verdict, error in outcomes if verdict == "lost"]
    assert isinstance(lost, programs.ProgrammeError) and lost.field == "updated_at"
    assert Project.objects.get(pk=project.pk).title_zh == won.title_zh


def test_the_application_form_sent_twice_at_once_makes_one_application(pages, monkeypatch):  # noqa: F811
    """A double click: both sendings look for the application of the form's key before either
    has made it; the second to write finds the first's (the unique key) and answers with it."""
    looked = threading.Barrier(2)
    look = views._made_by_form
    first_look = threading.local()

    def both_look_first(request, key):
        found = look(request, key)
        if not getattr(first_look, "done", False):
            first_look.done = True
            looked.wait(timeout=60)
        return found

    monkeypatch.setattr(views, "_made_by_form", both_look_first)
    clients = [Client() for _ in range(2)]
    for client in clients:
        client.force_login(pages["owner"])
    data = form_data(applicant=pages["firm"].pk, key="project-00000000000000ab", submit="1")
    outcomes = collide(*[lambda client=client: client.post("/programmes/calls/tongzhou-now/apply/", data)
                         for client in clients])
    assert [verdict for verdict, _ in outcomes] == ["won", "won"]
    assert [answer.status_code for _, answer in outcomes] == [302, 302]
    (project,) = Project.objects.filter(title_zh="真空泵国产化")
    assert {answer["Location"] for _, answer in outcomes} == {f"/programmes/applications/{project.key}/"}
    assert project.transitions.filter(name="submit").count() == 1


# --- statistics --------------------------------------------------------------------------------


@pytest.fixture
def colleague(district, django_user_model):  # noqa: F811
    user = django_user_model.objects.create_user("bureau_colleague")
    grant_role(user, Role.BUREAU_ADMIN, by=None, region=district["tongzhou"])
    return user


def test_two_bureau_admins_approving_one_figure_at_once_one_wins(district, colleague):  # noqa: F811
    figure = statistics.record_observation(district["jia"], "industrial-output", "2023H1", 1234, unit="万元",
                                           status="submitted")
    first, second = Observation.objects.get(pk=figure.pk), Observation.objects.get(pk=figure.pk)
    outcomes = collide(lambda: statistics.take(first, "approve", by=district["bureau"]),
                       lambda: statistics.take(second, "approve", by=colleague))
    assert winners(outcomes) == 1
    (lost,) = [error for verdict, error in outcomes if verdict == "lost"]
    assert isinstance(lost, statistics.StatisticsConflict) and lost.field == "status"
    assert "same moment" in lost.reason and "approved" in lost.reason
    (won,) = [result for verdict, result in outcomes if verdict == "won"]
    stored = Observation.objects.get(pk=figure.pk)  # the winner's decision stands, not overwritten
    assert stored.status == "approved" and stored.reviewed_by == won.reviewed_by


def test_the_same_figure_recorded_twice_at_once_is_current_once(district):  # noqa: F811
    outcomes = collide(*[lambda: statistics.record_observation(district["jia"], "industrial-output", "2023H1", 1234,
                                                              unit="万元", by=district["bureau"])] * 2)
    # The second waits for the first (the enterprise's row is locked while a figure of it is
    # recorded), sees its figure and returns it unchanged: one row, never two current figures.
    assert Observation.objects.filter(organisation=district["jia"]).count() == 1
    assert Observation.objects.current().filter(organisation=district["jia"]).count() == 1
    assert [verdict for verdict, _ in outcomes] == ["won", "won"]
    assert len({result.pk for _, result in outcomes}) == 1


def test_two_figures_for_the_same_month_recorded_at_once_both_land_one_superseding_the_other(district):  # noqa: F811
    """Found by the load drill, fixed: five enterprise users reporting the same month at once
    got 400 "duplicate key value violates unique constraint" now and then — both had found no
    current figure and both inserted one. The later now supersedes the earlier."""
    outcomes = collide(*[lambda value=value: statistics.record_observation(
        district["jia"], "industrial-output", "2023H1", value, unit="万元", by=district["bureau"]) for value in (1, 2)])
    assert [verdict for verdict, _ in outcomes] == ["won", "won"], outcomes
    rows = Observation.objects.filter(organisation=district["jia"]).order_by("created_at")
    assert rows.count() == 2 and rows[0].superseded_at is not None and rows[1].superseded_at is None


# --- bulletins ---------------------------------------------------------------------------------


def test_a_bulletin_published_twice_at_once_is_published_once(district, monkeypatch):  # noqa: F811
    template = bulletins.save_template("drill", TEMPLATE, name_en="Drill", name_zh="演练")
    bulletin = bulletins.bulletin_for(template, district["tongzhou"], Period.parse("2023H1"))
    rendered = threading.Barrier(2)
    render = bulletins.render_version

    def render_then_wait(*args, **kwargs):  # both have rendered version 1 before either writes it
        result = render(*args, **kwargs)
        rendered.wait(timeout=60)
        return result

    monkeypatch.setattr(bulletins, "render_version", render_then_wait)
    outcomes = collide(lambda: bulletins.publish(bulletin, by=district["bureau"]),
                       lambda: bulletins.publish(bulletin, by=district["bureau"]))
    assert winners(outcomes) == 1
    (lost,) = [error for verdict, error in outcomes if verdict == "lost"]
    assert isinstance(lost, bulletins.BulletinError) and "same moment" in lost.reason
    assert versions_are_whole(bulletin) == [1] and BulletinVersion.objects.count() == 1

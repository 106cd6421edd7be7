"""Computed tables are served again until a committed write makes a new generation of what
they read: every kind of write (a save, a queryset update, raw SQL) bumps one once its
transaction commits, a rolled-back one never, and a table as of a past moment is never kept.
A figure recorded through `record_observation` moves only its metric's generations: the
public's tables stay until an approved figure changes, every table of other metrics stays."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kechuang.indicators import cache, engine
from kechuang.statistics.models import Observation
from kechuang.statistics.periods import Period

H1 = Period.parse("2023H1")

# Commits must happen for the generation to move: each test runs outside a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.INDICATOR_CACHE_SIZE = 16
    cache.clear()
    cache.watch()
    yield
    cache.unwatch()
    cache.clear()


def output(world):
    return engine.evaluate(["industrial_output_above_size"], engine.areas_for("320612"), [H1], public=False)


def value(table):
    return table.get("industrial_output_above_size", "320612", H1).value


def test_a_table_is_served_again_while_nothing_is_written(world, figure):
    figure(world["plain"], "industrial-output", "2023H1", 100)
    areas = engine.areas_for("320612")
    first = engine.evaluate(["industrial_output_above_size"], areas, [H1], public=False)
    with CaptureQueriesContext(connection) as queries:
        again = engine.evaluate(["industrial_output_above_size"], areas, [H1], public=False)
    assert again is first and len(queries) == 1  # the generations, in one read


def test_a_committed_correction_is_seen_at_once(world, figure):
    row = figure(world["plain"], "industrial-output", "2023H1", 100)
    assert value(output(world)) == 100
    before = cache.snapshot()
    figure(world["plain"], "industrial-output", "2023H1", 120)  # supersedes: an update and an insert
    after = cache.snapshot()
    assert after[cache.reported(row.metric_id)] > before[cache.reported(row.metric_id)]
    assert after[cache.reviewed(row.metric_id)] > before[cache.reviewed(row.metric_id)]  # an approved figure
    assert after[cache.DATA] == before.get(cache.DATA, 0)  # declared: nothing else was written
    assert value(output(world)) == 120


def test_a_submitted_figure_keeps_the_publics_tables_and_those_of_other_metrics(world, figure):
    """An enterprise reporting its month moves only what reads its reported figures of that metric."""
    figure(world["plain"], "industrial-output", "2023H1", 100)
    areas = engine.areas_for("320612")
    public = engine.evaluate(["industrial_output_above_size"], areas, [H1], public=True)
    internal = output(world)
    other = engine.evaluate(["projects_approved"], areas, [H1], public=False)
    figure(world["zoned"], "industrial-output", "2023H1", 150, status="submitted")  # another enterprise's
    assert engine.evaluate(["industrial_output_above_size"], areas, [H1], public=True) is public
    assert engine.evaluate(["projects_approved"], areas, [H1], public=False) is other
    again = output(world)
    assert again is not internal and value(again) == 250  # the bureau's own view counts it at once
    # The bureau approves it (an undeclared write: every table is computed again).
    Observation.objects.filter(value=150).update(status="approved")
    assert engine.evaluate(["industrial_output_above_size"], areas, [H1], public=True) is not public
    assert engine.evaluate(["projects_approved"], areas, [H1], public=False) is not other


def test_a_submitted_figure_that_supersedes_an_approved_one_moves_the_publics_tables(world, figure):
    row = figure(world["plain"], "industrial-output", "2023H1", 100)
    before = cache.generation(cache.reviewed(row.metric_id))
    figure(world["plain"], "industrial-output", "2023H1", 90, status="submitted")
    assert cache.generation(cache.reviewed(row.metric_id)) == before + 1


def test_a_declaration_narrows_only_its_table(world, figure):
    row = figure(world["plain"], "industrial-output", "2023H1", 100)
    before = cache.snapshot()
    with cache.declared(Observation._meta.db_table, [cache.reported(row.metric_id)]):
        Observation.objects.filter(pk=row.pk).update(comment="checked")
        type(world["plain"]).objects.filter(pk=world["plain"].pk).update(name_en="Renamed Ltd")
    after = cache.snapshot()
    assert after[cache.reported(row.metric_id)] == before[cache.reported(row.metric_id)] + 1
    assert after[cache.DATA] == before.get(cache.DATA, 0) + 1  # the organisation's write
    assert after[cache.reviewed(row.metric_id)] == before[cache.reviewed(row.metric_id)]


def test_a_write_rolled_back_leaves_the_generation_and_the_table(world, figure):
    figure(world["plain"], "industrial-output", "2023H1", 100)
    first = output(world)
    before = cache.snapshot()
    with pytest.raises(RuntimeError), transaction.atomic():
        figure(world["plain"], "industrial-output", "2023H1", 999)
        raise RuntimeError("the user cancelled")
    assert cache.snapshot() == before and output(world) is first


@pytest.mark.parametrize("how", ["queryset update", "raw SQL"])
def test_writes_that_skip_the_models_save_are_seen_too(world, figure, how):
    row = figure(world["plain"], "industrial-output", "2023H1", 100)
    assert value(output(world)) == 100
    if how == "queryset update":
        Observation.objects.filter(pk=row.pk).update(value=130)
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {Observation._meta.db_table} SET value = 140 WHERE id = %s", [row.pk])
    assert value(output(world)) == (130 if how == "queryset update" else 140)


def test_one_bump_per_transaction(world, figure):
    row = figure(world["plain"], "industrial-output", "2022-12", 1)
    before = cache.generation(cache.reported(row.metric_id))
    with transaction.atomic():
        for month in range(1, 7):
            figure(world["plain"], "industrial-output", f"2023-{month:02d}", month)
    assert cache.generation(cache.reported(row.metric_id)) == before + 1
    before = cache.generation()
    with transaction.atomic():
        for month in range(1, 7):
            Observation.objects.filter(pk=row.pk).update(comment=f"note {month}")
    assert cache.generation() == before + 1


def test_a_table_as_of_a_moment_is_never_kept(world, figure):
    from django.utils import timezone

    figure(world["plain"], "industrial-output", "2023H1", 100)
    moment = timezone.now()
    areas = engine.areas_for("320612")
    first = engine.evaluate(["industrial_output_above_size"], areas, [H1], public=False, as_of=moment)
    second = engine.evaluate(["industrial_output_above_size"], areas, [H1], public=False, as_of=moment)
    assert first is not second and value(first) == value(second) == 100


def test_the_public_and_the_bureau_get_their_own_tables(world, figure):
    figure(world["plain"], "industrial-output", "2023H1", 100)
    areas = engine.areas_for("320612")
    internal = engine.evaluate(["industrial_output_above_size"], areas, [H1], public=False)
    public = engine.evaluate(["industrial_output_above_size"], areas, [H1], public=True)
    assert internal is not public
    assert public.get("industrial_output_above_size", "320612", H1).shown is None  # one enterprise: withheld


def test_the_public_requests_under_one_parent_read_its_figures_once_until_a_write(world, figure):
    """A public value of a district reads its whole city (disclosure control decides the pattern
    there); the next district's request finds those figures kept, until the data changes."""
    for key in ("parked", "zoned", "plain"):
        figure(world[key], "industrial-output", "2023H1", 100)

    def figures_read(district):
        with CaptureQueriesContext(connection) as queries:
            table = engine.evaluate(["industrial_output"], engine.areas_for(district), [H1], public=True)
        # The enterprises' figures placed by their locations (the official figure is read apart).
        return sum('"statistics_observation"' in query["sql"] and '"registry_location"' in query["sql"]
                   for query in queries), table

    assert figures_read("320612")[0] == 1
    read, table = figures_read("320602")
    assert read == 0 and table.get("industrial_output", "320602", H1).shown is None  # nobody reports there
    figure(world["rival"], "industrial-output", "2023H1", 90)
    read, table = figures_read("320602")
    assert read == 1 and table.get("industrial_output", "320602", H1).suppressed.startswith("fewer than")


def card(html: str, code: str) -> str:
    import re

    return re.search(rf'<article class="card indicator" id="card-{code}">(.*?)</article>', html, re.S).group(1)


def test_the_dashboards_figures_are_kept_per_language_and_per_user_until_a_correction(client, world, figure):
    """The page's figures are written once a generation, for each language and each user's view."""
    figure(world["plain"], "industrial-output", "2023H1", 100)
    url = "/regions/320612/indicators/?period=2023H1"
    client.force_login(world["bureau"])
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "Year on year" in english and "同比" in chinese
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert card(again, "industrial_output_above_size") == card(english, "industrial_output_above_size")
    assert not any('"statistics_observation"' in query["sql"] for query in queries)  # nothing computed again
    figure(world["plain"], "industrial-output", "2023H1", 120)
    corrected = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert card(corrected, "industrial_output_above_size") != card(english, "industrial_output_above_size")
    client.logout()
    public = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "confidential" not in card(public, "industrial_output_above_size")  # never the bureau's part
    assert "confidential" in card(corrected, "industrial_output_above_size")


def test_the_same_indicators_asked_in_another_order_are_one_table_listed_as_asked(world, figure):
    figure(world["plain"], "industrial-output", "2023H1", 100)
    areas = engine.areas_for("320612")
    first = engine.evaluate(["industrial_output", "projects_approved"], areas, [H1], public=False)
    with CaptureQueriesContext(connection) as queries:
        second = engine.evaluate(["projects_approved", "industrial_output"], areas, [H1], public=False)
    assert len(queries) == 1  # the generations only
    assert [i.code for i in second.indicators] == ["projects_approved", "industrial_output"]
    assert [i.code for i in first.indicators] == ["industrial_output", "projects_approved"]
    assert second.get("industrial_output", "320612", H1) is first.get("industrial_output", "320612", H1)


def test_what_a_published_bulletin_would_change_is_kept_until_the_publics_figures_change(world, figure, monkeypatch):
    """The bulletin's page asks on every visit; the answer follows only what the public reads."""
    from types import SimpleNamespace

    from kechuang.bulletins import services as bulletins

    computed = []
    monkeypatch.setattr(bulletins, "_would_change", lambda version: computed.append(version.pk) or [])
    version = SimpleNamespace(pk=7)
    assert bulletins.would_change(version) == [] and bulletins.would_change(version) == []
    assert computed == [7]
    figure(world["plain"], "industrial-output", "2023-07", 5, status="submitted")  # not the public's
    bulletins.would_change(version)
    assert computed == [7]
    figure(world["plain"], "industrial-output", "2023-07", 6, status="approved")  # the public's
    bulletins.would_change(version)
    assert computed == [7, 7]
    bulletins.would_change(SimpleNamespace(pk=8))  # another version is another answer
    assert computed == [7, 7, 8]


def test_approving_a_figure_moves_its_metrics_public_tables_and_no_others(world, figure):
    from kechuang.statistics import services

    row = figure(world["plain"], "industrial-output", "2023H1", 100, status="submitted")
    areas = engine.areas_for("320612")
    other = engine.evaluate(["projects_approved"], areas, [H1], public=True)
    public = engine.evaluate(["industrial_output_above_size"], areas, [H1], public=True)
    before = cache.snapshot()
    services.take(row, "approve", by=world["bureau"])
    after = cache.snapshot()
    assert after[cache.reviewed(row.metric_id)] == before.get(cache.reviewed(row.metric_id), 0) + 1
    assert after[cache.DATA] == before.get(cache.DATA, 0)
    assert engine.evaluate(["projects_approved"], areas, [H1], public=True) is other
    assert engine.evaluate(["industrial_output_above_size"], areas, [H1], public=True) is not public

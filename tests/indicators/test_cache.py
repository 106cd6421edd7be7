"""Computed tables are served again until a committed write makes a new data generation:
every kind of write (a save, a queryset update, raw SQL) bumps it once its transaction
commits, a rolled-back one never, and a table as of a past moment is never kept."""

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
    assert again is first and len(queries) == 1  # the generation's primary-key read


def test_a_committed_correction_is_seen_at_once(world, figure):
    figure(world["plain"], "industrial-output", "2023H1", 100)
    assert value(output(world)) == 100
    before = cache.generation()
    figure(world["plain"], "industrial-output", "2023H1", 120)  # supersedes: an update and an insert
    assert cache.generation() > before
    assert value(output(world)) == 120


def test_a_write_rolled_back_leaves_the_generation_and_the_table(world, figure):
    figure(world["plain"], "industrial-output", "2023H1", 100)
    first = output(world)
    before = cache.generation()
    with pytest.raises(RuntimeError), transaction.atomic():
        figure(world["plain"], "industrial-output", "2023H1", 999)
        raise RuntimeError("the user cancelled")
    assert cache.generation() == before and output(world) is first


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
    before = cache.generation()
    with transaction.atomic():
        for month in range(1, 7):
            figure(world["plain"], "industrial-output", f"2023-{month:02d}", month)
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

"""Pages benchmark: the server time of every main page, for the role that uses it, on city-scale data.

    .venv/bin/python benchmarks/pages_bench.py                 # SQLite, var/bench_pages.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_bench_pages .venv/bin/python benchmarks/pages_bench.py
    .venv/bin/python benchmarks/pages_bench.py --keep          # reuse the database of an earlier run

The database: the Tongzhou demo (`kechuang demo`: the seed article's organisations, ~1,000
synthetic ones, the programmes, statistics and designations, the demo users), and Nantong at
city scale beside it as the indicators benchmark builds it (20,000 enterprises over its
districts, 5.2 million figures for 2019-2023), and for those enterprises 2,000 designations.

Each page is asked through Django's test client in this process (middleware, view, queries and
template: the server's work, without the network), signed in as the role whose workspace it is,
in Chinese; the median of several runs after a warm-up, with the number of queries. The goal
(issue 8): every page under 300 ms.
"""

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

from common import fresh_database

sys.path.insert(0, str(Path(__file__).resolve().parent))
GOAL_MS = 300
CITY, TONGZHOU = "320600", "320612"


def set_up(enterprises: int) -> None:
    import indicators_bench
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("demo", verbosity=0)
    print(f"  the Tongzhou demo: {time.perf_counter() - started:.0f} s")
    indicators_bench.set_up(CITY, enterprises)
    started = time.perf_counter()
    designations(2_000)
    print(f"  2,000 designations of the city's enterprises: {time.perf_counter() - started:.0f} s")
    from django.db import connection

    with connection.cursor() as cursor:  # the planner's statistics, as after a day of autovacuum
        cursor.execute("ANALYZE")


def designations(count: int) -> None:
    """`count` grants to the city's synthetic enterprises, a third expiring within a year,
    through the product's own `grant` (one transaction)."""
    from django.db import transaction

    from kechuang.designations.models import DesignationType
    from kechuang.designations.services import DesignationError, grant
    from kechuang.registry.models import Organisation

    types = list(DesignationType.objects.order_by("code"))
    firms = Organisation.objects.filter(key__startswith="bench-ind-").order_by("pk")[:count]
    today = dt.date.today()
    with transaction.atomic():
        for n, firm in enumerate(firms):
            granted = today - dt.timedelta(days=365 * (1 + n % 3) - 30 * (n % 7))
            for offset in range(len(types)):  # the first type that existed on the day
                try:
                    grant(firm, types[(n + offset) % len(types)], granted_on=granted, synthetic=True, today=today)
                    break
                except DesignationError:
                    continue


def pages() -> list[tuple[str, str, str]]:
    """(label, user, URL) for every main page; a page whose app is not installed is left out."""
    from django.urls import NoReverseMatch, reverse

    from kechuang.programs.models import Call, Project
    from kechuang.registry.models import Organisation

    call = Call.objects.order_by("-pk").first()
    project = Project.objects.filter(state="approved").order_by("pk").first()
    zhongkeyi = Organisation.objects.get(key="zhongkeyi-nantong")
    wanted = [
        ("home", None, "home", [], ""),
        ("search 中科仪", "bureau", "home", [], "?q=中科仪"),
        ("region page, Tongzhou", "bureau", "region", [TONGZHOU], ""),
        ("region page, Nantong (20,000+ enterprises)", "demo", "region", [CITY], ""),
        ("region dashboard, Tongzhou 2023H1, public", None, "region-indicators", [TONGZHOU], "?period=2023H1"),
        ("region dashboard, Nantong 2023H1, bureau", "demo", "region-indicators", [CITY], "?period=2023H1"),
        ("  its trend charts (fetched after the page), Tongzhou, public", None, "region-indicator-trends",
         [TONGZHOU], "?period=2023H1"),
        ("  its trend charts, Nantong, bureau", "demo", "region-indicator-trends", [CITY], "?period=2023H1"),
        ("explorer: 3 indicators × Nantong's districts × 10 half-years", "analyst", "indicator-explorer", [],
         "?codes=projects_approved%2Ccollaborations_introduced%2Chigh_tech_share&region=320600&by=children"
         "&period_from=2019H1&period_to=2023H2"),
        ("contributors of Tongzhou's 2023H1 projects approved", "bureau", "indicator-records", ["projects_approved"],
         "?region=320612&period=2023H1"),
        ("enterprise profile, Zhongkeyi", "bureau", "organisation", [zhongkeyi.key], ""),
        ("park page, Hengli", "bureau", "organisation", ["hengli-nantong-industrial-park"], ""),
        ("zone page, the high-tech zone", "zone", "organisation", ["nantong-high-tech-zone"], ""),
        ("calls", "zhongkeyi", "programs-calls", [], ""),
        ("call", "zhongkeyi", "programs-call", [call.key] if call else [], ""),
        ("applications, Zhongkeyi", "zhongkeyi", "programs-applications", [], ""),
        ("application", "bureau", "programs-application", [project.key] if project else [], ""),
        ("review board", "bureau", "programs-board", [], ""),
        ("reviewer's queue", "reviewer", "programs-reviews", [], ""),
        ("statistics report form, Zhongkeyi 2023H1", "zhongkeyi", "statistics-report", [], "?period=2023H1"),
        ("statistics approval queue", "bureau", "statistics-review", [], ""),
        ("statistics approval queue, every status, the whole city", "demo", "statistics-review", [], "?status=all"),
        ("statistics locks", "bureau", "statistics-locks", [], ""),
        ("designations registry", "bureau", "designations-registry", [], ""),
        ("designations registry, the whole city", "demo", "designations-registry", [], ""),
        ("designations expiring", "bureau", "designations-expiring", [], "?within=365"),
        ("screening", "analyst", "designations-screening", [], ""),
    ]
    found = []
    for label, user, name, args, query in wanted:
        try:
            found.append((label, user, reverse(name, args=args) + query))
        except NoReverseMatch:
            print(f"  (not installed: {label})")
    return found


def measure(client, url: str, repeat: int) -> tuple[float, int] | int:
    """(median ms, queries of a run), or the status code of an answer that is not a page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    answer = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN")  # the warm-up
    if answer.status_code != 200:
        return answer.status_code
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN")
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), len(queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="reuse the database of an earlier run (no set-up)")
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    arguments = parser.parse_args()
    fresh_database("bench_pages", keep=arguments.keep)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    print(f"kechuang pages benchmark, {connection.vendor}")
    if not arguments.keep:
        set_up(arguments.enterprises)
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)  # the pages name their files by the manifest
    users = {user.username: user for user in get_user_model().objects.all()}
    clients = {}
    slowest, failures = 0.0, 0
    print(f"  {'page':<64} {'user':<10} {'median':>9} {'queries':>8}")
    for label, username, url in pages():
        if username not in clients:
            clients[username] = Client()
            if username:
                clients[username].force_login(users[username])
        measured = measure(clients[username], url, arguments.repeat)
        if isinstance(measured, int):
            print(f"  {label:<64} {username or 'public':<10} answered {measured}: not measured")
            failures += 1
            continue
        median, queries = measured
        slowest = max(slowest, median)
        mark = "" if median < GOAL_MS else "  over the goal"
        print(f"  {label:<64} {username or 'public':<10} {median:7.1f} ms {queries:8d}{mark}")
    met = slowest < GOAL_MS and not failures
    print(f"  slowest page {slowest:.1f} ms; goal under {GOAL_MS} ms: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()

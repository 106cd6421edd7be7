"""Registry benchmark: region-subtree queries, search and the division import at scale.

    .venv/bin/python benchmarks/registry_bench.py --organisations 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_bench \
        .venv/bin/python benchmarks/registry_bench.py --organisations 200000

It builds its own database (var/bench.sqlite3, or the DATABASE_URL given, which it
drops and recreates), loads Jiangsu's divisions with every town, spreads synthetic
enterprises over Jiangsu's towns (a province's registry), and times the questions the
indicators and dashboards ask: who is in Tongzhou, in Nantong, in Jiangsu, today and as
of a past date, and a name search. Each timing is the median of several runs.
"""

import argparse
import datetime as dt
import random
import time

from common import fresh_database, once, timed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--organisations", type=int, default=20000)
    args = parser.parse_args()
    fresh_database("bench")

    from django.db import connection, transaction

    from kechuang.registry.divisions import load_divisions
    from kechuang.registry.models import Location, Organisation, Region
    from kechuang.registry.search import build_search_text

    print(f"database: {connection.vendor}; organisations: {args.organisations:,}")

    once("load-divisions, Jiangsu with all its towns", lambda: load_divisions(towns=["32"], provinces=["32"]))
    once("load-divisions again (all unchanged)", lambda: load_divisions(towns=["32"], provinces=["32"]))

    towns = list(Region.objects.filter(level="town").values_list("pk", flat=True))
    rng = random.Random(7)
    start = time.perf_counter()
    with transaction.atomic():  # bulk set-up of the benchmark's data, not a product path
        batch = 5000
        for offset in range(0, args.organisations, batch):
            orgs = [
                Organisation(key=f"bench-{n:07d}", kind="enterprise", name_en=f"Bench Enterprise {n} Co Ltd (demo)",
                             name_zh=f"基准测试企业{n}有限公司", synthetic=True,
                             search_text=build_search_text([f"基准测试企业{n}有限公司", f"Bench Enterprise {n} Co Ltd (demo)"]))
                for n in range(offset, min(offset + batch, args.organisations))
            ]
            Organisation.objects.bulk_create(orgs)
            locations = []
            for org in orgs:
                # a quarter of the firms moved once, so the history has rows to skip
                if rng.random() < 0.25:
                    locations.append(Location(organisation=org, region_id=rng.choice(towns),
                                              valid_from=dt.date(2010, 1, 1), valid_to=dt.date(2019, 1, 1)))
                    locations.append(Location(organisation=org, region_id=rng.choice(towns), valid_from=dt.date(2019, 1, 1)))
                else:
                    locations.append(Location(organisation=org, region_id=rng.choice(towns), valid_from=dt.date(2010, 1, 1)))
            Location.objects.bulk_create(locations)
    print(f"  set-up: {args.organisations:,} organisations in {time.perf_counter() - start:.0f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    past = dt.date(2015, 6, 30)
    for code, label in [("320612", "Tongzhou"), ("320600", "Nantong"), ("320000", "Jiangsu")]:
        timed(f"count in {label} subtree today", lambda c=code: Organisation.objects.in_region(c).count())
        timed(f"count in {label} subtree on {past}", lambda c=code: Organisation.objects.in_region(c, on=past).count())
    timed("first page (50) of Tongzhou organisations with location",
          lambda: len(list(Organisation.objects.in_region("320612").select_related().prefetch_related("locations__region").order_by("key")[:50])))
    timed("search '基准测试企业12345' (substring over search_text)", lambda: Organisation.objects.search("基准测试企业12345").count())
    timed("search 'jzcsqy' (pinyin initials, matches all)", lambda: Organisation.objects.search("jzcsqy").count(), repeat=3)
    timed("Region subtree of Jiangsu (regions)", lambda: Region.objects.subtree("320000").count())


if __name__ == "__main__":
    main()

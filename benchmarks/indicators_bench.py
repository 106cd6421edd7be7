"""Indicators benchmark: the high-tech share over a province's districts, against a hand-written GROUP BY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_bench_indicators \
        .venv/bin/python benchmarks/indicators_bench.py                    # province: 50 million observations
    .venv/bin/python benchmarks/indicators_bench.py --scale city           # Nantong on SQLite: 5 million

It builds its own database (var/bench_indicators.sqlite3, or the DATABASE_URL given, which
it drops and recreates) with Jiangsu's divisions and synthetic enterprises spread over the
districts (the province: every district of Jiangsu; the city: Nantong's), four in five of
them above designated size. Each has, for every half-year of 2019-2023, its industrial
output and high-tech output (the two figures of the 56% share), and for every month of the
five years four more figures (revenue, R&D, employees, assets), which the share's queries
must skip: 250 figures an enterprise, 50 million at 200,000 enterprises. The figures are
written by one INSERT … SELECT with the secondary indexes dropped and rebuilt after, as a
bulk load would (the product's importer is measured in statistics_bench.py).

Timed (median of several runs, after a warm-up), each next to a hand-written single SQL
statement computing the same numbers from the same tables, the practical floor:
  (a) the share for every district for every half-year of the five years, in one request;
  (b) the share for one district and one period;
  (c) the contributors of one value (the figures behind Tongzhou's 2023H1 share);
  (d) a corrected figure to the corrected share: record the correction, ask again.
"""

import argparse
import datetime as dt
import time
from decimal import Decimal

from common import drop_indexes, fresh_database, timed

SCALES = {"province": ("320000", 200_000), "city": ("320600", 20_000)}
FIRST_YEAR, LAST_YEAR = 2019, 2023
FILLER_METRICS = ["operating-revenue", "rd-expenditure", "employees", "total-assets"]
TONGZHOU = "320612"


def set_up(top: str, count: int) -> None:
    from django.db import connection, transaction

    from kechuang.registry.divisions import load_divisions
    from kechuang.registry.models import Location, Organisation, Region

    load_divisions(provinces=["32"])
    districts = list(Region.objects.filter(path__startswith=Region.objects.get(code=top).path, level="district")
                     .order_by("code").values_list("pk", flat=True))
    started = time.perf_counter()
    with transaction.atomic():  # the benchmark's own bulk set-up, not a product path
        for offset in range(0, count, 10_000):
            # Enterprise n is in district n mod D; one in five of each district's is below designated size.
            orgs = [Organisation(key=f"bench-ind-{n:07d}", kind="enterprise", name_zh=f"基准指标企业{n}有限公司",
                                 above_designated_size=(n // len(districts)) % 5 != 0, synthetic=True)
                    for n in range(offset, min(offset + 10_000, count))]
            Organisation.objects.bulk_create(orgs)
            Location.objects.bulk_create(
                Location(organisation=org, region_id=districts[int(org.key[-7:]) % len(districts)],
                         valid_from=dt.date(2010, 1, 1)) for org in orgs)
    print(f"  {count:,} enterprises in {len(districts)} districts: {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    rows = load_observations(connection)
    print(f"  {rows:,} observations written and indexed: {time.perf_counter() - started:.0f} s")


def _periods_sql(periods: list[tuple[str, dt.date, dt.date, int]], vendor: str) -> str:
    date = "DATE " if vendor == "postgresql" else ""  # SQLite keeps dates as ISO text
    return " UNION ALL ".join(f"SELECT '{code}' AS code, {date}'{start}' AS first_day, {date}'{end}' AS last_day, "
                              f"{n} AS n" for code, start, end, n in periods)


def load_observations(connection) -> int:
    from kechuang.statistics.models import Metric, Observation
    from kechuang.statistics.periods import Period

    halves = [Period.of_half(year, half) for year in range(FIRST_YEAR, LAST_YEAR + 1) for half in (1, 2)]
    months = [Period.of_month(year, month) for year in range(FIRST_YEAR, LAST_YEAR + 1) for month in range(1, 13)]
    metric = {m.code: m.pk for m in Metric.objects.all()}
    table = Observation._meta.db_table
    columns = ("organisation_id, metric_id, period, period_start, period_end, kind, value, entered_unit, status, "
               "comment, interface, created_at")
    now = "'2024-01-01 00:00:00+00:00'" if connection.vendor == "postgresql" else "'2024-01-01 00:00:00'"
    # Output 1,000-10,990万元 an half-year; the high-tech part 10-79% of it: deterministic, spread.
    output = "((o.id * 7919 + p.n * 104729) % 1000 + 100) * 100000"
    statements = [
        f"INSERT INTO {table} ({columns}) SELECT o.id, {metric['industrial-output']}, p.code, p.first_day, p.last_day, "
        f"'actual', {output}, '', 'approved', '', 'import', {now} FROM registry_organisation o, "
        f"({_periods_sql([(h.code, h.start, h.end, i) for i, h in enumerate(halves)], connection.vendor)}) p",
        f"INSERT INTO {table} ({columns}) SELECT o.id, {metric['high-tech-output']}, p.code, p.first_day, "
        f"p.last_day, 'actual', {output} * (o.id % 70 + 10) / 100, '', 'approved', '', 'import', {now} "
        f"FROM registry_organisation o, ({_periods_sql([(h.code, h.start, h.end, i) for i, h in enumerate(halves)], connection.vendor)}) p",
    ]
    fillers = " UNION ALL ".join(f"SELECT {metric[code]} AS id" for code in FILLER_METRICS)
    statements.append(
        f"INSERT INTO {table} ({columns}) SELECT o.id, m.id, p.code, p.first_day, p.last_day, 'actual', "
        f"(o.id + p.n) % 997 + 1, '', 'approved', '', 'import', {now} FROM registry_organisation o, "
        f"({_periods_sql([(m.code, m.start, m.end, i) for i, m in enumerate(months)], connection.vendor)}) p, ({fillers}) m")
    with connection.cursor() as cursor:
        indexes = drop_indexes(cursor, connection, table)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")  # skip the FK triggers of the bulk load
        for statement in statements:
            cursor.execute(statement)
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '1GB'")
        for definition in indexes:
            cursor.execute(definition)
        cursor.execute(f"ANALYZE {table}" if connection.vendor == "postgresql" else "ANALYZE")
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def district_path(top_path: str) -> str:
    from kechuang.registry.models import Region

    return Region.objects.filter(path__startswith=top_path, level="district").values_list("path", flat=True)[0]


def hand_written(connection, top_path: str, periods, district: str | None = None) -> dict:
    """The share per district and period in one statement: the floor the engine is compared with."""
    from kechuang.statistics.models import Metric
    from kechuang.statistics.periods import Period

    metric = {m.code: m.pk for m in Metric.objects.filter(code__in=["industrial-output", "high-tech-output"])}
    codes = [code for period in periods for code in (period.code, Period.of_months(period.year, period.first_month,
                                                                                   period.last_month).code)]
    length = len(district_path(top_path))  # a district's path: "320000/320600/320612/"
    prefix = f"{top_path}%"
    where_district = "AND r.path LIKE %s" if district else ""
    sql = f"""
        SELECT substr(r.path, 1, {length}) AS area, o.period,
               100.0 * SUM(CASE WHEN o.metric_id = %s THEN o.value END)
                     / SUM(CASE WHEN o.metric_id = %s THEN o.value END)
        FROM statistics_observation o
        JOIN registry_organisation g ON g.id = o.organisation_id AND g.above_designated_size
        JOIN registry_location l ON l.organisation_id = o.organisation_id
             AND (l.valid_from IS NULL OR l.valid_from <= o.period_end)
             AND (l.valid_to IS NULL OR l.valid_to > o.period_end)
        JOIN registry_region r ON r.id = l.region_id
        WHERE o.metric_id IN (%s, %s) AND o.kind = 'actual' AND o.superseded_at IS NULL
              AND o.status IN ('submitted', 'approved', 'published')
              AND o.period IN ({", ".join(["%s"] * len(codes))}) AND r.path LIKE %s {where_district}
        GROUP BY 1, 2"""
    params = [metric["high-tech-output"], metric["industrial-output"], metric["high-tech-output"],
              metric["industrial-output"], *codes, prefix] + ([f"%/{district}/%"] if district else [])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(area, period): share for area, period, share in cursor.fetchall()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="province")
    parser.add_argument("--enterprises", type=int, help="instead of the scale's number")
    parser.add_argument("--keep", action="store_true", help="reuse the database of an earlier run (no set-up)")
    arguments = parser.parse_args()
    top, count = SCALES[arguments.scale]
    count = arguments.enterprises or count
    fresh_database("bench_indicators", keep=arguments.keep)
    from django.db import connection

    from kechuang.indicators import engine
    from kechuang.registry.models import Organisation, Region
    from kechuang.statistics.periods import Period
    from kechuang.statistics.services import record_observation

    print(f"kechuang indicators benchmark, {connection.vendor}, scale {arguments.scale}")
    if not arguments.keep:
        set_up(top, count)
    top_region = Region.objects.get(code=top)
    areas = [area for area in engine.areas_for(top, by="district") if area.key != top]
    series = engine.period_series(Period.parse(f"{FIRST_YEAR}H1"), Period.parse(f"{LAST_YEAR}H2"))
    h1 = Period.parse(f"{LAST_YEAR}H1")
    tongzhou = engine.areas_for(TONGZHOU)
    print(f"  {len(areas)} districts x {len(series)} half-years")

    def engine_a():
        table = engine.evaluate(["high_tech_share"], areas, series, public=False)
        return sum(1 for result in table if result.computed is not None)

    def hand_a():
        return len(hand_written(connection, top_region.path, series))

    def engine_b():
        return engine.evaluate(["high_tech_share"], tongzhou, [h1], public=False).get(
            "high_tech_share", TONGZHOU, h1).computed.quantize(Decimal("0.0001"))

    def hand_b():
        return next(iter(hand_written(connection, top_region.path, [h1], district=TONGZHOU).values()))

    def public_b():
        result = engine.evaluate(["high_tech_share"], tongzhou, [h1], public=True).get("high_tech_share", TONGZHOU, h1)
        return result.shown is not None

    def contributors_c():
        return sum(len(list(part.records.values_list("pk", "value"))) for part in
                   engine.contributions("high_tech_share", tongzhou[0], h1))

    def hand_c():
        with connection.cursor() as cursor:
            cursor.execute("""
                SELECT o.id, o.value FROM statistics_observation o
                JOIN registry_organisation g ON g.id = o.organisation_id AND g.above_designated_size
                JOIN registry_location l ON l.organisation_id = o.organisation_id AND l.valid_to IS NULL
                JOIN registry_region r ON r.id = l.region_id AND r.path LIKE %s
                WHERE o.metric_id IN (SELECT id FROM statistics_metric WHERE code IN ('industrial-output',
                      'high-tech-output')) AND o.period IN (%s, %s) AND o.superseded_at IS NULL
                      AND o.kind = 'actual' AND o.status IN ('submitted', 'approved', 'published')""",
                           [f"%/{TONGZHOU}/%", h1.code, f"{h1.year}-01..{h1.year}-06"])
            return len(cursor.fetchall())

    for label, ours, floor, repeat in (("(a) every district, every half-year", engine_a, hand_a, 5),
                                       ("(b) one district, one period", engine_b, hand_b, 15),
                                       ("(c) contributors of one value", contributors_c, hand_c, 7)):
        print(label)
        ratio = timed("kechuang", ours, repeat) / timed("hand-written SQL", floor, repeat)
        print(f"  {'ratio kechuang / hand-written':<62} {ratio:10.2f}")
    print("(b') one district, one period, public (disclosure checked)")
    timed("kechuang", public_b, 15)

    print("(d) a corrected figure to the corrected share")
    firm = Organisation.objects.in_region(TONGZHOU).filter(above_designated_size=True).order_by("pk").first()
    before = engine_b()
    stored = firm.observations.current().get(metric__code="industrial-output", period=h1.code).value
    started = time.perf_counter()
    record_observation(firm, "industrial-output", h1, stored + 10**9, status="approved", today=dt.date(2026, 1, 1))
    after = engine_b()
    elapsed = (time.perf_counter() - started) * 1000
    print(f"  correction recorded and share asked again: {elapsed:.1f} ms; share {before} -> {after}")
    assert after != before, "the correction did not show"


if __name__ == "__main__":
    main()

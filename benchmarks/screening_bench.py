"""Screening benchmark: the HNTE cultivation pool of a province, against a hand-written SQL query.

    .venv/bin/python benchmarks/screening_bench.py                          # SQLite, 20,000 enterprises
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_bench_screening \
        .venv/bin/python benchmarks/screening_bench.py --enterprises 200000  # the province on PostgreSQL

It builds its own database (var/bench_screening.sqlite3, or the DATABASE_URL given, which it
drops and recreates) with Jiangsu's divisions and synthetic enterprises spread over all its
districts, each with a founding milestone and, for every year 2021–2025, the ten figures the
HNTE rules read (revenue, R&D, domestic R&D, net assets, conversions, employees, S&T staff,
high-tech revenue, Class I and Class II IP): 50 observations an enterprise, 10 million at
200,000. Values are spread deterministically so that every criterion passes for some and
fails for others; one enterprise in fifty lacks its 2024 R&D figure and one in forty was
founded too recently. The rows are written by INSERT … SELECT with the secondary indexes
dropped and rebuilt after, as a bulk load would.

Timed (median of --repeat runs after a warm-up; one run with --repeat 1):
  kechuang:         screen_region("HNTE-2016", "320000", 2026-04-01): every enterprise of the
                    province screened against every criterion (the quantitative ones computed,
                    the score's figures banded, the expert items awaited), the pool ranked by
                    closeness — the product's path, through the rule set's YAML and the engine;
  hand-written SQL: one statement computing, per enterprise, pass or fail on the six
                    quantitative HNTE criteria (registered a year, IP owned, S&T staff ≥ 10%,
                    R&D ratio by sales bracket over 3 years, domestic R&D ≥ 60%, high-tech
                    revenue ≥ 60%), every row fetched: the floor.
The two must agree: the number of enterprises passing each of the six criteria is compared.
The goal is kechuang within 3× the hand-written query.
"""

import argparse
import datetime as dt
import time

from common import drop_indexes, fresh_database, timed

PROVINCE = "320000"
ON = dt.date(2026, 4, 1)
YEARS = range(2021, 2026)
QUANTITATIVE = ("registered", "owns-ip", "st-personnel", "rd-intensity", "rd-domestic", "high-tech-revenue")


def set_up(count: int) -> None:
    from django.db import connection, transaction

    from kechuang.registry.divisions import load_divisions
    from kechuang.registry.models import Location, Organisation, Region

    load_divisions(provinces=["32"])
    province = Region.objects.get(code=PROVINCE)
    districts = list(Region.objects.filter(path__startswith=province.path, level="district")
                     .order_by("code").values_list("pk", flat=True))
    started = time.perf_counter()
    with transaction.atomic():  # the benchmark's own bulk set-up, not a product path
        for offset in range(0, count, 10_000):
            orgs = [Organisation(key=f"bench-scr-{n:07d}", kind="enterprise", name_zh=f"基准筛选企业{n}有限公司",
                                 synthetic=True) for n in range(offset, min(offset + 10_000, count))]
            Organisation.objects.bulk_create(orgs)
            Location.objects.bulk_create(
                Location(organisation=org, region_id=districts[int(org.key[-7:]) % len(districts)],
                         valid_from=dt.date(2010, 1, 1)) for org in orgs)
    print(f"  {count:,} enterprises in {len(districts)} districts: {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    rows = load_figures(connection)
    print(f"  {rows:,} observations and {count:,} founding dates written and indexed: "
          f"{time.perf_counter() - started:.0f} s")


def load_figures(connection) -> int:
    from kechuang.registry.models import Milestone
    from kechuang.statistics.models import Metric, Observation

    metric = {m.code: m.pk for m in Metric.objects.all()}
    table = Observation._meta.db_table
    postgres = connection.vendor == "postgresql"
    date = "DATE " if postgres else ""
    now = "'2026-01-01 00:00:00+00:00'" if postgres else "'2026-01-01 00:00:00'"
    years = " UNION ALL ".join(f"SELECT '{y}' AS code, {date}'{y}-01-01' AS first_day, {date}'{y}-12-31' AS last_day, "
                               f"{y} AS y" for y in YEARS)
    # Integer arithmetic only, so that SQLite and PostgreSQL store the same values.
    revenue = "((o.id * 7919 + p.y * 104729) % 3000 + 100) * 100000"  # 10 million to 310 million yuan
    figures = {
        "operating-revenue": revenue,
        "rd-expenditure": f"{revenue} * (o.id % 80 + 10) / 1000",  # 1% to 8.9%
        "rd-expenditure-domestic": f"{revenue} * (o.id % 80 + 10) / 1000 * (o.id % 50 + 50) / 100",
        "net-assets": "(o.id % 500 + 100) * 100000 * (p.y - 2000) / 10",
        "technology-conversions": "(o.id + p.y) % 7",
        "employees": "o.id % 400 + 20",
        "st-personnel": "(o.id % 400 + 20) * (o.id % 25 + 1) / 100",
        "high-tech-product-revenue": f"{revenue} * (o.id % 60 + 40) / 100",
        "ip-class-1": "o.id % 3",
        "ip-class-2": "o.id % 7",
    }
    columns = ("organisation_id, metric_id, period, period_start, period_end, kind, value, entered_unit, status, "
               "comment, interface, created_at")
    statements = []
    for code, value in figures.items():
        gap = " WHERE NOT (o.id % 50 = 0 AND p.y = 2024)" if code == "rd-expenditure" else ""
        statements.append(
            f"INSERT INTO {table} ({columns}) SELECT o.id, {metric[code]}, p.code, p.first_day, p.last_day, 'actual', "
            f"{value}, '', 'approved', '', 'import', {now} FROM registry_organisation o, ({years}) p{gap}")
    milestones = Milestone._meta.db_table
    statements.append(
        f"INSERT INTO {milestones} (organisation_id, date, date_precision, kind, text_zh, text_en, created_at, "
        f"updated_at) SELECT o.id, CASE WHEN o.id % 40 = 0 THEN {date}'2025-06-01' ELSE {date}'2010-01-01' END, "
        f"'day', 'founded', '', '', {now}, {now} FROM registry_organisation o")
    with connection.cursor() as cursor:
        indexes = drop_indexes(cursor, connection, table)
        if postgres:
            cursor.execute("SET session_replication_role = replica")  # skip the FK triggers of the bulk load
        for statement in statements:
            cursor.execute(statement)
        if postgres:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '1GB'")
        for definition in indexes:
            cursor.execute(definition)
        cursor.execute("ANALYZE")
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]


def hand_written(connection, province_path: str) -> list[tuple]:
    """Per enterprise of the province, 1/0 for each of the six quantitative HNTE criteria, in one
    statement: 3-year sums need all three years (a missing year fails, as kechuang's "missing"
    is never a pass), and a ratio over zero fails (kechuang: cannot be computed)."""
    from kechuang.statistics.models import Metric

    m = {code: pk for code, pk in Metric.objects.values_list("code", "pk")}
    last, three = str(ON.year - 1), [str(y) for y in range(ON.year - 3, ON.year)]
    sql = f"""
        WITH ent AS (
            SELECT g.id FROM registry_organisation g
            JOIN registry_location l ON l.organisation_id = g.id AND l.valid_to IS NULL
            JOIN registry_region r ON r.id = l.region_id AND r.path LIKE %s
            WHERE g.kind = 'enterprise'
        ), f AS (
            SELECT o.organisation_id AS id,
                   SUM(CASE WHEN o.metric_id = {m['operating-revenue']} THEN o.value END) AS sales_3y,
                   COUNT(CASE WHEN o.metric_id = {m['operating-revenue']} THEN 1 END) AS sales_n,
                   SUM(CASE WHEN o.metric_id = {m['operating-revenue']} AND o.period = %s THEN o.value END) AS sales,
                   SUM(CASE WHEN o.metric_id = {m['rd-expenditure']} THEN o.value END) AS rd_3y,
                   COUNT(CASE WHEN o.metric_id = {m['rd-expenditure']} THEN 1 END) AS rd_n,
                   SUM(CASE WHEN o.metric_id = {m['rd-expenditure-domestic']} THEN o.value END) AS dom_3y,
                   COUNT(CASE WHEN o.metric_id = {m['rd-expenditure-domestic']} THEN 1 END) AS dom_n,
                   SUM(CASE WHEN o.metric_id = {m['employees']} THEN o.value END) AS emp,
                   SUM(CASE WHEN o.metric_id = {m['st-personnel']} THEN o.value END) AS st,
                   SUM(CASE WHEN o.metric_id = {m['high-tech-product-revenue']} THEN o.value END) AS ht,
                   SUM(CASE WHEN o.metric_id = {m['ip-class-1']} THEN o.value END) AS ip1,
                   SUM(CASE WHEN o.metric_id = {m['ip-class-2']} THEN o.value END) AS ip2
            FROM statistics_observation o
            WHERE o.organisation_id IN (SELECT id FROM ent) AND o.kind = 'actual' AND o.superseded_at IS NULL
                  AND o.status IN ('submitted', 'approved', 'published')
                  AND ((o.metric_id IN ({m['operating-revenue']}, {m['rd-expenditure']},
                                        {m['rd-expenditure-domestic']}) AND o.period IN (%s, %s, %s))
                       OR (o.metric_id IN ({m['employees']}, {m['st-personnel']}, {m['high-tech-product-revenue']},
                                           {m['ip-class-1']}, {m['ip-class-2']}) AND o.period = %s))
            GROUP BY o.organisation_id
        ), founded AS (
            SELECT organisation_id AS id, MIN(date) AS first FROM registry_milestone
            WHERE kind = 'founded' AND organisation_id IN (SELECT id FROM ent) GROUP BY organisation_id
        )
        SELECT ent.id,
               CASE WHEN founded.first <= %s THEN 1 ELSE 0 END,
               CASE WHEN f.ip1 + f.ip2 >= 1 THEN 1 ELSE 0 END,
               CASE WHEN f.emp > 0 AND f.st * 100 >= 10 * f.emp THEN 1 ELSE 0 END,
               CASE WHEN f.sales_n = 3 AND f.rd_n = 3 AND f.sales_3y > 0 AND f.sales IS NOT NULL
                         AND f.rd_3y * 100 >= f.sales_3y * (CASE WHEN f.sales <= 50000000 THEN 5
                                                                 WHEN f.sales <= 200000000 THEN 4 ELSE 3 END)
                    THEN 1 ELSE 0 END,
               CASE WHEN f.rd_n = 3 AND f.dom_n = 3 AND f.rd_3y > 0 AND f.dom_3y * 100 >= 60 * f.rd_3y THEN 1 ELSE 0 END,
               CASE WHEN f.sales > 0 AND f.ht * 100 >= 60 * f.sales THEN 1 ELSE 0 END
        FROM ent LEFT JOIN f ON f.id = ent.id LEFT JOIN founded ON founded.id = ent.id"""
    registered_by = ON.replace(year=ON.year - 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, [f"{province_path}%", last, *three, last, registered_by])
        return cursor.fetchall()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=20_000,
                        help="how many enterprises (default 20,000, a city; 200,000 is the province)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each, after a warm-up")
    parser.add_argument("--keep", action="store_true", help="reuse the database of an earlier run (no set-up)")
    arguments = parser.parse_args()
    fresh_database("bench_screening", keep=arguments.keep)
    from django.db import connection

    from kechuang.designations.rules.screening import find_rule_set, screen_region
    from kechuang.registry.models import Region

    print(f"kechuang screening benchmark, {connection.vendor}, {arguments.enterprises:,} enterprises")
    if not arguments.keep:
        set_up(arguments.enterprises)
    province = Region.objects.get(code=PROVINCE)
    rule_set = find_rule_set("hnte", ON)

    def ours():
        pool = screen_region(rule_set, province, ON)
        return len(pool.results)

    def floor():
        return len(hand_written(connection, province.path))

    print("the HNTE pool of the province, screened on 2026-04-01")
    mine = timed("kechuang (every criterion, ranked)", ours, arguments.repeat)
    hand = timed("hand-written SQL (six quantitative criteria)", floor, arguments.repeat)
    print(f"  {'ratio kechuang / hand-written':<62} {mine / hand:10.2f}")

    pool = screen_region(rule_set, province, ON)
    counted = {code: 0 for code in QUANTITATIVE}
    for screening in pool.results:
        for outcome in screening.outcomes:
            if outcome.criterion.code in counted and outcome.status == "pass":
                counted[outcome.criterion.code] += 1
    rows = hand_written(connection, province.path)
    by_sql = {code: sum(row[index + 1] for row in rows) for index, code in enumerate(QUANTITATIVE)}
    print("  passing, kechuang vs hand-written:", ", ".join(f"{code} {counted[code]:,}/{by_sql[code]:,}"
                                                          for code in QUANTITATIVE))
    assert counted == by_sql, "kechuang and the hand-written query disagree"
    print(f"  closest: {pool.results[0].organisation.key} {pool.results[0].overall.closeness[:2]}; "
          f"furthest: {pool.results[-1].organisation.key} {pool.results[-1].overall.closeness[:2]}")


if __name__ == "__main__":
    main()

"""Statistics benchmark: a city's monthly figures imported from CSV, against a bare load of the same file.

    .venv/bin/python benchmarks/statistics_bench.py                       # 20,000 enterprises: 12 million rows
    .venv/bin/python benchmarks/statistics_bench.py --enterprises 1667    # about 1 million rows
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_bench_stats \
        .venv/bin/python benchmarks/statistics_bench.py

It builds its own database (var/bench_stats.sqlite3, or the DATABASE_URL given, which it
drops and recreates), loads Jiangsu's cities and districts, registers the enterprises in
Nantong's districts, and writes a long CSV file (统一社会信用代码, 指标, 期间, 数值, 单位): every
enterprise, every month of `--years` years up to 2023-12 (single months, not cumulative
ranges), `--metrics` metrics (four of them parts of another, generated at or below their
whole). The file is deterministic for a given seed and size.

Timed: kechuang's import of the file (import_observations, every check, one transaction),
the same file again (every figure unchanged, nothing written), and the practical ceiling on
the same database: PostgreSQL's COPY of the file into an unindexed table of five text
columns, or on SQLite an executemany of its rows into one, in one transaction.
"""

import argparse
import csv
import datetime as dt
import random
import resource
import time
from pathlib import Path

from common import ROOT, fresh_database

#: (code, name as the file writes it, unit, part of). Wholes come before their parts: the
#: generator draws a part as a share of the whole of the same row group.
METRICS = [
    ("industrial-output", "工业总产值", "万元", None),
    ("high-tech-output", "高新技术产业产值", "万元", "industrial-output"),
    ("operating-revenue", "营业收入", "万元", None),
    ("main-business-revenue", "主营业务收入", "万元", "operating-revenue"),
    ("rd-expenditure", "研发费用", "万元", None),
    ("rd-expenditure-domestic", "境内研发费用", "万元", "rd-expenditure"),
    ("employees", "从业人员", "人", None),
    ("rd-personnel", "研发人员", "人", "employees"),
    ("invention-patents", "有效发明专利", "件", None),
    ("total-assets", "资产总额", "万元", None),
]
LAST_YEAR = 2023  # every month ends before the benchmark runs: actual figures of the past only
HEADER = ["统一社会信用代码", "指标", "期间", "数值", "单位"]


def uscc_of(number: int, district: str) -> str:
    """A valid code (both check characters) for enterprise `number` registered in `district`."""
    from kechuang.registry import uscc

    return uscc.make(f"91{district}", f"{number:08d}")


def generate(path: Path, enterprises: list[tuple[str, str]], years: int, metric_count: int, seed: int) -> int:
    """Write the file row by row (never the whole of it in memory); returns the data rows written.

    Each enterprise's figures walk from month to month within ±15%, far inside the
    importer's 10,000× unit mix-up check; a part is a share (20–90%) of its whole, rounded
    down, so part <= whole holds; money in 万元 with two decimals, counts whole.
    """
    metrics = METRICS[:metric_count]
    codes = {code for code, *_ in metrics}
    months = [f"{year}-{month:02d}" for year in range(LAST_YEAR - years + 1, LAST_YEAR + 1) for month in range(1, 13)]
    rng = random.Random(seed)
    rows = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        for usccode, _ in enterprises:
            level = {code: rng.uniform(50, 50_000) for code, _, unit, _ in metrics if unit == "万元"}
            level |= {"employees": rng.uniform(20, 2000), "invention-patents": rng.uniform(0, 80)}
            share = {code: rng.uniform(0.2, 0.9) for code, *_ in metrics}
            for month in months:
                values: dict[str, int | float] = {}
                for code, name, unit, whole in metrics:
                    if whole is not None and whole in codes:
                        share[code] = min(max(share[code] * rng.uniform(0.95, 1.05), 0.05), 1.0)
                        value = int(values[whole] * share[code] * 100) / 100 if unit == "万元" else \
                            int(values[whole] * share[code])
                    else:
                        level[code] = level.get(code, 100.0) * rng.uniform(0.85, 1.15)
                        value = round(level[code], 2) if unit == "万元" else round(level[code])
                    values[code] = value
                    writer.writerow([usccode, name, month, f"{value:.2f}" if unit == "万元" else str(value), unit])
                    rows += 1
    return rows


def set_up(count: int) -> list[tuple[str, str]]:
    """Jiangsu's cities and districts, and `count` enterprises in Nantong's districts, each with its
    current location. Returns (USCC, district code) of each enterprise."""
    from django.db import transaction

    from kechuang.registry.divisions import load_divisions
    from kechuang.registry.models import Location, Organisation, Region
    from kechuang.registry.search import build_search_text

    load_divisions(provinces=["32"])
    districts = list(Region.objects.filter(parent__code="320600").order_by("code").values_list("pk", "code"))
    enterprises = []
    with transaction.atomic():  # bulk set-up of the benchmark's data, not a product path (services write one by one)
        batch = 5000
        for offset in range(0, count, batch):
            orgs, homes = [], []
            for n in range(offset, min(offset + batch, count)):
                region_id, code = districts[n % len(districts)]
                name_zh, name_en = f"基准统计企业{n}有限公司", f"Bench Statistics Enterprise {n} Co Ltd (demo)"
                orgs.append(Organisation(key=f"bench-stats-{n:07d}", kind="enterprise", name_zh=name_zh,
                                         name_en=name_en, uscc=uscc_of(n, code), synthetic=True,
                                         search_text=build_search_text([name_zh, name_en])))
                homes.append(region_id)
                enterprises.append((orgs[-1].uscc, code))
            Organisation.objects.bulk_create(orgs)
            Location.objects.bulk_create(Location(organisation=org, region_id=region_id, valid_from=dt.date(2010, 1, 1))
                                         for org, region_id in zip(orgs, homes, strict=True))
    return enterprises


def peak_memory() -> str:
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"  # ru_maxrss is in KiB on Linux


def report(label: str, rows: int, seconds: float, extra: str = "") -> None:
    print(f"  {label:<44} {rows:>12,} rows {seconds:9.1f} s {rows / seconds:>10,.0f} rows/s  {extra}")


def kechuang_import(path: Path, expect_written: int) -> float:
    from kechuang.statistics.importer import import_observations

    start = time.perf_counter()
    outcome = import_observations(path, accept_warnings=False)  # as the operator: by=None
    seconds = time.perf_counter() - start
    if outcome.status != "done" or outcome.written != expect_written:
        problems = "; ".join(str(problem) for problem in [*outcome.errors[:5], *outcome.warnings[:5]])
        raise SystemExit(f"the import did not go through: {outcome.message}; {outcome.summary()}; {problems}")
    print(f"    {outcome.summary()}")
    return seconds


def bare_load(path: Path) -> float:
    """The same file loaded with nothing but the database's own bulk path, into a table without
    index or constraint, in one transaction: the practical ceiling."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_bare_observations")
        cursor.execute("CREATE TABLE bench_bare_observations (uscc text, metric text, period text, value text, "
                       "unit text)")
    start = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor, open(path, "rb") as handle:
                with cursor.cursor.copy("COPY bench_bare_observations FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                    while block := handle.read(1024 * 1024):
                        copy.write(block)
        else:
            raw = connection.connection  # the sqlite3 connection itself, without Django's wrapper
            with open(path, encoding="utf-8", newline="") as handle:
                rows = csv.reader(handle)
                next(rows)
                raw.executemany("INSERT INTO bench_bare_observations VALUES (?, ?, ?, ?, ?)", rows)
    seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_bare_observations")
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--enterprises", type=int, default=20_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--metrics", type=int, default=10, choices=range(1, len(METRICS) + 1), metavar="1-10")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench-observations.csv")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the file --out names")
    parser.add_argument("--no-reimport", action="store_true", help="skip the second import of the same file")
    args = parser.parse_args()
    fresh_database("bench_stats")

    from django.db import connection

    start = time.perf_counter()
    enterprises = set_up(args.enterprises)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    version = connection.Database.sqlite_version if connection.vendor == "sqlite" else connection.pg_version
    print(f"database: {connection.vendor} {version}; enterprises: {args.enterprises:,}; "
          f"set-up {time.perf_counter() - start:.0f} s")
    if args.skip_generate:
        with open(args.out, encoding="utf-8") as handle:
            rows = sum(1 for _ in handle) - 1
    else:
        start = time.perf_counter()
        rows = generate(args.out, enterprises, args.years, args.metrics, args.seed)
        print(f"  generated {args.out} ({args.out.stat().st_size / 1024 / 1024:,.0f} MB) in "
              f"{time.perf_counter() - start:.0f} s")
    expected = args.enterprises * args.years * 12 * args.metrics
    if rows != expected:
        raise SystemExit(f"{args.out} holds {rows:,} rows, not the {expected:,} of these arguments: generate it again")

    seconds = kechuang_import(args.out, rows)
    report("kechuang import (checks included)", rows, seconds, f"peak RSS {peak_memory()}")
    bare = bare_load(args.out)
    what = "COPY into an unindexed table" if connection.vendor == "postgresql" else "executemany into a plain table"
    report(f"bare {what}", rows, bare)
    print(f"  ratio kechuang / bare: {bare / seconds:.1%}")
    if not args.no_reimport:
        seconds = kechuang_import(args.out, 0)
        report("kechuang import again (all unchanged)", rows, seconds, f"peak RSS {peak_memory()}")


if __name__ == "__main__":
    main()

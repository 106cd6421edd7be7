"""Bulletins benchmark: how long a bulletin takes to compute, render, write and publish.

    .venv/bin/python benchmarks/bulletins_bench.py                # SQLite, var/bench_bulletins.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_bench_bulletins .venv/bin/python benchmarks/bulletins_bench.py
    .venv/bin/python benchmarks/bulletins_bench.py --city 20000   # and Nantong at city scale beside the demo

The database: the Tongzhou demo (`kechuang demo`), optionally with Nantong at city scale as the
indicators benchmark builds it. Measured, median of several runs after a warm-up: the shipped
half-year template for Tongzhou 2023H1 (and for Nantong with --city) — gathering its figures,
facts and chart series through the indicators engine; rendering the documents in both
languages; each writer (HTML, PDF, Word, Markdown) in each language; a whole publication (every
file in both languages and the open data, one transaction); and the "would change" check a
published bulletin's page runs. Goals (issue 9): a preview in under a second, so an editor can
try a change; a publication in under 10 seconds.
"""

import argparse
import sys
import time
from pathlib import Path

from common import fresh_database, once, timed

sys.path.insert(0, str(Path(__file__).resolve().parent))
TONGZHOU, CITY = "320612", "320600"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="reuse the database of an earlier run")
    parser.add_argument("--city", type=int, default=0, help="also build Nantong with this many enterprises")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    fresh_database("bench_bulletins", keep=args.keep)
    from django.core.management import call_command

    from kechuang.registry.models import Organisation

    if not Organisation.objects.exists():
        started = time.perf_counter()
        call_command("demo", verbosity=0)
        print(f"  the Tongzhou demo (with its published bulletin): {time.perf_counter() - started:.0f} s")
        if args.city:
            import indicators_bench

            indicators_bench.set_up(CITY, args.city)
    regions = [TONGZHOU] + ([CITY] if args.city else [])
    for code in regions:
        measure(code, args.repeat)


def measure(code: str, repeat: int) -> None:
    from kechuang.bulletins import services, templating, writers
    from kechuang.registry.models import Region
    from kechuang.statistics.periods import Period

    region, period = Region.objects.get(code=code), Period.parse("2023H1")
    template = services.find_template("half-year")
    print(f"\n{region.name_zh} ({code}) {period.code}, template {template.code}")
    inputs = timed("gather: figures, facts and chart series (indicators engine)",
                   lambda: len(templating.gather(template.spec, region, period).values), repeat)
    inputs = templating.gather(template.spec, region, period)
    documents = {}
    for lang in ("zh", "en"):
        timed(f"render the document, {lang}", lambda lang=lang: len(templating.render(inputs, lang).figures), repeat)
        documents[lang] = templating.render(inputs, lang)
    for fmt in ("html", "md", "docx", "pdf"):
        for lang in ("zh", "en"):
            timed(f"write {fmt}, {lang}", lambda fmt=fmt, lang=lang: f"{len(writers.write(documents[lang], fmt)):,} B",
                  3 if fmt == "pdf" else repeat)
    timed("preview: gather and render both languages", lambda: len(services.preview(template, region, period)),
          repeat)
    bulletin = services.bulletin_for(template, region, Period.parse("2019H1"))
    version = once("publish: every file in both languages, the open data, one transaction",
                   lambda: services.publish(bulletin, note="benchmark" if bulletin.versions.exists() else ""))
    print(f"    version {version.number}: {version.files.count()} files, "
          f"{sum(f.size for f in version.files.all()):,} bytes")
    timed("would change (a published bulletin's page)", lambda: len(services.would_change(version)), repeat)


if __name__ == "__main__":
    main()

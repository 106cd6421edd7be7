"""Load drill: 50 users at once against the app served as in production, on PostgreSQL.

    make load-drill                                        # installs locust (.[load]) and runs this
    .venv/bin/python benchmarks/load_drill.py [--users 50] [--minutes 5] [--city 20000] [--keep]

It builds a PostgreSQL database of its own (DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/kechuang_drill_load, dropped and recreated unless --keep):
the Tongzhou demo with its published bulletin, and with --city Nantong at city scale beside it
as the indicators benchmark builds it (N enterprises, 260 figures each). It serves the app as
`make run` does — gunicorn (3 workers, or --workers) in production mode on a loopback port —
then runs locust headless (benchmarks/locustfile.py): the public's pages, indicator API
queries, the bureau's lists and enterprises' submissions, mixed by weight, ramping up to
--users over the first 10 seconds and holding for --minutes. A warm-up run of the same users
(--warm-up seconds, default 60) goes first against the freshly started server and is reported
apart: it is what a restart costs, while every worker computes its tables for the first time;
the measured run is the server as it runs for days. It prints, from locust's
statistics, per request kind and for pages and indicator queries as a whole: requests,
failures, throughput, p50/p95/p99, against the goals of issue 10 (zero errors; p95 under
300 ms for pages and under 100 ms for indicator queries on a 2-core machine).
"""

import argparse
import csv
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from common import ROOT, fresh_database

sys.path.insert(0, str(Path(__file__).resolve().parent))
DATABASE = "postgres://postgres@127.0.0.1:5432/kechuang_drill_load"
PORT = 8791
GOALS_MS = {"page": 300, "api": 100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--city", type=int, default=0, help="also build Nantong with this many enterprises")
    parser.add_argument("--keep", action="store_true", help="reuse the database of an earlier run")
    parser.add_argument("--warm-up", type=float, default=60, metavar="SECONDS",
                        help="a first run, reported apart, before the measured one (0: none)")
    args = parser.parse_args()
    locust = shutil.which("locust", path=str(ROOT / ".venv" / "bin")) or shutil.which("locust")
    if locust is None:
        sys.exit("locust is not installed: `make load-drill` installs it (pip install -c constraints-load.txt -e '.[load]')")
    os.environ.setdefault("DATABASE_URL", DATABASE)
    fresh_database("drill_load", keep=args.keep)
    build(args.city)
    tokens = ",".join(f"{name}:{token(name)}" for name in ("analyst", "zhongkeyi"))
    out = ROOT / "var" / "load_drill"
    out.mkdir(parents=True, exist_ok=True)
    server = serve(args.workers)
    try:
        if args.warm_up:
            print(f"\nwarm-up: {args.users} users for {args.warm_up:.0f} s against the freshly started server "
                  "(every worker computes its tables for the first time)")
            swarm(locust, args.users, args.warm_up, tokens, out / "warm_up")
            report(out / "warm_up_stats.csv")
        started = time.perf_counter()
        swarm(locust, args.users, args.minutes * 60, tokens, out / "run")
        print(f"\n{args.users} users for {time.perf_counter() - started:.0f} s, {args.workers} gunicorn workers, "
              f"database {os.environ['DATABASE_URL'].rsplit('/', 1)[1]}{f', city {args.city:,}' if args.city else ''}"
              f"{', after the warm-up' if args.warm_up else ''}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    report(out / "run_stats.csv")


def swarm(locust: str, users: int, seconds: float, tokens: str, csv_prefix: Path) -> None:
    """One locust run, headless, ramping up to `users` over its first 10 seconds."""
    subprocess.run([locust, "-f", str(ROOT / "benchmarks" / "locustfile.py"), "--headless",
                    "-u", str(users), "-r", str(max(1, users // 10)), "-t", f"{int(seconds)}s",
                    "--host", f"http://127.0.0.1:{PORT}", "--csv", str(csv_prefix), "--only-summary"],
                   env={**os.environ, "LOAD_TOKENS": tokens}, check=False, stdout=subprocess.DEVNULL)


def build(city: int) -> None:
    from django.core.management import call_command

    from kechuang.registry.models import Organisation

    if Organisation.objects.exists():
        return
    started = time.perf_counter()
    call_command("demo", verbosity=0, stdout=open(os.devnull, "w"))
    print(f"  the Tongzhou demo, with its bulletin: {time.perf_counter() - started:.0f} s")
    if city:
        import indicators_bench

        indicators_bench.set_up("320600", city)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def token(username: str) -> str:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=get_user_model().objects.get(username=username))[0].key


def serve(workers: int) -> subprocess.Popen:
    env = {**os.environ, "KECHUANG_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(50),
           "LOG_LEVEL": "WARNING", "ALLOWED_HOSTS": "127.0.0.1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([str(ROOT / ".venv" / "bin" / "kechuang"), "collectstatic", "--no-input", "--verbosity", "0"],
                   env=env, check=True)
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "kechuang.wsgi:application",
                               "--bind", f"127.0.0.1:{PORT}", "--workers", str(workers)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(60):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not answer /healthz within 30 s")


def report(path: Path) -> None:
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    print(f"\n{'request':<52} {'count':>7} {'fail':>5} {'req/s':>6} {'p50':>6} {'p95':>6} {'p99':>6}  goal")
    for row in rows:
        name = row["Name"]
        kind = "page" if name.startswith("page") else "api" if name.startswith("api: one") or name.startswith(
            "api: three") else ""
        goal = GOALS_MS.get(kind)
        p95 = float(row["95%"] or 0)
        verdict = "" if goal is None or row["Name"] == "Aggregated" else ("met" if p95 < goal else f"NOT met ({goal} ms)")
        print(f"{name[:52]:<52} {row['Request Count']:>7} {row['Failure Count']:>5} "
              f"{float(row['Requests/s']):>6.1f} {row['50%']:>6} {row['95%']:>6} {row['99%']:>6}  {verdict}")


if __name__ == "__main__":
    main()

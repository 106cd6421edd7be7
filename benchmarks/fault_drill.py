"""Fault drills (issue 10): the app served as in production is killed with SIGKILL in the middle
of its multi-step writes, and PostgreSQL is restarted under load.

    .venv/bin/python benchmarks/fault_drill.py                    # everything: 11 minutes on 2 cores
    .venv/bin/python benchmarks/fault_drill.py --kills 3 --restarts 0 --keep
    .venv/bin/python benchmarks/fault_drill.py --only import,approval --keep

It builds a PostgreSQL database of its own (`kechuang_drill_faults`, dropped and recreated:
migrate, the demo, 500 drill enterprises, projects under review), then runs what
`make run` runs: gunicorn on a loopback port with KECHUANG_ENV=production (a key generated
for the run) and `kechuang db_worker`, each in a process group of its own, and drills:

- import: a statistics file of 60,000 figures uploaded through the web as the bureau, imported by
  the worker. `--kills` times, the server and the worker are killed (SIGKILL, every process)
  at a random moment of the import, or, in every fifth round, while the import's transaction is
  writing (a table lock held by the drill stops it there). After each kill: the job's figures are
  all there or none, every enterprise still has its one current figure; after the restart, what
  the job's page says.
- bulletin: `POST /api/v1/bulletins/{id}/publish/` of the demo's bulletin, killed while it renders
  its files or inside its transaction; a version holds its 10 files or does not exist.
- approval: bursts of `POST /api/v1/projects/{key}/approve/` (six at once), killed at a random
  moment or inside the transaction; a project's state is that of its last recorded step,
  approved at most once, the applicant told exactly when it was approved.
- restart: requests in flight (health check, an API list, a page, a figure posted) while
  PostgreSQL is stopped for a few seconds and started again (`pg_ctlcluster`, as root): what the
  outage is answered with, whether the app and the worker recover without a restart.

The PostgreSQL restart breaks every other session on the machine (other people's test runs):
`--restarts` is at most 2 and each outage lasts `--outage` seconds (default 4). The in-process
parts that run in CI are tests/reliability/test_faults.py and test_concurrency.py.

Exit status 1 when a drill finds a partial write (or an app that does not recover); the
findings of its first runs (a job shown as running forever, 500 instead of 503, a worker that exits with
the database) are printed as FINDING. Figures: var/drill_faults/results.json, every request of
a restart in restart-<n>.json, the app's log in app.log.
"""

import argparse
import csv
import io
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from common import ROOT, fresh_database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kechuang_drill_faults"
DATA = ROOT / "var" / "drill_faults"
BIN = ROOT / ".venv" / "bin"
PASSWORD = "kechuang-demo"  # the demo's logins (kechuang/demo/builder.py)
TONGZHOU = "320612"
ENTERPRISES = 500  # x 10 metrics x 12 months: 60,000 figures a file
FILES_PER_VERSION = 10  # html, pdf, docx, md in zh and en; csv and json
MAX_RESTARTS = 2


# --- the app, as `make run` starts it ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class App:
    """gunicorn and the task worker, each in a process group of its own (so that a SIGKILL
    reaches every gunicorn worker, as `kill -9` of a whole service does)."""

    def __init__(self, url: str, workers: int):
        self.port, self.workers = free_port(), workers
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {name: value for name, value in os.environ.items()
                    if name not in ("DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY_FILE")}
        self.env.update(DATABASE_URL=url, KECHUANG_ENV="production", SECRET_KEY=secrets.token_urlsafe(50),
                        KECHUANG_DATA_DIR=str(DATA), LOG_LEVEL="WARNING", LOG_FORMAT="text",
                        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend")
        self.web = self.worker = None
        self.log = open(DATA / "app.log", "ab")  # open for the life of the drill

    def start(self) -> float:
        started = time.monotonic()
        self.web = subprocess.Popen(
            [BIN / "gunicorn", "kechuang.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--timeout", "120",
             # gunicorn's control socket has one default path per user: another gunicorn on the
             # machine (a load drill) would be told to do what this one is told.
             "--no-control-socket"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.start_worker()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the app did not answer /healthz within 60 s: see {self.log.name}")

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [BIN / "kechuang", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.5"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL to every process of the server and the worker: no handler runs."""
        for process in (self.web, self.worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for process in (self.web, self.worker):
            if process is not None:
                process.wait()
                try:  # the gunicorn workers, orphaned for the moment their master takes to die
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def stop(self) -> None:
        for process in (self.web, self.worker):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in (self.web, self.worker):
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


class User:
    """A browser's session: signed in through the login form, CSRF token at hand."""

    def __init__(self, app: App, username: str):
        self.app, self.username = app, username
        self.http = requests.Session()
        self.http.headers["Accept-Language"] = "en"
        page = self.http.get(f"{app.base}/accounts/login/", timeout=30)
        answer = self.http.post(f"{app.base}/accounts/login/", timeout=30, allow_redirects=False, data={
            "username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.http.cookies["csrftoken"]},
            headers={"Referer": page.url})
        if answer.status_code != 302:
            raise SystemExit(f"{username} could not sign in: {answer.status_code}")

    def post(self, path: str, timeout: float = 120, **kwargs) -> requests.Response:
        headers = {"X-CSRFToken": self.http.cookies["csrftoken"], "Referer": f"{self.app.base}{path}"}
        return self.http.post(f"{self.app.base}{path}", headers=headers, timeout=timeout, **kwargs)

    def get(self, path: str, timeout: float = 30, **kwargs) -> requests.Response:
        return self.http.get(f"{self.app.base}{path}", timeout=timeout, **kwargs)


# --- the database, seen from the drill -----------------------------------------------------------


def raw_connection(url: str, **options):
    import psycopg

    return psycopg.connect(url, **options)


def quiet(url: str, timeout: float = 120) -> float:
    """Wait until no backend of the killed app is left: a backend whose client died ends (and
    rolls back) only when it next reads from its socket, or finishes a COMMIT it had started."""
    django_reset()  # the drill's own session is not the app's
    started = time.monotonic()
    with raw_connection(url, autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            (left,) = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND pid <> pg_backend_pid() AND backend_type = 'client backend'").fetchone()
            if not left:
                return time.monotonic() - started
            time.sleep(0.1)
    raise SystemExit("the killed app's database sessions did not end within two minutes")


class TableLock:
    """Hold `table` in SHARE mode: the app's next write to it waits inside its transaction,
    which is where the drill kills it."""

    def __init__(self, url: str, table: str):
        self.conn = raw_connection(url)
        self.conn.execute(f"LOCK TABLE {table} IN SHARE MODE")

    def wait_for_writer(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with raw_connection(self.conn.info.dsn, autocommit=True) as probe:
            while time.monotonic() < deadline:
                (waiting,) = probe.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE NOT l.granted AND a.datname = current_database()").fetchone()
                if waiting:
                    return True
                time.sleep(0.05)
        return False

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def django_reset() -> None:
    """The drill's own connection did not survive a kill's aftermath or a restart: start afresh."""
    from django.db import connections

    connections.close_all()


# --- the world -----------------------------------------------------------------------------------


def build_world(url: str, keep: bool) -> None:
    from django.core.management import call_command

    fresh_database("drill_faults", keep=keep)
    from kechuang.registry.models import Organisation

    if not Organisation.objects.filter(key="zhongkeyi-nantong").exists():
        started = time.monotonic()
        call_command("demo", stdout=io.StringIO())
        print(f"  demo world built in {time.monotonic() - started:.0f} s")
    drill_enterprises()


def drill_enterprises() -> list[str]:
    """The drill's enterprises in Tongzhou (the demo bureau's district), with their USCC."""
    import datetime as dt

    from django.db import transaction

    from kechuang.registry import uscc
    from kechuang.registry.models import Location, Organisation, Region
    from kechuang.registry.search import build_search_text

    existing = list(Organisation.objects.filter(key__startswith="drill-fault-").order_by("key")
                    .values_list("uscc", flat=True)[:ENTERPRISES])
    if existing:
        return existing
    tongzhou = Region.objects.get(code=TONGZHOU)
    with transaction.atomic():  # the drill's own bulk set-up, as the benchmarks do theirs
        orgs = []
        for n in range(ENTERPRISES):
            name_zh, name_en = f"演练企业{n}有限公司", f"Drill Enterprise {n} Co Ltd (demo)"
            orgs.append(Organisation(key=f"drill-fault-{n:05d}", kind="enterprise", name_zh=name_zh, name_en=name_en,
                                     uscc=uscc.make(f"91{TONGZHOU}", f"DF{n:06d}"), synthetic=True,
                                     search_text=build_search_text([name_zh, name_en])))
        Organisation.objects.bulk_create(orgs)
        Location.objects.bulk_create(Location(organisation=org, region=tongzhou, valid_from=dt.date(2010, 1, 1))
                                     for org in orgs)
    return [org.uscc for org in orgs]


def figures_file(round_number: int) -> tuple[Path, int]:
    """The drill's file for one round: every drill enterprise, 10 metrics, the 12 months of 2023;
    different values each round, so that a complete import writes every row."""
    from statistics_bench import generate

    enterprises = [(code, TONGZHOU) for code in drill_enterprises()]
    path = DATA / f"figures-{round_number:03d}.csv"
    rows = generate(path, enterprises, years=1, metric_count=10, seed=round_number)
    return path, rows


def projects_under_review(count: int) -> list[str]:
    """Projects of the drill enterprises walked to `under_review` (no reviewer assigned, so the
    bureau may approve them at once)."""
    from kechuang.programs import services
    from kechuang.registry.models import Organisation

    applicant = Organisation.objects.get(key="zhongkeyi-nantong")  # the demo's firm with a user to tell
    keys = []
    for n in range(count):
        project = services.create_project(applicant, title_zh=f"演练项目{n}", kind="innovation",
                                          key=f"drill-{secrets.token_hex(6)}")
        services.take(project, "submit")
        services.take(project, "start_review")
        keys.append(project.key)
    return keys


# --- drill 1a: the import ------------------------------------------------------------------------


def upload(bureau: User, path: Path) -> int:
    with open(path, "rb") as handle:
        answer = bureau.post("/statistics/import/", allow_redirects=False, files={"file": (path.name, handle)},
                             data={"region": TONGZHOU, "accept_warnings": "on"})
    match = re.search(r"/statistics/import/(\d+)/", answer.headers.get("Location", ""))
    if answer.status_code != 302 or not match:
        raise SystemExit(f"the upload was not accepted: {answer.status_code} {answer.text[:300]}")
    return int(match.group(1))


def job_state(job_id: int) -> tuple[str, int, int]:
    """The job's status, the figures it wrote (rows with its import_job) and the current figures of
    the drill enterprises."""
    from kechuang.statistics.models import ImportJob, Observation

    django_reset()
    status = ImportJob.objects.get(pk=job_id).status
    written = Observation.objects.filter(import_job_id=job_id).count()
    current = Observation.objects.current().filter(organisation__key__startswith="drill-fault-",
                                                   organisation__key__lt=f"drill-fault-{ENTERPRISES:05d}").count()
    return status, written, current


def page_status(bureau: User, job_id: int) -> str:
    """What the job's page shows (the status class of its status line)."""
    answer = bureau.get(f"/statistics/import/{job_id}/")
    match = re.search(r'class="status (\w+)"', answer.text)
    return match.group(1) if match else f"HTTP {answer.status_code}"


def wait_for_job(job_id: int, timeout: float) -> str:
    from kechuang.statistics.models import ImportJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        django_reset()
        status = ImportJob.objects.get(pk=job_id).status
        if status not in ("pending", "running"):
            return status
        time.sleep(0.25)
    return status


def file_values(path: Path) -> dict[tuple[str, str, str], str]:
    """The figures of a drill file: (USCC, metric, month) -> the value as written."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        next(rows)
        return {(code, metric, month): value for code, metric, month, value, _ in rows}


def drill_import(app: App, url: str, kills: int, rng: random.Random, results: dict) -> None:
    bureau = User(app, "bureau")
    path, rows = figures_file(0)
    started = time.monotonic()
    job = upload(bureau, path)
    status = wait_for_job(job, 600)
    duration = time.monotonic() - started
    if status != "done":
        raise SystemExit(f"the calibration import did not go through: {status} (see its page, job {job})")
    print(f"  calibration: {rows:,} figures imported through the worker in {duration:.1f} s")
    stored = file_values(path)  # what the database holds now, as the file said it
    outcomes, problems, stuck = Counter(), [], Counter()
    for round_number in range(1, kills + 1):
        path, rows = figures_file(round_number)
        wanted = file_values(path)
        # A figure equal to the one stored is not written again (the importer's "unchanged"):
        # a complete import writes exactly the figures that differ.
        changed = sum(value != stored.get(key) for key, value in wanted.items())
        in_transaction = round_number % 5 == 0
        lock = TableLock(url, "statistics_observation") if in_transaction else None
        job = upload(bureau, path)
        if lock:
            reached = lock.wait_for_writer(timeout=duration * 5 + 30)
            moment = "in the write" if reached else "never reached the write"
        else:
            delay = rng.uniform(0, duration * 1.3)
            time.sleep(delay)
            moment = f"after {delay:.1f} s"
        app.kill()
        if lock:
            lock.release()
        quiet(url)
        status, written, current = job_state(job)
        if written not in (0, changed) or current != rows:
            problems.append(f"round {round_number}: {written} of {changed} figures written, {current} current")
        app.start()
        shown = page_status(bureau, job)
        status, written, current = job_state(job)  # as the page left it: opening it settles an interrupted job
        if shown in ("pending", "running"):
            wait_for_job(job, 5 if shown == "running" else duration * 3 + 60)  # a queued job runs now
            status, written, current = job_state(job)
            shown = page_status(bureau, job)
            if written not in (0, changed) or current != rows:
                problems.append(f"round {round_number} after the restart: {written} of {changed} written, "
                                f"{current} current")
        if written == changed:
            stored = wanted
        if status == "running":
            stuck["complete" if written else "absent"] += 1
        outcome = f"{'complete' if written == changed else 'absent'}, job {status}"
        outcomes[outcome] += 1
        print(f"  import round {round_number:2d}: killed {moment}: {outcome}; the job's page says {shown!r}")
    results["import"] = {"figures": rows, "seconds": round(duration, 1), "kills": kills,
                         "outcomes": dict(outcomes), "partial": problems, "left_running": dict(stuck)}
    if stuck:
        print(f"  FINDING: {sum(stuck.values())} jobs whose worker was killed stay 'running' after the restart, "
              f"{stuck['complete']} of them with every figure imported (the page keeps polling; the DBTaskResult "
              "stays RUNNING; nothing marks them failed or done)")


# --- drill 1b: publishing a bulletin -------------------------------------------------------------


def bulletin_state(bulletin_id: int) -> tuple[int, list[str]]:
    """The bulletin's versions, and what is wrong with them (a version without its 10 files,
    a gap in the numbers, a published_at that is not its latest version's)."""
    from django.db.models import Count, Max

    from kechuang.bulletins.models import Bulletin, BulletinVersion

    django_reset()
    bulletin = Bulletin.objects.get(pk=bulletin_id)
    versions = list(BulletinVersion.objects.filter(bulletin=bulletin).annotate(files_held=Count("files"))
                    .order_by("number").values_list("number", "files_held", "published_at"))
    problems = [f"v{number} holds {held} files" for number, held, _ in versions if held != FILES_PER_VERSION]
    if [number for number, *_ in versions] != list(range(1, len(versions) + 1)):
        problems.append(f"version numbers {[number for number, *_ in versions]}")
    latest = BulletinVersion.objects.filter(bulletin=bulletin).aggregate(at=Max("published_at"))["at"]
    if bulletin.published_at != latest:
        problems.append(f"published_at {bulletin.published_at} is not the latest version's {latest}")
    return len(versions), problems


def drill_bulletin(app: App, url: str, kills: int, rng: random.Random, results: dict) -> None:
    from kechuang.bulletins.models import Bulletin

    bureau = User(app, "bureau")
    bulletin_id = Bulletin.objects.get(template__code="half-year", region__code=TONGZHOU, period="2023H1").pk
    before, problems = bulletin_state(bulletin_id)
    started = time.monotonic()
    answer = bureau.post(f"/api/v1/bulletins/{bulletin_id}/publish/", json={"note": "drill: calibration"})
    duration = time.monotonic() - started
    if answer.status_code != 201:
        raise SystemExit(f"the calibration publication failed: {answer.status_code} {answer.text[:300]}")
    print(f"  calibration: version {answer.json()['number']} published in {duration:.1f} s")
    outcomes, partial = Counter(), []
    for round_number in range(1, kills + 1):
        before, _ = bulletin_state(bulletin_id)
        in_transaction = round_number % 5 == 0
        lock = TableLock(url, "bulletins_bulletinfile") if in_transaction else None
        request = threading.Thread(target=swallow, args=(bureau.post, f"/api/v1/bulletins/{bulletin_id}/publish/"),
                                   kwargs={"json": {"note": f"drill: round {round_number}"}}, daemon=True)
        request.start()
        if lock:
            moment = "in the transaction" if lock.wait_for_writer(timeout=duration * 5 + 30) else "never reached it"
        else:
            delay = rng.uniform(0, duration * 1.3)
            time.sleep(delay)
            moment = f"after {delay:.2f} s"
        app.kill()
        if lock:
            lock.release()
        quiet(url)
        after, problems = bulletin_state(bulletin_id)
        partial += [f"round {round_number}: {problem}" for problem in problems]
        app.start()
        shown = bureau.get(f"/api/v1/bulletins/{bulletin_id}/").json().get("latest_version")
        if shown != after:
            partial.append(f"round {round_number}: the API shows version {shown}, the database holds {after}")
        outcome = "complete" if after == before + 1 else "absent" if after == before else f"{after - before} versions"
        outcomes[outcome] += 1
        print(f"  bulletin round {round_number:2d}: killed {moment}: {outcome} (versions {before} -> {after})")
    results["bulletin"] = {"seconds": round(duration, 1), "kills": kills, "outcomes": dict(outcomes),
                           "partial": partial}


def swallow(call, *args, **kwargs):
    """A request whose server is about to be killed: its connection error is the expected end."""
    try:
        return call(*args, **kwargs)
    except requests.RequestException:
        return None


# --- drill 1c: approving projects ----------------------------------------------------------------


def project_problems(keys: list[str]) -> tuple[Counter, list[str]]:
    """Each project's state against its recorded steps and the applicant's decision notices."""
    from kechuang.notifications.models import Notification
    from kechuang.programs.models import Project

    django_reset()
    states, problems = Counter(), []
    for project in Project.objects.filter(key__in=keys).prefetch_related("transitions"):
        steps = sorted(project.transitions.all(), key=lambda step: (step.at, step.pk))
        states[project.state] += 1
        if steps[-1].to_state != project.state:
            problems.append(f"{project.key}: state {project.state}, last step to {steps[-1].to_state}")
        if any(later.from_state != earlier.to_state for earlier, later in zip(steps, steps[1:], strict=False)):
            problems.append(f"{project.key}: its steps do not chain")
        approvals = sum(step.name == "approve" for step in steps)
        notices = Notification.objects.filter(key__startswith=f"project:{project.pk}:approve:").count()
        if approvals > 1 or (approvals == 1) != (project.state == "approved"):
            problems.append(f"{project.key}: {approvals} approvals, state {project.state}")
        if (notices > 0) != (approvals == 1):
            problems.append(f"{project.key}: approved {approvals} times, {notices} notices")
    return states, problems


def drill_approval(app: App, url: str, kills: int, burst: int, rng: random.Random, results: dict) -> None:
    bureau = User(app, "bureau")
    (calibration,) = projects_under_review(1)
    started = time.monotonic()
    answer = bureau.post(f"/api/v1/projects/{calibration}/approve/", json={})
    duration = time.monotonic() - started
    if answer.status_code != 200:
        raise SystemExit(f"the calibration approval failed: {answer.status_code} {answer.text[:300]}")
    print(f"  calibration: one approval answered in {duration * 1000:.0f} ms")
    totals, partial, all_keys = Counter(), [], [calibration]
    for round_number in range(1, kills + 1):
        keys = projects_under_review(burst)
        all_keys += keys
        in_transaction = round_number % 5 == 0
        lock = TableLock(url, "programs_projecttransition") if in_transaction else None
        requests_ = [threading.Thread(target=swallow, args=(bureau.post, f"/api/v1/projects/{key}/approve/"),
                                      kwargs={"json": {}}, daemon=True) for key in keys]
        for request in requests_:
            request.start()
        if lock:
            moment = "in the transaction" if lock.wait_for_writer(timeout=30) else "never reached it"
        else:
            delay = rng.uniform(0, duration * burst / app.workers * 1.2)
            time.sleep(delay)
            moment = f"after {delay * 1000:.0f} ms"
        app.kill()
        if lock:
            lock.release()
        quiet(url)
        states, problems = project_problems(keys)
        partial += [f"round {round_number}: {problem}" for problem in problems]
        app.start()
        shown = Counter(bureau.get(f"/api/v1/projects/{key}/").json()["state"] for key in keys)
        if shown != states:
            partial.append(f"round {round_number}: the API shows {dict(shown)}, the database {dict(states)}")
        totals.update(states)
        print(f"  approval round {round_number:2d}: killed {moment}: {dict(states)}")
    _, problems = project_problems(all_keys)
    partial += [f"at the end: {problem}" for problem in problems]
    results["approval"] = {"ms": round(duration * 1000), "kills": kills, "approvals_sent": kills * burst,
                           "states": dict(totals), "partial": sorted(set(partial))}


# --- drill 2: restarting PostgreSQL --------------------------------------------------------------


class Load:
    """Threads sending requests in a loop; every answer recorded with its moment."""

    def __init__(self, app: App, threads: int):
        self.app, self.records, self.running = app, [], True
        self.lock = threading.Lock()
        self.users = [User(app, "bureau") for _ in range(threads)]  # a session each: requests' are not shared
        self.threads = [threading.Thread(target=self.loop, args=(n,), daemon=True) for n in range(threads)]
        self.counter = 0

    def requests_of(self, n: int):
        value, bureau = 100 + n, self.users[n]
        return [
            ("healthz", lambda: requests.get(f"{self.app.base}/healthz", timeout=30)),
            ("api list", lambda: bureau.get("/api/v1/organisations/?page_size=5")),
            ("page", lambda: bureau.get("/statistics/import/")),
            ("api write", lambda: bureau.post("/api/v1/observations/", timeout=30, json={
                "organisation": f"drill-fault-{n:05d}", "metric": "invention-patents", "period": "2023-12",
                "value": str(value + self.next()), "unit": "件"})),
        ]

    def next(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def loop(self, n: int) -> None:
        calls = self.requests_of(n)
        while self.running:
            for name, call in calls:
                started = time.monotonic()
                try:
                    answer = call()
                    record = (name, answer.status_code, answer.headers.get("Content-Type", ""),
                              answer.headers.get("Retry-After"), answer.text[:160])
                except requests.RequestException as error:
                    record = (name, type(error).__name__, "", None, str(error)[:160])
                with self.lock:
                    self.records.append((started, time.monotonic(), *record))

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        for thread in self.threads:
            thread.join(timeout=60)


def pg_ctl(action: str) -> float:
    started = time.monotonic()
    command = ["pg_ctlcluster", "15", "main", action] + (["-m", "fast"] if action == "stop" else [])
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return time.monotonic() - started


def drill_restart(app: App, url: str, restarts: int, outage: float, results: dict) -> None:
    if not Path("/etc/postgresql/15/main").exists():
        print("  skipped: no PostgreSQL 15 cluster 'main' here to restart")
        return
    bureau = User(app, "bureau")
    findings, runs = [], []
    for run in range(1, min(restarts, MAX_RESTARTS) + 1):
        web_pid, worker = app.web.pid, app.worker
        with Load(app, threads=6) as load:
            time.sleep(3)
            moments = {"stop": time.monotonic()}
            pg_ctl("stop")
            moments["stopped"] = time.monotonic()
            time.sleep(outage)
            moments["start"] = time.monotonic()
            pg_ctl("start")
            moments["up"] = time.monotonic()
            time.sleep(10)
        django_reset()
        records = sorted(load.records)
        (DATA / f"restart-{run}.json").write_text(json.dumps(
            {"moments": moments, "records": records}, ensure_ascii=False, default=str))
        phases = {  # by the moment a request was sent
            "stopping": [r for r in records if r[0] < moments["stopped"] and r[1] > moments["stop"]],
            "down": [r for r in records if moments["stopped"] <= r[0] < moments["start"]],
            "starting": [r for r in records if moments["start"] <= r[0] < moments["up"]],
            "after": [r for r in records if r[0] >= moments["up"] + 3],
        }
        answers = {phase: dict(sorted(Counter(f"{r[2]} {r[3]}" for r in rows).items()))
                   for phase, rows in phases.items() if phase != "after"}
        window = [r for r in records if r[1] > moments["stop"] and r[0] < moments["up"]]
        slowest = max((r[1] - r[0] for r in window), default=0)
        first_ok = min((r[1] for r in records if r[0] >= moments["up"] and r[3] in (200, 201)), default=None)
        recovered = bool(phases["after"]) and all(r[3] in (200, 201) for r in phases["after"])
        server_errors = [r for r in window if r[3] == 500]
        tracebacks = [r for r in server_errors if "Traceback" in r[6]]
        worker_alive = worker.poll() is None
        run_result = {
            "stop_s": round(moments["stopped"] - moments["stop"], 1), "down_s": round(outage, 1),
            "start_s": round(moments["up"] - moments["start"], 1), "answers": answers,
            "retry_after_on_503": sorted({str(r[5]) for r in window if r[3] == 503}),
            "bodies_of_500": sorted({r[6][:60] for r in server_errors}),
            "healthz_during": sorted({r[6][:80] for r in phases["down"] if r[2] == "healthz"}),
            "slowest_s": round(slowest, 2),
            "first_success_after_start_s": round(first_ok - moments["up"], 2) if first_ok else None,
            "recovered": recovered, "requests_after": len(phases["after"]),
            "gunicorn_restarted": app.web.pid != web_pid or app.web.poll() is not None, "worker_alive": worker_alive,
        }
        runs.append(run_result)
        print(f"  restart {run}: stop {run_result['stop_s']} s, down {outage} s, start {run_result['start_s']} s; "
              f"slowest request {run_result['slowest_s']} s; recovered without a restart: {recovered} (first "
              f"success {run_result['first_success_after_start_s']} s after the start); worker alive: {worker_alive}")
        for phase, counted in answers.items():
            print(f"    answers while {phase}: {counted}")
        if server_errors:
            findings.append(f"{len(server_errors)} requests answered 500 during the outage "
                            f"({len(tracebacks)} with a traceback) instead of 503 with Retry-After")
        if slowest > 20:
            findings.append(f"a request took {slowest:.0f} s during the outage (a hang)")
        if not recovered:
            findings.append("the app did not recover by itself within 3 s of PostgreSQL's start")
        if not worker_alive:
            findings.append(f"the task worker exited during the outage (exit status {worker.returncode}): "
                            "nothing restarts it, uploaded files wait for ever")
            app.start_worker()
        job = upload(bureau, figures_file(0)[0])
        after_status = wait_for_job(job, 600)
        run_result["import_after_restart"] = after_status
        print(f"  restart {run}: an import uploaded after the restart ended {after_status!r}"
              + ("" if worker_alive else " (by a worker the drill started again)"))
    results["restart"] = {"runs": runs, "findings": sorted(set(findings))}
    for finding in sorted(set(findings)):
        print(f"  FINDING: {finding}")


# --- the command ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"a PostgreSQL database (default {DEFAULT_URL})")
    parser.add_argument("--keep", action="store_true", help="reuse the database an earlier run left")
    parser.add_argument("--kills", type=int, default=10, help="kills per scenario (default 10)")
    parser.add_argument("--burst", type=int, default=6, help="approvals sent at once in each round (default 6)")
    parser.add_argument("--restarts", type=int, default=1, choices=range(MAX_RESTARTS + 1),
                        help="PostgreSQL restarts (default 1, at most 2: it breaks everyone's sessions)")
    parser.add_argument("--outage", type=float, default=4, help="seconds PostgreSQL stays down (default 4)")
    parser.add_argument("--only", default="import,bulletin,approval,restart", help="drills to run, comma-separated")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, as `make run`)")
    parser.add_argument("--seed", type=int, default=10)
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("the fault drills need PostgreSQL (table locks, pg_stat_activity, a restart)")
    drills = set(args.only.split(","))
    DATA.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["KECHUANG_DATA_DIR"] = str(DATA)
    started = time.monotonic()
    print(f"fault drills on {args.database_url} ({os.cpu_count()} cores)")
    build_world(args.database_url, args.keep)
    subprocess.run([BIN / "kechuang", "collectstatic", "--no-input", "--verbosity", "0"], cwd=ROOT, check=True,
                   env={**os.environ, "DJANGO_SETTINGS_MODULE": "kechuang.settings"})
    rng, results = random.Random(args.seed), {}
    app = App(args.database_url, args.workers)
    print(f"  the app answers on {app.base} after {app.start():.1f} s")
    try:
        for name, run in (("import", lambda: drill_import(app, args.database_url, args.kills, rng, results)),
                          ("bulletin", lambda: drill_bulletin(app, args.database_url, args.kills, rng, results)),
                          ("approval", lambda: drill_approval(app, args.database_url, args.kills, args.burst, rng,
                                                              results)),
                          ("restart", lambda: drill_restart(app, args.database_url, args.restarts, args.outage,
                                                            results))):
            if name in drills:
                print(f"{name}:")
                drill_started = time.monotonic()
                run()
                results.setdefault(name, {})["drill_seconds"] = round(time.monotonic() - drill_started)
    finally:
        app.stop()
    results["seconds"] = round(time.monotonic() - started)
    (DATA / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    partial = [problem for name in ("import", "bulletin", "approval") for problem in results.get(name, {}).get("partial", [])]
    broken = partial + [f for f in results.get("restart", {}).get("findings", []) if "did not recover" in f]
    print(f"done in {results['seconds']} s; results in {DATA / 'results.json'}")
    for problem in broken:
        print(f"  BROKEN: {problem}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())

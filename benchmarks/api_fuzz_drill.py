"""The API fuzzing drill, long run (issue 10): every operation of the OpenAPI schema, as
each demo role and anonymously, a few hundred generated requests each.

    .venv/bin/python benchmarks/api_fuzz_drill.py                       # SQLite, var/bench_api_fuzz.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_bench_api_fuzz \\
        .venv/bin/python benchmarks/api_fuzz_drill.py
    .venv/bin/python benchmarks/api_fuzz_drill.py --cases 300 --only 'organisations' --roles bureau,anonymous
    .venv/bin/python benchmarks/api_fuzz_drill.py --seed 4 --findings var/api-fuzz-findings.txt

It builds its own database (dropped and recreated, as the other benchmarks do) with the
demo world and its published bulletin, and runs the engine of the CI test
(tests/reliability/fuzz_support.py) with `--cases` requests per operation and role (100 by
default: 800 an operation, for its 8 roles; about an hour and a half on SQLite on a 2-core
machine), from a random seed it prints (`--seed` replays a run). Each case runs in a
savepoint rolled back after it, so the database ends as it began.

Printed: one row per operation and role (cases, findings of known bugs, new findings, the
statuses answered, seconds), then every new finding grouped with a curl command that
reproduces it, and a summary by kind. `--findings FILE` writes every finding, known ones
included. The exit status is 1 when there is a new finding.
"""

import argparse
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

from common import ROOT, fresh_database

sys.path.insert(0, str(ROOT))
DATABASE = "bench_api_fuzz"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100, help="requests per operation and role (default 100)")
    parser.add_argument("--only", help="a pattern of the operations to run, e.g. 'GET /api/v1/organisations'")
    parser.add_argument("--roles", help="comma-separated, of: anonymous,demo,bureau,analyst,zone,park,"
                                        "zhongkeyi,reviewer (default all)")
    parser.add_argument("--seed", type=int, help="replay the run of this seed")
    parser.add_argument("--findings", type=Path, help="write every finding (known bugs included) to this file")
    parser.add_argument("--keep", action="store_true", help="reuse the database a previous run built")
    args = parser.parse_args()

    fresh_database(DATABASE, keep=args.keep)

    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test.utils import override_settings

    from kechuang.demo.builder import DEMO_PASSWORD, build_demo, demo_present
    from tests.reliability import fuzz_support as fuzz

    roles = fuzz.ROLES
    if args.roles:
        wanted = [name.strip() for name in args.roles.split(",")]
        roles = tuple(None if name == "anonymous" else name for name in wanted)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)

    started = time.perf_counter()
    if not (args.keep and demo_present()):
        for _ in build_demo(bulletins=True):
            pass
    print(f"kechuang API fuzzing drill: {connection.vendor}, {args.cases} cases per operation and role, "
          f"seed {seed} (demo built in {time.perf_counter() - started:.0f} s)")

    # The demo's passwords are hashed with Argon2 (slow on purpose); the drill sends
    # thousands of logins, so the run uses a fast hasher. The login path is the same.
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    tallies: dict[tuple[str, str | None], fuzz.Tally] = {}
    with override_settings(PASSWORD_HASHERS=fast), transaction.atomic():
        for user in get_user_model().objects.filter(username__in=[r for r in roles if r]):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        with fuzz.in_process_application() as app:
            schema = fuzz.load_schema(app)
            values = fuzz.DemoValues()
            chosen = [op for op in fuzz.operations(schema)
                      if not args.only or re.search(args.only, fuzz.label_of(op))]
            print(f"{len(chosen)} operations × {len(roles)} roles\n")
            print(f"{'operation':<72} {'role':<10} {'cases':>5} {'known':>5} {'new':>4}  statuses   seconds")
            for operation in chosen:
                label = fuzz.label_of(operation)
                for role in roles:
                    tally = fuzz.fuzz_operation(operation, role, app, values, args.cases, seed=seed)
                    tallies[(label, role)] = tally
                    statuses = " ".join(f"{status}×{count}" for status, count in sorted(
                        tally.statuses.items(), key=lambda item: str(item[0])))
                    known = sum(tally.kinds(known=True).values())
                    new = sum(tally.kinds(known=False).values())
                    print(f"{label:<72} {fuzz.role_name(role):<10} {tally.cases:>5} {known:>5} {new:>4}  "
                          f"{statuses}  {tally.seconds:.1f}", flush=True)
        transaction.set_rollback(True)

    findings = [finding for tally in tallies.values() for finding in tally.findings]
    new = [finding for finding in findings if fuzz.known_bug(finding) is None]
    cases = sum(tally.cases for tally in tallies.values())
    elapsed = time.perf_counter() - started
    print(f"\n{len(tallies)} operation × role pairs, {cases} cases in {elapsed:.0f} s; "
          f"{len(findings)} findings, {len(new)} not explained by a known bug")
    by_bug = Counter(getattr(fuzz.known_bug(f), "name", "NEW: " + f.kind) for f in findings)
    for name, count in by_bug.most_common():
        print(f"  {count:>7}  {name}")
    statuses = Counter()
    for tally in tallies.values():
        statuses.update(tally.statuses)
    print("  statuses: " + ", ".join(f"{status}×{count}" for status, count in sorted(
        statuses.items(), key=lambda item: str(item[0]))))
    if new:
        print("\nNew findings:\n" + fuzz.describe(new, limit=200))
    if args.findings:
        args.findings.parent.mkdir(parents=True, exist_ok=True)
        args.findings.write_text(fuzz.describe(findings, limit=100_000) + "\n", encoding="utf-8")
        print(f"\nevery finding written to {args.findings}")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())

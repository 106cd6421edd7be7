"""The bad-files drill, long run (issue 10): the broken files of tests/reliability/bad_files.py
at full size, each sent to its importer in a process of its own, with what it cost.

    .venv/bin/python benchmarks/bad_files_drill.py                      # SQLite, var/bench_bad_files.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kechuang_bench_bad_files \\
        .venv/bin/python benchmarks/bad_files_drill.py
    .venv/bin/python benchmarks/bad_files_drill.py --rows 200000 --bomb-gb 1 --only figures

It builds its own database (dropped and recreated, as the other benchmarks do): the metric
catalogue, Jiangsu's divisions and enough enterprises in Nantong for `--rows` figures (five
metrics, 200 months each). The files are written to a temporary folder and removed.

Each case runs in a child process (`--case NAME`), under a memory ceiling (`--memory-gb`,
RLIMIT_AS) and a time limit (`--timeout`), so that a file that blows up is measured and
killed without taking the machine with it. Printed, one line a case: the file, its size, the
outcome (refused with the first problem, imported, killed), seconds, the peak resident memory
of the child above what it held before the case (VmHWM, reset before the case), and whether
any table but the import's own record changed ("nothing written" must say yes).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, fresh_database

sys.path.insert(0, str(ROOT))
DATABASE = "bench_bad_files"
METRICS = [("工业总产值", "万元"), ("营业收入", "万元"), ("研发费用", "万元"), ("资产总额", "万元"), ("有效发明专利", "件")]
MONTHS_PER_ENTERPRISE = 200
LONG = ["统一社会信用代码", "指标", "期间", "数值", "单位"]
LIST_HEADER = ["企业名称", "统一社会信用代码", "批次", "认定日期"]
#: The tables an import may add a row to whatever happens: its own record of what it did.
OWN_RECORDS = {"statistics.ImportJob", "designations.DesignationImport"}


# --- the cases ---------------------------------------------------------------------------------


def cases(args) -> list[tuple[str, str, str]]:
    """(name, importer, file name) of every case, in the order run."""
    rows = f"{args.rows:,}".replace(",", "_")
    return [
        ("figures-last-row-bad", "statistics", f"figures-{rows}-rows-last-bad.csv"),
        ("figures-zip-bomb", "statistics", f"figures-bomb-{args.bomb_gb}gb.xlsx"),
        ("figures-zip-bomb-lying", "statistics", f"figures-bomb-{args.bomb_gb}gb-declared-100kb.xlsx"),
        ("figures-shared-strings", "statistics", f"figures-{args.strings:,}-shared-strings.xlsx".replace(",", "_")),
        ("figures-truncated-big-xlsx", "statistics", "figures-100000-rows-truncated.xlsx"),
        ("figures-10mb-cell-csv", "statistics", "figures-10mb-cell.csv"),
        ("figures-10mb-cell-xlsx", "statistics", "figures-10mb-cell.xlsx"),
        ("list-last-row-bad", "designations", f"list-{rows}-rows-last-bad.csv"),
        ("list-100mb", "designations", "list-100mb.csv"),
        ("list-zip-bomb", "designations", f"list-bomb-{args.bomb_gb}gb.xlsx"),
        ("world-last-entry-bad", "world", "world-20000-organisations-last-bad.yaml"),
        ("world-cut-between-entries", "world", "world-20000-organisations-declared-cut-at-15000.yaml"),
        ("world-billion-laughs", "world", "world-billion-laughs-9-levels.yaml"),
        ("attachment-zip-bomb", "attachments", f"attachment-bomb-{args.bomb_gb}gb.xlsx"),
    ]


def build(name: str, path: Path, args) -> None:
    """Write the file of case `name` to `path`."""
    from tests.reliability import bad_files as corpus

    gigabytes = int(args.bomb_gb * 1024) * corpus.MEGABYTE
    usccs = enterprises()
    first = usccs[0]
    good = [LONG, [first, "工业总产值", "2023-06", "100", "万元"]]
    if name == "figures-last-row-bad":
        per = len(METRICS) * MONTHS_PER_ENTERPRISE
        months = corpus.months(MONTHS_PER_ENTERPRISE)
        rows = ([uscc, metric, month, "100", unit] for uscc in usccs[: -(-args.rows // per)]
                for metric, unit in METRICS for month in months)
        _with_last_row(path, LONG, rows, args.rows, lambda row: [*row[:2], "2023-13", *row[3:]])
    elif name in ("figures-zip-bomb", "list-zip-bomb", "attachment-zip-bomb"):
        path.write_bytes(corpus.zip_bomb_xlsx(gigabytes))
    elif name == "figures-zip-bomb-lying":
        path.write_bytes(corpus.zip_bomb_xlsx(gigabytes, declared_bytes=100_000))
    elif name == "figures-shared-strings":
        path.write_bytes(corpus.many_strings_xlsx(args.strings, good))
    elif name == "figures-truncated-big-xlsx":
        months = corpus.months(MONTHS_PER_ENTERPRISE)
        rows = [[uscc, metric, month, 100, unit] for uscc in usccs[:100] for metric, unit in METRICS
                for month in months]
        path.write_bytes(corpus.truncated(corpus.xlsx_bytes([LONG, *rows])))
    elif name == "figures-10mb-cell-csv":
        path.write_bytes(corpus.csv_bytes([*good, [first, corpus.big_cell_text(10), "2023-06", "1", "万元"]]))
    elif name == "figures-10mb-cell-xlsx":
        path.write_bytes(corpus.xlsx_with_text([*good, [first, "工业总产值", "2023-07", "1", "BIG"]], "BIG",
                                               corpus.big_cell_text(10)))
    elif name == "list-last-row-bad":
        rows = ([f"南通演练名单企业{number}有限公司", "", "5", "2023-06-28"] for number in range(args.rows))
        _with_last_row(path, LIST_HEADER, rows, args.rows, lambda row: [*row[:3], "2023-06-31"])
    elif name == "list-100mb":
        line = ("南通演练名单企业有限公司,,5,2023-06-28\n" * 1000).encode()
        with open(path, "wb") as handle:
            handle.write(",".join(LIST_HEADER).encode() + b"\n")
            while handle.tell() < 100 * corpus.MEGABYTE:
                handle.write(line)
    elif name == "world-last-entry-bad":
        path.write_text(corpus.organisations_world(20_000), encoding="utf-8")
    elif name == "world-cut-between-entries":
        lines = corpus.organisations_world(20_000, bad_last=False, declared=True).splitlines(keepends=True)
        path.write_text("".join(lines[: 3 + 15_000]), encoding="utf-8")
    elif name == "world-billion-laughs":
        path.write_text(corpus.billion_laughs(levels=9), encoding="utf-8")
    else:
        raise ValueError(name)


def _with_last_row(path: Path, header, rows, count: int, spoil) -> None:
    """`count` rows of `rows` to a CSV file, the last one spoilt."""
    from itertools import islice

    from tests.reliability import bad_files as corpus

    taken = list(islice(rows, count)) if count <= 100_000 else None
    if taken is not None:
        taken[-1] = spoil(taken[-1])
        corpus.write_rows(path, header, taken)
        return

    def spoilt():
        previous = None
        for row in islice(rows, count):
            if previous is not None:
                yield previous
            previous = row
        yield spoil(previous)

    corpus.write_rows(path, header, spoilt())


def run(name: str, importer: str, path: Path) -> str:
    """Send the file to its importer; the outcome as one line."""
    if importer == "statistics":
        from kechuang.statistics.importer import import_observations

        outcome = import_observations(path)
        first = outcome.errors[0] if outcome.errors else ""
        return f"{outcome.status}: {first}" if outcome.refused else f"{outcome.status}: {outcome.summary()}"
    if importer == "designations":
        from kechuang.designations.importer import import_list

        outcome = import_list(path, designation_type="little-giant", region="320612")
        first = outcome.problems[0] if outcome.problems else ""
        return f"{outcome.record.status}: {first}" if outcome.refused else f"{outcome.record.status}: " \
                                                                          f"{outcome.summary()}"
    if importer == "world":
        from kechuang.world.errors import WorldError
        from kechuang.world.loader import load_file

        try:
            load_file(path)
        except WorldError as error:
            return f"refused: {error.errors[0][1]} ({len(error.errors)} problems)"
        return "loaded"
    if importer == "attachments":
        from django.core.files import File

        from kechuang.programs.attachments import attach
        from kechuang.programs.models import Project
        from kechuang.programs.services import ProgrammeError

        with open(path, "rb") as handle:
            try:
                row = attach(Project.objects.get(key="drill-project"), File(handle, name=path.name))
            except ProgrammeError as error:
                return f"refused: {error.reason}"
        return f"stored as an attachment ({row.content_type}), never unpacked"
    raise ValueError(importer)


# --- the database ------------------------------------------------------------------------------


def enterprises() -> list[str]:
    from kechuang.registry.models import Organisation

    return list(Organisation.objects.filter(key__startswith="bench-stats-").order_by("key")
                .values_list("uscc", flat=True))


def set_up(rows: int) -> None:
    """The catalogue, Jiangsu's divisions, the enterprises the figures need, a project to attach to."""
    import datetime as dt

    import statistics_bench

    from kechuang.programs import services as programs
    from kechuang.registry.models import Organisation, Region
    from kechuang.statistics.services import load_catalogue

    load_catalogue()
    needed = -(-rows // (len(METRICS) * MONTHS_PER_ENTERPRISE))
    statistics_bench.set_up(max(needed, 100))
    tongzhou = Region.objects.get(code="320612")
    call = programs.open_call(tongzhou, key="drill-2023", programme_zh="演练项目", categories=["普通"],
                              opens=dt.datetime(2023, 1, 1, 9, tzinfo=programs.SHANGHAI),
                              closes=dt.datetime(2023, 3, 15, 17, tzinfo=programs.SHANGHAI))
    applicant = Organisation.objects.filter(key__startswith="bench-stats-").order_by("key").first()
    programs.create_project(applicant, call=call, category="普通", title_zh="演练项目", key="drill-project")


# --- one case, in its own process ---------------------------------------------------------------


def _status(field: str) -> int:
    """A /proc/self/status figure in kB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(name: str, importer: str, path: Path) -> None:
    from tests.reliability import bad_files as corpus

    before = corpus.table_counts()
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM: the peak is the case's own
    start_rss = _status("VmRSS")
    started = time.perf_counter()
    try:
        outcome = run(name, importer, path)
    except MemoryError:
        outcome = "killed: MemoryError (the memory ceiling)"
    except Exception as error:  # noqa: BLE001 - a crash is a finding, reported as such
        outcome = f"CRASHED: {type(error).__name__}: {error}"
    seconds = time.perf_counter() - started
    peak = _status("VmHWM") - start_rss
    try:
        written = {label: count for label, count in corpus.changed(before, corpus.table_counts()).items()
                   if label not in OWN_RECORDS}
    except Exception as error:  # noqa: BLE001 - the database connection may be gone after a MemoryError
        written = {"unknown": str(error)}
    print(json.dumps({"outcome": outcome, "seconds": seconds, "peak_mb": peak / 1024, "written": written}))


def in_child(name: str, importer: str, path: Path, args) -> dict:
    def limits():
        ceiling = int(args.memory_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))

    command = [sys.executable, __file__, "--case", name, "--importer", importer, "--file", str(path)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, preexec_fn=limits,
                              env={**os.environ, "BENCH_KEEP": "1"})
    except subprocess.TimeoutExpired:
        return {"outcome": f"killed: still running after {args.timeout} s", "seconds": time.perf_counter() - started,
                "peak_mb": float("nan"), "written": {"unknown": "killed"}}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"outcome": f"killed: exit {done.returncode} ({last[:120]})", "seconds": time.perf_counter() - started,
                "peak_mb": float("nan"), "written": {"unknown": "killed"}}
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the one-error-in-the-last-row files")
    parser.add_argument("--bomb-gb", type=float, default=4, help="what the zip bombs unpack to, in GiB")
    parser.add_argument("--strings", type=int, default=8_000_000, help="shared strings of the workbook of two cells")
    parser.add_argument("--memory-gb", type=float, default=3, help="the memory ceiling of each case (RLIMIT_AS)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds before a case is killed")
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--importer", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        fresh_database(DATABASE, keep=True)
        child(args.case, args.importer, args.file)
        return
    fresh_database(DATABASE)
    started = time.perf_counter()
    set_up(args.rows)
    print(f"set-up: {time.perf_counter() - started:.0f} s ({os.environ.get('DATABASE_URL', 'sqlite')})")
    print(f"\n{'file':<46} {'size':>9} {'seconds':>8} {'peak MB':>8}  written  outcome")
    with tempfile.TemporaryDirectory(prefix="bad-files-") as folder:
        for name, importer, file_name in cases(args):
            if args.only not in name:
                continue
            path = Path(folder) / file_name
            build(name, path, args)
            result = in_child(name, importer, path, args)
            size = path.stat().st_size
            shown = f"{size / 1024**2:,.1f} MB" if size >= 1024**2 else f"{size / 1024:,.1f} KB"
            nothing = "nothing" if not result["written"] else json.dumps(result["written"], ensure_ascii=False)
            print(f"{file_name:<46} {shown:>9} {result['seconds']:8.1f} {result['peak_mb']:8.0f}  {nothing:<7}  "
                  f"{result['outcome'][:160]}", flush=True)
            path.unlink()


if __name__ == "__main__":
    main()

"""Run every benchmark and write the summary table into bench/README.md.

    .venv/bin/python bench/run_all.py            # full runs (make bench)
    .venv/bin/python bench/run_all.py --short    # CI-sized runs (make bench-short)

Needs DATABASE_URL (PostgreSQL); each benchmark runs in a database of its own
named after it (`<database>_bench_<name>`). Each benchmark prints its figures as
JSON and writes bench/results/<name>.json; the table lists each figure next to
its target. A short run checks that every benchmark still runs and writes
well-formed figures (the committed results and the README table are left as
they were); it exits non-zero if one crashed or wrote malformed or incomplete
JSON. Targets not met are reported in the table, not failed: these machines are
shared and noisy.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
README = BENCH / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

# name → [(figure key, target text, check)]
TARGETS = {
    "inventory": [
        ("reservations_per_s_spread", ">= 1000/s", lambda v: v >= 1000),
        ("reservations_per_s_hot", ">= 300/s", lambda v: v >= 300),
        ("oversold", "0", lambda v: v == 0),
        ("ledger_exact", "true", lambda v: v is True),
    ],
    "intake": [
        ("orders_per_s_single", ">= 200/s", lambda v: v >= 200),
        ("orders_per_s_batch", ">= 2000/s", lambda v: v >= 2000),
        ("queries_per_order", "<= 15", lambda v: v <= 15),
        ("ratio_to_floor", "(informative)", lambda v: True),
    ],
    "backoffice": [
        (
            "worst_list_or_detail_p95_ms",
            "< 150 ms (1M orders)",
            lambda v: v < 150,
        ),
        ("worst_dashboard_p95_ms", "< 300 ms (1M orders)", lambda v: v < 300),
        ("dashboard_charts_p95_ms", "(informative)", lambda v: True),
    ],
    "brokering": [
        ("seconds", "<= 10 s for 10,000 orders", lambda v: v <= 10),
        ("orders_per_s", ">= 1000/s", lambda v: v >= 1000),
        ("over_reserved", "0", lambda v: v == 0),
    ],
    "soak": [
        ("throughput_per_s", "(informative)", lambda v: True),
        ("http_5xx", "0", lambda v: v == 0),
        ("errors", "0", lambda v: v == 0),
        ("writes_p99_ms", "< 500 ms", lambda v: v < 500),
        ("web_rss_growth_pct", "< 10 %", lambda v: v < 10),
        ("worker_rss_growth_pct", "< 10 %", lambda v: v < 10),
    ],
}


class BenchmarkFailed(Exception):
    pass


def dedicated_database(name: str, *, reuse: bool) -> str:
    """The URL of a database of this benchmark's own, next to DATABASE_URL's.

    Benchmarks seed rows and count them: another benchmark's leftovers would skew
    their figures or make them refuse to run. The database is created afresh unless
    `reuse` (the back-office seed of a million orders is worth keeping).
    """
    url = urlsplit(os.environ["DATABASE_URL"])
    database = f"{url.path.lstrip('/')}_bench_{name}"
    server = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if exists and not reuse:
            connection.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        if not exists or not reuse:
            connection.execute(f'CREATE DATABASE "{database}"')
    return urlunsplit(url._replace(path=f"/{database}"))


def run(name: str, short: bool) -> dict | None:
    """Run one benchmark in its own database; its figures, or None if the script
    does not exist."""
    script = BENCH / f"{name}.py"
    if not script.exists():
        return None
    reuse = name == "backoffice" and not short
    env = {**os.environ, "DATABASE_URL": dedicated_database(name, reuse=reuse)}
    result_file = BENCH / "results" / f"{name}.json"
    result_file.unlink(missing_ok=True)
    command = [sys.executable, str(script)] + (["--short"] if short else [])
    print(f"== {name}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
        raise BenchmarkFailed(f"{name} exited with an error")
    print(f"== {name}: {time.monotonic() - started:.0f} s", flush=True)
    try:
        figures = json.loads(result_file.read_text())
    except (OSError, ValueError) as exc:
        raise BenchmarkFailed(f"{name} wrote no readable JSON: {exc}") from exc
    if not isinstance(figures, dict):
        raise BenchmarkFailed(f"{name} results are not a JSON object")
    missing = [key for key, _, _ in TARGETS[name] if key not in figures]
    if missing:
        raise BenchmarkFailed(f"{name} results lack {missing}")
    if figures.get("short", short) != short:
        raise BenchmarkFailed(f"{name} ignored --short")
    return figures


@contextmanager
def committed_results_kept():
    """Short runs overwrite bench/results/*.json: put the committed ones back."""
    saved = {path: path.read_bytes() for path in (BENCH / "results").glob("*.json")}
    try:
        yield
    finally:
        for path in (BENCH / "results").glob("*.json"):
            if path not in saved:
                path.unlink()
        for path, content in saved.items():
            path.write_bytes(content)


def table(results: dict[str, dict], short: bool) -> str:
    today = datetime.date.today().isoformat()
    python = platform.python_version()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {python}"
    rows = [
        "| benchmark | figure | target | value | met | date | machine |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, figures in results.items():
        if not TARGETS[name]:
            rows.append(
                f"| {name} | see `results/{name}.json` | in its docstring | | "
                f"| {today} | {machine} |"
            )
        for key, target, check in TARGETS[name]:
            value = figures.get(key)
            met = "yes" if value is not None and check(value) else "no"
            rows.append(
                f"| {name} | {key} | {target} | {value} | {met} | {today} | {machine} |"
            )
    mode = "short (CI-sized) runs" if short else "full runs"
    return f"Last `make bench` ({mode}):\n\n" + "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("Set DATABASE_URL to a PostgreSQL database.", file=sys.stderr)
        return 2
    results, failures = {}, []
    with committed_results_kept() if args.short else nullcontext():
        for name in TARGETS:
            try:
                figures = run(name, args.short)
            except BenchmarkFailed as exc:
                failures.append(str(exc))
                continue
            if figures is not None:
                results[name] = figures
    summary = table(results, args.short)
    if not args.short:
        text = README.read_text()
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        README.write_text(f"{head}{BEGIN}\n{summary}\n{END}{tail}")
    print(summary)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

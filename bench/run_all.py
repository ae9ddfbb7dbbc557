"""Run every benchmark and write the summary table into bench/README.md.

    .venv/bin/python bench/run_all.py            # full runs
    .venv/bin/python bench/run_all.py --short    # CI-sized runs

Needs DATABASE_URL (PostgreSQL). Each benchmark prints its figures as JSON and writes
bench/results/<name>.json; the table lists each figure next to its target.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

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
    "brokering": [
        ("seconds", "<= 10 s for 10,000 orders", lambda v: v <= 10),
        ("orders_per_s", ">= 1000/s", lambda v: v >= 1000),
        ("over_reserved", "0", lambda v: v == 0),
    ],
}


def run(name: str, short: bool) -> dict | None:
    script = BENCH / f"{name}.py"
    if not script.exists():
        return None
    command = [sys.executable, str(script)] + (["--short"] if short else [])
    print(f"== {name}: {' '.join(command)}", flush=True)
    subprocess.run(command, cwd=ROOT, check=True)
    return json.loads((BENCH / "results" / f"{name}.json").read_text())


def table(results: dict[str, dict], short: bool) -> str:
    today = datetime.date.today().isoformat()
    python = platform.python_version()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {python}"
    rows = [
        "| benchmark | figure | target | value | met | date | machine |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, figures in results.items():
        for key, target, check in TARGETS.get(name, []):
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
    results = {}
    for name in TARGETS:
        figures = run(name, args.short)
        if figures is not None:
            results[name] = figures
    summary = table(results, args.short)
    text = README.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    README.write_text(f"{head}{BEGIN}\n{summary}\n{END}{tail}")
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark and print one table: each figure next to its target.

    .venv/bin/python bench/run.py                  # everything (the lab ones take minutes)
    .venv/bin/python bench/run.py --skip-lab       # only what needs no lab
    .venv/bin/python bench/run.py --only cli_start tui_start
    .venv/bin/python bench/run.py --save bench-now.json --baseline bench-before.json
    .venv/bin/python bench/run.py --baseline bench/baseline.json   # against the last saved run

The client benchmarks and probe_load are called in this process (their `figures()`);
the other lab ones (lab_start, probe_detection_latency, probe_cpu, direct_probes) run
as their own scripts and their printed figures are read back. `--save` writes the
figures as JSON; `--baseline` shows a saved run's value next to each figure, to compare
before and after a change; bench/baseline.json is the last full run saved with the
project (its machine and load are in it). Figures are not pass/fail: a missed target is marked MISSED
and the exit code stays 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from figures import figure, machine, table

BENCH = Path(__file__).resolve().parent


def client_benchmarks(quick: bool) -> dict[str, Callable[[], list[dict]]]:
    """The benchmarks that need no lab: name -> a call returning its figures."""

    def cli_start() -> list[dict]:
        import cli_start

        return cli_start.figures(runs=5 if quick else 15)

    def cli_monitor() -> list[dict]:
        import cli_monitor

        return cli_monitor.figures(tests=50)

    def history_report() -> list[dict]:
        import history_report

        return history_report.figures(runs=50 if quick else 300)

    def tui_start() -> list[dict]:
        import tui_start

        return tui_start.figures(runs=3 if quick else 10)

    def tui_monitor() -> list[dict]:
        import tui_monitor

        return tui_monitor.figures(tasks=200, seconds=10 if quick else 30)

    return {
        "cli_start": cli_start,
        "cli_monitor": cli_monitor,
        "history_report": history_report,
        "tui_start": tui_start,
        "tui_monitor": tui_monitor,
    }


# The lab benchmarks: script arguments, and how to read each figure from what it prints
# (label, regex with a `value` group, unit, target).
LAB_BENCHMARKS: dict[str, tuple[list[str], list[tuple[str, str, str, tuple | None]]]] = {
    "lab_start": (
        ["--warm-runs", "2"],
        [
            (
                "lab cold start to 8 workers online",
                r"cold start #1: +(?P<value>[\d.]+) s",
                "s",
                None,
            ),
            (
                "lab warm start to 8 workers online (slowest)",
                r"warm start #\d+: +(?P<value>[\d.]+) s",
                "s",
                ("<=", 15),
            ),
            ("lab stop", r"warm start #\d+: .*stop +(?P<value>[\d.]+) s", "s", None),
        ],
    ),
    "probe_detection_latency": (
        ["--rounds", "4"],
        [
            (
                "server close -> probe detection (median)",
                r"server close \(PostgreSQL log\) -> probe detection.*median +(?P<value>[\d.]+)",
                "ms",
                ("<", 1000),
            ),
            (
                "server close -> probe detection (p95)",
                r"server close \(PostgreSQL log\) -> probe detection.*p95 +(?P<value>[\d.]+)",
                "ms",
                ("<", 1000),
            ),
        ],
    ),
    "probe_cpu": (
        ["--minutes", "2"],
        [
            (
                "idle probe CPU per probe-minute",
                r"mean: (?P<value>[\d.]+) CPU s per probe-minute",
                "s",
                ("<", 0.1),
            )
        ],
    ),
    "direct_probes": (
        ["--minutes", "2"],
        [
            (
                "direct run: client CPU per probe-minute (7 probes)",
                r"mean: (?P<value>[\d.]+) CPU s per probe-minute",
                "s",
                ("<", 0.1),
            ),
            (
                "direct run: client peak RSS (7 probes)",
                r"peak RSS: (?P<value>[\d.]+) MiB",
                "MiB",
                ("<=", 150),
            ),
        ],
    ),
}


def probe_load() -> list[dict]:
    import probe_load

    return probe_load.figures()


# Lab benchmarks whose figures() this process calls (they start and stop their own lab).
LAB_FIGURES: dict[str, Callable[[], list[dict]]] = {"probe_load": probe_load}


def run_lab_benchmark(name: str) -> list[dict]:
    """Run bench/NAME.py and read its figures from its output (the slowest when a line
    repeats: a target must hold for every run)."""
    arguments, readings = LAB_BENCHMARKS[name]
    print(f"[{name}] running bench/{name}.py {' '.join(arguments)} ...", file=sys.stderr)
    process = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *arguments],
        capture_output=True,
        text=True,
        cwd=BENCH,
        check=False,
    )
    found = []
    for label, pattern, unit, target in readings:
        values = [float(m["value"]) for m in re.finditer(pattern, process.stdout)]
        note = "" if values else f"not in its output (exit code {process.returncode})"
        found.append(figure(name, label, max(values) if values else None, unit, target, note))
    if process.returncode != 0:
        sys.stderr.write(process.stdout[-2000:] + process.stderr[-2000:])
    return found


def with_baseline(figures: list[dict], path: Path) -> list[dict]:
    before = {
        (item["benchmark"], item["figure"]): item["value"]
        for item in json.loads(path.read_text())["figures"]
    }
    return [
        {**item, "baseline": before.get((item["benchmark"], item["figure"]))} for item in figures
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-lab", action="store_true", help="skip the benchmarks that start a lab"
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs of the client benchmarks")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    parser.add_argument("--save", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--baseline", type=Path, help="a file written by --save, to compare")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    clients = client_benchmarks(options.quick)
    calls = {**clients, **LAB_FIGURES}
    lab = [*LAB_BENCHMARKS, *LAB_FIGURES]
    known = [*clients, *lab]
    names = [*clients, *([] if options.skip_lab else lab)]
    if options.only:
        if unknown := set(options.only) - set(known):
            parser.error(f"unknown benchmark(s) {sorted(unknown)}; known: {', '.join(known)}")
        names = [name for name in known if name in options.only]
    started = time.monotonic()
    at_start = machine()
    figures: list[dict] = []
    for name in names:
        print(f"[{name}] ...", file=sys.stderr, flush=True)
        try:
            with contextlib.redirect_stdout(sys.stderr):  # stdout: the table or JSON only
                figures += calls[name]() if name in calls else run_lab_benchmark(name)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not lose the rest
            traceback.print_exc()
            figures.append(figure(name, "(did not run)", None, "", note=f"failed: {exc!r}"))
    if options.baseline:
        figures = with_baseline(figures, options.baseline)
    document = {
        "machine_at_start": at_start,
        "machine_at_end": machine(),
        "seconds": round(time.monotonic() - started),
        "figures": figures,
    }
    if options.save:
        options.save.write_text(json.dumps(document, indent=1) + "\n")
    if options.json:
        print(json.dumps(document, indent=1))
        return
    print(table(figures))
    print(f"machine at the start: {at_start}; at the end: {document['machine_at_end']}")
    print(f"{len(names)} benchmark(s) in {document['seconds']} s")


if __name__ == "__main__":
    main()

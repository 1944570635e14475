"""Benchmark: the lab's cold start (migration) and warm start (cached cluster).

Prints the time from `rds_tui.lab.start()` to the API answering with all workers
online, and the time `stop()` takes. The cold start uses an empty template cache
(a temporary RDS_TUI_LAB_CACHE), the warm starts reuse what the cold one cached; the
user's own cache is never touched. Not a pass/fail test.

Usage: .venv/bin/python bench/lab_start.py [--workers N] [--warm-runs K]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from rds_tui import lab


def timed_start(directory: Path, workers: int) -> tuple[float, float, list[str]]:
    steps: list[str] = []
    started = time.monotonic()

    def progress(message: str) -> None:
        steps.append(f"{time.monotonic() - started:6.2f} s  {message}")

    state = lab.start(directory, lab.LabOptions(workers=workers), progress=progress)
    ready = time.monotonic() - started
    assert state.workers_online == workers, state.workers_online
    stopping = time.monotonic()
    lab.stop(directory)
    return ready, time.monotonic() - stopping, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--warm-runs", type=int, default=3)
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="rds-tui-bench-") as tmp:
        os.environ["RDS_TUI_LAB_CACHE"] = str(Path(tmp) / "cache")
        runs = [("cold", 1), ("warm", args.warm_runs)]
        for kind, count in runs:
            for run in range(1, count + 1):
                ready, stop, steps = timed_start(Path(tmp) / f"{kind}-{run}", args.workers)
                print(f"{kind} start #{run}: {ready:5.1f} s to {args.workers} workers online; "
                      f"stop {stop:4.1f} s")  # fmt: skip
                for step in steps:
                    print(f"    {step}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Run history and reports at scale: how long `rds-tui runs` and `report` take.

Builds a history of N finished seven-test runs whose results carry a full events
timeline (300 entries each, the plugin's bound), then prints the time to list the
history, to get `last`, to get one run by prefix, and to render each report format.

    .venv/bin/python bench/history_report.py [--runs 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rds_tui import catalog, report
from rds_tui.runs import Run, RunStore, RunTask

TESTS = catalog.TEST_NAMES


def finished_run(created_at: datetime) -> Run:
    run = Run(
        created_at=created_at,
        api_root="https://pulp.example.com",
        tests=list(TESTS),
        options={"duration_minutes": 50},
    )
    for number, name in enumerate(TESTS, start=1):
        task_id = f"{number:08d}-0000-7000-8000-{created_at:%H%M%S}000000"
        href = f"/pulp/api/v3/tasks/{task_id}/"
        run.tasks.append(RunTask(test_name=name, task_id=task_id, task_href=href))
        died = number not in (2, 4)
        events = [
            {"at": i * 10.0, "kind": "query", "detail": "SELECT pg_backend_pid()"}
            for i in range(300)
        ]
        run.record_task(
            {
                "pulp_href": href,
                "state": "completed",
                "result": {
                    "test_name": name,
                    "disconnected": died,
                    "seconds_to_disconnect": 2400.5 if died else None,
                    "idle_seconds_before_disconnect": 2400.1 if died else None,
                    "detected_by": "passive-watch" if died else None,
                    "planned_duration_seconds": 3000,
                    "expected_cutoff_seconds": 2400,
                    "events": events,
                },
            }
        )
    return run


def timed(action, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        store = RunStore(Path(directory) / "runs")
        base = datetime(2026, 11, 1, tzinfo=UTC)
        start = time.perf_counter()
        for index in range(options.runs):
            store.create(finished_run(base + timedelta(minutes=index)))
        written = time.perf_counter() - start
        size = sum(f.stat().st_size for f in store.directory.iterdir()) / options.runs
        newest = store.get("last")
        print(f"history of {options.runs} runs, {size / 1024:.0f} KiB per run file")
        print(f"  create (atomic write + fsync)  {written / options.runs * 1000:7.2f} ms/run")
        print(f"  list all (`rds-tui runs`)      {timed(store.list, 3) * 1000:7.1f} ms")
        print(f"  get 'last'                     {timed(lambda: store.get('last')) * 1000:7.2f} ms")
        print(
            f"  get by prefix                  "
            f"{timed(lambda: store.get(newest.id[:15])) * 1000:7.2f} ms"
        )
        tasks = newest.task_results()
        for name in ("to_markdown", "to_csv", "to_json"):
            render = getattr(report, name)
            print(
                f"  report.{name:<12}            "
                f"{timed(lambda render=render: render(newest, tasks)) * 1000:7.2f} ms"
            )
    print(f"(cpu count {os.cpu_count()})")


if __name__ == "__main__":
    main()

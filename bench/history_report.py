"""Run history and reports at scale: how long `rds-tui runs` and `report` take.

Builds a history of N finished seven-test runs whose results carry a full events
timeline (made by the plugin's own Timeline: 300 entries each, its bound, plus the
dropped-events marker), then prints the time to list the history, to get `last`, to get
one run by prefix, and to render each report format. No targets: figures to compare.

    .venv/bin/python bench/history_report.py [--runs 300] [--json]
"""

from __future__ import annotations

import functools
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from figures import argument_parser, figure, print_json
from rds_probes.timeline import Timeline

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
                    "events": probe_events(died),
                },
            }
        )
    return run


@functools.cache  # the same two timelines for every run: only the history is measured
def probe_events(died: bool) -> list[dict]:
    """A long probe's timeline as the plugin stores it: a heartbeat every 3 s for 40
    minutes, bounded by the plugin's Timeline, ending with the disconnect."""
    timeline = Timeline(start_monotonic=0.0)
    timeline.add("connect", "backend pid 4242", at=0.0)
    for beat in range(1, 800):
        timeline.add("heartbeat", "SELECT pg_backend_pid()", at=beat * 3.0, backend_pid=4242)
    if died:
        timeline.add(
            "disconnect",
            "terminating connection due to idle-session timeout",
            at=2400.5,
            sqlstate="57P05",
        )
    return timeline.as_list()


def timed(action, repeat: int = 5) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def measure(runs: int) -> dict:
    """Seconds per operation (medians) on a history of `runs` runs, and the file size."""
    with tempfile.TemporaryDirectory() as directory:
        store = RunStore(Path(directory) / "runs")
        base = datetime(2026, 11, 1, tzinfo=UTC)
        start = time.perf_counter()
        for index in range(runs):
            store.create(finished_run(base + timedelta(minutes=index)))
        written = time.perf_counter() - start
        size = sum(f.stat().st_size for f in store.directory.iterdir()) / runs
        newest = store.get("last")
        tasks = newest.task_results()
        seconds = {
            "create (atomic write + fsync), per run": written / runs,
            "list all (`rds-tui runs`)": timed(store.list, 3),
            "get 'last'": timed(lambda: store.get("last")),
            "get by prefix": timed(lambda: store.get(newest.id[:15])),
        }
        for name in ("to_markdown", "to_csv", "to_json"):
            render = getattr(report, name)
            seconds[f"report.{name}"] = timed(lambda render=render: render(newest, tasks))
    return {"runs": runs, "file_kib": size / 1024, "seconds": seconds}


def figures(runs: int = 300) -> list[dict]:
    return to_figures(measure(runs))


def to_figures(raw: dict) -> list[dict]:
    return [
        figure("history_report", f"{label} ({raw['runs']} runs)", seconds * 1000, "ms")
        for label, seconds in raw["seconds"].items()
    ]


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=300)
    options = parser.parse_args()
    raw = measure(options.runs)
    if options.json:
        print_json(to_figures(raw))
        return
    print(f"history of {raw['runs']} runs, {raw['file_kib']:.0f} KiB per run file")
    for label, seconds in raw["seconds"].items():
        print(f"  {label:<40} {seconds * 1000:8.2f} ms")
    print(f"(cpu count {os.cpu_count()})")


if __name__ == "__main__":
    main()

"""CPU seconds a probe task spends per minute of holding an idle connection (printed).

Runs idle probes (tests 1 and 6, the LISTEN that Pulp's workers hold) as real Pulp tasks
in a lab with the production time unit (one minute = 60 s) and timeouts long enough that
nothing dies, and reads the task processes' CPU time (utime + stime from /proc) between
a few seconds after the start and a few seconds before the end. The task process is the
child that the pulpcore worker forks for the task.

    .venv/bin/python bench/probe_cpu.py [--minutes 2]

Target: under 0.1 CPU seconds per probe-minute (the passive watch sleeps in epoll and
wakes once per minute to save the elapsed-time progress report).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import httpx
from probe_lab import throwaway_lab

IDLE_TESTS = ["test_1_idle_connection", "test_6_listen_notify"]
TICKS = os.sysconf("SC_CLK_TCK")


def children_of(pids: set[int]) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid in pids:
                found.add(int(entry.name))
    return found


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def measure(lab: dict, minutes: int) -> None:
    client = httpx.Client(
        base_url=lab["api_root"], auth=(lab["username"], lab["password"]), timeout=30
    )
    workers = {
        record["pid"] for name, record in lab["processes"].items() if name.startswith("worker")
    }
    before_tasks = children_of(workers)
    response = client.post(
        "/api/pulp/rds-connection-tests/", json={"tests": IDLE_TESTS, "duration_minutes": minutes}
    )
    response.raise_for_status()
    ids = [task["task_id"] for task in response.json()["tasks"]]
    time.sleep(5)  # connected, opening query done, first progress saved
    task_processes = children_of(workers) - before_tasks
    start = {pid: cpu_seconds(pid) for pid in task_processes}
    started = time.monotonic()
    time.sleep(minutes * 60 - 10)
    used = {pid: cpu_seconds(pid) - start[pid] for pid in task_processes}
    held_minutes = (time.monotonic() - started) / 60
    tasks = client.get(
        "/pulp/api/v3/tasks/", params={"pulp_id__in": ",".join(ids), "fields": "state"}
    ).json()["results"]
    print(
        f"task processes: {len(task_processes)} (tasks {[t['state'] for t in tasks]}), "
        f"measured over {held_minutes:.2f} min each"
    )
    for pid, seconds in sorted(used.items()):
        print(
            f"  pid {pid}: {seconds:.3f} CPU s -> {seconds / held_minutes:.4f} "
            "CPU s per probe-minute"
        )
    total = sum(used.values()) / (held_minutes * max(1, len(used)))
    print(f"mean: {total:.4f} CPU s per probe-minute (target < 0.1; clock tick {1 / TICKS:.2f} s)")
    for task_id in ids:
        client.patch(f"/pulp/api/v3/tasks/{task_id}/", json={"state": "canceled"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=2, help="probe duration (default 2)")
    args = parser.parse_args()
    lab_options = {
        "workers": len(IDLE_TESTS),
        "idle_timeout": 3600,
        "idle_in_transaction_timeout": 3600,
        "extra_settings": {"RDS_CONNECTION_TESTS_TIME_UNIT_SECONDS": 60},
    }
    with throwaway_lab(**lab_options) as lab:
        measure(lab, args.minutes)


if __name__ == "__main__":
    main()

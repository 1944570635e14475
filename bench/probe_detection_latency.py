"""How fast a probe notices that its connection was closed (printed, not asserted).

Dispatches rounds of the patterns that die in the lab (1, 3, 5, 6, 7) as real Pulp tasks
and compares, per probe, the server's own record of the close (PostgreSQL's log line
"FATAL: terminating connection due to idle-... timeout", millisecond timestamps, found
by the probe's backend pid) with the probe's `disconnected_at`. Also prints how far past
the configured timeout the probe saw the close (`idle_seconds_before_disconnect`).

    .venv/bin/python bench/probe_detection_latency.py [--rounds 5] [--dir LAB_DIR]

Without --dir a throw-away lab (5 workers, idle 3 s, in transaction 2 s) is started and
stopped. Target: well under one second; the passive watch usually takes milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

import httpx
from probe_lab import throwaway_lab

from rds_tui import lab as lab_module

# The server's record of each close: shared with the tests that time the same thing.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))
from serverlog import postgres_log, server_close_times

DYING = [
    "test_1_idle_connection",
    "test_3_long_transaction",
    "test_5_session_variable",
    "test_6_listen_notify",
    "test_7_listen_with_activity",
]


def run_round(client: httpx.Client) -> list[dict]:
    response = client.post(
        "/api/pulp/rds-connection-tests/", json={"tests": DYING, "duration_minutes": 10}
    )
    response.raise_for_status()
    ids = [task["task_id"] for task in response.json()["tasks"]]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks = client.get(
            "/pulp/api/v3/tasks/", params={"pulp_id__in": ",".join(ids), "fields": "state,result"}
        ).json()["results"]
        if all(task["state"] in {"completed", "failed", "canceled"} for task in tasks):
            return [task["result"] for task in tasks if task["result"]]
        time.sleep(0.3)
    raise SystemExit("the probes did not finish within 60 s")


def summary(label: str, values_ms: list[float]) -> str:
    values = sorted(values_ms)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return (
        f"{label:<48} n={len(values):>3}  min {values[0]:7.1f}  median "
        f"{statistics.median(values):7.1f}  p95 {p95:7.1f}  max {values[-1]:7.1f} ms"
    )


def measure(lab: dict, rounds: int) -> None:
    client = httpx.Client(
        base_url=lab["api_root"], auth=(lab["username"], lab["password"]), timeout=30
    )
    results = []
    for number in range(rounds):
        results += run_round(client)
        print(f"round {number + 1}/{rounds}: {len(results)} probes so far", flush=True)
    closes = server_close_times(postgres_log(lab))
    timeouts = {"test_3_long_transaction": lab["idle_in_transaction_timeout"]}
    detection, past_timeout, by = [], [], {}
    for result in results:
        if not result.get("disconnected"):
            continue
        by[result["detected_by"]] = by.get(result["detected_by"], 0) + 1
        closed_at = closes.get(result["backend_pid"])
        if closed_at is not None:
            seen_at = datetime.fromisoformat(result["disconnected_at"])
            detection.append((seen_at - closed_at).total_seconds() * 1000)
        timeout = timeouts.get(result["test_name"], lab["idle_timeout"])
        past_timeout.append((result["idle_seconds_before_disconnect"] - timeout) * 1000)
    print(f"\nprobes: {len(results)}, disconnected: {len(past_timeout)}, detected by: {by}")
    if detection:
        print(summary("server close (PostgreSQL log) -> probe detection", detection))
    print(summary("idle timeout -> probe detection (client clock)", past_timeout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of 5 probes (default 5)")
    parser.add_argument("--dir", type=Path, help="a running lab to use (rds-tui lab up)")
    args = parser.parse_args()
    if args.dir:
        measure(lab_module.status(args.dir).to_json(), args.rounds)
        return
    with throwaway_lab(workers=5, idle_timeout=3, idle_in_transaction_timeout=2) as lab:
        measure(lab, args.rounds)


if __name__ == "__main__":
    main()

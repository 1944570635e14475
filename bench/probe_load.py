"""Load one probe puts on the database at the smallest allowed interval, and its result's size.

Runs tests 2 (heartbeat), 4 (transaction with work) and 7 (LISTEN with a NOTIFY sender)
one at a time as real Pulp tasks in a lab with the production time unit (one minute =
60 s), each with its intervals at the catalog's `min_interval_seconds` (1 s there), for
one minute. For each it measures over a window in the middle of the run:

- statements per second the probe sends (test 7: its sender's NOTIFYs), from PgBouncer's
  own counters (`SHOW STATS`, total_query_count; only the probes go through PgBouncer);
- progress-report writes per second on Pulp's database (inserts and updates of
  core_progressreport, from pg_stat_user_tables; PostgreSQL publishes these counters
  about once a second, so a window edge may shift one write);
- the size of the task's result (JSON bytes) when it ends. During test 7 another
  connection floods the probe's channel with 8000-byte NOTIFY payloads (anyone may
  NOTIFY it), which fills the timeline: its result shows the bound on event bytes.

    .venv/bin/python bench/probe_load.py [--window 40] [--json]

Targets (issue 13): about one statement per second per probe (at most 1.2), progress
saved at most once a second (at most 1.2 writes per second, window edges included), and
a result under the timeline's bound plus a few KiB.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import TextIO

import httpx
import psycopg
from figures import argument_parser, figure, machine, print_json
from probe_lab import throwaway_lab
from rds_probes.timeline import MAX_TIMELINE_BYTES

ENDPOINT = "/api/pulp/rds-connection-tests/"
TESTS = ["test_2_active_heartbeat", "test_4_transaction_with_work", "test_7_listen_with_activity"]
WARMUP_SECONDS = 8
FLOOD_PAYLOAD = "x" * 7999  # PostgreSQL's NOTIFY payload limit is 8000 bytes
FLOOD_PER_SECOND = 50
# Everything in a result but its timeline stays well under this.
RESULT_OVERHEAD_BYTES = 8 * 1024


def connect(host: str, port: int, user: str, password: str, dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        host=host, port=port, user=user, password=password, dbname=dbname, autocommit=True
    )


def pgbouncer_queries(lab: dict) -> int:
    pgb = lab["pgbouncer"]
    with connect(
        pgb["host"], pgb["port"], pgb["admin_user"], pgb["admin_password"], "pgbouncer"
    ) as conn:
        cursor = conn.cursor()
        cursor.execute("SHOW STATS", prepare=False)  # the admin console: simple protocol only
        names = [column.name for column in cursor.description]
        for row in cursor.fetchall():
            stats = dict(zip(names, row))
            if stats["database"] == pgb["database"]:
                return int(stats["total_query_count"])
    raise RuntimeError("PgBouncer has no stats for the probes' database")


def postgres(lab: dict) -> psycopg.Connection:
    pg = lab["postgres"]
    return connect(
        pg["host"], pg["port"], pg["superuser"], pg["superuser_password"], pg["database"]
    )


def progress_writes(lab: dict) -> int:
    with postgres(lab) as conn:
        row = conn.execute(
            "SELECT n_tup_ins + n_tup_upd FROM pg_stat_user_tables"
            " WHERE relname = 'core_progressreport'"
        ).fetchone()
    return int(row[0])


def flood(lab: dict, channel: str, stop: threading.Event) -> int:
    """NOTIFY the probe's channel with maximal payloads until `stop`; how many were sent."""
    sent = 0
    with postgres(lab) as conn:
        while not stop.wait(1 / FLOOD_PER_SECOND):
            conn.execute("SELECT pg_notify(%s, %s)", [channel, FLOOD_PAYLOAD])
            sent += 1
    return sent


def measure_one(lab: dict, client: httpx.Client, test: str, floor: float, window: float) -> dict:
    response = client.post(
        ENDPOINT,
        json={
            "tests": [test],
            "duration_minutes": 1,
            "heartbeat_interval_seconds": floor,
            "notify_interval_seconds": floor,
        },
    )
    response.raise_for_status()
    [task] = response.json()["tasks"]
    time.sleep(WARMUP_SECONDS)
    stop, flooded = threading.Event(), []
    flooder = None
    if test == "test_7_listen_with_activity":
        channel = "rds_probe_" + task["task_id"].replace("-", "")
        flooder = threading.Thread(target=lambda: flooded.append(flood(lab, channel, stop)))
        flooder.start()
    queries, writes, started = pgbouncer_queries(lab), progress_writes(lab), time.monotonic()
    time.sleep(window)
    queries = pgbouncer_queries(lab) - queries
    writes = progress_writes(lab) - writes
    seconds = time.monotonic() - started
    stop.set()
    if flooder is not None:
        flooder.join()
    deadline = time.monotonic() + 120
    while (state := client.get(task["task_href"]).json())["state"] not in {
        "completed",
        "failed",
        "canceled",
    }:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{test} did not finish")
        time.sleep(1)
    result = state.get("result") or {}
    return {
        "test": test,
        "state": state["state"],
        "statements_per_second": queries / seconds,
        "progress_writes_per_second": writes / seconds,
        "result_bytes": len(json.dumps(result)),
        "events": len(result.get("events", [])),
        "events_dropped": result.get("events_dropped"),
        "flooded": flooded[0] if flooded else 0,
    }


def figures(window: float = 40, out: TextIO = sys.stdout) -> list[dict]:
    """The figures; the readable lines go to `out` as they come."""
    lab_options = {
        "workers": 1,
        "idle_timeout": 3600,
        "idle_in_transaction_timeout": 3600,
        "extra_settings": {"RDS_CONNECTION_TESTS_TIME_UNIT_SECONDS": 60},
    }
    found = []
    with throwaway_lab(**lab_options) as lab:
        client = httpx.Client(
            base_url=lab["api_root"], auth=(lab["username"], lab["password"]), timeout=30
        )
        floor = client.get(ENDPOINT).json()["min_interval_seconds"]
        print(
            f"smallest allowed interval on a 60 s-unit server: {floor:g} s ({machine()})",
            file=out,
        )
        for test in TESTS:
            row = measure_one(lab, client, test, floor, window)
            print(
                f"{test}: {row['statements_per_second']:.2f} statements/s, "
                f"{row['progress_writes_per_second']:.2f} progress writes/s, "
                f"result {row['result_bytes']} bytes ({row['events']} events, "
                f"{row['events_dropped']} dropped; {row['flooded']} 8000-byte NOTIFYs flooded "
                f"in), task {row['state']}",
                file=out,
                flush=True,
            )
            short = test.split("_")[1]
            found += [
                figure("probe_load", f"test {short} statements/s", round(
                    row["statements_per_second"], 2), "/s", ("<=", 1.2)),
                figure("probe_load", f"test {short} progress writes/s", round(
                    row["progress_writes_per_second"], 2), "/s", ("<=", 1.2)),
                figure("probe_load", f"test {short} result size", row["result_bytes"], "bytes",
                       ("<=", MAX_TIMELINE_BYTES + RESULT_OVERHEAD_BYTES)),
            ]  # fmt: skip
        client.close()
    return found


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--window", type=float, default=40, help="seconds measured (default 40)")
    args = parser.parse_args()
    # With --json, stdout is the JSON only.
    found = figures(args.window, sys.stderr if args.json else sys.stdout)
    if args.json:
        print_json(found)


if __name__ == "__main__":
    main()

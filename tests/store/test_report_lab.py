"""End to end in the lab: dispatch the seven probes, then `report` until the run is done.

The default test lab has an idle cutoff of 3 s and an in-transaction cutoff of 5 s
(PostgreSQL's timeouts on the probe role, behind PgBouncer in session mode), so the
report must find both within the probes' detection latency (under 1 s).
"""

from __future__ import annotations

import csv
import io
import json
import time
import xml.etree.ElementTree as ET

import pytest

from rds_tui.cli import EXIT_OK, main

pytestmark = pytest.mark.lab

DURATION = 8  # time units of the lab: seconds (test 3 dies after 5)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_diagnoses_a_real_run(lab, capsys, monkeypatch):
    monkeypatch.setenv("PULP_PASSWORD", lab["password"])
    code, out, err = run_cli(
        capsys,
        "--api-root",
        lab["api_root"],
        "--user",
        lab["username"],
        "rds_connection_tests",
        "--all",
        "--duration",
        str(DURATION),
        "--no-monitor",
    )
    assert code == EXIT_OK, err

    # `report` refreshes an unfinished run from the server and stores what finished.
    deadline = time.monotonic() + 120
    while True:
        code, out, err = run_cli(
            capsys, "report", "last", "--format", "json", "--user", lab["username"]
        )
        assert code == EXIT_OK, err
        document = json.loads(out)
        states = [row["task_state"] for row in document["tests"]]
        if all(state in ("completed", "failed", "canceled", "skipped") for state in states):
            break
        assert time.monotonic() < deadline, f"tasks still not final: {states}"
        time.sleep(1)

    assert states == ["completed"] * 7, document["tests"]
    rows = {row["test_name"]: row for row in document["tests"]}
    died = {name for name, row in rows.items() if row["disconnected"] is True}
    assert rows["test_2_active_heartbeat"]["disconnected"] is False
    assert died >= {
        f"test_{n}_{rest}"
        for n, rest in (
            (1, "idle_connection"),
            (3, "long_transaction"),
            (5, "session_variable"),
            (6, "listen_notify"),
            (7, "listen_with_activity"),
        )
    }

    diagnosis = document["diagnosis"]
    # Within 1 s after the timeout (a few ms before it is clock granularity).
    assert 2.95 <= diagnosis["estimated_idle_cutoff_seconds"] <= 4.0
    in_transaction = lab["idle_in_transaction_timeout"]
    assert in_transaction - 0.05 <= diagnosis["in_transaction_cutoff_seconds"] <= in_transaction + 1
    titles = {finding["title"] for finding in diagnosis["findings"]}
    assert "Periodic queries keep a connection alive" in titles
    # Test 4 works every 2 time units, well inside the lab's in-transaction cutoff.
    assert "test_4_transaction_with_work" not in died
    assert "A transaction that keeps working survives" in titles
    assert "Notifications do not count as activity" in titles
    assert "Notifications are dropped" not in titles
    assert diagnosis["recommendation"].startswith("LISTEN connections")
    assert lab["password"] not in out

    # The run is final now: the other formats come from the stored results alone.
    code, markdown, err = run_cli(capsys, "report", "last", "--offline")
    assert code == EXIT_OK and err == ""
    assert "| test_6_listen_notify | completed | DIED |" in markdown
    code, table, _ = run_cli(capsys, "report", "last", "--format", "csv", "--offline")
    csv_rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["test_name"] for r in csv_rows] == list(rows)
    code, out, _ = run_cli(capsys, "runs")
    assert "finished: 7 completed" in out.splitlines()[1]
    # The ticket's other shapes: Jira markup with Collect next, and the picture.
    code, wiki, _ = run_cli(capsys, "report", "last", "--format", "jira", "--offline")
    assert code == EXIT_OK and "h2. Collect next" in wiki
    assert "|test\\_6\\_listen\\_notify|completed|DIED|" in wiki
    code, svg, _ = run_cli(capsys, "report", "last", "--format", "svg", "--offline")
    picture = ET.fromstring(svg)
    lanes = "".join(picture.itertext()).replace("\xa0", " ")
    assert "6 LISTEN" in lanes and "57P05" in lanes

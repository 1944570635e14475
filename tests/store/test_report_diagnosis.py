"""Reports: what a user reads after a run, from realistic results.

The scenarios follow the outcome matrix of the shared notes (proxy-behaviour.md):
PgBouncer in session mode with PostgreSQL's idle timeouts (5 s idle, 4 s in a
transaction), transaction pool mode (notifications dropped), a production-like
40-minute cutoff, and the original endpoint's sparse results.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from rds_tui.report import diagnose, summary_lines, to_csv, to_json, to_markdown
from rds_tui.runs import Run

NAMES = {
    1: "test_1_idle_connection",
    2: "test_2_active_heartbeat",
    3: "test_3_long_transaction",
    4: "test_4_transaction_with_work",
    5: "test_5_session_variable",
    6: "test_6_listen_notify",
    7: "test_7_listen_with_activity",
}


def probe_result(
    number: int,
    *,
    died_after: float | None,
    idle: float | None = None,
    planned: float = 12.0,
    sqlstate: str | None = None,
    message: str | None = None,
    **extra,
) -> dict:
    """A result dict as the plugin returns it (issue 3's fields)."""
    died = died_after is not None
    result = {
        "test": f"Test {number}",
        "test_name": NAMES[number],
        "started_at": "2026-11-28T09:30:00.000000+00:00",
        "finished_at": "2026-11-28T09:30:12.000000+00:00",
        "duration_minutes": 12,
        "connection_alive": not died,
        "success": not died,
        "status": "FAILED" if died else "PASSED",
        "backend_pid": 4242,
        "error": {"type": "OperationalError", "message": message} if died else None,
        "planned_duration_seconds": planned,
        "expected_cutoff_seconds": 5,
        "disconnected": died,
        "disconnected_at": "2026-11-28T09:30:05.040000+00:00" if died else None,
        "seconds_to_disconnect": died_after,
        "idle_seconds_before_disconnect": idle if idle is not None else died_after,
        "detected_by": "passive-watch" if died else None,
        "server_message": message,
        "sqlstate": sqlstate,
        "heartbeats_ok": None,
        "backend_pids_seen": [4242],
        "pinning_observed": None,  # fewer than two queries: cannot tell
        "connection_pinned": number in (3, 4, 5, 6, 7),  # the catalog's, not observed
        "notifications_sent": None,
        "notifications_received": None,
        "notify_latency_ms": None,
        "server_settings": {
            "idle_session_timeout": "5s",
            "idle_in_transaction_session_timeout": "4s",
        },
        "target": {"host": "127.0.0.1", "port": 6432, "dbname": "pulp", "user": "probe"},
        "events": [],
    }
    result.update(extra)
    return result


def task(number: int, result: dict | None, state: str = "completed", **extra) -> dict:
    return {
        "pulp_href": f"/pulp/api/v3/tasks/0000000{number}-aaaa-7000-8000-000000000000/",
        "state": state,
        "test_name": NAMES[number],
        "started_at": "2026-11-28T09:30:00Z",
        "finished_at": "2026-11-28T09:30:12Z",
        "error": None,
        "result": result,
        **extra,
    }


IDLE_MSG = "terminating connection due to idle-session timeout"
TX_MSG = "terminating connection due to idle-in-transaction timeout"


def session_mode_matrix() -> list[dict]:
    """All seven in the lab: 1, 5, 6, 7 die ~5 s, 3 dies ~4 s, 2 and 4 alive."""
    return [
        task(1, probe_result(1, died_after=5.04, sqlstate="57P05", message=IDLE_MSG)),
        task(2, probe_result(2, died_after=None, heartbeats_ok=6, pinning_observed=True)),
        task(3, probe_result(3, died_after=4.03, sqlstate="25P03", message=TX_MSG)),
        task(4, probe_result(4, died_after=None, pinning_observed=True)),
        task(5, probe_result(5, died_after=5.06, sqlstate="57P05", message=IDLE_MSG)),
        task(6, probe_result(6, died_after=5.05, sqlstate="57P05", message=IDLE_MSG)),
        task(
            7,
            probe_result(
                7,
                died_after=5.07,
                sqlstate="57P05",
                message=IDLE_MSG,
                notifications_sent=2,
                notifications_received=2,
                notify_latency_ms={"median": 0.8, "max": 1.9},
            ),
        ),
    ]


def by_title(diagnosis) -> dict[str, str]:
    return {finding.title: finding.detail for finding in diagnosis.findings}


def test_session_mode_matrix_diagnosis():
    diagnosis = diagnose(session_mode_matrix())
    assert diagnosis.estimated_idle_cutoff_seconds == pytest.approx(5.05)
    assert diagnosis.in_transaction_cutoff_seconds == pytest.approx(4.03)
    findings = by_title(diagnosis)
    cutoff = next(t for t in findings if t.startswith("Idle connections are cut"))
    assert "5.05 s" in cutoff
    assert "test 1: 5.04 s" in findings[cutoff] and "test 6: 5.05 s" in findings[cutoff]
    assert "matches the expected cutoff" in findings[cutoff]
    assert "Periodic queries keep a connection alive" in findings
    tx = next(t for t in findings if t.startswith("An idle open transaction is cut"))
    assert "separate in-transaction timeout" in findings[tx]
    assert "Notifications do not count as activity" in findings
    assert "Notifications are delivered" in findings
    assert "Notifications are dropped" not in findings
    assert "A transaction that keeps working survives" in findings
    assert findings["Pinning observed"] == (
        "kept one backend across its queries (pinned, or session pooling): test 2, test 4."
    )

    recommendation = diagnosis.recommendation
    assert recommendation.startswith(
        "LISTEN connections (how Pulp workers wait for work) die after ~5.05 s of client silence"
    )
    assert "heartbeat" in recommendation and "IdleClientTimeout" in recommendation
    assert "bypassing the proxy" in recommendation
    assert "must be sent by the client" in recommendation
    assert "4.03 s" in recommendation


def test_production_like_cutoff_reads_in_minutes():
    tasks = [
        task(
            1,
            probe_result(
                1,
                died_after=2412.3,
                idle=2400.2,
                planned=3000,
                expected_cutoff_seconds=2400,
                message="client_idle_timeout",
                sqlstate="08P01",
            ),
        ),
        task(
            6,
            probe_result(
                6, died_after=2401.0, idle=2400.6, planned=3000, expected_cutoff_seconds=2400
            ),
        ),
        task(
            7,
            probe_result(
                7,
                died_after=2401.4,
                idle=2401.1,
                planned=3000,
                expected_cutoff_seconds=2400,
                notifications_sent=20,
                notifications_received=20,
            ),
        ),
    ]
    diagnosis = diagnose(tasks)
    assert diagnosis.estimated_idle_cutoff_seconds == pytest.approx(2400.4)
    assert "2400 s (40 min 00 s)" in diagnosis.recommendation
    assert "every 1200 s" in diagnosis.recommendation
    titles = by_title(diagnosis)
    assert "Notifications do not count as activity" in titles
    assert "Heartbeats: inconclusive" in titles
    assert "In-transaction timeout: inconclusive" in titles


def test_transaction_mode_notifications_dropped():
    tasks = [
        task(
            6,
            probe_result(
                6,
                died_after=5.07,
                message="client_idle_timeout",
                sqlstate="08P01",
                pinning_observed=None,
                backend_pids_seen=[10],
            ),
        ),
        task(
            7,
            probe_result(
                7,
                died_after=5.08,
                message="client_idle_timeout",
                sqlstate="08P01",
                notifications_sent=3,
                notifications_received=0,
                pinning_observed=None,
            ),
        ),
        task(
            2,
            probe_result(
                2,
                died_after=None,
                heartbeats_ok=6,
                pinning_observed=False,
                backend_pids_seen=[10, 11, 12],
            ),
        ),
    ]
    diagnosis = diagnose(tasks)
    findings = by_title(diagnosis)
    assert "3 sent, only 0 received" in findings["Notifications are dropped"]
    assert findings["Notifications as activity: inconclusive"].startswith(
        "test 7 received no notifications"
    )
    assert "test 2 (3 backends)" in findings["Pinning observed"]
    assert "bypass it for workers" in diagnosis.recommendation


def test_notifications_keeping_listen_alive_is_recognised():
    tasks = [
        task(6, probe_result(6, died_after=1800.2, planned=3000)),
        task(
            7,
            probe_result(
                7, died_after=None, planned=3000, notifications_sent=25, notifications_received=25
            ),
        ),
    ]
    diagnosis = diagnose(tasks)
    assert "Notifications count as activity" in by_title(diagnosis)
    assert "Incoming notifications do reset the timer" in diagnosis.recommendation
    assert diagnosis.estimated_idle_cutoff_seconds == pytest.approx(1800.2)


def test_heartbeat_death_changes_the_advice():
    tasks = [
        task(1, probe_result(1, died_after=2400.0)),
        task(
            2,
            probe_result(
                2,
                died_after=2400.5,
                idle=30.0,
                heartbeats_ok=40,
                message="server closed the connection unexpectedly",
            ),
        ),
    ]
    diagnosis = diagnose(tasks)
    assert "Even a connection sending heartbeats was cut" in by_title(diagnosis)
    assert "a heartbeat alone will not help" in diagnosis.recommendation
    assert "Idle connections die after" in diagnosis.recommendation  # 6 did not run


def test_nothing_died_says_run_longer():
    tasks = [task(n, probe_result(n, died_after=None, planned=600)) for n in (1, 2, 6)]
    diagnosis = diagnose(tasks)
    assert diagnosis.estimated_idle_cutoff_seconds is None
    assert "No idle cutoff within the test duration" in by_title(diagnosis)
    assert "No idle connection was cut within 600 s (10 min 00 s)" in diagnosis.recommendation


def test_no_results_is_inconclusive_not_a_guess():
    diagnosis = diagnose([task(1, None, state="failed", error={"description": "worker lost"})])
    assert diagnosis.estimated_idle_cutoff_seconds is None
    assert diagnosis.recommendation.startswith("Inconclusive")
    findings = by_title(diagnosis)
    assert "worker lost" in findings["test_1_idle_connection produced no result"]
    assert {f.severity for f in diagnosis.findings} <= {"warning", "inconclusive"}


def test_bare_probe_results_are_accepted():
    results = [t["result"] for t in session_mode_matrix()]
    assert diagnose(results).estimated_idle_cutoff_seconds == pytest.approx(5.05)


# The original pulp-service endpoint's results: only the first group of fields.
ORIGINAL = [
    task(
        1,
        {
            "test": "Test 1 - Django Idle Connection",
            "connection_alive": False,
            "success": False,
            "status": "FAILED",
            "duration_minutes": 50.02,
            "backend_pid": 812,
            "error": {"type": "OperationalError", "message": "server closed the connection"},
        },
    ),
    task(
        2,
        {
            "test": "Test 2 - Active Heartbeat",
            "connection_alive": True,
            "success": True,
            "status": "PASSED",
            "duration_minutes": 50,
            "backend_pid": 813,
        },
    ),
    task(
        6,
        {
            "test": "Test 6 - LISTEN/NOTIFY",
            "connection_alive": False,
            "success": False,
            "status": "FAILED",
            "duration_minutes": 41,
            "error": "connection lost",
        },
    ),
]


def test_original_results_give_an_upper_bound():
    diagnosis = diagnose(ORIGINAL)
    assert diagnosis.estimated_idle_cutoff_seconds == 2460
    cutoff = next(f for f in diagnosis.findings if f.title.startswith("Idle connections"))
    assert cutoff.title == "Idle connections are cut within 2460 s (41 min 00 s) of client silence"
    assert "upper bound" in cutoff.detail and "test 1: 3001 s (50 min 01 s)" in cutoff.detail
    assert "at most 2460 s (41 min 00 s)" in diagnosis.recommendation
    assert "Periodic queries keep a connection alive" in by_title(diagnosis)


def test_summary_has_the_original_layout():
    lines = summary_lines(ORIGINAL)
    text = "\n".join(lines)
    assert lines[:3] == ["=" * 60, "TEST SUMMARY", "=" * 60]
    assert (
        "✓ PASSED (1):\n  • test_2_active_heartbeat\n"
        "    Duration: 50 min | Backend PID: 813 | Connection: ALIVE"
    ) in text
    assert "✗ FAILED (2):" in text
    assert "    Error: OperationalError: server closed the connection" in text
    assert "    Error: connection lost" in text
    assert lines[-2:] == ["Total: 3 | Passed: 1 | Failed: 2", "=" * 60]


def test_summary_adds_timing_and_handles_every_state():
    tasks = session_mode_matrix()[:2] + [
        task(3, None, state="canceled"),
        task(4, None, state="running", finished_at=None),
        task(5, None, state="skipped"),
    ]
    text = "\n".join(summary_lines(tasks))
    assert "Disconnected 5.04 s after start (after 5.04 s idle), detected by passive-watch" in text
    assert "Server said: [57P05] terminating connection due to idle-session timeout" in text
    assert "Heartbeats OK: 6 | Backend PIDs seen: 1" in text
    assert "Error: Task canceled" in text and "Error: Task skipped" in text
    assert "• test_4_transaction_with_work: running" in text
    assert "Total: 4 | Passed: 1 | Failed: 3 | Not finished: 1" in text


def run_of(tasks: list[dict], **fields) -> Run:
    """A run whose dispatched tasks are `tasks` (task dicts annotated with test_name)."""
    return Run(
        tests=[t["test_name"] for t in tasks],
        tasks=[
            {
                "test_name": t["test_name"],
                "task_id": t["pulp_href"].split("/")[-2],
                "task_href": t["pulp_href"],
            }
            for t in tasks
        ],
        **fields,
    )


def make_run() -> Run:
    return run_of(
        session_mode_matrix(),
        profile="lab",
        api_root="http://127.0.0.1:24817",
        options={"duration_minutes": 12, "run_sequentially": False},
        correlation_id="abc123",
    )


def test_markdown_for_the_ticket():
    run = make_run()
    tasks = session_mode_matrix()
    tasks[0]["result"]["server_message"] = "closed | by proxy"
    text = to_markdown(run, tasks[:6])  # test 7 not finished yet
    assert text.startswith(f"# RDS connection tests: run {run.id}\n")
    assert "- Server: http://127.0.0.1:24817 (profile lab)" in text
    assert "- Correlation ID (the tasks' logging_cid): abc123" in text
    assert (
        "| test_1_idle_connection | completed | DIED | 5.04 s | 5.04 s | passive-watch | "
        "57P05 closed \\| by proxy |"
    ) in text
    assert "| test_2_active_heartbeat | completed | alive | – | – | – | – |" in text
    assert "| test_7_listen_with_activity | unknown | ? |" in text
    assert "**Recommendation:** LISTEN connections" in text
    assert "```text\n" + "=" * 60 + "\nTEST SUMMARY" in text


def test_csv_has_a_row_per_test():
    run = make_run()
    rows = list(csv.DictReader(io.StringIO(to_csv(run, session_mode_matrix()))))
    assert [r["test_name"] for r in rows] == list(NAMES.values())
    first = rows[0]
    assert first["run_id"] == run.id
    assert (first["disconnected"], first["seconds_to_disconnect"], first["sqlstate"]) == (
        "True",
        "5.04",
        "57P05",
    )
    assert rows[1]["disconnected"] == "False" and rows[1]["seconds_to_disconnect"] == ""
    assert (rows[6]["notifications_sent"], rows[6]["notify_latency_ms_max"]) == ("2", "1.9")


def test_json_is_complete_and_has_no_secrets():
    run = make_run()
    tasks = session_mode_matrix()
    tasks[0]["result"]["target"]["password"] = "hunter2"
    document = json.loads(to_json(run, tasks))
    assert document["run"]["id"] == run.id
    assert len(document["tests"]) == 7
    assert document["diagnosis"]["estimated_idle_cutoff_seconds"] == pytest.approx(5.05)
    assert document["diagnosis"]["recommendation"].startswith("LISTEN connections")
    assert document["summary"][1] == "TEST SUMMARY"
    assert "hunter2" not in json.dumps(document)


def test_exports_from_stored_final_results():
    run = make_run()
    for item in session_mode_matrix():
        run.record_task({k: v for k, v in item.items() if k != "test_name"})
    assert run.finished
    assert "DIED" in to_markdown(run, None)
    assert to_csv(run).count("\n") == 8


def test_working_transaction_deaths_are_told_apart():
    paused = [
        task(3, probe_result(3, died_after=2.12, idle=2.01, sqlstate="25P03", message=TX_MSG)),
        task(4, probe_result(4, died_after=2.10, idle=2.00, sqlstate="25P03", message=TX_MSG)),
    ]
    findings = by_title(diagnose(paused))
    detail = findings["A working transaction was cut in a pause between its queries"]
    assert "died 2.00 s after its last query" in detail and "Work more often" in detail

    aged = [
        task(3, probe_result(3, died_after=None, planned=7200)),
        task(
            4,
            probe_result(
                4,
                died_after=3600.4,
                idle=0.6,
                planned=7200,
                message="server closed the connection unexpectedly",
            ),
        ),
    ]
    findings = by_title(diagnose(aged))
    assert "No in-transaction timeout within the test duration" in findings
    assert "not on idleness" in findings["A transaction doing work was cut too"]


def test_notification_that_could_not_arrive_yet_is_not_called_dropped():
    tasks = [
        task(6, probe_result(6, died_after=2.3)),
        task(
            7,
            probe_result(
                7,
                died_after=2.3,
                notifications_sent=1,
                notifications_received=0,
                notify_interval_seconds=2,
            ),
        ),
    ]
    findings = by_title(diagnose(tasks))
    assert "Notifications are dropped" not in findings
    assert "Notification delivery: inconclusive" in findings

    tasks[1] = task(
        7,
        probe_result(
            7,
            died_after=3.33,
            notifications_sent=1,
            notifications_received=0,
            notify_interval_seconds=2,
        ),
    )
    findings = by_title(diagnose(tasks))
    assert "1 of them sent well before" in findings["Notifications are dropped"]


def test_summary_of_listen_without_sender_shows_no_sent_count():
    text = "\n".join(
        summary_lines([task(6, probe_result(6, died_after=3.1, notifications_received=0))])
    )
    assert "    Notifications: 0 received" in text


def test_final_check_deaths_are_upper_bounds_and_timed_deaths_win():
    late = probe_result(1, died_after=12.0, idle=11.9, detected_by="final-check")
    tasks = [task(1, late), task(6, probe_result(6, died_after=5.1, idle=5.0))]
    assert diagnose(tasks).estimated_idle_cutoff_seconds == pytest.approx(5.0)
    assert "| test_1_idle_connection | completed | DIED | ≤ 12.00 s |" in to_markdown(None, tasks)

    diagnosis = diagnose([task(1, late)])
    assert diagnosis.estimated_idle_cutoff_seconds == pytest.approx(11.9)
    assert "at most 11.90 s" in diagnosis.recommendation


def test_original_results_in_exports_keep_their_own_fields():
    rows = list(csv.DictReader(io.StringIO(to_csv(None, ORIGINAL))))
    assert rows[0]["duration_minutes"] == "50.02"
    assert rows[0]["seconds_to_disconnect"] == ""  # not invented from the duration
    assert "| DIED | ≤ 3001 s (50 min 01 s) |" in to_markdown(None, ORIGINAL)

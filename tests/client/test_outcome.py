"""One reading of a task's outcome: dead or alive, when, why, activity; and a run's clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rds_tui.models import Task
from rds_tui.outcome import (
    CLOSED_BY_PROXY_OR_NETWORK,
    CLOSED_BY_SERVER,
    RunTiming,
    read_outcome,
)
from rds_tui.runs import Run, RunTask

from .fakepulp import ORIGINAL_RESULT

STARTED = "2026-11-28T09:00:00+00:00"


def plugin_result(test_name: str = "test_6_listen_notify", **changes) -> dict:
    """A result in the shape the plugin's probe returns (probes/runner.py `result()`)."""
    result = {
        "test": "Test 6 - LISTEN/NOTIFY",
        "test_name": test_name,
        "started_at": STARTED,
        "finished_at": "2026-11-28T09:40:01.400000+00:00",
        "duration_minutes": 50,
        "time_unit_seconds": 60.0,
        "planned_duration_seconds": 3000.0,
        "actual_duration_seconds": 2401.4,
        "expected_cutoff_seconds": 2400.0,
        "expected_in_transaction_cutoff_seconds": 1800.0,
        "stop_on_disconnect": True,
        "connection_alive": False,
        "success": True,
        "status": "FAILED",
        "connection_pinned": True,
        "backend_pid": 4242,
        "error": None,
        "disconnected": True,
        "disconnected_at": "2026-11-28T09:40:01.250000+00:00",
        "seconds_to_disconnect": 2401.25,
        "idle_seconds_before_disconnect": 2401.2,
        "detected_by": "passive-watch",
        "server_message": "terminating connection due to idle-session timeout",
        "client_message": "server closed the connection unexpectedly",
        "sqlstate": "57P05",
        "heartbeats_ok": None,
        "backend_pids_seen": [4242],
        "pinning_observed": None,
        "notifications_sent": None,
        "notifications_received": 0,
    }
    result.update(changes)
    return result


def task_json(state: str = "completed", result=None, progress=None, **fields) -> dict:
    task = {
        "pulp_href": "/pulp/api/v3/tasks/0192/",
        "state": state,
        "started_at": STARTED,
        "finished_at": None,
        "error": None,
        "progress_reports": progress or [],
        "result": result,
    }
    task.update(fields)
    return task


def test_plugin_result_of_a_server_ended_session():
    outcome = read_outcome(task_json(result=plugin_result()))
    assert outcome.test_name == "test_6_listen_notify"
    assert outcome.final and outcome.completed and outcome.died is True
    assert outcome.died_after_seconds == 2401.25 and outcome.precise
    assert outcome.died_at == datetime(2026, 11, 28, 9, 40, 1, 250000, tzinfo=UTC)
    assert outcome.reason == "terminating connection due to idle-session timeout"
    assert outcome.sqlstate == "57P05" and outcome.closed_by == CLOSED_BY_SERVER
    assert outcome.detected_by == "passive-watch"
    assert outcome.notifications_received == 0 and outcome.activity_text() == "✉ 0"


def test_a_bare_close_is_blamed_on_the_proxy_or_the_network():
    result = plugin_result(server_message=None, sqlstate=None)
    outcome = read_outcome(Task.model_validate(task_json(result=result)))
    assert outcome.died and outcome.closed_by == CLOSED_BY_PROXY_OR_NETWORK
    assert outcome.reason == "server closed the connection unexpectedly"


def test_a_survivor_is_alive_with_its_activity():
    result = plugin_result(
        "test_2_active_heartbeat",
        connection_alive=True,
        status="PASSED",
        disconnected=False,
        disconnected_at=None,
        seconds_to_disconnect=None,
        detected_by=None,
        server_message=None,
        client_message=None,
        sqlstate=None,
        heartbeats_ok=49,
        notifications_received=None,
    )
    outcome = read_outcome(task_json(result=result))
    assert outcome.died is False and outcome.died_after_seconds is None
    assert outcome.died_at is None and outcome.reason is None and outcome.closed_by is None
    assert outcome.activity_text() == "♥ 49"


def test_running_task_reads_its_progress_by_code_not_by_message():
    progress = [
        {"code": "rds.elapsed", "message": "Elapsed minutes", "done": 41, "total": 50},
        # The message is misleading on purpose: the code and `done` are what count.
        {"code": "rds.disconnect", "message": "after 9 s", "done": 2401250, "total": 3000000},
        {"code": "rds.notifications.sent", "message": "Notifications sent", "done": 40},
        {"code": "rds.notifications.received", "message": "Notifications received", "done": 38},
    ]
    outcome = read_outcome(
        task_json("running", progress=progress), test_name="test_7_listen_with_activity"
    )
    assert not outcome.final and outcome.died is True
    assert outcome.died_after_seconds == pytest.approx(2401.25)
    assert outcome.died_at == datetime(2026, 11, 28, 9, 40, 1, 250000, tzinfo=UTC)
    assert outcome.reason == "after 9 s"  # shown as the reason, never parsed
    assert outcome.activity_text() == "✉ 38/40"


def test_running_task_without_a_disconnect_report_is_not_known_yet():
    progress = [{"code": "rds.heartbeats", "message": "Disconnected? no", "done": 7}]
    task = Task.model_validate(task_json("running", progress=progress))
    outcome = read_outcome(task, "test_2_active_heartbeat")
    assert outcome.died is None and not outcome.final
    assert outcome.heartbeats == 7


def test_an_older_plugins_disconnect_report_means_dead_at_an_unknown_time():
    progress = [{"code": "rds.disconnect", "message": "Connection closed", "done": 1, "total": 1}]
    outcome = read_outcome(
        task_json("running", progress=progress, test_name="test_1_idle_connection")
    )
    assert outcome.died is True and outcome.died_after_seconds is None
    assert outcome.died_at is None and outcome.reason == "Connection closed"


def test_original_endpoint_result_gives_an_upper_bound():
    outcome = read_outcome(task_json(result=ORIGINAL_RESULT))
    assert outcome.test_name == "test_1_idle_connection"  # from "Test 1 - Django ..."
    assert outcome.died is True and not outcome.precise
    assert outcome.died_after_is_upper_bound
    assert outcome.died_after_seconds == pytest.approx(40.2 * 60)
    assert outcome.reason == "server closed the connection unexpectedly"
    assert outcome.closed_by is None  # the original does not say who closed it


def test_a_bare_result_dict_is_read_too():
    outcome = read_outcome(plugin_result("test_1_idle_connection"))
    assert outcome.state == "unknown" and outcome.died is True
    assert outcome.test_name == "test_1_idle_connection"


def test_missing_and_failed_tasks_have_no_verdict_but_say_why():
    missing = read_outcome(
        task_json("missing", error={"description": "the server no longer has this task"}),
        test_name="test_3_long_transaction",
    )
    assert missing.final and not missing.completed and missing.died is None
    assert missing.reason == "the server no longer has this task"
    failed = read_outcome(task_json("failed", error={"description": "worker lost"}))
    assert failed.final and failed.died is None and failed.reason == "worker lost"
    assert failed.task_error == "worker lost"


def test_a_task_name_gives_the_test_when_nothing_else_does():
    task = task_json("waiting", name="pulp_rds_tests.app.tasks.test_4_transaction_with_work")
    outcome = read_outcome(task)
    assert outcome.test_name == "test_4_transaction_with_work" and outcome.died is None


def run_with(**options) -> Run:
    return Run(
        id="20261128-090000-abcd",
        api_root="https://pulp.example.com",
        tests=["test_3_long_transaction"],
        options=options,
        tasks=[RunTask(test_name="test_3_long_transaction", task_id="1", task_href="/t/1/")],
    )


def test_each_test_is_measured_against_its_own_cutoff():
    timing = RunTiming.from_run(
        run_with(
            duration_minutes=200,
            time_unit_seconds=1,
            expected_cutoff_seconds=40,
            expected_in_transaction_cutoff_seconds=30,
        )
    )
    assert timing.planned_seconds == 200 and timing.time_unit_seconds == 1
    assert timing.cutoff_for("test_1_idle_connection") == 40
    assert timing.cutoff_for("test_3_long_transaction") == 30
    assert timing.cutoff_for("test_4_transaction_with_work") == 30
    assert timing.cutoff_for("test_6_listen_notify") == 40
    assert timing.server_minutes(125.5) == 125  # lab minutes are seconds


def test_without_an_in_transaction_cutoff_every_test_uses_the_idle_one():
    timing = RunTiming.from_run(run_with())
    assert timing.time_unit_seconds == 60 and timing.planned_seconds == 50 * 60
    assert timing.idle_cutoff_seconds == 2400 and timing.in_transaction_cutoff_seconds is None
    assert timing.cutoff_for("test_3_long_transaction") == 2400
    assert timing.server_minutes(2459) == 40


def test_a_profiles_cutoff_overrides_the_servers_idle_cutoff():
    class Profile:
        expected_cutoff_seconds = 2700

    timing = RunTiming.from_run(
        run_with(expected_cutoff_seconds=2400, expected_in_transaction_cutoff_seconds=600),
        Profile(),
    )
    assert timing.cutoff_for("test_1_idle_connection") == 2700
    assert timing.cutoff_for("test_3_long_transaction") == 600

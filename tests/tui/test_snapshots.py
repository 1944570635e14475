"""SVG snapshots of the main screens at 80x24 (the smallest supported terminal), with a
fixed clock, no cursor blink and a mock server. Update after an intended change with
`pytest tests/tui/test_snapshots.py --snapshot-update` and review the SVGs in the diff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rds_tui.profiles import Profile
from rds_tui.runs import Run, RunTask
from rds_tui.screens.monitor import MonitorScreen
from rds_tui.widgets.task_table import TaskTable

from .conftest import FIXED_NOW
from .helpers import wait_for
from .mock_pulp import alive_result, dead_result

SNAPSHOT_SIZE = (80, 24)
TESTS = [
    "test_1_idle_connection",
    "test_2_active_heartbeat",
    "test_3_long_transaction",
    "test_6_listen_notify",
    "test_7_listen_with_activity",
]


@pytest.fixture
def busy_server(mock_pulp):
    """A run of five tasks in every interesting state, 41 minutes in."""
    started = (FIXED_NOW - timedelta(seconds=2460)).isoformat()
    mock_pulp.add_task(
        "test_1_idle_connection",
        "completed",
        started_at=started,
        finished_at=(FIXED_NOW - timedelta(seconds=57)).isoformat(),
        result=dead_result(
            "test_1_idle_connection", 2402.7, "terminating connection due to idle-session timeout"
        ),
    )
    mock_pulp.add_task(
        "test_2_active_heartbeat",
        "running",
        started_at=started,
        progress_reports=[
            {"code": "rds.heartbeats", "message": "Heartbeats", "done": 41, "state": "running"}
        ],
    )
    mock_pulp.add_task(
        "test_3_long_transaction",
        "failed",
        started_at=started,
        finished_at=(FIXED_NOW - timedelta(seconds=2400)).isoformat(),
        error={"description": "worker lost"},
    )
    mock_pulp.add_task("test_6_listen_notify", "running", started_at=started)
    mock_pulp.add_task("test_7_listen_with_activity", "waiting")
    return mock_pulp


def stored_run(run_store, server, run_id="20261128-091900-ab12", profile="prod") -> Run:
    run = Run(
        id=run_id,
        created_at=datetime(2026, 11, 28, 9, 19, tzinfo=UTC),
        profile=profile,
        api_root="https://pulp.example.com",
        tests=[server.tasks[i]["test_name"] for i in server.order],
        options={"duration_minutes": 50, "expected_cutoff_seconds": 2400, "time_unit_seconds": 60},
        correlation_id="cid",
        tasks=[
            RunTask(
                test_name=server.tasks[i]["test_name"],
                task_id=i,
                task_href=server.tasks[i]["pulp_href"],
            )
            for i in server.order
        ],
    )
    return run_store.create(run)


def test_instances_with_a_connection_check(snap_compare, make_app, prod_profile):
    async def check(pilot):
        await pilot.press("t")
        await wait_for(
            pilot, lambda: "Workers" in str(pilot.app.screen.query_one("#connection-check").content)
        )

    assert snap_compare(make_app(), terminal_size=SNAPSHOT_SIZE, run_before=check)


def test_picker_with_the_server_catalog(snap_compare, make_app, prod_profile):
    async def pick(pilot):
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.screen.offline_reason is None)
        await pilot.press("space", "down", "down", "down", "down", "down", "space")

    assert snap_compare(make_app(), terminal_size=SNAPSHOT_SIZE, run_before=pick)


def test_picker_of_a_direct_instance(snap_compare, make_app, profile_store, monkeypatch):
    # A PostgreSQL endpoint probed from this machine: the built-in catalog, its DSN
    # without the password, the profile's clock.
    monkeypatch.setenv("PROBE_PASSWORD", "not-shown")
    profile_store.upsert(
        Profile(
            name="rds-direct",
            kind="direct",
            dsn="postgresql://probe@proxy.example.com:5432/pulp?sslmode=require",
            password_env="PROBE_PASSWORD",
            expected_cutoff_seconds=2400,
        )
    )

    async def pick(pilot):
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.screen.offline_reason is None)
        await pilot.press("space", "down", "space")

    assert snap_compare(make_app(), terminal_size=SNAPSHOT_SIZE, run_before=pick)


def test_dispatch_confirmation(snap_compare, make_app, prod_profile):
    async def confirm(pilot):
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.screen.offline_reason is None)
        await pilot.press("a", "r")

    assert snap_compare(make_app(), terminal_size=SNAPSHOT_SIZE, run_before=confirm)


async def open_monitor(pilot, run: Run) -> None:
    await pilot.app.push_screen(MonitorScreen(run))
    table = pilot.app.screen.query_one(TaskTable)
    await wait_for(pilot, lambda: any(r.state == "running" for r in table.rows_by_key.values()))
    await pilot.pause()


def monitor_snapshot(snap_compare, make_app, run: Run, size=SNAPSHOT_SIZE, keys=()) -> bool:
    """The monitor of `run` (polled once, notifications cleared), then `keys` pressed."""

    async def watch(pilot):
        await open_monitor(pilot, run)
        pilot.app.clear_notifications()
        if keys:
            await pilot.press(*keys)

    app = make_app(default_poll_interval=1000)
    return snap_compare(app, terminal_size=size, run_before=watch)


def test_monitor_with_every_kind_of_task(
    snap_compare, make_app, prod_profile, run_store, busy_server
):
    run = stored_run(run_store, busy_server)
    assert monitor_snapshot(snap_compare, make_app, run)


def test_monitor_at_100_columns(snap_compare, make_app, prod_profile, run_store, busy_server):
    run = stored_run(run_store, busy_server)
    assert monitor_snapshot(snap_compare, make_app, run, size=(100, 30))


def test_detail_of_a_dead_connection(snap_compare, make_app, prod_profile, run_store, busy_server):
    run = stored_run(run_store, busy_server)
    assert monitor_snapshot(snap_compare, make_app, run, keys=("enter",))


def test_monitor_of_a_lab_run_measures_each_test_against_its_own_cutoff(
    snap_compare, make_app, prod_profile, run_store, mock_pulp
):
    """A lab run (one minute = 1 s, idle cutoff 40 s, in a transaction 30 s): test 3 died
    on its in-transaction cutoff, `dead 00:30 +0.0s`, shown whole at 80 columns."""
    started = FIXED_NOW - timedelta(seconds=45)
    for name, seconds, sqlstate in (
        ("test_1_idle_connection", 40.0, "57P05"),
        ("test_3_long_transaction", 30.0, "25P03"),
    ):
        mock_pulp.add_task(
            name,
            "completed",
            started_at=started.isoformat(),
            finished_at=(started + timedelta(seconds=seconds + 0.2)).isoformat(),
            result=dead_result(
                name, seconds, "terminating connection", sqlstate, planned=200.0, cutoff=40.0
            ),
        )
    mock_pulp.add_task("test_4_transaction_with_work", "running", started_at=started.isoformat())
    run = stored_run(run_store, mock_pulp, run_id="20261128-095915-1ab0")
    run.options = {
        "duration_minutes": 200,
        "time_unit_seconds": 1,
        "expected_cutoff_seconds": 40,
        "expected_in_transaction_cutoff_seconds": 30,
    }
    run_store.save(run)
    assert monitor_snapshot(snap_compare, make_app, run, keys=("down",))


def finished_run(run_store, server, run_id, profile, idle_death):
    server.tasks.clear()
    server.order.clear()
    started = FIXED_NOW.isoformat()
    end = (FIXED_NOW + timedelta(seconds=3000)).isoformat()
    server.add_task(
        "test_1_idle_connection",
        "completed",
        started_at=started,
        finished_at=end,
        result=dead_result("test_1_idle_connection", idle_death, "terminating connection"),
    )
    server.add_task(
        "test_2_active_heartbeat",
        "completed",
        started_at=started,
        finished_at=end,
        result=alive_result("test_2_active_heartbeat", heartbeats=50),
    )
    run = stored_run(run_store, server, run_id=run_id, profile=profile)
    for task_id in server.order:
        run.record_task({**server.tasks[task_id]})
    run_store.save(run)
    return run


def test_history_compare_and_diagnosis(snap_compare, make_app, prod_profile, run_store, mock_pulp):
    finished_run(run_store, mock_pulp, "20261128-080000-aaaa", "prod", 2402.7)
    finished_run(run_store, mock_pulp, "20261128-090000-bbbb", "staging", 1801.2)

    async def compare(pilot):
        await pilot.press("h", "space", "down", "space", "m")

    assert snap_compare(make_app(), terminal_size=SNAPSHOT_SIZE, run_before=compare)


def test_history_list(snap_compare, make_app, prod_profile, run_store, mock_pulp, busy_server):
    finished_run(run_store, mock_pulp, "20261128-080000-aaaa", "prod", 2402.7)
    busy_server.tasks.clear()
    busy_server.order.clear()
    busy_server.add_task("test_6_listen_notify", "running", started_at=FIXED_NOW.isoformat())
    stored_run(run_store, busy_server, run_id="20261128-091900-cccc")

    async def history(pilot):
        pilot.app.clear_notifications()
        await pilot.press("h")

    assert snap_compare(make_app(), terminal_size=SNAPSHOT_SIZE, run_before=history)


def test_diagnosis(snap_compare, make_app, prod_profile, run_store, mock_pulp):
    finished_run(run_store, mock_pulp, "20261128-080000-aaaa", "prod", 2402.7)

    async def diagnosis(pilot):
        await pilot.press("h", "g")

    assert snap_compare(make_app(), terminal_size=SNAPSHOT_SIZE, run_before=diagnosis)

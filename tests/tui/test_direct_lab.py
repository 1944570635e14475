"""Direct runs from the dashboard against the real lab: the probes run in the dashboard's
own process straight against the lab's PgBouncer (no Pulp), 1 "minute" = 1 s.

Driven with the keyboard as an operator would: pick, confirm, watch, and quit while
probes still run (the question, then every probe connection closed and the partial
results kept)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from rds_tui.app import RdsTuiApp
from rds_tui.profiles import Profile
from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.history import HistoryScreen
from rds_tui.screens.monitor import MonitorScreen
from rds_tui.screens.picker import PickerScreen
from rds_tui.widgets.run_header import RunHeader
from rds_tui.widgets.task_table import TaskTable

from .conftest import SIZE
from .helpers import notifications, shown_text, wait_for

pytestmark = pytest.mark.lab

PASSWORD_ENV = "RDS_TUI_TEST_PROBE_PASSWORD"
PROBE_BACKENDS = "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'rds-probe:%'"


@pytest.fixture
def direct_profile(lab, profile_store, monkeypatch) -> Profile:
    """A direct profile for the lab's PgBouncer; its password only in an env variable."""
    monkeypatch.setenv(PASSWORD_ENV, lab["probe"]["password"])
    bouncer = lab["pgbouncer"]
    profile = Profile(
        name="lab-direct",
        kind="direct",
        dsn=f"postgresql://{lab['probe']['user']}@{bouncer['host']}:{bouncer['port']}/pulp",
        password_env=PASSWORD_ENV,
        time_unit_seconds=1,
        expected_cutoff_seconds=lab["idle_timeout"],
    )
    profile_store.upsert(profile)
    return profile


def probe_backends(lab: dict[str, Any]) -> int:
    """Backends of direct probes in the lab's PostgreSQL (asked as its superuser)."""
    pg = lab["postgres"]
    with psycopg.connect(
        host=pg["host"],
        port=pg["port"],
        user=pg["superuser"],
        password=pg["superuser_password"],
        dbname=pg["database"],
        autocommit=True,
    ) as conn:
        row = conn.execute(PROBE_BACKENDS).fetchone()
    assert row is not None
    return int(row[0])


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


async def start_direct_run(pilot, app: RdsTuiApp, duration: int) -> MonitorScreen:
    """From the instances list: pick tests 1 and 2 on lab-direct, confirm, start."""
    await wait_for(pilot, lambda: app.screen.profiles, what="the instances")
    await pilot.press("enter")
    assert isinstance(app.screen, PickerScreen)
    source = shown_text(app.screen.query_one("#catalog-source"))
    assert "Direct: probes from this machine (built-in catalog), cutoff 00:03" in source
    await pilot.press("space", "down", "space", "tab", "backspace", "backspace", *str(duration))
    await pilot.press("enter")
    assert isinstance(app.screen, ConfirmScreen)
    message = shown_text(app.screen.query_one("#confirm-message"))
    assert "Start 2 probe(s) from this machine against postgresql://probe@" in message
    assert "2 connection(s) open at the same time" in message
    assert "live as long as it" in message
    assert "Time unit: 1 min = 1 s" in message
    assert app.direct_runs == {}
    await pilot.press("y")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, MonitorScreen),
        what=f"the monitor (notifications: {notifications(app)})",
    )
    return app.screen


async def test_a_direct_run_from_the_dashboard(lab, direct_profile, profile_store, run_store):
    app = RdsTuiApp(profile_store=profile_store, run_store=run_store, default_poll_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        monitor = await start_direct_run(pilot, app, duration=8)
        run_id = monitor.run_record.id
        assert set(app.direct_runs) == {run_id}
        await wait_for(
            pilot, lambda: monitor.query_one(RunHeader).finished, timeout=40, what="the end"
        )
        rows = {row.test_name: row for row in monitor.query_one(TaskTable).rows_by_key.values()}
        idle, heartbeat = rows["test_1_idle_connection"], rows["test_2_active_heartbeat"]
        # The idle probe dies at PgBouncer's cutoff; the heartbeat keeps its connection.
        assert idle.died and idle.died_at == pytest.approx(lab["idle_timeout"], abs=1.0)
        assert not heartbeat.died and heartbeat.state == "completed"
        assert heartbeat.activity.startswith("♥ ")
        # The per-task timers: against the profile's cutoff, stopped at the end.
        assert idle.cutoff == heartbeat.cutoff == lab["idle_timeout"]
        assert idle.connection_text(0).plain.startswith("dead 00:0")
        assert heartbeat.connection_text(0).plain == "alive at end"
        assert heartbeat.final_elapsed == pytest.approx(8, abs=2)

        run = run_store.get(run_id)
        assert run.kind == "direct" and run.finished and len(run.final) == 2
        bouncer = lab["pgbouncer"]
        assert run.api_root == f"postgresql://{bouncer['host']}:{bouncer['port']}/pulp"
        history = [path.read_text() for path in run_store.directory.rglob("*") if path.is_file()]
        assert history and not any(lab["probe"]["password"] in text for text in history)

        # History lists it; opening it shows the stored results, like any run.
        await pilot.press("escape", "h")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, MonitorScreen)
        assert app.screen.query_one(RunHeader).finished
        # A run that ended normally leaves nothing to ask about: q quits at once.
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
    assert probe_backends(lab) == 0


async def test_quitting_asks_then_stops_the_probes_and_keeps_partial_results(
    lab, direct_profile, profile_store, run_store
):
    app = RdsTuiApp(profile_store=profile_store, run_store=run_store, default_poll_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        monitor = await start_direct_run(pilot, app, duration=60)
        run_id = monitor.run_record.id
        # The heartbeat probe is connected (the idle one may already be cut at 3 s).
        await wait_for(
            pilot,
            lambda: any(
                row.state == "running" and row.test_name == "test_2_active_heartbeat"
                for row in monitor.query_one(TaskTable).rows_by_key.values()
            ),
            timeout=20,
            what="the heartbeat probe running",
        )
        assert probe_backends(lab) >= 1

        # "No" keeps everything running.
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        question = shown_text(app.screen.query_one("#confirm-message"))
        assert "probe(s) are still running in this process" in question
        assert "marked partial" in question
        await pilot.press("n")
        assert app.screen is monitor and app.is_running
        assert app.direct_runs[run_id].client.active
        assert probe_backends(lab) >= 1

        # ctrl+c asks the same question; yes stops the probes and quits.
        await pilot.press("ctrl+c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, timeout=60, what="the exit")
    assert app.return_code == 0

    # Every probe closed its connection.
    wait_until(lambda: probe_backends(lab) == 0, timeout=10, what="no rds-probe backend")
    run = run_store.get(run_id)
    assert run.kind == "direct"
    heartbeat = next(
        task for task in run.final.values() if task["name"].endswith("test_2_active_heartbeat")
    )
    assert heartbeat["state"] == "canceled"
    assert heartbeat["result"]["abandoned"], heartbeat["result"]
    assert len(run.final) == 2

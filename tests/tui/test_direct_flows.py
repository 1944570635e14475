"""Direct instances in the dashboard without a lab: the list, the form, the picker's
question, a missing extra, quitting with probes alive, and a run whose process is gone.

A direct run's probes are replaced here by `FakeProbes` (the DirectClient's face as the
app, the monitor and RunService.stop_direct use it); tests/tui/test_direct_lab.py runs
the real ones against the lab."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rds_tui.direct.engine import INSTALL_HINT, DirectUnavailable
from rds_tui.models import Task
from rds_tui.profiles import Profile
from rds_tui.runs import Run, RunTask
from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.history import HistoryScreen
from rds_tui.screens.instances import InstancesScreen
from rds_tui.screens.monitor import PROCESS_GONE, MonitorScreen
from rds_tui.screens.picker import PickerScreen
from rds_tui.screens.profile_form import ProfileFormScreen
from rds_tui.widgets.run_header import RunHeader

from .conftest import SIZE
from .helpers import notifications, shown_text, wait_for

SECRET = "pr0be-s3cret"
DSN = "postgresql://probe@db.example.com:6432/pulp"


@pytest.fixture
def direct_profile(profile_store) -> Profile:
    profile = Profile(
        name="rds-direct",
        kind="direct",
        dsn=DSN,
        password=SECRET,  # stored on purpose: never shown
        time_unit_seconds=1,
        expected_cutoff_seconds=3,
    )
    profile_store.upsert(profile)
    return profile


def task_json(href: str, name: str, state: str, result: dict | None = None) -> dict[str, Any]:
    return {
        "pulp_href": href,
        "state": state,
        "name": f"rds_probes.{name}",
        "pulp_created": "2026-11-28T09:59:00+00:00",
        "started_at": "2026-11-28T09:59:01+00:00",
        "result": result,
    }


class FakeProbes:
    """Stands for a DirectClient whose probes run: stop() ends them canceled with their
    partial results, as the engine does."""

    kind = "direct"
    base_url = DSN
    clock_skew_seconds = 0.0

    def __init__(self, run: Run) -> None:
        self.states = {task.task_href: "running" for task in run.tasks}
        self.names = {task.task_href: task.test_name for task in run.tasks}
        self.stopped = False

    @property
    def active(self) -> bool:
        return any(state == "running" for state in self.states.values())

    async def tasks(self, hrefs: list[str]) -> list[Task]:
        result = {"abandoned": "stopped by the user", "partial": True} if self.stopped else None
        return [
            Task.model_validate(task_json(href, self.names[href], self.states[href], result))
            for href in hrefs
        ]

    async def stop(self) -> None:
        self.stopped = True
        self.states = dict.fromkeys(self.states, "canceled")

    async def cancel(self, href: str) -> Task:
        self.states[href] = "canceled"
        return (await self.tasks([href]))[0]


def direct_run(run_store, run_id: str = "20261128-095900-d1d1") -> Run:
    run = Run(
        id=run_id,
        created_at=datetime(2026, 11, 28, 9, 59, tzinfo=UTC),
        profile="rds-direct",
        api_root=DSN,
        api_prefix="/",
        kind="direct",
        tests=["test_1_idle_connection", "test_2_active_heartbeat"],
        options={"duration_minutes": 600, "time_unit_seconds": 1, "expected_cutoff_seconds": 3},
        tasks=[
            RunTask(test_name=name, task_id=f"t{i}", task_href=f"/direct/tasks/t{i}/")
            for i, name in enumerate(["test_1_idle_connection", "test_2_active_heartbeat"])
        ],
    )
    return run_store.create(run)


async def open_picker(pilot, app) -> str:
    """Enter on the first instance: the picker, once its catalog is in; returns the
    catalog line (where the probes run, or why they cannot start)."""
    await wait_for(pilot, lambda: app.screen.profiles, what="the instances")
    await pilot.press("enter")
    assert isinstance(app.screen, PickerScreen)
    await wait_for(pilot, lambda: app.screen.offline_reason is None, what="the catalog")
    return shown_text(app.screen.query_one("#catalog-source"))


async def test_instances_list_a_direct_profile_without_its_password(make_app, direct_profile):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.screen.profiles, what="the instances")
        table = app.screen.query_one("#profiles-table")
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[:3] == ["rds-direct", "direct", DSN]
        assert "password: stored" in row[3]
        assert SECRET not in " ".join(row)


async def test_the_form_adds_a_direct_profile_and_keeps_the_password_out_of_the_dsn(
    make_app, profile_store
):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        assert isinstance(app.screen, ProfileFormScreen)
        await pilot.press(*"pg", "tab", *f"postgresql://probe:{SECRET}@db.example.com:6432/pulp")
        await pilot.press("ctrl+s")
        # A password inside the DSN is refused unless stored on purpose.
        assert isinstance(app.screen, ProfileFormScreen)
        error = shown_text(app.screen.query_one("#error-dsn"))
        assert "the DSN holds a password" in error and SECRET not in error
        await pilot.press("shift+tab", *["tab"] * 8, "space", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, InstancesScreen), shown_text(
            app.screen.query_one("#form-status")
        )
    saved = profile_store.get("pg")
    assert saved.kind == "direct" and saved.dsn == DSN and saved.password == SECRET
    assert SECRET not in profile_store.path.read_text().split("password = ")[0]


async def test_the_picker_of_a_direct_instance_says_where_the_probes_run(make_app, direct_profile):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        source = await open_picker(pilot, app)
        assert f"probes from this machine (built-in catalog), cutoff 00:03, against {DSN}" in (
            source
        )
        await pilot.press("space", "r")
        assert isinstance(app.screen, ConfirmScreen)
        message = shown_text(app.screen.query_one("#confirm-message"))
        assert f"Start 1 probe(s) from this machine against {DSN}?" in message
        assert "live as long as it" in message and "Time unit: 1 min = 1 s" in message
        assert SECRET not in message


async def test_without_the_direct_extra_the_dispatch_says_how_to_install(
    make_app, direct_profile, run_store
):
    def missing(profile):
        raise DirectUnavailable(f"{INSTALL_HINT} (missing: psycopg)")

    app = make_app(direct_factory=missing)
    async with app.run_test(size=SIZE) as pilot:
        source = await open_picker(pilot, app)
        assert source.startswith("Cannot start: direct runs need psycopg"), source
        await pilot.press("space", "r", "y")
        await wait_for(
            pilot, lambda: any("pip install" in n for n in notifications(app)), what="the hint"
        )
        assert isinstance(app.screen, PickerScreen)
        assert not any("Unexpected" in n for n in notifications(app))
        # The connection check says the same.
        await pilot.press("escape", "t")
        check = app.screen.query_one("#connection-check")
        await wait_for(pilot, lambda: "pip install" in shown_text(check), what="the check")
    assert run_store.list() == []


async def test_quitting_with_live_probes_asks_and_no_keeps_them(make_app, run_store):
    run = direct_run(run_store)
    probes = FakeProbes(run)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.keep_direct_run(run, probes)
        for key in ("q", "ctrl+q"):
            await pilot.press(key)
            assert isinstance(app.screen, ConfirmScreen)
            question = shown_text(app.screen.query_one("#confirm-message"))
            assert question.startswith("2 probe(s) are still running in this process.")
            await pilot.press("n")
            assert app.is_running and not probes.stopped
        assert isinstance(app.screen, InstancesScreen)

        await pilot.press("q", "y")
        await wait_for(pilot, lambda: not app.is_running, what="the exit")
    assert probes.stopped
    stored = run_store.get(run.id)
    assert stored.finished
    assert {task["state"] for task in stored.final.values()} == {"canceled"}
    assert all(task["result"]["abandoned"] for task in stored.final.values())


async def test_a_direct_run_that_ended_needs_no_question(make_app, run_store):
    run = direct_run(run_store)
    probes = FakeProbes(run)
    probes.states = dict.fromkeys(probes.states, "completed")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.keep_direct_run(run, probes)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="the exit")


async def test_a_direct_run_of_a_gone_process_says_so_and_is_not_polled(
    make_app, run_store, mock_pulp
):
    run = direct_run(run_store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # No "re-attach" invitation at start: there is nothing to re-attach to.
        assert not any("unfinished run" in n for n in notifications(app))
        await pilot.press("h")
        assert isinstance(app.screen, HistoryScreen)
        await wait_for(pilot, lambda: app.screen.runs, what="the history")
        row = [str(cell) for cell in app.screen.query_one("#history-table").get_row_at(0)]
        assert row[2] == "rds-direct (direct)" and row[4].startswith("PROCESS GONE: "), row
        await pilot.press("enter")
        monitor = app.screen
        assert isinstance(monitor, MonitorScreen) and monitor.run_record.id == run.id
        await pilot.pause()
        assert monitor.query_one(RunHeader).poll_error == PROCESS_GONE
        assert monitor.monitor is None  # nothing polls it
        await pilot.press("p", "c")
        assert isinstance(app.screen, MonitorScreen)  # no cancel question: nothing to cancel
        # Nothing to ask when quitting: this process runs no probe.
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="the exit")


async def test_the_monitor_stops_one_probe_through_the_live_client(make_app, run_store):
    run = direct_run(run_store)
    probes = FakeProbes(run)
    app = make_app(default_poll_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        app.keep_direct_run(run, probes)
        await pilot.press("h")
        await wait_for(pilot, lambda: app.screen.runs, what="the history")
        await pilot.press("enter")
        monitor = app.screen
        assert isinstance(monitor, MonitorScreen) and monitor.run_record is run
        await wait_for(pilot, lambda: monitor.monitor is not None, what="the watch")
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        question = shown_text(app.screen.query_one("#confirm-message"))
        assert question.startswith("Stop 1 probe(s) running from this machine against")
        assert "keeps what it measured so far" in question
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: "Stopped 1 probe(s); each closed its connection." in notifications(app),
            what="the stop",
        )
        assert probes.states == {
            "/direct/tasks/t0/": "canceled",
            "/direct/tasks/t1/": "running",
        }
        # Leaving the monitor leaves the other probe running, in this process.
        await pilot.press("escape")
        assert any("keep running in this process" in n for n in notifications(app))
        assert app.active_direct_runs()


async def test_an_unset_password_variable_is_said_before_anything_is_picked(
    make_app, profile_store, monkeypatch
):
    monkeypatch.delenv("RDS_TUI_TEST_UNSET", raising=False)
    profile_store.upsert(
        Profile(name="pg", kind="direct", dsn=DSN, password_env="RDS_TUI_TEST_UNSET")
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        source = await open_picker(pilot, app)
        assert source.startswith("Cannot start: environment variable RDS_TUI_TEST_UNSET"), source


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_refused_endpoint_is_worded_and_nothing_runs(
    make_app, profile_store, run_store, monkeypatch
):
    # The real engine and psycopg against a closed port: the check before any probe.
    monkeypatch.setenv("RDS_TUI_TEST_PASSWORD", SECRET)
    port = closed_port()
    profile_store.upsert(
        Profile(
            name="pg",
            kind="direct",
            dsn=f"postgresql://probe@127.0.0.1:{port}/pulp",
            password_env="RDS_TUI_TEST_PASSWORD",
        )
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_picker(pilot, app)
        await pilot.press("space", "r", "y")
        await wait_for(
            pilot,
            lambda: any("nothing listens there" in n for n in notifications(app)),
            what="the refusal",
        )
        assert isinstance(app.screen, PickerScreen)
        assert not any(SECRET in n or "Unexpected" in n for n in notifications(app))
        assert app.direct_runs == {}
        # The connection check words it the same.
        await pilot.press("escape", "t")
        check = app.screen.query_one("#connection-check")
        await wait_for(pilot, lambda: "nothing listens there" in shown_text(check), what="check")
        assert "✓ DSN and password  environment variable RDS_TUI_TEST_PASSWORD" in shown_text(check)
    assert run_store.list() == []

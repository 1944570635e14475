"""The dashboard against the real lab (pulpcore + the plugin + PgBouncer; 1 "minute" =
1 s there), driven with the keyboard only, as an operator would."""

from __future__ import annotations

import pytest
from conftest import DEFAULT_TEST_LAB
from server.labpulp import Pulp

from rds_tui.app import RdsTuiApp
from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.detail import DetailScreen
from rds_tui.screens.diagnosis import DiagnosisScreen
from rds_tui.screens.export import ExportScreen
from rds_tui.screens.history import HistoryScreen
from rds_tui.screens.instances import InstancesScreen
from rds_tui.screens.monitor import MonitorScreen
from rds_tui.screens.picker import PickerScreen
from rds_tui.screens.profile_form import ProfileFormScreen
from rds_tui.widgets.check_list import CheckList
from rds_tui.widgets.run_header import RunHeader
from rds_tui.widgets.task_table import TaskTable

from .conftest import SIZE
from .helpers import shown_text, wait_for

pytestmark = pytest.mark.lab


@pytest.fixture
def pulp(lab):
    """The default lab, with no test task left running before or after."""
    admin = Pulp(lab)
    admin.cancel_all()
    yield lab
    admin.cancel_all()


async def test_whole_flow_with_the_keyboard_only(
    pulp, profile_store, run_store, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # where the export dialog proposes to write
    app = RdsTuiApp(profile_store=profile_store, run_store=run_store, default_poll_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        # A new instance, typed into the form.
        await pilot.press("a")
        assert isinstance(app.screen, ProfileFormScreen)
        await pilot.press(
            *"lab",
            "tab",
            *pulp["api_root"],
            "tab",
            "tab",
            "tab",
            *pulp["username"],
            "tab",
            "tab",
            *pulp["password"],
        )
        await pilot.press(*["tab"] * 7, "space", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, InstancesScreen)
        assert profile_store.get("lab").password == pulp["password"]

        # Test the connection.
        await pilot.press("t")
        check = app.screen.query_one(CheckList)
        await wait_for(pilot, lambda: "Workers online" in shown_text(check), what="the check")
        assert shown_text(check).count("✓") == 5, shown_text(check)

        # Pick tests 1 and 2 for 6 "minutes" (6 s in the lab), confirm, dispatch.
        await pilot.press("enter")
        assert isinstance(app.screen, PickerScreen)
        await wait_for(pilot, lambda: app.screen.offline_reason is None, what="the catalog")
        assert app.screen.cutoff_seconds == pulp["idle_timeout"]
        await pilot.press("space", "down", "space", "tab", "backspace", "backspace", "6", "enter")
        assert isinstance(app.screen, ConfirmScreen), (
            [n.message for n in app._notifications],
            app.screen.query_one("#test-list").selected,
            app.screen.query_one("#duration").value,
        )
        message = shown_text(app.screen.query_one("#confirm-message"))
        assert "Dispatch 2 test(s) to lab" in message
        assert "2 worker(s) of lab will be busy at the same time for about 00:06" in message
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")

        # Watch to the end: the idle connection dies at the lab's cutoff, the heartbeat lives.
        monitor = app.screen
        await wait_for(
            pilot,
            lambda: monitor.query_one(RunHeader).finished,
            timeout=60,
            what="the end of the run",
        )
        rows = {row.test_name: row for row in monitor.query_one(TaskTable).rows_by_key.values()}
        idle, heartbeat = rows["test_1_idle_connection"], rows["test_2_active_heartbeat"]
        assert idle.died and idle.died_at == pytest.approx(pulp["idle_timeout"], abs=1.0)
        assert "57P05" in (idle.died_reason or "") or "idle" in (idle.died_reason or "")
        assert not heartbeat.died and heartbeat.state == "completed"
        assert heartbeat.activity.startswith("♥ ")
        run = run_store.get("last")
        assert run.finished and len(run.final) == 2

        # Detail of the first row, then back.
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        fields = shown_text(app.screen.query_one("#result-fields"))
        assert "seconds_to_disconnect" in fields and "passive-watch" in fields
        await pilot.press("escape")

        # Diagnosis, and a Markdown export.
        await pilot.press("g")
        assert isinstance(app.screen, DiagnosisScreen)
        assert "Recommendation" in shown_text(app.screen.query_one("#diagnosis-body"))
        await pilot.press("x")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("ctrl+s")
        await pilot.pause()
        exported = tmp_path / f"rds-run-{run.id}.md"
        assert exported.read_text().startswith(f"# RDS connection tests: run {run.id}")
        await pilot.press("escape", "escape")

        # The run is in the history, finished.
        await pilot.press("h")
        assert isinstance(app.screen, HistoryScreen)
        assert run.id in str(app.screen.query_one("DataTable").get_row_at(0)[1])


@pytest.fixture(params=["default", "domains"])
def any_lab(request, lab_factory):
    """The default lab, and the same with Pulp domains on (as pulp-service runs)."""
    domains = {"domains": True} if request.param == "domains" else {}
    lab = lab_factory(**DEFAULT_TEST_LAB, **domains)
    admin = Pulp(lab)
    admin.cancel_all()
    yield lab
    admin.cancel_all()


async def test_reattach_after_restart_then_cancel(any_lab, profile_store, run_store):
    from rds_tui.profiles import Profile

    pulp = any_lab

    profile_store.upsert(
        Profile(
            name="lab",
            api_root=pulp["api_root"],
            username=pulp["username"],
            password=pulp["password"],
        )
    )
    app = RdsTuiApp(profile_store=profile_store, run_store=run_store, default_poll_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.offline_reason is None, what="the catalog")
        await pilot.press("space", "down", "space", "tab", "backspace", "3", "0", "enter", "y")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        await pilot.pause(0.5)
    # The dashboard is closed right after the dispatch; the tasks keep running.
    run = run_store.get("last")
    assert not run.finished and len(run.tasks) == 2

    app = RdsTuiApp(profile_store=profile_store, run_store=run_store, default_poll_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h", "enter")
        assert isinstance(app.screen, MonitorScreen)
        table = app.screen.query_one(TaskTable)
        rows = lambda: {r.test_name: r for r in table.rows_by_key.values()}
        await wait_for(
            pilot,
            lambda: rows()["test_1_idle_connection"].died,
            timeout=30,
            what="the idle connection's death",
        )
        assert rows()["test_2_active_heartbeat"].state == "running"
        # Cancel the heartbeat task from the dashboard (it would run 30 s more).
        await pilot.press("down", "c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: rows()["test_2_active_heartbeat"].state == "canceled",
            timeout=20,
            what="the cancel",
        )
        await wait_for(pilot, lambda: run_store.get(run.id).finished, what="the run's end")
    final = run_store.get(run.id)
    states = {task.test_name: final.final[task.task_href]["state"] for task in final.tasks}
    assert states == {"test_1_idle_connection": "completed", "test_2_active_heartbeat": "canceled"}
    tasks = "/pulp/default/api/v3/tasks/" if pulp["domains"] else "/pulp/api/v3/tasks/"
    assert all(task.task_href.startswith(tasks) for task in final.tasks)

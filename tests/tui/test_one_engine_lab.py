"""One run service under both faces, against the real lab (1 "minute" = 1 s there).

A run dispatched from the CLI (with --profile, or with PULP_* only) opens in the
dashboard with the server's timing and goes on being watched with the resolved
credentials; a run dispatched from the dashboard is canceled, watched and reported by
the CLI with the same text as a run the CLI dispatched itself.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from server.labpulp import Pulp
from textual.widgets import DataTable

from rds_tui.app import RdsTuiApp
from rds_tui.cli import EXIT_OK, EXIT_TASKS_FAILED, main
from rds_tui.profiles import Profile
from rds_tui.runs import Run
from rds_tui.screens.monitor import MonitorScreen
from rds_tui.screens.picker import PickerScreen
from rds_tui.widgets.run_header import RunHeader
from rds_tui.widgets.task_table import TaskTable
from rds_tui.widgets.timer_bar import format_clock

from .conftest import SIZE
from .helpers import notifications, shown_text, wait_for

pytestmark = pytest.mark.lab

# The run: 200 lab "minutes" of 1 s each (03:20).
DURATION_MINUTES = 200


@pytest.fixture
def admin(lab):
    """The lab's admin client; no test task left running before or after."""
    pulp = Pulp(lab)
    pulp.cancel_all()
    yield pulp
    pulp.cancel_all()
    pulp.http.close()


@pytest.fixture
def lab_profile(lab, profile_store) -> Profile:
    profile = Profile(
        name="lab",
        api_root=lab["api_root"],
        api_prefix=lab["api_prefix"],
        username=lab["username"],
        password=lab["password"],
    )
    profile_store.upsert(profile)
    return profile


async def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """The CLI in-process, in a thread: it runs its own event loop."""
    code = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def dispatched_run_id(out: str) -> str:
    return re.search(r"rds-tui watch (\S+)", out).group(1)


def wait_for_state(admin: Pulp, run: Run, state: str) -> None:
    admin.wait(
        [{"task_id": t.task_id, "test_name": t.test_name} for t in run.tasks],
        timeout=60,
        states={state},
    )


@pytest.mark.parametrize("login", ["--profile", "PULP_*"])
async def test_a_cli_run_opens_in_the_dashboard_and_is_watched_with_its_credentials(
    login, lab, admin, lab_profile, profile_store, run_store, capsys, monkeypatch
):
    if login == "--profile":
        options = ["--profile", "lab"]
    else:  # the command line: only PULP_*, while profile lab names that server
        monkeypatch.setenv("PULP_API_ROOT", lab["api_root"])
        monkeypatch.setenv("PULP_USER", lab["username"])
        monkeypatch.setenv("PULP_PASSWORD", lab["password"])
        options = []
    code, out, err = await run_cli(
        capsys,
        *options,
        "rds_connection_tests",
        "-t",
        "6",
        "--duration",
        str(DURATION_MINUTES),
        "--no-monitor",
    )
    assert code == EXIT_OK, err
    run = run_store.get(dispatched_run_id(out))
    # Recorded with the server's clock and the profile's name (History shows "lab").
    assert run.profile == "lab"
    assert run.options["time_unit_seconds"] == 1
    assert run.options["expected_cutoff_seconds"] == lab["idle_timeout"]
    for name in ("PULP_API_ROOT", "PULP_USER", "PULP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)  # the dashboard gets no help from them

    app = RdsTuiApp(profile_store=profile_store, run_store=run_store, default_poll_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h")
        history = app.screen.query_one(DataTable)
        assert str(history.get_row_at(0)[2]) == "lab"
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, MonitorScreen) and screen.run_record.id == run.id
        header = shown_text(screen.query_one(RunHeader))
        assert header.startswith(f"lab · run {run.id} · 1 task(s) × 03:20")
        assert f"cutoff {format_clock(lab['idle_timeout'])}" in header
        assert screen.credential_source == "profile lab"
        # Monitoring goes on: polls succeed (no 401), and the task is seen running.
        await wait_for(
            pilot,
            lambda: screen.monitor is not None and screen.monitor.polls >= 2,
            timeout=30,
            what="two successful polls",
        )
        rows = screen.query_one(TaskTable).rows_by_key
        await wait_for(
            pilot,
            lambda: [row.state for row in rows.values()] == ["running"],
            timeout=30,
            what="the task running",
        )
        assert screen.header.poll_error is None
        assert not [n for n in app._notifications if n.title == "Monitoring stopped"]
        assert not any("without credentials" in n for n in notifications(app))


def normalized(text: str, run: Run) -> str:
    """The text with what differs between two runs by nature (ids, clock readings)
    replaced; the Options line reduced to the option names."""
    text = text.replace(run.id, "RUN").replace(run.correlation_id or "RUN", "CID")
    for task in run.tasks:
        text = text.replace(task.task_id, "TASK")
    text = re.sub(
        r"^- Options: (.*)$",
        lambda m: "- Options: " + ", ".join(sorted(o.split("=")[0] for o in m[1].split(", "))),
        text,
        flags=re.MULTILINE,
    )
    return re.sub(r"\d+", "N", text)


async def test_a_dashboard_run_is_canceled_watched_and_reported_by_the_cli_like_a_cli_run(
    lab, admin, lab_profile, profile_store, run_store, capsys
):
    # From the dashboard: test 2 (its connection lives) for 60 lab minutes.
    app = RdsTuiApp(profile_store=profile_store, run_store=run_store, default_poll_interval=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, PickerScreen)
        await wait_for(pilot, lambda: app.screen.offline_reason is None, what="the catalog")
        await pilot.press("down", "space", "tab", "backspace", "backspace", "6", "0", "enter")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        await pilot.pause(0.5)  # let the screen finish mounting before the app closes
    from_dashboard = run_store.get("last")

    # From the CLI: the same test and duration.
    code, out, err = await run_cli(
        capsys,
        "--profile",
        "lab",
        "rds_connection_tests",
        "-t",
        "2",
        "--duration",
        "60",
        "--poll-interval",
        "0.5",
        "--no-monitor",
    )
    assert code == EXIT_OK, err
    from_cli = run_store.get(dispatched_run_id(out))
    assert from_dashboard.id != from_cli.id
    # One record for both faces (contract C4): the same facts, from the server's 202.
    assert from_dashboard.options.keys() == from_cli.options.keys()
    for key in ("duration_minutes", "time_unit_seconds", "expected_cutoff_seconds"):
        assert from_dashboard.options[key] == from_cli.options[key], key
    assert (from_dashboard.profile, from_dashboard.api_prefix, from_dashboard.domain) == (
        from_cli.profile,
        from_cli.api_prefix,
        from_cli.domain,
    )

    texts: dict[str, list[tuple[int, str]]] = {}
    for run in (from_dashboard, from_cli):
        wait_for_state(admin, run, "running")  # both cancels meet the same state
        code, out, err = await run_cli(capsys, "cancel", run.id)
        assert code == EXIT_OK, err
        texts[run.id] = [(code, normalized(out, run))]
        wait_for_state(admin, run, "canceled")
    for run in (from_dashboard, from_cli):
        for argv in (
            ["watch", run.id, "--poll-interval", "0.5"],
            ["report", run.id, "--format", "md"],
        ):
            code, out, err = await run_cli(capsys, *argv)
            texts[run.id].append((code, normalized(out, run)))
    assert texts[from_dashboard.id] == texts[from_cli.id]
    cancel, watch, report = texts[from_cli.id]
    assert "test_N_active_heartbeat: cancel" in cancel[1]  # digits normalized
    assert watch[0] == EXIT_TASKS_FAILED and "test_N_active_heartbeat: CANCELED" in watch[1]
    assert report[1].startswith("# RDS connection tests: run RUN")
    assert run_store.get(from_dashboard.id).finished and run_store.get(from_cli.id).finished

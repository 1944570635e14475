"""The dashboard and the fix patterns: the picker shows the seven by default and the two
fix patterns behind `f`; the Diagnosis screen's `v` verifies a fix (form, confirmation,
dispatch of test 6 next to test 8 or 9, the monitor), and shows the verdict."""

from __future__ import annotations

from textual.widgets import Input, RadioSet, SelectionList

from rds_tui.report import fixes
from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.diagnosis import DiagnosisScreen
from rds_tui.screens.monitor import MonitorScreen
from rds_tui.screens.picker import PickerScreen
from rds_tui.screens.verify import VerifyFormScreen
from rds_tui.widgets.run_header import RunHeader

from .conftest import FIXED_NOW, SIZE
from .helpers import shown_text, wait_for
from .mock_pulp import alive_result, dead_result

FAST_POLL = 0.05
IDLE_MSG = "terminating connection due to idle-session timeout"


def complete(mock_pulp, task_id: str, result: dict) -> None:
    """The task ends with `result`."""
    now = FIXED_NOW.isoformat()
    mock_pulp.update(task_id, state="completed", started_at=now, finished_at=now, result=result)


async def open_picker(pilot) -> PickerScreen:
    await pilot.press("enter")
    screen = pilot.app.screen
    assert isinstance(screen, PickerScreen)
    await wait_for(
        pilot,
        lambda: "catalog from" in shown_text(screen.query_one("#catalog-source")),
        what="the server's catalog",
    )
    return screen


async def test_the_picker_shows_the_seven_and_the_fix_patterns_behind_f(
    make_app, mock_pulp, prod_profile
):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_picker(pilot)
        tests = screen.query_one(SelectionList)
        assert tests.option_count == 7
        assert tests.border_title == "Tests (space toggles, f: fix patterns)"
        await pilot.press("a")  # all = the seven
        assert len(tests.selected) == 7
        await pilot.press("f")
        assert tests.option_count == 9
        assert list(screen.infos)[7:] == ["test_8_listen_with_heartbeat", "test_9_tcp_keepalive"]
        assert len(tests.selected) == 7  # the selection survives the toggle
        await pilot.press("f")
        assert tests.option_count == 7


async def test_test_9_is_dispatched_with_its_keepalive_interval(
    make_app, mock_pulp, prod_profile, run_store
):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_picker(pilot)
        await pilot.press("f")
        tests = screen.query_one(SelectionList)
        tests.highlighted = 8
        await pilot.press("space")
        screen.query_one("#keepalive", Input).value = "20"
        tests.focus()
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        [body] = mock_pulp.dispatched
        assert body["tests"] == ["test_9_tcp_keepalive"]
        assert body["keepalive_interval_seconds"] == 20
        assert run_store.get("last").options["keepalive_interval_seconds"] == 20


async def finished_control_run(pilot, mock_pulp) -> MonitorScreen:
    """Dispatch test 6 from the picker and let it die at the cutoff."""
    screen = await open_picker(pilot)
    tests = screen.query_one(SelectionList)
    tests.highlighted = 5
    await pilot.press("space", "r", "y")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen), what="monitor")
    monitor = pilot.app.screen
    [task_id] = mock_pulp.order
    complete(
        mock_pulp,
        task_id,
        dead_result("test_6_listen_notify", 2402.5, IDLE_MSG),
    )
    await wait_for(pilot, lambda: monitor.query_one(RunHeader).finished, what="the end")
    return monitor


async def test_verify_a_fix_from_the_diagnosis(make_app, mock_pulp, prod_profile, run_store):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await finished_control_run(pilot, mock_pulp)
        await pilot.press("g")
        assert isinstance(app.screen, DiagnosisScreen)
        body = shown_text(app.screen.query_one("#diagnosis-body"))
        # No fix measured yet: the diagnosis names the runs that would settle it.
        assert "rds-tui verify --profile prod --heartbeat 1201" in body
        await pilot.press("v")
        assert isinstance(app.screen, VerifyFormScreen)
        # Half the measured cutoff is offered; keepalives want whole seconds.
        assert app.screen.query_one("#verify-seconds", Input).value == "1201"
        app.screen.query_one(RadioSet).query("RadioButton").last().value = True
        app.screen.query_one("#verify-seconds", Input).value = "20.5"
        await pilot.press("enter")
        assert "whole seconds" in shown_text(app.screen.query_one("#verify-error"))
        app.screen.query_one("#verify-seconds", Input).value = "20"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        message = shown_text(app.screen.query_one("#confirm-message"))
        assert "Verify --keepalive 20 on prod (https://pulp.example.com)?" in message
        assert "test_6_listen_notify" in message and "test_9_tcp_keepalive" in message
        assert "50 minutes of the server" in message  # 40 min cutoff + 25%
        assert len(mock_pulp.dispatched) == 1  # nothing before the yes
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        assert mock_pulp.dispatched[-1] == {
            "tests": ["test_6_listen_notify", "test_9_tcp_keepalive"],
            "run_sequentially": False,
            "duration_minutes": 50,
            "keepalive_interval_seconds": 20,
        }
        monitor = app.screen
        control, fix = mock_pulp.order[-2:]
        complete(
            mock_pulp,
            control,
            dead_result("test_6_listen_notify", 2400.4, IDLE_MSG),
        )
        complete(
            mock_pulp,
            fix,
            {
                **dead_result("test_9_tcp_keepalive", 2400.6, IDLE_MSG),
                "keepalive_interval_seconds": 20,
                "tcp_keepalive": {
                    "requested": {"keepalives": 1},
                    "socket": {"so_keepalive": True, "tcp_keepidle": 20},
                },
            },
        )
        await wait_for(pilot, lambda: monitor.query_one(RunHeader).finished, what="the end")
        await pilot.press("g")
        body = shown_text(app.screen.query_one("#diagnosis-body"))
        assert "Fix verdict: The fix does not hold: TCP keepalives every 20.00 s" in body
        [verdict] = fixes.judge_tasks(run_store.get("last").task_results())
        assert verdict.verdict == fixes.DOES_NOT_HOLD


async def test_a_fix_that_held_shows_its_pulp_settings(make_app, mock_pulp, prod_profile):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await finished_control_run(pilot, mock_pulp)
        await pilot.press("g", "v")
        await pilot.press("enter")  # the heartbeat, at the offered 1201 s
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        assert mock_pulp.dispatched[-1]["heartbeat_interval_seconds"] == 1201
        monitor = app.screen
        control, fix = mock_pulp.order[-2:]
        complete(
            mock_pulp,
            control,
            dead_result("test_6_listen_notify", 2400.4, IDLE_MSG),
        )
        held = {
            **alive_result("test_8_listen_with_heartbeat", heartbeats=2),
            "heartbeat_interval_seconds": 1201,
            "actual_duration_seconds": 3000.0,
            "passive_alive_at_deadline": True,
        }
        complete(
            mock_pulp,
            fix,
            held,
        )
        await wait_for(pilot, lambda: monitor.query_one(RunHeader).finished, what="the end")
        await pilot.press("g")
        body = shown_text(app.screen.query_one("#diagnosis-body"))
        assert "Fix verdict: The fix holds: A client heartbeat (SELECT 1)" in body
        assert "WORKER_TTL = 3603" in body


async def test_read_only_offers_no_verify(make_app, mock_pulp, prod_profile, run_store):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await finished_control_run(pilot, mock_pulp)
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h", "g")
        assert isinstance(app.screen, DiagnosisScreen)
        await pilot.press("v")
        assert isinstance(app.screen, DiagnosisScreen)

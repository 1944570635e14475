"""Hostile server and database text on every screen of the dashboard: no crash, shown
literally (markup stays text, `[@click=app.quit]` quits nothing), no terminal control.

The mock server puts HOSTILE (tests/client/fakepulp.py: Rich markup, OSC 52, CSI, BEL,
NUL, C1, BiDi, 10 kB) in its catalog, 202, progress messages, status and error bodies;
the results carry it in every text field and in a NOTIFY payload.
"""

from __future__ import annotations

import ast
import io
from datetime import timedelta
from pathlib import Path

import pytest
from client.fakepulp import HOSTILE, TERMINAL_CONTROLS, hostile_result
from rich.console import Console
from textual.widgets import DataTable, Input, Static

from rds_tui import credentials
from rds_tui.profiles import Profile
from rds_tui.screens.compare import CompareScreen
from rds_tui.screens.detail import DetailScreen
from rds_tui.screens.diagnosis import DiagnosisScreen
from rds_tui.screens.export import ExportScreen
from rds_tui.screens.history import HistoryScreen
from rds_tui.screens.instances import InstancesScreen
from rds_tui.screens.monitor import MonitorScreen
from rds_tui.screens.picker import PickerScreen
from rds_tui.screens.profile_form import ProfileFormScreen
from rds_tui.widgets.check_list import CheckList
from rds_tui.widgets.task_table import TaskTable

from .conftest import FIXED_NOW, SIZE
from .helpers import notifications, shown_text, wait_for
from .test_dashboard_flows import pick_and_dispatch, type_into

FAST_POLL = 0.3
MARKUP_PIECES = ("[/x]", "[@click=app.quit]quit[/]", "[link=http://x]link[/link]")


@pytest.fixture
def mock_pulp(mock_pulp):
    mock_pulp.hostile = HOSTILE
    return mock_pulp


def rendered(widget: Static) -> str:
    """What a Static shows, rendered wide (a Table's cells wrap in a narrow console)."""
    content = widget.content
    if isinstance(content, str):
        return content
    if hasattr(content, "plain"):
        return content.plain
    console = Console(width=2000, file=io.StringIO(), record=True)
    console.print(content)
    return console.export_text()


def screen_text(app) -> str:
    return "\n".join(rendered(widget) for widget in app.screen.query(Static))


def assert_shown_literally(text: str) -> None:
    for piece in MARKUP_PIECES:
        assert piece in text, f"{piece!r} is not shown as it is"
    for control in TERMINAL_CONTROLS:
        assert control not in text, f"{control!r} reached the screen"


def assert_notifications_plain(app) -> None:
    for notification in app._notifications:
        assert notification.markup is False, notification.message
        for control in TERMINAL_CONTROLS:
            assert control not in notification.message


async def hostile_run(pilot, mock_pulp, run_store) -> MonitorScreen:
    """Pick (hostile catalog), confirm, dispatch (hostile 202), watch a hostile progress
    report and a hostile result to the end."""
    app = pilot.app
    await pick_and_dispatch(pilot, [0])
    assert_shown_literally(shown_text(app.screen.query_one("#confirm-message")))
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="the monitor")
    screen = app.screen
    task_id = mock_pulp.order[-1]
    mock_pulp.update(task_id, state="running", started_at=FIXED_NOW.isoformat())
    table = screen.query_one(TaskTable)
    href = mock_pulp.tasks[task_id]["pulp_href"]
    await wait_for(
        pilot, lambda: href in table.rows_by_key and table.rows_by_key[href].state == "running"
    )
    mock_pulp.update(
        task_id,
        state="completed",
        finished_at=(FIXED_NOW + timedelta(seconds=2403)).isoformat(),
        result=hostile_result(HOSTILE),
    )
    await wait_for(pilot, lambda: run_store.get("last").finished, what="the end of the run")
    await wait_for(pilot, lambda: table.rows_by_key[href].died, what="the death")
    return screen


async def test_every_screen_shows_hostile_text_literally(
    make_app, mock_pulp, prod_profile, run_store, tmp_path
):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        # Picker: titles and descriptions from the catalog.
        await pilot.press("enter")
        assert isinstance(app.screen, PickerScreen)
        await wait_for(
            pilot, lambda: "catalog from" in rendered(app.screen.query_one("#catalog-source"))
        )
        assert_shown_literally(rendered(app.screen.query_one("#test-description")))
        await pilot.press("escape")

        # Monitor: progress, the death's reason in the summary and the alerts.
        screen = await hostile_run(pilot, mock_pulp, run_store)
        summary = rendered(screen.query_one("#task-summary"))
        assert "[/x]" in summary and "\x1b" not in summary
        assert any("[/x]" in message for message in notifications(app))
        assert_notifications_plain(app)

        # Detail: every tab, the NOTIFY payload in the timeline included.
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        for tab in ("tab-result", "tab-timeline", "tab-server", "tab-error", "tab-json"):
            app.screen.query_one("#detail-tabs").active = tab
            await pilot.pause()
        detail = screen_text(app)
        assert_shown_literally(detail)
        assert "notification" in detail
        await pilot.press("escape")

        # Diagnosis, then the export of the run (Markdown, escaped).
        await pilot.press("g")
        assert isinstance(app.screen, DiagnosisScreen)
        for control in TERMINAL_CONTROLS:
            assert control not in screen_text(app)
        await pilot.press("x")
        assert isinstance(app.screen, ExportScreen)
        target = tmp_path / "hostile.md"
        app.screen.query_one("#export-path", Input).value = str(target)
        await pilot.press("ctrl+s")
        await wait_for(pilot, target.exists, what="the export")
        exported = target.read_text()
        assert "\x1b" not in exported and "\x07" not in exported
        assert "\\[/x\\]" in exported  # escaped Markdown, shown literally by a renderer
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, InstancesScreen)

        # A second run, then History and Compare.
        await hostile_run(pilot, mock_pulp, run_store)
        await pilot.press("h")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("space", "down", "space", "m")
        assert isinstance(app.screen, CompareScreen)
        rows = app.screen.query_one(DataTable)
        assert rows.row_count >= 1
        for control in TERMINAL_CONTROLS:
            assert control not in screen_text(app)
        assert_notifications_plain(app)
        assert app.is_running  # nothing quit it: [@click=app.quit] stayed text
        assert "Traceback" not in app.export_screenshot()


async def test_connection_check_and_refusals_show_the_server_text_literally(
    make_app, mock_pulp, prod_profile
):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        check = app.screen.query_one(CheckList)
        await wait_for(pilot, lambda: "Workers online" in shown_text(check), what="the check")
        assert_shown_literally(shown_text(check))  # the status's version string

        mock_pulp.password = "changed"  # 401 with a hostile body
        await pilot.press("t")
        await wait_for(pilot, lambda: "✗" in shown_text(check), what="the failed check")
        for control in TERMINAL_CONTROLS:
            assert control not in shown_text(check)

        mock_pulp.password = "secret"
        await pick_and_dispatch(pilot, [0])
        mock_pulp.enabled = False  # a hostile 403 body
        await pilot.press("y")
        await wait_for(pilot, lambda: any("not enabled" in n for n in notifications(app)))
        refusal = next(n for n in notifications(app) if "not enabled" in n)
        assert "[/x]" in refusal
        assert_notifications_plain(app)
        assert isinstance(app.screen, PickerScreen)


async def test_the_form_refuses_a_url_with_a_password_without_showing_it(make_app, profile_store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, ProfileFormScreen)
        await type_into(pilot, "#field-name", "leaky")
        await type_into(pilot, "#field-api_root", "https://admin:S3cr3t-pw@pulp.example.com")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ProfileFormScreen)
        error = shown_text(app.screen.query_one("#error-api_root"))
        assert "contains credentials" in error
        assert "S3cr3t-pw" not in screen_text(app).replace(
            app.screen.query_one("#field-api_root", Input).value, ""
        )
        assert not profile_store.path.exists()


async def test_a_password_over_plain_http_is_announced_once(
    make_app, profile_store, mock_pulp, monkeypatch
):
    monkeypatch.setattr(credentials, "_warned_plain_http", set())
    mock_pulp.hostile = None
    profile_store.upsert(
        Profile(name="plain", api_root="http://pulp.example.com", username="admin", password="x")
    )
    profile_store.upsert(
        Profile(name="local", api_root="http://127.0.0.1:24817", username="admin", password="x")
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        warned = lambda: [n for n in app._notifications if n.title == "Unencrypted password"]
        await pilot.press("down", "enter")  # "plain" (the list is sorted by name)
        assert isinstance(app.screen, PickerScreen)
        assert app.screen.profile.name == "plain"
        await wait_for(pilot, warned, what="the warning")
        assert "http://pulp.example.com" in warned()[0].message
        await pilot.press("f5")  # another request to the same server: no second warning
        await pilot.pause(0.3)
        await pilot.press("escape", "up", "enter")  # the local one: loopback, no warning
        assert app.screen.profile.name == "local"
        await pilot.pause(0.3)
        assert len(warned()) == 1


def test_every_notification_of_the_dashboard_is_plain_text():
    """Textual's notify parses markup unless told not to: every call says markup=False
    (a notification may quote the server)."""
    package = Path(__file__).resolve().parents[2] / "rds_tui"
    files = [package / "app.py", *(package / "screens").glob("*.py")]
    files += [*(package / "widgets").glob("*.py")]
    calls = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "notify"
            ):
                plain = any(
                    k.arg == "markup"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is False
                    for k in node.keywords
                )
                calls.append((f"{path.name}:{node.lineno}", plain))
    assert len(calls) > 20
    assert [where for where, plain in calls if not plain] == []

"""Pilot tests of the dashboard's flows against an in-process Pulp (MockTransport).

Each test drives the app as an operator would (keys) and checks what the operator
would check: what the screen says, what was saved, what reached the server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import DataTable, Input, SelectionList

from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.detail import DetailScreen
from rds_tui.screens.history import HistoryScreen
from rds_tui.screens.instances import InstancesScreen
from rds_tui.screens.monitor import MonitorScreen
from rds_tui.screens.picker import PickerScreen
from rds_tui.screens.profile_form import ProfileFormScreen
from rds_tui.widgets.check_list import CheckList
from rds_tui.widgets.run_header import RunHeader
from rds_tui.widgets.task_table import TaskTable

from .conftest import FIXED_NOW, SIZE
from .helpers import notifications, shown_text, wait_for
from .mock_pulp import TASKS_PATH, alive_result, dead_result

FAST_POLL = 0.3


async def type_into(pilot, selector: str, text: str) -> None:
    """Fill a field (typing key by key is covered by the keyboard-only test)."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = text
    await pilot.pause()


async def test_create_an_instance_with_a_validated_form(make_app, profile_store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        message = app.screen.query_one("#profiles-message")
        await wait_for(pilot, lambda: "No instances yet" in shown_text(message))
        await pilot.press("a")
        assert isinstance(app.screen, ProfileFormScreen)
        await type_into(pilot, "#field-name", "staging")
        await type_into(pilot, "#field-api_root", "pulp.example.com/pulp/api/v3")
        await type_into(pilot, "#field-poll_interval", "soon")
        await pilot.press("ctrl+s")
        # Still on the form, each bad field says what is wrong; nothing was written.
        assert isinstance(app.screen, ProfileFormScreen)
        assert "not a server URL" in shown_text(app.screen.query_one("#error-api_root"))
        assert "not a number" in shown_text(app.screen.query_one("#error-poll_interval"))
        assert not profile_store.path.exists()
        await type_into(pilot, "#field-api_root", "https://staging.example.com")
        await type_into(pilot, "#field-poll_interval", "15")
        await type_into(pilot, "#field-username", "admin")
        await type_into(pilot, "#field-password_env", "STAGING_PASSWORD")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, InstancesScreen)
        saved = profile_store.get("staging")
        assert saved.api_root == "https://staging.example.com"
        assert saved.poll_interval == 15
        assert saved.password is None and saved.password_env == "STAGING_PASSWORD"
        table = app.screen.query_one(DataTable)
        assert str(table.get_row_at(0)[0]) == "staging"  # a Text cell: never markup


async def test_a_typed_password_is_only_stored_when_asked(make_app, profile_store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await type_into(pilot, "#field-name", "prod")
        await type_into(pilot, "#field-api_root", "https://pulp.example.com")
        await type_into(pilot, "#field-password", "hunter2")
        await pilot.press("ctrl+s")
        assert "tick 'Store the password" in shown_text(app.screen.query_one("#error-password"))
        app.screen.query_one("#store-password").value = True
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert profile_store.get("prod").password == "hunter2"
        # The password is never on screen.
        assert "hunter2" not in app.export_screenshot()


async def test_delete_asks_first(make_app, profile_store, prod_profile):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert profile_store.get("prod")
        await pilot.press("d", "y")
        await pilot.pause()
        assert profile_store.list() == []


@pytest.mark.parametrize(
    ("breakage", "failed_check", "message"),
    [
        ({"password": "other"}, "Authenticated", "Authentication failed for user 'admin'"),
        ({"plugin_installed": False}, "Plugin installed", "plugin is not installed"),
        ({"enabled": False}, "Tests enabled", "RDS_CONNECTION_TESTS_ENABLED is off"),
        ({"gone": True}, "Reachable", "Cannot reach https://pulp.example.com"),
        ({"workers": 0}, "Workers online", "0 online"),
    ],
)
async def test_connection_check_names_what_is_wrong(
    make_app, mock_pulp, prod_profile, breakage, failed_check, message
):
    for key, value in breakage.items():
        setattr(mock_pulp, key, value)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        check = app.screen.query_one(CheckList)
        await wait_for(pilot, lambda: "Workers online" in shown_text(check), what="the check")
        lines = shown_text(check).splitlines()
        failed = [line for line in lines if line.startswith("✗")]
        assert failed and failed[0].startswith(f"✗ {failed_check}"), lines
        assert message in failed[0]
        assert "Traceback" not in app.export_screenshot()


@pytest.mark.parametrize("login_endpoint", [True, False], ids=["login", "older-pulpcore"])
async def test_connection_check_all_good(make_app, mock_pulp, prod_profile, login_endpoint):
    mock_pulp.login_endpoint = login_endpoint
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        check = app.screen.query_one(CheckList)
        await wait_for(pilot, lambda: "Workers online" in shown_text(check))
        text = shown_text(check)
        assert text.count("✓") == 5, text
        assert "3 online" in text and "pulp-rds-tests 0.1.0" in text
    asked = [path for _method, path in mock_pulp.requests]
    assert "/pulp/api/v3/login/" in asked
    # Without the login endpoint, listing tasks (which needs a login) stands in for it.
    assert ("/pulp/api/v3/tasks/" in asked) is not login_endpoint


async def pick_and_dispatch(pilot, tests: list[int], duration: str | None = None) -> None:
    """From the instances screen: Enter, select tests by position, run, confirm."""
    app = pilot.app
    await pilot.press("enter")
    assert isinstance(app.screen, PickerScreen)
    await wait_for(
        pilot,
        lambda: "catalog from" in shown_text(app.screen.query_one("#catalog-source")),
        what="the server's catalog",
    )
    selection = app.screen.query_one(SelectionList)
    for index in tests:
        selection.highlighted = index
        await pilot.press("space")
    if duration is not None:
        await type_into(pilot, "#duration", duration)
        selection.focus()
    await pilot.press("r")
    assert isinstance(app.screen, ConfirmScreen)


async def test_pick_confirm_and_dispatch(make_app, mock_pulp, prod_profile, run_store):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pick_and_dispatch(pilot, [0, 5], duration="20")
        message = shown_text(app.screen.query_one("#confirm-message"))
        assert "Dispatch 2 test(s) to prod (https://pulp.example.com)?" in message
        assert "2 worker(s) of prod will be busy at the same time for about 20:00" in message
        assert not mock_pulp.dispatched  # nothing before the yes
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        assert mock_pulp.dispatched == [
            {
                "tests": ["test_1_idle_connection", "test_6_listen_notify"],
                "run_sequentially": False,
                "duration_minutes": 20,
                "stop_on_disconnect": True,
            }
        ]
        # The run is in the history before anything else happens.
        run = run_store.get("last")
        assert [task.test_name for task in run.tasks] == [
            "test_1_idle_connection",
            "test_6_listen_notify",
        ]
        assert run.profile == "prod" and not run.finished
        table = app.screen.query_one(TaskTable)
        await wait_for(pilot, lambda: len(table.rows_by_key) == 2)


async def test_sequential_confirmation_counts_one_worker_for_the_sum(make_app, prod_profile):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.catalog.plugin_version is not None)
        app.screen.query_one("#sequential").value = True
        await pick_and_dispatch_on_picker(pilot, [0, 1, 2])
        message = shown_text(app.screen.query_one("#confirm-message"))
        assert "1 worker of prod will be busy for about 2:30:00" in message
        assert "(3 test(s) one after another, 50:00 each)" in message
        await pilot.press("n")
        assert isinstance(app.screen, PickerScreen)


async def pick_and_dispatch_on_picker(pilot, tests: list[int]) -> None:
    selection = pilot.app.screen.query_one(SelectionList)
    selection.focus()
    for index in tests:
        selection.highlighted = index
        await pilot.press("space")
    await pilot.press("r")


async def test_dispatch_refused_by_the_server_is_explained(
    make_app, mock_pulp, prod_profile, run_store
):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pick_and_dispatch(pilot, [0])
        mock_pulp.enabled = False  # disabled between the catalog and the dispatch
        await pilot.press("y")
        await wait_for(pilot, lambda: any("not enabled" in n for n in notifications(app)))
        assert isinstance(app.screen, PickerScreen)
        assert run_store.list() == []


async def test_offline_catalog_is_marked(make_app, mock_pulp, prod_profile):
    mock_pulp.gone = True
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        source = app.screen.query_one("#catalog-source")
        await wait_for(pilot, lambda: "OFFLINE" in shown_text(source))
        assert "Cannot reach https://pulp.example.com" in shown_text(source)
        assert app.screen.query_one(SelectionList).option_count == 7


async def start_monitoring(pilot, mock_pulp, tests: list[int]) -> MonitorScreen:
    await pick_and_dispatch(pilot, tests)
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MonitorScreen))
    return pilot.app.screen


async def test_watch_a_run_to_completion(make_app, mock_pulp, prod_profile, run_store, clock):
    app = make_app(default_poll_interval=FAST_POLL, bell=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_monitoring(pilot, mock_pulp, [0, 1])
        table = screen.query_one(TaskTable)
        idle, heartbeat = mock_pulp.order
        started = (FIXED_NOW - timedelta(seconds=2395)).isoformat()
        mock_pulp.update(idle, state="running", started_at=started)
        mock_pulp.update(heartbeat, state="running", started_at=started)
        await wait_for(
            pilot, lambda: table.rows_by_key[mock_pulp.tasks[idle]["pulp_href"]].state == "running"
        )
        href = mock_pulp.tasks[idle]["pulp_href"]
        row = lambda: table.rows_by_key[href]
        assert row().elapsed(clock.monotonic()) == pytest.approx(2395)
        # The timer ticks locally: ten seconds later it is past the cutoff, highlighted.
        clock.advance(10)
        assert row().connection_text(clock.monotonic()).plain.startswith("ALIVE +5.0s")
        mock_pulp.update(
            idle,
            state="completed",
            finished_at=FIXED_NOW.isoformat(),
            result=dead_result(
                "test_1_idle_connection",
                2402.5,
                "terminating connection due to idle-session timeout",
            ),
        )
        await wait_for(pilot, lambda: row().died, what="the death")
        assert row().connection_text(clock.monotonic()).plain == "dead 40:02 +2.5s"
        await wait_for(
            pilot,
            lambda: any("Connection died" == n.title for n in app._notifications),
            what="the alert",
        )
        summary = shown_text(screen.query_one("#task-summary"))
        assert "1 completed, 1 running; 1 connection(s) dead" in summary
        mock_pulp.update(
            heartbeat,
            state="completed",
            finished_at=FIXED_NOW.isoformat(),
            result=alive_result("test_2_active_heartbeat", heartbeats=50),
        )
        await wait_for(pilot, lambda: screen.query_one(RunHeader).finished, what="the end")
        run = run_store.get("last")
        assert run.finished and len(run.final) == 2
        assert run.final[href]["result"]["seconds_to_disconnect"] == 2402.5
        hb_href = mock_pulp.tasks[heartbeat]["pulp_href"]
        assert table.rows_by_key[hb_href].activity == "♥ 50"
        assert any("finished" in (n.title or "") for n in app._notifications)


async def test_a_task_deleted_on_the_server_ends_the_run(
    make_app, mock_pulp, prod_profile, run_store
):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_monitoring(pilot, mock_pulp, [0])
        (task_id,) = mock_pulp.order
        href = mock_pulp.tasks[task_id]["pulp_href"]
        mock_pulp.update(task_id, state="running", started_at=FIXED_NOW.isoformat())
        table = screen.query_one(TaskTable)
        await wait_for(pilot, lambda: table.rows_by_key[href].state == "running")
        del mock_pulp.tasks[task_id]  # e.g. purged by an administrator
        await wait_for(pilot, lambda: screen.query_one(RunHeader).finished, what="the end")
        assert table.rows_by_key[href].state == "missing"
    run = run_store.get("last")
    assert run.finished and run_store.unfinished() == []  # not re-attached at next start
    assert "no longer has this task" in run.final[href]["error"]["description"]


async def test_detail_shows_the_result_and_copies_the_json(make_app, mock_pulp, prod_profile):
    app = make_app(default_poll_interval=FAST_POLL)
    copied = []
    app.copy_to_clipboard = copied.append
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_monitoring(pilot, mock_pulp, [0])
        task_id = mock_pulp.order[0]
        mock_pulp.update(
            task_id,
            state="completed",
            started_at=FIXED_NOW.isoformat(),
            finished_at=(FIXED_NOW + timedelta(seconds=2403)).isoformat(),
            result=dead_result("test_1_idle_connection", 2402.5, "server closed the connection"),
        )
        table = screen.query_one(TaskTable)
        await wait_for(pilot, lambda: any(r.died for r in table.rows_by_key.values()))
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        fields = shown_text(app.screen.query_one("#result-fields"))
        assert "seconds_to_disconnect" in fields and "2402.5" in fields
        assert "passive-watch" in fields
        await pilot.press("c")
        assert '"seconds_to_disconnect": 2402.5' in copied[0]
        await pilot.press("escape")
        assert isinstance(app.screen, MonitorScreen)


async def test_cancel_one_task_after_confirmation(make_app, mock_pulp, prod_profile):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await start_monitoring(pilot, mock_pulp, [0, 1])
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Cancel 1 task(s) on prod" in shown_text(app.screen.query_one("#confirm-message"))
        await pilot.press("n")
        assert not [r for r in mock_pulp.requests if r[0] == "PATCH"]
        await pilot.press("c", "y")
        await wait_for(pilot, lambda: [r for r in mock_pulp.requests if r[0] == "PATCH"])
        patched = [path for method, path in mock_pulp.requests if method == "PATCH"]
        assert patched == [mock_pulp.tasks[mock_pulp.order[0]]["pulp_href"]]
        await pilot.press("C", "y")
        await wait_for(pilot, lambda: len([r for r in mock_pulp.requests if r[0] == "PATCH"]) == 3)


async def test_server_gone_mid_monitor_is_shown_then_recovers(
    make_app, mock_pulp, prod_profile, clock
):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_monitoring(pilot, mock_pulp, [0])
        header = screen.query_one(RunHeader)
        await wait_for(pilot, lambda: header.last_success_monotonic is not None)
        mock_pulp.gone = True
        await wait_for(pilot, lambda: header.poll_error is not None, what="the failure")
        clock.advance(30)
        screen._tick()
        text = shown_text(header)
        assert "POLL FAILING (last success 30 s ago" in text
        assert "Cannot reach https://pulp.example.com" in text
        mock_pulp.gone = False
        await wait_for(pilot, lambda: header.poll_error is None, what="recovery")
        assert "Last successful poll 0 s ago" in shown_text(header)


async def test_reattach_after_restarting_the_app(make_app, mock_pulp, prod_profile, run_store):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await start_monitoring(pilot, mock_pulp, [0, 1])
        first, second = mock_pulp.order
        mock_pulp.update(
            first,
            state="completed",
            started_at=FIXED_NOW.isoformat(),
            finished_at=FIXED_NOW.isoformat(),
            result=alive_result("test_1_idle_connection"),
        )
        await wait_for(pilot, lambda: run_store.get("last").final)
    # The operator closed the terminal; the second task kept running on the server.
    mock_pulp.update(second, state="running", started_at=FIXED_NOW.isoformat())
    mock_pulp.requests.clear()
    mock_pulp.polled_ids.clear()
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: any("1 unfinished run(s)" in n for n in notifications(app)),
            what="the unfinished-run notice",
        )
        await pilot.press("h")
        assert isinstance(app.screen, HistoryScreen)
        table = app.screen.query_one(DataTable)
        assert "UNFINISHED" in str(table.get_row_at(0)[4])
        await pilot.press("enter")
        assert isinstance(app.screen, MonitorScreen)
        rows = app.screen.query_one(TaskTable).rows_by_key
        await wait_for(
            pilot,
            lambda: (
                len(rows) == 2 and rows[mock_pulp.tasks[second]["pulp_href"]].state == "running"
            ),
        )
        assert rows[mock_pulp.tasks[first]["pulp_href"]].state == "completed"
        # Only the unfinished task is polled again: the finished one is read from history.
        assert mock_pulp.polled_ids
        assert all(ids == [second] for ids in mock_pulp.polled_ids), mock_pulp.polled_ids
        mock_pulp.update(
            second,
            state="completed",
            finished_at=FIXED_NOW.isoformat(),
            result=alive_result("test_2_active_heartbeat"),
        )
        await wait_for(pilot, lambda: run_store.get("last").finished)


async def test_read_only_mode_cannot_dispatch_or_cancel(
    make_app, mock_pulp, prod_profile, run_store
):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await start_monitoring(pilot, mock_pulp, [0])
    app = make_app(read_only=True, default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")  # Pick tests is not available
        assert isinstance(app.screen, InstancesScreen)
        assert "Pick tests" not in app.export_screenshot()
        await pilot.press("h", "enter")
        assert isinstance(app.screen, MonitorScreen)
        await pilot.press("c")
        assert isinstance(app.screen, MonitorScreen)
        assert "Cancel" not in app.export_screenshot()
        assert not [r for r in mock_pulp.requests if r[0] in ("PATCH", "POST")][1:]


async def test_every_action_of_the_screen_is_in_the_command_palette(
    make_app, mock_pulp, prod_profile
):
    from rds_tui.palette import DashboardCommands

    async def commands(screen, query: str) -> dict:
        provider = DashboardCommands(screen)
        return {str(hit.text): hit.command async for hit in provider.search(query)}

    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_monitoring(pilot, mock_pulp, [0])
        found = await commands(screen, "cancel")
        assert {"Cancel task", "Cancel all"} <= set(found)
        await found["Cancel task"]()
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert "Detail" in await commands(screen, "deta")
        assert not await commands(screen, "diag")  # no finished task yet: not offered
        assert "History" in await commands(screen, "hist")  # the app's own bindings too
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h", "enter")
        assert isinstance(app.screen, MonitorScreen)
        assert not await commands(app.screen, "cancel")


async def test_compare_two_runs_side_by_side(make_app, mock_pulp, prod_profile, run_store):
    from rds_tui.screens.compare import CompareScreen

    results = {}
    for death in (2402.5, 1801.0):
        app = make_app(default_poll_interval=FAST_POLL)
        async with app.run_test(size=SIZE) as pilot:
            await start_monitoring(pilot, mock_pulp, [0])
            task_id = mock_pulp.order[-1]
            mock_pulp.update(
                task_id,
                state="completed",
                started_at=FIXED_NOW.isoformat(),
                finished_at=FIXED_NOW.isoformat(),
                result=dead_result("test_1_idle_connection", death, "closed"),
            )
            await wait_for(pilot, lambda: run_store.get("last").finished)
            results[death] = run_store.get("last").id
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h", "space", "down", "space", "m")
        assert isinstance(app.screen, CompareScreen)
        row = app.screen.query_one(DataTable).get_row_at(0)
        assert [str(cell) for cell in row] == [
            "1 Idle connection",
            "dead 30:01 57P05",
            "dead 40:02 57P05",
        ]
        cutoffs = shown_text(app.screen.query_one("#compare-cutoffs"))
        # The cutoff is the client's silence before the death (0.2 s less in these results).
        assert f"({results[1801.0]}): idle cutoff 30:00 (1800.8 s)" in cutoffs
        assert f"({results[2402.5]}): idle cutoff 40:02 (2402.3 s)" in cutoffs


async def test_wrong_password_mid_run_stops_polling_with_the_reason(
    make_app, mock_pulp, prod_profile
):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_monitoring(pilot, mock_pulp, [0])
        header = screen.query_one(RunHeader)
        mock_pulp.password = "rotated"  # someone changed the password meanwhile
        await wait_for(pilot, lambda: header.poll_error and "Polling stopped" in header.poll_error)
        text = shown_text(header)
        assert "Authentication failed for user 'admin'" in text
        assert "press p to retry" in text
        mock_pulp.password = prod_profile.password
        await pilot.press("p")
        await wait_for(pilot, lambda: header.poll_error is None, what="polling again")


def headless_run(run_store, mock_pulp, api_root: str = "https://pulp.example.com"):
    """A run recorded without a profile (as the CLI did before it recorded one)."""
    from rds_tui.runs import Run, RunTask

    task_id = mock_pulp.add_task("test_6_listen_notify", "running")
    task = mock_pulp.tasks[task_id]
    return run_store.create(
        Run(
            api_root=api_root,
            tests=["test_6_listen_notify"],
            options={
                "duration_minutes": 200,
                "time_unit_seconds": 1,
                "expected_cutoff_seconds": 40,
            },
            tasks=[
                RunTask(
                    test_name="test_6_listen_notify", task_id=task_id, task_href=task["pulp_href"]
                )
            ],
        )
    )


async def test_a_run_without_profile_is_watched_with_the_saved_profile_of_its_server(
    make_app, mock_pulp, prod_profile, run_store
):
    run = headless_run(run_store, mock_pulp)
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h", "enter")
        screen = app.screen
        assert isinstance(screen, MonitorScreen) and screen.run_record.id == run.id
        header = screen.query_one(RunHeader)
        assert "prod · run" in shown_text(header)
        assert "× 03:20 · cutoff 00:40" in shown_text(header)  # the server's minutes
        assert "Credentials: saved profile prod (same server)" in notifications(app)
        rows = screen.query_one(TaskTable).rows_by_key
        await wait_for(pilot, lambda: [r.state for r in rows.values()] == ["running"])
        assert header.poll_error is None


async def test_credentials_are_not_sent_to_another_server(
    make_app, mock_pulp, prod_profile, run_store, monkeypatch
):
    # PULP_* name another server; prod's credentials are for pulp.example.com only.
    monkeypatch.setenv("PULP_API_ROOT", "https://elsewhere.example.com")
    monkeypatch.setenv("PULP_USER", "admin")
    monkeypatch.setenv("PULP_PASSWORD", mock_pulp.password)
    headless_run(run_store, mock_pulp, api_root="https://other.example.com")
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h", "enter")
        screen = app.screen
        assert screen.profile.username is None and screen.profile.password is None
        assert "Credentials: no credentials" in notifications(app)
        header = screen.query_one(RunHeader)
        await wait_for(pilot, lambda: header.poll_error, what="the server's refusal")
        assert "Authentication" in header.poll_error or "401" in header.poll_error


async def test_profile_option_opens_the_picker(make_app, prod_profile):
    app = make_app(profile_name="prod")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        assert app.screen.profile.name == "prod"
    app = make_app(profile_name="nope")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, InstancesScreen)
        assert any("no profile named 'nope'" in n for n in notifications(app))


async def test_import_pulp_cli_profiles(make_app, profile_store, tmp_path, monkeypatch):
    config = tmp_path / "xdg" / "pulp" / "cli.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        '[cli]\nbase_url = "https://pulp.example.com"\nusername = "admin"\n'
        'password = "from-pulp-cli"\n\n'
        '[cli-staging]\nbase_url = "https://staging.example.com"\nusername = "ops"\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        message = shown_text(app.screen.query_one("#profiles-message"))
        assert "Imported from pulp-cli: pulp-cli, staging" in message
        table = app.screen.query_one(DataTable)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names == ["pulp-cli", "staging"]
        assert profile_store.get("staging").api_root == "https://staging.example.com"
        # pulp-cli's password is not copied unless asked for.
        assert profile_store.get("pulp-cli").password is None


async def test_a_broken_profiles_file_is_reported_and_left_alone(make_app, profile_store):
    profile_store.path.parent.mkdir(parents=True, exist_ok=True)
    profile_store.path.write_text('[profiles.prod]\napi_root = "https://pulp\n')
    before = profile_store.path.read_bytes()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        message = app.screen.query_one("#profiles-message")
        await wait_for(pilot, lambda: "is not valid TOML" in shown_text(message))
        assert "line 2" in shown_text(message)
        await pilot.press("h")  # the rest of the dashboard still works
        assert isinstance(app.screen, HistoryScreen)
    assert profile_store.path.read_bytes() == before


async def test_deaths_seen_in_one_poll_make_one_alert(make_app, mock_pulp, prod_profile):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_monitoring(pilot, mock_pulp, [0, 4, 5])
        for task_id in mock_pulp.order:
            name = mock_pulp.tasks[task_id]["test_name"]
            mock_pulp.update(
                task_id,
                state="completed",
                started_at=FIXED_NOW.isoformat(),
                finished_at=FIXED_NOW.isoformat(),
                result=dead_result(name, 2401.0, "terminating connection"),
            )
        await wait_for(pilot, lambda: screen.query_one(RunHeader).finished)
        deaths = [n for n in app._notifications if "died" in (n.title or "")]
        assert [n.title for n in deaths] == ["3 connections died"]
        assert deaths[0].message.count("terminating connection") == 3
        # Each probe stopped on its disconnect: no separate "finished" alert per task.
        assert not [n for n in app._notifications if "tasks finished" in (n.title or "")]


async def test_poll_now_does_not_repeat_a_death_alert(make_app, mock_pulp, prod_profile):
    app = make_app(default_poll_interval=FAST_POLL)
    async with app.run_test(size=SIZE) as pilot:
        await start_monitoring(pilot, mock_pulp, [0])
        (task_id,) = mock_pulp.order
        # Still running (stop_on_disconnect=false), its connection already dead.
        report = {"message": "Connection closed after 2400.1 s", "code": "rds.disconnect",
                  "state": "failed", "total": None, "done": 1, "suffix": None}  # fmt: skip
        mock_pulp.update(
            task_id,
            state="running",
            started_at=FIXED_NOW.isoformat(),
            progress_reports=[report],
        )

        def death_alerts() -> list:
            return [n for n in app._notifications if "died" in (n.title or "")]

        await wait_for(pilot, lambda: len(death_alerts()) == 1)

        def task_polls() -> int:
            return sum(1 for _, path in mock_pulp.requests if path == TASKS_PATH)

        polls = task_polls()
        await pilot.press("p")
        await wait_for(pilot, lambda: task_polls() >= polls + 2)
        assert len(death_alerts()) == 1


async def test_an_unexpected_failure_is_a_message_not_a_crash(make_app, mock_pulp, prod_profile):
    def broken(request):
        raise RuntimeError("the proxy sent something no one expected")

    mock_pulp.handle = broken  # the transport itself fails in an unforeseen way
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await wait_for(pilot, lambda: notifications(app), what="the error message")
        assert notifications(app) == [
            "Unexpected RuntimeError: the proxy sent something no one expected"
        ]
        assert app.is_running
        await pilot.press("h")  # still usable
        assert isinstance(app.screen, HistoryScreen)

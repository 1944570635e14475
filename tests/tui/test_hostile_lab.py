"""End to end, against the real lab: any database role can NOTIFY a probe's channel, and
the probe stores the payload in its result. The command line prints it and the
dashboard's Detail screen shows it as text: markup stays literal (`[/x]` used to crash
the dashboard), nothing a terminal would obey gets through."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time

import psycopg
import pytest
from client.clihelpers import login_options, run_cli
from client.fakepulp import HOSTILE_MARKUP, TERMINAL_CONTROLS
from rich.console import Console
from server.labpulp import Pulp
from textual.widgets import Static

from rds_tui import cli
from rds_tui.lab.state import DATABASE
from rds_tui.runs import RunStore
from rds_tui.screens.detail import DetailScreen
from rds_tui.screens.history import HistoryScreen
from rds_tui.screens.monitor import MonitorScreen

from .conftest import SIZE
from .helpers import wait_for

pytestmark = pytest.mark.lab

# What a database role sends (PostgreSQL refuses NUL in a payload; the rest goes through).
PAYLOAD = HOSTILE_MARKUP + " \x1b]52;c;cm0gLXJmIH4K\x07\x1b[2K \u202eevil"


@pytest.fixture
def pulp(lab):
    admin = Pulp(lab)
    admin.cancel_all()
    yield admin
    admin.cancel_all()
    admin.close()


def notify_until_finished(lab: dict, task_href: str, channel: str, timeout: float = 90) -> None:
    """Send PAYLOAD on the probe's channel, as any role could, until its task ends."""
    pg = lab["postgres"]
    admin = Pulp(lab)
    deadline = time.monotonic() + timeout
    with psycopg.connect(
        host=pg["host"],
        port=pg["port"],
        user=pg["superuser"],
        password=pg["superuser_password"],
        dbname=DATABASE,
        autocommit=True,
        connect_timeout=10,
    ) as conn:
        try:
            while time.monotonic() < deadline:
                state = admin.http.get(task_href).json()["state"]
                if state in ("completed", "failed", "canceled", "skipped"):
                    return
                if state == "running":
                    conn.execute("SELECT pg_notify(%s, %s)", (channel, PAYLOAD))
                time.sleep(0.3)
        finally:
            admin.close()
    raise AssertionError(f"the probe did not end within {timeout} s")


def wide_text(widget: Static) -> str:
    console = Console(width=2000, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


async def test_a_notify_payload_is_printed_and_shown_as_text(pulp, capsys, make_app):
    lab = pulp.lab
    cli_run = lambda *argv: asyncio.to_thread(run_cli, capsys, *argv)  # it runs its own loop
    code, out, err = await cli_run(
        *login_options(lab["api_root"], lab["username"], lab["password"]),
        "rds_connection_tests",
        "-t",
        "test_7_listen_with_activity",
        "--duration",
        "6",
        "--no-monitor",
    )
    assert code == cli.EXIT_OK, err
    run = RunStore().get(re.search(r"rds-tui watch (\S+)", out).group(1))
    task = run.tasks[0]
    channel = "rds_probe_" + task.task_id.replace("-", "")
    await asyncio.to_thread(notify_until_finished, lab, task.task_href, channel)

    code, out, err = await cli_run(
        "--user",
        lab["username"],
        "--password",
        lab["password"],
        "watch",
        run.id,
        "--poll-interval",
        "0.5",
        "--json",
    )
    assert code == cli.EXIT_OK, err
    for control in TERMINAL_CONTROLS:
        assert control not in out + err
    (result,) = [entry["result"] for entry in json.loads(out)["tasks"]]
    payloads = [e["detail"] for e in result["events"] if e["event"] == "notification"]
    assert any(HOSTILE_MARKUP in detail for detail in payloads), payloads

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h")
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, MonitorScreen)
        await wait_for(pilot, lambda: app.screen.table.rows_by_key, what="the task row")
        await pilot.press("enter")
        assert isinstance(app.screen, DetailScreen)
        app.screen.query_one("#detail-tabs").active = "tab-timeline"
        await pilot.pause()
        timeline = "\n".join(wide_text(w) for w in app.screen.query(Static))
        assert "notification" in timeline and HOSTILE_MARKUP in timeline
        for control in TERMINAL_CONTROLS:
            assert control not in timeline
        assert app.is_running

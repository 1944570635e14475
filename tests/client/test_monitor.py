"""RunMonitor: one request per poll, every state, events, retries after transient failures."""

from __future__ import annotations

import time
from types import SimpleNamespace

import httpx
import pytest

from rds_tui.api import AuthenticationFailed, PulpClient
from rds_tui.monitor import (
    AllFinished,
    ConnectionDied,
    Polled,
    PollFailed,
    PollRecovered,
    ProgressChanged,
    RunMonitor,
    StateChanged,
    TaskFinished,
)


def href(n: int) -> str:
    return f"/pulp/api/v3/tasks/0190a1b2-0000-7000-8000-{n:012d}/"


def run_of(*names: str) -> SimpleNamespace:
    return SimpleNamespace(
        tasks=[SimpleNamespace(test_name=name, task_href=href(i)) for i, name in enumerate(names)]
    )


class ScriptedServer:
    """Answers each tasks poll with the next scripted list of task dicts (or a status)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, int):
            return httpx.Response(step, json={"detail": "scripted"})
        if isinstance(step, Exception):
            raise step
        asked = set(request.url.params["pulp_id__in"].split(","))
        results = [t for t in step if t["pulp_href"].rstrip("/").rsplit("/", 1)[-1] in asked]
        return httpx.Response(200, json={"count": len(results), "results": results})


def task(n: int, state: str, **fields) -> dict:
    return {"pulp_href": href(n), "state": state, **fields}


async def collect(server: ScriptedServer, run, interval=0.01):
    events = []
    async with PulpClient(
        "http://pulp", auth=("admin", "pw"), transport=httpx.MockTransport(server)
    ) as client:
        monitor = RunMonitor(client, run, interval=interval)
        await monitor.run(events.append)
    return monitor, events


async def test_one_request_per_poll_for_fifty_tasks():
    names = [f"test_{i}" for i in range(50)]
    running = [task(i, "running") for i in range(50)]
    done = [task(i, "completed", result={"connection_alive": True}) for i in range(50)]
    server = ScriptedServer([running, running, done])
    _monitor, events = await collect(server, run_of(*names))
    polls = [e for e in events if isinstance(e, Polled)]
    assert len(server.requests) == len(polls) == 3
    assert isinstance(events[-1], AllFinished)
    assert sum(isinstance(e, TaskFinished) for e in events) == 50


async def test_finished_tasks_are_not_polled_again():
    server = ScriptedServer(
        [
            [task(0, "completed", result={}), task(1, "running")],
            [task(0, "completed", result={}), task(1, "completed", result={})],
        ]
    )
    await collect(server, run_of("a", "b"))
    second = server.requests[1].url.params["pulp_id__in"].split(",")
    assert second == [href(1).rstrip("/").rsplit("/", 1)[-1]]


async def test_every_state_and_events_in_order():
    server = ScriptedServer(
        [
            [task(0, "waiting"), task(1, "waiting"), task(2, "running"), task(3, "running")],
            [
                task(
                    0, "running", progress_reports=[{"message": "Elapsed", "done": 1, "total": 5}]
                ),
                task(1, "skipped"),
                task(2, "canceling"),
                task(3, "failed", error={"description": "boom"}),
            ],
            [
                task(
                    0,
                    "completed",
                    result={
                        "connection_alive": False,
                        "disconnected": True,
                        "server_message": "terminating connection due to idle-session timeout",
                        "seconds_to_disconnect": 40.1,
                    },
                ),
                task(1, "skipped"),
                task(2, "canceled"),
                task(3, "failed"),
            ],
        ]
    )
    monitor, events = await collect(server, run_of("idle", "skip", "cancel", "fail"))
    states = [
        (e.snapshot.test_name, e.old_state, e.new_state)
        for e in events
        if isinstance(e, StateChanged)
    ]
    assert ("idle", "waiting", "running") in states
    assert ("idle", "running", "completed") in states
    assert ("skip", "waiting", "skipped") in states
    assert ("cancel", "running", "canceling") in states
    assert ("cancel", "canceling", "canceled") in states
    assert ("fail", "running", "failed") in states
    assert [e.snapshot.test_name for e in events if isinstance(e, TaskFinished)] == [
        "skip",
        "fail",
        "idle",
        "cancel",
    ]
    died = [e for e in events if isinstance(e, ConnectionDied)]
    assert len(died) == 1 and "idle-session timeout after 40.1 s" in died[0].detail
    assert any(isinstance(e, ProgressChanged) and e.snapshot.test_name == "idle" for e in events)
    assert isinstance(events[-2], Polled) and isinstance(events[-1], AllFinished)
    assert [s.succeeded for s in monitor.snapshots] == [True, False, False, False]


async def test_transient_failures_retry_with_backoff_and_report_age():
    ok = [task(0, "running")]
    server = ScriptedServer(
        [ok, 503, httpx.ConnectError("refused"), 502, [task(0, "completed", result={})]]
    )
    started = time.monotonic()
    _monitor, events = await collect(server, run_of("a"), interval=0.05)
    failures = [e for e in events if isinstance(e, PollFailed)]
    assert [f.failures for f in failures] == [1, 2, 3]
    assert [f.retry_in for f in failures] == [0.05, 0.1, 0.2]
    assert all(
        f.seconds_since_success is not None and f.seconds_since_success >= 0 for f in failures
    )
    assert failures[-1].seconds_since_success > failures[0].seconds_since_success
    recovered = [e for e in events if isinstance(e, PollRecovered)]
    assert len(recovered) == 1 and recovered[0].failures == 3
    assert isinstance(events[-1], AllFinished)
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2


async def test_authentication_failure_ends_the_monitor():
    server = ScriptedServer([[task(0, "running")], 401])
    with pytest.raises(AuthenticationFailed):
        await collect(server, run_of("a"))


async def test_task_gone_from_server_is_reported_missing():
    server = ScriptedServer([[]])
    monitor, events = await collect(server, run_of("a"))
    assert monitor.snapshots[0].state == "missing"
    assert isinstance(events[-1], AllFinished)


async def test_missing_task_is_recorded_and_never_polled_again():
    from rds_tui.runs import Run

    run = Run(
        api_root="http://pulp",
        tasks=[{"test_name": "a", "task_id": href(0).split("/")[-2], "task_href": href(0)}],
    )
    server = ScriptedServer([[task(0, "running")], []])  # running, then purged
    _monitor, events = await collect(server, run)
    finished = [e for e in events if isinstance(e, TaskFinished)]
    assert [e.snapshot.state for e in finished] == ["missing"]
    assert run.record_task(finished[0].snapshot.as_dict())
    assert run.finished  # the dashboard and `watch` stop re-attaching to it
    assert "last seen running" in run.final[href(0)]["error"]["description"]

    polls = len(server.requests)
    again, events = await collect(server, run)
    assert again.snapshots[0].state == "missing" and isinstance(events[-1], AllFinished)
    assert len(server.requests) == polls  # a recorded missing task is not asked for again


async def test_async_callback_and_clock_skew_exposed():
    from email.utils import formatdate

    def handler(request):
        return httpx.Response(
            200,
            headers={"Date": formatdate(time.time() - 300, usegmt=True)},
            json={"results": [task(0, "completed", result={})]},
        )

    seen = []

    async def on_event(event):
        seen.append(type(event).__name__)

    async with PulpClient("http://pulp", transport=httpx.MockTransport(handler)) as client:
        monitor = RunMonitor(client, run_of("a"), interval=0.01)
        await monitor.run(on_event)
    assert seen[-1] == "AllFinished"
    assert -302 <= monitor.clock_skew_seconds <= -298
    assert monitor.last_success_at is not None


def test_elapsed_uses_server_clock():
    from datetime import UTC, datetime, timedelta

    from rds_tui.models import Task
    from rds_tui.monitor import TaskSnapshot

    started = datetime.now(UTC) - timedelta(seconds=100)
    snapshot = TaskSnapshot(
        "a", href(0), task=Task(pulp_href=href(0), state="running", started_at=started)
    )
    # The server's clock is 30 s ahead: 130 s have passed on the server's clock.
    assert 129 <= snapshot.elapsed_seconds(clock_skew_seconds=30) <= 131


async def test_tasks_final_in_the_history_are_not_polled():
    run = run_of("done", "pending")
    run.final = {href(0): task(0, "completed", result={"connection_alive": True})}
    server = ScriptedServer([[task(1, "completed", result={})]])
    monitor, events = await collect(server, run)
    assert [r.url.params["pulp_id__in"] for r in server.requests] == [
        href(1).rstrip("/").rsplit("/", 1)[-1]
    ]
    assert [s.state for s in monitor.snapshots] == ["completed", "completed"]
    assert isinstance(events[-1], AllFinished)


async def test_a_death_reported_while_running_is_one_event_timed_from_done():
    """The plugin's rds.disconnect report (done = ms from the probe's start) says the
    connection died while the task still runs; the result then says it again: one event."""
    death = {"code": "rds.disconnect", "message": "Connection closed: 57P05 idle-session",
             "done": 40125, "total": 200000, "state": "failed"}  # fmt: skip
    dead = {"disconnected": True, "seconds_to_disconnect": 40.125, "sqlstate": "57P05",
            "server_message": "terminating connection due to idle-session timeout"}  # fmt: skip
    server = ScriptedServer(
        [
            [task(0, "running")],
            [task(0, "running", progress_reports=[death])],
            [task(0, "running", progress_reports=[death])],
            [task(0, "completed", progress_reports=[death], result=dead)],
        ]
    )
    monitor, events = await collect(server, run_of("test_1_idle_connection"))
    died = [e for e in events if isinstance(e, ConnectionDied)]
    assert [e.detail for e in died] == ["Connection closed: 57P05 idle-session after 40.1 s"]
    snapshot = monitor.snapshots[0]
    assert snapshot.connection_died and snapshot.outcome.died_after_seconds == 40.125
    assert snapshot.outcome.reason == "terminating connection due to idle-session timeout"

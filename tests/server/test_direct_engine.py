"""The direct engine (rds_tui.direct.engine) against the lab's PgBouncer, no Pulp involved:
the probes run in this process, RunService records them like a Pulp run, the monitor
reads them like Pulp tasks, and stopping the run closes every connection and keeps the
partial results.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from rds_tui.direct.dsn import resolve_target
from rds_tui.direct.engine import DirectClient, DirectConnectionError, DirectSettings
from rds_tui.runs import RunStore
from rds_tui.service.runs import DispatchOptions, RunService

pytestmark = pytest.mark.lab

PASSWORD_ENV = "RDS_TUI_TEST_PROBE_PASSWORD"
# The lab's cutoffs (tests/conftest.py DEFAULT_TEST_LAB): PgBouncer cuts idle clients
# after 3 s, PostgreSQL idle transactions after 5 s.
LAB_SETTINGS = DirectSettings(
    time_unit_seconds=1.0, expected_cutoff_seconds=3, expected_in_transaction_cutoff_seconds=5
)


@pytest.fixture
def target(lab: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv(PASSWORD_ENV, lab["probe"]["password"])
    pgb = lab["pgbouncer"]
    return resolve_target(
        dsn=f"postgresql://{lab['probe']['user']}@{pgb['host']}:{pgb['port']}/pulp",
        password_env=PASSWORD_ENV,
    )


async def start(service: RunService, client: DirectClient, tests: list[str], **options: Any):
    """Dispatch `tests` through the run service (as both faces do); the recorded run."""
    dispatched = await service.dispatch(
        client, tests, DispatchOptions(**options), profile_name=None, poll_interval=0.5
    )
    return dispatched.run


async def wait_until(check: Any, bound: float, what: str) -> Any:
    deadline = time.monotonic() + bound
    while not (value := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {bound} s: {what}")
        await asyncio.sleep(0.1)
    return value


def ours(run: Any, connections: list) -> list:
    """The connections of `run`'s probes (PgBouncer clients as dicts, backends as rows),
    by the task id in their application_name (cut at PostgreSQL's 63 bytes)."""
    ids = [task.task_id[:18] for task in run.tasks]

    def name(connection: Any) -> str:
        return connection["application_name"] if isinstance(connection, dict) else connection[1]

    return [c for c in connections if any(i in name(c) for i in ids)]


async def test_a_direct_run_is_recorded_and_read_like_a_pulp_run(target, lab, tmp_path):
    service = RunService(RunStore(tmp_path))
    tests = ["test_1_idle_connection", "test_2_active_heartbeat", "test_3_long_transaction"]
    async with DirectClient(target, LAB_SETTINGS) as client:
        run = await start(service, client, tests, duration_minutes=8)
        snapshots = await service.watch(service.monitor(client, run, 0.5), run, lambda e: None)

    by_test = {s.test_name: s for s in snapshots}
    assert {s.state for s in snapshots} == {"completed"}
    idle, heartbeat, transaction = (by_test[name] for name in tests)
    # PgBouncer cuts the idle client, PostgreSQL the idle transaction; heartbeats survive.
    assert idle.outcome.died and 3.0 <= idle.outcome.died_after_seconds < 4.5
    assert transaction.outcome.died and 5.0 <= transaction.outcome.died_after_seconds < 6.5
    assert transaction.task.result["sqlstate"] == "25P03"
    assert heartbeat.outcome.died is False and heartbeat.task.result["heartbeats_ok"] >= 6
    # No Pulp tables: test 3 held an advisory lock in its transaction.
    assert transaction.task.result["workload"] == "generic"

    stored = service.store.get(run.id)
    assert stored.kind == "direct" and stored.finished
    assert (
        stored.api_root
        == f"postgresql://{lab['pgbouncer']['host']}:{lab['pgbouncer']['port']}/pulp"
    )
    assert stored.options["time_unit_seconds"] == 1.0
    assert stored.options["expected_cutoff_seconds"] == 3
    # What the probe measured is what the history keeps, its progress reports included.
    kept = {t["test_name"]: t for t in stored.task_results()}
    assert (
        kept["test_1_idle_connection"]["result"]["seconds_to_disconnect"]
        == (idle.task.result["seconds_to_disconnect"])
    )
    assert any(
        r["code"] == "rds.disconnect" for r in kept["test_1_idle_connection"]["progress_reports"]
    )
    assert lab["probe"]["password"] not in (tmp_path / f"{run.id}.json").read_text()


async def test_stopping_a_run_closes_every_connection_and_keeps_partial_results(
    target, lab, pulp, tmp_path
):
    service = RunService(RunStore(tmp_path))
    tests = ["test_2_active_heartbeat", "test_6_listen_notify", "test_7_listen_with_activity"]
    async with DirectClient(target, LAB_SETTINGS) as client:
        run = await start(service, client, tests, duration_minutes=120)

        async def connected() -> bool:
            tasks = await client.tasks([t.task_href for t in run.tasks])
            return all(t.state == "running" and t.progress_reports for t in tasks)

        await wait_until(connected, 15, "every probe connected")
        # Three probes and test 7's sender, each with its application_name.
        assert len(ours(run, pulp.probe_clients())) == 4
        began = time.monotonic()
        await service.stop_direct(client, run)
        stopped_in = time.monotonic() - began
        assert not client.active

    assert stopped_in < 5, "every probe watches its stop pipe with its socket"
    assert not ours(run, pulp.probe_clients())
    assert not ours(run, pulp.probe_backends())
    stored = service.store.get(run.id)
    assert stored.finished
    for task in stored.task_results():
        assert task["state"] == "canceled", task["test_name"]
        result = task["result"]
        assert result["abandoned"] and "stopped by the user" in result["abandoned"]
        assert result["connection_alive"] is False and result["disconnected"] is False
        assert 0 < result["actual_duration_seconds"] < 30, "stopped long before its 120 units"


async def test_a_wrong_password_is_refused_before_anything_runs(lab, tmp_path, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    pgb = lab["pgbouncer"]
    target = resolve_target(
        dsn=f"postgresql://{lab['probe']['user']}@{pgb['host']}:{pgb['port']}/pulp",
        password_env=PASSWORD_ENV,
    )
    service = RunService(RunStore(tmp_path))
    async with DirectClient(target, LAB_SETTINGS) as client:
        with pytest.raises(DirectConnectionError) as caught:
            await start(service, client, ["test_1_idle_connection"])
    assert caught.value.problem.kind == "authentication"
    assert "not-the-password" not in str(caught.value)
    assert not list(tmp_path.iterdir()), "nothing recorded: nothing ran"


async def test_a_sequential_run_starts_each_probe_when_the_previous_one_ends(target, tmp_path):
    service = RunService(RunStore(tmp_path))
    tests = ["test_2_active_heartbeat", "test_5_session_variable"]
    async with DirectClient(target, LAB_SETTINGS) as client:
        run = await start(service, client, tests, duration_minutes=2, run_sequentially=True)
        first, second = await client.tasks([t.task_href for t in run.tasks])
        assert second.state == "waiting", "the second waits for the first"
        snapshots = await service.watch(service.monitor(client, run, 0.5), run, lambda e: None)

    first, second = (s.task for s in snapshots)
    assert {first.state, second.state} == {"completed"}
    assert second.started_at >= first.finished_at
    assert service.store.get(run.id).options["run_sequentially"] is True

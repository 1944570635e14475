"""An interrupted direct run leaves nothing behind: SIGINT (Ctrl-C without a terminal:
no question) or SIGTERM while seven probes hold their connections through PgBouncer
ends `rds-tui probe` with exit 130, every probe closes its connection (no `rds-probe:`
backend in pg_stat_activity, no client in PgBouncer's SHOW CLIENTS), and the history
keeps the run with its partial results: the stopped probes `canceled`, each result
saying it was abandoned (issue 11, "Must show").
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from direct_cli import direct_argv, environment, finish, history, start
from server.labpulp import ALL_TESTS, Pulp

pytestmark = pytest.mark.lab

EXIT_INTERRUPTED = 130
# Test 2 (heartbeat) and test 4 (working transaction) never die on the lab: they are
# certainly still running when the signal comes.
NEVER_DIE = ["test_2_active_heartbeat", "test_4_transaction_with_work"]
# The probes notice their broken lifeline at once (it is in their epoll wait); PgBouncer
# then returns the server connection and resets it. A busy machine may add a second.
GONE_WITHIN_SECONDS = 5.0


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"not {what} after {timeout} s"
        time.sleep(0.2)
    return found


def mine(rows: list, task_ids: list[str], name: Callable[[Any], str]) -> list:
    """The rows whose application_name belongs to one of these tasks (PostgreSQL keeps
    63 bytes of it: the first part of the task id is always there)."""
    return [row for row in rows if any(task_id[:8] in name(row) for task_id in task_ids)]


@pytest.fixture
def pulp(lab):
    admin = Pulp(lab)
    admin.cancel_all()  # no plugin probe of an earlier test holds a backend
    yield admin
    admin.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_run_closes_every_probe_and_keeps_its_partial_results(
    lab, pulp, tmp_path, signum
):
    env = environment(lab, tmp_path)
    child = start(direct_argv(lab, "--all", "--duration", "30"), env)
    try:
        run = wait_for(lambda: history(tmp_path), 30, "in the history")[0]
        task_ids = [task.task_id for task in run.tasks]
        assert len(task_ids) == len(ALL_TESTS)

        def every_probe_connected() -> bool:
            backends = mine(pulp.probe_backends(), task_ids, lambda row: row[1])
            return all(any(t[:8] in row[1] for row in backends) for t in task_ids)

        wait_for(every_probe_connected, 30, "every probe connected")
        assert len(mine(pulp.probe_clients(), task_ids, lambda r: r["application_name"])) >= 7
        child.send_signal(signum)
        stopped_at = time.monotonic()
        code, out, err = finish(child, timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert code == EXIT_INTERRUPTED, f"exit {code}:\n{out[-2000:]}\n{err[-2000:]}"
    assert "Traceback" not in err

    def leftovers() -> list:
        return mine(pulp.probe_backends(), task_ids, lambda row: row[1]) + mine(
            pulp.probe_clients(), task_ids, lambda row: row["application_name"]
        )

    while found := leftovers():
        assert time.monotonic() - stopped_at < GONE_WITHIN_SECONDS, found
        time.sleep(0.2)

    (stored,) = history(tmp_path)
    assert stored.id == run.id and stored.kind == "direct"
    finals = {task.test_name: stored.final.get(task.task_href) for task in stored.tasks}
    assert all(final is not None for final in finals.values()), finals
    for name, final in finals.items():
        assert final["state"] in {"completed", "canceled"}, (name, final["state"])
        if final["state"] == "canceled":
            result = final["result"]
            assert result and result.get("abandoned"), (name, result)
            assert result["actual_duration_seconds"] < 30
    for name in NEVER_DIE:
        assert finals[name]["state"] == "canceled", name

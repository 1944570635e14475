"""The operator's control run: the same probes aimed at the database itself (its idle
timeouts off) keep every connection alive, while through the proxy they die.

In production this is `RDS_CONNECTION_TESTS_DATABASE` pointed at the database endpoint
instead of the proxy's (README "Control run"). Here the control lab's probes get the
lab's PostgreSQL host and port, with Pulp's own role (`pulp`: no idle cutoff); the
default lab's probes go through PgBouncer, where the database cuts the `probe` role.
"""

from __future__ import annotations

import socket

import pytest
from conftest import DEFAULT_TEST_LAB
from server.labpulp import ALL_TESTS, Pulp

from rds_tui.report import diagnose, summary_lines

pytestmark = pytest.mark.lab

DIE_THROUGH_PGBOUNCER = {
    "test_1_idle_connection": "57P05 idle-session timeout",
    "test_3_long_transaction": "25P03 idle-in-transaction timeout",
    "test_5_session_variable": "57P05 idle-session timeout",
    "test_6_listen_notify": "57P05 idle-session timeout",
    "test_7_listen_with_activity": "57P05 idle-session timeout",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def control_lab(lab_factory):
    """The default lab's options, its probes aimed at PostgreSQL's own host and port."""
    port = free_port()
    direct = {"HOST": "127.0.0.1", "PORT": port}
    return lab_factory(
        **DEFAULT_TEST_LAB,
        postgres_port=port,
        extra_settings={"RDS_CONNECTION_TESTS_DATABASE": direct},
    )


@pytest.fixture(scope="module")
def runs(control_lab, lab):
    """All seven for 8 lab seconds (past both cutoffs) in both labs at once."""
    pulps = {"control": Pulp(control_lab), "proxy": Pulp(lab)}
    try:
        for pulp in pulps.values():
            pulp.cancel_all()
        dispatched = {
            kind: pulp.dispatch(ALL_TESTS, duration_minutes=8, heartbeat_interval_seconds=1)
            for kind, pulp in pulps.items()
        }
        found = {kind: pulps[kind].wait(dispatched[kind], timeout=120) for kind in pulps}
    finally:
        for pulp in pulps.values():
            pulp.cancel_all()
            pulp.close()
    return {
        kind: [{**task, "test_name": name} for name, task in tasks.items()]
        for kind, tasks in found.items()
    }


def test_control_run_goes_straight_to_postgres_without_timeouts(runs, control_lab):
    for task in runs["control"]:
        result = task["result"]
        assert result["target"]["port"] == control_lab["postgres"]["port"]
        assert result["target"]["user"] == control_lab["postgres"]["pulp_user"]
        assert result["server_settings"]["idle_session_timeout"] == "0"
        assert result["server_settings"]["idle_in_transaction_session_timeout"] == "0"


def test_control_run_keeps_every_connection_alive(runs):
    for task in runs["control"]:
        result = task["result"]
        assert task["state"] == "completed", task["error"]
        assert result["connection_alive"] is True, (task["test_name"], result)
        assert result["disconnected"] is False
    lines = summary_lines(runs["control"])
    assert "Total: 7 | Passed: 7 | Failed: 0" in lines
    titles = [finding.title for finding in diagnose(runs["control"]).findings]
    assert "No idle cutoff within the test duration" in titles


def test_the_same_probes_through_pgbouncer_die(runs):
    died = {
        task["test_name"]: task["result"]["sqlstate"]
        for task in runs["proxy"]
        if task["result"]["disconnected"]
    }
    assert set(died) == set(DIE_THROUGH_PGBOUNCER)
    text = "\n".join(summary_lines(runs["proxy"]) + diagnose(runs["proxy"]).lines())
    for name, cause in DIE_THROUGH_PGBOUNCER.items():
        assert died[name] == cause.split()[0]
        assert f"Cause: the database server terminated the session ({cause})" in text
    assert "Idle connections are cut after ~3" in text

"""The two fix patterns against real proxies: a client heartbeat keeps a LISTEN connection
alive; TCP keepalives, really set on the probe's socket, do not count as activity.

PgBouncer session mode with PostgreSQL's idle_session_timeout (the default lab), and
pgpool-II's client_idle_limit (the proxy itself cuts).
"""

from __future__ import annotations

import pytest

from .labpulp import Pulp

pytestmark = pytest.mark.lab

FIXES = ["test_8_listen_with_heartbeat", "test_9_tcp_keepalive"]
PGPOOL_LAB = {"workers": 7, "proxy": "pgpool", "idle_timeout": 6}
# A death lands at the cutoff after the last message: PostgreSQL's timer (plus a busy
# machine's delay), or pgpool's check about once a second (plus the same delay).
EARLY = 0.1
LATE = 3.0


def _run_fixes(lab: dict, duration: int) -> dict:
    pulp = Pulp(lab)
    pulp.cancel_all()
    try:
        dispatched = pulp.dispatch(
            FIXES,
            duration_minutes=duration,
            heartbeat_interval_seconds=1,
            keepalive_interval_seconds=1,
        )
        tasks = pulp.wait(dispatched, timeout=60 + 3 * duration)
    finally:
        pulp.cancel_all()
        pulp.close()
    for task in tasks.values():
        assert task["state"] == "completed", task["error"]
    return {name: task["result"] for name, task in tasks.items()}


@pytest.fixture(scope="module")
def bouncer_results(lab):
    # Three times the lab's idle cutoff (3 s): the heartbeat must carry test 8 through it.
    return _run_fixes(lab, duration=9)


@pytest.fixture(scope="module")
def pgpool_results(lab_factory):
    return _run_fixes(lab_factory(**PGPOOL_LAB), duration=14)


def _assert_heartbeat_kept_listen_alive(result: dict, duration: int) -> None:
    assert result["connection_alive"] is True and result["status"] == "PASSED"
    assert result["disconnected"] is False
    assert result["passive_alive_at_deadline"] is True and result["final_check"]["ok"] is True
    assert result["channel"].startswith("rds_probe_")
    assert result["heartbeat_interval_seconds"] == 1
    assert result["heartbeats_ok"] >= duration - 3  # one a second, on a busy machine
    assert result["notifications_received"] == 0
    assert result["connection_pinned"] is True
    assert result["pinning_observed"] is True  # one backend answered every beat


def _assert_keepalives_measured_and_ignored(result: dict, cutoff: float) -> None:
    keepalive = result["tcp_keepalive"]
    assert result["keepalive_interval_seconds"] == 1
    assert keepalive["requested"] == {
        "keepalives": 1,
        "keepalives_idle": 1,
        "keepalives_interval": 1,
        "keepalives_count": 3,
    }
    # Read back from the probe's own socket: the kernel really sent keepalives each second.
    assert keepalive["socket"] == {
        "so_keepalive": True,
        "tcp_keepidle": 1,
        "tcp_keepintvl": 1,
        "tcp_keepcnt": 3,
    }
    assert result["disconnected"] is True and result["connection_alive"] is False
    assert result["detected_by"] == "passive-watch"
    # It died at the idle cutoff although a keepalive went out every second of it.
    assert cutoff - EARLY <= result["idle_seconds_before_disconnect"] <= cutoff + LATE


def test_the_catalog_lists_the_fix_patterns_apart_from_the_seven(lab):
    pulp = Pulp(lab)
    try:
        catalog = pulp.http.get("/api/pulp/rds-connection-tests/").json()
    finally:
        pulp.close()
    assert (
        len(catalog["available_tests"]) == 7
        and list(catalog["descriptions"]) == (catalog["available_tests"])
    )
    assert catalog["fix_tests"] == FIXES
    fixes = [t for t in catalog["tests"] if t["fix_pattern"]]
    assert [(t["name"], t["number"]) for t in fixes] == [(FIXES[0], 8), (FIXES[1], 9)]
    assert "keepalive_interval_seconds" in catalog["usage"]["optional"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0.5, "whole number of seconds from 1"),
        (1.5, "whole number of seconds"),
        (True, "must be a number of seconds"),
        ("2", "must be a number of seconds"),
        (100000, "must be a number of seconds"),
    ],
)
def test_a_bad_keepalive_interval_is_refused_with_the_allowed_range(pulp, value, words):
    response = pulp.http.post(
        "/api/pulp/rds-connection-tests/",
        json={"tests": ["test_9_tcp_keepalive"], "keepalive_interval_seconds": value},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "keepalive_interval_seconds"
    assert words in body["error"]
    assert pulp.active_rds_tasks() == []


def test_heartbeat_keeps_a_listen_connection_alive_behind_pgbouncer(bouncer_results):
    _assert_heartbeat_kept_listen_alive(bouncer_results["test_8_listen_with_heartbeat"], 9)


def test_keepalives_do_not_keep_an_idle_connection_alive_behind_pgbouncer(bouncer_results, lab):
    result = bouncer_results["test_9_tcp_keepalive"]
    _assert_keepalives_measured_and_ignored(result, lab["idle_timeout"])
    # PostgreSQL's idle-session timer ended it: keepalives never reach the protocol.
    assert result["sqlstate"] == "57P05"
    assert result["connection_pinned"] is False


def test_heartbeat_keeps_a_listen_connection_alive_behind_pgpool(pgpool_results):
    _assert_heartbeat_kept_listen_alive(pgpool_results["test_8_listen_with_heartbeat"], 14)


def test_keepalives_do_not_keep_an_idle_connection_alive_behind_pgpool(pgpool_results):
    result = pgpool_results["test_9_tcp_keepalive"]
    _assert_keepalives_measured_and_ignored(result, PGPOOL_LAB["idle_timeout"])
    assert result["sqlstate"] is None  # pgpool's bare close

"""`lab up --proxy pgpool`: pgpool-II in front of the probes cuts idle clients itself,
with a bare close (no SQLSTATE), while PostgreSQL's own timeouts are off for them."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from server.labpulp import ALL_TESTS, Pulp

from rds_tui.outcome import PROXY_CLOSE_TEXT
from rds_tui.report import diagnose, summary_lines

pytestmark = pytest.mark.lab

PGPOOL_LAB = {"workers": 7, "proxy": "pgpool", "idle_timeout": 6}
CUT = ["test_1_idle_connection", "test_3_long_transaction", "test_5_session_variable",
       "test_6_listen_notify"]  # fmt: skip
ALIVE = ["test_2_active_heartbeat", "test_4_transaction_with_work"]
# pgpool-II checks its idle limit about once a second: a cut lands between the limit and
# the limit + 1 s; a loaded machine may add up to a second more before the probe sees it.
EARLY = 0.05
LATE = 2.0


@pytest.fixture(scope="module")
def pgpool_lab(lab_factory):
    return lab_factory(**PGPOOL_LAB)


@pytest.fixture(scope="module")
def results(pgpool_lab):
    pulp = Pulp(pgpool_lab)
    pulp.cancel_all()
    try:
        tasks = pulp.wait(pulp.dispatch(ALL_TESTS, duration_minutes=12), timeout=120)
    finally:
        pulp.cancel_all()
        pulp.close()
    return {name: task["result"] for name, task in tasks.items()}


def test_status_names_the_proxy_and_the_database_does_not_cut(pgpool_lab):
    assert pgpool_lab["proxy"] == "pgpool" and pgpool_lab["pgbouncer"] is None
    assert pgpool_lab["pgpool"]["client_idle_limit"] == 6
    # pgpool cuts idle transactions at the same limit.
    assert pgpool_lab["idle_in_transaction_timeout"] == 6
    pgpool, pg = pgpool_lab["pgpool"], pgpool_lab["postgres"]
    probe = pgpool_lab["probe"]
    with psycopg.connect(
        host=pgpool["host"], port=pgpool["port"], user=probe["user"],
        password=probe["password"], dbname=pg["database"], autocommit=True,
    ) as conn:  # fmt: skip
        assert conn.execute("SHOW idle_session_timeout").fetchone()[0] == "0"
        assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()[0] == "0"


@pytest.mark.parametrize("name", CUT)
def test_idle_probes_are_closed_by_the_proxy_without_an_error(results, pgpool_lab, name):
    result = results[name]
    limit = pgpool_lab["pgpool"]["client_idle_limit"]
    assert result["disconnected"] is True and result["connection_alive"] is False
    assert limit - EARLY <= result["idle_seconds_before_disconnect"] <= limit + 1 + LATE
    # A bare close: no ErrorResponse, so neither SQLSTATE nor server text.
    assert result["sqlstate"] is None
    assert not result["server_message"]
    log = (Path(pgpool_lab["dir"]) / "logs" / "pgpool.log").read_text(errors="replace")
    assert f"client_idle_limit:{limit} is reached" in log


@pytest.mark.parametrize("name", ALIVE)
def test_active_probes_stay_alive(results, name):
    assert results[name]["connection_alive"] is True
    assert results[name]["disconnected"] is False


def test_notifications_keep_a_listener_alive_through_pgpool(results):
    # Measured with pgpool-II 4.3: notifications it forwards to the client count as
    # activity (unlike PostgreSQL's idle_session_timeout). What RDS Proxy does is what
    # test 7 finds out in production.
    result = results["test_7_listen_with_activity"]
    assert result["connection_alive"] is True
    assert result["notifications_received"] == result["notifications_sent"] >= 4


def test_summary_and_diagnosis_word_the_cuts_as_a_proxy_close(results):
    tasks = [{"state": "completed", "test_name": name, "result": result}
             for name, result in results.items()]  # fmt: skip
    lines = summary_lines(tasks)
    for name in ("test_1_idle_connection", "test_5_session_variable", "test_6_listen_notify"):
        start = lines.index(f"  • {name}")
        block = lines[start : start + 4]
        assert f"    Cause: {PROXY_CLOSE_TEXT}" in block, block
    assert "proxy closed the client connection without an error" in PROXY_CLOSE_TEXT
    idle = next(f for f in diagnose(tasks).findings if f.title.startswith("Idle connections"))
    # The measured time depends on the proxy's timer: the finding says how coarse it is.
    assert f"Every cut: {PROXY_CLOSE_TEXT}" in idle.detail
    assert "pgpool-II checks about once a second" in idle.detail
    assert "database server terminated" not in idle.detail

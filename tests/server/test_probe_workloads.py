"""Workload "generic": tests 3 and 4 on a PostgreSQL database without Pulp's tables.

The client probes endpoints that are not Pulp's; the generic workload holds its
transaction's lock and does its work on no table, and must die (or live) exactly as the
pulp workload does. Straight to the lab's PostgreSQL, in a database of its own whose
probe role has the lab's idle-in-transaction timeout.
"""

from __future__ import annotations

import uuid

import pytest
from rds_probes import ProbeConfigError, ProbeOptions, ProbeTarget, run_probe

from .labpulp import Pulp
from .test_probes import assert_closed_at_timeout_and_seen

pytestmark = pytest.mark.lab

BARE_DATABASE = "rds_probe_bare"


@pytest.fixture(scope="module")
def bare_target(lab):
    """A fresh database with no tables at all, cut like the lab's pulp database."""
    pulp = Pulp(lab)
    timeout = lab["idle_in_transaction_timeout"]
    with pulp.postgres() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BARE_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BARE_DATABASE}")
        conn.execute(
            f"ALTER ROLE {lab['probe']['user']} IN DATABASE {BARE_DATABASE}"
            f" SET idle_in_transaction_session_timeout = '{timeout}s'"
        )
    pg = lab["postgres"]
    try:
        yield ProbeTarget(
            {
                "host": pg["host"],
                "port": pg["port"],
                "dbname": BARE_DATABASE,
                "user": lab["probe"]["user"],
                "password": lab["probe"]["password"],
            }
        )
    finally:
        with pulp.postgres() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BARE_DATABASE} WITH (FORCE)")
        pulp.close()


def options(test_name: str, workload: str, duration: int = 8) -> ProbeOptions:
    return ProbeOptions(
        test_name=test_name,
        task_id=str(uuid.uuid4()),
        duration_minutes=duration,
        time_unit_seconds=1,
        heartbeat_interval_seconds=1,
        workload=workload,
    )


def test_the_bare_database_really_has_no_pulp_tables(bare_target):
    with bare_target.connect("rds-probe:check") as conn:
        rows = conn.execute("SELECT to_regclass('core_task'), to_regclass('core_appstatus')")
        assert rows.fetchone() == (None, None)


def test_generic_test_3_holds_a_lock_and_dies_at_the_in_transaction_timeout(lab, bare_target):
    result = run_probe(options("test_3_long_transaction", "generic"), bare_target)
    assert result["workload"] == "generic" and result["error"] is None
    assert "advisory lock" in result["locked"] and result["rows_locked"] == 1
    assert result["disconnected"] is True and result["detected_by"] == "passive-watch"
    assert result["sqlstate"] == "25P03"
    assert "idle-in-transaction timeout" in result["server_message"]
    assert_closed_at_timeout_and_seen(lab, result, lab["idle_in_transaction_timeout"])


def test_generic_test_4_works_in_its_transaction_and_stays_alive(bare_target):
    result = run_probe(options("test_4_transaction_with_work", "generic"), bare_target)
    assert result["workload"] == "generic" and result["error"] is None
    assert result["connection_alive"] is True and result["status"] == "PASSED"
    assert result["final_check"]["ok"] is True
    assert result["heartbeats_ok"] >= 6  # a round every second for 8 s
    work = [event for event in result["events"] if event["event"] == "work"]
    assert len(work) == result["heartbeats_ok"]
    assert work[0]["detail"].startswith("work: relations, waiting locks, sessions")


def test_the_pulp_workload_needs_pulps_tables(bare_target):
    result = run_probe(options("test_3_long_transaction", "pulp", duration=2), bare_target)
    assert result["workload"] == "pulp" and result["status"] == "FAILED"
    assert result["error"]["type"] == "UndefinedTable" and result["error"]["stage"] == "query"
    assert "core_task" in result["error"]["message"]


def test_an_unknown_workload_is_refused_with_the_choices():
    with pytest.raises(ProbeConfigError) as refused:
        options("test_3_long_transaction", "mysql")
    assert "'mysql'" in str(refused.value)
    assert "'pulp'" in str(refused.value) and "'generic'" in str(refused.value)

"""End to end: `rds-tui verify` against the real lab (one "minute" = 1 s): PgBouncer
session mode with PostgreSQL's idle-session timeout of 3 s, and pgpool-II cutting idle
clients itself after 6 s. A client heartbeat holds, TCP keepalives do not."""

from __future__ import annotations

import json

import pytest
from server.labpulp import Pulp

from rds_tui import cli
from rds_tui.runs import RunStore

from .clihelpers import login_options, run_cli

pytestmark = pytest.mark.lab


PGPOOL_LAB = {"workers": 7, "proxy": "pgpool", "idle_timeout": 6}  # as tests/lab's


@pytest.fixture(params=["pgbouncer", "pgpool"])
def pulp(request, lab_factory, lab):
    if request.param == "pgpool":
        lab = lab_factory(**PGPOOL_LAB)
    admin = Pulp(lab)
    try:
        admin.cancel_all()
        yield lab
        admin.cancel_all()
    finally:
        admin.close()


def verify(capsys, lab, *options: str) -> tuple[int, str, str]:
    login = login_options(lab["api_root"], lab["username"], lab["password"])
    return run_cli(capsys, *login, "verify", *options, "--poll-interval", "1")


def test_verify_heartbeat_holds(capsys, pulp):
    code, out, err = verify(capsys, pulp, "--heartbeat", "1")
    assert code == cli.EXIT_OK, err
    # The lab's cutoff plus two time units: the control dies inside the run.
    cutoff = pulp["idle_timeout"]
    assert (
        f"Duration: {cutoff + 2} minutes of the server ({cutoff + 2:.2f} s): "
        f"the expected cutoff {cutoff:.2f} s"
    ) in out
    assert "The fix holds: A client heartbeat (SELECT 1) every 1.00 s" in out
    assert "test_8_listen_with_heartbeat lived" in out
    assert "WORKER_TTL = 3" in out
    # Recorded like any run: the control and the fix, with the heartbeat interval.
    run = RunStore().get("last")
    assert run.tests == ["test_6_listen_notify", "test_8_listen_with_heartbeat"]
    assert run.options["heartbeat_interval_seconds"] == 1
    assert run.finished


def test_verify_keepalive_does_not_hold_and_says_so_in_json(capsys, pulp):
    code, out, err = verify(capsys, pulp, "--keepalive", "1", "--json")
    assert code == cli.EXIT_OK, err
    document = json.loads(out)
    [verdict] = document["verify"]
    assert verdict["fix"] == "keepalive" and verdict["verdict"] == "does not hold"
    assert verdict["holds"] is False and verdict["pulp_settings"] == []
    # The keepalives really were on the probe's socket, every second.
    assert verdict["socket_keepalive"]["so_keepalive"] is True
    assert verdict["socket_keepalive"]["tcp_keepintvl"] == 1
    # At the cutoff (pgpool checks about once a second; a busy machine adds a little).
    cutoff = pulp["idle_timeout"]
    assert cutoff - 0.1 <= verdict["fix_died_after_seconds"] <= cutoff + 3
    assert document["options"]["keepalive_interval_seconds"] == 1
    findings = {f["title"] for f in document["diagnosis"]["findings"]}
    assert "Fix (TCP keepalives): does not hold" in findings

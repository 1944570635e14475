"""`rds-tui probe` against the lab's real PgBouncer and PostgreSQL: a wrong password or
database is one worded line (exit 3, no traceback, the password never shown), and a
right login starts the probes and records the run as a direct one."""

from __future__ import annotations

import pytest

from rds_tui import cli
from rds_tui.runs import RunStore

from .clihelpers import run_cli
from .test_direct_cli import assert_one_worded_line

pytestmark = pytest.mark.lab

WRONG_PASSWORD = "S3cret-pw-never-shown"


def lab_dsn(lab, dbname: str = "pulp") -> str:
    pgb = lab["pgbouncer"]
    return f"postgresql://{lab['probe']['user']}@{pgb['host']}:{pgb['port']}/{dbname}"


def test_a_wrong_password_is_an_authentication_error(capsys, monkeypatch, lab):
    monkeypatch.setenv("PROBE_PASSWORD", WRONG_PASSWORD)
    code, out, err = run_cli(
        capsys, "probe", "--dsn", lab_dsn(lab), "--password-env", "PROBE_PASSWORD", "--all"
    )
    line = assert_one_worded_line(code, cli.EXIT_API, out, err)
    assert "authentication failed" in line
    assert "check the user and the password" in line
    assert lab["probe"]["password"] not in out + err
    assert RunStore().scan().runs == []  # nothing ran, nothing recorded


def test_a_wrong_password_inside_the_dsn_is_never_echoed(capsys, lab):
    pgb = lab["pgbouncer"]
    dsn = f"postgresql://probe:{WRONG_PASSWORD}@{pgb['host']}:{pgb['port']}/pulp"
    code, out, err = run_cli(capsys, "probe", "--dsn", dsn, "--all", "--json")
    line = assert_one_worded_line(code, cli.EXIT_API, out, err)
    assert "authentication failed" in line


def test_the_right_login_runs_one_probe_and_records_a_direct_run(capsys, monkeypatch, lab):
    monkeypatch.setenv("PROBE_PASSWORD", lab["probe"]["password"])
    code, out, err = run_cli(
        capsys, "probe", "--dsn", lab_dsn(lab), "--password-env", "PROBE_PASSWORD",
        "-t", "2", "--duration", "2", "--time-unit", "1",
    )  # fmt: skip
    assert code == cli.EXIT_OK, err
    assert "✓ Connected: PostgreSQL" in out and f"as {lab['probe']['user']}" in out
    assert "test_2_active_heartbeat: COMPLETED" in out
    assert lab["probe"]["password"] not in out + err
    run = RunStore().get("last")
    assert run.kind == "direct" and run.finished
    pgb = lab["pgbouncer"]
    assert run.api_root == f"postgresql://{pgb['host']}:{pgb['port']}/pulp"  # no user

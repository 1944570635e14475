"""`rds-tui` in a child process against a lab, both ways a user runs the seven probes:
the plugin path (`rds_connection_tests` through the lab's Pulp) and the direct path
(`rds-tui probe` from this machine straight to the lab's proxy, PgBouncer or pgpool).

Each child gets its own history (RDS_TUI_DATA_DIR) and profiles file, and its secrets
through the environment only: the argv (visible in `ps`) never holds a password.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rds_tui.runs import Run, RunStore

RDS_TUI = [sys.executable, "-m", "rds_tui"]
DSN_VAR = "LAB_PROBE_DSN"
PASSWORD_VAR = "LAB_PROBE_PASSWORD"
FINAL_TASK_STATES = {"completed", "failed", "canceled", "skipped"}


def proxy_endpoint(lab: dict[str, Any]) -> tuple[str, int]:
    """Where the lab's probes connect: its PgBouncer or its pgpool-II."""
    proxy = lab["pgpool"] if lab["proxy"] == "pgpool" else lab["pgbouncer"]
    return proxy["host"], proxy["port"]


def probe_dsn(lab: dict[str, Any]) -> str:
    """The DSN of the lab's probe role through its proxy, without the password."""
    host, port = proxy_endpoint(lab)
    return f"postgresql://{lab['probe']['user']}@{host}:{port}/{lab['postgres']['database']}"


def environment(lab: dict[str, Any], home: Path) -> dict[str, str]:
    """The child's environment: its own history and profiles, the lab's secrets."""
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("PULP_", "PG", "RDS_TUI_"))
    }  # fmt: skip
    env.update(
        RDS_TUI_DATA_DIR=str(home / "data"),
        RDS_TUI_CONFIG=str(home / "config" / "profiles.toml"),
        PULP_PASSWORD=lab["password"],
        **{DSN_VAR: probe_dsn(lab), PASSWORD_VAR: lab["probe"]["password"]},
    )
    return env


def direct_argv(lab: dict[str, Any], *options: str) -> list[str]:
    """`rds-tui probe` at the lab's proxy with the lab's clock (1 s units) and cutoffs, so
    that its report reads like the plugin's on the same lab."""
    return [
        *RDS_TUI, "probe", "--dsn-env", DSN_VAR, "--password-env", PASSWORD_VAR,
        "--time-unit", "1",
        "--expected-cutoff", str(lab["idle_timeout"]),
        "--expected-in-transaction-cutoff", str(lab["idle_in_transaction_timeout"]),
        *options,
    ]  # fmt: skip


def plugin_argv(lab: dict[str, Any], *options: str) -> list[str]:
    """`rds-tui rds_connection_tests` against the lab's Pulp (password: PULP_PASSWORD)."""
    return [
        *RDS_TUI, "--api-root", lab["api_root"], "--user", lab["username"],
        "rds_connection_tests", *options,
    ]  # fmt: skip


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    """The command as a child without a terminal (stdin closed: no question asked)."""
    return subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    """Wait for the child; (exit code, stdout, stderr). Killed after `timeout`."""
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        raise AssertionError(f"{child.args} still running after {timeout} s:\n{out}\n{err}")
    return child.returncode, out, err


def json_document(out: str, err: str) -> dict[str, Any]:
    """The --json document a run prints at its end."""
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        raise AssertionError(f"not one JSON document:\n{out[-3000:]}\nstderr:\n{err[-3000:]}")


def history(home: Path) -> list[Run]:
    """The child's run history, newest first."""
    return RunStore(home / "data" / "runs").scan().runs


def report_json(home: Path, env: dict[str, str], run_id: str) -> dict[str, Any]:
    """`rds-tui report RUN --format json` as the user would read it."""
    done = subprocess.run(
        [*RDS_TUI, "report", run_id, "--format", "json", "--offline"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)

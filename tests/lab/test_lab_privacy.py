"""The lab keeps its secrets: its servers never see the caller's environment, and its
logs, settings and directories are readable by their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from test_lab_pgpool import PGPOOL_LAB

pytestmark = pytest.mark.lab

# Everything a lab process may find in its environment (see rds_tui.lab.processes).
ALLOWED = {"PATH", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "RDS_TUI_LAB_DIR"}
ALLOWED_PULPCORE = ALLOWED | {"HOME", "PULP_SETTINGS"}


def environment_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(entry.split("=", 1) for entry in raw.decode().split("\0") if "=" in entry)


def mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(
    ("component", "allowed"),
    [("postgres", ALLOWED), ("pgbouncer", ALLOWED), ("api", ALLOWED_PULPCORE),
     ("worker-1", ALLOWED_PULPCORE)],
)  # fmt: skip
def test_lab_processes_get_a_minimal_environment_not_the_callers(lab, component, allowed):
    # This process's own environment holds variables the lab must not pass on (the
    # test session sets RDS_TUI_CONFIG before the lab starts).
    assert "RDS_TUI_CONFIG" in os.environ
    env = environment_of(lab["processes"][component]["pid"])
    assert set(env) <= allowed, sorted(set(env) - allowed)
    assert env["RDS_TUI_LAB_DIR"] == lab["dir"]
    assert not any(name.startswith("PULP_") for name in env if name != "PULP_SETTINGS")


def test_logs_settings_and_directories_are_private(lab):
    directory = Path(lab["dir"])
    logs = sorted((directory / "logs").glob("*.log"))
    assert {"postgres.log", "pgbouncer.log", "api.log", "worker-1.log"} <= {p.name for p in logs}
    assert {log.name: oct(mode(log)) for log in logs} == {log.name: "0o600" for log in logs}
    for private_dir in (directory / "logs", directory / "pulp", Path(lab["server_dir"])):
        assert mode(private_dir) == 0o700, private_dir
    for private_file in (directory / "lab.json", Path(lab["settings_file"])):
        assert mode(private_file) == 0o600, private_file


def test_pgpool_gets_a_minimal_environment_too(lab_factory):
    pgpool_lab = lab_factory(**PGPOOL_LAB)
    env = environment_of(pgpool_lab["processes"]["pgpool"]["pid"])
    assert set(env) <= ALLOWED, sorted(set(env) - ALLOWED)

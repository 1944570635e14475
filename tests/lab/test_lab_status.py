"""The lab comes up as a real Pulp with the plugin and N online workers."""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.lab


def test_status_lists_the_plugin_and_all_workers_online(lab):
    response = httpx.get(lab["api_root"] + "/pulp/api/v3/status/", timeout=10)
    assert response.status_code == 200
    status = response.json()
    components = {version["component"] for version in status["versions"]}
    assert "rds_tests" in components
    assert len(status["online_workers"]) == lab["workers"] == 8


def test_admin_credentials_from_the_status_work(lab):
    tasks_url = lab["api_root"] + "/pulp/api/v3/tasks/"
    assert httpx.get(tasks_url, timeout=10).status_code == 401
    authed = httpx.get(tasks_url, auth=(lab["username"], lab["password"]), timeout=10)
    assert authed.status_code == 200


def test_cli_status_json_describes_the_running_lab(lab):
    result = subprocess.run(
        [sys.executable, "-m", "rds_tui", "lab", "status", "--json", "--dir", lab["dir"]],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    assert status["api_root"] == lab["api_root"]
    assert status["username"] == "admin" and status["password"] == lab["password"]
    assert status["workers_online"] == 8
    assert status["idle_timeout"] == 3 and status["idle_in_transaction_timeout"] == 5
    assert status["pool_mode"] == "session"
    for component in ("pgbouncer", "postgres"):
        assert status[component]["host"] == "127.0.0.1"
        assert isinstance(status[component]["port"], int)
    assert status["pgbouncer"]["admin_user"]


def test_the_lab_runs_the_installed_pulpcore_with_only_the_options_it_accepts(lab):
    """Any pulpcore in the plugin's range: its flags are read from the command, not assumed
    (3.116 has no --no-control-socket; the lab then names a control socket of its own)."""
    status = json.loads(
        subprocess.run(
            [sys.executable, "-m", "rds_tui", "lab", "status", "--json", "--dir", lab["dir"]],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout
    )  # fmt: skip
    assert status["pulpcore_version"] == importlib.metadata.version("pulpcore")
    api_pid = lab["processes"]["api"]["pid"]
    argv = Path(f"/proc/{api_pid}/cmdline").read_bytes().decode().split("\0")
    options = {arg for arg in argv if arg.startswith("--")}
    help_text = subprocess.run(
        [str(Path(sys.executable).parent / "pulpcore-api"), "--help"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert options <= set(re.findall(r"--[a-z][a-z0-9-]*", help_text))
    assert {"--no-control-socket", "--control-socket"} & options

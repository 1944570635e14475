"""The remote trigger guide's curl requests, run as written (host changed) with real curl.

The lab runs with the production time unit (60 s) so the responses match the guide
word for word. Credentials come from a curlrc, so the command lines stay the guide's:
the original endpoint let anonymous callers start tests, ours asks for a staff user.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from .labpulp import ALL_TESTS, PRODUCTION_SCALE_LAB

pytestmark = pytest.mark.lab

GUIDE_HOST = "https://your-pulp-instance.com"

GUIDE_GET = f"curl -X GET {GUIDE_HOST}/api/pulp/rds-connection-tests/"

GUIDE_DISPATCH_SINGLE = f"""curl -X POST {GUIDE_HOST}/api/pulp/rds-connection-tests/ \\
  -H "Content-Type: application/json" \\
  -d '{{
    "tests": ["test_1_idle_connection"]
  }}'"""

GUIDE_DISPATCH_MULTIPLE = f"""curl -X POST {GUIDE_HOST}/api/pulp/rds-connection-tests/ \\
  -H "Content-Type: application/json" \\
  -d '{{
    "tests": [
      "test_1_idle_connection",
      "test_2_active_heartbeat",
      "test_6_listen_notify"
    ]
  }}'"""

GUIDE_TASK_STATUS = f"curl {GUIDE_HOST}/pulp/api/v3/tasks/{{task_id}}/"

GUIDE_NOTE = "Each test runs for approximately 50 minutes. Monitor task status via task_href."
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def guide_pulp(lab_factory, tmp_path_factory):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    lab = lab_factory(**PRODUCTION_SCALE_LAB)
    curl_home = tmp_path_factory.mktemp("curl")
    rc = curl_home / ".curlrc"
    rc.write_text(f'user = "{lab["username"]}:{lab["password"]}"\nsilent\n')
    rc.chmod(0o600)
    return lab, curl_home


def run_guide_command(guide_pulp, command: str) -> dict:
    lab, curl_home = guide_pulp
    command = command.replace(GUIDE_HOST, lab["api_root"])
    result = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        env={"CURL_HOME": str(curl_home), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_get_lists_the_tests_as_the_guide_shows(guide_pulp):
    body = run_guide_command(guide_pulp, GUIDE_GET)
    assert body["available_tests"] == ALL_TESTS
    assert body["descriptions"]["test_1_idle_connection"] == (
        "Idle connection test (50 min) - baseline timeout test"
    )
    assert body["descriptions"]["test_2_active_heartbeat"] == (
        "Active heartbeat test (50 min) - periodic queries"
    )
    assert body["descriptions"]["test_6_listen_notify"] == (
        "LISTEN/NOTIFY test (50 min) - CRITICAL: real worker behavior"
    )
    assert list(body["descriptions"]) == ALL_TESTS
    assert body["usage"]["endpoint"] == "/api/pulp/rds-connection-tests/"
    assert body["usage"]["method"] == "POST"
    assert body["usage"]["body"] == {
        "tests": ["test_1_idle_connection", "test_2_active_heartbeat"],
        "run_sequentially": False,
    }


def test_dispatch_single_then_check_its_status_as_the_guide_shows(guide_pulp, pulp_factory):
    # The factory cancels the dispatched (50-minute) tasks when the test ends.
    pulp_factory(**PRODUCTION_SCALE_LAB)
    body = run_guide_command(guide_pulp, GUIDE_DISPATCH_SINGLE)
    assert body["message"] == "Dispatched 1 test(s)"
    assert body["run_sequentially"] is False
    assert body["note"] == GUIDE_NOTE
    [task] = body["tasks"]
    assert task["test_name"] == "test_1_idle_connection"
    assert UUID.match(task["task_id"])
    assert task["task_href"] == f"/pulp/api/v3/tasks/{task['task_id']}/"

    status = run_guide_command(guide_pulp, GUIDE_TASK_STATUS.format(task_id=task["task_id"]))
    assert status["state"] in {"waiting", "running"}
    for field in ("started_at", "finished_at", "result"):
        assert field in status
    assert status["name"] == "pulp_rds_tests.app.tasks.test_1_idle_connection"


def test_dispatch_multiple_as_the_guide_shows(guide_pulp, pulp_factory):
    pulp_factory(**PRODUCTION_SCALE_LAB)
    body = run_guide_command(guide_pulp, GUIDE_DISPATCH_MULTIPLE)
    assert body["message"] == "Dispatched 3 test(s)"
    assert [t["test_name"] for t in body["tasks"]] == [
        "test_1_idle_connection",
        "test_2_active_heartbeat",
        "test_6_listen_notify",
    ]
    assert len({t["task_id"] for t in body["tasks"]}) == 3
    assert body["note"] == GUIDE_NOTE
    assert body["duration_minutes"] == 50

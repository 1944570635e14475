"""End to end: the guide's command lines, with `rds-tui` for `python -m pulp_benchmark.main`,
against the real lab (pulpcore + the plugin + PgBouncer; one "minute" = 1 s there)."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest
from server.labpulp import Pulp

from rds_tui import cli
from rds_tui.runs import RunStore

from .clihelpers import assert_outage_survived, login_options, run_cli
from .fakepulp import GUIDE_CATALOG
from .tcpproxy import TcpProxy

pytestmark = pytest.mark.lab


@pytest.fixture
def pulp(lab):
    """The default lab with no test task waiting, running or canceling, before or after:
    the plugin counts canceling tasks as active, so a later `--all` would get a 429."""
    admin = Pulp(lab)

    def settle() -> None:
        admin.cancel_all()  # cancels, then waits for canceling tasks to end
        assert not admin.active_rds_tasks(), "test tasks still active 20 s after canceling"

    try:
        settle()
        yield lab
        settle()
    finally:
        admin.close()


def credentials(lab, api_root: str | None = None) -> list[str]:
    # The lab's generated password may start with "-": the guide's `--password VALUE` form
    # must still work.
    return login_options(api_root or lab["api_root"], lab["username"], lab["password"])


def user_options(lab) -> list[str]:
    """Credentials without a server: `watch` and `cancel` take the run's."""
    return credentials(lab)[2:]


def test_list_from_the_lab_without_credentials(capsys, pulp):
    code, out, err = run_cli(
        capsys, "--api-root", pulp["api_root"], "rds_connection_tests", "--list"
    )
    assert code == cli.EXIT_OK
    assert out.startswith("=== Available RDS Connection Tests ===\n\n  test_1_idle_connection\n")
    names = re.findall(r"^  (test_\d_\w+)$", out, flags=re.MULTILINE)
    assert names == GUIDE_CATALOG["available_tests"]
    assert "built-in" not in err


def test_single_test_monitored_to_completion(capsys, pulp):
    code, out, err = run_cli(
        capsys,
        *credentials(pulp),
        "rds_connection_tests",
        "-t",
        "test_2_active_heartbeat",
        "--duration",
        "2",
        "--poll-interval",
        "0.5",
    )
    assert code == cli.EXIT_OK, err
    task_id = re.search(r"Task ID: (\S+)", out).group(1)
    assert f"Task URL: {pulp['api_root']}/pulp/api/v3/tasks/{task_id}/" in out
    assert "Starting task monitoring...\nPolling every 0.5 seconds\n" in out
    assert "--- Status Check (T+0 minutes) ---" in out
    assert re.search(
        r"  test_2_active_heartbeat: COMPLETED\n    Result: \{.*'connection_alive': "
        r"True",
        out,
    )
    assert "\n✓ All tasks completed!\n" in out
    assert "TEST SUMMARY" in out and "RECOMMENDATION" in out
    run = RunStore().get("last")
    final = run.final[run.tasks[0].task_href]
    assert run.finished and final["state"] == "completed"
    assert final["logging_cid"] == run.correlation_id  # the run's tasks can be found again


def test_several_tests_dead_connections_are_findings(capsys, pulp):
    # Idle cutoff 3 s, in-transaction 5 s: tests 1, 3 and 6 die; the command still exits 0.
    code, out, err = run_cli(
        capsys,
        *credentials(pulp),
        "rds_connection_tests",
        "-t",
        "test_1_idle_connection",
        "-t",
        "test_3_long_transaction",
        "-t",
        "test_6_listen_notify",
        "--duration",
        "8",
        "--poll-interval",
        "0.5",
    )
    assert code == cli.EXIT_OK, err
    assert out.startswith(f"Dispatching 3 test(s) to {pulp['api_root']}\n")
    assert "✓ Successfully dispatched 3 test(s)" in out
    assert "3 task(s) still running..." in out
    for name in ("test_1_idle_connection", "test_3_long_transaction", "test_6_listen_notify"):
        assert f"  {name}: COMPLETED\n    Result: {{" in out
    assert out.count("    Result: ") == 3  # each result shown once, when it arrives
    run = RunStore().get("last")
    results = {t.test_name: run.final[t.task_href]["result"] for t in run.tasks}
    assert all(r["connection_alive"] is False for r in results.values())
    # Within 1 s of the lab's cutoffs (5 s in a transaction, 3 s idle).
    assert 4 <= results["test_3_long_transaction"]["idle_seconds_before_disconnect"] < 6
    assert 2 <= results["test_1_idle_connection"]["idle_seconds_before_disconnect"] < 4


def test_no_monitor_then_watch(capsys, pulp):
    code, out, _ = run_cli(
        capsys,
        *credentials(pulp),
        "rds_connection_tests",
        "-t",
        "test_6_listen_notify",
        "--duration",
        "2",
        "--no-monitor",
    )
    assert code == 0 and "Starting task monitoring" not in out
    run_id = re.search(r"rds-tui watch (\S+)", out).group(1)
    code, out, err = run_cli(
        capsys,
        *user_options(pulp),
        "watch",
        run_id,
        "--poll-interval",
        "0.5",
    )
    assert code == cli.EXIT_OK, err
    assert "test_6_listen_notify: COMPLETED" in out and "✓ All tasks completed!" in out
    assert RunStore().get(run_id).finished


def test_cancel_then_watch_reports_canceled(capsys, pulp):
    run_cli(
        capsys,
        *credentials(pulp),
        "rds_connection_tests",
        "-t",
        "2",
        "-t",
        "4",
        "--duration",
        "120",
        "--no-monitor",
    )
    code, out, _ = run_cli(
        capsys,
        *user_options(pulp),
        "cancel",
        "last",
        "-t",
        "4",
    )
    assert code == 0 and "test_4_transaction_with_work: canceling" in out
    code, out, _ = run_cli(capsys, *user_options(pulp), "cancel", "last")
    assert code == 0 and "test_2_active_heartbeat: canceling" in out
    code, out, _ = run_cli(
        capsys,
        *user_options(pulp),
        "watch",
        "last",
        "--poll-interval",
        "0.3",
    )
    assert code == cli.EXIT_TASKS_FAILED
    assert "test_2_active_heartbeat: CANCELED" in out
    assert "test_4_transaction_with_work: CANCELED" in out


def test_json_output_with_environment_variables(capsys, pulp, monkeypatch):
    monkeypatch.setenv("PULP_API_ROOT", pulp["api_root"])
    monkeypatch.setenv("PULP_USER", pulp["username"])
    monkeypatch.setenv("PULP_PASSWORD", pulp["password"])
    code, out, err = run_cli(
        capsys,
        "rds_connection_tests",
        "-t",
        "test_5_session_variable",
        "--duration",
        "2",
        "--json",
        "--poll-interval",
        "0.5",
    )
    assert code == cli.EXIT_OK, err
    assert "process list" not in err
    document = json.loads(out)
    assert document["monitoring"] == "finished" and document["all_completed"]
    (task,) = document["tasks"]
    assert task["test_name"] == "test_5_session_variable" and task["state"] == "completed"
    assert task["result"]["test_name"] == "test_5_session_variable"
    assert document["diagnosis"]["recommendation"]


def test_wrong_password(capsys, pulp):
    code, out, err = run_cli(
        capsys,
        *login_options(pulp["api_root"], password="not-the-password"),
        "rds_connection_tests",
        "-t",
        "1",
    )
    assert code == cli.EXIT_API
    assert "Authentication failed for user 'admin'" in err
    assert "not-the-password" not in out + err


def test_tests_disabled(capsys, lab_factory):
    lab = lab_factory(workers=1, extra_settings={"RDS_CONNECTION_TESTS_ENABLED": False})
    code, _, err = run_cli(capsys, *credentials(lab), "rds_connection_tests", "-t", "1")
    assert code == cli.EXIT_API
    assert "RDS connection tests are not enabled." in err
    assert "RDS_CONNECTION_TESTS_ENABLED" in err


def test_server_goes_away_mid_monitor_and_comes_back(capsys, pulp):
    api = urlsplit(pulp["api_root"])
    proxy = TcpProxy(api.hostname, api.port).start()
    monitoring_ended = threading.Event()
    outages = []

    def outage():
        # Once monitoring has started, the server is unreachable for 2 s.
        run_dir_has_run = lambda: RunStore().list() and not RunStore().list()[0].finished
        deadline = time.monotonic() + 30
        while not run_dir_has_run():
            if monitoring_ended.is_set() or time.monotonic() > deadline:
                return
            time.sleep(0.1)
        time.sleep(1.0)
        with proxy.outage():
            outages.append(proxy.connections_accepted)
            time.sleep(2.0)

    for run in RunStore().list():  # earlier runs are all finished or irrelevant here
        run.finished = True
        RunStore().save(run)
    thread = threading.Thread(target=outage, daemon=True)
    thread.start()
    try:
        code, out, err = run_cli(
            capsys,
            *credentials(pulp, api_root=proxy.url),
            "rds_connection_tests",
            "-t",
            "test_2_active_heartbeat",
            "--duration",
            "6",
            "--poll-interval",
            "0.3",
        )
    finally:
        monitoring_ended.set()
        thread.join(timeout=30)
        proxy.stop()
    assert not thread.is_alive()
    assert outages, "monitoring ended before the outage began"
    assert_outage_survived(code, out, err)
    assert "test_2_active_heartbeat: COMPLETED" in out


def test_too_many_active_tests(capsys, pulp):
    code, _, err = run_cli(
        capsys,
        *credentials(pulp),
        "rds_connection_tests",
        "--all",
        "--duration",
        "120",
        "--no-monitor",
    )
    assert code == cli.EXIT_OK, err
    code, _, err = run_cli(capsys, *credentials(pulp), "rds_connection_tests", "-t", "1")
    assert code == cli.EXIT_API
    assert "Limit reached (dispatching tests, 429)" in err and "already waiting or running" in err


def test_user_who_is_not_staff(capsys, pulp):
    password = "Vw-" + secrets.token_urlsafe(12)
    with httpx.Client(base_url=pulp["api_root"], auth=(pulp["username"], pulp["password"])) as http:
        found = http.get("/pulp/api/v3/users/", params={"username": "rds-viewer"}).json()
        for user in found["results"]:
            http.delete(user["pulp_href"])
        created = http.post(
            "/pulp/api/v3/users/",
            json={"username": "rds-viewer", "password": password, "is_staff": False},
        )
        assert created.status_code == 201, created.text
    code, _, err = run_cli(
        capsys,
        *login_options(pulp["api_root"], "rds-viewer", password),
        "rds_connection_tests",
        "-t",
        "1",
    )
    assert code == cli.EXIT_API
    assert "Forbidden for user 'rds-viewer'" in err and "is_staff" in err
    assert password not in err

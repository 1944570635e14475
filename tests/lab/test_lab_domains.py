"""`lab up --domains`: Pulp domains on, as pulp-service runs. The CLI dispatches, watches,
cancels and reports through domain task hrefs (/pulp/default/api/v3/tasks/<id>/)."""

from __future__ import annotations

import json

import pytest
from server.labpulp import ALL_TESTS, Pulp

from rds_tui.cli import EXIT_OK, EXIT_TASKS_FAILED, main
from rds_tui.runs import RunStore

pytestmark = pytest.mark.lab

# The default test lab's options (tests/conftest.py), with domains on.
DOMAINS_LAB = {"workers": 8, "idle_timeout": 3, "idle_in_transaction_timeout": 5, "domains": True}
DOMAIN_TASKS = "/pulp/default/api/v3/tasks/"
# What the default lab shows for each test (tests/server/test_probes.py): who dies, with
# which SQLSTATE, after which of the lab's cutoffs.
MATRIX = {
    "test_1_idle_connection": ("57P05", "idle_timeout"),
    "test_2_active_heartbeat": None,
    "test_3_long_transaction": ("25P03", "idle_in_transaction_timeout"),
    "test_4_transaction_with_work": None,
    "test_5_session_variable": ("57P05", "idle_timeout"),
    "test_6_listen_notify": ("57P05", "idle_timeout"),
    "test_7_listen_with_activity": ("57P05", "idle_timeout"),
}


@pytest.fixture(scope="module")
def domains_lab(lab_factory):
    return lab_factory(**DOMAINS_LAB)


@pytest.fixture
def lab(domains_lab, monkeypatch):
    """The domains lab with no test task left active; its password in PULP_PASSWORD."""
    admin = Pulp(domains_lab)
    admin.cancel_all()
    monkeypatch.setenv("PULP_PASSWORD", domains_lab["password"])
    try:
        yield domains_lab
    finally:
        admin.cancel_all()
        admin.close()


def cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_status_says_domains_are_on(domains_lab):
    assert domains_lab["domains"] is True
    assert domains_lab["running"] and domains_lab["workers_online"] == 8


def test_the_seven_probes_behave_as_in_the_default_lab(lab):
    pulp = Pulp(lab)
    try:
        dispatched = pulp.dispatch(ALL_TESTS, duration_minutes=8, heartbeat_interval_seconds=1)
        assert all(entry["task_href"].startswith(DOMAIN_TASKS) for entry in dispatched)
        tasks = pulp.wait(dispatched, timeout=90)
    finally:
        pulp.close()
    seen = {}
    for name, task in tasks.items():
        result = task["result"]
        if not result["disconnected"]:
            seen[name] = None
            continue
        cutoff = (MATRIX[name] or (None, None))[1]
        # Within a second after the cutoff (the probe times from its last message).
        idle = result["idle_seconds_before_disconnect"]
        in_bounds = cutoff is not None and lab[cutoff] - 0.1 <= idle <= lab[cutoff] + 1
        seen[name] = (result["sqlstate"], cutoff if in_bounds else f"{idle} s")
    assert seen == MATRIX


def test_dispatch_watch_and_report_through_domain_hrefs(lab, capsys):
    server = ["--api-root", lab["api_root"], "--user", lab["username"]]
    code, out = cli(capsys, *server, "rds_connection_tests", "-t", "test_1_idle_connection",
                    "--duration", "8", "--poll-interval", "0.5")  # fmt: skip
    assert code == EXIT_OK, out
    assert "test_1_idle_connection: COMPLETED" in out
    run = RunStore().get("last")
    assert all(task.task_href.startswith(DOMAIN_TASKS) for task in run.tasks)
    code, out = cli(capsys, "--user", lab["username"], "report", "last", "--format", "json")
    assert code == EXIT_OK
    (row,) = json.loads(out)["tests"]
    assert row["test_name"] == "test_1_idle_connection" and row["disconnected"] is True


def test_cancel_then_watch_through_domain_hrefs(lab, capsys):
    server = ["--api-root", lab["api_root"], "--user", lab["username"]]
    code, _ = cli(capsys, *server, "rds_connection_tests", "-t", "test_2_active_heartbeat",
                  "--duration", "120", "--no-monitor")  # fmt: skip
    assert code == EXIT_OK
    assert RunStore().get("last").tasks[0].task_href.startswith(DOMAIN_TASKS)
    code, out = cli(capsys, "--user", lab["username"], "cancel", "last")
    assert code == EXIT_OK and "test_2_active_heartbeat: canceling" in out
    code, out = cli(capsys, "--user", lab["username"], "watch", "last", "--poll-interval", "0.3")
    assert code == EXIT_TASKS_FAILED and "test_2_active_heartbeat: CANCELED" in out

"""`lab up --domains`: Pulp domains on, as pulp-service runs. The CLI dispatches, watches,
cancels and reports through domain task hrefs (/pulp/default/api/v3/tasks/<id>/)."""

from __future__ import annotations

import json

import pytest
from server.labpulp import Pulp

from rds_tui.cli import EXIT_OK, EXIT_TASKS_FAILED, main
from rds_tui.runs import RunStore

pytestmark = pytest.mark.lab

DOMAINS_LAB = {"workers": 2, "idle_timeout": 3, "idle_in_transaction_timeout": 5, "domains": True}
DOMAIN_TASKS = "/pulp/default/api/v3/tasks/"


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
    assert domains_lab["running"] and domains_lab["workers_online"] == 2


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

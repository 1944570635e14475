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


def run_id_in(out: str) -> str:
    """The run id a dispatch printed ("Run ID: 20261130-090251-5be4  (...)")."""
    line = next(line for line in out.splitlines() if line.startswith("Run ID: "))
    return line.split()[2]


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


@pytest.fixture(scope="module")
def second_domain(domains_lab, tmp_path_factory):
    """A second Pulp domain ("second"), created through the API as an operator would."""
    pulp = Pulp(domains_lab)
    try:
        media = tmp_path_factory.mktemp("second-domain-media")
        response = pulp.http.post(
            "/pulp/default/api/v3/domains/",
            json={
                "name": "second",
                "storage_class": "pulpcore.app.models.storage.FileSystem",
                "storage_settings": {"location": str(media)},
            },
        )
        assert response.status_code in (201, 400), response.text  # 400: exists (re-run)
    finally:
        pulp.close()
    return "second"


def test_a_profile_of_a_second_domain_dispatches_watches_and_cancels_there(
    lab, second_domain, capsys
):
    """The tasks run in the profile's domain: their hrefs are /pulp/second/..., and the
    CLI follows them there (a domain that does not exist is a clear error)."""
    code, _ = cli(capsys, "profiles", "add", "second", "--api-root", lab["api_root"],
                  "--domain", second_domain, "--user", lab["username"])  # fmt: skip
    assert code == EXIT_OK
    code, out = cli(capsys, "--profile", "second", "rds_connection_tests", "-t", "1",
                    "--duration", "8", "--poll-interval", "0.5")  # fmt: skip
    assert code == EXIT_OK, out
    assert "test_1_idle_connection: COMPLETED" in out
    # By its id: the session's history holds other tests' runs too.
    run = RunStore().get(run_id_in(out))
    assert run.domain == second_domain and run.profile == "second"
    assert run.tasks[0].task_href.startswith(f"/pulp/{second_domain}/api/v3/tasks/")
    code, out = cli(capsys, "--profile", "second", "rds_connection_tests", "-t", "2",
                    "--duration", "120", "--no-monitor")  # fmt: skip
    assert code == EXIT_OK
    run_id = run_id_in(out)
    code, out = cli(capsys, "cancel", run_id)
    assert code == EXIT_OK and "test_2_active_heartbeat: canceling" in out
    code, out = cli(capsys, "watch", run_id, "--poll-interval", "0.3")
    assert code == EXIT_TASKS_FAILED and "test_2_active_heartbeat: CANCELED" in out

    code = main(["--api-root", lab["api_root"], "--user", lab["username"],
                 "--domain", "nowhere", "rds_connection_tests", "-t", "1"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and "no domain 'nowhere'" in err, err

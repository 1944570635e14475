"""The direct path gives the plugin path's answer: on one lab, `rds-tui probe --all`
from this machine and `rds-tui rds_connection_tests --all` through Pulp, run at the same
time, find the same connections dead, closed by the same side with the same SQLSTATE,
at the same moment within a second (issue 11, "Must show").

Behind PgBouncer the database's own timeouts end the sessions (57P05, 25P03); behind
pgpool-II the proxy cuts idle clients with a bare close and test 7's notifications keep
its listener alive. Both runs are child processes, as a user runs them; they mostly wait,
so two runs of seven probes fit on a 2-core machine.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import DEFAULT_TEST_LAB
from direct_cli import (
    direct_argv,
    environment,
    finish,
    history,
    json_document,
    plugin_argv,
    proxy_endpoint,
    report_json,
    start,
)
from server.labpulp import ALL_TESTS, Pulp

from rds_tui.outcome import CLOSED_BY_PROXY_OR_NETWORK, CLOSED_BY_SERVER, read_outcome

pytestmark = pytest.mark.lab

DURATION = "14"  # lab seconds: past both cutoffs of both labs
# The same lab options as tests/lab/test_lab_pgpool.py: one pgpool lab per session.
PGPOOL_LAB = {"workers": 7, "proxy": "pgpool", "idle_timeout": 6}
# What each lab does to the seven (test name -> SQLSTATE of the death, None: a bare
# close by the proxy); the tests not named stay alive.
DEATHS = {
    "pgbouncer": {
        "test_1_idle_connection": "57P05",
        "test_3_long_transaction": "25P03",
        "test_5_session_variable": "57P05",
        "test_6_listen_notify": "57P05",
        "test_7_listen_with_activity": "57P05",
    },
    "pgpool": {
        "test_1_idle_connection": None,
        "test_3_long_transaction": None,
        "test_5_session_variable": None,
        "test_6_listen_notify": None,
    },
}
# The issue's bound between the two paths' death times. Both read the same timeouts on
# the same servers: the difference is each probe's own detection and scheduling.
SAME_MOMENT_SECONDS = 1.0
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def run_both_ways(lab: dict[str, Any], home: Path) -> dict[str, Any]:
    """Both runs at once; their --json documents, stored runs and environments."""
    pulp = Pulp(lab)
    pulp.cancel_all()  # the plugin refuses a second --all while tests are active
    pulp.close()
    homes = {"plugin": home / "plugin", "direct": home / "direct"}
    envs = {path: environment(lab, where) for path, where in homes.items()}
    options = ("--all", "--duration", DURATION, "--json", "--poll-interval", "1")
    children = {
        "plugin": start(plugin_argv(lab, *options), envs["plugin"]),
        "direct": start(direct_argv(lab, *options), envs["direct"]),
    }
    finished = {path: finish(child, timeout=180) for path, child in children.items()}
    runs: dict[str, Any] = {"envs": envs, "homes": homes, "output": finished}
    for path, (code, out, err) in finished.items():
        assert code == 0, f"{path} run exited {code}:\n{out[-3000:]}\n{err[-3000:]}"
        runs[path] = json_document(out, err)
    return runs


def outcomes(document: dict[str, Any]) -> dict[str, Any]:
    return {task["test_name"]: read_outcome(task) for task in document["tasks"]}


@pytest.fixture(scope="module", params=["pgbouncer", "pgpool"])
def both(request, lab_factory, tmp_path_factory):
    proxy = request.param
    lab = lab_factory(**(PGPOOL_LAB if proxy == "pgpool" else DEFAULT_TEST_LAB))
    assert lab["proxy"] == proxy
    return lab, run_both_ways(lab, tmp_path_factory.mktemp(f"direct-{proxy}"))


def test_both_paths_find_the_same_deaths_at_the_same_moments(both):
    lab, runs = both
    plugin, direct = outcomes(runs["plugin"]), outcomes(runs["direct"])
    assert sorted(plugin) == sorted(direct) == sorted(ALL_TESTS)
    expected = DEATHS[lab["proxy"]]
    gaps = {}
    for name in ALL_TESTS:
        for path, found in (("plugin", plugin[name]), ("direct", direct[name])):
            assert found.state == "completed", (path, name, found.task_error)
            assert found.died is (name in expected), (path, name, found.reason)
        p, d = plugin[name], direct[name]
        assert (d.died, d.closed_by, d.sqlstate) == (p.died, p.closed_by, p.sqlstate), name
        if name in expected:
            assert d.sqlstate == expected[name], (name, d.reason)
            closer = CLOSED_BY_SERVER if expected[name] else CLOSED_BY_PROXY_OR_NETWORK
            assert d.closed_by == closer, name
            gaps[name] = round(abs(d.died_after_seconds - p.died_after_seconds), 3)
    print(f"death-time gaps, direct vs plugin, behind {lab['proxy']}: {gaps}")  # -s shows
    assert all(gap <= SAME_MOMENT_SECONDS for gap in gaps.values()), gaps


def test_survivors_held_their_connection_for_the_whole_duration(both):
    lab, runs = both
    for name, found in outcomes(runs["direct"]).items():
        if name not in DEATHS[lab["proxy"]]:
            assert found.survived_seconds >= int(DURATION) - 0.5, (name, found)
    if lab["proxy"] == "pgpool":
        listener = outcomes(runs["direct"])["test_7_listen_with_activity"]
        assert listener.notifications_received == listener.notifications_sent >= 4


def test_the_direct_probes_went_through_the_proxy_with_the_labs_cutoffs(both):
    lab, runs = both
    host, port = proxy_endpoint(lab)
    for task in runs["direct"]["tasks"]:
        result = task["result"]
        assert (result["target"]["host"], result["target"]["port"]) == (host, port)
        assert result["target"]["user"] == lab["probe"]["user"]
        assert result["expected_cutoff_seconds"] == lab["idle_timeout"]
        assert result["time_unit_seconds"] == 1


def test_the_direct_run_answers_in_the_plugin_runs_shape(both):
    _, runs = both
    # The same final --json document (the direct one may say more, never less).
    assert set(runs["plugin"]) <= set(runs["direct"])
    assert runs["direct"]["monitoring"] == "finished" and runs["direct"]["all_completed"]
    # The same diagnosis: the same findings (their measured figures aside: compared
    # below), the same estimated cutoffs within a second.
    plugin, direct = runs["plugin"]["diagnosis"], runs["direct"]["diagnosis"]
    assert findings(direct) == findings(plugin)
    for key in ("estimated_idle_cutoff_seconds", "in_transaction_cutoff_seconds"):
        if plugin[key] is None:
            assert direct[key] is None, key
        else:
            assert abs(direct[key] - plugin[key]) <= SAME_MOMENT_SECONDS, key


def findings(diagnosis: dict[str, Any]) -> list[tuple[str, str]]:
    """(severity, title) of each finding, its measured numbers as N (7.03 s vs 7.04 s)."""
    return [(f["severity"], NUMBER.sub("N", f["title"])) for f in diagnosis["findings"]]


def test_the_direct_run_is_in_the_history_as_a_direct_run(both):
    lab, runs = both
    (run,) = history(runs["homes"]["direct"])
    assert run.id == runs["direct"]["run_id"]
    assert run.kind == "direct" and run.finished
    host, port = proxy_endpoint(lab)
    # Where it ran, without user or password.
    assert run.api_root == f"postgresql://{host}:{port}/pulp"
    assert sorted(task.test_name for task in run.tasks) == sorted(ALL_TESTS)
    assert {final["state"] for final in run.final.values()} == {"completed"}
    report = report_json(runs["homes"]["direct"], runs["envs"]["direct"], run.id)
    assert report["run"]["kind"] == "direct"
    dead = sorted(row["test_name"] for row in report["tests"] if row["disconnected"])
    assert dead == sorted(DEATHS[lab["proxy"]])


def test_no_password_in_any_output_or_stored_run(both):
    lab, runs = both
    secrets = [lab["probe"]["password"], lab["password"]]
    texts = [text for _, out, err in runs["output"].values() for text in (out, err)]
    for home in runs["homes"].values():
        texts += [path.read_text() for path in (home / "data").rglob("*.json")]
    for secret in secrets:
        assert not [text for text in texts if secret in text]

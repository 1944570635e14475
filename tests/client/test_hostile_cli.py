"""Hostile server and database text through every command: what a terminal would obey
never reaches the output, markup is printed as it is, JSON stays valid.

The fake server puts HOSTILE (markup, OSC 52, CSI, BEL, NUL, C1, BiDi, 10 kB) in every
text it sends: catalog descriptions and titles, test names and messages of the 202,
progress messages, task errors, every result field and NOTIFY payload, error bodies.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from rds_tui import cli
from rds_tui.runs import Run, RunStore, RunTask

from .clihelpers import login_options, run_cli
from .fakepulp import HOSTILE, HOSTILE_MARKUP, TERMINAL_CONTROLS, FakePulp

FAST = ("--poll-interval", "0.05")


@pytest.fixture
def pulp():
    with FakePulp(hostile=HOSTILE, polls_to_finish=2) as server:
        yield server


def assert_terminal_safe(*outputs: str) -> None:
    for text in outputs:
        for control in TERMINAL_CONTROLS:
            assert control not in text, f"{control!r} reached the output"


def strings(document: Any) -> list[str]:
    if isinstance(document, str):
        return [document]
    if isinstance(document, dict):
        return [*document, *(s for value in document.values() for s in strings(value))]
    if isinstance(document, list):
        return [s for item in document for s in strings(item)]
    return []


def assert_json_safe(out: str) -> Any:
    """Valid JSON, no raw control in the text, and none hidden in an escape either."""
    assert_terminal_safe(out)
    document = json.loads(out)
    assert_terminal_safe(*strings(document))
    return document


def test_list_text_and_json(capsys, pulp):
    code, out, err = run_cli(capsys, "--api-root", pulp.url, "rds_connection_tests", "--list")
    assert code == cli.EXIT_OK, err
    assert_terminal_safe(out, err)
    assert HOSTILE_MARKUP in out  # markup is text: printed as it is
    assert "[cut: " in out  # 10 kB descriptions are bounded

    code, out, err = run_cli(
        capsys, "--api-root", pulp.url, "rds_connection_tests", "--list", "--json"
    )
    assert code == cli.EXIT_OK, err
    document = assert_json_safe(out)
    assert document["source"] == "server"
    assert document["descriptions"]["test_1_idle_connection"].startswith(HOSTILE_MARKUP)
    assert document["catalog"]["tests"][0]["title"].startswith(HOSTILE_MARKUP)


def test_dispatch_and_monitor_text(capsys, pulp):
    code, out, err = run_cli(
        capsys, *login_options(pulp.url), "rds_connection_tests", "-t", "1", *FAST
    )
    assert code == cli.EXIT_OK, err
    assert_terminal_safe(out, err)
    assert HOSTILE_MARKUP in out
    assert "✓ All tasks completed!" in out


def test_dispatch_and_monitor_json(capsys, pulp):
    code, out, err = run_cli(
        capsys, *login_options(pulp.url), "rds_connection_tests", "-t", "1", "--json", *FAST
    )
    assert code == cli.EXIT_OK, err
    assert_terminal_safe(err)
    document = assert_json_safe(out)
    result = document["tasks"][0]["result"]
    assert result["server_message"].startswith(HOSTILE_MARKUP)
    assert result["events"][1]["detail"].startswith(HOSTILE_MARKUP)  # the NOTIFY payload
    # A result's events hold many strings: each is bounded tighter than one message.
    assert len(result["events"][1]["detail"]) < len(result["server_message"])


def test_failed_task_and_progress_text(capsys):
    with FakePulp(hostile=HOSTILE, polls_to_finish=3, final_state="failed") as pulp:
        code, out, err = run_cli(
            capsys, *login_options(pulp.url), "rds_connection_tests", "-t", "1", *FAST
        )
    assert code == cli.EXIT_TASKS_FAILED
    assert_terminal_safe(out, err)
    assert f"Error: {HOSTILE_MARKUP}" in out


def test_watch_cancel_runs_and_report(capsys, pulp, tmp_path):
    pulp.polls_to_finish = 10**6
    code, out, err = run_cli(
        capsys, *login_options(pulp.url), "rds_connection_tests", "-t", "1", "-t", "2",
        "--no-monitor",
    )  # fmt: skip
    assert code == cli.EXIT_OK, err
    assert_terminal_safe(out, err)
    for argv in (
        ("cancel", "last", "-t", "test_2_active_heartbeat"),
        ("cancel", "last", "--json"),
    ):
        code, out, err = run_cli(capsys, *login_options(pulp.url), *argv)
        assert_terminal_safe(out, err)
        if "--json" in argv:
            assert_json_safe(out)
    pulp.polls_to_finish = 1
    code, out, err = run_cli(capsys, *login_options(pulp.url), "watch", "last", *FAST)
    assert_terminal_safe(out, err)
    assert HOSTILE_MARKUP in out

    code, out, err = run_cli(capsys, "runs")
    assert code == cli.EXIT_OK, err
    assert_terminal_safe(out, err)
    code, out, err = run_cli(capsys, "runs", "--json")
    assert_json_safe(out)

    for fmt in ("md", "csv", "jira"):
        code, out, err = run_cli(capsys, "report", "last", "--offline", "--format", fmt)
        assert code == cli.EXIT_OK, err
        assert_terminal_safe(out, err)
    code, out, err = run_cli(capsys, "report", "last", "--offline", "--format", "json")
    assert_terminal_safe(err)
    assert_json_safe(out)
    code, out, err = run_cli(capsys, *login_options(pulp.url), "report", "last")
    assert code == cli.EXIT_OK, err
    assert_terminal_safe(out, err)


@pytest.mark.parametrize("as_json", [False, True])
def test_error_bodies(capsys, as_json):
    dispatch = ["rds_connection_tests", "-t", "1", *(["--json"] if as_json else [])]
    with FakePulp(hostile=HOSTILE, enabled=False) as pulp:
        for password, refusal in (("password", "not enabled"), ("wrong", "Authentication")):
            code, out, err = run_cli(capsys, *login_options(pulp.url, password=password), *dispatch)
            assert code == cli.EXIT_API
            assert_terminal_safe(out, err)
            assert refusal in err
            if as_json:
                assert_json_safe(out)
        # The 403's own words (the server's text) are shown as they are.
        assert HOSTILE_MARKUP in run_cli(capsys, *login_options(pulp.url), *dispatch)[2]


def test_a_run_file_written_elsewhere_is_printed_safely(capsys, tmp_path):
    """Defense in depth: a run file (an older client's, or edited) holding raw server
    text, and a command line echoing a hostile argument, print nothing a terminal obeys."""
    href = "/pulp/api/v3/tasks/0001/"
    run = Run(
        api_root="https://pulp.example.com",
        tests=["test_1_idle_connection"],
        tasks=[RunTask(test_name="test_1_idle_connection", task_id="0001", task_href=href)],
    )
    store = RunStore()
    store.create(run)
    raw = {
        "pulp_href": href,
        "state": "failed",
        "error": {"description": HOSTILE},
        "result": {"server_message": HOSTILE, "events": [{"t": 1, "detail": HOSTILE}]},
    }
    path = store.directory / f"{run.id}.json"
    document = json.loads(path.read_text())
    document["final"] = {href: raw}
    document["finished"] = True
    document["tasks"][0]["test_name"] = HOSTILE
    document["api_root"] = "https://user:Zq7-leak@pulp.example.com"
    path.write_text(json.dumps(document))
    assert "\x1b" in json.loads(path.read_text())["final"][href]["result"]["server_message"]

    for argv in (("watch", run.id), ("runs",), ("report", run.id, "--offline")):
        code, out, err = run_cli(capsys, *argv)
        assert code in (cli.EXIT_OK, cli.EXIT_TASKS_FAILED), err
        assert_terminal_safe(out, err)
        assert "Zq7-leak" not in out + err
    code, out, err = run_cli(capsys, "watch", "\x1b]52;c;cm0gLXJmIH4K\x07x")
    assert code == cli.EXIT_USAGE
    assert_terminal_safe(out, err)


def test_the_writer_keeps_json_escapes_and_drops_controls(capsys):
    sink = io.StringIO()
    writer = cli.TerminalSafeWriter(sink)
    assert writer.write("a\x1b[2Kb") == len("a\x1b[2Kb")  # write() reports what it took
    assert sink.getvalue() == "ab"
    with cli.terminal_safe_output():
        print(json.dumps({"text": "\x1b]52;c;x\x07"}))  # ensure_ascii: \u001b stays
        print("ok\x1b]52;c;cm0=\x07\u202e done\ttab")
    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[0]) == {"text": "\x1b]52;c;x\x07"}
    assert out.splitlines()[1] == "ok done\ttab"

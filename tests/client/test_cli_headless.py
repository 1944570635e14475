"""The headless command line against a fake server speaking the ORIGINAL endpoint's JSON
(the guide's exact responses), over real HTTP: output, exit codes, run history,
credentials from flags and environment, and a server that goes away and comes back."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rds_tui import cli
from rds_tui.main import main as program_main
from rds_tui.runs import RunStore

from .clihelpers import GUIDE_LIST, assert_outage_survived, login_options, run_cli
from .fakepulp import GUIDE_CATALOG, FakePulp
from .tcpproxy import TcpProxy

# A password no other text of the run contains: finding it anywhere is a leak.
SECRET = "Zq7-leak-canary-4Rw"


@pytest.fixture
def pulp():
    with FakePulp(polls_to_finish=2) as server:
        yield server


def test_list_offline_without_credentials(capsys):
    code, out, err = run_cli(capsys, "rds_connection_tests", "--list")
    assert code == cli.EXIT_OK
    assert out == GUIDE_LIST
    assert "built-in catalog" in err


def test_list_from_server_without_credentials(capsys, pulp):
    code, out, err = run_cli(capsys, "--api-root", pulp.url, "rds_connection_tests", "--list")
    assert code == cli.EXIT_OK
    assert out == GUIDE_LIST  # the guide's GET lacks 3-7's descriptions: built-in fills in
    assert err == ""
    assert "Authorization" not in pulp.headers_seen[0]


def test_list_falls_back_when_server_unreachable(capsys, pulp):
    url = pulp.url
    pulp.stop()
    code, out, err = run_cli(capsys, "rds-connection-tests", "--api-root", url, "--list")
    assert code == cli.EXIT_OK and out == GUIDE_LIST
    assert f"could not get the list from {url}" in err and "built-in catalog" in err


def test_list_json(capsys, pulp):
    code, out, _ = run_cli(
        capsys, "--api-root", pulp.url, "rds_connection_tests", "--list", "--json"
    )
    document = json.loads(out)
    assert code == 0 and document["source"] == "server"
    assert document["available_tests"][5] == "test_6_listen_notify"


def test_dispatch_and_monitor_with_the_guides_output(capsys, pulp):
    pulp.users["admin"] = SECRET
    code, out, err = run_cli(
        capsys,
        *login_options(pulp.url, password=SECRET),
        "rds_connection_tests",
        "-t",
        "test_1_idle_connection",
        "--poll-interval",
        "0.05",
    )
    assert code == cli.EXIT_OK, err
    assert "visible to other users in the process list" in err
    task_id = next(iter(pulp.tasks))
    expected_start = f"""\
Dispatching 1 test(s) to {pulp.url}
Tests to run:
  - test_1_idle_connection: Idle connection test (50 min) - baseline timeout test

✓ Successfully dispatched 1 test(s)

Dispatched Tasks:
  - test_1_idle_connection
    Task ID: {task_id}
    Task URL: {pulp.url}/pulp/api/v3/tasks/{task_id}/
"""
    assert out.startswith(expected_start)
    assert (
        """Starting task monitoring...
Polling every 0.05 seconds
Press Ctrl+C to stop monitoring (tasks will continue running)

--- Status Check (T+0 minutes) ---
  test_1_idle_connection: running
1 task(s) still running...

--- Status Check (T+0 minutes) ---
  test_1_idle_connection: COMPLETED
    Result: {'test': 'Test 1 - Django Idle Connection', 'started_at': """
        in out
    )
    assert "'connection_alive': False" in out
    assert "\n✓ All tasks completed!\n" in out
    assert "TEST SUMMARY" in out and "DIAGNOSIS" in out
    # Run history: written with its task, and the final result stored.
    run = RunStore().get("last")
    assert run.api_root == pulp.url and run.tests == ["test_1_idle_connection"]
    assert run.finished and run.final[run.tasks[0].task_href]["result"]["status"] == "FAILED"
    assert pulp.tasks[task_id]["cid"] == run.correlation_id
    # The password is nowhere: not in the output, not in any file the run wrote.
    assert SECRET not in out + err
    written = [p for p in Path(os.environ["RDS_TUI_DATA_DIR"]).rglob("*") if p.is_file()]
    assert Path(os.environ["RDS_TUI_DATA_DIR"], "runs", f"{run.id}.json") in written
    assert not [p for p in written if SECRET in p.read_text(errors="replace")]


def test_several_tests_from_environment_variables(capsys, pulp, monkeypatch):
    monkeypatch.setenv("PULP_API_ROOT", pulp.url)
    monkeypatch.setenv("PULP_USER", "admin")
    monkeypatch.setenv("PULP_PASSWORD", "password")
    code, out, err = run_cli(
        capsys,
        "rds_connection_tests",
        "-t",
        "test_1_idle_connection",
        "-t",
        "test_2_active_heartbeat",
        "-t",
        "6",
        "--poll-interval",
        "0.05",
    )
    assert code == cli.EXIT_OK, err
    assert "process list" not in err
    assert out.startswith(f"Dispatching 3 test(s) to {pulp.url}\n")
    assert "  - test_6_listen_notify: LISTEN/NOTIFY test (50 min) - CRITICAL" in out
    assert "3 task(s) still running..." in out
    assert out.count(": COMPLETED") >= 3
    # ONE request per status check, each asking for all three tasks.
    polls = pulp.task_polls()
    assert len(polls) == out.count("--- Status Check") >= 2
    assert all(sorted(q["pulp_id__in"].split(",")) == sorted(pulp.tasks) for _, _, q in polls)
    # The dispatch and every status check carried the environment's credentials.
    from_environment = "Basic " + base64.b64encode(b"admin:password").decode()
    sent = [
        headers.get("Authorization")
        for (method, path, _), headers in zip(pulp.requests, pulp.headers_seen, strict=True)
        if method == "POST" or path.endswith("/tasks/")
    ]
    assert len(sent) == len(polls) + 1 and set(sent) == {from_environment}


def test_all_dispatches_the_seven(capsys, pulp):
    code, out, _ = run_cli(
        capsys,
        *login_options(pulp.url),
        "rds_connection_tests",
        "--all",
        "--no-monitor",
    )
    assert code == 0 and out.startswith(f"Dispatching 7 test(s) to {pulp.url}")
    assert [t["name"] for t in pulp.tasks.values()] == GUIDE_CATALOG["available_tests"]


def test_no_monitor_then_watch(capsys, pulp, monkeypatch):
    monkeypatch.setenv("PULP_USER", "admin")
    monkeypatch.setenv("PULP_PASSWORD", "password")
    code, out, _ = run_cli(
        capsys,
        "--api-root",
        pulp.url,
        "rds_connection_tests",
        "-t",
        "test_6_listen_notify",
        "--no-monitor",
    )
    assert code == 0
    assert "Starting task monitoring" not in out and not pulp.task_polls()
    run_id = re.search(r"rds-tui watch (\S+)", out).group(1)
    assert not RunStore().get(run_id).finished

    code, out, err = run_cli(capsys, "watch", run_id[:12], "--poll-interval", "0.05")
    assert code == cli.EXIT_OK, err
    assert out.startswith(f"Watching run {run_id}: 1 test(s) on {pulp.url}")
    assert "✓ All tasks completed!" in out
    assert RunStore().get(run_id).finished

    # A finished run is shown from the history, even with the server gone.
    pulp.stop()
    code, out, err = run_cli(capsys, "watch", run_id)
    assert code == cli.EXIT_OK, err
    assert out.startswith(f"Run {run_id} finished earlier; its results from the run history:")
    assert "  test_6_listen_notify: COMPLETED\n    Result: {'test': " in out
    assert "✓ All tasks completed!" in out and "TEST SUMMARY" in out


def test_json_output(capsys, pulp):
    code, out, _ = run_cli(
        capsys,
        *login_options(pulp.url),
        "rds_connection_tests",
        "-t",
        "1",
        "--json",
        "--poll-interval",
        "0.05",
    )
    document = json.loads(out)
    assert code == 0
    assert document["monitoring"] == "finished" and document["all_completed"] is True
    assert document["tasks"][0]["state"] == "completed"
    assert document["tasks"][0]["result"]["test"] == "Test 1 - Django Idle Connection"
    assert "findings" in document["diagnosis"]


def test_failed_task_exit_code(capsys):
    with FakePulp(final_state="failed") as pulp:
        code, out, _ = run_cli(
            capsys,
            *login_options(pulp.url),
            "rds_connection_tests",
            "-t",
            "1",
            "--poll-interval",
            "0.05",
        )
    assert code == cli.EXIT_TASKS_FAILED
    assert "test_1_idle_connection: FAILED\n    Error: boom" in out
    assert "did not complete: test_1_idle_connection failed" in out


def test_cancel(capsys, pulp):
    pulp.polls_to_finish = 10**6
    run_cli(
        capsys,
        *login_options(pulp.url),
        "rds_connection_tests",
        "-t",
        "1",
        "-t",
        "2",
        "--no-monitor",
    )
    code, out, _ = run_cli(
        capsys,
        "--user",
        "admin",
        "--password",
        "password",
        "cancel",
        "last",
        "-t",
        "test_2_active_heartbeat",
    )
    assert code == 0
    canceled = [t["name"] for t in pulp.tasks.values() if t.get("canceled")]
    assert canceled == ["test_2_active_heartbeat"]
    assert "test_2_active_heartbeat: canceling" in out
    code, out, _ = run_cli(capsys, "--user", "admin", "--password", "password", "cancel", "last")
    assert code == 0
    assert "test_2_active_heartbeat: already finished (canceled)" in out
    assert "test_1_idle_connection: canceling" in out


def test_read_only_refuses_dispatch(capsys, pulp):
    code, _, err = run_cli(
        capsys, "--read-only", "--api-root", pulp.url, "rds_connection_tests", "-t", "1"
    )
    assert code == cli.EXIT_USAGE and "read-only" in err and not pulp.tasks


def test_wrong_password(capsys, pulp):
    code, out, err = run_cli(
        capsys,
        *login_options(pulp.url, password="wrong-secret"),
        "rds_connection_tests",
        "-t",
        "1",
    )
    assert code == cli.EXIT_API
    assert "Authentication failed for user 'admin'" in err
    assert "wrong-secret" not in out + err
    assert RunStore().list() == []


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ({"enabled": False}, "RDS connection tests are not enabled."),
        ({"plugin_installed": False}, "plugin is not installed"),
    ],
)
def test_server_refuses(capsys, server, message):
    with FakePulp(**server) as pulp:
        code, _, err = run_cli(capsys, *login_options(pulp.url), "rds_connection_tests", "-t", "1")
    assert code == cli.EXIT_API and message in err
    assert not pulp.tasks


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rds_connection_tests", "-t", "1"], "no server given"),
        (["--api-root", "http://x", "rds_connection_tests"], "no tests chosen"),
        (
            ["--api-root", "http://x", "rds_connection_tests", "-t", "test_10"],
            "unknown test 'test_10'",
        ),
        (["--api-root", "http://x", "rds_connection_tests", "-t", "1", "--all"], "either --all"),
        (
            ["--api-root", "http://x", "--password", "p", "rds_connection_tests", "-t", "1"],
            "no user",
        ),
        (
            ["--api-root", "http://x", "--key", "k.pem", "rds_connection_tests", "-t", "1"],
            "--key needs --cert",
        ),
        (["--profile", "nope", "rds_connection_tests", "-t", "1"], "nope"),
        (["watch", "20990101"], "no run"),
        (
            ["--api-root", "http://x", "--user", "admin", "rds_connection_tests", "-t", "1"],
            "no password for user 'admin'",
        ),
        (
            [
                "--api-root",
                "https://admin:hunter2@pulp.example.com",
                "rds_connection_tests",
                "--list",
            ],
            "contains credentials",
        ),
        (
            [
                "--api-root",
                "https://pulp.example.com/pulp/api/v3/",
                "rds_connection_tests",
                "-t",
                "1",
            ],
            "has a path",
        ),
        (
            ["--api-root", "ftp://pulp.example.com", "rds_connection_tests", "-t", "1"],
            "not a server URL",
        ),
    ],
)
def test_usage_errors(capsys, argv, message):
    code, _, err = run_cli(capsys, *argv)
    assert code == cli.EXIT_USAGE
    assert message in err and "Traceback" not in err
    assert "hunter2" not in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["rds_connection_tests", "--duration", "0"])
    assert info.value.code == cli.EXIT_USAGE


def test_global_options_after_the_subcommand(capsys, pulp):
    code, _out, _ = run_cli(
        capsys,
        "rds_connection_tests",
        *login_options(pulp.url),
        "-t",
        "1",
        "--no-monitor",
    )
    assert code == 0 and len(pulp.tasks) == 1


def test_profile_supplies_server_and_credentials(capsys, pulp, monkeypatch):
    from rds_tui.profiles import Profile, ProfileStore

    monkeypatch.setenv("PROD_PW", "password")
    ProfileStore().upsert(
        Profile(
            name="prod",
            api_root=pulp.url,
            username="admin",
            password_env="PROD_PW",
            poll_interval=0.05,
        )
    )
    code, out, err = run_cli(capsys, "--profile", "prod", "rds_connection_tests", "-t", "1")
    assert code == 0, err
    assert "Polling every 0.05 seconds" in out
    assert RunStore().get("last").profile == "prod"


def test_server_goes_away_mid_monitor_and_comes_back(capsys, pulp):
    pulp.polls_to_finish = 6
    proxy = TcpProxy("127.0.0.1", pulp.port).start()
    monitoring_ended = threading.Event()
    outages = []

    def interrupt_server():
        # After two good status checks, the server is unreachable for 1 s.
        deadline = time.monotonic() + 30
        while len(pulp.task_polls()) < 2:
            if monitoring_ended.is_set() or time.monotonic() > deadline:
                return
            time.sleep(0.01)
        with proxy.outage():
            outages.append(len(pulp.task_polls()))
            time.sleep(1.0)

    thread = threading.Thread(target=interrupt_server, daemon=True)
    thread.start()
    try:
        code, out, err = run_cli(
            capsys,
            *login_options(proxy.url),
            "rds_connection_tests",
            "-t",
            "1",
            "--poll-interval",
            "0.1",
        )
    finally:
        monitoring_ended.set()
        thread.join(timeout=30)
        proxy.stop()
    assert not thread.is_alive()
    assert outages, "monitoring ended before its second status check"
    assert_outage_survived(code, out, err)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_stops_monitoring_and_says_how_to_reattach(tmp_path, stop_signal):
    with FakePulp(polls_to_finish=10**6) as pulp:
        env = {
            **os.environ,
            "PULP_USER": "admin",
            "PULP_PASSWORD": "password",
            "PYTHONUNBUFFERED": "1",
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                # Ctrl-C as in a terminal: a suite started in the background (CI, nohup,
                # `&`) inherits SIGINT ignored, and Python keeps ignoring it.
                (
                    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler)"
                    "; from rds_tui.main import main; sys.exit(main())"
                ),
                "--api-root",
                pulp.url,
                "rds_connection_tests",
                "-t",
                "1",
                "--poll-interval",
                "0.1",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 20
        while len(pulp.task_polls()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(stop_signal)
        _out, err = process.communicate(timeout=20)
    assert process.returncode == cli.EXIT_INTERRUPTED, err
    assert "Monitoring stopped. The tasks keep running on the server." in err
    run = RunStore().get("last")
    assert f"rds-tui watch {run.id}" in err
    assert "Traceback" not in err
    assert not run.finished


def test_password_starting_with_a_dash(capsys):
    with FakePulp(users={"admin": "-Xy_9"}) as pulp:
        code, _, err = run_cli(
            capsys,
            *login_options(pulp.url, password="-Xy_9"),
            "rds_connection_tests",
            "-t",
            "1",
            "--no-monitor",
        )
    assert code == cli.EXIT_OK, err


def test_list_does_not_import_the_heavy_modules():
    # What keeps `--list` under 0.3 s (bench/cli_start.py measures it).
    probe = (
        "import sys; from rds_tui.cli import main; main(['rds_connection_tests', '--list']);"
        "print(sorted(m for m in ('textual', 'pydantic', 'httpx', 'rds_tui.lab') "
        "if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"
    assert result.stdout == GUIDE_LIST


@pytest.mark.parametrize(
    ("argv", "screen", "shown", "not_shown"),
    [
        ([], "InstancesScreen", "prod  pulp  https://pulp.example.com", "read-only"),
        (["--read-only"], "InstancesScreen", "read-only: watching and history", "Pick tests"),
        (["--profile", "prod", "--read-only"], "HistoryScreen", "No runs yet", "Pick tests"),
    ],
)
def test_no_command_opens_the_dashboard(monkeypatch, argv, screen, shown, not_shown):
    """The real dashboard, started by the command line and run headless: the screen the
    options ask for, as the user would read it."""
    from rds_tui.app import RdsTuiApp
    from rds_tui.profiles import Profile, ProfileStore

    ProfileStore().upsert(Profile(name="prod", api_root="https://pulp.example.com"))
    seen = {}

    async def look(pilot):
        deadline = time.monotonic() + 15
        while type(pilot.app.screen).__name__ != screen and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(0.3)  # the screen's first refresh (Instances loads the profiles)
        seen["screen"] = type(pilot.app.screen).__name__
        seen["text"] = screen_text(pilot.app.export_screenshot())
        pilot.app.exit(0)

    real_run = RdsTuiApp.run
    monkeypatch.setattr(
        RdsTuiApp,
        "run",
        lambda app: real_run(app, headless=True, size=(100, 30), auto_pilot=look),
    )
    assert program_main(argv) == cli.EXIT_OK  # rds_tui.main: the program's entry
    assert seen["screen"] == screen
    assert shown in seen["text"] and not_shown not in seen["text"]


def screen_text(svg: str) -> str:
    """The characters of a Textual screenshot (SVG), as the terminal shows them."""
    return html.unescape("".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")


def test_no_dashboard_gives_a_clear_message(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "rds_tui.app", None)  # import fails
    code, _, err = run_cli(capsys)
    assert code == cli.EXIT_ERROR
    assert "dashboard is not available" in err and "rds-tui --help" in err


def test_exit_codes_are_documented_in_help(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "130"):
        assert f"\n  {code}" in out


def test_profile_whose_password_variable_is_unset(capsys):
    from rds_tui.profiles import Profile, ProfileStore

    ProfileStore().upsert(
        Profile(
            name="prod",
            api_root="https://pulp.example.com",
            username="admin",
            password_env="RDS_TUI_TEST_UNSET_PW",
        )
    )
    code, _, err = run_cli(capsys, "--profile", "prod", "rds_connection_tests", "-t", "1")
    assert code == cli.EXIT_USAGE
    assert "no password for user 'admin'" in err
    assert "environment variable RDS_TUI_TEST_UNSET_PW (NOT set)" in err


def test_watch_a_run_whose_task_the_server_no_longer_has(capsys):
    from rds_tui.models import missing_task_document
    from rds_tui.runs import Run

    href = "/pulp/api/v3/tasks/0190a1b2-0000-7000-8000-000000000001/"
    run = Run(
        api_root="http://127.0.0.1:9",  # nothing listens: the history must be enough
        tests=["test_1_idle_connection"],
        tasks=[{"test_name": "test_1_idle_connection", "task_id": "x", "task_href": href}],
    )
    assert run.record_task(missing_task_document(href, {"pulp_href": href, "state": "running"}))
    RunStore().create(run)
    code, out, err = run_cli(capsys, "watch", run.id)
    assert code == cli.EXIT_TASKS_FAILED, err
    assert "  test_1_idle_connection: MISSING\n    The server no longer has this task" in out
    assert "Error: Task missing: the server no longer has this task" in out


def test_output_reader_gone_is_not_a_traceback():
    # `rds-tui rds_connection_tests --list | head -0`: the pipe's reader is already gone.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "rds_tui", "rds_connection_tests", "--list"],
            check=False,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
    finally:
        os.close(write_end)
    assert result.returncode == cli.EXIT_BROKEN_PIPE
    assert "Traceback" not in result.stderr

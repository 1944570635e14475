"""`rds-tui runs`, `report`, `profiles ...` as a user types them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import stat
import sys
from datetime import UTC, datetime

import httpx
import pytest

from rds_tui.api import PulpClient
from rds_tui.cli import EXIT_OK, EXIT_USAGE, main
from rds_tui.profiles import Profile, ProfileStore
from rds_tui.runs import Run, RunStore
from rds_tui.service.runs import RunService

from .test_report_diagnosis import run_of, session_mode_matrix

SECRET = "Sup3r-s3cret"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def stored_run(finished_count: int = 7, created_at: datetime | None = None) -> Run:
    tasks = session_mode_matrix()
    run = run_of(
        tasks,
        created_at=created_at or datetime.now(UTC),
        profile="lab",
        api_root="http://127.0.0.1:9",  # discard port: nothing listens there
        options={"duration_minutes": 12},
        correlation_id="cid-1",
    )
    for item in tasks[:finished_count]:
        run.record_task({k: v for k, v in item.items() if k != "test_name"})
    return RunStore().create(run)


# --- runs -----------------------------------------------------------------------------


def refresh_run(run: Run, client: PulpClient) -> list[dict]:
    """The run service's refresh, as `report` uses it."""

    async def refresh() -> list[dict]:
        async with client:
            return await RunService().refresh(client, run)

    return asyncio.run(refresh())


def test_runs_lists_newest_first_with_state(capsys):
    older = stored_run(created_at=datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    newer = stored_run(finished_count=5, created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    code, out, err = run_cli(capsys, "runs")
    assert code == EXIT_OK and err == ""
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["RUN", "CREATED"]
    assert lines[1].startswith(newer.id) and "2026-11-28 09:00:00" in lines[1]
    assert f"not finished (5/7 final): rds-tui watch {newer.id}" in lines[1]
    assert lines[2].startswith(older.id) and "finished: 7 completed" in lines[2]

    code, out, _ = run_cli(capsys, "runs", "--json")
    document = json.loads(out)
    assert [r["id"] for r in document] == [newer.id, older.id]
    assert document[0]["finished"] is False


def test_runs_reports_damaged_files_without_failing(capsys):
    good = stored_run()
    RunStore().directory.joinpath("20261128-000000-0bad.json").write_text("{not json")
    code, out, err = run_cli(capsys, "runs")
    assert code == EXIT_OK
    assert good.id in out
    assert "warning: skipped" in err and "0bad.json" in err and "line 1" in err


def test_runs_when_there_are_none(capsys):
    code, out, _ = run_cli(capsys, "runs")
    assert code == EXIT_OK and "No runs recorded yet" in out


# --- report ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
def test_report_from_stored_results_in_each_format(capsys, fmt):
    run = stored_run()
    code, out, err = run_cli(capsys, "report", "last", "--format", fmt)
    assert code == EXIT_OK, err
    if fmt == "md":
        assert out.startswith(f"# RDS connection tests: run {run.id}")
        assert "**Recommendation:** LISTEN connections" in out
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert len(rows) == 7 and rows[0]["sqlstate"] == "57P05"
    else:
        assert json.loads(out)["diagnosis"]["estimated_idle_cutoff_seconds"] == pytest.approx(5.05)


def test_report_to_file(capsys, tmp_path):
    run = stored_run()
    target = tmp_path / "out" / "report.md"
    code, _, err = run_cli(capsys, "report", run.id[:17], "-o", str(target))
    assert code == EXIT_USAGE and "does not exist" in err
    target.parent.mkdir()
    code, out, err = run_cli(capsys, "report", run.id[:17], "-o", str(target))
    assert code == EXIT_OK and out == ""
    assert f"written to {target}" in err
    assert target.read_text().startswith(f"# RDS connection tests: run {run.id}")


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_an_export_gets_the_mode_the_umask_gives(capsys, tmp_path, umask, mode):
    run = stored_run()
    target = tmp_path / "report.json"
    previous = os.umask(umask)
    try:
        code, _, err = run_cli(capsys, "report", run.id, "--format", "json", "-o", str(target))
        written = RunService().export(run, run.task_results(), "md", tmp_path / "report.md")
    finally:
        os.umask(previous)
    assert code == EXIT_OK, err
    for path in (target, written):
        assert stat.S_IMODE(path.stat().st_mode) == mode
    assert not list(tmp_path.glob(".*.tmp"))  # atomic: no temporary file left behind


def test_report_errors_are_readable(capsys):
    code, _, err = run_cli(capsys, "report", "nope")
    assert code == EXIT_USAGE and "no run 'nope'" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exited:
        main(["report", "last", "--format", "pdf"])
    assert exited.value.code == EXIT_USAGE
    assert "use md, jira, csv, json or svg" in capsys.readouterr().err


def test_report_of_unfinished_run_falls_back_when_server_is_unreachable(capsys):
    run = stored_run(finished_count=5)
    code, out, err = run_cli(capsys, "report", run.id, "--format", "csv")
    assert code == EXIT_OK
    assert "could not refresh run" in err and "stored so far" in err
    rows = {r["test_name"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["test_6_listen_notify"]["task_state"] == "unknown"
    assert rows["test_1_idle_connection"]["disconnected"] == "True"

    code, out, err = run_cli(capsys, "report", run.id, "--offline")
    assert code == EXIT_OK and err == ""


def test_refresh_records_tasks_that_finished_since(capsys):
    run = stored_run(finished_count=5)
    full = {t["pulp_href"]: t for t in session_mode_matrix()}
    requests = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        ids = request.url.params["pulp_id__in"].split(",")
        results = []
        for href, item in full.items():
            if href.split("/")[-2] in ids:
                task = {k: v for k, v in item.items() if k != "test_name"}
                if "test_7" in item["test_name"]:
                    task.update(state="running", result=None, finished_at=None)
                results.append(task)
        return httpx.Response(200, json={"count": len(results), "results": results})

    client = PulpClient(run.api_root, transport=httpx.MockTransport(handler))
    live = refresh_run(run, client)
    assert len(requests) == 1  # both unfinished tasks in one request
    assert [t["state"] for t in live] == ["running"]
    assert [t.test_name for t in run.pending_tasks()] == ["test_7_listen_with_activity"]
    assert run.final[session_mode_matrix()[5]["pulp_href"]]["result"]["sqlstate"] == "57P05"


def test_refresh_records_a_purged_task_and_the_report_says_so(capsys):
    run = stored_run(finished_count=6)
    purged = run.pending_tasks()[0]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"count": 0, "results": []})  # deleted meanwhile

    client = PulpClient(run.api_root, transport=httpx.MockTransport(handler))
    assert refresh_run(run, client) == []
    assert run.finished and run.final[purged.task_href]["state"] == "missing"
    RunStore().save(run)

    code, out, err = run_cli(capsys, "report", run.id, "--format", "md")
    assert code == EXIT_OK and err == ""  # finished: no server needed any more
    row = next(line for line in out.splitlines() if line.startswith(f"| {purged.test_name} "))
    assert "| missing |" in row and "no longer has this task" in row
    assert f"{purged.test_name} produced no result" in out


# --- profiles ------------------------------------------------------------------------------


def test_profiles_add_show_list_remove(capsys, monkeypatch):
    code, out, err = run_cli(
        capsys,
        "profiles",
        "add",
        "prod",
        "--api-root",
        "https://pulp.example.com",
        "--user",
        "admin",
        "--password-env",
        "PROD_PW",
        "--duration",
        "45",
        "-t",
        "6",
    )
    assert code == EXIT_OK, err
    assert "Saved profile prod" in out

    code, _, err = run_cli(capsys, "profiles", "add", "prod", "--api-root", "https://x")
    assert code == EXIT_USAGE and "--replace" in err

    code, out, _ = run_cli(capsys, "profiles", "show", "prod")
    assert "https://pulp.example.com" in out and "default_duration" in out
    assert ProfileStore().get("prod").default_tests == ["test_6_listen_notify"]
    assert "environment variable PROD_PW (NOT set)" in out

    code, out, _ = run_cli(capsys, "profiles", "list")
    assert "prod" in out and "admin (password: environment variable PROD_PW (NOT set))" in out

    code, _, err = run_cli(capsys, "profiles", "remove", "prod")
    assert code == EXIT_OK
    code, _, err = run_cli(capsys, "profiles", "show", "prod")
    assert code == EXIT_USAGE and "no profile named 'prod'" in err


def test_stored_password_is_never_printed(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(SECRET + "\n"))
    code, out, err = run_cli(
        capsys,
        "profiles",
        "add",
        "lab",
        "--api-root",
        "http://127.0.0.1:24817",
        "--user",
        "admin",
        "--store-password",
    )
    assert code == EXIT_OK, err
    path = ProfileStore().path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ProfileStore().get("lab").resolve_password() == SECRET
    outputs = [out, err]
    for argv in (
        ["profiles", "show", "lab"],
        ["profiles", "show", "lab", "--json"],
        ["profiles", "list"],
        ["profiles", "list", "--json"],
    ):
        code, out, err = run_cli(capsys, *argv)
        assert code == EXIT_OK
        outputs += [out, err]
    assert not any(SECRET in text for text in outputs)
    assert json.loads(outputs[-2])[0]["password_stored"] is True


def test_profiles_add_validation_names_the_field(capsys):
    code, _, err = run_cli(capsys, "profiles", "add", "bad", "--api-root", "https://h/pulp/api/v3/")
    assert code == EXIT_USAGE
    assert "api_root" in err and "api_prefix" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "profiles", "add", "bad")
    assert code == EXIT_USAGE and "give --api-root URL (a Pulp server) or --dsn URL" in err
    code, _, err = run_cli(capsys, "profiles", "add", "bad", "--api-root", "https://h", "-t", "10")
    assert code == EXIT_USAGE and "-t 10: not a test" in err
    assert not ProfileStore().path.exists()


def test_corrupt_profiles_file_is_reported_and_kept(capsys):
    path = ProfileStore().path
    path.parent.mkdir(parents=True)
    path.write_text("[profiles.prod\n")
    for argv in (["profiles", "list"], ["profiles", "add", "x", "--api-root", "https://x"]):
        code, _, err = run_cli(capsys, *argv)
        assert code == EXIT_USAGE
        assert str(path) in err and "line 1" in err
    assert path.read_text() == "[profiles.prod\n"


def test_import_pulp_cli(capsys, tmp_path):
    pulp_cli = tmp_path / "xdg" / "pulp" / "cli.toml"  # XDG_CONFIG_HOME from conftest
    pulp_cli.parent.mkdir(parents=True)
    pulp_cli.write_text(
        f'[cli]\nbase_url = "https://pulp.corp"\nusername = "ops"\npassword = "{SECRET}"\n'
        '[cli-stage]\nbase_url = "https://stage.corp"\ndomain = "qa"\n'
    )
    code, out, err = run_cli(capsys, "profiles", "import-pulp-cli")
    assert code == EXIT_OK, err
    assert str(pulp_cli) in out
    assert "imported pulp-cli: https://pulp.corp" in out and "imported stage" in out
    assert "password not imported" in out and SECRET not in out
    assert ProfileStore().get("stage").domain == "qa"

    code, out, _ = run_cli(capsys, "profiles", "import-pulp-cli", "--with-passwords")
    assert ProfileStore().get("pulp-cli").resolve_password() == SECRET
    assert SECRET not in out

    code, _, err = run_cli(
        capsys, "profiles", "import-pulp-cli", "--file", str(tmp_path / "missing.toml")
    )
    assert code == EXIT_USAGE and "no pulp-cli configuration found" in err


def test_readable_file_with_a_password_is_warned_about(capsys):
    store = ProfileStore()
    store.upsert(Profile(name="lab", api_root="http://127.0.0.1:1", username="a", password=SECRET))
    code, _, err = run_cli(capsys, "profiles", "list")
    assert code == EXIT_OK and err == ""
    os.chmod(store.path, 0o644)
    code, _, err = run_cli(capsys, "profiles", "list")
    assert code == EXIT_OK
    assert "readable by others (mode 644)" in err and f"chmod 600 {store.path}" in err
    assert SECRET not in err

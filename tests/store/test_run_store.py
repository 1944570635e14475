"""Run history: a closed terminal must lose nothing, a damaged file must not hide others."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rds_tui.runs import Run, RunError, RunFileError, RunNotFound, RunStore, default_runs_dir

HREF_1 = "/pulp/api/v3/tasks/0190a1b2-0000-7000-8000-000000000001/"
HREF_2 = "/pulp/api/v3/tasks/0190a1b2-0000-7000-8000-000000000002/"


def make_run(created_at: datetime | None = None, **overrides) -> Run:
    fields = {
        "profile": "prod",
        "api_root": "https://pulp.example.com",
        "tests": ["test_1_idle_connection", "test_6_listen_notify"],
        "options": {"duration_minutes": 50, "run_sequentially": False},
        "correlation_id": "c0ffee",
        "tasks": [
            {
                "test_name": "test_1_idle_connection",
                "task_id": HREF_1.split("/")[-2],
                "task_href": HREF_1,
            },
            {
                "test_name": "test_6_listen_notify",
                "task_id": HREF_2.split("/")[-2],
                "task_href": HREF_2,
            },
        ],
    }
    if created_at is not None:
        fields["created_at"] = created_at
    return Run(**(fields | overrides))


def task_json(href: str, state: str, **extra) -> dict:
    return {"pulp_href": href, "state": state, "started_at": "2026-11-28T09:30:00Z", **extra}


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def test_run_id_is_short_sortable_and_matches_creation_time():
    run = make_run(datetime(2026, 11, 28, 9, 30, 12, tzinfo=UTC))
    assert re.fullmatch(r"20261128-093012-[0-9a-f]{4}", run.id)
    later = make_run(datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC))
    assert sorted([later.id, run.id]) == [run.id, later.id]


def test_created_run_reads_back_identically_from_a_new_store(store):
    run = store.create(make_run())
    path = store.directory / f"{run.id}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert RunStore(store.directory).get(run.id) == run
    with pytest.raises(RunError, match="already exists"):
        store.create(run)


def test_final_results_are_recorded_and_run_finishes(store):
    run = store.create(make_run())
    assert not run.record_task(task_json(HREF_1, "running"))
    assert run.record_task(
        task_json(
            HREF_1,
            "completed",
            result={"test_name": "test_1_idle_connection", "disconnected": True},
        )
    )
    assert not run.finished and [t.test_name for t in run.pending_tasks()] == [
        "test_6_listen_notify"
    ]
    assert not run.record_task(
        task_json(
            HREF_1,
            "completed",
            result={"test_name": "test_1_idle_connection", "disconnected": True},
        )
    )  # nothing new
    assert run.record_task(task_json(HREF_2, "failed", error={"description": "boom"}))
    assert run.finished
    store.save(run)

    again = store.get(run.id)
    assert again.finished
    results = again.task_results()
    assert [r["test_name"] for r in results] == ["test_1_idle_connection", "test_6_listen_notify"]
    assert results[0]["result"]["disconnected"] is True
    assert again.state_summary() == "1 completed, 1 failed"
    assert store.unfinished() == []


def test_task_the_server_no_longer_has_finishes_the_run(store):
    from rds_tui.models import missing_task_document

    run = store.create(make_run())
    assert run.record_task(task_json(HREF_1, "completed", result={"disconnected": False}))
    last_seen = task_json(HREF_2, "running")
    assert run.record_task(missing_task_document(HREF_2, last_seen))
    assert run.finished
    store.save(run)

    again = store.get(run.id)
    assert again.finished and store.unfinished() == []
    assert again.state_summary() == "1 completed, 1 missing"
    gone = again.task_results()[1]
    assert gone["state"] == "missing" and gone["started_at"] == last_seen["started_at"]
    assert "no longer has this task" in gone["error"]["description"]
    assert "last seen running" in gone["error"]["description"]


def test_task_matched_by_id_when_href_has_a_domain(store):
    run = make_run()
    domain_href = HREF_1.replace("/pulp/api/v3/", "/pulp/team-a/api/v3/")
    assert run.record_task(task_json(domain_href, "canceled"))
    assert HREF_1 in run.final


def test_passwords_never_reach_the_disk(store):
    run = make_run(
        options={"duration_minutes": 1, "password": "hunter2", "auth": {"PULP_PASSWORD": "hunter2"}}
    )
    run.record_task(
        task_json(
            HREF_1,
            "completed",
            result={"target": {"host": "db", "user": "probe", "password": "hunter2"}},
        )
    )
    store.create(run)
    text = (store.directory / f"{run.id}.json").read_text()
    assert "hunter2" not in text
    assert json.loads(text)["final"][HREF_1]["result"]["target"] == {"host": "db", "user": "probe"}


def test_get_by_prefix_last_and_clear_errors(store):
    base = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    older = store.create(make_run(base, id="20261128-090000-aaaa"))
    newer = store.create(make_run(base + timedelta(hours=1), id="20261128-100000-bbbb"))
    same_day = store.create(make_run(base + timedelta(hours=2), id="20261128-110000-cccc"))

    assert [r.id for r in store.list()] == [same_day.id, newer.id, older.id]
    assert store.get("last").id == same_day.id
    assert store.get("20261128-10").id == newer.id
    with pytest.raises(RunError, match=r"matches 3 runs.*give more"):
        store.get("20261128")
    with pytest.raises(RunNotFound, match="rds-tui runs"):
        store.get("2025")
    with pytest.raises(RunNotFound, match="rds-tui runs"):
        store.get("../../etc/passwd")


def test_damaged_file_is_reported_and_others_still_listed(store):
    good = store.create(make_run())
    (store.directory / "20261128-080000-dead.json").write_text('{"id": "20261128-0800')
    (store.directory / "20261128-070000-beef.json").write_text('{"id": "x"}')
    listing = store.scan()
    assert [r.id for r in listing.runs] == [good.id]
    assert len(listing.problems) == 2
    assert "line 1" in listing.problems[1] and "dead.json" in listing.problems[1]
    assert "api_root" in listing.problems[0] and "beef.json" in listing.problems[0]
    with pytest.raises(RunFileError, match="dead.json"):
        store.get("20261128-080000-dead")
    (store.directory / "29991231-235959-ffff.json").write_text("")  # newest, but empty
    assert store.get("last").id == good.id


def test_no_history_yet(store):
    assert store.list() == []
    with pytest.raises(RunNotFound, match="no runs recorded yet"):
        store.get("last")


def test_default_directory_honours_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RDS_TUI_DATA_DIR", str(tmp_path / "data"))
    assert default_runs_dir() == tmp_path / "data" / "runs"
    assert RunStore().directory == tmp_path / "data" / "runs"


def test_unknown_fields_from_newer_versions_are_kept(store):
    run = store.create(make_run())
    path = store.directory / f"{run.id}.json"
    document = json.loads(path.read_text())
    document["dashboard_layout"] = "wide"
    path.write_text(json.dumps(document))
    reread = store.get(run.id)
    store.save(reread)
    assert json.loads(path.read_text())["dashboard_layout"] == "wide"

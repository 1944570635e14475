"""`rds-tui report` for the ticket: Collect next, --metrics, jira and svg, several runs."""

from __future__ import annotations

import copy
import json
import shlex
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rds_tui.cli import EXIT_OK, EXIT_USAGE
from rds_tui.profiles import ProfileStore, make_profile
from rds_tui.runs import RunStore

from .test_collect import production_run
from .test_history_profiles_cli import run_cli
from .test_report_diagnosis import run_of

FIXTURE = Path(__file__).parent / "data" / "get-metric-data.json"


def production(created_at: datetime | None = None):
    """The production-like run of test_collect, stored finished, on profile prod."""
    tasks = production_run()
    run = run_of(
        tasks,
        created_at=created_at or datetime(2026, 11, 28, 9, 0, 5, tzinfo=UTC),
        profile="prod",
        api_root="https://pulp.example.com",
        options={"duration_minutes": 50, "time_unit_seconds": 60},
    )
    for item in tasks:
        run.record_task({k: v for k, v in item.items() if k != "test_name"})
    return RunStore().create(run)


def save_prod_profile():
    ProfileStore().upsert(
        make_profile(
            name="prod",
            api_root="https://pulp.example.com",
            rds_proxy_name="pulp-prod-proxy",
            aws_region="eu-west-1",
            db_instance_identifier="pulp-db",
        )
    )


def test_markdown_ends_with_ready_to_run_collection_commands(capsys):
    save_prod_profile()
    run = production()
    code, out, err = run_cli(capsys, "report", run.id)
    assert code == EXIT_OK, err
    collect = out[out.index("## Collect next") :]
    commands = [line for line in collect.splitlines() if line.startswith("aws ")]
    metrics = shlex.split(commands[0])
    assert metrics[:3] == ["aws", "cloudwatch", "get-metric-data"]
    assert "pulp-prod-proxy" in metrics[metrics.index("--metric-data-queries") + 1]
    assert metrics[metrics.index("--region") + 1] == "eu-west-1"
    groups = {shlex.split(c)[shlex.split(c).index("--log-group-name") + 1] for c in commands[1:]}
    assert groups == {"/aws/rds/instance/pulp-db/postgresql", "/aws/rds/proxy/pulp-prod-proxy"}
    assert "<RDS_PROXY_NAME>" not in out


def test_metrics_are_merged_into_the_run_and_related(capsys, tmp_path):
    run = production()
    code, out, err = run_cli(capsys, "report", run.id, "--metrics", str(FIXTURE))
    assert code == EXIT_OK, err
    assert "Merged 6 metric(s) into run" in err
    assert "DatabaseConnectionsCurrentlySessionPinned rose from 12" in out
    assert RunStore().get(run.id).metrics["MetricDataResults"]
    # Stored with the run: the next report relates them without --metrics.
    code, again, _ = run_cli(capsys, "report", run.id, "--format", "jira")
    assert "ClientConnectionsClosed at 2026\\-11\\-28T09:40:00Z" in again


def test_bad_or_unrelated_metrics_leave_the_run_untouched(capsys, tmp_path):
    run = production()
    path = RunStore().directory / f"{run.id}.json"
    before = path.read_bytes()
    later = json.loads(FIXTURE.read_text())
    for series in later["MetricDataResults"]:
        series["Timestamps"] = [
            (datetime.fromisoformat(t) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
            for t in series["Timestamps"]
        ]
    cases = {
        "not-json.json": ("{oops", "not JSON (line 1"),
        "other.json": (json.dumps({"Datapoints": []}), "not the output of `aws cloudwatch"),
        "later.json": (json.dumps(later), "but run " + run.id + " ran from"),
    }
    for name, (content, says) in cases.items():
        file = tmp_path / name
        file.write_text(content)
        code, _, err = run_cli(capsys, "report", run.id, "--metrics", str(file))
        assert code == EXIT_USAGE and says in err, err
        assert "Traceback" not in err
        assert path.read_bytes() == before
    code, _, err = run_cli(capsys, "report", run.id, "--metrics", str(tmp_path / "missing.json"))
    assert code == EXIT_USAGE and "No such file" in err


def test_svg_picture_of_a_run(capsys, tmp_path):
    run = production()
    output = tmp_path / "run.svg"
    code, _, err = run_cli(capsys, "report", run.id, "--format", "svg", "-o", str(output))
    assert code == EXIT_OK, err
    root = ET.fromstring(output.read_text())
    assert root.tag.endswith("svg")


def test_several_runs_side_by_side(capsys):
    first = production()
    second_tasks = copy.deepcopy(production_run())
    second = run_of(
        second_tasks,
        created_at=datetime(2026, 11, 29, 9, 0, tzinfo=UTC),
        profile="staging",
        api_root="https://staging.example.com",
    )
    for item in second_tasks:
        second.record_task({k: v for k, v in item.items() if k != "test_name"})
    RunStore().create(second)
    code, out, err = run_cli(capsys, "report", first.id, second.id)
    assert code == EXIT_OK, err
    assert out.startswith("# RDS connection tests: 2 runs side by side")
    assert f"| Test | prod ({first.id}) | staging ({second.id}) |" in out
    code, out, _ = run_cli(capsys, "report", first.id, second.id, "--format", "json")
    assert [r["run"]["id"] for r in json.loads(out)["runs"]] == [first.id, second.id]
    code, _, err = run_cli(capsys, "report", first.id, second.id, "--format", "svg")
    assert code == EXIT_USAGE and "shows one run" in err
    code, _, err = run_cli(capsys, "report", first.id, first.id)
    assert code == EXIT_USAGE and "named twice" in err

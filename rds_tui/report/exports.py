"""Exports of a run's results: Markdown and Jira (for the ticket), CSV (one row per
test), JSON (everything), SVG (a picture). Pure: each returns a string; writing files is
the run service's job. Server and database text never becomes markup, a spreadsheet
formula or a terminal control in any of them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rds_tui.models import ProbeResult
from rds_tui.outcome import RunTiming, error_text
from rds_tui.report import compare, jira, markdown, picture
from rds_tui.report.collect import (
    AwsSide,
    MetricSeries,
    MetricsError,
    collect_next,
    parse_metric_data,
    relate,
    spans_of,
)
from rds_tui.report.diagnosis import diagnose
from rds_tui.report.document import build, task_rows
from rds_tui.report.observations import notify_latency, observe
from rds_tui.report.summary import summary_lines
from rds_tui.untrusted import clean, csv_cell

if TYPE_CHECKING:
    from rds_tui.profiles import Profile
    from rds_tui.runs import Run

CSV_COLUMNS = (
    "run_id",
    "test_name",
    "task_href",
    "task_state",
    "status",
    "connection_alive",
    "disconnected",
    "seconds_to_disconnect",
    "idle_seconds_before_disconnect",
    "detected_by",
    "sqlstate",
    "server_message",
    "heartbeats_ok",
    "backend_pids_seen",
    "pinning_observed",
    "notifications_sent",
    "notifications_received",
    "notify_latency_ms_median",
    "notify_latency_ms_max",
    "expected_cutoff_seconds",
    "planned_duration_seconds",
    "duration_minutes",
    "started_at",
    "finished_at",
    "error",
)


def _row(run: Run | None, task: dict[str, Any]) -> dict[str, Any]:
    observation = observe(task)
    result = observation.result or ProbeResult()
    median, maximum = notify_latency(result.notify_latency_ms)
    pids = result.backend_pids_seen
    return {
        "run_id": run.id if run is not None else "",
        "test_name": observation.test_name,
        "task_href": task.get("pulp_href", ""),
        "task_state": observation.task_state or "",
        "status": result.status,
        "connection_alive": result.connection_alive,
        "disconnected": observation.died,
        "seconds_to_disconnect": result.seconds_to_disconnect,
        "idle_seconds_before_disconnect": result.idle_seconds_before_disconnect,
        "detected_by": result.detected_by,
        "sqlstate": result.sqlstate,
        "server_message": result.server_message,
        "heartbeats_ok": result.heartbeats_ok,
        "backend_pids_seen": " ".join(map(str, pids)) if pids else None,
        "pinning_observed": result.pinning_observed,
        "notifications_sent": result.notifications_sent,
        "notifications_received": result.notifications_received,
        "notify_latency_ms_median": median,
        "notify_latency_ms_max": maximum,
        "expected_cutoff_seconds": result.expected_cutoff_seconds,
        "planned_duration_seconds": result.planned_duration_seconds,
        "duration_minutes": result.duration_minutes,
        "started_at": result.started_at or task.get("started_at"),
        "finished_at": result.finished_at or task.get("finished_at"),
        "error": error_text(result.error) or observation.task_error,
    }


def to_csv(run: Run | None, tasks: list[dict[str, Any]] | None = None) -> str:
    """One row per test (the columns of CSV_COLUMNS); empty cells for unknown values."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for task in task_rows(run, tasks):
        row = _row(run, task)
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
    return buffer.getvalue()


def _run_header(run: Run | None) -> dict[str, Any]:
    if run is None:
        return {}
    return run.model_dump(mode="json", exclude={"final"})


def to_json(run: Run | None, tasks: list[dict[str, Any]] | None = None) -> str:
    """Everything: the run, a row per test, the raw tasks, the summary and diagnosis."""
    from rds_tui.runs import without_secrets

    rows = task_rows(run, tasks)
    diagnosis = diagnose(rows)
    document = {
        "run": _run_header(run),
        "tests": [_row(run, task) for task in rows],
        "summary": summary_lines(rows),
        "diagnosis": asdict(diagnosis),
        "tasks": rows,
    }
    document = clean(without_secrets(document))
    return json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n"


def _context(run: Run | None, profile: Profile | None) -> tuple[AwsSide, list[MetricSeries]]:
    """The AWS side (the profile's fields) and the metrics merged into the run."""
    aws = AwsSide.from_profile(profile)
    stored = getattr(run, "metrics", None) if run is not None else None
    try:
        metrics = parse_metric_data(stored) if stored else []
    except MetricsError:
        metrics = []  # checked when merged; a hand-edited file must not stop the report
    return aws, metrics


def to_markdown(
    run: Run | None, tasks: list[dict[str, Any]] | None = None, profile: Profile | None = None
) -> str:
    """A report to paste into the ticket: context, per-test table, diagnosis, summary,
    what to collect next."""
    aws, metrics = _context(run, profile)
    return markdown.write(build(run, tasks, aws=aws, metrics=metrics))


def to_jira(
    run: Run | None, tasks: list[dict[str, Any]] | None = None, profile: Profile | None = None
) -> str:
    """The same report in Jira wiki markup."""
    aws, metrics = _context(run, profile)
    return jira.write(build(run, tasks, aws=aws, metrics=metrics))


def to_svg(
    run: Run | None, tasks: list[dict[str, Any]] | None = None, profile: Profile | None = None
) -> str:
    """A picture of the run: a lane per test, the merged metrics on the same axis."""
    _, metrics = _context(run, profile)
    rows = task_rows(run, tasks)
    timing = RunTiming.from_run(run, profile)
    if run is not None:
        where = run.profile or run.api_root
        title = f"Run {run.id} on {where} · {len(rows)} test(s)"
    else:
        title = "RDS connection tests"
    return picture.to_svg(title, spans_of(rows), timing, metrics)


# Format name -> the label a front end shows; render() writes each.
FORMATS: dict[str, str] = {
    "md": "Markdown",
    "jira": "Jira",
    "csv": "CSV",
    "json": "JSON",
    "svg": "SVG picture",
}
_WITH_PROFILE: dict[str, Callable[..., str]] = {
    "md": to_markdown,
    "jira": to_jira,
    "svg": to_svg,
}
_PLAIN: dict[str, Callable[..., str]] = {"csv": to_csv, "json": to_json}


def collect_lines(
    run: Run | None, tasks: list[dict[str, Any]], profile: Profile | None
) -> list[str]:
    """The run's "Collect next" section as plain text (terminal output and the dashboard),
    with what merged metrics show."""
    aws, metrics = _context(run, profile)
    spans = spans_of(task_rows(run, tasks))
    lines = collect_next(spans, aws).lines()
    if metrics:
        lines += ["", "What the merged metrics show:"]
        lines += [f"  {sentence}" for sentence in relate(metrics, spans)]
    return lines


# Several runs side by side: the formats that can hold a comparison.
MANY_FORMATS = ("md", "jira", "csv", "json")


def render_many(runs: list[Run], tasks: list[list[dict[str, Any]]], fmt: str) -> str:
    """Several runs in one report: side by side (md, jira), one row per test of every
    run (csv), or each run's JSON in a list (json)."""
    if fmt in ("md", "jira"):
        comparison = compare.document(compare.compare(runs, tasks))
        return (markdown if fmt == "md" else jira).write(comparison)
    if fmt == "csv":
        parts = [to_csv(run, items).splitlines() for run, items in zip(runs, tasks, strict=True)]
        return "\n".join([parts[0][0], *(line for part in parts for line in part[1:])]) + "\n"
    if fmt == "json":
        documents = [
            json.loads(to_json(run, items)) for run, items in zip(runs, tasks, strict=True)
        ]
        return json.dumps({"runs": documents}, indent=2, ensure_ascii=False) + "\n"
    raise ValueError(
        f"{FORMATS.get(fmt, fmt)} shows one run; for several runs use one of "
        + ", ".join(MANY_FORMATS)
    )


def render(
    run: Run | None,
    tasks: list[dict[str, Any]] | None,
    fmt: str,
    profile: Profile | None = None,
) -> str:
    """The run's report in format `fmt` (a key of FORMATS). The profile adds its AWS
    names to the "Collect next" section and its cutoff to the picture."""
    if fmt in _WITH_PROFILE:
        return _WITH_PROFILE[fmt](run, tasks, profile)
    if fmt in _PLAIN:
        return _PLAIN[fmt](run, tasks)
    known = ", ".join(FORMATS)
    raise ValueError(f"unknown report format {fmt!r}: use one of {known}")

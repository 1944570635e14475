"""Exports of a run's results: Markdown (for the ticket), CSV (one row per test), JSON
(everything). Pure: each returns a string; writing files is the run service's job."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rds_tui.models import ProbeResult
from rds_tui.outcome import error_text
from rds_tui.report.diagnosis import diagnose
from rds_tui.report.observations import Observation, format_seconds, notify_latency, observe
from rds_tui.report.summary import summary_lines

if TYPE_CHECKING:
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


def _task_rows(run: Run | None, tasks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every test of the run, finished or not, in dispatch order."""
    if tasks is None:
        tasks = run.task_results() if run is not None else []
    if run is None:
        return list(tasks)
    by_href = {task.get("pulp_href"): task for task in tasks}
    by_name = {task.get("test_name"): task for task in tasks}
    rows = []
    for run_task in run.tasks:
        task = by_href.get(run_task.task_href) or next(
            (t for href, t in by_href.items() if href and f"/{run_task.task_id}/" in href), None
        )
        task = task or by_name.get(run_task.test_name)
        if task is None:
            task = {"pulp_href": run_task.task_href, "state": "unknown"}
        rows.append({**task, "test_name": run_task.test_name})
    return rows


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
    for task in _task_rows(run, tasks):
        row = _row(run, task)
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return buffer.getvalue()


def _run_header(run: Run | None) -> dict[str, Any]:
    if run is None:
        return {}
    return run.model_dump(mode="json", exclude={"final"})


def to_json(run: Run | None, tasks: list[dict[str, Any]] | None = None) -> str:
    """Everything: the run, a row per test, the raw tasks, the summary and diagnosis."""
    from rds_tui.runs import without_secrets

    rows = _task_rows(run, tasks)
    diagnosis = diagnose(rows)
    document = {
        "run": _run_header(run),
        "tests": [_row(run, task) for task in rows],
        "summary": summary_lines(rows),
        "diagnosis": asdict(diagnosis),
        "tasks": rows,
    }
    return json.dumps(without_secrets(document), indent=2, ensure_ascii=False, default=str) + "\n"


def _died_after(observation: Observation) -> str:
    """When it died; '≤' marks an upper bound (found dead later, not seen dying)."""
    text = format_seconds(observation.seconds_to_disconnect)
    return text if observation.precise else f"≤ {text}"


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "–"
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text


def to_markdown(run: Run | None, tasks: list[dict[str, Any]] | None = None) -> str:
    """A report to paste into the ticket: context, per-test table, diagnosis, summary."""
    rows = _task_rows(run, tasks)
    diagnosis = diagnose(rows)
    lines = []
    if run is not None:
        lines.append(f"# RDS connection tests: run {run.id}")
        lines.append("")
        profile = f" (profile {run.profile})" if run.profile else ""
        lines.append(f"- Server: {run.api_root}{profile}")
        lines.append(f"- Dispatched: {run.created_at:%Y-%m-%d %H:%M:%S %Z}")
        if run.options:
            options = ", ".join(f"{key}={value}" for key, value in run.options.items())
            lines.append(f"- Options: {options}")
        if run.correlation_id:
            lines.append(f"- Correlation ID (the tasks' logging_cid): {run.correlation_id}")
    else:
        lines.append("# RDS connection tests")
    lines += [
        "",
        "## Results",
        "",
        "| Test | Task | Connection | Died after | Idle before death | Detected by "
        + "| Server message |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in rows:
        observation = observe(task)
        result = observation.result
        died = observation.died
        connection = "DIED" if died else "alive" if died is False else "?"
        message = None
        if result is not None and (result.server_message or result.sqlstate):
            message = f"{result.sqlstate or ''} {result.server_message or ''}".strip()
        lines.append(
            "| "
            + " | ".join(
                _cell(value)
                for value in (
                    observation.test_name,
                    observation.task_state,
                    connection,
                    _died_after(observation) if died else None,
                    format_seconds(result.idle_seconds_before_disconnect)
                    if died and result.idle_seconds_before_disconnect is not None
                    else None,
                    result.detected_by if result is not None else None,
                    message or (observation.task_error if observation.task_error else None),
                )
            )
            + " |"
        )
    lines += ["", "## Diagnosis", ""]
    for finding in diagnosis.findings:
        lines.append(f"- **{finding.title}** ({finding.severity}): {finding.detail}")
    lines += ["", f"**Recommendation:** {diagnosis.recommendation}", ""]
    lines += ["## Test summary", "", "```text", *summary_lines(rows), "```", ""]
    return "\n".join(lines)


# Format name -> the label a front end shows; render() writes each.
FORMATS: dict[str, str] = {"md": "Markdown", "csv": "CSV", "json": "JSON"}
_RENDERERS: dict[str, Callable[[Any, Any], str]] = {
    "md": to_markdown,
    "csv": to_csv,
    "json": to_json,
}


def render(run: Run | None, tasks: list[dict[str, Any]] | None, fmt: str) -> str:
    """The run's report in format `fmt` (a key of FORMATS)."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        known = ", ".join(FORMATS)
        raise ValueError(f"unknown report format {fmt!r}: use one of {known}") from None
    return renderer(run, tasks)

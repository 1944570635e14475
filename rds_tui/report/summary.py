"""The guide's TEST SUMMARY block: the original tool's layout, plus timing lines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rds_tui.constants import FINAL_TASK_STATES
from rds_tui.outcome import error_text
from rds_tui.report.observations import Observation, format_seconds, notify_latency, observe

RULE = "=" * 60


def _passed(observation: Observation) -> bool:
    result = observation.result
    if observation.task_state not in (None, "completed") or result is None:
        return False
    if result.status:
        return result.status.upper() == "PASSED"
    if result.success is not None:
        return result.success
    return observation.died is False


def _duration_text(observation: Observation) -> str:
    """The original's "N min"; short lab runs (time unit 1 s) read better in seconds."""
    result = observation.result
    if result is None:
        return "0 min"
    seconds = result.actual_duration_seconds
    if seconds is None and result.started_at and result.finished_at:
        try:
            start = datetime.fromisoformat(result.started_at)
            end = datetime.fromisoformat(result.finished_at)
            seconds = (end - start).total_seconds()
        except ValueError:
            seconds = None
    if isinstance(seconds, int | float) and seconds < 120:
        return f"{seconds:.1f} s"
    if result.duration_minutes is not None and (result.time_unit_seconds or 60) == 60:
        return f"{result.duration_minutes:g} min"
    if isinstance(seconds, int | float):
        return f"{seconds / 60:.1f} min"
    return "? min"


def _detail_lines(observation: Observation) -> list[str]:
    """The lines the original summary did not have: when, how and why it died."""
    result = observation.result
    if result is None:
        return []
    lines = []
    if observation.died and observation.precise:
        how = f", detected by {result.detected_by}" if result.detected_by else ""
        idle = ""
        if result.idle_seconds_before_disconnect is not None:
            idle = f" (after {format_seconds(result.idle_seconds_before_disconnect)} idle)"
        lines.append(
            f"Disconnected {format_seconds(result.seconds_to_disconnect)} after start{idle}{how}"
        )
    closed_by = observation.outcome.closed_by_text() if observation.died else None
    if closed_by:
        lines.append(f"Cause: {closed_by}")
    if result.server_message or result.sqlstate:
        code = f"[{result.sqlstate}] " if result.sqlstate else ""
        lines.append(f"Server said: {code}{result.server_message or ''}".rstrip())
    if result.heartbeats_ok is not None:
        pids = result.backend_pids_seen or []
        lines.append(f"Heartbeats OK: {result.heartbeats_ok} | Backend PIDs seen: {len(pids)}")
    if result.notifications_sent is not None or result.notifications_received is not None:
        median, maximum = notify_latency(result.notify_latency_ms)
        latency = (
            f" (latency median {median:g} ms, max {maximum:g} ms)" if median is not None else ""
        )
        sent = (
            f"{result.notifications_sent} sent, " if result.notifications_sent is not None else ""
        )
        lines.append(f"Notifications: {sent}{result.notifications_received or 0} received{latency}")
    return lines


def summary_lines(tasks: list[dict[str, Any]]) -> list[str]:
    """The guide's TEST SUMMARY block (the original tool's layout, plus timing lines)."""
    observations = [observe(task) for task in tasks]
    passed, failed, stopped, unfinished = [], [], [], []
    for observation in observations:
        if observation.task_state is not None and observation.task_state not in FINAL_TASK_STATES:
            unfinished.append(observation)
        elif observation.outcome.stopped_early:
            stopped.append(observation)
        elif _passed(observation):
            passed.append(observation)
        else:
            failed.append(observation)

    lines = [RULE, "TEST SUMMARY", RULE]
    for title, mark, group in (("PASSED", "✓", passed), ("FAILED", "✗", failed)):
        if not group:
            continue
        lines += ["", f"{mark} {title} ({len(group)}):"]
        for observation in group:
            result = observation.result
            if result is None or observation.task_state not in (None, "completed"):
                alive = False
                pid = "N/A"
            else:
                alive = observation.died is False
                pid = result.backend_pid if result.backend_pid is not None else "N/A"
            lines.append(f"  • {observation.test_name}")
            lines.append(
                f"    Duration: {_duration_text(observation)} | Backend PID: {pid} | "
                f"Connection: {'ALIVE' if alive else 'DEAD'}"
            )
            lines += [f"    {line}" for line in _detail_lines(observation)]
            if observation.task_state not in (None, "completed"):
                reason = f": {observation.task_error}" if observation.task_error else ""
                lines.append(f"    Error: Task {observation.task_state}{reason}")
            elif title == "FAILED" and result is not None and result.error:
                lines.append(f"    Error: {error_text(result.error)}")
    if stopped:
        lines += ["", f"■ STOPPED EARLY, PARTIAL RESULTS ({len(stopped)}):"]
        for observation in stopped:
            alive = "DEAD" if observation.died else "ALIVE when stopped"
            lines.append(f"  • {observation.test_name}")
            lines.append(
                f"    Duration: {_duration_text(observation)} | Backend PID: "
                f"{observation.result.backend_pid or 'N/A'} | Connection: {alive}"
            )
            lines += [f"    {line}" for line in _detail_lines(observation)]
            lines.append(f"    Stopped: {observation.outcome.stopped_early}")
    if unfinished:
        lines += ["", f"… NOT FINISHED ({len(unfinished)}):"]
        lines += [f"  • {o.test_name}: {o.task_state}" for o in unfinished]
    total = len(passed) + len(failed) + len(stopped)
    lines += ["", "-" * 60, f"Total: {total} | Passed: {len(passed)} | Failed: {len(failed)}"]
    if stopped:
        lines[-1] += f" | Stopped early: {len(stopped)}"
    if unfinished:
        lines[-1] += f" | Not finished: {len(unfinished)}"
    lines.append(RULE)
    return lines

"""The one reading of a task's outcome: is its connection dead, since when, why, and
what activity the probe saw. Everything that shows or judges a task asks here.

Sources, in order: the probe's result (the plugin's fields, README "Result fields"; the
original pulp-service endpoint's `connection_alive`), then, while the task runs, its
progress reports read by CODE (`rds.disconnect`, `rds.heartbeats`,
`rds.notifications.sent`, `rds.notifications.received`), never by message text.

`RunTiming` says how to read a run's clock: the server's minute, the planned duration
and the cutoff each test is measured against (tests that hold a transaction open are
cut by the idle-in-transaction timeout, when the server says what it is).

No Textual, no httpx: the CLI, the dashboard and the reports share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rds_tui import catalog
from rds_tui.constants import (
    DEFAULT_DURATION_MINUTES,
    DEFAULT_TIME_UNIT_SECONDS,
    FINAL_TASK_STATES,
    MISSING_STATE,
    PRODUCTION_CUTOFF_SECONDS,
)
from rds_tui.models import MISSING_TASK_EXPLANATION, ProbeResult, Task

if TYPE_CHECKING:
    from rds_tui.profiles import Profile

UNKNOWN_STATE = "unknown"  # before the first poll, or a bare result without its task

# Progress report codes of the plugin (rds_probes).
DISCONNECT_CODE = "rds.disconnect"
HEARTBEATS_CODE = "rds.heartbeats"
NOTIFICATIONS_SENT_CODE = "rds.notifications.sent"
NOTIFICATIONS_RECEIVED_CODE = "rds.notifications.received"

# Who ended a dead session: the database (a FATAL with its SQLSTATE), or something in
# between that just closed the socket (the proxy, or the network).
CLOSED_BY_SERVER = "server"
CLOSED_BY_PROXY_OR_NETWORK = "proxy-or-network"

# The SQLSTATEs a session's end is known by (PostgreSQL's names; 08P01 is also what
# PgBouncer sends when it ends a client at its own timeouts).
SQLSTATE_NAMES = {
    "57P05": "idle-session timeout",
    "25P03": "idle-in-transaction timeout",
    "57P01": "terminated by an administrator or a shutdown",
    "57P02": "crash shutdown",
    "57P03": "the server cannot accept connections now",
    "08P01": "protocol violation",
}
PROXY_CLOSE_TEXT = "the proxy closed the client connection without an error (no SQLSTATE)"


# --- the run's clock ---------------------------------------------------------------------


@dataclass(frozen=True)
class RunTiming:
    """How to read a run's clock (all in seconds)."""

    time_unit_seconds: float  # one server "minute"
    planned_seconds: float  # per task
    idle_cutoff_seconds: float
    in_transaction_cutoff_seconds: float | None

    def cutoff_for(self, test_name: str) -> float:
        """The cutoff `test_name` is measured against: the idle-in-transaction one for
        the tests that idle inside a transaction, when the server said what it is."""
        if self.in_transaction_cutoff_seconds is not None and catalog.runs_in_transaction(
            test_name
        ):
            return self.in_transaction_cutoff_seconds
        return self.idle_cutoff_seconds

    def server_minutes(self, seconds: float) -> int:
        """Whole server minutes in `seconds` (the guide's "Status Check (T+N minutes)")."""
        unit = self.time_unit_seconds if self.time_unit_seconds > 0 else DEFAULT_TIME_UNIT_SECONDS
        return int(max(0.0, seconds) // unit)

    @classmethod
    def from_run(cls, run: Any, profile: Profile | None = None) -> RunTiming:
        """The timing recorded with a run (`run.options`); a profile's own
        expected_cutoff_seconds, when set, overrides the server's idle cutoff."""
        options = getattr(run, "options", None) or {}
        unit = _positive(options.get("time_unit_seconds")) or DEFAULT_TIME_UNIT_SECONDS
        minutes = _positive(options.get("duration_minutes")) or DEFAULT_DURATION_MINUTES
        profile_cutoff = _positive(getattr(profile, "expected_cutoff_seconds", None))
        idle = (
            profile_cutoff
            or _positive(options.get("expected_cutoff_seconds"))
            or PRODUCTION_CUTOFF_SECONDS
        )
        return cls(
            time_unit_seconds=unit,
            planned_seconds=minutes * unit,
            idle_cutoff_seconds=idle,
            in_transaction_cutoff_seconds=_positive(
                options.get("expected_in_transaction_cutoff_seconds")
            ),
        )


def _positive(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


# --- one task's outcome --------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one task says about its connection."""

    test_name: str
    state: str  # the Pulp state, or "missing" / "unknown"
    final: bool
    completed: bool  # state == completed
    died: bool | None  # None: not known (yet)
    died_after_seconds: float | None  # from the probe's start
    died_at: datetime | None
    reason: str | None  # the server's FATAL text, else the client's, else the error
    sqlstate: str | None
    closed_by: str | None  # CLOSED_BY_SERVER | CLOSED_BY_PROXY_OR_NETWORK | None
    detected_by: str | None
    heartbeats: int | None
    notifications_sent: int | None
    notifications_received: int | None
    # Beyond the contract's fields:
    # True when died_after_seconds is only a bound: the original endpoint's result gives
    # the test's duration in minutes, not the moment of the death.
    died_after_is_upper_bound: bool = False
    task_error: str | None = None  # Pulp's error for a failed / missing task
    survived_seconds: float | None = None  # a survivor: how long it was held
    # Why the probe stopped before its end (an interrupted direct run): the result is
    # partial, and survived_seconds is how long it was really held.
    stopped_early: str | None = None

    @property
    def precise(self) -> bool:
        """The death was timed as it happened (not a bound, not found by the final check)."""
        return (
            self.died_after_seconds is not None
            and not self.died_after_is_upper_bound
            and self.detected_by != "final-check"
        )

    def death_text(self) -> str:
        """How the connection died, in one line: "<reason> after 40.1 s"."""
        text = self.reason or "connection died"
        if self.died_after_seconds is not None:
            text += f" after {self.died_after_seconds:.1f} s"
        return text

    def closed_by_text(self) -> str | None:
        """Who ended the connection, in words (from `closed_by`), or None if not known."""
        if self.closed_by == CLOSED_BY_PROXY_OR_NETWORK:
            return PROXY_CLOSE_TEXT
        if self.closed_by != CLOSED_BY_SERVER or not self.sqlstate:
            return None
        name = SQLSTATE_NAMES.get(self.sqlstate)
        code = f"{self.sqlstate} {name}" if name else f"SQLSTATE {self.sqlstate}"
        if self.sqlstate.startswith("08"):
            # A connection-class error: PgBouncer's own cut looks like this too.
            return f"the server side ended the session with an error ({code})"
        return f"the database server terminated the session ({code})"

    def cause_text(self) -> str | None:
        """Why the connection died, in one line: who ended it (closed_by_text), with
        the server's own words for a SQLSTATE without a name here; else the reason."""
        closer = self.closed_by_text()
        if closer is None:
            return self.reason
        if self.closed_by == CLOSED_BY_SERVER and self.sqlstate not in SQLSTATE_NAMES:
            return f'{closer}: "{self.reason}"' if self.reason else closer
        return closer

    def activity_text(self) -> str:
        """Heartbeats or notifications so far, in a few characters: "✉ 3/4", "♥ 41"."""
        sent, received = self.notifications_sent, self.notifications_received
        if sent is not None:
            return f"✉ {received if received is not None else '?'}/{sent}"
        if received is not None:
            return f"✉ {received}"
        if self.heartbeats is not None:
            return f"♥ {self.heartbeats}"
        return ""


class _Progress:
    """A task's progress reports by code (Task models or JSON dicts)."""

    def __init__(self, reports: Any) -> None:
        self.by_code: dict[str, tuple[str | None, int | None, int | None]] = {}
        for report in reports if isinstance(reports, list) else []:
            if isinstance(report, dict):
                code, message = report.get("code"), report.get("message")
                done, total = report.get("done"), report.get("total")
            else:
                code, message = getattr(report, "code", None), getattr(report, "message", None)
                done, total = getattr(report, "done", None), getattr(report, "total", None)
            if isinstance(code, str) and code not in self.by_code:
                self.by_code[code] = (
                    message if isinstance(message, str) else None,
                    _count(done),
                    _count(total),
                )

    def count(self, code: str) -> int | None:
        found = self.by_code.get(code)
        return found[1] if found else None

    def disconnect(self) -> tuple[bool, float | None, str | None]:
        """(reported, seconds from the probe's start if known, message)."""
        found = self.by_code.get(DISCONNECT_CODE)
        if found is None:
            return False, None, None
        message, done, total = found
        # An older plugin reports done=1, total=1: died, time unknown. Otherwise `done`
        # is milliseconds from the probe's start.
        if done is None or (done <= 1 and (total or 0) <= 1):
            return True, None, message
        return True, done / 1000.0, message


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def error_text(error: Any) -> str | None:
    """An error (the probe's `{type, message, stage}` or Pulp's task error) in one line."""
    if not error:
        return None
    if isinstance(error, dict):
        if "type" in error or "message" in error:
            return f"{error.get('type', 'Error')}: {error.get('message', '')}".strip()
        return str(error.get("description") or error.get("reason") or error)
    return str(error)


def _error_message(error: Any) -> str | None:
    """The probe error's message alone (what the client library said)."""
    if isinstance(error, dict):
        message = error.get("message")
        return str(message) if message else None
    return str(error) if error else None


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


_NUMBER_PATTERN = re.compile(r"test[\s_-]*(\d+)", re.IGNORECASE)


def pattern_number(*names: str | None) -> int | None:
    """The pattern number (1-7) in a test's name or the original's title ("Test 1 - ...")."""
    for name in names:
        match = _NUMBER_PATTERN.search(name or "")
        if match:
            return int(match.group(1))
    return None


def _test_name(given: str | None, task_name: str | None, result: ProbeResult | None) -> str | None:
    """The test's name from what is known: the caller, the task record, the result,
    the Pulp task's name (`pulp_rds_tests.app.tasks.test_1_...`), the original's title."""
    if given:
        return given
    if task_name and task_name.rsplit(".", 1)[-1] in catalog.KNOWN_TEST_NAMES:
        return task_name.rsplit(".", 1)[-1]
    if result is not None and result.test_name:
        return result.test_name
    number = pattern_number(result.test if result else None)
    if number:
        return next((n for n in catalog.KNOWN_TEST_NAMES if n.startswith(f"test_{number}_")), None)
    return result.test if result is not None else None


def read_outcome(task: Task | dict[str, Any], test_name: str | None = None) -> Outcome:
    """The outcome of one task: a Task, a task's JSON (optionally annotated with
    `test_name`), or a bare probe result dict (its task unknown)."""
    if isinstance(task, Task):
        state, raw_result = task.state, task.result
        started, progress = task.started_at, _Progress(task.progress_reports)
        task_error = task.error_description
        name = _test_name(test_name, task.name, None)
    else:
        is_task = "state" in task or "pulp_href" in task
        state = str(task.get("state") or UNKNOWN_STATE) if is_task else UNKNOWN_STATE
        raw_result = task.get("result") if is_task else task
        started = _parse_time(task.get("started_at")) if is_task else None
        progress = _Progress(task.get("progress_reports") if is_task else None)
        task_error = error_text(task.get("error")) if is_task else None
        name = _test_name(test_name or task.get("test_name"), task.get("name"), None)
    result = ProbeResult.lenient(raw_result) if isinstance(raw_result, dict) else None
    name = name or _test_name(None, None, result) or "unknown test"

    died, after, upper_bound, reason = _death(result, progress)
    sqlstate = result.sqlstate if result is not None else None
    closed_by = None
    if died:
        if sqlstate:
            closed_by = CLOSED_BY_SERVER
        elif result is not None and result.disconnected is not None:
            # The plugin's result: it would have recorded a FATAL; there was none.
            closed_by = CLOSED_BY_PROXY_OR_NETWORK
    return Outcome(
        test_name=name,
        state=state,
        final=state in FINAL_TASK_STATES,
        completed=state == "completed",
        died=died,
        died_after_seconds=after,
        died_at=_died_at(result, started, after) if died else None,
        reason=reason or (task_error if state != "completed" else None),
        sqlstate=sqlstate,
        closed_by=closed_by,
        detected_by=result.detected_by if result is not None else None,
        heartbeats=_first_count(result, "heartbeats_ok", progress, HEARTBEATS_CODE),
        notifications_sent=_first_count(
            result, "notifications_sent", progress, NOTIFICATIONS_SENT_CODE
        ),
        notifications_received=_first_count(
            result, "notifications_received", progress, NOTIFICATIONS_RECEIVED_CODE
        ),
        died_after_is_upper_bound=upper_bound,
        survived_seconds=_held(result) if died is False else None,
        stopped_early=result.abandoned if result is not None else None,
        task_error=task_error or (MISSING_TASK_EXPLANATION if state == MISSING_STATE else None),
    )


def _death(
    result: ProbeResult | None, progress: _Progress
) -> tuple[bool | None, float | None, bool, str | None]:
    """(died, seconds after the start, that time is an upper bound, reason)."""
    reported, progress_after, progress_message = progress.disconnect()
    died: bool | None = None
    if result is not None:
        if result.disconnected is not None:
            died = result.disconnected
        elif result.connection_alive is not None:
            died = not result.connection_alive
    if died is None and reported:
        died = True
    reason = None
    if result is not None:
        reason = result.server_message or result.client_message or _error_message(result.error)
    if not died:
        return died, None, False, reason
    after = result.seconds_to_disconnect if result is not None else None
    upper_bound = False
    if after is None:
        after = progress_after
    if after is None and result is not None and result.duration_minutes is not None:
        # The original endpoint: the test ran until its next query found the
        # connection dead, so this is an upper bound to the minute.
        after, upper_bound = result.duration_minutes * 60, True
    return True, after, upper_bound, reason or progress_message


def _held(result: ProbeResult | None) -> float | None:
    if result is None:
        return None
    if result.abandoned and result.actual_duration_seconds is not None:
        return result.actual_duration_seconds  # stopped early: what was really held
    if result.planned_duration_seconds is not None:
        return result.planned_duration_seconds
    if result.duration_minutes is not None:
        return result.duration_minutes * 60  # the original endpoint's minutes are real ones
    return None


def _died_at(
    result: ProbeResult | None, task_started: datetime | None, after: float | None
) -> datetime | None:
    if result is not None and (moment := _parse_time(result.disconnected_at)):
        return moment
    start = _parse_time(result.started_at) if result is not None else None
    start = start or task_started
    if start is None or after is None:
        return None
    return start + timedelta(seconds=after)


def _first_count(
    result: ProbeResult | None, field: str, progress: _Progress, code: str
) -> int | None:
    value = _count(getattr(result, field, None)) if result is not None else None
    return value if value is not None else progress.count(code)


__all__ = [
    "CLOSED_BY_PROXY_OR_NETWORK",
    "CLOSED_BY_SERVER",
    "PROXY_CLOSE_TEXT",
    "SQLSTATE_NAMES",
    "Outcome",
    "RunTiming",
    "pattern_number",
    "read_outcome",
]

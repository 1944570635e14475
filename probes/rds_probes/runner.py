"""Run one probe: open its connection, hold it in its pattern, time the disconnect.

The runner owns the clock, the passive watch between actions, progress, the final
check and the result dict; the patterns (patterns.py) only say what to send and when.
"""

import math
import select
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from .catalog import get_spec
from .progress import NullProgress, ProgressSink, ProgressThrottle
from .sender import NotifySender
from .stats import BackendPids, LatencyStats
from .target import ProbeTarget
from .timeline import Timeline
from .watch import (
    AnswerWatchdog,
    Disconnect,
    Lifeline,
    LifelineBroken,
    PassiveWatch,
    ServerError,
    is_connection_lost,
)
from .workloads import get_workload

APPLICATION_NAME_PREFIX = "rds-probe"


@dataclass(frozen=True)
class ProbeOptions:
    test_name: str
    task_id: str
    duration_minutes: int
    # Length of one "minute" of duration_minutes (the lab uses 1 s).
    time_unit_seconds: float = 60.0
    expected_cutoff_seconds: float = 2400.0
    # None: the same as expected_cutoff_seconds.
    expected_in_transaction_cutoff_seconds: float | None = None
    # None: the pattern's default, in time units (see patterns.py).
    heartbeat_interval_seconds: float | None = None
    notify_interval_seconds: float | None = None
    # Test 9: whole seconds; None: one time unit (at least 1 s).
    keepalive_interval_seconds: int | None = None
    stop_on_disconnect: bool = True
    # How long a statement may go unanswered before the connection counts as lost;
    # None: 30 s, or two time units if longer.
    answer_timeout_seconds: float | None = None
    # What tests 3 and 4 work on (workloads.py): "pulp" (Pulp's tables) or "generic"
    # (any PostgreSQL database).
    workload: str = "pulp"

    def __post_init__(self):
        get_workload(self.workload)  # ProbeConfigError naming the choices

    @property
    def planned_duration_seconds(self) -> float:
        return self.duration_minutes * self.time_unit_seconds

    @property
    def in_transaction_cutoff(self) -> float:
        if self.expected_in_transaction_cutoff_seconds is None:
            return self.expected_cutoff_seconds
        return self.expected_in_transaction_cutoff_seconds

    @property
    def notify_interval(self) -> float:
        """Test 7's sender interval: two time units unless given."""
        return self.notify_interval_seconds or 2 * self.time_unit_seconds

    @property
    def keepalive_interval(self) -> int:
        """Test 9's keepalive idle time and interval: one time unit unless given."""
        return self.keepalive_interval_seconds or max(1, math.ceil(self.time_unit_seconds))

    @property
    def answer_timeout(self) -> float:
        return self.answer_timeout_seconds or max(30.0, 2 * self.time_unit_seconds)

    @property
    def application_name(self) -> str:
        # PostgreSQL keeps the first 63 bytes; results report what the server saw.
        return f"{APPLICATION_NAME_PREFIX}:{self.test_name}:{self.task_id}"

    @property
    def sender_application_name(self) -> str:
        return f"{APPLICATION_NAME_PREFIX}:sender:{self.task_id}"

    @property
    def channel(self) -> str:
        return "rds_probe_" + self.task_id.replace("-", "")


class ProbeAbandoned(Exception):
    """The probe's owner died (or asked it to stop): the probe closed its connection and
    stopped early.

    `result` is the result dict as of that moment, its "abandoned" saying why: what the
    probe saw until then (a client records an interrupted run's partial results from it).
    """

    def __init__(self, message: str, result: dict):
        super().__init__(message)
        self.result = result


class ConnectionLost(Exception):
    def __init__(self, disconnect: Disconnect):
        super().__init__(disconnect.server_message or disconnect.client_message)
        self.disconnect = disconnect


class ProbeSession:
    """The probe's one connection. Every query goes through here: timed and recorded."""

    def __init__(
        self,
        conn: psycopg.Connection,
        watch: PassiveWatch,
        timeline: Timeline,
        answer_timeout: float,
    ):
        self.conn = conn
        self.watch = watch
        self.timeline = timeline
        self.watchdog = AnswerWatchdog(conn, answer_timeout)
        # When the probe last sent something that the server answered: the server's idle
        # timers start a round trip later, so the idle time measured from here errs long.
        self.last_message_at = time.monotonic()

    def query(
        self, kind: str, statement, params=None, detected_by: str = "heartbeat", label=None
    ) -> list:
        """Run one statement; ConnectionLost if the connection turns out to be gone.

        The timeline shows `label` (default: the statement) and the first row.
        """
        sent_at = time.monotonic()
        watchdog = self.watchdog
        try:
            with watchdog:
                cursor = self.conn.execute(statement, params)
                rows = cursor.fetchall() if cursor.description else []
        except psycopg.Error as exc:
            if watchdog.fired or is_connection_lost(self.conn, exc):
                raise ConnectionLost(self._lost(detected_by, exc, watchdog)) from None
            raise
        if watchdog.fired:  # the answer came just as the watchdog cut the connection
            raise ConnectionLost(self._lost(detected_by, None, watchdog))
        self.last_message_at = sent_at
        shown = label or (
            statement.as_string(self.conn) if hasattr(statement, "as_string") else statement
        )
        detail = shown if not rows else f"{shown} -> {_short(rows)}"
        self.timeline.add(kind, detail)
        return rows

    def _lost(self, detected_by: str, exc, watchdog: AnswerWatchdog) -> Disconnect:
        message = watchdog.message if watchdog.fired else None
        return self.watch.disconnect(detected_by, exc, client_message=message)

    def close(self) -> None:
        self.watchdog.close()


class ProbeRun:
    """One probe from connect to result. Not reusable."""

    def __init__(
        self,
        options: ProbeOptions,
        target: ProbeTarget,
        progress: ProgressSink | None = None,
        lifeline: Lifeline | None = None,
    ):
        from .patterns import PATTERNS

        self.options = options
        self.spec = get_spec(options.test_name)
        self.workload = get_workload(options.workload)
        self.target = target
        self.progress = ProgressThrottle(progress or NullProgress())
        self.lifeline = lifeline
        self.pattern = PATTERNS[options.test_name](self)
        self._secrets = target.secrets()
        # Observations.
        self.backend_pids = BackendPids()
        self.heartbeats_ok: int | None = None
        self.notifications_received: int | None = None
        self.latencies_ms = LatencyStats()
        self.sender: NotifySender | None = None
        self.server_settings: dict | None = None
        self.server_application_name: str | None = None
        self.extra: dict = {}
        self.disconnect: Disconnect | None = None
        self.idle_before_disconnect: float | None = None
        self.passive_alive_at_deadline: bool | None = None
        self.final_check: dict | None = None
        self.error: dict | None = None
        self.connected = False
        # Why the probe stopped early (its lifeline broke); None for a probe that ran out.
        self.abandoned: str | None = None

    # -- helpers for patterns ------------------------------------------------------

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def saw_backend_pid(self, pid: int) -> None:
        self.backend_pids.add(int(pid))

    def count_heartbeat(self) -> None:
        self.heartbeats_ok = (self.heartbeats_ok or 0) + 1

    def start_sender(self) -> None:
        self.sender = NotifySender(
            self.target,
            self.options.channel,
            self.options.notify_interval,
            self.options.sender_application_name,
            self.timeline,
            self.redact,
        )
        self.sender.start()

    def _on_notification(self, notify: psycopg.Notify) -> None:
        received_at = time.monotonic()
        self.notifications_received = (self.notifications_received or 0) + 1
        latency = None
        if self.sender is not None and notify.payload.isdigit():
            sent_at = self.sender.sent_at(int(notify.payload))
            if sent_at is not None:
                latency = round((received_at - sent_at) * 1000, 3)
                self.latencies_ms.add(latency)
        self.timeline.add(
            "notification",
            f"channel {notify.channel} payload {notify.payload!r}",
            at=received_at,
            latency_ms=latency,
        )

    def _on_notice(self, error: ServerError) -> None:
        self.timeline.add(
            "server-message", self.redact(f"{error.severity} {error.sqlstate}: {error.message}")
        )

    # -- the run -------------------------------------------------------------------

    def execute(self) -> dict:
        """Run the probe to its deadline (or its disconnect) and return the result dict.

        ProbeAbandoned (with the result so far), after closing everything, if the
        lifeline breaks meanwhile.
        """
        self.start = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.deadline = self.start + self.options.planned_duration_seconds
        self.timeline = Timeline(self.start)
        conn = watch = session = None
        try:
            try:
                conn = self.target.connect(
                    self.options.application_name, **self.pattern.connect_params()
                )
            except psycopg.Error as exc:
                self._fail("connect", exc)
                return self.result()
            self.connected = True
            self.timeline.add("connect", self.options.application_name)
            watch = PassiveWatch(conn, on_notice=self._on_notice, lifeline=self.lifeline)
            conn.add_notify_handler(self._on_notification)
            session = ProbeSession(conn, watch, self.timeline, self.options.answer_timeout)
            self._report_elapsed()
            self.progress.save(now=True)
            try:
                self._run_pattern(session, watch)
            except LifelineBroken as broken:
                self.abandoned = (
                    f"{broken}: the probe closed its connection and stopped "
                    f"{time.monotonic() - self.start:.1f} s after its start."
                )
                self.timeline.add("abandoned", self.abandoned)
        finally:
            self.pattern.stop()
            if session is not None:
                session.close()
            if watch is not None:
                watch.close()
            if conn is not None:
                conn.close()
            self._publish_counters()
            self.progress.save(now=True)
        if self.abandoned is not None:
            raise ProbeAbandoned(self.abandoned, self.result())
        return self.result()

    def _run_pattern(self, session: ProbeSession, watch: PassiveWatch) -> None:
        try:
            self._opening_query(session)
            self.pattern.setup(session)
            self._hold(session, watch)
            self._final_check(session, watch)
        except ConnectionLost as lost:
            self._record_disconnect(lost.disconnect, session)
            if not self.options.stop_on_disconnect:
                self._wait_out()
        except psycopg.Error as exc:
            self._fail("query", exc)

    def _opening_query(self, session: ProbeSession) -> None:
        # One query: the backend, the name the server recorded and the timeouts it applies.
        rows = session.query(
            "query",
            "SELECT pg_backend_pid(), current_setting('application_name'),"
            " current_setting('idle_session_timeout'),"
            " current_setting('idle_in_transaction_session_timeout'),"
            " current_setting('statement_timeout'), current_setting('tcp_keepalives_idle'),"
            " current_setting('TimeZone')",
            label="opening query: backend pid, application_name, timeouts, TimeZone",
        )
        pid, app_name, idle, idle_tx, statement, keepalive, tz = rows[0]
        self.saw_backend_pid(pid)
        self.server_application_name = app_name
        self.server_settings = {
            "idle_session_timeout": idle,
            "idle_in_transaction_session_timeout": idle_tx,
            "statement_timeout": statement,
            "tcp_keepalives_idle": keepalive,
            "TimeZone": tz,
        }

    def _hold(self, session: ProbeSession, watch: PassiveWatch) -> None:
        """Until the deadline: wait passively, wake for the pattern's actions and progress."""
        interval = self.pattern.periodic_interval()
        next_action = session.last_message_at + interval if interval else math.inf
        while True:
            now = time.monotonic()
            if now >= self.deadline:
                break
            wake = min(
                self.deadline, next_action, self._next_unit_boundary(now), self.progress.due()
            )
            disconnect = watch.wait(wake)
            self._publish_counters()
            if disconnect is not None:
                raise ConnectionLost(disconnect)
            self._report_elapsed()
            now = time.monotonic()
            if next_action <= now < self.deadline:
                self.pattern.periodic(session)
                self._publish_counters()
                next_action += interval
                if next_action <= now:  # a slow round: skip missed beats, keep the rhythm
                    next_action = now + interval
            self.progress.save()
        # A close exactly at the deadline is still a passive observation.
        disconnect = watch.wait(time.monotonic())
        if disconnect is not None:
            raise ConnectionLost(disconnect)
        self.passive_alive_at_deadline = True

    def _final_check(self, session: ProbeSession, watch: PassiveWatch) -> None:
        """The connection looks alive: prove it with a query, then end the pattern."""
        began = time.monotonic()
        try:
            rows = session.query(
                "final-check", "SELECT 1, pg_backend_pid()", detected_by="final-check"
            )
        except ConnectionLost:
            self.final_check = {"ok": False, "seconds": round(time.monotonic() - began, 3)}
            raise
        except psycopg.Error as exc:
            self.final_check = {
                "ok": False,
                "seconds": round(time.monotonic() - began, 3),
                "error": self.redact(f"{type(exc).__name__}: {exc}".strip()),
            }
            raise
        self.saw_backend_pid(rows[0][1])
        self.final_check = {
            "ok": True,
            "seconds": round(time.monotonic() - began, 3),
            "backend_pid": rows[0][1],
        }
        self.pattern.finish(session)

    def _record_disconnect(self, disconnect: Disconnect, session: ProbeSession) -> None:
        self.disconnect = disconnect
        self.idle_before_disconnect = disconnect.detected_at - session.last_message_at
        if self.sender is not None:
            self.sender.stop()
        message = self._describe_disconnect()
        self.timeline.add(
            "disconnect",
            message,
            at=disconnect.detected_at,
            sqlstate=disconnect.sqlstate,
            detected_by=disconnect.detected_by,
        )
        self.progress.disconnected(
            message,
            _milliseconds(disconnect.detected_at - self.start),
            _milliseconds(self.options.planned_duration_seconds),
        )

    def _describe_disconnect(self) -> str:
        d = self.disconnect
        reason = d.server_message or d.client_message or "connection closed"
        code = f"{d.sqlstate} " if d.sqlstate else ""
        return self.redact(
            f"Connection closed after {d.detected_at - self.start:.3f} s "
            f"({self.idle_before_disconnect:.3f} s after the probe's last message), "
            f"detected by {d.detected_by}: {code}{reason}"
        )

    def _wait_out(self) -> None:
        """stop_on_disconnect=false: keep the task (not the connection) until the deadline."""
        while (now := time.monotonic()) < self.deadline:
            pause = min(self.deadline, self._next_unit_boundary(now)) - now
            if self.lifeline is None:
                time.sleep(pause)
            elif select.select([self.lifeline.fd], [], [], pause)[0]:
                raise LifelineBroken(self.lifeline)
            self._report_elapsed()
            self.progress.save()

    def _fail(self, stage: str, exc: psycopg.Error) -> None:
        message = self.redact(str(exc).strip())
        self.error = {"type": type(exc).__name__, "message": message, "stage": stage}
        self.timeline.add("error", f"{stage}: {type(exc).__name__}: {message}")

    # -- progress --------------------------------------------------------------------

    def _next_unit_boundary(self, now: float) -> float:
        unit = self.options.time_unit_seconds
        return self.start + (math.floor((now - self.start) / unit) + 1) * unit

    def _report_elapsed(self) -> None:
        total = self.options.duration_minutes
        done = min(total, int((time.monotonic() - self.start) / self.options.time_unit_seconds))
        self.progress.elapsed(done, total)

    def _publish_counters(self) -> None:
        counters = (
            ("rds.heartbeats", "Heartbeats answered", self.heartbeats_ok),
            (
                "rds.notifications.sent",
                "Notifications sent",
                self.sender.sent if self.sender else None,
            ),
            ("rds.notifications.received", "Notifications received", self.notifications_received),
        )
        for code, message, value in counters:
            if value is None and code == "rds.notifications.received" and self.sender:
                value = 0
            if value is not None:
                self.progress.counter(code, message, value)

    # -- result ----------------------------------------------------------------------

    def _wall(self, moment: float | None) -> str | None:
        if moment is None:
            return None
        return (self.started_at + timedelta(seconds=moment - self.start)).isoformat()

    def result(self) -> dict:
        finished = time.monotonic()
        d = self.disconnect
        # An abandoned probe closed its own connection: not alive, and no verdict.
        alive = self.connected and d is None and self.error is None and self.abandoned is None
        sent = self.sender.sent if self.sender else None
        received = self.notifications_received
        if self.pattern.listens and received is None and self.connected:
            received = 0
        return {
            "test": self.spec.title,
            "test_name": self.spec.name,
            "workload": self.workload.name,
            "started_at": self.started_at.isoformat(),
            "finished_at": self._wall(finished),
            "duration_minutes": self.options.duration_minutes,
            "time_unit_seconds": self.options.time_unit_seconds,
            "planned_duration_seconds": self.options.planned_duration_seconds,
            "actual_duration_seconds": round(finished - self.start, 3),
            "expected_cutoff_seconds": self.options.expected_cutoff_seconds,
            "expected_in_transaction_cutoff_seconds": self.options.in_transaction_cutoff,
            "stop_on_disconnect": self.options.stop_on_disconnect,
            "connection_alive": alive,
            "success": self.connected and self.error is None,
            "status": "ABANDONED" if self.abandoned else "PASSED" if alive else "FAILED",
            "abandoned": self.abandoned,
            "connection_pinned": self.spec.proxy_pins,
            "backend_pid": self.backend_pids.first,
            "application_name": self.server_application_name,
            "error": self.error,
            "disconnected": d is not None,
            "disconnected_at": self._wall(d.detected_at) if d else None,
            "seconds_to_disconnect": round(d.detected_at - self.start, 3) if d else None,
            "idle_seconds_before_disconnect": (
                round(self.idle_before_disconnect, 3) if d else None
            ),
            "detected_by": d.detected_by if d else None,
            "server_message": self.redact(d.server_message) if d and d.server_message else None,
            "client_message": self.redact(d.client_message) if d and d.client_message else None,
            "sqlstate": d.sqlstate if d else None,
            "passive_alive_at_deadline": self.passive_alive_at_deadline,
            "final_check": self.final_check,
            "heartbeats_ok": self.heartbeats_ok,
            "heartbeat_interval_seconds": self.pattern.periodic_interval(),
            "backend_pids_seen": self.backend_pids.distinct,
            "pinning_observed": self.backend_pids.pinned,
            "notifications_sent": sent,
            "notifications_received": received,
            "notify_interval_seconds": self.options.notify_interval
            if self.spec.number == 7
            else None,
            "notify_latency_ms": self.latencies_ms.summary(),
            "notify_sender_error": self.sender.error if self.sender else None,
            "server_settings": self.server_settings,
            "target": self.target.describe(),
            **self.extra,
            "events": self.timeline.as_list(),
            "events_dropped": self.timeline.dropped,
        }


def _milliseconds(seconds: float) -> int:
    # Progress reports hold 32-bit integers.
    return min(round(seconds * 1000), 2**31 - 1)


def _short(rows: list) -> str:
    values = rows[0] if len(rows) == 1 else rows
    text = ", ".join(map(str, values)) if isinstance(values, tuple) else str(values)
    return text if len(text) <= 120 else text[:117] + "..."


def run_probe(
    options: ProbeOptions,
    target: ProbeTarget,
    progress: ProgressSink | None = None,
    lifeline: Lifeline | None = None,
) -> dict:
    """Run one probe and return its result dict.

    SystemExit on cancel and ProbeAbandoned when the lifeline breaks, both after cleanup.
    """
    return ProbeRun(options, target, progress, lifeline).execute()

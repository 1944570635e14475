"""The connection patterns: what each sends after the opening query, and when.

Every statement is fixed text; the only request-derived value, the task id, travels as a
bound parameter or, for channel names, through psycopg.sql.Identifier.
"""

from psycopg import sql

from . import keepalive
from .runner import ProbeRun, ProbeSession


class Pattern:
    """Default: nothing after the opening query (pattern 1, idle)."""

    # Default periodic interval in time units; None: the pattern never acts while holding.
    default_interval_units: float | None = None
    # Whether the pattern LISTENs (its result counts notifications received, 0 included).
    listens = False

    def __init__(self, run: ProbeRun):
        self.run = run

    def connect_params(self) -> dict:
        """libpq parameters of the probe's connection beyond the target's own."""
        return {}

    def periodic_interval(self) -> float | None:
        if self.default_interval_units is None:
            return None
        options = self.run.options
        return options.heartbeat_interval_seconds or (
            self.default_interval_units * options.time_unit_seconds
        )

    def setup(self, session: ProbeSession) -> None:
        """Right after the opening query."""

    def periodic(self, session: ProbeSession) -> None:
        """Every periodic_interval() while holding."""

    def finish(self, session: ProbeSession) -> None:
        """At the deadline, after a successful final check."""

    def stop(self) -> None:
        """Always, when the probe ends (also on cancel): stop companions."""


class IdleConnection(Pattern):
    pass


def _heartbeat(run: ProbeRun, session: ProbeSession) -> None:
    """One heartbeat: a statement the server answers, with the backend it ran on."""
    rows = session.query("heartbeat", "SELECT pg_backend_pid()")
    run.saw_backend_pid(rows[0][0])
    run.count_heartbeat()


class ActiveHeartbeat(Pattern):
    default_interval_units = 1

    def periodic(self, session: ProbeSession) -> None:
        _heartbeat(self.run, session)


class LongTransaction(Pattern):
    """An open transaction holding a real lock (the workload's), idle until the end."""

    def setup(self, session: ProbeSession) -> None:
        workload = self.run.workload
        session.query("begin", "BEGIN")
        rows = session.query("lock", workload.lock_statement, [self.run.options.task_id])
        self.run.extra["rows_locked"] = len(rows)
        self.run.extra["locked"] = workload.locked

    def finish(self, session: ProbeSession) -> None:
        session.query("commit", "COMMIT", detected_by="final-check")


class TransactionWithWork(Pattern):
    # Each round is the workload's one statement: one round trip, so a round costs what a
    # heartbeat costs.
    default_interval_units = 2

    def setup(self, session: ProbeSession) -> None:
        session.query("begin", "BEGIN")

    def periodic(self, session: ProbeSession) -> None:
        workload = self.run.workload
        session.query("work", workload.work_statement, label=workload.work_label)
        self.run.count_heartbeat()

    def finish(self, session: ProbeSession) -> None:
        session.query("commit", "COMMIT", detected_by="final-check")


class SessionVariable(Pattern):
    VALUE = "UTC"

    def setup(self, session: ProbeSession) -> None:
        before = self.run.server_settings["TimeZone"]
        session.query("set", "SET TIMEZONE TO 'UTC'")
        after = session.query("show", "SHOW TIMEZONE")[0][0]
        self.run.extra["session_setting"] = {
            "name": "TimeZone",
            "before": before,
            "set_to": self.VALUE,
            "after_set": after,
            "at_end": None,
        }
        self.run.extra["session_setting_held"] = after == self.VALUE

    def finish(self, session: ProbeSession) -> None:
        at_end = session.query("show", "SHOW TIMEZONE", detected_by="final-check")[0][0]
        self.run.extra["session_setting"]["at_end"] = at_end
        self.run.extra["session_setting_held"] = at_end == self.VALUE


class ListenNotify(Pattern):
    listens = True

    def setup(self, session: ProbeSession) -> None:
        channel = self.run.options.channel
        session.query("listen", sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        self.run.extra["channel"] = channel


class ListenWithActivity(ListenNotify):
    def setup(self, session: ProbeSession) -> None:
        super().setup(session)
        self.run.start_sender()

    def stop(self) -> None:
        if self.run.sender is not None:
            self.run.sender.stop()


class ListenWithHeartbeat(ListenNotify):
    """The fix for Pulp's workers: LISTEN, plus a client heartbeat, watched between beats."""

    default_interval_units = ActiveHeartbeat.default_interval_units

    def periodic(self, session: ProbeSession) -> None:
        _heartbeat(self.run, session)


class TcpKeepalive(IdleConnection):
    """Idle, with TCP keepalives: whether keepalives count as activity."""

    def connect_params(self) -> dict:
        return keepalive.libpq_parameters(self.run.options.keepalive_interval)

    def setup(self, session: ProbeSession) -> None:
        requested = self.connect_params()
        on_socket = keepalive.socket_keepalive(session.conn.pgconn.socket)
        self.run.extra["keepalive_interval_seconds"] = self.run.options.keepalive_interval
        self.run.extra["tcp_keepalive"] = {
            "requested": requested,
            "socket": on_socket,
        }
        self.run.timeline.add("keepalive", f"socket keepalive settings: {on_socket}")


PATTERNS: dict[str, type[Pattern]] = {
    "test_1_idle_connection": IdleConnection,
    "test_2_active_heartbeat": ActiveHeartbeat,
    "test_3_long_transaction": LongTransaction,
    "test_4_transaction_with_work": TransactionWithWork,
    "test_5_session_variable": SessionVariable,
    "test_6_listen_notify": ListenNotify,
    "test_7_listen_with_activity": ListenWithActivity,
    "test_8_listen_with_heartbeat": ListenWithHeartbeat,
    "test_9_tcp_keepalive": TcpKeepalive,
}

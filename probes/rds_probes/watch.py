"""Passive watch of an idle connection: learn of a close within milliseconds, send nothing.

A client that does not read its socket learns of a proxy's close only at its next query.
The watch sleeps in epoll on the connection's socket; when the socket becomes readable it
lets libpq consume what arrived: a notification (handed to the connection's notify
handlers), the server's FATAL error (libpq passes errors outside a query to the notice
handler) or the end of the stream (consume_input raises). Zero bytes are sent.
"""

import os
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from typing import Self

import psycopg
from psycopg import pq

FATAL_SEVERITIES = ("FATAL", "PANIC")


@dataclass(frozen=True)
class ServerError:
    """A copy of an error's fields (psycopg's Diagnostic dies with its result)."""

    severity: str | None
    sqlstate: str | None
    message: str | None

    @classmethod
    def from_diagnostic(cls, diag: psycopg.errors.Diagnostic) -> "ServerError":
        return cls(diag.severity_nonlocalized or diag.severity, diag.sqlstate, diag.message_primary)


@dataclass(frozen=True)
class Lifeline:
    """A descriptor that becomes readable when whoever runs the probe is gone.

    In a Pulp task it is the read end of a pipe whose write end only the pulpcore worker
    holds: the kernel closes it when the worker dies, however it dies (SIGKILL included).
    """

    fd: int
    # Who it belongs to, for messages: e.g. "the pulpcore worker (pid 1234)".
    owner: str


class LifelineBroken(Exception):
    """The probe's owner is gone; the probe must close its connection and stop."""

    def __init__(self, lifeline: Lifeline):
        super().__init__(f"{lifeline.owner} ended")
        self.lifeline = lifeline


@dataclass(frozen=True)
class Disconnect:
    """How and when a probe connection was found closed."""

    detected_at: float  # time.monotonic()
    detected_by: str  # passive-watch | heartbeat | final-check
    sqlstate: str | None
    server_message: str | None
    # What the client library said (e.g. "server closed the connection unexpectedly").
    client_message: str | None


class PassiveWatch:
    """Watches one psycopg connection while the probe is idle."""

    def __init__(self, conn: psycopg.Connection, on_notice=None, lifeline: Lifeline | None = None):
        self._conn = conn
        self._on_notice = on_notice
        self._fatal: ServerError | None = None
        self._selector = selectors.DefaultSelector()
        self._selector.register(conn.pgconn.socket, selectors.EVENT_READ)
        self._lifeline = lifeline
        if lifeline is not None:
            # The same epoll wait also wakes when the owner dies: no polling.
            self._selector.register(lifeline.fd, selectors.EVENT_READ, data=lifeline)
        conn.add_notice_handler(self._notice)

    @property
    def fatal(self) -> ServerError | None:
        """The first FATAL the server sent, if any (it precedes the close by < 1 ms)."""
        return self._fatal

    def _notice(self, diag: psycopg.errors.Diagnostic) -> None:
        error = ServerError.from_diagnostic(diag)
        if error.severity in FATAL_SEVERITIES and self._fatal is None:
            self._fatal = error
        if self._on_notice is not None:
            self._on_notice(error)

    def wait(self, until: float) -> Disconnect | None:
        """Wait passively until the monotonic time `until`; a Disconnect if the server closed.

        Notifications that arrive meanwhile are delivered to the connection's notify
        handlers as they come. LifelineBroken if the probe's owner dies meanwhile.
        """
        pgconn = self._conn.pgconn
        # What already sits in libpq's buffer (read along with the last result) never makes
        # the socket readable again: parse it first. No I/O, nothing sent.
        self._deliver_notifications()
        while True:
            if self._fatal is not None:
                return self.disconnect("passive-watch", None)
            remaining = until - time.monotonic()
            if remaining <= 0:
                return None
            events = self._selector.select(remaining)
            if not events:
                continue
            if any(key.data is not None for key, _ in events):
                raise LifelineBroken(self._lifeline)
            try:
                pgconn.consume_input()
            except psycopg.OperationalError as exc:
                return self.disconnect("passive-watch", exc)
            self._deliver_notifications()
            if pgconn.status == pq.ConnStatus.BAD:
                return self.disconnect("passive-watch", None)

    def _deliver_notifications(self) -> None:
        pgconn = self._conn.pgconn
        while (notify := pgconn.notifies()) is not None:
            if pgconn.notify_handler is not None:
                pgconn.notify_handler(notify)

    def disconnect(
        self, detected_by: str, exc: BaseException | None, client_message: str | None = None
    ) -> Disconnect:
        """Describe the close, preferring the server's own FATAL over the client's view."""
        detected_at = time.monotonic()
        error = self._fatal
        if error is None and isinstance(exc, psycopg.Error) and exc.diag.sqlstate:
            error = ServerError.from_diagnostic(exc.diag)
        if client_message is None and exc is not None:
            client_message = _first_line(str(exc))
        return Disconnect(
            detected_at=detected_at,
            detected_by=detected_by,
            sqlstate=error.sqlstate if error is not None else None,
            server_message=error.message if error is not None else None,
            client_message=client_message,
        )

    def close(self) -> None:
        self._selector.close()


class AnswerWatchdog:
    """Ends a statement that gets no answer in time by shutting the connection's socket.

    A connection that went silent (no FIN, no RST: a partition) would leave a query
    waiting for the kernel to give up on TCP retransmissions, about 15 minutes. After
    `timeout` seconds the watchdog shuts the socket down, so the query fails at once and
    the probe reports the connection as lost. One thread per connection, armed around
    each statement (`with watchdog:`), asleep otherwise; close() ends it.
    """

    def __init__(self, conn: psycopg.Connection, timeout: float):
        self._fd = conn.pgconn.socket
        self._timeout = timeout
        self._changed = threading.Condition()
        self._deadline: float | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self.fired = False

    @property
    def message(self) -> str:
        return (
            f"no answer within {self._timeout:g} s: the connection went silent, the probe closed it"
        )

    def __enter__(self) -> Self:
        with self._changed:
            self._deadline = time.monotonic() + self._timeout
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="rds-probe-watchdog", daemon=True
                )
                self._thread.start()
            self._changed.notify()
        return self

    def __exit__(self, *exc_info) -> None:
        with self._changed:
            self._deadline = None
            self._changed.notify()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(1.0)

    def _run(self) -> None:
        with self._changed:
            while not self._closed:
                if self._deadline is None:
                    self._changed.wait()
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._changed.wait(remaining)
                    continue
                self._deadline = None
                self.fired = True
                # A duplicate descriptor: shutting it down ends the connection, closing it
                # leaves libpq's own descriptor alone.
                with socket.socket(fileno=os.dup(self._fd)) as sock:
                    sock.shutdown(socket.SHUT_RDWR)


def is_connection_lost(conn: psycopg.Connection, exc: psycopg.Error) -> bool:
    """Whether a failed query means the connection is gone (not just a failed statement)."""
    if conn.broken or conn.closed:
        return True
    sqlstate = exc.sqlstate or ""
    # 08: connection exception; 57P: operator intervention (terminated, idle-session
    # timeout, shutdown); 25P03: idle-in-transaction timeout (the backend exits).
    return sqlstate.startswith(("08", "57P")) or sqlstate == "25P03"


def _first_line(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else text

"""Pattern 7's NOTIFY sender: its own connection, its own thread, stopped with the probe.

Each payload carries a sequence number; the sender remembers when it sent each one so
the listener can measure the delivery latency (same process, same monotonic clock).
"""

import contextlib
import os
import socket
import threading
import time

import psycopg
from psycopg import sql

from .target import ProbeTarget
from .timeline import Timeline

JOIN_TIMEOUT_SECONDS = 1.0
# Send times kept for matching notifications: a NOTIFY this many sends old that has still
# not arrived gets no latency. Bounds the memory of a 5-hour run at the 1 s floor.
SENT_AT_KEPT = 1000


class NotifySender:
    def __init__(
        self,
        target: ProbeTarget,
        channel: str,
        interval: float,
        application_name: str,
        timeline: Timeline,
        redact,
    ):
        self._target = target
        self._channel = channel
        self._interval = interval
        self._application_name = application_name
        self._timeline = timeline
        self._redact = redact
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sent_at: dict[int, float] = {}
        self._sent = 0
        self._conn: psycopg.Connection | None = None
        self._socket: int | None = None
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    @property
    def sent(self) -> int:
        with self._lock:
            return self._sent

    def sent_at(self, sequence: int) -> float | None:
        with self._lock:
            return self._sent_at.get(sequence)

    def start(self) -> None:
        """Connect (in the caller's thread, so a failure is reported at once) and start."""
        self._conn = self._target.connect(self._application_name)
        self._socket = self._conn.pgconn.socket
        self._timeline.add("sender-connect", self._application_name)
        self._thread = threading.Thread(target=self._run, name="rds-probe-notify", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        statement_for = sql.SQL("NOTIFY {}, {}").format
        sequence = 0
        try:
            while not self._stop.wait(self._interval):
                sequence += 1
                statement = statement_for(sql.Identifier(self._channel), sql.Literal(str(sequence)))
                with self._lock:
                    self._sent_at[sequence] = time.monotonic()
                    self._sent_at.pop(sequence - SENT_AT_KEPT, None)
                    self._sent += 1
                self._conn.execute(statement)
                self._timeline.add("notify-sent", f"NOTIFY #{sequence}", at=self.sent_at(sequence))
        except psycopg.Error as exc:
            if not self._stop.is_set():
                self.error = self._redact(f"{type(exc).__name__}: {str(exc).strip()}")
                self._timeline.add("sender-error", self.error)
                with self._lock:
                    if self._sent_at.pop(sequence, None) is not None:
                        self._sent -= 1  # never reached the server
        finally:
            with self._lock:
                self._socket = None
            self._close()

    def stop(self) -> None:
        """Stop sending and close the sender's connection (within about a second)."""
        self._stop.set()
        thread = self._thread
        if thread is None:
            self._close()
            return
        thread.join(JOIN_TIMEOUT_SECONDS)
        if thread.is_alive():
            # Stuck in a NOTIFY on a silent connection: shutting the socket down ends the
            # wait, and the thread closes its connection itself (closing it from here,
            # while libpq is busy with it in the other thread, is not safe). Under the
            # lock, so the descriptor is still the connection's.
            with self._lock:
                if self._socket is not None:
                    with (
                        contextlib.suppress(OSError),
                        socket.socket(fileno=os.dup(self._socket)) as sock,
                    ):
                        sock.shutdown(socket.SHUT_RDWR)
            thread.join(JOIN_TIMEOUT_SECONDS)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

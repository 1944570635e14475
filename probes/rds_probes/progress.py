"""What a probe reports while it runs, and how often that is saved.

The probe tells its ProgressSink every change as it happens; the sink only keeps it.
ProgressThrottle decides when the sink saves (`flush()`): at most once a second, and at
once for the start, the disconnect and the end. A probe with 0.1 s heartbeats therefore
costs Pulp's database one progress write a second, not ten.
"""

import math
import time
from typing import Protocol

SAVE_INTERVAL_SECONDS = 1.0


class ProgressSink(Protocol):
    """Where a probe reports progress (the task keeps these as Pulp progress reports)."""

    def elapsed(self, done: int, total: int) -> None: ...

    def counter(self, code: str, message: str, value: int) -> None: ...

    def disconnected(self, message: str, after_ms: int, planned_ms: int) -> None:
        """The connection died `after_ms` milliseconds after the probe's start."""

    def flush(self) -> None:
        """Save what changed since the last flush."""


class NullProgress:
    def elapsed(self, done: int, total: int) -> None:
        pass

    def counter(self, code: str, message: str, value: int) -> None:
        pass

    def disconnected(self, message: str, after_ms: int, planned_ms: int) -> None:
        pass

    def flush(self) -> None:
        pass


class ProgressThrottle:
    """Passes changes to a sink and has it save them at most once per `interval`."""

    def __init__(self, sink: ProgressSink, interval: float = SAVE_INTERVAL_SECONDS):
        self._sink = sink
        self._interval = interval
        self._changed = False
        self._saved_at = -math.inf
        self._counters: dict[str, int] = {}
        self._units_done: int | None = None

    def elapsed(self, done: int, total: int) -> None:
        if done != self._units_done:
            self._units_done = done
            self._sink.elapsed(done, total)
            self._changed = True

    def counter(self, code: str, message: str, value: int) -> None:
        if self._counters.get(code) != value:
            self._counters[code] = value
            self._sink.counter(code, message, value)
            self._changed = True

    def disconnected(self, message: str, after_ms: int, planned_ms: int) -> None:
        self._sink.disconnected(message, after_ms, planned_ms)
        self._changed = True
        self.save(now=True)

    def due(self) -> float:
        """When the next save may happen (monotonic); infinity when nothing changed."""
        return self._saved_at + self._interval if self._changed else math.inf

    def save(self, now: bool = False) -> None:
        """Save the changes, if any, unless the last save was less than `interval` ago."""
        moment = time.monotonic()
        if self._changed and (now or moment >= self._saved_at + self._interval):
            self._changed = False
            self._saved_at = moment
            self._sink.flush()

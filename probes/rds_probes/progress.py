"""What a probe reports while it runs, and how often that is saved.

The probe tells its ProgressSink every change as it happens; the sink only keeps it.
ProgressThrottle decides when the sink saves (`flush()`): at most once a second, and at
once for the start, the disconnect and the end. A probe with 0.1 s heartbeats therefore
costs Pulp's database one progress write a second, not ten.

ProgressRecord keeps the changes as Pulp progress reports (the plugin's task saves them
with Django, the client serves them as a task's progress_reports): one wording for both.
"""

import math
import threading
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


ELAPSED_CODE = "rds.elapsed"
DISCONNECT_CODE = "rds.disconnect"


class ProgressRecord:
    """A ProgressSink that keeps Pulp-shaped progress reports: dicts of code, message,
    state, done and total, one per code, in the order they were first reported.

    Thread-safe: the probe reports from its thread while another reads `snapshot()`.
    `flush()` hands the reports changed since the last flush to `persist()`, which saves
    nothing here (the record is the store); the plugin's task saves them in Pulp's database.
    """

    FIELDS = ("message", "state", "done", "total")

    def __init__(self, time_unit_seconds: float = 60.0):
        self._unit = time_unit_seconds
        self._lock = threading.Lock()
        self._reports: dict[str, dict] = {}
        self._changed: set[str] = set()

    def _report(self, code: str, message: str, **fields) -> None:
        with self._lock:
            report = self._reports.setdefault(
                code, {"code": code, "message": message, "state": None, "done": None, "total": None}
            )
            report.update(fields, message=message)
            self._changed.add(code)

    def elapsed(self, done: int, total: int) -> None:
        unit = "Elapsed minutes" if self._unit == 60 else f"Elapsed time units ({self._unit:g} s)"
        state = "completed" if done >= total else "running"
        self._report(ELAPSED_CODE, unit, done=done, total=total, state=state)

    def counter(self, code: str, message: str, value: int) -> None:
        self._report(code, message, done=value, state="running")

    def disconnected(self, message: str, after_ms: int, planned_ms: int) -> None:
        # done/total in milliseconds: clients read the time of death from `done`.
        self._report(DISCONNECT_CODE, message, done=after_ms, total=planned_ms, state="failed")

    def finish(self) -> None:
        """Counters and elapsed time end with the probe (a disconnect report stays failed)."""
        with self._lock:
            for code, report in self._reports.items():
                if report["state"] == "running":
                    report["state"] = "completed"
                    self._changed.add(code)
        self.flush()

    def snapshot(self) -> list[dict]:
        """Copies of the reports, in the order they were first reported."""
        with self._lock:
            return [dict(report) for report in self._reports.values()]

    def flush(self) -> None:
        with self._lock:
            changed = [dict(self._reports[code]) for code in sorted(self._changed)]
            self._changed.clear()
        if changed and not self.persist(changed):
            with self._lock:
                self._changed.update(report["code"] for report in changed)

    def persist(self, changed: list[dict]) -> bool:
        """Save these reports (copies, by code); False: not saved, offer them again at
        the next flush. Here: nothing to save."""
        return True


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

"""The polling engine shared by the headless command line and the dashboard.

`RunMonitor` polls every unfinished task of a run in ONE request per interval (the
client chunks above 100 ids), keeps a snapshot per task, and turns differences between
polls into events. Transient failures (server unreachable, 5xx) never end the monitor:
it backs off, retries, and reports how long ago the last successful poll was. No
Textual import here: the dashboard feeds the events into its own message loop.

Usage:
    monitor = RunMonitor(client, run, interval=60)
    await monitor.run(on_event)          # until every task is final
or drive it yourself with `await monitor.poll_once()` (returns the events).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import ValidationError

from rds_tui.api import ApiError
from rds_tui.constants import MISSING_STATE
from rds_tui.models import (
    ProgressReport,
    Task,
    TaskState,
    missing_task_document,
    task_id_from_href,
)
from rds_tui.outcome import UNKNOWN_STATE, Outcome, read_outcome


class TaskSource(Protocol):
    """What the monitor polls: a PulpClient, or a direct run's DirectClient."""

    clock_skew_seconds: float | None

    async def tasks(self, hrefs: Sequence[str]) -> list[Task]: ...


class RunTaskLike(Protocol):
    test_name: str
    task_href: str


@dataclass
class TaskSnapshot:
    """What the monitor knows about one task of the run."""

    test_name: str
    task_href: str
    task: Task | None = None
    missing: bool = False
    # Local wall-clock time of the poll that last changed this snapshot.
    updated_at: float | None = None
    # The outcome read from (task, missing), re-read when either changes.
    _outcome: tuple[Task | None, bool, Outcome] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    @property
    def task_id(self) -> str:
        return task_id_from_href(self.task_href)

    @property
    def state(self) -> str:
        """The task's state string; "unknown" before the first poll, "missing" when gone."""
        if self.missing:
            return MISSING_STATE
        return self.task.state if self.task else UNKNOWN_STATE

    @property
    def outcome(self) -> Outcome:
        """What the task says about its connection (rds_tui.outcome)."""
        cached = self._outcome
        if cached is not None and cached[0] is self.task and cached[1] == self.missing:
            return cached[2]
        if self.missing or self.task is None:
            source: Task | dict[str, Any] = self.as_dict()
            if not self.missing:
                source["state"] = UNKNOWN_STATE
        else:
            source = self.task
        outcome = read_outcome(source, self.test_name)
        self._outcome = (self.task, self.missing, outcome)
        return outcome

    @property
    def connection_died(self) -> bool:
        """The probe's connection is known to be dead (from the outcome)."""
        return self.outcome.died is True

    @property
    def is_final(self) -> bool:
        return self.missing or (self.task is not None and self.task.is_final)

    @property
    def succeeded(self) -> bool:
        """Finished as `completed` at the Pulp level (a dead connection still counts)."""
        return self.task is not None and self.task.state == TaskState.COMPLETED.value

    @property
    def progress(self) -> list[ProgressReport]:
        return self.task.progress_reports if self.task else []

    def elapsed_seconds(self, clock_skew_seconds: float | None = None) -> float | None:
        """Seconds since the task started, on the server's clock (skew corrected);
        up to `finished_at` for a finished task. None while it has not started."""
        if self.task is None or self.task.started_at is None:
            return None
        end: datetime | None = self.task.finished_at
        if end is not None:
            return (end - self.task.started_at).total_seconds()
        server_now = time.time() + (clock_skew_seconds or 0.0)
        return server_now - self.task.started_at.timestamp()

    def as_dict(self) -> dict[str, Any]:
        """The task JSON annotated with `test_name` (what rds_tui.report consumes)."""
        data = self.task.model_dump(mode="json") if self.task else {"pulp_href": self.task_href}
        data["test_name"] = self.test_name
        data["task_id"] = self.task_id
        return missing_task_document(self.task_href, data) if self.missing else data


# --- events ---------------------------------------------------------------------------


@dataclass
class MonitorEvent:
    pass


@dataclass
class StateChanged(MonitorEvent):
    snapshot: TaskSnapshot
    old_state: str
    new_state: str


@dataclass
class ProgressChanged(MonitorEvent):
    snapshot: TaskSnapshot
    progress_reports: list[ProgressReport]


@dataclass
class ConnectionDied(MonitorEvent):
    """The probe reported (progress or result) that its database connection died."""

    snapshot: TaskSnapshot
    detail: str


@dataclass
class TaskFinished(MonitorEvent):
    snapshot: TaskSnapshot


@dataclass
class Polled(MonitorEvent):
    """A successful poll; emitted after that poll's other task events."""

    snapshots: list[TaskSnapshot]
    elapsed_seconds: float  # since the monitor started


@dataclass
class PollFailed(MonitorEvent):
    """A poll failed with a transient error; the monitor retries in `retry_in` seconds."""

    error: ApiError
    failures: int  # consecutive
    seconds_since_success: float | None  # None: no poll has succeeded yet
    retry_in: float


@dataclass
class PollRecovered(MonitorEvent):
    failures: int
    outage_seconds: float


@dataclass
class AllFinished(MonitorEvent):
    snapshots: list[TaskSnapshot]


EventCallback = Callable[[MonitorEvent], Awaitable[None] | None]


class RunMonitor:
    """Polls the tasks of `run` (anything with `.tasks`, each having `test_name` and
    `task_href`) through `client` (a PulpClient, or a direct run's DirectClient).

    interval: seconds between polls. Retries after transient failures start at
    min(interval, 1 s) and double up to max(interval, 30 s).
    """

    def __init__(self, client: TaskSource, run: Any, interval: float = 60.0) -> None:
        self.client = client
        self.run_record = run
        self.interval = float(interval)
        self.snapshots: list[TaskSnapshot] = [
            TaskSnapshot(test_name=t.test_name, task_href=t.task_href) for t in run.tasks
        ]
        self._by_href = {s.task_href: s for s in self.snapshots}
        # Tasks whose final JSON the run history already holds are not polled again.
        for href, stored in (getattr(run, "final", None) or {}).items():
            snapshot = self._by_href.get(href)
            if snapshot is not None and stored.get("state") == MISSING_STATE:
                snapshot.missing = True  # recorded as gone: asking again finds nothing
            if snapshot is not None and snapshot.task is None:
                try:
                    snapshot.task = Task.model_validate(stored)
                except ValidationError:
                    continue
        self.started_monotonic = time.monotonic()
        self.last_success_at: float | None = None  # wall clock
        self._last_success_monotonic: float | None = None
        self.polls = 0
        self.consecutive_failures = 0

    # --- state ---

    @property
    def clock_skew_seconds(self) -> float | None:
        """Server clock minus local clock (from the HTTP Date header)."""
        return self.client.clock_skew_seconds

    @property
    def all_final(self) -> bool:
        return all(s.is_final for s in self.snapshots)

    @property
    def unfinished(self) -> list[TaskSnapshot]:
        return [s for s in self.snapshots if not s.is_final]

    def seconds_since_success(self) -> float | None:
        if self._last_success_monotonic is None:
            return None
        return time.monotonic() - self._last_success_monotonic

    def retry_delay(self, failures: int) -> float:
        base = min(self.interval, 1.0)
        return min(max(self.interval, 30.0), base * 2 ** (failures - 1))

    # --- polling ---

    async def poll_once(self) -> list[MonitorEvent]:
        """One request for every unfinished task; returns the events it caused (the
        last being Polled, then AllFinished when nothing is left). Raises ApiError."""
        pending = self.unfinished
        tasks = await self.client.tasks([s.task_href for s in pending]) if pending else []
        now = time.time()
        self.polls += 1
        self.last_success_at = now
        self._last_success_monotonic = time.monotonic()
        events: list[MonitorEvent] = []
        seen = set()
        for task in tasks:
            snapshot = self._by_href.get(task.pulp_href) or self._by_id(task.task_id)
            if snapshot is None:
                continue
            seen.add(snapshot.task_href)
            events.extend(self._update(snapshot, task, now))
        for snapshot in pending:
            if snapshot.task_href not in seen:
                old = snapshot.state
                snapshot.missing = True
                snapshot.updated_at = now
                events.append(StateChanged(snapshot, old, MISSING_STATE))
                events.append(TaskFinished(snapshot))
        events.append(Polled(list(self.snapshots), time.monotonic() - self.started_monotonic))
        if self.all_final:
            events.append(AllFinished(list(self.snapshots)))
        return events

    def _by_id(self, task_id: str) -> TaskSnapshot | None:
        for snapshot in self.snapshots:
            if snapshot.task_id == task_id:
                return snapshot
        return None

    def _update(self, snapshot: TaskSnapshot, task: Task, now: float) -> list[MonitorEvent]:
        events: list[MonitorEvent] = []
        old = snapshot.task
        old_state = snapshot.state
        snapshot.task = task
        if old is None or old.state != task.state:
            snapshot.updated_at = now
            events.append(StateChanged(snapshot, old_state, task.state))
        if (
            old is None
            and task.progress_reports
            or old is not None
            and (
                [r.model_dump() for r in old.progress_reports]
                != [r.model_dump() for r in task.progress_reports]
            )
        ):
            snapshot.updated_at = now
            events.append(ProgressChanged(snapshot, task.progress_reports))
        outcome = snapshot.outcome
        if outcome.died and not (old is not None and read_outcome(old, snapshot.test_name).died):
            events.append(ConnectionDied(snapshot, outcome.death_text()))
        if task.is_final and (old is None or not old.is_final):
            events.append(TaskFinished(snapshot))
        return events

    async def run(self, on_event: EventCallback | None = None) -> list[TaskSnapshot]:
        """Poll until every task is final, passing each event to `on_event` (sync or
        async). Transient errors are retried forever; others are raised. Cancel the
        asyncio task to stop early (the server's tasks keep running)."""

        async def emit(event: MonitorEvent) -> None:
            if on_event is not None:
                outcome = on_event(event)
                if inspect.isawaitable(outcome):
                    await outcome

        failed_since: float | None = None
        while True:
            started = time.monotonic()
            try:
                events = await self.poll_once()
            except ApiError as exc:
                if not exc.transient:
                    raise
                self.consecutive_failures += 1
                failed_since = failed_since or started
                delay = self.retry_delay(self.consecutive_failures)
                await emit(
                    PollFailed(exc, self.consecutive_failures, self.seconds_since_success(), delay)
                )
                await asyncio.sleep(delay)
                continue
            if self.consecutive_failures:
                await emit(
                    PollRecovered(
                        self.consecutive_failures, time.monotonic() - (failed_since or started)
                    )
                )
                self.consecutive_failures = 0
                failed_since = None
            for event in events:
                await emit(event)
            if self.all_final:
                return self.snapshots
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))


def snapshots_for(tasks: Sequence[RunTaskLike]) -> list[TaskSnapshot]:
    """Empty snapshots for a list of dispatched tasks (before the first poll)."""
    return [TaskSnapshot(test_name=t.test_name, task_href=t.task_href) for t in tasks]


__all__ = [
    "AllFinished",
    "ConnectionDied",
    "MonitorEvent",
    "PollFailed",
    "PollRecovered",
    "Polled",
    "ProgressChanged",
    "RunMonitor",
    "StateChanged",
    "TaskFinished",
    "TaskSnapshot",
]

"""The direct run engine: the probes in this process, answering like Pulp's tasks API.

`DirectClient` is what a PulpClient is to a Pulp run: RunService dispatches through it,
RunMonitor polls it, so the CLI, the dashboard, the history, the report and the
diagnosis treat a direct run like any other. Each probe is rds_probes.run_probe (the
plugin's own code) in a thread of its own: a probe waits in epoll on its socket, so
seven cost a few threads and no CPU. Its ProgressRecord keeps the progress reports a
Pulp task would carry, and `tasks()` builds the same task JSON from it.

A direct run lives as long as this process. `stop()` (Ctrl-C, closing the dashboard, a
cancel) breaks each probe's lifeline, a pipe the probe watches in the same epoll wait as
its socket: the probe closes its connection at once and hands back its partial result,
which becomes a `canceled` task whose result says `abandoned`.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from rds_tui.api_errors import ApiError
from rds_tui.constants import DEFAULT_DURATION_MINUTES
from rds_tui.models import DispatchResponse, Task
from rds_tui.urls import without_userinfo

if TYPE_CHECKING:
    from rds_tui.direct.dsn import DirectTarget
    from rds_tui.direct.errors import ConnectionProblem

# Task hrefs of direct runs: never a server path, so nothing mistakes one for a Pulp task.
HREF_PREFIX = "/direct/tasks/"
# The expected idle cutoff in time units when none is given: RDS Proxy's ~40 minutes.
DEFAULT_CUTOFF_UNITS = 40
INSTALL_HINT = (
    "direct runs need psycopg and rds-probes: from a checkout of rds-tui, "
    "pip install ./probes '.[direct]'"
)
# Who holds a probe's lifeline, as the probe's result words its end.
LIFELINE_OWNER = "the rds-tui run (stopped by the user)"
# How long stop() waits for the probes: a probe blocked in connect() or in a query
# notices its lifeline only after them (10 s connect timeout, 30 s answer timeout).
STOP_WAIT_SECONDS = 45.0


class DirectUnavailable(Exception):
    """psycopg or rds_probes is not installed; str() says how to install them."""


def require_direct() -> None:
    """DirectUnavailable unless the `direct` extra is installed."""
    from rds_tui import __version__

    try:
        import psycopg  # noqa: F401
        import rds_probes
    except ImportError as exc:
        raise DirectUnavailable(f"{INSTALL_HINT} (missing: {exc.name})") from None
    # The two are released together from one checkout; another rds-probes may lack
    # what this client asks of it.
    if rds_probes.__version__ != __version__:
        raise DirectUnavailable(
            f"rds-probes {rds_probes.__version__} is installed, this rds-tui {__version__} "
            f"needs the same version: {INSTALL_HINT}"
        )


class DirectConnectionError(ApiError):
    """The endpoint refused or could not be reached; `problem` has the facts."""

    def __init__(self, problem: ConnectionProblem, base_url: str):
        super().__init__(problem.message(), base_url=base_url)
        self.problem = problem


@dataclass(frozen=True)
class DirectSettings:
    """What a plugin reads from Pulp's settings, for a direct run: its clock and cutoffs."""

    time_unit_seconds: float = 60.0
    # None: DEFAULT_CUTOFF_UNITS time units.
    expected_cutoff_seconds: float | None = None
    # None: the same as expected_cutoff_seconds.
    expected_in_transaction_cutoff_seconds: float | None = None
    # Tests 3 and 4 use no Pulp tables against an arbitrary database.
    workload: str = "generic"

    @classmethod
    def of(
        cls,
        profile: Any = None,
        *,
        time_unit_seconds: float | None = None,
        expected_cutoff_seconds: float | None = None,
        expected_in_transaction_cutoff_seconds: float | None = None,
    ) -> DirectSettings:
        """The settings given (command-line flags), else the direct profile's, else the
        defaults: the one place that decides a direct run's clock and cutoffs."""

        def pick(given: float | None, field: str) -> float | None:
            return given if given is not None else getattr(profile, field, None)

        return cls(
            time_unit_seconds=float(
                pick(time_unit_seconds, "time_unit_seconds") or cls.time_unit_seconds
            ),
            expected_cutoff_seconds=pick(expected_cutoff_seconds, "expected_cutoff_seconds"),
            expected_in_transaction_cutoff_seconds=pick(
                expected_in_transaction_cutoff_seconds, "expected_in_transaction_cutoff_seconds"
            ),
        )

    @property
    def cutoff(self) -> float:
        if self.expected_cutoff_seconds is not None:
            return float(self.expected_cutoff_seconds)
        return DEFAULT_CUTOFF_UNITS * self.time_unit_seconds

    @property
    def in_transaction_cutoff(self) -> float:
        if self.expected_in_transaction_cutoff_seconds is not None:
            return float(self.expected_in_transaction_cutoff_seconds)
        return self.cutoff


def _now() -> datetime:
    return datetime.now(UTC)


class LocalTask:
    """One probe of a direct run, kept in the shape of a Pulp task.

    States move waiting -> running -> completed | failed | canceled, as Pulp's do; a
    probe stopped by its lifeline ends `canceled` with its partial result.
    """

    def __init__(self, test_name: str, time_unit_seconds: float) -> None:
        from rds_probes import ProgressRecord

        self.test_name = test_name
        self.task_id = str(uuid.uuid4())
        self.href = f"{HREF_PREFIX}{self.task_id}/"
        self.created_at = _now()
        self.state = "waiting"
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.progress = ProgressRecord(time_unit_seconds)
        self._lock = threading.Lock()
        self._lifeline_read, self._stop_write = os.pipe()
        self._stop_requested = False
        self.done = threading.Event()

    @property
    def is_final(self) -> bool:
        return self.done.is_set()

    def request_stop(self) -> None:
        """Break the lifeline (idempotent): a running probe closes its connection and
        ends; a waiting one never starts."""
        with self._lock:
            if self._stop_requested:
                return
            self._stop_requested = True
            os.close(self._stop_write)

    def run(self, options: Any, target: Any, secrets: Sequence[str]) -> None:
        """Run the probe to its end (in the calling thread) and record how it ended."""
        from rds_probes import Lifeline, ProbeAbandoned, run_probe

        with self._lock:
            if self._stop_requested:
                self._finish("canceled")
                return
            self.state = "running"
            self.started_at = _now()
        try:
            result = run_probe(
                options, target, self.progress, Lifeline(self._lifeline_read, LIFELINE_OWNER)
            )
        except ProbeAbandoned as abandoned:
            self.result = abandoned.result
            self._finish("canceled")
        except Exception as exc:  # noqa: BLE001 - a probe's crash must not end the run
            text = f"{type(exc).__name__}: {exc}"
            for secret in secrets:
                text = text.replace(secret, "***")
            self.error = {"description": text}
            self._finish("failed")
        else:
            self.result = result
            self._finish("completed")

    def _finish(self, state: str) -> None:
        self.progress.finish()
        self.finished_at = _now()
        self.state = state
        os.close(self._lifeline_read)
        with self._lock:
            if not self._stop_requested:
                self._stop_requested = True
                os.close(self._stop_write)
        self.done.set()

    def as_task(self) -> Task:
        """The task JSON Pulp's tasks API would answer for this probe."""

        def stamp(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return Task.model_validate(
            {
                "pulp_href": self.href,
                "state": self.state,
                "name": f"rds_probes.{self.test_name}",
                "pulp_created": stamp(self.created_at),
                "started_at": stamp(self.started_at),
                "finished_at": stamp(self.finished_at),
                "error": self.error,
                "progress_reports": self.progress.snapshot(),
                "result": self.result,
            }
        )


class DirectClient:
    """A direct run's task source: RunService and RunMonitor use it like a PulpClient.

    One DirectClient holds at most one dispatch (a run); use it as an async context
    manager, or call aclose(): leaving stops every probe still running.
    """

    kind = "direct"
    api_prefix = "/"
    domain = "default"
    # The probes run on this machine's clock.
    clock_skew_seconds = 0.0

    def __init__(
        self,
        target: DirectTarget,
        settings: DirectSettings | None = None,
        *,
        correlation_id: str | None = None,
    ) -> None:
        require_direct()
        self.target = target
        self.settings = settings or DirectSettings()
        self.correlation_id = correlation_id or uuid.uuid4().hex
        # What the last check() learned: server_version, user, backend_pid.
        self.server: dict[str, Any] | None = None
        self._tasks: dict[str, LocalTask] = {}
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"DirectClient({self.base_url!r})"

    @property
    def base_url(self) -> str:
        """Where the probes connect, as a run records it: no user, no password."""
        return without_userinfo(self.target.display())

    def absolute_url(self, href: str) -> str:
        return href

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.stop()

    # -- connecting ------------------------------------------------------------------

    def _probe_target(self) -> Any:
        from rds_probes import ProbeTarget

        return ProbeTarget(self.target.params)

    def _connection_error(self, exc: BaseException) -> DirectConnectionError:
        from rds_tui.direct.errors import classify

        sqlstate = getattr(exc, "sqlstate", None)
        problem = classify(str(exc), sqlstate, self.target.endpoint(), self.target.secrets())
        return DirectConnectionError(problem, self.base_url)

    def _check(self) -> dict[str, Any]:
        import psycopg

        try:
            conn = self._probe_target().connect("rds-probe:check")
        except psycopg.Error as exc:
            raise self._connection_error(exc) from None
        try:
            row = conn.execute(
                "SELECT current_setting('server_version'), current_user, pg_backend_pid()"
            ).fetchone()
        except psycopg.Error as exc:
            raise self._connection_error(exc) from None
        finally:
            conn.close()
        assert row is not None
        return {"server_version": row[0], "user": row[1], "backend_pid": row[2]}

    async def check(self) -> dict[str, Any]:
        """Open one connection, ask who and what the server is, close it.

        DirectConnectionError (worded: authentication, DNS, refused, TLS, ...) otherwise.
        """
        self.server = await asyncio.to_thread(self._check)
        return self.server

    # -- the run ---------------------------------------------------------------------

    def _options(self, task: LocalTask, duration: int, **chosen: Any) -> Any:
        from rds_probes import ProbeOptions

        settings = self.settings
        return ProbeOptions(
            test_name=task.test_name,
            task_id=task.task_id,
            duration_minutes=duration,
            time_unit_seconds=settings.time_unit_seconds,
            expected_cutoff_seconds=settings.cutoff,
            expected_in_transaction_cutoff_seconds=settings.in_transaction_cutoff,
            workload=settings.workload,
            **{key: value for key, value in chosen.items() if value is not None},
        )

    async def dispatch(
        self,
        tests: Sequence[str],
        *,
        run_sequentially: bool = False,
        duration_minutes: int | None = None,
        heartbeat_interval_seconds: float | None = None,
        notify_interval_seconds: float | None = None,
        stop_on_disconnect: bool | None = None,
        keepalive_interval_seconds: int | None = None,
    ) -> DispatchResponse:
        """Check the endpoint with one connection, then start one probe per test (all at
        once, or one after another). DirectConnectionError when the check fails: then
        nothing runs."""
        if self._tasks:
            raise RuntimeError("a DirectClient runs one dispatch")
        await self.check()
        duration = duration_minutes or DEFAULT_DURATION_MINUTES
        chosen = {
            "heartbeat_interval_seconds": heartbeat_interval_seconds,
            "notify_interval_seconds": notify_interval_seconds,
            "keepalive_interval_seconds": keepalive_interval_seconds,
            "stop_on_disconnect": stop_on_disconnect,
        }
        tasks = [LocalTask(name, self.settings.time_unit_seconds) for name in tests]
        for task in tasks:
            self._tasks[task.href] = task
        plans = [(task, self._options(task, duration, **chosen)) for task in tasks]
        target, secrets = self._probe_target(), self.target.secrets()

        def run_all(items: list[tuple[LocalTask, Any]]) -> None:
            for task, options in items:
                task.run(options, target, secrets)

        groups = [plans] if run_sequentially else [[plan] for plan in plans]
        for group in groups:
            thread = threading.Thread(
                target=run_all, args=(group,), name="rds-probe-direct", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        settings = self.settings
        return DispatchResponse.model_validate(
            {
                "message": f"Started {len(tasks)} probe(s) against {self.base_url}",
                "tasks": [
                    {"test_name": t.test_name, "task_id": t.task_id, "task_href": t.href}
                    for t in tasks
                ],
                "run_sequentially": run_sequentially,
                "duration_minutes": duration,
                "time_unit_seconds": settings.time_unit_seconds,
                "expected_cutoff_seconds": settings.cutoff,
                "expected_in_transaction_cutoff_seconds": settings.in_transaction_cutoff,
            }
        )

    @property
    def active(self) -> bool:
        """Whether a probe is still running or waiting to run."""
        return any(not task.is_final for task in self._tasks.values())

    async def tasks(self, hrefs: Sequence[str]) -> list[Task]:
        """The tasks asked for, as Pulp would list them (unknown hrefs left out)."""
        return [self._tasks[href].as_task() for href in hrefs if href in self._tasks]

    async def task(self, href: str) -> Task:
        found = await self.tasks([href])
        if not found:
            raise ApiError(f"no probe {href} in this run", base_url=self.base_url)
        return found[0]

    async def cancel(self, task_href: str) -> Task:
        """Stop one probe; returns its task once it has closed its connection."""
        task = self._tasks.get(task_href)
        if task is None:
            raise ApiError(f"no probe {task_href} in this run", base_url=self.base_url)
        task.request_stop()
        await asyncio.to_thread(task.done.wait, STOP_WAIT_SECONDS)
        return task.as_task()

    async def stop(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Stop every probe and wait until each has closed its connection."""
        for task in self._tasks.values():
            task.request_stop()
        await asyncio.to_thread(self._join, timeout)

    def _join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

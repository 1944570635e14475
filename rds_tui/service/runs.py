"""The run service: what a run means, for the headless CLI and the dashboard alike.

Dispatch + record (the run is written right after the server's 202, before any
monitoring, with the server's time unit and cutoffs), re-attach (snapshots from the
history; tasks already final are not polled again), record finished results, cancel
(409 = it had already finished), refresh (re-read unfinished tasks once), export
(rendered by rds_tui.report, written atomically, following the user's umask).

No Textual, no argparse, no printing: results and events carry facts, each face words
them. Built around rds_tui.monitor.RunMonitor.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rds_tui.constants import MISSING_STATE
from rds_tui.filestore import atomic_write_bytes, umask_file_mode
from rds_tui.monitor import MonitorEvent, RunMonitor, TaskFinished, TaskSnapshot, snapshots_for
from rds_tui.runs import Run, RunError, RunStore, RunTask, without_secrets

if TYPE_CHECKING:
    from rds_tui.api import PulpClient
    from rds_tui.direct.engine import DirectClient
    from rds_tui.models import Catalog, DispatchResponse
    from rds_tui.profiles import Profile
    from rds_tui.report.collect import MetricSeries

# What the server's 202 (or, for older plugins, its catalog) says about the run's clock.
SERVER_TIMING_KEYS = (
    "time_unit_seconds",
    "expected_cutoff_seconds",
    "expected_in_transaction_cutoff_seconds",
)


class ExportError(RunError):
    """A report could not be written; str() says why (nothing was written)."""


@dataclass(frozen=True)
class DispatchOptions:
    """What the user asked for; None leaves the choice to the server."""

    duration_minutes: int | None = None
    run_sequentially: bool = False
    heartbeat_interval_seconds: float | None = None
    notify_interval_seconds: float | None = None
    stop_on_disconnect: bool | None = None
    # Test 9's TCP keepalive interval (whole seconds).
    keepalive_interval_seconds: int | None = None

    def request(self) -> dict[str, Any]:
        """Keyword arguments of PulpClient.dispatch (unset options left out)."""
        values = {
            "run_sequentially": self.run_sequentially,
            "duration_minutes": self.duration_minutes,
            "heartbeat_interval_seconds": self.heartbeat_interval_seconds,
            "notify_interval_seconds": self.notify_interval_seconds,
            "stop_on_disconnect": self.stop_on_disconnect,
            "keepalive_interval_seconds": self.keepalive_interval_seconds,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass
class Dispatched:
    """A dispatch the server accepted. `save_error`: why the run could not be written
    to the history (its tasks run anyway; `run` still names them)."""

    run: Run
    response: DispatchResponse
    save_error: str | None = None


@dataclass
class RunNotSaved(MonitorEvent):
    """Finished results could not be written to the run history."""

    run_id: str
    error: str


@dataclass
class CancelOutcome:
    test_name: str
    task_id: str
    task_href: str
    state: str | None
    canceled: bool  # False: the task had already finished (nothing to cancel)


def stored_snapshots(run: Run) -> list[TaskSnapshot]:
    """The run's tasks as the history holds them (final ones filled in, a task recorded
    as gone marked missing); the others empty until a poll."""
    from rds_tui.models import Task

    snapshots = snapshots_for(run.tasks)
    for snapshot in snapshots:
        stored = run.final.get(snapshot.task_href)
        if stored is None:
            continue
        snapshot.missing = stored.get("state") == MISSING_STATE
        snapshot.task = Task.model_validate(stored)
    return snapshots


def render_report(
    run: Run, tasks: list[dict[str, Any]], fmt: str, profile: Profile | None = None
) -> str:
    """The report text (rds_tui.report's formats); nothing that looks like a secret.
    The profile (the instance's AWS names, its cutoff) fills in Collect next."""
    from rds_tui import report

    # No task known yet (a monitor before its first poll): the history's results.
    return report.render(run, without_secrets(tasks or run.task_results()), fmt, profile)


def report_profile(run: Run, name: str | None = None) -> Profile | None:
    """The instance profile a report on `run` uses for its AWS names: `name`, else the
    run's own profile, else a saved profile of the same server; None when there is none."""
    from rds_tui.credentials import Server, matching_profile
    from rds_tui.profiles import ProfileError, ProfileStore

    store = ProfileStore()
    for candidate in (name, run.profile):
        if candidate:
            try:
                return store.get(candidate)
            except ProfileError:
                continue
    try:
        return matching_profile(store, Server.of(run))
    except ProfileError:
        return None


def write_report(text: str, path: Path) -> Path:
    """Write a report to `path` atomically (a reader never sees half a file), with the
    permissions the user's umask gives new files; returns the absolute path."""
    path = path.expanduser()
    if path.is_dir():
        raise ExportError(f"{path} is a directory; give a file name")
    if not path.parent.is_dir():
        raise ExportError(f"directory {path.parent} does not exist")
    try:
        atomic_write_bytes(path, text.encode("utf-8"), mode=umask_file_mode())
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path.resolve()


class MetricsNotMerged(RunError):
    """A metrics document was refused; str() says why. The run file is untouched."""


def _server_timing(response: Any, catalog: Catalog | None) -> dict[str, Any]:
    """The run's clock as the server stated it: the 202 first, else its catalog."""
    timing: dict[str, Any] = {}
    for key in SERVER_TIMING_KEYS:
        value = getattr(response, key, None)
        if value is None and catalog is not None:
            value = getattr(catalog, key, None)
        timing[key] = value
    return timing


class RunService:
    """Runs in one history (`store`), on servers reached through the clients given."""

    def __init__(self, store: RunStore | None = None) -> None:
        self.store = store if store is not None else RunStore()

    # Dispatch + record -------------------------------------------------------------

    async def dispatch(
        self,
        client: PulpClient,
        tests: Sequence[str],
        options: DispatchOptions,
        *,
        profile_name: str | None,
        poll_interval: float,
        catalog: Catalog | None = None,
    ) -> Dispatched:
        """POST the dispatch, then write the run before anything else. ApiError when the
        server refuses (nothing recorded: nothing runs)."""
        response = await client.dispatch(list(tests), **options.request())
        recorded = {
            "duration_minutes": response.duration_minutes
            if response.duration_minutes is not None
            else options.duration_minutes,
            "run_sequentially": response.run_sequentially
            if response.run_sequentially is not None
            else options.run_sequentially,
            **_server_timing(response, catalog),
            "heartbeat_interval_seconds": options.heartbeat_interval_seconds,
            "notify_interval_seconds": options.notify_interval_seconds,
            "keepalive_interval_seconds": options.keepalive_interval_seconds,
            "stop_on_disconnect": options.stop_on_disconnect,
            "poll_interval": poll_interval,
        }
        run = Run(
            profile=profile_name,
            api_root=client.base_url,
            api_prefix=client.api_prefix,
            domain=client.domain,
            tests=list(tests),
            options=recorded,
            correlation_id=client.correlation_id,
            kind=getattr(client, "kind", "pulp"),
            tasks=[
                RunTask(test_name=task.test_name, task_id=task.task_id, task_href=task.task_href)
                for task in response.tasks
            ],
        )
        try:
            self.store.create(run)
        except (RunError, OSError) as exc:
            return Dispatched(run, response, save_error=str(exc))
        return Dispatched(run, response)

    # Re-attach, monitor, record finished -------------------------------------------

    def monitor(self, client: PulpClient, run: Run, interval: float) -> RunMonitor:
        """A monitor of the run (re-attach): its snapshots start from the history, and
        tasks already final there are not polled again."""
        return RunMonitor(client, run, interval=interval)

    def record_finished(self, run: Run, snapshot: TaskSnapshot) -> bool:
        """Store a final task's JSON with the run and save it; True when something new
        was saved. Raises RunError when the history cannot be written."""
        if not run.record_task(snapshot.as_dict()):
            return False
        self.save(run)
        return True

    async def watch(
        self,
        monitor: RunMonitor,
        run: Run,
        on_event: Callable[[MonitorEvent], Awaitable[None] | None],
    ) -> list[TaskSnapshot]:
        """Poll to the end, saving each task's result as it finishes (RunNotSaved when
        that fails), then passing every event on. ApiError: a failure that is not
        transient (the monitor retries the others)."""

        async def emit(event: MonitorEvent) -> None:
            outcome = on_event(event)
            if inspect.isawaitable(outcome):
                await outcome

        async def handle(event: MonitorEvent) -> None:
            if isinstance(event, TaskFinished):
                try:
                    self.record_finished(run, event.snapshot)
                except RunError as exc:
                    await emit(RunNotSaved(run.id, str(exc)))
            await emit(event)

        return await monitor.run(handle)

    # Cancel ------------------------------------------------------------------------

    async def cancel(
        self, client: PulpClient, run: Run, tasks: Sequence[RunTask] | None = None
    ) -> AsyncIterator[CancelOutcome]:
        """Ask the server to cancel each task (all the run's by default), yielding one
        outcome per task. A task final in the history, or answered 409, had already
        finished. Raises ApiError on the first other failure."""
        from rds_tui.api import Conflict

        for task in run.tasks if tasks is None else tasks:
            stored = run.final.get(task.task_href)
            if stored is not None:
                state, canceled = stored.get("state"), False
            else:
                try:
                    state, canceled = (await client.cancel(task.task_href)).state, True
                except Conflict:
                    state, canceled = (await client.task(task.task_href)).state, False
            yield CancelOutcome(task.test_name, task.task_id, task.task_href, state, canceled)

    # Refresh -----------------------------------------------------------------------

    async def refresh(self, client: PulpClient, run: Run) -> list[dict[str, Any]]:
        """Re-read the run's unfinished tasks (one request) and record those now final
        (a task the server no longer has is recorded as missing). Returns the JSON of
        the still-unfinished ones. Saving is `save`'s job."""
        from rds_tui.models import missing_task_document, task_id_from_href

        pending = run.pending_tasks()
        if not pending:
            return []
        current = []
        returned_ids = set()
        for task in await client.tasks([task.task_href for task in pending]):
            returned_ids.add(task.task_id)
            document = task.model_dump(mode="json", exclude_none=True)
            if not run.record_task(document):
                current.append(document)
        for task in pending:
            if task_id_from_href(task.task_href) not in returned_ids:
                run.record_task(missing_task_document(task.task_href))
        return current

    async def stop_direct(self, client: DirectClient, run: Run) -> None:
        """End a direct run before its time (it lives only as long as this process):
        every probe closes its connection and hands back what it measured so far, and
        the run records those as canceled tasks with their partial results. RunError
        when the history cannot be written."""
        await client.stop()
        await self.refresh(client, run)
        self.save(run)

    def save(self, run: Run) -> None:
        """Write the run; RunError when the history cannot be written."""
        try:
            self.store.save(run)
        except OSError as exc:
            raise RunError(
                f"could not save run {run.id} to {self.store.directory}: {exc}"
            ) from None

    # Export ------------------------------------------------------------------------

    def merge_metrics(self, run: Run, document: Any) -> list[MetricSeries]:
        """Store what `aws cloudwatch get-metric-data` printed with the run, once it is
        known to be RDS Proxy metrics over the run's time. MetricsNotMerged otherwise,
        and the run file is left as it was."""
        from rds_tui.report.collect import MetricsError, parse_metric_data, run_window, spans_of

        try:
            series = parse_metric_data(document)
        except MetricsError as exc:
            raise MetricsNotMerged(str(exc)) from None
        window = run_window(spans_of(run.task_results()))
        moments = [moment for s in series for moment, _ in s.points]
        if window is not None and moments:
            first, last = min(moments), max(moments)
            if last < window.start or first > window.end:
                raise MetricsNotMerged(
                    f"these metrics cover {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC, "
                    f"but run {run.id} ran from {window.start_text} to {window.end_text}: run "
                    "the get-metric-data command of this run's report (Collect next)"
                )
        if window is not None and not moments:
            raise MetricsNotMerged("these metrics hold no data points")
        previous = run.metrics
        run.metrics = document
        try:
            self.save(run)
        except RunError:
            run.metrics = previous
            raise
        return series

    def export(
        self,
        run: Run,
        tasks: list[dict[str, Any]],
        fmt: str,
        path: Path,
        profile: Profile | None = None,
    ) -> Path:
        """Write the report to `path` atomically (a reader never sees half a file), with
        the permissions the user's umask gives new files; returns the absolute path."""
        return write_report(render_report(run, tasks, fmt, profile), path)

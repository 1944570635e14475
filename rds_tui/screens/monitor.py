"""Monitor: the tasks of one run, live. The heart of the dashboard.

Polling runs in a worker through rds_tui.monitor.RunMonitor (one request per poll
for the whole run); timers tick locally every second in between. Finished tasks are
written to the run history as they finish, so closing the app loses nothing and a
re-attach (History, Enter) continues where this left off.

A direct run's probes live in this process: the monitor watches and cancels them
through the client the app keeps (app.direct_runs), and a direct run whose process is
gone (another dashboard, or one closed) shows its stored results and says so.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from rds_tui.credentials import SOURCE_NONE
from rds_tui.outcome import RunTiming
from rds_tui.profiles import Profile
from rds_tui.runs import Run
from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.errors import ShowsWorkerErrors, describe_error, notify_error
from rds_tui.service.runs import RunNotSaved, stored_snapshots
from rds_tui.widgets.run_header import RunHeader
from rds_tui.widgets.task_table import TaskRow, TaskTable, build_row, short_label

if TYPE_CHECKING:
    from rds_tui.app import LiveDirectRun, RdsTuiApp
    from rds_tui.monitor import MonitorEvent, RunMonitor, TaskSnapshot

# A direct run not started by this dashboard: its probes died with their process.
PROCESS_GONE = (
    "This direct run's probes ran in another rds-tui process, which has ended (or is "
    "another dashboard): nothing here can watch them. Shown: the results it recorded."
)


def connection_for_run(app: RdsTuiApp, run: Run) -> tuple[Profile, str, list[str]]:
    """How to reach the run's server (rds_tui.credentials: the run's profile, else a saved
    profile for the same server, else PULP_*): a profile to build clients from, where
    its credentials came from, and warnings to show."""
    from rds_tui.credentials import CredentialError, ResolvedConnection, Server, resolve

    try:
        resolved = resolve(run=run, profiles=app.profiles)
    except CredentialError as exc:
        server = Server.of(run)
        resolved = ResolvedConnection(
            server.api_root,
            server.api_prefix,
            server.domain,
            notes=[f"{exc}; watching without credentials"],
        )
    return resolved.as_profile(), resolved.source, resolved.notes


class MonitorScreen(ShowsWorkerErrors, Screen):
    """One run's tasks with their timers, connection status and activity."""

    app: RdsTuiApp

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "detail", "Detail", priority=True),
        Binding("c", "cancel_task", "Cancel task"),
        Binding("C", "cancel_run", "Cancel all", key_display="C"),
        Binding("p", "poll_now", "Poll now", show=False),
        Binding("g", "diagnosis", "Diagnosis"),
        Binding("x", "export", "Export"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, run: Run, profile: Profile | None = None) -> None:
        super().__init__()
        self.run_record = run
        self.profile = profile
        # Where the credentials come from (rds_tui.credentials), and what to warn about.
        self.credential_source = f"profile {profile.name}" if profile is not None else None
        self.credential_notes: list[str] = []
        self.snapshots: list[TaskSnapshot] = []
        self.death_details: dict[str, str] = {}
        # What the current poll brought, alerted together once it is processed.
        self._deaths: list[str] = []
        self._endings: list[str] = []
        self.monitor: RunMonitor | None = None
        self.live: LiveDirectRun | None = None

    @property
    def is_direct(self) -> bool:
        return self.run_record.kind == "direct"

    @property
    def instance_name(self) -> str:
        if self.profile is not None:
            return self.profile.name
        return self.run_record.profile or "direct run"

    def compose(self) -> ComposeResult:
        if self.is_direct:
            # The live run's own record: the app stops and saves that one on quit.
            self.live = self.app.live_direct_run(self.run_record.id)
            if self.live is not None:
                self.run_record = self.live.run
            if self.profile is None:
                self.profile = self._stored_profile()
            self.credential_source = "this process (direct run)"
        elif self.profile is None:
            self.profile, self.credential_source, self.credential_notes = connection_for_run(
                self.app, self.run_record
            )
        # Set before the Header mounts (a change while it unmounts would crash it).
        self.sub_title = f"{self.instance_name} ({self.run_record.api_root})"
        yield Header()
        yield RunHeader(
            self.instance_name, self.run_record.api_root, self.run_record.id, id="run-header"
        )
        yield TaskTable(self.app.clock.monotonic, id="task-table")
        # Plain text: the summary quotes what the server and the database said.
        yield Static("", id="task-summary", classes="hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        # Kept as attributes: workers may still report while the screen is torn down.
        self.table = self.query_one(TaskTable)
        self.header = self.query_one(RunHeader)
        self.summary = self.query_one("#task-summary", Static)
        self.timing = RunTiming.from_run(self.run_record, self.profile)
        self.interval = self.app.poll_interval_for(self.profile)
        self.header.task_count = len(self.run_record.tasks)
        self.header.interval = self.interval
        self.header.planned = self.timing.planned_seconds
        self.header.cutoff = self.timing.idle_cutoff_seconds
        self.snapshots = stored_snapshots(self.run_record)
        self._refresh_rows()
        self._announce_credentials()
        if self.run_record.finished:
            self.header.finished = True
        elif self.is_direct and self.live is None:
            self.header.poll_error = PROCESS_GONE
            self.notify(PROCESS_GONE, severity="warning", timeout=15, markup=False)
        else:
            self._watch()
        self._tick()
        self.set_interval(1.0, self._tick)

    def _stored_profile(self) -> Profile | None:
        from rds_tui.profiles import ProfileError

        if not self.run_record.profile:
            return None
        try:
            return self.app.profiles.get(self.run_record.profile)
        except ProfileError:
            return None

    def _client(self) -> Any:
        """An async context manager giving the run's client: a direct run's live one
        (left open: leaving it would stop the probes), else a new one for the server."""
        if self.live is not None:
            return contextlib.nullcontext(self.live.client)
        return self.app.client_factory(self.profile)

    def _announce_credentials(self) -> None:
        """Say where the credentials come from, unless they are the run's own profile's
        (the header names it)."""
        if self.is_direct:
            return  # no server, no credentials of the dashboard's
        for note in self.credential_notes:
            self.notify(note, severity="warning", timeout=10, markup=False)
        source = self.credential_source
        if source != f"profile {self.run_record.profile}":
            severity = "warning" if source == SOURCE_NONE else "information"
            self.notify(f"Credentials: {source}", severity=severity, timeout=10, markup=False)

    # Timers and rows -----------------------------------------------------------------

    def _tick(self) -> None:
        self.table.tick()
        self.header.redraw(self.app.clock.monotonic())

    def _refresh_rows(self) -> None:
        clock = self.app.clock
        skew = self.monitor.clock_skew_seconds if self.monitor is not None else None
        wall, mono = clock.wall(), clock.monotonic()
        rows = [
            build_row(
                snapshot,
                self.timing,
                wall_now=wall,
                monotonic_now=mono,
                skew_seconds=skew,
                previous=self.table.rows_by_key.get(snapshot.task_href),
            )
            for snapshot in self.snapshots
        ]
        self.table.set_rows(rows)
        self._show_summary()

    def _show_summary(self) -> None:
        row = self.table.selected_row
        counts: dict[str, int] = {}
        for snapshot in self.snapshots:
            counts[snapshot.state] = counts.get(snapshot.state, 0) + 1
        states = ", ".join(f"{count} {state}" for state, count in counts.items())
        dead = sum(1 for r in self.table.rows_by_key.values() if r.died)
        line = f"{states}; {dead} connection(s) dead"
        if row is not None:
            line += "\n" + row.reason_line()
        self.summary.update(line)

    @on(TaskTable.Highlighted)
    def _row_highlighted(self) -> None:
        self._show_summary()

    @on(TaskTable.Selected)
    def _row_selected(self) -> None:
        self.action_detail()

    # Polling ------------------------------------------------------------------------

    @work(exclusive=True, group="monitor", exit_on_error=False)
    async def _watch(self) -> None:
        from rds_tui.api_errors import ApiError

        self.header.watching = True
        service = self.app.service
        try:
            async with self._client() as client:
                # Re-attach: tasks already final in the history are not polled again.
                monitor = service.monitor(client, self.run_record, self.interval)
                self.snapshots = monitor.snapshots
                self.monitor = monitor
                await service.watch(monitor, self.run_record, self._on_event)
        except ApiError as exc:
            # Not transient (e.g. 401): polling stops; the message says what to fix.
            self.header.poll_error = f"{describe_error(exc)} Polling stopped; press p to retry."
            self.header.retry_in = None
            self._tick()
            self.app.alert(describe_error(exc), title="Monitoring stopped", severity="error")

    async def _on_event(self, event: MonitorEvent) -> None:
        from rds_tui import monitor as m

        clock = self.app.clock
        if isinstance(event, m.Polled):
            self.header.last_success_monotonic = clock.monotonic()
            self.header.poll_error = None
            self._refresh_rows()
            self._tick()
            self._alert_poll_events()
        elif isinstance(event, m.PollFailed):
            self.header.poll_error = str(event.error)
            self.header.retry_in = event.retry_in
            self._tick()
        elif isinstance(event, m.PollRecovered):
            self.notify(f"Server answering again after {event.outage_seconds:.0f} s.", markup=False)
        elif isinstance(event, m.ConnectionDied):
            href = event.snapshot.task_href
            # A restarted watch (p) reports the deaths it finds again: alert each once.
            if href not in self.death_details:
                self._deaths.append(f"{short_label(event.snapshot.test_name)}: {event.detail}")
            self.death_details[href] = event.detail
        elif isinstance(event, RunNotSaved):
            notify_error(self, f"Could not save the run history: {event.error}")
        elif isinstance(event, m.TaskFinished):
            if event.snapshot.task_href not in self.death_details or not (event.snapshot.succeeded):
                # A probe that stops on its disconnect ends right after: one alert is enough.
                label = short_label(event.snapshot.test_name)
                self._endings.append(f"{label} ended: {event.snapshot.state}")
        elif isinstance(event, m.AllFinished):
            self.header.finished = True
            self._refresh_rows()
            self._tick()
            self.app.alert(
                "Every task of the run has finished. Press g for the diagnosis, x to export.",
                title=f"Run {self.run_record.id} finished",
            )

    def _alert_poll_events(self) -> None:
        """One alert per kind per poll: seven probes dying together make one toast."""
        for lines, one, several, severity in (
            (self._deaths, "Connection died", "connections died", "warning"),
            (self._endings, "Task finished", "tasks finished", "information"),
        ):
            if lines:
                title = one if len(lines) == 1 else f"{len(lines)} {several}"
                self.app.alert("\n".join(lines), title=title, severity=severity)
                lines.clear()

    def action_poll_now(self) -> None:
        if self.is_direct and self.live is None:
            self.notify(PROCESS_GONE, severity="warning", timeout=15, markup=False)
            return
        if not self.run_record.finished:
            self.header.poll_error = None
            self._watch()

    # Actions ------------------------------------------------------------------------

    def snapshot_for(self, row: TaskRow | None) -> TaskSnapshot | None:
        if row is None:
            return None
        return next((s for s in self.snapshots if s.task_href == row.key), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cancel_task", "cancel_run"):
            if self.app.read_only:
                return False
            gone = self.is_direct and self.live is None
            return None if self.run_record.finished or gone else True
        if action in ("diagnosis", "export"):
            return True if self.run_record.final else None
        return True

    def action_detail(self) -> None:
        snapshot = self.snapshot_for(self.table.selected_row)
        if snapshot is None:
            return
        from rds_tui.screens.detail import DetailScreen

        self.app.push_screen(
            DetailScreen(snapshot.as_dict(), self.table.rows_by_key.get(snapshot.task_href))
        )

    def action_cancel_task(self) -> None:
        snapshot = self.snapshot_for(self.table.selected_row)
        if snapshot is None or self.app.read_only:
            return
        if snapshot.is_final:
            self.notify(
                f"{short_label(snapshot.test_name)} already ended ({snapshot.state}).", markup=False
            )
            return
        self._confirm_cancel([snapshot])

    def action_cancel_run(self) -> None:
        if self.app.read_only:
            return
        pending = [s for s in self.snapshots if not s.is_final]
        if not pending:
            self.notify("Every task of this run has already ended.", markup=False)
            return
        self._confirm_cancel(pending)

    def _confirm_cancel(self, snapshots: list[TaskSnapshot]) -> None:
        names = "\n".join(f"  • {short_label(s.test_name)} ({s.state})" for s in snapshots)
        where = f"{self.instance_name} ({self.run_record.api_root})"
        if self.is_direct:
            message = (
                f"Stop {len(snapshots)} probe(s) running from this machine against {where}?"
                f"\n{names}\n\nA stopped probe closes its connection; the run keeps what it "
                "measured so far, marked partial."
            )
        else:
            message = (
                f"Cancel {len(snapshots)} task(s) on {where}?\n{names}\n\nA canceled probe "
                "closes its connection; its result is lost."
            )

        def answered(yes: bool | None) -> None:
            if yes:
                self._cancel([s.task_href for s in snapshots])

        self.app.push_screen(
            ConfirmScreen("Cancel tasks", message, "Cancel tasks", danger=True), answered
        )

    @work(group="cancel", exit_on_error=False)
    async def _cancel(self, hrefs: list[str]) -> None:
        from rds_tui.api_errors import ApiError

        tasks = [task for task in self.run_record.tasks if task.task_href in hrefs]
        requested = 0
        try:
            async with self._client() as client:
                async for outcome in self.app.service.cancel(client, self.run_record, tasks):
                    requested += outcome.canceled  # else it ended meanwhile: nothing to do
        except ApiError as exc:
            notify_error(self, exc, "Cancel failed")
        else:
            done = (
                f"Stopped {requested} probe(s); each closed its connection."
                if self.is_direct
                else f"Asked the server to cancel {requested} task(s)."
            )
            self.notify(done, markup=False)
        self.action_poll_now()

    def task_dicts(self) -> list[dict[str, Any]]:
        return [
            snapshot.as_dict()
            for snapshot in self.snapshots
            if snapshot.task is not None or snapshot.missing
        ]

    def action_diagnosis(self) -> None:
        from rds_tui.screens.diagnosis import DiagnosisScreen

        self.app.push_screen(DiagnosisScreen(self.run_record, self.task_dicts()))

    def action_export(self) -> None:
        from rds_tui.screens.export import ExportScreen

        self.app.push_screen(ExportScreen(self.run_record, self.task_dicts()))

    def action_back(self) -> None:
        if self.live is not None and not self.run_record.finished:
            self.notify(
                f"Stopped watching run {self.run_record.id}; its probes keep running in this "
                "process until you quit. Re-attach from History (h).",
                markup=False,
            )
        elif not self.run_record.finished and not self.is_direct:
            self.notify(
                f"Stopped watching run {self.run_record.id}; its tasks keep running. "
                "Re-attach from History (h).",
                markup=False,
            )
        self.app.pop_screen()

"""The Textual dashboard: `rds-tui` with no subcommand.

The App holds what every screen shares (the profile and run stores, how to build a
PulpClient for a profile, the clock, read-only mode, the bell switch) and starts on
the Instances screen, or on the test picker with `--profile NAME`. Screens talk to
the client core (profiles, runs, api, monitor, report), never to HTTP themselves.

A direct run (probes in this process against a PostgreSQL DSN) lives as long as the
dashboard: the App keeps the live DirectClient of each one it started, the monitor
watches and cancels through it, and quitting while one is active asks first, then
stops its probes and records what they measured as partial results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from rds_tui.constants import DASHBOARD_POLL_INTERVAL_SECONDS, DIRECT_POLL_INTERVAL_SECONDS
from rds_tui.credentials import plain_http_auth_warning
from rds_tui.palette import DashboardCommands
from rds_tui.widgets.clock import Clock

if TYPE_CHECKING:
    from rds_tui.api import PulpClient
    from rds_tui.direct.engine import DirectClient
    from rds_tui.profiles import Profile, ProfileStore
    from rds_tui.runs import Run, RunStore
    from rds_tui.service.runs import RunService

QUIT_QUESTION = (
    "{count} probe(s) are still running in this process. Quitting stops them: each "
    "closes its connection, and the run keeps what they measured so far, marked partial."
)


def default_client_factory(profile: Profile) -> PulpClient:
    from rds_tui.api import PulpClient

    return PulpClient.from_profile(profile)


def default_direct_factory(profile: Profile) -> DirectClient:
    """A DirectClient for a direct profile: its DSN and credentials (resolve_target) and
    its clock. DirectUnavailable (how to install) or DsnError (what to fix) otherwise."""
    from rds_tui.direct.dsn import resolve_target
    from rds_tui.direct.engine import DirectClient, DirectSettings, require_direct

    require_direct()
    return DirectClient(resolve_target(profile=profile), DirectSettings.of(profile))


@dataclass
class LiveDirectRun:
    """A direct run started by this dashboard, and the client its probes live in."""

    run: Run
    client: DirectClient

    async def active_probes(self) -> int:
        """How many of the run's probes are still running or waiting to run."""
        tasks = await self.client.tasks([task.task_href for task in self.run.tasks])
        return sum(1 for task in tasks if not task.is_final)


class RdsTuiApp(App[int]):
    """Launch, watch and read RDS Proxy connection probes in a Pulp deployment."""

    # Absolute, so that subclasses defined elsewhere (tests, benchmarks) find it too.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "rds-tui"
    COMMANDS = App.COMMANDS | {DashboardCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("h", "history", "History", tooltip="Show past and unfinished runs"),
        Binding("b", "toggle_bell", "Bell", show=False, tooltip="Toggle the terminal bell"),
    ]

    def __init__(
        self,
        *,
        profile_name: str | None = None,
        read_only: bool = False,
        profile_store: ProfileStore | None = None,
        run_store: RunStore | None = None,
        client_factory: Callable[[Profile], Any] | None = None,
        direct_factory: Callable[[Profile], Any] | None = None,
        clock: Clock | None = None,
        bell: bool = False,
        default_poll_interval: float = DASHBOARD_POLL_INTERVAL_SECONDS,
    ) -> None:
        super().__init__()
        self.start_profile = profile_name
        self.read_only = read_only
        self._profile_store = profile_store
        self._run_store = run_store
        self._make_client = client_factory or default_client_factory
        self._make_direct = direct_factory or default_direct_factory
        # Run id -> the direct runs this dashboard started (their probes live here).
        self.direct_runs: dict[str, LiveDirectRun] = {}
        self.clock = clock or Clock()
        self.bell_enabled = bell
        self.default_poll_interval = default_poll_interval
        if read_only:
            self.sub_title = "read-only: watching and history"

    # Shared services (created on first use so that a broken file shows in a screen) --

    @property
    def profiles(self) -> ProfileStore:
        if self._profile_store is None:
            from rds_tui.profiles import ProfileStore

            self._profile_store = ProfileStore()
        return self._profile_store

    @property
    def runs(self) -> RunStore:
        if self._run_store is None:
            from rds_tui.runs import RunStore

            self._run_store = RunStore()
        return self._run_store

    @property
    def service(self) -> RunService:
        """The run service on this dashboard's history (dispatch, watch, cancel, export)."""
        from rds_tui.service.runs import RunService

        return RunService(self.runs)

    def client_factory(self, profile: Profile) -> Any:
        """A client for `profile`; the first time a password would go to a server over
        http:// (not this machine), a warning says so."""
        warning = plain_http_auth_warning(profile.api_root, profile.username)
        if warning:
            self.notify(
                warning[0].upper() + warning[1:] + ".",
                title="Unencrypted password",
                severity="warning",
                timeout=20,
                markup=False,
            )
        return self._make_client(profile)

    def direct_client(self, profile: Profile) -> DirectClient:
        """A new DirectClient for a direct profile (not started: dispatch starts it).
        DirectUnavailable or DsnError (both worded for the user) when it cannot be."""
        return self._make_direct(profile)

    def keep_direct_run(self, run: Run, client: DirectClient) -> None:
        """Keep a dispatched direct run's client for as long as the dashboard runs."""
        self.direct_runs[run.id] = LiveDirectRun(run, client)

    def live_direct_run(self, run_id: str) -> LiveDirectRun | None:
        return self.direct_runs.get(run_id)

    def active_direct_runs(self) -> list[LiveDirectRun]:
        return [live for live in self.direct_runs.values() if live.client.active]

    async def stop_direct_runs(self) -> list[str]:
        """Stop every live direct run: each probe closes its connection, and each run
        records its partial results. Returns the errors (history not writable)."""
        from rds_tui.runs import RunError

        errors = []
        for live in list(self.direct_runs.values()):
            try:
                await self.service.stop_direct(live.client, live.run)
            except RunError as exc:
                errors.append(str(exc))
        self.direct_runs.clear()
        return errors

    def poll_interval_for(self, profile: Profile | None) -> float:
        if profile is not None and profile.kind == "direct":
            return DIRECT_POLL_INTERVAL_SECONDS
        if profile is not None and profile.poll_interval:
            return float(profile.poll_interval)
        return self.default_poll_interval

    # Start-up ------------------------------------------------------------------------

    def on_mount(self) -> None:
        from rds_tui.screens.instances import InstancesScreen

        self.push_screen(InstancesScreen())
        if self.start_profile:
            self._open_start_profile(self.start_profile)
        # After the first frame: reading the history must not delay the first screen.
        self.call_after_refresh(self._announce_unfinished_runs)

    def _open_start_profile(self, name: str) -> None:
        from rds_tui.profiles import ProfileError

        try:
            profile = self.profiles.get(name)
        except ProfileError as exc:
            self.notify(str(exc), title="Profile", severity="error", timeout=15, markup=False)
            return
        if self.read_only:
            self.action_history()
        else:
            from rds_tui.screens.picker import PickerScreen

            self.push_screen(PickerScreen(profile))

    def _announce_unfinished_runs(self) -> None:
        try:
            unfinished = self.runs.unfinished()
        except (OSError, ValueError) as exc:  # a broken history must not stop the dashboard
            self.notify(
                f"Run history unreadable: {exc}", severity="error", timeout=15, markup=False
            )
            return
        # A direct run's probes died with the process that ran them: not re-attachable.
        unfinished = [run for run in unfinished if run.kind != "direct"]
        if unfinished:
            newest = unfinished[0]
            self.notify(
                f"{len(unfinished)} unfinished run(s), newest {newest.id}. "
                "Press h (History) and Enter to re-attach.",
                title="Unfinished runs",
                timeout=12,
                markup=False,
            )

    # Actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A dialog must be answered first.
        return not (action == "history" and isinstance(self.screen, ModalScreen))

    async def action_quit(self) -> None:
        """q, ctrl+q and the palette's Quit: with direct probes still running in this
        process, ask first (quitting stops them)."""
        await self._quit_asking_first()

    async def action_help_quit(self) -> None:
        # ctrl+c: with direct probes running, the same question as quitting; otherwise
        # Textual's hint (ctrl+c copies in an input).
        if self.active_direct_runs():
            await self._quit_asking_first()
        else:
            super().action_help_quit()

    async def _quit_asking_first(self) -> None:
        active = self.active_direct_runs()
        if not active:
            self.exit()
            return
        from rds_tui.screens.confirm import ConfirmScreen

        if isinstance(self.screen, ConfirmScreen) and self.screen.title_text == "Quit":
            return  # already asking
        count = sum([await live.active_probes() for live in active])

        def answered(yes: bool | None) -> None:
            if yes:
                self._stop_and_exit()

        self.push_screen(
            ConfirmScreen("Quit", QUIT_QUESTION.format(count=count), "Quit", danger=True),
            answered,
        )

    @work(exclusive=True, group="quit", exit_on_error=False)
    async def _stop_and_exit(self) -> None:
        self.notify("Stopping the probes ...", markup=False)
        errors = await self.stop_direct_runs()
        self.exit(1 if errors else 0, message="\n".join(errors) or None)

    def action_history(self) -> None:
        from rds_tui.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def action_toggle_bell(self) -> None:
        self.bell_enabled = not self.bell_enabled
        self.notify(f"Terminal bell {'on' if self.bell_enabled else 'off'}", markup=False)

    def alert(self, message: str, *, title: str = "", severity: str = "information") -> None:
        """A notification for an event worth looking up for; rings the bell if enabled.
        `message` is shown as plain text (it may quote the server)."""
        self.notify(message, title=title, severity=severity, timeout=10, markup=False)  # type: ignore[arg-type]
        if self.bell_enabled:
            self.bell()


def run_dashboard(profile_name: str | None = None, read_only: bool = False) -> int:
    """Run the dashboard in the terminal; returns the process exit code."""
    app = RdsTuiApp(profile_name=profile_name, read_only=read_only)
    result = app.run()
    if app.direct_runs:
        # Closed without the question (the terminal went away): the probes still stop
        # and their runs keep the partial results.
        import asyncio

        asyncio.run(app.stop_direct_runs())
    return result if isinstance(result, int) else 0

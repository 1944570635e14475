"""Test picker: choose tests, duration and options for one instance, confirm, dispatch.

The catalog comes from the server (GET is open, no credentials needed); when the
server cannot be asked, the built-in catalog is shown and marked offline, so an
operator can still prepare a run. The confirmation names the instance and how many
workers will be busy for how long: these are production systems.

A direct instance (a PostgreSQL DSN, no Pulp) has no server to ask: the picker shows
the built-in catalog, and the confirmation says the probes run from this machine and
live as long as the dashboard.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Checkbox,
    Collapsible,
    Footer,
    Header,
    Input,
    Label,
    SelectionList,
    Static,
    Switch,
)
from textual.widgets.selection_list import Selection

from rds_tui.constants import (
    DEFAULT_DURATION_MINUTES,
    DEFAULT_TIME_UNIT_SECONDS,
    MAX_DURATION_MINUTES,
    MIN_DURATION_MINUTES,
    PRODUCTION_CUTOFF_SECONDS,
)
from rds_tui.models import Catalog, TestInfo
from rds_tui.profiles import Profile
from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.errors import ShowsWorkerErrors, notify_error
from rds_tui.widgets.timer_bar import format_clock

if TYPE_CHECKING:
    from rds_tui.app import RdsTuiApp


def describe_test(info: TestInfo) -> Text:
    """The side panel for the highlighted test: what it does, what to expect."""
    text = Text()
    text.append(f"{info.title or info.name}\n", "bold")
    text.append(f"{info.name}\n\n", "dim")
    if info.description:
        text.append(f"{info.description}\n\n")
    if info.tells_you:
        text.append("Tells you: ", "bold")
        text.append(f"{info.tells_you}\n\n")
    if info.expected_outcome:
        text.append("Expected: ", "bold")
        text.append(f"{info.expected_outcome}\n\n")
    if info.pinned_by_rds_proxy is not None:
        pinned = "yes" if info.pinned_by_rds_proxy else "no"
        text.append("Pinned by RDS Proxy: ", "bold")
        text.append(pinned)
    return text


def workload_sentence(instance: str, count: int, duration_seconds: float, sequential: bool) -> str:
    """How many workers are busy for how long, in words (for the confirmation)."""
    length = format_clock(duration_seconds)
    if sequential:
        total = format_clock(duration_seconds * count)
        return (
            f"1 worker of {instance} will be busy for about {total} "
            f"({count} test(s) one after another, {length} each)."
        )
    return f"{count} worker(s) of {instance} will be busy at the same time for about {length}."


class PickerScreen(ShowsWorkerErrors, Screen):
    """Choose what to run on one instance."""

    app: RdsTuiApp

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "dispatch", "Run", tooltip="Dispatch the selected tests (asks first)"),
        Binding("a", "toggle_all", "All/none"),
        Binding("o", "toggle_advanced", "Options", tooltip="Show or hide advanced options"),
        Binding(
            "f",
            "toggle_fix_patterns",
            "Fix patterns",
            tooltip="Show or hide the fix patterns (tests 8, 9: heartbeat, TCP keepalives)",
            show=False,  # no room in an 80-column footer: the list's title names it
        ),
        Binding("f5", "reload_catalog", "Reload catalog", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        self.profile = profile
        self.catalog: Catalog = Catalog.builtin()
        self.offline_reason: str | None = "not asked yet"
        self.infos: dict[str, TestInfo] = {}
        # The guide's seven by default; `f` adds the fix patterns (tests 8 and 9).
        self.show_fix_patterns = False
        # Why a direct instance's probes cannot start (extra missing, DSN unusable).
        self.direct_problem: str | None = None

    def compose(self) -> ComposeResult:
        # Set before the Header mounts (a change while it unmounts would crash it).
        self.sub_title = f"Pick tests for {self.profile.name} ({self.profile.where()})"
        yield Header()
        # Plain text: the offline reason quotes the server.
        yield Static("", id="catalog-source", classes="hint", markup=False)
        with Horizontal(id="picker-body"):
            tests: SelectionList[str] = SelectionList(id="test-list", classes="panel")
            tests.border_title = "Tests (space toggles)"
            yield tests
            info = VerticalScroll(
                Static("", id="test-description"), id="test-info", classes="panel"
            )
            info.border_title = "About this test"
            info.can_focus = False  # Tab goes from the list straight to the options
            yield info
        with Vertical(id="picker-options"):
            with Horizontal(classes="option-row"):
                yield Label("Duration (min)")
                default = self.profile.default_duration or DEFAULT_DURATION_MINUTES
                yield Input(str(default), id="duration", type="integer", max_length=3)
                yield Label("One after another")
                yield Switch(False, id="sequential")
                yield Static("", id="duration-real", classes="hint")
            with Collapsible(title="Advanced options", id="advanced", collapsed=True):
                with Horizontal(classes="option-row"):
                    yield Label("Heartbeat every (s)")
                    yield Input("", placeholder="default", id="heartbeat", type="number")
                    yield Label("NOTIFY every (s)")
                    yield Input("", placeholder="default", id="notify", type="number")
                    yield Label("Keepalive every (s)")
                    yield Input("", placeholder="default", id="keepalive", type="integer")
                yield Checkbox(
                    "Stop a probe as soon as its connection dies", True, id="stop-on-disconnect"
                )
        yield Footer()

    def on_mount(self) -> None:
        self._show_catalog(self.catalog, offline_reason="loading the server's catalog ...")
        self.query_one("#test-list", SelectionList).focus()
        self.action_reload_catalog()

    # Catalog --------------------------------------------------------------------------

    def action_reload_catalog(self) -> None:
        self._load_catalog()

    @work(exclusive=True, group="catalog", exit_on_error=False)
    async def _load_catalog(self) -> None:
        from rds_tui.api_errors import ApiError
        from rds_tui.screens.errors import describe_error

        if self.profile.kind == "direct":
            self.direct_problem = self._direct_problem()
            self._show_catalog(Catalog.builtin(), offline_reason=None)
            return
        try:
            async with self.app.client_factory(self.profile) as client:
                catalog = await client.catalog()
        except ApiError as exc:
            self._show_catalog(Catalog.builtin(), offline_reason=describe_error(exc))
            return
        self._show_catalog(catalog, offline_reason=None)

    def _direct_problem(self) -> str | None:
        """Said before anything is picked: the direct extra missing (how to install),
        or the DSN or its password unusable (what to fix)."""
        from rds_tui.direct.dsn import DsnError
        from rds_tui.direct.engine import DirectUnavailable

        try:
            self.app.direct_client(self.profile)  # built only: nothing connects yet
        except (DirectUnavailable, DsnError) as exc:
            return str(exc)
        return None

    def _show_catalog(self, catalog: Catalog, offline_reason: str | None) -> None:
        tests = self.query_one("#test-list", SelectionList)
        previously = set(tests.selected) or set(self.profile.default_tests)
        self.catalog = catalog
        self.offline_reason = offline_reason
        shown = catalog.test_infos()
        if self.show_fix_patterns:
            shown += catalog.fix_test_infos()
            tests.border_title = "Tests + fix patterns (f hides them)"
        elif catalog.fix_tests:
            tests.border_title = "Tests (space toggles, f: fix patterns)"
        self.infos = {info.name: info for info in shown}
        tests.clear_options()
        tests.add_options(
            Selection(Text(info.title or info.name), info.name, info.name in previously)
            for info in self.infos.values()
        )
        if tests.option_count:
            tests.highlighted = 0
        source = self.query_one("#catalog-source", Static)
        if offline_reason is None and self.profile.kind == "direct":
            # What matters first: one line, cut at the right on a narrow terminal.
            source.update(
                f"Cannot start: {self.direct_problem}"
                if self.direct_problem
                else f"Direct: probes from this machine (built-in catalog), cutoff "
                f"{format_clock(self.cutoff_seconds)}, against {self.profile.where()}"
            )
            source.set_class(bool(self.direct_problem), "error-message")
        elif offline_reason is None:
            details = [f"catalog from {self.profile.api_root}"]
            if catalog.plugin_version:
                details.append(f"plugin {catalog.plugin_version}")
            details.append(f"cutoff {format_clock(self.cutoff_seconds)}")
            if catalog.enabled is False:
                details.append("TESTS ARE DISABLED on this server")
            source.update(", ".join(details))
            source.set_class(catalog.enabled is False, "error-message")
        else:
            source.update(f"Built-in catalog (OFFLINE: {offline_reason})")
            source.set_class(True, "error-message")
        if self.infos:
            self._describe(next(iter(self.infos)))
        self._update_duration_hint()

    @property
    def time_unit_seconds(self) -> float:
        if self.profile.kind == "direct":  # the profile sets a direct run's clock
            return self.profile.time_unit_seconds
        return self.catalog.time_unit_seconds or DEFAULT_TIME_UNIT_SECONDS

    @property
    def cutoff_seconds(self) -> float:
        if self.profile.expected_cutoff_seconds:
            return float(self.profile.expected_cutoff_seconds)
        if self.profile.kind == "direct":
            from rds_tui.direct.engine import DEFAULT_CUTOFF_UNITS

            return DEFAULT_CUTOFF_UNITS * self.time_unit_seconds
        return self.catalog.expected_cutoff_seconds or PRODUCTION_CUTOFF_SECONDS

    @on(SelectionList.SelectionHighlighted)
    def _highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._describe(event.selection.value)

    def _describe(self, name: str) -> None:
        info = self.infos.get(name)
        if info is not None:
            self.query_one("#test-description", Static).update(describe_test(info))

    # Options --------------------------------------------------------------------------

    @on(Input.Changed, "#duration")
    def _duration_changed(self) -> None:
        self._update_duration_hint()

    def _update_duration_hint(self) -> None:
        minutes = self._duration_minutes()
        hint = self.query_one("#duration-real", Static)
        if minutes is None:
            hint.update(f"{MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES}")
            return
        seconds = minutes * self.time_unit_seconds
        unit = "" if self.time_unit_seconds == 60 else f" (1 min = {self.time_unit_seconds:g} s)"
        hint.update(f"= {format_clock(seconds)}{unit}")

    def _duration_minutes(self) -> int | None:
        try:
            minutes = int(self.query_one("#duration", Input).value)
        except ValueError:
            return None
        return minutes if MIN_DURATION_MINUTES <= minutes <= MAX_DURATION_MINUTES else None

    def _optional_float(self, widget_id: str) -> float | None:
        value = self.query_one(f"#{widget_id}", Input).value.strip()
        return float(value) if value else None

    def dispatch_options(self) -> dict[str, Any]:
        """The run's options as the dispatch request takes them (raises ValueError)."""
        minutes = self._duration_minutes()
        if minutes is None:
            raise ValueError(
                "the duration must be a whole number of minutes from "
                f"{MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES}"
            )
        try:
            heartbeat = self._optional_float("heartbeat")
            notify = self._optional_float("notify")
            keepalive = self._optional_float("keepalive")
        except ValueError:
            raise ValueError(
                "intervals are numbers of seconds (or empty for the default)"
            ) from None
        for label, value in (
            ("heartbeat", heartbeat),
            ("NOTIFY", notify),
            ("keepalive", keepalive),
        ):
            if value is not None and value <= 0:
                raise ValueError(f"the {label} interval must be more than 0 seconds")
        if keepalive is not None and not keepalive.is_integer():
            raise ValueError("the keepalive interval is a whole number of seconds")
        return {
            "duration_minutes": minutes,
            "run_sequentially": self.query_one("#sequential", Switch).value,
            "heartbeat_interval_seconds": heartbeat,
            "notify_interval_seconds": notify,
            "keepalive_interval_seconds": int(keepalive) if keepalive is not None else None,
            "stop_on_disconnect": self.query_one("#stop-on-disconnect", Checkbox).value,
        }

    def action_toggle_all(self) -> None:
        tests = self.query_one("#test-list", SelectionList)
        if len(tests.selected) == len(self.infos):
            tests.deselect_all()
        else:
            tests.select_all()

    def action_toggle_fix_patterns(self) -> None:
        self.show_fix_patterns = not self.show_fix_patterns
        self._show_catalog(self.catalog, self.offline_reason)
        shown = "shown" if self.show_fix_patterns else "hidden"
        self.notify(f"Fix patterns (tests 8, 9) {shown}.", markup=False)

    def action_toggle_advanced(self) -> None:
        advanced = self.query_one("#advanced", Collapsible)
        advanced.collapsed = not advanced.collapsed

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "dispatch" and self.app.read_only)

    # Dispatch -------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_dispatch()

    def action_dispatch(self) -> None:
        if self.app.read_only:
            return
        selected = set(self.query_one("#test-list", SelectionList).selected)
        tests = [name for name in self.infos if name in selected]  # the catalog's order
        if not tests:
            self.notify(
                "Select at least one test (space toggles, a selects all).",
                severity="warning",
                markup=False,
            )
            return
        try:
            options = self.dispatch_options()
        except ValueError as exc:
            self.notify(str(exc), title="Options", severity="error", markup=False)
            return
        duration = options["duration_minutes"] * self.time_unit_seconds
        chosen = [f"  • {self.infos[name].title or name}" for name in tests if name in self.infos]
        if self.profile.kind == "direct":
            title, yes_label = "Run probes against " + self.profile.name, "Start"
            lines = self._direct_question(tests, chosen, options, duration)
        else:
            title, yes_label = "Run tests on " + self.profile.name, "Dispatch"
            lines = self._pulp_question(tests, chosen, options, duration)

        def answered(yes: bool | None) -> None:
            if yes:
                self._dispatch(tests, options)

        self.app.push_screen(ConfirmScreen(title, "\n".join(lines), yes_label), answered)

    def _pulp_question(
        self, tests: list[str], chosen: list[str], options: dict[str, Any], duration: float
    ) -> list[str]:
        """Where the tests go, how many workers they hold for how long: production."""
        workload = workload_sentence(
            self.profile.name, len(tests), duration, options["run_sequentially"]
        )
        lines = [
            f"Dispatch {len(tests)} test(s) to {self.profile.name} ({self.profile.api_root})?",
            "",
            *chosen,
            "",
            workload,
        ]
        if self.offline_reason is not None:
            lines.append("The server's catalog could not be read: the dispatch may fail.")
        max_active = self.catalog.max_active
        if max_active is not None and len(tests) > max_active:
            lines.append(f"The server allows at most {max_active} active test task(s).")
        end = self.app.clock.wall() + timedelta(
            seconds=duration * (len(tests) if options["run_sequentially"] else 1)
        )
        lines.append(f"Expected to end around {end:%H:%M} UTC (if workers are free).")
        return lines

    def _direct_question(
        self, tests: list[str], chosen: list[str], options: dict[str, Any], duration: float
    ) -> list[str]:
        """Where the probes connect from and to, how long they live, on which clock."""
        sequential = options["run_sequentially"]
        length = format_clock(duration * (len(tests) if sequential else 1))
        unit = self.time_unit_seconds
        return [
            f"Start {len(tests)} probe(s) from this machine against {self.profile.where()}?",
            "",
            *chosen,
            "",
            (
                f"1 connection at a time, one probe after another, for about {length}."
                if sequential
                else f"{len(tests)} connection(s) open at the same time for about {length}."
            ),
            (
                "The probes run in this dashboard's process and live as long as it: "
                "quitting asks first, then stops them and keeps what they measured."
            ),
            f"Time unit: 1 min = {unit:g} s"
            + (" (a lab clock, not real minutes)." if unit != 60 else "."),
        ]

    @work(exclusive=True, group="dispatch", exit_on_error=False)
    async def _dispatch(self, tests: list[str], options: dict[str, Any]) -> None:
        from rds_tui.service.runs import DispatchOptions

        catalog = self.catalog if self.offline_reason is None else None
        await dispatch_and_monitor(self, self.profile, tests, DispatchOptions(**options), catalog)


async def dispatch_and_monitor(
    screen: Screen, profile: Profile, tests: list[str], options: Any, catalog: Catalog | None
) -> None:
    """Dispatch `tests` with `options` (DispatchOptions) through the run service, then
    switch `screen` to the run's monitor; errors become notifications on `screen`."""
    from rds_tui.api_errors import ApiError
    from rds_tui.runs import RunError

    app: Any = screen.app
    screen.notify(f"Dispatching {len(tests)} test(s) to {profile.name} ...", markup=False)
    if profile.kind == "direct":
        dispatched = await _dispatch_direct(screen, profile, tests, options)
        if dispatched is None:
            return
    else:
        try:
            async with app.client_factory(profile) as client:
                dispatched = await _dispatch_through(
                    client, screen, profile, tests, options, catalog
                )
        except ApiError as exc:
            notify_error(screen, exc, "Dispatch failed")
            return
    run = dispatched.run
    if dispatched.save_error is not None:
        # The tasks run anyway: say how to find them again.
        ids = ", ".join(f"{task.test_name} {task.task_id}" for task in run.tasks)
        error = RunError(
            f"The tests were dispatched but the run could not be saved to the history "
            f"({dispatched.save_error}). Tasks: {ids}; correlation id "
            f"{run.correlation_id} (the tasks' logging_cid)."
        )
        notify_error(screen, error, "Dispatch failed")
        return
    from rds_tui.screens.monitor import MonitorScreen

    app.switch_screen(MonitorScreen(run, profile))


async def _dispatch_through(
    client: Any,
    screen: Screen,
    profile: Profile,
    tests: list[str],
    options: Any,
    catalog: Catalog | None,
) -> Any:
    """The run service's dispatch through `client` (a Pulp server's or a direct run's)."""
    app: Any = screen.app
    return await app.service.dispatch(
        client,
        tests,
        options,
        profile_name=profile.name,
        poll_interval=app.poll_interval_for(profile),
        catalog=catalog,
    )


async def _dispatch_direct(
    screen: Screen, profile: Profile, tests: list[str], options: Any
) -> Any | None:
    """Start a direct run: its client stays open, kept by the app, for as long as the
    dashboard runs. None (and a message on `screen`) when it cannot start."""
    from rds_tui.api_errors import ApiError
    from rds_tui.direct.dsn import DsnError
    from rds_tui.direct.engine import DirectUnavailable

    app: Any = screen.app
    try:
        client = app.direct_client(profile)
    except (DirectUnavailable, DsnError) as exc:
        notify_error(screen, exc, "Cannot start the probes")
        return None
    try:
        dispatched = await _dispatch_through(client, screen, profile, tests, options, None)
    except ApiError as exc:
        await client.aclose()
        notify_error(screen, exc, "Dispatch failed")
        return None
    except BaseException:
        await client.aclose()  # whatever started stops with it
        raise
    app.keep_direct_run(dispatched.run, client)
    return dispatched

"""Instances: the saved profiles; add, edit, delete, import from pulp-cli, test a
connection (the service's preflight, shown with the dashboard's hints).

Direct instances (a PostgreSQL DSN probed from this machine, no Pulp) are listed with
their DSN without any password; their connection test opens one connection."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.errors import ShowsWorkerErrors, describe_error
from rds_tui.widgets.check_list import PENDING, CheckLine, CheckList

if TYPE_CHECKING:
    from rds_tui.app import RdsTuiApp
    from rds_tui.profiles import Profile

# The profiles module (pydantic) is imported once the screen is drawn: the first frame
# appears sooner, and a broken profiles file shows as a message in it.

EMPTY_HINT = (
    "No instances yet. Press a to add one (a Pulp server URL and how to log in), "
    "p to add a PostgreSQL endpoint probed from this machine (no Pulp), "
    "or i to import pulp-cli's profiles. `rds-tui lab up` adds the local lab as 'lab'."
)


class InstancesScreen(ShowsWorkerErrors, Screen):
    """The first screen: which Pulp do we talk to?"""

    app: RdsTuiApp

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "pick",
            "Pick tests",
            priority=True,
            tooltip="Choose tests to run on this instance",
        ),
        Binding("t", "test_connection", "Test connection"),
        Binding("a", "add", "Add"),
        Binding(
            "p",
            "add_direct",
            "Add PostgreSQL",
            tooltip="Add a PostgreSQL endpoint (DSN) probed from this machine, no Pulp",
        ),
        Binding("e", "edit", "Edit"),
        Binding("d", "delete", "Delete"),
        Binding("i", "import_pulp_cli", "Import pulp-cli", show=False),
        Binding("r", "reload", "Reload", show=False, tooltip="Re-read the profiles file"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.profiles: list[Profile] = []

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable = DataTable(id="profiles-table", cursor_type="row", classes="panel")
        table.border_title = "Instances"
        yield table
        # Plain text: messages quote the profiles file (TOML [sections]) and the server.
        yield Static("", id="profiles-message", classes="hint", markup=False)
        check = CheckList(
            "Press t to test the highlighted instance.", id="connection-check", classes="panel"
        )
        check.border_title = "Connection check"
        yield check
        yield Footer()

    def on_mount(self) -> None:
        self._message("Reading the instances ...")
        self.call_after_refresh(self.action_reload)

    # Helpers ------------------------------------------------------------------------

    @property
    def selected(self) -> Profile | None:
        table = self.query_one(DataTable)
        if not self.profiles or table.cursor_row is None:
            return None
        return self.profiles[min(table.cursor_row, len(self.profiles) - 1)]

    def _message(self, text: str, error: bool = False) -> None:
        message = self.query_one("#profiles-message", Static)
        message.update(text)
        message.set_class(error, "error-message")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick" and self.app.read_only:
            return False
        if action in ("pick", "edit", "delete", "test_connection") and not self.profiles:
            return None  # shown, but greyed out
        return True

    # Actions ------------------------------------------------------------------------

    def action_reload(self, select: str | None = None) -> None:
        from rds_tui.profiles import ProfileError

        table = self.query_one(DataTable)
        table.clear(columns=True)
        try:
            self.profiles = self.app.profiles.list()
        except ProfileError as exc:
            self.profiles = []
            self._message(f"{exc}", error=True)
            self.refresh_bindings()
            return
        # Widths from the data: the table is filled after its first layout.
        rows = [
            (profile.name, profile.kind, profile.where(), profile.auth_summary())
            for profile in self.profiles
        ]
        for index, label in enumerate(("Name", "Kind", "Server or DSN", "Auth")):
            table.add_column(label, width=max([len(label), *(len(row[index]) for row in rows)]))
        for profile, cells in zip(self.profiles, rows, strict=True):
            table.add_row(*map(Text, cells), key=profile.name)  # Text: never markup
        self._message("" if self.profiles else EMPTY_HINT)
        if select is not None:
            names = [profile.name for profile in self.profiles]
            if select in names:
                table.move_cursor(row=names.index(select))
        self.refresh_bindings()

    def action_add(self, kind: str = "pulp") -> None:
        from rds_tui.screens.profile_form import ProfileFormScreen

        taken = {profile.name for profile in self.profiles}
        self.app.push_screen(ProfileFormScreen(None, taken, kind), self._saved(None))

    def action_add_direct(self) -> None:
        self.action_add("direct")

    def action_edit(self) -> None:
        profile = self.selected
        if profile is None:
            return
        from rds_tui.screens.profile_form import ProfileFormScreen

        taken = {p.name for p in self.profiles}
        self.app.push_screen(ProfileFormScreen(profile, taken), self._saved(profile))

    def _saved(self, original: Profile | None):
        def save(profile: Profile | None) -> None:
            from rds_tui.profiles import ProfileError

            if profile is None:
                return
            try:
                self.app.profiles.upsert(profile)
                if original is not None and original.name != profile.name:
                    self.app.profiles.remove(original.name)
            except (ProfileError, OSError) as exc:
                self._message(f"Not saved: {exc}", error=True)
                return
            self.action_reload(select=profile.name)
            self.notify(f"Saved instance {profile.name} to {self.app.profiles.path}", markup=False)

        return save

    def action_delete(self) -> None:
        profile = self.selected
        if profile is None:
            return

        def answered(yes: bool | None) -> None:
            from rds_tui.profiles import ProfileError

            if not yes:
                return
            try:
                self.app.profiles.remove(profile.name)
            except (ProfileError, OSError) as exc:
                self._message(f"Not deleted: {exc}", error=True)
                return
            self.action_reload()
            self.notify(f"Deleted instance {profile.name}", markup=False)

        self.app.push_screen(
            ConfirmScreen(
                "Delete instance",
                f"Delete the instance {profile.name!r} ({profile.where()}) from "
                f"{self.app.profiles.path}? Its run history is kept.",
                yes_label="Delete",
                danger=True,
            ),
            answered,
        )

    def action_import_pulp_cli(self) -> None:
        from rds_tui.profiles import ProfileError

        try:
            imported = self.app.profiles.import_pulp_cli()
        except (ProfileError, OSError) as exc:
            self._message(f"Import failed: {exc}", error=True)
            return
        names = ", ".join(profile.name for profile in imported) or "none"
        self.action_reload()
        self._message(
            f"Imported from pulp-cli: {names}. Passwords are not copied: edit an instance (e) "
            "to name an environment variable or store one."
        )

    def action_pick(self) -> None:
        profile = self.selected
        if profile is None:
            return
        from rds_tui.screens.picker import PickerScreen

        self.app.push_screen(PickerScreen(profile))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if not self.app.read_only:
            self.action_pick()

    def action_test_connection(self) -> None:
        profile = self.selected
        if profile is None:
            return
        check = self.query_one(CheckList)
        check.border_title = Text(f"Connection check: {profile.name}")
        check.show([CheckLine(f"Contacting {profile.where()} ...", PENDING)])
        self._test_connection(profile)

    @work(exclusive=True, group="connection-check", exit_on_error=False)
    async def _test_connection(self, profile: Profile) -> None:
        from rds_tui.service.preflight import preflight_with

        if profile.kind == "direct":
            self.query_one(CheckList).show(await self._direct_check(profile))
            return

        result = await preflight_with(lambda: self.app.client_factory(profile), profile.api_root)
        self.query_one(CheckList).show(
            [
                CheckLine(check.label, check.status, check.text(describe_error))
                for check in result.checks
            ]
        )

    async def _direct_check(self, profile: Profile) -> list[CheckLine]:
        """A direct instance's check: the direct extra installed, its DSN usable, one
        connection opened and closed (the same check a direct run starts with)."""
        from rds_tui.api_errors import ApiError
        from rds_tui.direct.dsn import DsnError
        from rds_tui.direct.engine import DirectUnavailable
        from rds_tui.service.preflight import FAILED, OK, SKIPPED

        try:
            client = self.app.direct_client(profile)
        except DirectUnavailable as exc:
            return [CheckLine("Direct probes installed", FAILED, describe_error(exc))]
        except DsnError as exc:
            return [
                CheckLine("Direct probes installed", OK),
                CheckLine("DSN and password", FAILED, describe_error(exc)),
            ]
        lines = [
            CheckLine("Direct probes installed", OK),
            CheckLine("DSN and password", OK, client.target.password_source),
        ]
        try:
            facts = await client.check()
        except ApiError as exc:
            return [*lines, CheckLine(f"Connect to {client.base_url}", FAILED, describe_error(exc))]
        finally:
            await client.aclose()
        from rds_tui.untrusted import clean_text

        # The server's words: cleaned like any server text.
        detail = f"PostgreSQL {clean_text(facts['server_version'])} as {clean_text(facts['user'])}"
        return [
            *lines,
            CheckLine(f"Connect to {client.base_url}", OK, detail),
            CheckLine("Probes", SKIPPED, "run from this machine while the dashboard runs (Enter)"),
        ]

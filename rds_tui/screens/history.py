"""History: past runs; re-attach to unfinished ones, open finished ones, compare two,
export a report, read the diagnosis."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from rds_tui.runs import Run
from rds_tui.screens.errors import describe_error
from rds_tui.widgets.task_table import short_label

if TYPE_CHECKING:
    from rds_tui.app import RdsTuiApp

MARK = "●"


def tests_label(run: Run) -> str:
    numbers = [name.split("_")[1] for name in run.tests if name.startswith("test_")]
    if len(numbers) == len(run.tests) and numbers:
        return "tests " + ",".join(numbers)
    return ", ".join(short_label(name) for name in run.tests)


class HistoryScreen(Screen):
    app: RdsTuiApp

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open / re-attach", priority=True),
        Binding("space", "mark", "Mark"),
        Binding("m", "compare", "Compare 2"),
        Binding("g", "diagnosis", "Diagnosis"),
        Binding("x", "export", "Export"),
        Binding("r", "reload", "Reload", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Run] = []
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        # Set before the Header mounts (a change while it unmounts would crash it).
        self.sub_title = "History"
        yield Header()
        table: DataTable = DataTable(id="history-table", cursor_type="row", classes="panel")
        table.border_title = "Runs (newest first)"
        yield table
        # Plain text: messages quote run files and file-system errors.
        yield Static("", id="history-message", classes="hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column(" ", key="mark", width=1)
        table.add_column("Run", key="run")
        table.add_column("Instance", key="instance")
        table.add_column("Tests", key="tests")
        table.add_column("State", key="state")
        self.action_reload()

    def on_screen_resume(self) -> None:
        # A run watched meanwhile may have finished: show its new state.
        self.action_reload()

    @property
    def selected(self) -> Run | None:
        table = self.query_one(DataTable)
        if not self.runs or table.cursor_row is None or table.cursor_row >= len(self.runs):
            return None
        return self.runs[table.cursor_row]

    def _message(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#history-message", Static)
        widget.update(text)
        widget.set_class(error, "error-message")

    def action_reload(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        try:
            listing = self.app.runs.scan()
        except OSError as exc:
            self._message(f"Cannot read the run history: {describe_error(exc)}", error=True)
            return
        self.runs = listing.runs
        for run in self.runs:
            state = Text(run.state_summary(), "green" if run.finished else "bold cyan")
            direct = run.kind == "direct"
            if not run.finished and direct and self.app.live_direct_run(run.id) is None:
                # Its probes lived in a process that has ended: nothing to re-attach to.
                state = Text("PROCESS GONE: ", "bold yellow") + state
            elif not run.finished:
                state = Text("UNFINISHED: ", "bold yellow") + state
            instance = run.profile or run.api_root
            table.add_row(  # Text cells: a run file's strings are never markup
                MARK if run.id in self.marked else "",
                Text(run.id),
                Text(f"{instance} (direct)" if direct else instance),
                Text(tests_label(run)),
                state,
                key=run.id,
            )
        if self.runs and cursor:
            table.move_cursor(row=min(cursor, len(self.runs) - 1))
        if listing.problems:
            self._message("Unreadable run files: " + "; ".join(listing.problems), error=True)
        elif not self.runs:
            self._message("No runs yet. Dispatch tests from an instance (Enter on it).")
        else:
            self._message(
                "Enter opens a run (re-attaches if unfinished); space marks two "
                "runs to compare (m)."
            )
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "mark", "diagnosis", "export") and not self.runs:
            return None
        if action == "compare":
            return True if len(self.marked) == 2 else None
        return True

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        run = self.selected
        if run is None:
            return
        from rds_tui.screens.monitor import MonitorScreen

        self.app.push_screen(MonitorScreen(run))

    def action_mark(self) -> None:
        run = self.selected
        if run is None:
            return
        if run.id in self.marked:
            self.marked.remove(run.id)
        else:
            self.marked.append(run.id)
            if len(self.marked) > 2:
                self.marked.pop(0)
        table = self.query_one(DataTable)
        for other in self.runs:
            table.update_cell(other.id, "mark", MARK if other.id in self.marked else "")
        self.refresh_bindings()

    def action_compare(self) -> None:
        if len(self.marked) != 2:
            self.notify("Mark two runs with space first.", severity="warning", markup=False)
            return
        by_id = {run.id: run for run in self.runs}
        from rds_tui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(by_id[self.marked[0]], by_id[self.marked[1]]))

    def action_diagnosis(self) -> None:
        run = self.selected
        if run is None:
            return
        from rds_tui.screens.diagnosis import DiagnosisScreen

        self.app.push_screen(DiagnosisScreen(run, run.task_results()))

    def action_export(self) -> None:
        run = self.selected
        if run is None:
            return
        from rds_tui.screens.export import ExportScreen

        self.app.push_screen(ExportScreen(run, run.task_results()))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

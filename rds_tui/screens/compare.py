"""Compare two runs side by side (for example production against staging): the table of
rds_tui.report.compare, coloured."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from rds_tui.runs import Run
from rds_tui.widgets.task_table import short_label

CELL_STYLES = {"dead": "bold red", "alive": "green", "other": "yellow", "absent": "dim"}


class CompareScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Back")]

    def __init__(self, first: Run, second: Run) -> None:
        super().__init__()
        self.first = first
        self.second = second

    def compose(self) -> ComposeResult:
        # Set before the Header mounts (a change while it unmounts would crash it).
        self.sub_title = f"Compare {self.first.id} and {self.second.id}"
        yield Header()
        yield DataTable(id="compare-table", cursor_type="row")
        yield Static("", id="compare-cutoffs", classes="hint", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        from rds_tui.report.compare import compare

        comparison = compare([self.first, self.second])
        table = self.query_one(DataTable)
        table.add_column("Test", key="test")
        for run in comparison.runs:
            table.add_column(Text(f"{run.profile or run.api_root} ({run.id[-4:]})"), key=run.id)
        for name in comparison.tests:
            cells = [Text(c.text, CELL_STYLES[c.kind]) for c in comparison.cells[name]]
            table.add_row(Text(short_label(name)), *cells, key=name)
        lines = [*comparison.cutoff_lines(), "The diagnosis of each run is in History (g)."]
        self.query_one("#compare-cutoffs", Static).update("\n".join(lines))

    def action_back(self) -> None:
        self.app.pop_screen()

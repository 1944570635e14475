"""Compare two runs side by side (for example production against staging)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from rds_tui import catalog
from rds_tui.outcome import read_outcome
from rds_tui.runs import Run
from rds_tui.widgets.task_table import short_label
from rds_tui.widgets.timer_bar import format_clock


def outcome_text(task: dict[str, Any] | None) -> Text:
    """One test's outcome in a few words: dead at mm:ss (sqlstate), or alive."""
    if task is None:
        return Text("not in this run", "dim")
    outcome = read_outcome(task)
    if outcome.died:
        text = Text(f"dead {format_clock(outcome.died_after_seconds)}", "bold red")
        if outcome.sqlstate:
            text.append(f" {outcome.sqlstate}", "red")
        return text
    if outcome.died is False:
        survived = outcome.survived_seconds
        return Text(f"alive{' ' + format_clock(survived) if survived else ''}", "green")
    return Text(outcome.state if outcome.state != "unknown" else "no result", "yellow")


def _order(name: str) -> tuple[int, str]:
    return (catalog.TEST_NAMES.index(name), name) if name in catalog.TEST_NAMES else (99, name)


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
        yield Static("", id="compare-cutoffs", classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        from rds_tui.report import diagnose

        table = self.query_one(DataTable)
        results = [
            {task["test_name"]: task for task in run.task_results()}
            for run in (self.first, self.second)
        ]
        table.add_column("Test", key="test")
        for run in (self.first, self.second):
            table.add_column(f"{run.profile or run.api_root} ({run.id[-4:]})", key=run.id)
        names = sorted({*self.first.tests, *self.second.tests}, key=_order)
        for name in names:
            table.add_row(
                short_label(name), *(outcome_text(r.get(name)) for r in results), key=name
            )
        lines = []
        for run, by_name in zip((self.first, self.second), results, strict=True):
            cutoff = diagnose(list(by_name.values())).estimated_idle_cutoff_seconds
            shown = f"{format_clock(cutoff)} ({cutoff:.1f} s)" if cutoff is not None else "unknown"
            lines.append(f"{run.profile or run.api_root} ({run.id}): idle cutoff {shown}")
        lines.append("The diagnosis of each run is in History (g).")
        self.query_one("#compare-cutoffs", Static).update("\n".join(lines))

    def action_back(self) -> None:
        self.app.pop_screen()

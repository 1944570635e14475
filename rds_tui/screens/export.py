"""Export a run's report to a file: Markdown or Jira (for the ticket), CSV, JSON, or
an SVG picture of the run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from rds_tui import report
from rds_tui.runs import Run

if TYPE_CHECKING:
    from rds_tui.app import RdsTuiApp


class ExportScreen(ModalScreen[Path | None]):
    app: RdsTuiApp

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "export", "Export"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, run: Run, tasks: list[dict[str, Any]]) -> None:
        super().__init__()
        self.run_record = run
        self.tasks = tasks
        self.fmt = "md"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static(f"Export run {self.run_record.id}", classes="dialog-title", markup=False)
            with RadioSet(id="export-format"):
                for key, label in report.FORMATS.items():
                    yield RadioButton(f"{label} (.{key})", value=key == "md", id=f"fmt-{key}")
            yield Label("File")
            yield Input(self._default_name("md"), id="export-path")
            yield Static("", id="export-error", classes="error-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export (ctrl+s)", variant="primary", id="export")
                yield Button("Cancel (esc)", id="cancel")

    def _default_name(self, fmt: str) -> str:
        return str(Path.cwd() / f"rds-run-{self.run_record.id}.{fmt}")

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        new = (event.pressed.id or "fmt-md").removeprefix("fmt-")
        path_input = self.query_one("#export-path", Input)
        if path_input.value == self._default_name(self.fmt):
            path_input.value = self._default_name(new)
        self.fmt = new

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export":
            self.action_export()
        else:
            self.action_cancel()

    def on_input_submitted(self) -> None:
        self.action_export()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_export(self) -> None:
        from rds_tui.runs import RunError
        from rds_tui.screens.errors import describe_error
        from rds_tui.service.runs import report_profile

        raw = self.query_one("#export-path", Input).value.strip()
        if not raw:
            self.query_one("#export-error", Static).update("Give a file name.")
            return
        try:
            written = self.app.service.export(
                self.run_record,
                self.tasks,
                self.fmt,
                Path(raw),
                report_profile(self.run_record),
            )
        except RunError as exc:
            self.query_one("#export-error", Static).update(f"Not written: {describe_error(exc)}")
            return
        self.app.notify(f"Wrote {report.FORMATS[self.fmt]} report to {written}", markup=False)
        self.dismiss(written)

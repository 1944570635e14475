"""Diagnosis: what a run's results mean (rds_tui.report.diagnose), readable at a glance."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from rds_tui.runs import Run
from rds_tui.widgets.timer_bar import format_clock

SEVERITY_STYLES = {
    "ok": ("✓", "green"),
    "info": ("i", "cyan"),
    "warning": ("!", "yellow"),
    "critical": ("✗", "bold red"),
    "inconclusive": ("?", "dim"),
}


def diagnosis_text(run: Run, tasks: list[dict[str, Any]]) -> Text:
    from rds_tui.report import collect_lines, diagnose, summary_lines
    from rds_tui.service.runs import report_profile

    diagnosis = diagnose(tasks)
    text = Text()
    text.append("Recommendation\n", "bold underline")
    text.append(f"{diagnosis.recommendation or 'No recommendation: no results yet.'}\n\n")
    if diagnosis.estimated_idle_cutoff_seconds is not None:
        text.append("Estimated idle cutoff: ", "bold")
        text.append(
            f"{format_clock(diagnosis.estimated_idle_cutoff_seconds)} "
            f"({diagnosis.estimated_idle_cutoff_seconds:.1f} s)\n"
        )
    in_tx = diagnosis.in_transaction_cutoff_seconds
    if in_tx is not None:
        text.append("Idle-in-transaction cutoff: ", "bold")
        text.append(f"{format_clock(in_tx)} ({in_tx:.1f} s)\n")
    text.append("\nFindings\n", "bold underline")
    for finding in diagnosis.findings:
        mark, style = SEVERITY_STYLES.get(finding.severity, ("-", ""))
        text.append(f" {mark} ", style)
        text.append(f"{finding.title}\n", f"bold {style}")
        text.append(f"   {finding.detail}\n")
    if not diagnosis.findings:
        text.append(" (none)\n", "dim")
    text.append("\nSummary\n", "bold underline")
    text.append("\n".join(summary_lines(tasks)))
    text.append("\n\nCollect next\n", "bold underline")
    text.append("\n".join(collect_lines(run, tasks, report_profile(run))))
    return text


class DiagnosisScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "export", "Export"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, run: Run, tasks: list[dict[str, Any]]) -> None:
        super().__init__()
        self.run_record = run
        self.tasks = tasks

    def compose(self) -> ComposeResult:
        yield Header()
        pending = len(self.run_record.tasks) - len(self.tasks)
        note = f"Run {self.run_record.id} on {self.run_record.profile or self.run_record.api_root}"
        if pending > 0 or not self.run_record.finished:
            note += " (NOT FINISHED: the diagnosis covers the finished tasks only)"
        yield Static(note, classes="hint", markup=False)
        yield VerticalScroll(
            Static(diagnosis_text(self.run_record, self.tasks), id="diagnosis-body"),
            classes="read-pane",
        )
        yield Footer()

    def action_export(self) -> None:
        from rds_tui.screens.export import ExportScreen

        self.app.push_screen(ExportScreen(self.run_record, self.tasks))

    def action_back(self) -> None:
        self.app.pop_screen()

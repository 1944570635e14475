"""Diagnosis: what a run's results mean (rds_tui.report.diagnose), readable at a glance."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from rds_tui.runs import Run
from rds_tui.screens.confirm import ConfirmScreen
from rds_tui.screens.errors import ShowsWorkerErrors, notify_error
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

    diagnosis = diagnose(tasks, run.profile)
    text = Text()
    verdict_styles = {"holds": "bold green", "does not hold": "bold red"}
    for verdict in diagnosis.fix_verdicts:
        text.append("Fix verdict: ", "bold underline")
        text.append(f"{verdict.headline()}\n\n", verdict_styles.get(verdict.verdict, "bold"))
    text.append("Recommendation\n", "bold underline")
    text.append(f"{diagnosis.recommendation or 'No recommendation: no results yet.'}\n\n")
    if diagnosis.pulp_settings:
        text.append("Pulp settings\n", "bold underline")
        text.append("\n".join(diagnosis.pulp_settings) + "\n\n")
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


class DiagnosisScreen(ShowsWorkerErrors, Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "export", "Export"),
        Binding("v", "verify", "Verify a fix", tooltip="Run test 6 next to test 8 or 9"),
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "verify" and getattr(self.app, "read_only", False))

    # Verify a fix: form, then the server's catalog (cutoff, fix patterns), then confirm.

    def action_verify(self) -> None:
        from rds_tui.report import diagnose
        from rds_tui.screens.verify import VerifyFormScreen

        cutoff = diagnose(self.tasks).estimated_idle_cutoff_seconds
        seconds = max(1, int(cutoff // 2)) if cutoff else 60

        def chosen(answer: tuple[str, float] | None) -> None:
            if answer is not None:
                self._plan_verify(*answer)

        self.app.push_screen(VerifyFormScreen(seconds), chosen)

    @work(exclusive=True, group="verify", exit_on_error=False)
    async def _plan_verify(self, kind: str, seconds: float) -> None:
        from rds_tui.api_errors import ApiError
        from rds_tui.report import fixes
        from rds_tui.screens.monitor import connection_for_run

        app: Any = self.app
        profile, source, _ = connection_for_run(app, self.run_record)
        try:
            async with app.client_factory(profile) as client:
                catalog = await client.catalog()
        except ApiError as exc:
            notify_error(self, exc, "Verify")
            return
        fix = fixes.FIXES[kind]
        if fix.test_name not in catalog.fix_tests:
            self.notify(
                f"The server's plugin has no {fix.test_name}: install pulp-rds-tests with "
                "tests 8 and 9 into the API and the workers, and restart them.",
                title="Verify",
                severity="error",
                timeout=20,
                markup=False,
            )
            return
        plan = fixes.verify_plan(
            catalog.expected_cutoff_seconds,
            catalog.time_unit_seconds,
            profile.expected_cutoff_seconds,
            profile.name,
        )
        tests = fixes.verify_tests(kind)
        message = "\n".join(
            [
                f"Verify {fix.flag} {seconds:g} on {profile.name} ({profile.api_root})?",
                f"Credentials: {source}.",
                "",
                *[f"  • {name}" for name in tests],
                "",
                f"Duration: {plan.text()}.",
                f"{len(tests)} worker(s) will be busy at the same time.",
            ]
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._dispatch_verify(profile, kind, seconds, plan.duration_minutes, catalog)

        app.push_screen(ConfirmScreen("Verify a fix", message, "Dispatch"), answered)

    @work(exclusive=True, group="verify-dispatch", exit_on_error=False)
    async def _dispatch_verify(
        self, profile: Any, kind: str, seconds: float, minutes: int, catalog: Any
    ) -> None:
        from rds_tui.report import fixes
        from rds_tui.screens.picker import dispatch_and_monitor
        from rds_tui.service.runs import DispatchOptions

        options = DispatchOptions(
            duration_minutes=minutes,
            heartbeat_interval_seconds=seconds if kind == fixes.HEARTBEAT else None,
            keepalive_interval_seconds=int(seconds) if kind == fixes.KEEPALIVE else None,
        )
        await dispatch_and_monitor(self, profile, fixes.verify_tests(kind), options, catalog)

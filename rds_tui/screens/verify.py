"""The "verify a fix" form: which fix (a client heartbeat or TCP keepalives) and how often.

It only asks; the plan and the verdict are rds_tui.report.fixes', the dispatch the run
service's (the Diagnosis screen's `v` wires them together).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from rds_tui.report.fixes import HEARTBEAT, KEEPALIVE


class VerifyFormScreen(ModalScreen[tuple[str, float] | None]):
    """Dismisses with (fix kind, seconds), or None when canceled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static("Verify a fix", classes="dialog-title")
            yield Static(
                "Runs test 6 (the control: LISTEN, idle) next to the fix, for longer than "
                "the cutoff. The control dies and the fix lives: the fix holds.",
                classes="dialog-body",
            )
            with RadioSet(id="verify-kind"):
                yield RadioButton("Client heartbeat: LISTEN + SELECT 1 (test 8)", value=True)
                yield RadioButton("TCP keepalives, idle (test 9)")
            with Horizontal(classes="option-row"):
                yield Label("Every (s)")
                yield Input(f"{self.seconds:g}", id="verify-seconds", type="number")
            yield Static("", id="verify-error", classes="error-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Next", variant="primary", id="next")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#verify-seconds", Input).focus()

    def _answer(self) -> tuple[str, float] | str:
        """(kind, seconds), or what is wrong with the form."""
        kind = (
            KEEPALIVE if self.query_one("#verify-kind", RadioSet).pressed_index == 1 else HEARTBEAT
        )
        try:
            seconds = float(self.query_one("#verify-seconds", Input).value)
        except ValueError:
            return "Give the interval as a number of seconds."
        if not 0 < seconds < float("inf"):
            return "The interval must be more than 0 seconds."
        if kind == KEEPALIVE and not seconds.is_integer():
            return "TCP keepalive timers count whole seconds."
        return kind, seconds

    def _submit(self) -> None:
        answer = self._answer()
        if isinstance(answer, str):
            self.query_one("#verify-error", Static).update(answer)
            return
        self.dismiss(answer)

    def on_input_submitted(self) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "next":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

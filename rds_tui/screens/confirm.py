"""A yes/no dialog for anything that touches a production system (dispatch, cancel, delete)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True only on an explicit yes (button or `y`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, message: str, yes_label: str = "Yes", danger: bool = False):
        super().__init__()
        self.title_text = title
        self.message = message
        self.yes_label = yes_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            # Plain text: the message names instances, servers and tests.
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Static(self.message, id="confirm-message", classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    f"{self.yes_label} (y)",
                    variant="error" if self.danger else "primary",
                    id="yes",
                )
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        # Focus "No": Enter alone must never launch anything on a production system.
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

"""A checklist of connection checks: one line per check, ✓ / ✗ / … with a detail."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

MARKS = {True: ("✓", "green"), False: ("✗", "bold red"), None: ("…", "dim")}


@dataclass
class CheckLine:
    label: str
    ok: bool | None  # None: not checked (yet, or because an earlier check failed)
    detail: str = ""


def render_check_lines(lines: list[CheckLine]) -> Text:
    text = Text()
    for index, line in enumerate(lines):
        mark, style = MARKS[line.ok]
        if index:
            text.append("\n")
        text.append(f"{mark} ", style)
        text.append(line.label, "bold" if line.ok is False else "")
        if line.detail:
            text.append(f"  {line.detail}", "dim" if line.ok is not False else "red")
    return text


class CheckList(Static):
    """Shows the outcome of a connection test, line by line."""

    def show(self, lines: list[CheckLine]) -> None:
        self.update(render_check_lines(lines))

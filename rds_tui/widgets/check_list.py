"""A checklist of connection checks: one line per check, ✓ / ✗ / ! / … with a detail."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from rds_tui.service.preflight import FAILED, OK, SKIPPED, SYMBOLS, WARNING

# The preflight's statuses (rds_tui.service.preflight), plus one while the check runs.
PENDING = "pending"
STYLES = {OK: "green", FAILED: "bold red", WARNING: "yellow", SKIPPED: "dim", PENDING: "dim"}
MARKS = {status: (SYMBOLS.get(status, "…"), style) for status, style in STYLES.items()}


@dataclass
class CheckLine:
    label: str
    status: str  # a key of MARKS
    detail: str = ""


def render_check_lines(lines: list[CheckLine]) -> Text:
    text = Text()
    for index, line in enumerate(lines):
        mark, style = MARKS[line.status]
        failed = line.status == FAILED
        if index:
            text.append("\n")
        text.append(f"{mark} ", style)
        text.append(line.label, "bold" if failed else "")
        if line.detail:
            text.append(f"  {line.detail}", "red" if failed else "dim")
    return text


class CheckList(Static):
    """Shows the outcome of a connection test, line by line."""

    def show(self, lines: list[CheckLine]) -> None:
        self.update(render_check_lines(lines))

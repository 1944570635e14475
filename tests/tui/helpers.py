"""Small helpers for pilot tests: wait for a condition, read what a widget shows."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widget import Widget


async def wait_for(
    pilot: Pilot, condition: Callable[[], object], timeout: float = 15.0, what: str = "condition"
) -> None:
    """Let the app run until `condition()` is true (workers poll in the background)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)
        await asyncio.sleep(0)


def shown_text(widget: Widget) -> str:
    """The plain text a widget currently shows (Rich renderables rendered as text)."""
    content = getattr(widget, "content", None)
    if content is None:
        content = widget.render()
    if isinstance(content, str):
        return content
    if hasattr(content, "plain"):
        return content.plain
    console = Console(width=max(widget.size.width, 40), file=io.StringIO(), record=True)
    console.print(content)
    return console.export_text()


def notifications(app: App) -> list[str]:
    return [notification.message for notification in app._notifications]

"""The monitor's task table: one row per task, timers that tick every second.

`TaskRow` is the view of one task (pure data, built from the monitor's
TaskSnapshot by `build_row`); `TaskTable` draws rows and, once a second, redraws
the time-dependent cells of the rows that are on screen and still running.

Timers: at each poll a running task's elapsed time is computed once from its
`started_at` against the local wall clock corrected by the server's clock skew,
then advanced with the monotonic clock until the next poll (so polls can be
minutes apart while the timers stay exact to the second).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from rds_tui import catalog
from rds_tui.clocktext import format_clock, format_delta
from rds_tui.constants import FINAL_TASK_STATES
from rds_tui.widgets.timer_bar import BarState, past_cutoff, render_timer_bar

if TYPE_CHECKING:
    from rds_tui.monitor import TaskSnapshot
    from rds_tui.outcome import RunTiming

STATE_STYLES = {
    "waiting": "dim",
    "running": "bold cyan",
    "canceling": "yellow",
    "completed": "green",
    "failed": "bold red",
    "canceled": "yellow",
    "skipped": "dim",
    "missing": "bold red",
    "unknown": "dim",
}


# Names that fit a narrow column; the catalog's titles are used elsewhere.
SHORT_NAMES = {
    "test_1_idle_connection": "1 idle",
    "test_2_active_heartbeat": "2 heartbeat",
    "test_3_long_transaction": "3 idle in tx",
    "test_4_transaction_with_work": "4 tx with work",
    "test_5_session_variable": "5 SET variable",
    "test_6_listen_notify": "6 LISTEN",
    "test_7_listen_with_activity": "7 LISTEN+NOTIFY",
}


def short_label(test_name: str) -> str:
    """ "test_6_listen_notify" -> "6 LISTEN/NOTIFY" (the catalog's title)."""
    builtin = catalog.get(test_name)
    if builtin is None:
        return test_name
    number = test_name.split("_")[1]
    return f"{number} {builtin.title}"


def column_label(test_name: str) -> str:
    return SHORT_NAMES.get(test_name, test_name)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class TaskRow:
    """One task as the table shows it. Times are seconds since the task started."""

    key: str  # the task href
    test_name: str
    state: str
    planned: float | None
    cutoff: float | None
    anchor_elapsed: float | None = None  # elapsed at `anchor_monotonic`
    anchor_monotonic: float | None = None
    final_elapsed: float | None = None  # finished tasks: fixed
    died: bool = False
    died_at: float | None = None  # seconds from start, when known
    died_reason: str | None = None
    activity: str = ""

    @property
    def final(self) -> bool:
        return self.state in FINAL_TASK_STATES

    def elapsed(self, monotonic_now: float) -> float | None:
        if self.final_elapsed is not None:
            return self.final_elapsed
        if self.anchor_elapsed is None or self.anchor_monotonic is None:
            return None
        return self.anchor_elapsed + (monotonic_now - self.anchor_monotonic)

    @property
    def bar_state(self) -> BarState:
        if self.died:
            return BarState.DEAD
        if self.final:
            return BarState.DONE if self.state == "completed" else BarState.STOPPED
        if self.anchor_elapsed is None:
            return BarState.WAITING
        return BarState.ALIVE

    def connection_text(self, monotonic_now: float) -> Text:
        elapsed = self.elapsed(monotonic_now)
        if self.died:
            when = format_clock(self.died_at) if self.died_at is not None else "?"
            text = Text(f"dead {when}", "bold red")
            if self.died_at is not None and self.cutoff:
                text.append(f" {format_delta(self.died_at - self.cutoff)}", "red")
            return text
        if self.state == "completed":
            return Text("alive at end", "green")
        if self.final:
            return Text("-", "dim")
        if elapsed is None:
            return Text("not started", "dim")
        if past_cutoff(elapsed, self.cutoff, BarState.ALIVE):
            return Text(f"ALIVE {format_delta(elapsed - (self.cutoff or 0))}", "bold yellow")
        return Text("alive", "green")

    def verdict_width(self) -> int:
        """The width of the longest connection text this row can show, at any moment
        up to the longest of its planned time, cutoff, run time and death."""
        longest = max(
            t or 0.0 for t in (self.planned, self.cutoff, self.final_elapsed, self.died_at)
        )
        # The largest distance to the cutoff is under `longest`; its widest form is
        # "+9.9s" under a minute, "+59:59" under an hour, else "+h:mm:ss".
        delta = len(format_delta(-9.9)) if longest < 60 else len(format_delta(-longest))
        if 60 <= longest < 3600:
            delta = len(format_delta(-3599))
        return max(len("alive at end"), len(f"dead {format_clock(longest)} ") + delta)

    def reason_line(self) -> str:
        """A sentence about this task's connection for the status line."""
        if self.died:
            when = format_clock(self.died_at) if self.died_at is not None else "an unknown time"
            where = ""
            if self.died_at is not None and self.cutoff:
                delta = self.died_at - self.cutoff
                where = (
                    f", {format_delta(abs(delta)).lstrip('+')} "
                    f"{'after' if delta >= 0 else 'before'} the expected cutoff "
                    f"{format_clock(self.cutoff)}"
                )

            reason = f": {self.died_reason}" if self.died_reason else ""
            return f"{short_label(self.test_name)}: connection died at {when}{where}{reason}"
        return f"{short_label(self.test_name)}: {self.state}"


def build_row(
    snapshot: TaskSnapshot,
    timing: RunTiming,
    *,
    wall_now: datetime,
    monotonic_now: float,
    skew_seconds: float | None,
    previous: TaskRow | None = None,
) -> TaskRow:
    """The row for a snapshot after a poll (anchoring the timer of a running task):
    its outcome (rds_tui.outcome) measured against this test's own cutoff."""
    task = snapshot.task
    outcome = snapshot.outcome
    result = task.result if task is not None and isinstance(task.result, dict) else {}
    row = TaskRow(
        key=snapshot.task_href,
        test_name=snapshot.test_name,
        state=snapshot.state,
        planned=_float(result.get("planned_duration_seconds")) or timing.planned_seconds,
        cutoff=timing.cutoff_for(snapshot.test_name),
    )
    if task is not None and task.started_at is not None:
        if task.finished_at is not None:
            row.final_elapsed = (task.finished_at - task.started_at).total_seconds()
        elif not snapshot.is_final:
            server_now = wall_now.timestamp() + (skew_seconds or 0.0)
            row.anchor_elapsed = max(0.0, server_now - task.started_at.timestamp())
            row.anchor_monotonic = monotonic_now
    row.died = outcome.died is True
    if row.died:
        row.died_at = outcome.died_after_seconds
        row.died_reason = outcome.cause_text()
        if row.died_at is None:
            # Dead at a time the server did not give (an older plugin): the first poll
            # that saw it, kept from then on.
            if previous is not None and previous.died and previous.died_at is not None:
                row.died_at = previous.died_at
            else:
                row.died_at = row.elapsed(monotonic_now)
    row.activity = outcome.activity_text()
    return row


COLUMNS = ("Test", "State", "Elapsed", "Bar", "Connection", "Activity")
FIXED_WIDTHS = {"Test": 15, "State": 9, "Elapsed": 7, "Connection": 12, "Activity": 8}
CELL_PADDING = 1  # blank cells on each side of a column
MIN_BAR = 8


class TaskTable(ScrollView, can_focus=True):
    """The rows of a run: call `set_rows()` after each poll and `tick()` every second.

    Drawn line by line (Textual's Line API): a tick re-renders only the rows on screen,
    a handful of short Texts each, whatever the number of tasks; a DataTable would
    re-render every visible cell through Rich on every change.
    """

    DEFAULT_CSS = """
    TaskTable { height: 1fr; }
    TaskTable > .task-table--header { text-style: bold; color: $text-accent; }
    TaskTable > .task-table--cursor { background: $block-cursor-blurred-background; }
    TaskTable:focus > .task-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"task-table--header", "task-table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    cursor_row: reactive[int] = reactive(0)

    class Highlighted(Message):
        """The cursor moved to another task."""

        def __init__(self, table: TaskTable, row: TaskRow | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class Selected(Highlighted):
        """Enter (or a click) on a task."""

    def __init__(self, monotonic, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._monotonic = monotonic
        self.rows_by_key: dict[str, TaskRow] = {}
        self.order: list[str] = []
        self.bar_width = MIN_BAR
        # The Connection column fits the longest verdict any row can show (the bar gives
        # way): a verdict is never cut.
        self.widths = dict(FIXED_WIDTHS)
        # (task href, style) -> (the TaskRow drawn, its label/state/activity segments)
        self._static_cache: dict[tuple[str, Style], tuple[TaskRow, dict]] = {}

    # Data ---------------------------------------------------------------------------

    def set_rows(self, rows: list[TaskRow]) -> None:
        """Add or replace rows (by key); the cursor stays on the same position."""
        for row in rows:
            if row.key not in self.rows_by_key:
                self.order.append(row.key)
            self.rows_by_key[row.key] = row
        connection = max(
            [FIXED_WIDTHS["Connection"], *(r.verdict_width() for r in self.rows_by_key.values())]
        )
        if connection != self.widths["Connection"]:
            self.widths["Connection"] = connection
            self.on_resize()
        self.virtual_size = Size(self.size.width, len(self.order) + 1)
        self.refresh()

    def tick(self) -> None:
        """Redraw the lines of the running tasks that are on screen."""
        top = int(self.scroll_y)
        for index in range(top, min(len(self.order), top + self.size.height - 1)):
            row = self.rows_by_key[self.order[index]]
            if not row.final and row.anchor_elapsed is not None:
                self.refresh_line(index + 1)  # +1: the header line

    @property
    def selected_row(self) -> TaskRow | None:
        if not self.order:
            return None
        return self.rows_by_key[self.order[min(self.cursor_row, len(self.order) - 1)]]

    # Cursor -------------------------------------------------------------------------

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, len(self.order) - 1)) if self.order else 0

    def watch_cursor_row(self, old: int, new: int) -> None:
        # Keep the cursor visible below the header line.
        top = int(self.scroll_y)
        visible = max(1, self.size.height - 1)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + visible:
            self.scroll_to(y=new - visible + 1, animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self, self.selected_row))

    def action_cursor(self, delta: int) -> None:
        self.cursor_row += delta

    def action_page(self, direction: int) -> None:
        self.cursor_row += direction * max(1, self.size.height - 2)

    def action_cursor_to(self, index: int) -> None:
        self.cursor_row = index if index >= 0 else len(self.order) - 1

    def action_select(self) -> None:
        if self.selected_row is not None:
            self.post_message(self.Selected(self, self.selected_row))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = int(self.scroll_y) + event.y - 1
        if 0 <= index < len(self.order):
            if index == self.cursor_row:
                self.action_select()
            self.cursor_row = index

    # Drawing ------------------------------------------------------------------------

    def on_resize(self) -> None:
        chrome = 2 * CELL_PADDING * len(COLUMNS) + self.scrollbar_size_vertical
        self.bar_width = max(MIN_BAR, self.size.width - sum(self.widths.values()) - chrome)
        self._static_cache.clear()
        self.virtual_size = Size(self.size.width, len(self.order) + 1)

    def _width(self, column: str) -> int:
        return self.bar_width if column == "Bar" else self.widths[column]

    def _cells(self, row: TaskRow, now: float) -> dict[str, Text]:
        """The cells that change with time (the others are cached per row)."""
        elapsed = row.elapsed(now)
        return {
            "Elapsed": Text(format_clock(elapsed).rjust(FIXED_WIDTHS["Elapsed"])),
            "Bar": render_timer_bar(
                elapsed, row.planned, row.cutoff, self.bar_width, row.bar_state, row.died_at
            ),
            "Connection": row.connection_text(now),
        }

    def _static_cells(self, row: TaskRow) -> dict[str, Text]:
        return {
            "Test": Text(column_label(row.test_name)),
            "State": Text(row.state, STATE_STYLES.get(row.state, "")),
            "Activity": Text(row.activity),
        }

    def _segments(self, column: str, text: Text, style: Style) -> list[Segment]:
        text.truncate(self._width(column), overflow="ellipsis", pad=True)
        pad = Segment(" " * CELL_PADDING, style)
        return [pad, *Segment.apply_style(text.render(self.app.console), style), pad]

    def _line(self, cells: dict[str, Text], style: Style, cached: dict | None = None) -> Strip:
        segments: list[Segment] = []
        for column in COLUMNS:
            if cached is not None and column in cached:
                segments.extend(cached[column])
            else:
                segments.extend(self._segments(column, cells[column], style))
        return Strip(segments).adjust_cell_length(self.size.width, style)

    def _static_segments(self, row: TaskRow, style: Style) -> dict[str, list[Segment]]:
        key = (row.key, style)
        cached = self._static_cache.get(key)
        if cached is None or cached[0] is not row:
            segments = {
                column: self._segments(column, text, style)
                for column, text in self._static_cells(row).items()
            }
            cached = self._static_cache[key] = (row, segments)
        return cached[1]

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        if y == 0:
            header = self.get_component_rich_style("task-table--header")
            titles = {name: Text("" if name == "Bar" else name) for name in COLUMNS}
            return self._line(titles, base + header)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.order):
            return Strip.blank(self.size.width, base)
        style = base
        if index == self.cursor_row:
            style = base + self.get_component_rich_style("task-table--cursor")
        row = self.rows_by_key[self.order[index]]
        return self._line(
            self._cells(row, self._monotonic()), style, self._static_segments(row, style)
        )

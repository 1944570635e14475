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

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import DataTable

from rds_tui import catalog
from rds_tui.widgets.timer_bar import (
    BarState,
    format_clock,
    format_delta,
    past_cutoff,
    render_timer_bar,
)

if TYPE_CHECKING:
    from rds_tui.monitor import TaskSnapshot

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
FINAL = {"completed", "failed", "canceled", "skipped", "missing"}
# The plugin's disconnect progress report: "Connection closed after 2402.123 s (...)".
DEATH_TIME = re.compile(r"after (\d+(?:\.\d+)?) s\b")


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


def probe_activity(result: dict[str, Any] | None, progress: list[Any]) -> str:
    """Heartbeats or notifications so far: from the result, else the progress reports."""
    result = result or {}
    heartbeats = result.get("heartbeats_ok")
    sent, received = result.get("notifications_sent"), result.get("notifications_received")
    for report in progress:
        code = f"{getattr(report, 'code', '') or ''} {getattr(report, 'message', '') or ''}"
        code = code.lower()
        done = getattr(report, "done", None)
        if done is None:
            continue
        if "heartbeat" in code and heartbeats is None:
            heartbeats = done
        elif "notif" in code and "sent" in code and sent is None:
            sent = done
        elif "notif" in code and received is None:
            received = done
    if received is not None or sent is not None:
        return f"✉ {received if received is not None else '?'}/{sent if sent is not None else '?'}"
    if heartbeats is not None:
        return f"♥ {heartbeats}"
    return ""


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
        return self.state in FINAL

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

    def reason_line(self) -> str:
        """A sentence about this task's connection for the status line."""
        if self.died:
            when = format_clock(self.died_at) if self.died_at is not None else "an unknown time"
            where = ""
            if self.died_at is not None and self.cutoff:
                delta = self.died_at - self.cutoff
                where = (
                    f", {format_clock(abs(delta))} {'after' if delta >= 0 else 'before'}"
                    f" the expected cutoff {format_clock(self.cutoff)}"
                )
            reason = f": {self.died_reason}" if self.died_reason else ""
            return f"{short_label(self.test_name)}: connection died at {when}{where}{reason}"
        return f"{short_label(self.test_name)}: {self.state}"


def build_row(
    snapshot: TaskSnapshot,
    *,
    planned: float | None,
    cutoff: float | None,
    wall_now: datetime,
    monotonic_now: float,
    skew_seconds: float | None,
    death_detail: str | None = None,
    previous: TaskRow | None = None,
) -> TaskRow:
    """The row for a snapshot after a poll (anchoring the timer of a running task)."""
    task = snapshot.task
    result = task.result if task is not None and isinstance(task.result, dict) else None
    row = TaskRow(
        key=snapshot.task_href,
        test_name=snapshot.test_name,
        state=snapshot.state,
        planned=_float((result or {}).get("planned_duration_seconds")) or planned,
        cutoff=cutoff,
    )
    if task is not None and task.started_at is not None:
        if task.finished_at is not None:
            row.final_elapsed = (task.finished_at - task.started_at).total_seconds()
        elif not snapshot.is_final:
            server_now = wall_now.timestamp() + (skew_seconds or 0.0)
            row.anchor_elapsed = max(0.0, server_now - task.started_at.timestamp())
            row.anchor_monotonic = monotonic_now
    row.died = snapshot.connection_died
    if result is not None:
        died = result.get("disconnected")
        if died is None and result.get("connection_alive") is not None:
            died = not result["connection_alive"]
        if died is not None:
            row.died = bool(died)
        row.died_at = _float(result.get("seconds_to_disconnect"))
        row.died_reason = result.get("server_message") or None
        error = result.get("error")
        if row.died and not row.died_reason and error:
            row.died_reason = error.get("message") if isinstance(error, dict) else str(error)
        if sqlstate := result.get("sqlstate"):
            row.died_reason = f"{row.died_reason or 'closed'} ({sqlstate})"
    if row.died and row.died_at is None:
        # Still running, the progress report said it died ("Connection closed after
        # 2402.123 s ..."); without a number, the first poll that saw it.
        timed = DEATH_TIME.search(death_detail or "")
        if timed:
            row.died_at = float(timed.group(1))
        elif previous is not None and previous.died and previous.died_at is not None:
            row.died_at = previous.died_at
        else:
            row.died_at = row.elapsed(monotonic_now)
        row.died_reason = row.died_reason or death_detail or (previous and previous.died_reason)
    row.activity = probe_activity(result, snapshot.progress)
    return row


COLUMNS = ("Test", "State", "Elapsed", "Bar", "Connection", "Activity")
FIXED_WIDTHS = {"Test": 15, "State": 9, "Elapsed": 7, "Connection": 16, "Activity": 8}
# Cell padding of every column plus the vertical scrollbar.
CHROME = 2 * len(COLUMNS) + 2
MIN_BAR = 8
# The cells that change every second while a task runs.
TIMED_COLUMNS = ("Elapsed", "Bar", "Connection")


class TaskTable(DataTable):
    """The rows of a run. Call `set_rows()` after each poll and `tick()` every second."""

    DEFAULT_CSS = "TaskTable { height: 1fr; }"

    def __init__(self, monotonic, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._monotonic = monotonic
        self.rows_by_key: dict[str, TaskRow] = {}
        self.order: list[str] = []
        self.bar_width = 20

    def on_mount(self) -> None:
        self._layout_columns()

    def _layout_columns(self) -> None:
        self.bar_width = self._wanted_bar_width()
        self.clear(columns=True)
        for name in COLUMNS:
            width = self.bar_width if name == "Bar" else FIXED_WIDTHS[name]
            self.add_column("" if name == "Bar" else name, key=name, width=width)
        for key in self.order:
            self.add_row(*self._cells(self.rows_by_key[key]), key=key)

    def _wanted_bar_width(self) -> int:
        return max(MIN_BAR, self.size.width - sum(FIXED_WIDTHS.values()) - CHROME)

    def on_resize(self) -> None:
        if self._wanted_bar_width() != self.bar_width:
            cursor = self.cursor_row
            self._layout_columns()
            if self.order:
                self.move_cursor(row=min(cursor, len(self.order) - 1))

    def _cells(self, row: TaskRow) -> list[Any]:
        now = self._monotonic()
        return [
            column_label(row.test_name),
            Text(row.state, STATE_STYLES.get(row.state, "")),
            *self._timed_cells(row, now),
            Text(row.activity),
        ]

    def _timed_cells(self, row: TaskRow, now: float) -> list[Any]:
        elapsed = row.elapsed(now)
        time_text = Text(format_clock(elapsed), justify="right")
        bar = render_timer_bar(
            elapsed, row.planned, row.cutoff, self.bar_width, row.bar_state, row.died_at
        )
        return [time_text, bar, row.connection_text(now)]

    def set_rows(self, rows: list[TaskRow]) -> None:
        """Replace the rows' contents (keeps the cursor on the same task)."""
        for row in rows:
            cells = self._cells(row)
            if row.key in self.rows_by_key:
                for column, value in zip(COLUMNS, cells, strict=True):
                    self.update_cell(row.key, column, value)
            else:
                self.order.append(row.key)
                self.add_row(*cells, key=row.key)
            self.rows_by_key[row.key] = row

    def tick(self) -> None:
        """Redraw the timers of the running rows that are on screen."""
        if not self.order:
            return
        now = self._monotonic()
        first = max(0, int(self.scroll_y))
        last = min(len(self.order), first + self.size.height)
        for key in self.order[first:last]:
            row = self.rows_by_key[key]
            if row.final or row.anchor_elapsed is None:
                continue
            for column, value in zip(TIMED_COLUMNS, self._timed_cells(row, now), strict=True):
                self.update_cell(key, column, value)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.tick()

    @property
    def selected_row(self) -> TaskRow | None:
        if not self.order or self.cursor_row is None or self.cursor_row >= len(self.order):
            return None
        return self.rows_by_key[self.order[self.cursor_row]]

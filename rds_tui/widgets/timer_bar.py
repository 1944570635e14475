"""The timer bar: elapsed time against the planned duration, with a marker at the cutoff.

`render_timer_bar()` is pure (numbers in, Rich Text out) so that it can be tested
with a fixed clock and reused by the task table, which draws one bar per row.
`TimerBar` is the stand-alone widget (the detail screen uses it).
"""

from __future__ import annotations

from enum import Enum

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from rds_tui.clocktext import format_clock

FILLED = "━"
EMPTY = "─"
CUTOFF_MARK = "┃"
DEATH_MARK = "✕"


class BarState(str, Enum):
    """What the connection under test is doing, as far as the bar is concerned."""

    WAITING = "waiting"  # the task has not started: no elapsed time yet
    ALIVE = "alive"  # running and the probe's connection is still up
    DEAD = "dead"  # the connection died (the task may still be running)
    DONE = "done"  # the task ended with the connection alive at the end
    STOPPED = "stopped"  # the task ended otherwise (failed, canceled, skipped)


def format_age(seconds: float | None) -> str:
    """How long ago: "4 s", "2:05"."""
    if seconds is None:
        return "?"
    return f"{seconds:.0f} s" if seconds < 60 else format_clock(seconds)


def past_cutoff(elapsed: float | None, cutoff: float | None, state: BarState) -> bool:
    """A live connection that outlived the expected cutoff: the interesting case."""
    return (
        state is BarState.ALIVE
        and elapsed is not None
        and cutoff is not None
        and cutoff > 0
        and elapsed >= cutoff
    )


def _cell(seconds: float, planned: float, width: int) -> int:
    """The cell index (0..width-1) where a moment of the run falls."""
    if planned <= 0:
        return width - 1
    return max(0, min(width - 1, int(seconds / planned * width)))


def render_timer_bar(
    elapsed: float | None,
    planned: float | None,
    cutoff: float | None,
    width: int,
    state: BarState = BarState.ALIVE,
    died_at: float | None = None,
) -> Text:
    """Draw a `width`-cell bar: filled up to `elapsed`, a marker at `cutoff`.

    The fill is green while the connection lives, red once it died (up to the
    moment of death, marked with a cross), dim for a task that ended otherwise, and
    turns bold yellow when a live connection has passed the cutoff.
    """
    width = max(1, width)
    bar = Text(no_wrap=True, overflow="crop")
    if not planned or planned <= 0:
        return Text(EMPTY * width, style="dim")
    filled = 0 if elapsed is None else _cell(elapsed, planned, width) + (elapsed > 0)
    filled = min(filled, width)
    if elapsed is not None and elapsed >= planned:
        filled = width
    if state is BarState.DEAD:
        fill_style = "bold red"
    elif state is BarState.STOPPED:
        fill_style = "dim"
    elif past_cutoff(elapsed, cutoff, state):
        fill_style = "bold yellow"
    else:
        fill_style = "green"
    cutoff_cell = _cell(cutoff, planned, width) if cutoff and 0 < cutoff <= planned else None
    death_cell = _cell(died_at, planned, width) if died_at is not None else None
    marks = {}
    if cutoff_cell is not None:
        marks[cutoff_cell] = (CUTOFF_MARK, "bold magenta")
    if death_cell is not None and state is BarState.DEAD:
        marks[death_cell] = (DEATH_MARK, "bold red")
    # Runs of equal cells between the marks: few spans, cheap to redraw every second.
    position = 0
    for mark_cell in [*sorted(marks), width]:
        if mark_cell > position:
            fill = max(0, min(filled, mark_cell) - position)
            if fill:
                bar.append(FILLED * fill, fill_style)
            if mark_cell - position - fill:
                bar.append(EMPTY * (mark_cell - position - fill), "dim")
        if mark_cell < width:
            bar.append(*marks[mark_cell])
        position = mark_cell + 1
    return bar


def timer_label(elapsed: float | None, planned: float | None) -> str:
    """ "12:34 / 50:00": what the bar shows in numbers."""
    return f"{format_clock(elapsed)} / {format_clock(planned)}"


class TimerBar(Widget):
    """One bar with its numbers, redrawn whenever `elapsed` or `state` changes."""

    DEFAULT_CSS = """
    TimerBar { height: 1; width: 1fr; }
    """

    elapsed: reactive[float | None] = reactive(None)
    state: reactive[BarState] = reactive(BarState.WAITING)

    def __init__(
        self,
        planned: float | None,
        cutoff: float | None,
        *,
        died_at: float | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.planned = planned
        self.cutoff = cutoff
        self.died_at = died_at

    def render(self) -> Text:
        label = timer_label(self.elapsed, self.planned)
        bar_width = max(1, self.size.width - len(label) - 1)
        text = render_timer_bar(
            self.elapsed, self.planned, self.cutoff, bar_width, self.state, self.died_at
        )
        text.append(" " + label)
        return text

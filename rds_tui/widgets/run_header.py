"""The monitor's header: instance, run, and how long ago the last successful poll was."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from rds_tui.widgets.timer_bar import format_age, format_clock


class RunHeader(Static):
    """Two lines: where and what; then the freshness of the data on screen."""

    def __init__(self, instance: str, api_root: str, run_id: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.instance = instance
        self.api_root = api_root
        self.run_id = run_id
        self.task_count = 0
        self.last_success_monotonic: float | None = None
        self.poll_error: str | None = None
        self.retry_in: float | None = None
        self.finished = False
        self.watching = False
        self.interval: float | None = None
        self.planned: float | None = None
        self.cutoff: float | None = None

    def header_text(self, monotonic_now: float) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.instance, "bold")
        text.append(" · run ")
        text.append(self.run_id, "bold")
        text.append(f" · {self.task_count} task(s)")
        if self.planned:
            text.append(f" × {format_clock(self.planned)}")
        if self.cutoff:
            text.append(" · cutoff ")
            text.append(format_clock(self.cutoff), "bold magenta")
        text.append("\n")
        if self.last_success_monotonic is None:
            age = None
        else:
            age = max(0.0, monotonic_now - self.last_success_monotonic)
        if self.poll_error:
            text.append("POLL FAILING ", "bold red")
            last = f"last success {format_age(age)} ago" if age is not None else "no poll yet"
            retry = f", retry in {self.retry_in:.0f} s" if self.retry_in is not None else ""
            text.append(f"({last}{retry}): ", "red")
            text.append(self.poll_error, "red")
        elif self.finished:
            text.append("Finished", "green")
            text.append(" (results from the run history)" if not self.watching else "")
        elif age is None:
            text.append("Polling ...", "dim")
        else:
            stale = self.interval is not None and age > 2 * self.interval + 5
            text.append(
                f"Last successful poll {format_age(age)} ago", "bold yellow" if stale else ""
            )
            if self.interval:
                text.append(f"  (every {self.interval:g} s)", "dim")
        return text

    def redraw(self, monotonic_now: float) -> None:
        self.update(self.header_text(monotonic_now), layout=False)  # fixed height

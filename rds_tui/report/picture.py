"""A picture of a run for the ticket: one lane per test on a shared time axis, with the
alive span, the death mark and its reason, each test's cutoff, and the proxy's metrics
(when merged) drawn on the same axis.

Drawn as styled text and exported with Rich's own SVG export (the same renderer the
dashboard's snapshots use), so the picture looks like the dashboard and needs no
drawing library. 100 columns export to about 1230 px: readable at 1200 px wide.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timedelta

from rich.console import Console
from rich.text import Text

from rds_tui.clocktext import format_clock
from rds_tui.outcome import CLOSED_BY_PROXY_OR_NETWORK, CLOSED_BY_SERVER, RunTiming
from rds_tui.report.collect import MetricSeries, ProbeSpan
from rds_tui.untrusted import clean_text

WIDTH = 100
LABEL = 24  # columns of the lane labels
PLOT = WIDTH - LABEL - 2
SPARK = " ▁▂▃▄▅▆▇█"
HELD = "#3fa34d"
CUTOFF = "bold #ffd700"
METRIC_LABELS = {
    "ClientConnections": "client connections",
    "ClientConnectionsClosed": "client closes",
    "DatabaseConnections": "db connections",
    "DatabaseConnectionsCurrentlySessionPinned": "db pinned",
    "DatabaseConnectionsCurrentlyBorrowed": "db borrowed",
    "DatabaseConnectionsCurrentlyInTransaction": "db in transaction",
}
SHORT = {
    "test_1_idle_connection": "1 idle",
    "test_2_active_heartbeat": "2 heartbeat",
    "test_3_long_transaction": "3 idle transaction",
    "test_4_transaction_with_work": "4 transaction + work",
    "test_5_session_variable": "5 session variable",
    "test_6_listen_notify": "6 LISTEN",
    "test_7_listen_with_activity": "7 LISTEN + NOTIFY",
}


class _Axis:
    """Maps moments to plot columns."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.seconds = max(1.0, (end - start).total_seconds())

    def column(self, moment: datetime) -> int:
        offset = (moment - self.start).total_seconds() / self.seconds
        return min(PLOT - 1, max(0, int(offset * PLOT)))

    def moment(self, column: int) -> datetime:
        return self.start + timedelta(seconds=self.seconds * column / PLOT)

    def inside(self, moment: datetime) -> bool:
        return 0 <= (moment - self.start).total_seconds() <= self.seconds


def _axis(spans: Sequence[ProbeSpan], timing: RunTiming) -> _Axis | None:
    starts = [s.started_at for s in spans if s.started_at is not None]
    if not starts:
        return None
    first = min(starts)
    ends = [s.ended_at for s in spans if s.ended_at is not None]
    planned_end = max(starts) + timedelta(seconds=timing.planned_seconds)
    end = max([*ends, planned_end])
    pad = (end - first) * 0.02
    return _Axis(first - pad, end + pad)


def _lane(span: ProbeSpan, axis: _Axis, timing: RunTiming) -> Text:
    name = SHORT.get(span.test_name, span.test_name)
    line = Text(clean_text(name, LABEL - 1).ljust(LABEL)[:LABEL], "bold")
    cells = [Text("·", "dim") for _ in range(PLOT)]
    if span.started_at is not None:
        first = axis.column(span.started_at)
        last = axis.column(span.ended_at) if span.ended_at is not None else PLOT - 1
        for column in range(first, last + 1):
            cells[column] = Text("█", HELD)
        cutoff_at = span.started_at + timedelta(seconds=timing.cutoff_for(span.test_name))
        if axis.inside(cutoff_at):
            cells[axis.column(cutoff_at)] = Text("┃", CUTOFF)
        if span.ended_at is not None:
            cells[last] = Text("✕", "bold red") if span.died else Text("●", "bold green")
    line.append("│ ", "dim")
    for cell in cells:
        line.append_text(cell)
    return line


def _gutter() -> Text:
    """The label column left blank. The blank is unstyled, so SVG renderers that do not
    honour textLength still put the rule in its column."""
    text = Text(" " * LABEL)
    text.append("│ ", "dim")
    return text


def _lane_note(span: ProbeSpan, timing: RunTiming) -> Text | None:
    if span.started_at is None:
        return _gutter().append("not started", "dim")
    if span.ended_at is None:
        return None
    held = (span.ended_at - span.started_at).total_seconds()
    cutoff = timing.cutoff_for(span.test_name)
    note = _gutter()
    if span.died:
        delta = held - cutoff
        note.append(
            f"dead {format_clock(held)} ({'+' if delta >= 0 else '-'}{abs(delta):.1f} s) ", "red"
        )
        if span.closed_by == CLOSED_BY_SERVER:
            note.append(f"database ended it, {span.sqlstate}", "red")
        elif span.closed_by == CLOSED_BY_PROXY_OR_NETWORK:
            note.append("closed, no SQLSTATE (proxy or network)", "red")
        else:
            note.append("closed", "red")
        if span.reason:
            room = PLOT - note.cell_len + LABEL
            if room > 8:
                reason = clean_text(span.reason).replace("\n", " ")
                if len(reason) > room - 2:
                    reason = reason[: room - 3] + "…"
                note.append(": " + reason, "dim red")
    else:
        note.append(f"alive after {format_clock(held)}", "green")
    return note


def _spark(series: MetricSeries, axis: _Axis) -> Text:
    label = METRIC_LABELS.get(series.metric, series.metric)
    line = Text(clean_text(label, LABEL - 1)[: LABEL - 1].ljust(LABEL), "cyan")
    values = [series.value_at(axis.moment(column)) for column in range(PLOT)]
    known = [v for v in values if v is not None]
    line.append("│ ", "dim")
    if not known:
        line.append("no data in this window", "dim")
        return line
    low, high = min(known), max(known)
    for value in values:
        if value is None:
            line.append(" ")
            continue
        level = 0 if high == low else round((value - low) / (high - low) * (len(SPARK) - 2))
        line.append(SPARK[level + 1], "cyan")
    return line


def _ticks(axis: _Axis) -> list[Text]:
    marks = Text(" " * LABEL)
    marks.append("└" + "─" * (PLOT + 1), "dim")
    labels = Text(" " * (LABEL + 2))
    step = 16
    for column in range(0, PLOT, step):
        moment = axis.moment(column)
        label = f"{moment:%H:%M:%S}"[: step - 1]
        labels.append(label.ljust(step)[: max(0, min(step, PLOT - column))], "dim")
    return [marks, labels]


def render_lines(
    title: str,
    spans: Sequence[ProbeSpan],
    timing: RunTiming,
    metrics: Sequence[MetricSeries] = (),
) -> list[Text]:
    """The picture as lines of styled text (also what a terminal could print)."""
    lines = [Text(clean_text(title, WIDTH), "bold")]
    axis = _axis(spans, timing)
    if axis is None:
        lines.append(Text("No probe has started: nothing to draw.", "dim"))
        return lines
    lines.append(
        Text(
            f"{axis.start:%Y-%m-%d} UTC · █ connection held · ✕ died · ● alive at the end · "
            "┃ the test's expected cutoff",
            "dim",
        )
    )
    lines.append(Text(""))
    for span in spans:
        lines.append(_lane(span, axis, timing))
        note = _lane_note(span, timing)
        if note is not None:
            lines.append(note)
    if metrics:
        lines.append(Text(""))
        lines.append(
            Text("RDS Proxy in CloudWatch (1-minute Sum; each row scaled to its own range)", "dim")
        )
        for series in metrics:
            lines.append(_spark(series, axis))
            known = [v for moment, v in series.points if axis.inside(moment)]
            if known:
                lines.append(_gutter().append(f"{min(known):g} to {max(known):g}", "dim"))
    lines.extend(_ticks(axis))
    return lines


def to_svg(
    title: str,
    spans: Sequence[ProbeSpan],
    timing: RunTiming,
    metrics: Sequence[MetricSeries] = (),
) -> str:
    """The picture as an SVG document."""
    console = Console(
        record=True, width=WIDTH, file=io.StringIO(), color_system="truecolor", legacy_windows=False
    )
    for line in render_lines(title, spans, timing, metrics):
        console.print(line, overflow="crop", no_wrap=True, soft_wrap=False)
    return console.export_svg(title=clean_text(title, 200))

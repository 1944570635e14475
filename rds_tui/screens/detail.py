"""Detail: one task's result field by field, its event timeline, the server settings
the probe saw, the error if any, and the raw JSON (copied to the clipboard with c).

Every cell is a rich Text: a Table renders plain strings as markup, and this screen shows
what the server and the database sent (a NOTIFY payload is anyone's text)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from rds_tui.outcome import read_outcome
from rds_tui.widgets.task_table import TaskRow, short_label
from rds_tui.widgets.timer_bar import TimerBar

# Result fields shown in their own tabs rather than in the field list.
SEPARATE_FIELDS = ("events", "server_settings", "target", "error")
TASK_FIELDS = ("state", "started_at", "finished_at", "pulp_href", "logging_cid")


def _value_text(value: Any) -> Text:
    if value is None:
        return Text("–", "dim")
    if isinstance(value, bool):
        return Text("yes" if value else "no", "green" if value else "red")
    if isinstance(value, dict | list):
        return Text(json.dumps(value, ensure_ascii=False, default=str))
    return Text(str(value))


def key_value_table(pairs: list[tuple[str, Any]]) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False, expand=True)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", ratio=1)
    for key, value in pairs:
        table.add_row(Text(str(key)), _value_text(value))
    return table


def timeline_table(events: list[Any]) -> Table | Text:
    """The probe's timeline: seconds since start, event, detail (tolerant of shapes)."""
    if not events:
        return Text("No events recorded (an older server, or the task has not finished).", "dim")
    table = Table(box=None, pad_edge=False, expand=True)
    table.add_column("t (s)", justify="right", no_wrap=True)
    table.add_column("event", style="bold", no_wrap=True)
    table.add_column("detail", ratio=1)
    for event in events:
        if not isinstance(event, dict):
            table.add_row("", "", Text(str(event)))
            continue
        moment = event.get("t", event.get("at"))
        kind = event.get("event") or event.get("kind") or ""
        rest = {k: v for k, v in event.items() if k not in ("t", "at", "event", "kind")}
        detail = str(rest.pop("detail", "")) if "detail" in rest else ""
        if rest:
            extra = ", ".join(f"{k}={v}" for k, v in rest.items())
            detail = f"{detail} ({extra})" if detail else extra
        style = "bold red" if "disconnect" in str(kind) or "dead" in str(kind) else ""
        shown = f"{moment:.3f}" if isinstance(moment, int | float) else str(moment or "")
        table.add_row(Text(shown), Text(str(kind), style), Text(detail))
    return table


def error_text(task: dict[str, Any]) -> Text:
    result = task.get("result") if isinstance(task.get("result"), dict) else {}
    parts = []
    if task.get("error"):
        parts.append(("Pulp task error", task["error"]))
    if result.get("error"):
        parts.append(("Probe error", result["error"]))
    closed_by = read_outcome(task).closed_by_text()
    if closed_by:
        parts.append(("Connection closed", closed_by))
    if result.get("server_message") or result.get("sqlstate"):
        parts.append(
            (
                "Server said",
                f"{result.get('sqlstate') or ''} {result.get('server_message') or ''}".strip(),
            )
        )
    if not parts:
        return Text("No error.", "green")
    text = Text()
    for title, value in parts:
        text.append(f"{title}\n", "bold red")
        if isinstance(value, dict):
            for key, item in value.items():
                text.append(f"  {key}: {item}\n")
        else:
            text.append(f"  {value}\n")
    return text


class DetailScreen(Screen):
    """Everything about one task."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy JSON"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, task: dict[str, Any], row: TaskRow | None = None) -> None:
        super().__init__()
        self.task_data = task
        self.row = row

    @property
    def result(self) -> dict[str, Any]:
        result = self.task_data.get("result")
        return result if isinstance(result, dict) else {}

    def compose(self) -> ComposeResult:
        # Set before the Header mounts (a change while it unmounts would crash it).
        self.sub_title = str(self.task_data.get("pulp_href", ""))
        yield Header()
        title = short_label(str(self.task_data.get("test_name", "task")))
        yield Static(
            Text(f"{title}  ({self.task_data.get('state', '?')})", "bold"),
            id="detail-title",
            classes="hint",
        )
        if self.row is not None:
            yield TimerBar(
                self.row.planned, self.row.cutoff, died_at=self.row.died_at, id="detail-bar"
            )
        with TabbedContent(id="detail-tabs"):
            with TabPane("Result", id="tab-result"):
                yield VerticalScroll(
                    Static(self._result_table(), id="result-fields"), classes="read-pane"
                )
            with TabPane("Timeline", id="tab-timeline"):
                events = self.result.get("events") or []
                yield VerticalScroll(Static(timeline_table(events)), classes="read-pane")
            with TabPane("Server", id="tab-server"):
                pairs = list((self.result.get("server_settings") or {}).items())
                pairs += [(f"target {k}", v) for k, v in (self.result.get("target") or {}).items()]
                body = (
                    key_value_table(pairs)
                    if pairs
                    else Text("The server did not report its settings.", "dim")
                )
                yield VerticalScroll(Static(body), classes="read-pane")
            with TabPane("Error", id="tab-error"):
                yield VerticalScroll(Static(error_text(self.task_data)), classes="read-pane")
            with TabPane("JSON", id="tab-json"):
                yield VerticalScroll(Static(Text(self.raw_json())), classes="read-pane")
        yield Footer()

    def _result_table(self) -> Table | Text:
        pairs = [
            (f"task {key}", self.task_data.get(key))
            for key in TASK_FIELDS
            if self.task_data.get(key) is not None
        ]
        closed_by = read_outcome(self.task_data).closed_by_text()
        if closed_by:
            pairs.append(("connection closed", closed_by))
        pairs += [(key, value) for key, value in self.result.items() if key not in SEPARATE_FIELDS]
        if not self.result:
            pairs.append(("result", "none yet (the result arrives when the task ends)"))
        return key_value_table(pairs)

    def on_mount(self) -> None:
        if self.row is not None:
            bar = self.query_one(TimerBar)
            bar.elapsed = self.row.elapsed(self.app.clock.monotonic())  # type: ignore[attr-defined]
            bar.state = self.row.bar_state

    def raw_json(self) -> str:
        return json.dumps(self.task_data, indent=2, ensure_ascii=False, default=str)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.raw_json())
        self.notify(
            "Task JSON copied to the clipboard (OSC 52: works over SSH in most terminals).",
            markup=False,
        )

    def action_back(self) -> None:
        self.app.pop_screen()

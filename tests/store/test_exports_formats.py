"""Exports for the ticket: Jira markup, the picture through render(), and hostile text
from the server or the database in every format (never markup, a formula or a control)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest

from rds_tui.report import FORMATS, render

from .test_report_diagnosis import make_run, session_mode_matrix

HOSTILE = (
    "[/x][@click=app.quit]*bold* _em_ `code` <b>x</b> |cell| {code}{noformat} =1+2 "
    "\x1b]52;c;ZXZpbA==\x07\x1b[2K\x00\u202e" + "A" * 10_000
)


def outside_blocks(text: str, fence: str) -> str:
    """The markup outside preformatted blocks (inside them text is shown as is)."""
    kept, inside = [], False
    for line in text.splitlines():
        if line.startswith(fence):
            inside = not inside
        elif not inside:
            kept.append(line)
    assert not inside, "a preformatted block is never closed"
    return "\n".join(kept)


def hostile_tasks() -> list[dict]:
    tasks = session_mode_matrix()
    result = tasks[0]["result"]
    result["server_message"] = HOSTILE
    for field in ("status", "detected_by", "client_message"):  # every text column too
        result[field] = HOSTILE
    tasks[1]["result"]["error"] = {"type": HOSTILE, "message": HOSTILE}
    result["events"] = [{"t": 1.0, "event": "notification", "detail": HOSTILE}]
    tasks[2]["error"] = {"description": '=HYPERLINK("http://evil")' + HOSTILE}
    return tasks


def test_jira_markup_for_the_ticket():
    text = render(make_run(), session_mode_matrix(), "jira")
    lines = text.splitlines()
    assert lines[0].startswith("h1. RDS connection tests: run ")
    assert "h2. Results" in lines and "h2. Diagnosis" in lines and "h2. Collect next" in lines
    header = next(line for line in lines if line.startswith("||"))
    assert header == (
        "||Test||Task||Connection||Died after||Idle before death||Detected by||Server message||"
    )
    row = next(line for line in lines if line.startswith("|test\\_1\\_idle\\_connection|"))
    assert row.count("|") == 8 and "|DIED|" in row and "57P05" in row
    assert any(line.startswith("* *Recommendation:* ") for line in lines)
    assert lines.count("{noformat}") % 2 == 0  # every block closed


@pytest.mark.parametrize("fmt", ["md", "jira", "csv", "json", "svg"])
def test_hostile_text_never_becomes_markup_formula_or_control(fmt):
    text = render(make_run(), hostile_tasks(), fmt)
    for control in ("\x1b", "\x07", "\x00", "\u202e"):
        assert control not in text
    if fmt == "md":
        text = outside_blocks(text, "```")
        assert "[/x]" not in text and "*bold*" not in text and "<b>" not in text
        assert "\\[/x\\]" in text and "\\*bold\\*" in text
        assert all(line.count(" | ") <= 7 for line in text.splitlines() if line.startswith("| "))
    if fmt == "jira":
        blocks = text
        text = outside_blocks(text, "{noformat}")
        assert "{ noformat}" in blocks  # the payload cannot close the block early
        assert "{code}" not in text
        assert "\\[/x\\]" in text and "\\|cell\\|" in text
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    if fmt == "json":
        document = json.loads(text)  # still valid JSON
        assert "cut:" in json.dumps(document)  # 10 kB strings are bounded and say so
    if fmt == "svg":
        ET.fromstring(text)


def test_every_format_is_offered():
    assert set(FORMATS) == {"md", "jira", "csv", "json", "svg"}
    with pytest.raises(ValueError, match="use one of md, jira, csv, json, svg"):
        render(make_run(), [], "pdf")

"""What a run's results mean: the TEST SUMMARY, a diagnosis, and exports.

One job per module: `observations` reads results (through rds_tui.outcome), `summary`
writes the guide's TEST SUMMARY, `diagnosis` holds the rules, `fixes` the verdict of a
"verify the fix" run, `collect` what to gather from AWS next, `compare` runs side by
side, `document` the ticket's report (written by `markdown` and `jira`), `picture` the
SVG, `exports` the formats.
"""

from __future__ import annotations

from rds_tui.report.diagnosis import Diagnosis, Finding, diagnose
from rds_tui.report.exports import (
    CSV_COLUMNS,
    FORMATS,
    MANY_FORMATS,
    collect_lines,
    render,
    render_many,
    to_csv,
    to_jira,
    to_json,
    to_markdown,
    to_svg,
)
from rds_tui.report.observations import Observation, format_seconds, observe
from rds_tui.report.summary import summary_lines

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "MANY_FORMATS",
    "Diagnosis",
    "Finding",
    "Observation",
    "collect_lines",
    "diagnose",
    "format_seconds",
    "observe",
    "render",
    "render_many",
    "summary_lines",
    "to_csv",
    "to_jira",
    "to_json",
    "to_markdown",
    "to_svg",
]

"""The run's picture for the ticket: a real SVG with a lane per test and the metrics."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rds_tui.outcome import RunTiming
from rds_tui.report.collect import parse_metric_data, spans_of
from rds_tui.report.picture import to_svg

from .test_collect import production_run

FIXTURE = Path(__file__).parent / "data" / "get-metric-data.json"
SVG = "{http://www.w3.org/2000/svg}"
TIMING = RunTiming(
    time_unit_seconds=60.0,
    planned_seconds=3000.0,
    idle_cutoff_seconds=2400.0,
    in_transaction_cutoff_seconds=1800.0,
)


def text_of(svg: str) -> str:
    root = ET.fromstring(svg)  # parses as XML: a broken document fails here
    assert root.tag == f"{SVG}svg"
    # Each styled run is its own <text>; a screen line is every run at one height.
    lines: dict[float, list[tuple[float, str]]] = {}
    for node in root.iter(f"{SVG}text"):
        y, x = float(node.get("y", 0)), float(node.get("x", 0))
        lines.setdefault(y, []).append((x, "".join(node.itertext())))
    return "\n".join(
        "".join(run for _, run in sorted(runs)) for _, runs in sorted(lines.items())
    ).replace("\xa0", " ")


def test_one_lane_per_test_with_deaths_reasons_and_cutoffs():
    svg = to_svg("Run 20261128-090012-ab12 on prod", spans_of(production_run()), TIMING)
    root = ET.fromstring(svg)
    width = float(root.get("viewBox").split()[2])
    assert 1100 <= width <= 1400  # readable at 1200 px wide
    text = text_of(svg)
    for label in (
        "1 idle",
        "2 heartbeat",
        "3 idle transaction",
        "4 transaction + work",
        "6 LISTEN",
    ):
        assert label in text
    assert text.count("✕") >= 5  # tests 1, 3, 5, 6, 7 died (plus the legend)
    assert text.count("dead 40:02") == 4
    assert "dead 30:00 (+0.2 s) database ended it, 25P03" in text  # against its own cutoff
    assert "closed, no SQLSTATE (proxy or network)" in text
    assert text.count("alive after 50:00") == 2
    assert "┃" in text  # the survivors' lanes show where their cutoff was


def test_merged_metrics_share_the_time_axis():
    series = parse_metric_data(json.loads(FIXTURE.read_text()))
    text = text_of(to_svg("Run", spans_of(production_run()), TIMING, series))
    for label in ("client closes", "db pinned", "db in transaction"):
        assert label in text
    assert "12 to 17" in text  # db pinned: Pulp's 12 plus the run's 5 pinned probes


def test_hostile_text_is_drawn_literally():
    tasks = production_run()
    tasks[0]["result"]["client_message"] = "\x1b]52;c;ZXZpbA==\x07<script>alert(1)</script>[/x]"
    svg = to_svg("Run <b>&amp;</b>", spans_of(tasks), TIMING)
    text = text_of(svg)
    assert "\x1b" not in svg and "\x07" not in svg
    assert "<script>" not in svg.replace("&lt;script&gt;", "")
    assert "<script>a" in text  # shown as text, cut to the room left on the line


def test_a_run_that_has_not_started_says_so():
    tasks = production_run()
    for task in tasks:
        task["started_at"] = None
        task["result"] = None
    assert "nothing to draw" in text_of(to_svg("Run", spans_of(tasks), TIMING))

"""The benchmarks' common output: a figure is one measured number with its target.

Every benchmark script exposes `figures(...) -> list[dict]` and prints them with `--json`
(one JSON list on stdout); `bench/run.py` collects them all into one table.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
from collections.abc import Iterable

_COMPARE = {"<": operator.lt, "<=": operator.le, "==": operator.eq}


def figure(
    benchmark: str,
    name: str,
    value: float | None,
    unit: str,
    target: tuple[str, float] | None = None,
    note: str = "",
) -> dict:
    """One figure; `target` is (comparison, limit), e.g. ("<", 0.3), or None (shown for
    information: nothing is promised about it)."""
    met = None
    if target is not None and value is not None:
        met = _COMPARE[target[0]](value, target[1])
    return {
        "benchmark": benchmark,
        "figure": name,
        "value": value,
        "unit": unit,
        "target": f"{target[0]} {target[1]:g} {unit}".strip() if target else None,
        "met": met,
        "note": note,
    }


def machine() -> str:
    return f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark script's parser: its docstring's first line, and --json."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


def print_json(figures: list[dict]) -> None:
    print(json.dumps(figures, indent=1))


def table(figures: Iterable[dict]) -> str:
    """The figures as a plain-text table: figure, value, target, met (and the baseline's
    value when the figures were compared with one)."""
    figures = list(figures)
    compared = any("baseline" in item for item in figures)
    rows = [("benchmark", "figure", "value", "target", "", *(["baseline"] if compared else []))]
    for item in figures:
        verdict = {True: "ok", False: "MISSED", None: ""}[item["met"]]
        rows.append(
            (
                item["benchmark"],
                item["figure"],
                _shown(item["value"], item["unit"]),
                item["target"] or "(info)",
                verdict,
                *([_shown(item.get("baseline"), item["unit"])] if compared else []),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    notes = [f"  {item['figure']}: {item['note']}" for item in figures if item.get("note")]
    return "\n".join(line.rstrip() for line in lines + (["notes:", *notes] if notes else []))


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    number = f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return f"{number} {unit}".strip()

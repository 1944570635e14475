"""Several runs side by side (for example production against staging): one row per
test, one column per run, each cell the test's outcome in a few words. The dashboard's
compare screen and `rds-tui report RUN1 RUN2 ...` both show this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rds_tui import catalog
from rds_tui.clocktext import format_clock
from rds_tui.outcome import Outcome, read_outcome
from rds_tui.report.diagnosis import diagnose
from rds_tui.report.document import Bullet, Bullets, Document, Section, Table, task_rows

if TYPE_CHECKING:
    from rds_tui.runs import Run

NOT_IN_RUN = "not in this run"


@dataclass(frozen=True)
class Cell:
    """One test of one run: its words and how to colour them (dead/alive/other/absent)."""

    text: str
    kind: str  # "dead" | "alive" | "other" | "absent"


def cell(outcome: Outcome | None) -> Cell:
    if outcome is None:
        return Cell(NOT_IN_RUN, "absent")
    if outcome.died:
        text = f"dead {format_clock(outcome.died_after_seconds)}"
        if outcome.died_after_is_upper_bound:
            text = f"dead ≤ {format_clock(outcome.died_after_seconds)}"
        return Cell(f"{text} {outcome.sqlstate}" if outcome.sqlstate else text, "dead")
    if outcome.died is False:
        held = outcome.survived_seconds
        return Cell(f"alive {format_clock(held)}" if held else "alive", "alive")
    return Cell(outcome.state if outcome.state != "unknown" else "no result", "other")


def run_label(run: Run) -> str:
    return f"{run.profile or run.api_root} ({run.id})"


def _order(name: str) -> tuple[int, str]:
    return (catalog.TEST_NAMES.index(name), name) if name in catalog.TEST_NAMES else (99, name)


@dataclass
class Comparison:
    runs: list[Run]
    tests: list[str]  # catalog order
    cells: dict[str, list[Cell]]  # test name -> one cell per run
    idle_cutoffs: list[float | None]  # per run, estimated from its results

    def cutoff_lines(self) -> list[str]:
        lines = []
        for run, cutoff in zip(self.runs, self.idle_cutoffs, strict=True):
            shown = f"{format_clock(cutoff)} ({cutoff:.1f} s)" if cutoff is not None else "unknown"
            lines.append(f"{run_label(run)}: idle cutoff {shown}")
        return lines


def compare(runs: list[Run], tasks: list[list[dict[str, Any]]] | None = None) -> Comparison:
    """The runs side by side; `tasks` (one list per run) defaults to their stored results."""
    per_run = [
        task_rows(run, tasks[index] if tasks is not None else None)
        for index, run in enumerate(runs)
    ]
    outcomes = [
        {row["test_name"]: read_outcome(row) for row in rows if row.get("state") != "unknown"}
        for rows in per_run
    ]
    names = sorted({name for run in runs for name in run.tests}, key=_order)
    cells = {
        name: [
            cell(by_name.get(name)) if name in run.tests else Cell(NOT_IN_RUN, "absent")
            for run, by_name in zip(runs, outcomes, strict=True)
        ]
        for name in names
    }
    cutoffs = [diagnose(rows).estimated_idle_cutoff_seconds for rows in per_run]
    return Comparison(list(runs), names, cells, cutoffs)


def document(comparison: Comparison) -> Document:
    """The comparison as a report document (Markdown, Jira)."""
    table = Table(
        ["Test", *(run_label(run) for run in comparison.runs)],
        [[name, *(c.text for c in comparison.cells[name])] for name in comparison.tests],
    )
    recommendations = [
        Bullet(diagnose(task_rows(run, None)).recommendation, f"{run_label(run)}:")
        for run in comparison.runs
    ]
    return Document(
        f"RDS connection tests: {len(comparison.runs)} runs side by side",
        Bullets([Bullet(line) for line in comparison.cutoff_lines()]),
        [Section("Side by side", [table]), Section("Recommendations", [Bullets(recommendations)])],
    )

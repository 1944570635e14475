"""An interrupted direct run: its probes stopped early, each a canceled task whose result
says why (`abandoned`). The report reads them as partial results, never as failures
nor as full-length survivals."""

from __future__ import annotations

from rds_tui.outcome import read_outcome
from rds_tui.report import diagnose, summary_lines
from store.test_report_diagnosis import probe_result, task

STOPPED = (
    "the rds-tui run (stopped by the user) ended: the probe closed its connection and "
    "stopped 14.9 s after its start."
)


def stopped_early(number: int, **extra) -> dict:
    """A probe stopped 14.9 s into its planned 50 units, alive until then."""
    result = probe_result(
        number, died_after=None, planned=50.0, abandoned=STOPPED, actual_duration_seconds=14.9,
        **extra,
    )  # fmt: skip
    return task(number, result, state="canceled")


def test_a_stopped_probe_held_its_connection_only_until_the_stop():
    outcome = read_outcome(stopped_early(1))
    assert outcome.stopped_early == STOPPED
    assert outcome.died is False
    assert outcome.survived_seconds == 14.9, "not the planned 50 s"


def test_the_summary_lists_stopped_probes_apart():
    text = "\n".join(summary_lines([stopped_early(1), stopped_early(6)]))
    assert "STOPPED EARLY, PARTIAL RESULTS (2)" in text
    assert "Connection: ALIVE when stopped" in text
    assert "FAILED" not in text and "DEAD" not in text
    assert "Total: 2 | Passed: 0 | Failed: 0 | Stopped early: 2" in text


def test_the_diagnosis_says_partial_and_reads_survival_up_to_the_stop():
    diagnosis = diagnose([stopped_early(1), stopped_early(6)])
    titles = {item.title: item.detail for item in diagnosis.findings}
    assert "test_1_idle_connection was stopped early" in titles
    assert "partial" in titles["test_1_idle_connection was stopped early"]
    assert not any("produced no result" in title for title in titles)
    survived = next(detail for title, detail in titles.items() if "No idle cutoff" in title)
    assert "14.90 s" in survived and "50" not in survived


def test_a_probe_canceled_without_a_result_still_produced_none():
    diagnosis = diagnose([task(1, None, state="canceled")])
    assert any("produced no result" in item.title for item in diagnosis.findings)

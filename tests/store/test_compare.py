"""Runs side by side: the same table for the dashboard's compare and the CLI's report."""

from __future__ import annotations

from rds_tui.report import jira, markdown
from rds_tui.report.compare import compare, document

from .test_report_diagnosis import probe_result, run_of, session_mode_matrix, task


def staging_run():
    """Staging: only tests 1 and 6, both alive (no proxy in front)."""
    tasks = [task(1, probe_result(1, died_after=None)), task(6, probe_result(6, died_after=None))]
    return run_of(tasks, profile="staging", api_root="https://staging.example.com"), tasks


def test_two_runs_side_by_side():
    production_tasks = session_mode_matrix()
    production = run_of(production_tasks, profile="prod", api_root="https://pulp.example.com")
    staging, staging_tasks = staging_run()
    comparison = compare([production, staging], [production_tasks, staging_tasks])
    assert comparison.tests[0] == "test_1_idle_connection"
    assert [c.text for c in comparison.cells["test_1_idle_connection"]] == [
        "dead 00:05 57P05",
        "alive 00:12",
    ]
    assert comparison.cells["test_3_long_transaction"][1].text == "not in this run"
    assert comparison.cells["test_3_long_transaction"][0].kind == "dead"
    lines = comparison.cutoff_lines()
    assert lines[0].startswith(f"prod ({production.id}): idle cutoff 00:05")
    assert lines[1] == f"staging ({staging.id}): idle cutoff unknown"


def test_the_comparison_for_the_ticket():
    production_tasks = session_mode_matrix()
    production = run_of(production_tasks, profile="prod", api_root="https://pulp.example.com")
    staging, staging_tasks = staging_run()
    for run, tasks in ((production, production_tasks), (staging, staging_tasks)):
        for item in tasks:
            run.record_task(item)
    comparison = compare([production, staging])  # from the stored results
    text = markdown.write(document(comparison))
    assert text.startswith("# RDS connection tests: 2 runs side by side")
    assert f"| Test | prod ({production.id}) | staging ({staging.id}) |" in text
    assert "| test_6_listen_notify | dead 00:05 57P05 | alive 00:12 |" in text
    wiki = jira.write(document(comparison))
    assert "|test\\_6\\_listen\\_notify|dead 00:05 57P05|alive 00:12|" in wiki

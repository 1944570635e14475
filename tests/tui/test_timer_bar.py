"""The timer bar and the task rows: what the operator reads off the monitor."""

from __future__ import annotations

from datetime import timedelta

from rds_tui.clocktext import format_clock, format_delta
from rds_tui.models import Task
from rds_tui.monitor import TaskSnapshot
from rds_tui.outcome import RunTiming
from rds_tui.widgets.task_table import TaskRow, build_row
from rds_tui.widgets.timer_bar import (
    CUTOFF_MARK,
    DEATH_MARK,
    FILLED,
    BarState,
    past_cutoff,
    render_timer_bar,
)

from .conftest import FIXED_NOW
from .mock_pulp import dead_result

PRODUCTION = RunTiming(
    time_unit_seconds=60,
    planned_seconds=3000,
    idle_cutoff_seconds=2400,
    in_transaction_cutoff_seconds=None,
)


def test_clock_format_switches_to_hours_past_sixty_minutes():
    assert format_clock(0) == "00:00"
    assert format_clock(2399.9) == "39:59"
    assert format_clock(3725) == "1:02:05"
    assert format_clock(None) == "--:--"


def test_delta_is_precise_near_the_cutoff_and_compact_far_from_it():
    assert format_delta(2.46) == "+2.5s"
    assert format_delta(-42) == "-42s"
    assert format_delta(65) == "+1:05"


def test_cutoff_marker_sits_at_its_share_of_the_planned_duration():
    bar = render_timer_bar(elapsed=0, planned=3000, cutoff=2400, width=50)
    assert len(bar.plain) == 50
    assert bar.plain.index(CUTOFF_MARK) == 40  # 40:00 of 50:00 -> 80 % of 50 cells


def test_fill_follows_elapsed_time():
    half = render_timer_bar(elapsed=1500, planned=3000, cutoff=2400, width=40)
    assert half.plain.count(FILLED) in (20, 21)
    full = render_timer_bar(elapsed=3100, planned=3000, cutoff=2400, width=40)
    assert full.plain.count(FILLED) + full.plain.count(CUTOFF_MARK) == 40


def test_live_connection_past_the_cutoff_is_highlighted():
    before = render_timer_bar(2300, 3000, 2400, 40, BarState.ALIVE)
    after = render_timer_bar(2450, 3000, 2400, 40, BarState.ALIVE)
    fill_style = lambda text: str(text.spans[0].style) if text.spans else ""
    assert "yellow" not in fill_style(before)
    assert "yellow" in fill_style(after)
    assert past_cutoff(2450, 2400, BarState.ALIVE)
    assert not past_cutoff(2450, 2400, BarState.DEAD)  # a dead one is not "surviving"


def test_death_is_marked_where_it_happened():
    bar = render_timer_bar(2500, 3000, 2400, 50, BarState.DEAD, died_at=1200)
    assert bar.plain.index(DEATH_MARK) == 20


def row_of(
    test_name: str,
    state: str,
    *,
    after: float,
    timing: RunTiming = PRODUCTION,
    monotonic_now: float = 0.0,
    skew_seconds: float | None = None,
    previous=None,
    **task_fields,
):
    """The row of a task that started at FIXED_NOW, polled `after` seconds later."""
    task = Task(pulp_href=f"/t/{test_name}/", state=state, started_at=FIXED_NOW, **task_fields)
    return build_row(
        TaskSnapshot(test_name, task.pulp_href, task=task),
        timing,
        wall_now=FIXED_NOW + timedelta(seconds=after),
        monotonic_now=monotonic_now,
        skew_seconds=skew_seconds,
        previous=previous,
    )


def finished_dead(name: str, seconds: float, **result_options) -> dict:
    """The task fields of a probe that stopped on its disconnect."""
    return {
        "finished_at": FIXED_NOW + timedelta(seconds=seconds + 0.5),
        "result": dead_result(name, seconds, **result_options),
    }


def test_row_of_a_running_task_ticks_from_started_at_with_skew_correction():
    # The server's clock is 7 s ahead of ours: the task has really run 107 s.
    row = row_of(
        "test_1_idle_connection", "running", after=100, monotonic_now=50.0, skew_seconds=7.0
    )
    assert row.elapsed(50.0) == 107
    assert row.elapsed(53.0) == 110  # three seconds later, without another poll
    assert row.bar_state is BarState.ALIVE


def test_row_of_a_dead_connection_says_when_and_how_far_from_the_cutoff():
    name = "test_1_idle_connection"
    message = "terminating connection due to idle-session timeout"
    row = row_of(name, "completed", after=2403, **finished_dead(name, 2402.5, message=message))
    assert row.connection_text(0.0).plain == "dead 40:02 +2.5s"
    assert row.reason_line().endswith(
        ": the database server terminated the session (57P05 idle-session timeout)"
    )
    assert "after the expected cutoff 40:00" in row.reason_line()


def test_death_reported_while_running_is_timed_from_the_progress_reports_done():
    # The plugin's rds.disconnect report: `done` = milliseconds from the probe's start.
    # Its message is not read for the time (here it even says something else).
    report = {"code": "rds.disconnect", "message": "Connection closed after 9 s: 57P05 ...",
              "done": 2401250, "total": 3000000, "state": "failed"}  # fmt: skip
    row = row_of("test_6_listen_notify", "running", after=2500, progress_reports=[report])
    assert row.died and row.died_at == 2401.25
    assert row.connection_text(0.0).plain == "dead 40:01 +1.2s"


def test_an_older_plugins_death_is_timed_by_the_first_poll_that_saw_it():
    report = {"code": "rds.disconnect", "message": "Connection closed", "done": 1, "total": 1}
    first = row_of("test_1_idle_connection", "running", after=2410, progress_reports=[report])
    assert first.died and first.died_at == 2410
    later = row_of(
        "test_1_idle_connection",
        "running",
        after=2470,
        monotonic_now=60.0,
        previous=first,
        progress_reports=[report],
    )
    assert later.died_at == 2410


def test_a_transaction_test_is_measured_against_the_in_transaction_cutoff():
    lab = RunTiming(
        time_unit_seconds=1,
        planned_seconds=200,
        idle_cutoff_seconds=40,
        in_transaction_cutoff_seconds=30,
    )
    rows = {
        name: row_of(
            name,
            "completed",
            after=31,
            timing=lab,
            **finished_dead(name, 30.0, message="terminating", sqlstate="25P03", planned=200),
        )
        for name in ("test_1_idle_connection", "test_3_long_transaction")
    }
    assert rows["test_3_long_transaction"].cutoff == 30
    assert rows["test_3_long_transaction"].connection_text(0.0).plain == "dead 00:30 +0.0s"
    assert rows["test_1_idle_connection"].connection_text(0.0).plain == "dead 00:30 -10s"


def test_the_longest_verdict_fits_its_column():
    for planned in (45.0, 200.0, 3000.0, 18000.0):
        width = TaskRow("k", "test_1_idle_connection", "running", planned, 40.0).verdict_width()
        for died_at in (0.0, 9.96, 30.0, 40.0, planned / 2, planned):
            row = TaskRow(
                "k", "test_1_idle_connection", "completed", planned, 40.0,
                final_elapsed=planned, died=True, died_at=died_at,
            )  # fmt: skip
            assert len(row.connection_text(0.0).plain) <= width, (planned, died_at)

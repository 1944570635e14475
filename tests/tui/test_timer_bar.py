"""The timer bar and the task rows: what the operator reads off the monitor."""

from __future__ import annotations

from datetime import timedelta

from rds_tui.models import Task
from rds_tui.monitor import TaskSnapshot
from rds_tui.widgets.task_table import build_row
from rds_tui.widgets.timer_bar import (
    CUTOFF_MARK,
    DEATH_MARK,
    FILLED,
    BarState,
    format_clock,
    format_delta,
    past_cutoff,
    render_timer_bar,
)

from .conftest import FIXED_NOW
from .mock_pulp import dead_result


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


def test_row_of_a_running_task_ticks_from_started_at_with_skew_correction():
    started = FIXED_NOW - timedelta(seconds=100)
    task = Task(pulp_href="/pulp/api/v3/tasks/1/", state="running", started_at=started)
    snapshot = TaskSnapshot("test_1_idle_connection", task.pulp_href, task=task)
    # The server's clock is 7 s ahead of ours: the task has really run 107 s.
    row = build_row(
        snapshot,
        planned=3000,
        cutoff=2400,
        wall_now=FIXED_NOW,
        monotonic_now=50.0,
        skew_seconds=7.0,
    )
    assert row.elapsed(50.0) == 107
    assert row.elapsed(53.0) == 110  # three seconds later, without another poll
    assert row.bar_state is BarState.ALIVE


def test_row_of_a_dead_connection_says_when_and_how_far_from_the_cutoff():
    result = dead_result(
        "test_1_idle_connection", 2402.5, "terminating connection due to idle-session timeout"
    )
    task = Task(
        pulp_href="/t/1/",
        state="completed",
        started_at=FIXED_NOW,
        finished_at=FIXED_NOW + timedelta(seconds=2403),
        result=result,
    )
    snapshot = TaskSnapshot("test_1_idle_connection", task.pulp_href, task=task)
    row = build_row(
        snapshot,
        planned=3000,
        cutoff=2400,
        wall_now=FIXED_NOW,
        monotonic_now=0.0,
        skew_seconds=None,
    )
    assert row.connection_text(0.0).plain == "dead 40:02 +2.5s"
    assert "idle-session timeout (57P05)" in row.reason_line()
    assert "after the expected cutoff 40:00" in row.reason_line()


def test_death_reported_while_running_is_timed_from_the_progress_report():
    task = Task(pulp_href="/t/1/", state="running", started_at=FIXED_NOW)
    snapshot = TaskSnapshot("test_6_listen_notify", task.pulp_href, task=task, connection_died=True)
    detail = (
        "Connection closed after 2401.250 s (2401.200 s after the probe's last "
        "message), detected by passive-watch: 57P05 terminating connection"
    )
    row = build_row(
        snapshot,
        planned=3000,
        cutoff=2400,
        wall_now=FIXED_NOW,
        monotonic_now=0.0,
        skew_seconds=None,
        death_detail=detail,
    )
    assert row.died_at == 2401.25
    assert row.connection_text(0.0).plain == "dead 40:01 +1.2s"

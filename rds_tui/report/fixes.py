"""Whether a fix holds: a fix pattern measured against its control. The one place that
plans a "verify the fix" run and judges it (the CLI's `verify`, the dashboard's verify
action and the diagnosis all use it).

The control is test 6 (LISTEN, idle: what Pulp's workers hold); the fix is test 8 (the
same LISTEN plus a client heartbeat) or test 9 (idle, with TCP keepalives). Both run
side by side for longer than the cutoff. The control dies and the fix lives: the fix
holds. Both die: it does not hold. The control lives: the run says nothing (too short,
or no cutoff to beat).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rds_tui.catalog import CONTROL_TEST, HEARTBEAT_FIX_TEST, KEEPALIVE_FIX_TEST
from rds_tui.constants import (
    DEFAULT_TIME_UNIT_SECONDS,
    MAX_DURATION_MINUTES,
    PRODUCTION_CUTOFF_SECONDS,
)
from rds_tui.report.observations import Observation, format_seconds, observe

HEARTBEAT = "heartbeat"
KEEPALIVE = "keepalive"
HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
INCONCLUSIVE = "inconclusive"

# A verify run lasts the cutoff plus a quarter of it (at least two time units): the
# control must die inside the run, and cutoffs land late by the proxy's check period and
# a busy machine's delays (production: cut at 40-46 min for a 40 min estimate, +15%).
# For the production estimate (40 min) that is 50 min: the guide's own duration.
VERIFY_MARGIN_FRACTION = 0.25
VERIFY_MIN_MARGIN_UNITS = 2
# libpq's keepalives_count the plugin sets (shown in the settings snippet).
KEEPALIVES_COUNT = 3


@dataclass(frozen=True)
class Fix:
    kind: str  # HEARTBEAT | KEEPALIVE
    test_name: str
    flag: str  # verify's option


FIXES = {
    HEARTBEAT: Fix(HEARTBEAT, HEARTBEAT_FIX_TEST, "--heartbeat"),
    KEEPALIVE: Fix(KEEPALIVE, KEEPALIVE_FIX_TEST, "--keepalive"),
}


def verify_duration_minutes(cutoff_seconds: float, time_unit_seconds: float) -> int:
    """How long a verify run lasts, in the server's minutes: the cutoff plus the margin."""
    margin = max(
        VERIFY_MARGIN_FRACTION * cutoff_seconds, VERIFY_MIN_MARGIN_UNITS * time_unit_seconds
    )
    return min(
        MAX_DURATION_MINUTES, max(1, math.ceil((cutoff_seconds + margin) / time_unit_seconds))
    )


@dataclass(frozen=True)
class VerifyPlan:
    """How long a verify run lasts and why."""

    cutoff_seconds: float
    cutoff_source: str  # "profile NAME" | "server" | "production default"
    time_unit_seconds: float
    duration_minutes: int

    def text(self) -> str:
        seconds = self.duration_minutes * self.time_unit_seconds
        return (
            f"{self.duration_minutes} minutes of the server ({format_seconds(seconds)}): the "
            f"expected cutoff {format_seconds(self.cutoff_seconds)} ({self.cutoff_source}) plus "
            f"{VERIFY_MARGIN_FRACTION:.0%} (at least {VERIFY_MIN_MARGIN_UNITS} minutes), so "
            "the control dies inside the run"
        )


def verify_plan(
    server_cutoff: float | None,
    time_unit_seconds: float | None,
    profile_cutoff: float | None = None,
    profile_name: str | None = None,
) -> VerifyPlan:
    """The cutoff to beat (the profile's, else the server's, else production's) and the
    duration that beats it."""
    unit = time_unit_seconds or DEFAULT_TIME_UNIT_SECONDS
    if profile_cutoff:
        cutoff, source = float(profile_cutoff), f"profile {profile_name}"
    elif server_cutoff:
        cutoff, source = float(server_cutoff), "the server's"
    else:
        cutoff, source = PRODUCTION_CUTOFF_SECONDS, "production's default"
    return VerifyPlan(cutoff, source, unit, verify_duration_minutes(cutoff, unit))


def verify_tests(kind: str) -> list[str]:
    """What a verify run dispatches: the control, then the fix."""
    return [CONTROL_TEST, FIXES[kind].test_name]


def verify_command(kind: str, seconds: float, profile: str | None = None) -> str:
    """The exact command line that settles whether the fix `kind` holds."""
    where = f" --profile {profile}" if profile else ""
    return f"rds-tui verify{where} {FIXES[kind].flag} {seconds:g}"


@dataclass(frozen=True)
class FixVerdict:
    """What a run says about one fix."""

    kind: str
    verdict: str  # HOLDS | DOES_NOT_HOLD | INCONCLUSIVE
    interval_seconds: float | None
    reason: str  # one plain sentence: why this verdict
    control_died_after_seconds: float | None = None  # of client silence
    fix_held_seconds: float | None = None  # the fix's connection lived this long
    fix_died_after_seconds: float | None = None  # of client silence
    socket_keepalive: dict[str, Any] | None = None  # test 9's getsockopt read-back

    @property
    def holds(self) -> bool | None:
        return {HOLDS: True, DOES_NOT_HOLD: False}.get(self.verdict)

    @property
    def what(self) -> str:
        every = f" every {format_seconds(self.interval_seconds)}" if self.interval_seconds else ""
        if self.kind == HEARTBEAT:
            return f"A client heartbeat (SELECT 1){every} on a LISTEN connection"
        return f"TCP keepalives{every} on an idle connection"

    def headline(self) -> str:
        if self.verdict == HOLDS:
            return f"The fix holds: {self.what} kept it alive. {self.reason}"
        if self.verdict == DOES_NOT_HOLD:
            return f"The fix does not hold: {self.what} did not keep it alive. {self.reason}"
        return f"Inconclusive: {self.what}. {self.reason}"

    def settings_snippet(self) -> list[str]:
        """The Pulp settings that apply this fix (empty unless it held)."""
        if self.verdict != HOLDS or not self.interval_seconds:
            return []
        return settings_snippet(self.kind, self.interval_seconds)

    def to_json(self) -> dict[str, Any]:
        return {
            "fix": self.kind,
            "test": FIXES[self.kind].test_name,
            "control": CONTROL_TEST,
            "verdict": self.verdict,
            "holds": self.holds,
            "interval_seconds": self.interval_seconds,
            "reason": self.reason,
            "control_died_after_seconds": self.control_died_after_seconds,
            "fix_held_seconds": self.fix_held_seconds,
            "fix_died_after_seconds": self.fix_died_after_seconds,
            "socket_keepalive": self.socket_keepalive,
            "headline": self.headline(),
            "pulp_settings": self.settings_snippet(),
        }


def settings_snippet(kind: str, seconds: float) -> list[str]:
    """Pulp settings for a fix that held, as lines to paste.

    Keepalives: libpq parameters in Django's DATABASES OPTIONS (pulpcore's dynaconf reads
    PULP_DATABASES__default__OPTIONS__<name> and merges it into the dict). Heartbeat:
    pulpcore's worker writes its heartbeat (UPDATE core_appstatus) on the very connection
    that LISTENs, every WORKER_TTL / 3 seconds (tasking/worker.py, 3.116 to 3.123): that
    write is the client heartbeat, so WORKER_TTL must be at most 3 x the interval.
    """
    if kind == KEEPALIVE:
        n = max(1, math.ceil(seconds))
        return [
            '# settings.py, inside DATABASES["default"]["OPTIONS"]:',
            f'"keepalives": 1, "keepalives_idle": {n}, "keepalives_interval": {n},',
            f'"keepalives_count": {KEEPALIVES_COUNT},',
            "# or the environment of pulpcore-api and every pulpcore-worker:",
            "PULP_DATABASES__default__OPTIONS__keepalives=1",
            f"PULP_DATABASES__default__OPTIONS__keepalives_idle={n}",
            f"PULP_DATABASES__default__OPTIONS__keepalives_interval={n}",
            f"PULP_DATABASES__default__OPTIONS__keepalives_count={KEEPALIVES_COUNT}",
        ]
    ttl = max(1, math.floor(3 * seconds))
    return [
        "# pulpcore's worker writes its heartbeat on its LISTEN connection every",
        "# WORKER_TTL / 3 seconds: keep that at most the interval that held.",
        f"WORKER_TTL = {ttl}    # settings.py (default 30: a heartbeat every 10 s)",
        f"PULP_WORKER_TTL={ttl}    # or the environment of every pulpcore-worker",
        "# Other long-lived connections (a task's own, pulpcore-api's) send no heartbeat:",
        "# they need code that runs SELECT 1 at that interval, or the proxy bypassed.",
    ]


def _by_test(observations: list[Observation]) -> dict[str, Observation]:
    found: dict[str, Observation] = {}
    for observation in observations:
        found.setdefault(observation.test_name, observation)
    return found


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _interval(kind: str, fix: Observation) -> float | None:
    result = fix.result
    if result is None:
        return None
    field = "heartbeat_interval_seconds" if kind == HEARTBEAT else "keepalive_interval_seconds"
    return _number(getattr(result, field, None))


def _socket_keepalive(fix: Observation) -> dict[str, Any] | None:
    raw = getattr(fix.result, "tcp_keepalive", None) if fix.result is not None else None
    socket = raw.get("socket") if isinstance(raw, dict) else None
    return socket if isinstance(socket, dict) else None


def _no_result(observation: Observation | None, name: str) -> str | None:
    """Why `name` cannot be judged yet, or None when its outcome is known."""
    if observation is None:
        return f"The run has no {name}."
    if observation.task_state in ("waiting", "running", "canceling"):
        return f"{name} is still {observation.task_state}: judge it when it ends."
    if not observation.has_result or observation.died is None:
        state = observation.task_state or "unknown"
        return f"{name} produced no result (task {state}): run the verification again."
    return None


def judge(observations: list[Observation], kind: str) -> FixVerdict | None:
    """The verdict on fix `kind` from a run's observations; None when the run has no
    result of the fix pattern at all (it was not tested)."""
    fix_name = FIXES[kind].test_name
    by_test = _by_test(observations)
    fix = by_test.get(fix_name)
    if fix is None:
        return None
    control = by_test.get(CONTROL_TEST)
    interval = _interval(kind, fix)
    socket = _socket_keepalive(fix) if kind == KEEPALIVE else None

    def verdict(value: str, reason: str, **fields: Any) -> FixVerdict:
        return FixVerdict(kind, value, interval, reason, socket_keepalive=socket, **fields)

    missing = _no_result(fix, fix_name) or _no_result(control, f"{CONTROL_TEST} (the control)")
    if missing:
        return verdict(INCONCLUSIVE, missing)
    assert control is not None
    control_died = control.idle_seconds if control.died else None
    fields = {
        "control_died_after_seconds": control_died,
        "fix_held_seconds": fix.survived_seconds if fix.died is False else None,
        "fix_died_after_seconds": fix.idle_seconds if fix.died else None,
    }
    if not control.died:
        held = format_seconds(control.survived_seconds)
        return verdict(
            INCONCLUSIVE,
            f"The control ({CONTROL_TEST}) lived for {held}: the run was shorter than the "
            "cutoff, or there is no cutoff to beat. Run longer than the cutoff.",
            **fields,
        )
    if kind == KEEPALIVE and not (socket and socket.get("so_keepalive")):
        return verdict(
            INCONCLUSIVE,
            "The probe's socket had no TCP keepalives (read back with getsockopt: "
            f"{socket or 'nothing reported'}), so the run says nothing about them.",
            **fields,
        )
    if fix.died:
        same = f", like the control ({format_seconds(control_died)})"
        hint = ""
        if kind == HEARTBEAT and interval and control_died and 2 * interval > control_died:
            hint = (
                " The heartbeat was not well below the cutoff (at most half of it): "
                "try a shorter one."
            )
        return verdict(
            DOES_NOT_HOLD,
            f"{fix_name} died after {format_seconds(fix.idle_seconds)} of client silence"
            f"{same}.{hint}",
            **fields,
        )
    held = fix.survived_seconds
    if held is not None and control.seconds_to_disconnect and held < control.seconds_to_disconnect:
        return verdict(
            INCONCLUSIVE,
            f"{fix_name} lived, but only {format_seconds(held)}: less than the control "
            f"lived ({format_seconds(control.seconds_to_disconnect)}).",
            **fields,
        )
    return verdict(
        HOLDS,
        f"{fix_name} lived {format_seconds(held)} while the control died after "
        f"{format_seconds(control_died)} of client silence.",
        **fields,
    )


def judge_observations(observations: list[Observation]) -> list[FixVerdict]:
    """A verdict for every fix the run tested."""
    return [v for kind in FIXES if (v := judge(observations, kind)) is not None]


def judge_tasks(tasks: list[dict[str, Any]]) -> list[FixVerdict]:
    """judge_observations for task dicts (as `report.diagnose` takes them)."""
    return judge_observations([observe(task) for task in tasks])

"""Reading results for the report: one Observation per test of a run, built on the
task's outcome (rds_tui.outcome) plus the result fields only the report shows.

Input: task dicts as Pulp returns them (`state`, `started_at`, `finished_at`, `error`,
`result`), each annotated with `test_name` (see `Run.task_results()`), or bare probe
result dicts. Results of the original pulp-service endpoint (only `test`,
`connection_alive`, `status`, `duration_minutes`, `error`, ...) are read too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rds_tui.models import ProbeResult
from rds_tui.outcome import Outcome, error_text, pattern_number, read_outcome


def same_time(a: float, b: float) -> bool:
    """Two disconnect times that one cutoff explains (5%, at least 1 s apart)."""
    return abs(a - b) <= max(1.0, 0.05 * max(a, b))


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{seconds:.0f} s ({minutes} min {rest:02d} s)"


def notify_latency(value: Any) -> tuple[float | None, float | None]:
    """(median, max) of `notify_latency_ms`, whatever its shape."""
    if isinstance(value, dict):
        return value.get("median"), value.get("max")
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    return None, None


@dataclass
class Observation:
    """The facts of one test of a run that the summary, diagnosis and exports use."""

    test_name: str
    number: int | None
    task_state: str | None  # None when only a bare result was given
    task_error: str | None
    result: ProbeResult | None
    outcome: Outcome

    @property
    def has_result(self) -> bool:
        return self.result is not None and bool(self.result.model_dump(exclude_none=True))

    @property
    def died(self) -> bool | None:
        return self.outcome.died

    @property
    def precise(self) -> bool:
        """True when the death was timed as it happened: not estimated from the original
        endpoint's minutes, nor found only by the final check at the end."""
        return self.outcome.precise

    @property
    def seconds_to_disconnect(self) -> float | None:
        return self.outcome.died_after_seconds

    @property
    def idle_seconds(self) -> float | None:
        """Seconds of client silence before the death (falls back to time since start)."""
        if self.result is not None and self.result.idle_seconds_before_disconnect is not None:
            return self.result.idle_seconds_before_disconnect
        return self.seconds_to_disconnect

    @property
    def survived_seconds(self) -> float | None:
        """How long a surviving connection was held."""
        return self.outcome.survived_seconds

    @property
    def label(self) -> str:
        return f"test {self.number}" if self.number else self.test_name


def observe(item: dict[str, Any]) -> Observation:
    """Read a task dict (or a bare probe result dict) into an Observation."""
    is_task = "state" in item or "pulp_href" in item
    raw_result = item.get("result") if is_task else item
    result = ProbeResult.lenient(raw_result) if isinstance(raw_result, dict) else None
    outcome = read_outcome(item)
    return Observation(
        test_name=outcome.test_name,
        number=pattern_number(
            item.get("test_name"),
            result.test_name if result else None,
            result.test if result else None,
        ),
        task_state=item.get("state") if is_task else None,
        task_error=error_text(item.get("error")) if is_task else None,
        result=result,
        outcome=outcome,
    )

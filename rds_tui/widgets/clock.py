"""The clocks the dashboard's timers read, injectable so tests can stop time.

Timers are anchored once per poll on the wall clock (corrected for the server's
clock skew) and then advanced with the monotonic clock, so a wall-clock jump on
the operator's machine never makes a 50-minute timer leap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime


class Clock:
    """The real clocks."""

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class FixedClock(Clock):
    """A clock that only moves when told to (tests and snapshots)."""

    now: datetime
    mono: float = 1000.0

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.now = self.now + timedelta(seconds=seconds)
        self.mono += seconds

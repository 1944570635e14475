"""Running aggregates of a probe's observations: bounded memory however long it runs."""

import random
import statistics

# Distinct backend pids a result lists (a multiplexing proxy may show a new one each beat).
MAX_PIDS_LISTED = 50
# Latencies kept for the median: exact up to this many, a uniform sample beyond.
LATENCY_SAMPLE = 1001


class BackendPids:
    """The backend pids a probe saw: the first, the distinct ones in order (bounded)."""

    def __init__(self):
        self.observations = 0
        self.distinct: list[int] = []
        self.varied = False

    def add(self, pid: int) -> None:
        self.observations += 1
        if self.distinct and pid != self.distinct[0]:
            self.varied = True
        if pid not in self.distinct and len(self.distinct) < MAX_PIDS_LISTED:
            self.distinct.append(pid)

    @property
    def first(self) -> int | None:
        return self.distinct[0] if self.distinct else None

    @property
    def pinned(self) -> bool | None:
        """Every observation saw the same backend; None with fewer than two observations."""
        return None if self.observations < 2 else not self.varied


class LatencyStats:
    """Count, mean, max and median of a stream of latencies, in bounded memory."""

    def __init__(self, seed: int = 0):
        self.count = 0
        self._total = 0.0
        self._max = 0.0
        self._sample: list[float] = []
        self._random = random.Random(seed)

    def add(self, value: float) -> None:
        self.count += 1
        self._total += value
        self._max = max(self._max, value)
        if len(self._sample) < LATENCY_SAMPLE:
            self._sample.append(value)
        else:  # reservoir sampling: every value so far equally likely to be kept
            slot = self._random.randrange(self.count)
            if slot < LATENCY_SAMPLE:
                self._sample[slot] = value

    def summary(self) -> dict | None:
        if not self.count:
            return None
        return {
            "median": round(statistics.median(self._sample), 3),
            "max": round(self._max, 3),
            "mean": round(self._total / self.count, 3),
            "count": self.count,
        }

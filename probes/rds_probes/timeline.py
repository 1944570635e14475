"""A bounded, thread-safe timeline of what a probe did and saw.

A 50-minute probe with short intervals can produce thousands of events; the task result
must stay small, so the timeline keeps the first HEAD and the last TAIL events and
counts what it dropped in between (the start and the end are what users read). Each
event's text is bounded too (a NOTIFY payload that anyone may send to a probe's channel
can be 8000 bytes), so the whole timeline stays under MAX_TIMELINE_BYTES as JSON.
"""

import json
import threading
import time
from collections import deque

HEAD = 100
TAIL = 200
# The longest `detail` kept, measured as JSON (escapes included); longer ones are cut.
MAX_DETAIL_BYTES = 400
# An event's other fields: time, kind, sqlstate, detected_by, latency, JSON punctuation.
EVENT_OVERHEAD_BYTES = 200
MAX_TIMELINE_BYTES = (HEAD + TAIL + 1) * (MAX_DETAIL_BYTES + EVENT_OVERHEAD_BYTES)


def bounded(text: str, limit: int = MAX_DETAIL_BYTES) -> str:
    """`text`, cut so that its JSON encoding fits in `limit` bytes, saying how much was cut."""
    if len(json.dumps(text)) <= limit:
        return text
    marker = f"... ({len(text)} characters)"
    kept = text[: limit - len(marker)]
    while len(json.dumps(kept + marker)) > limit:  # escapes take up to 6 bytes a character
        kept = kept[: len(kept) * 2 // 3]
    return kept + marker


class Timeline:
    def __init__(self, start_monotonic: float, head: int = HEAD, tail: int = TAIL):
        self._start = start_monotonic
        self._head_size = head
        self._head: list[dict] = []
        self._tail: deque[dict] = deque(maxlen=tail)
        self._dropped = 0
        self._lock = threading.Lock()

    def add(self, kind: str, detail: str = "", at: float | None = None, **data) -> None:
        """Record an event `at` a monotonic time (now by default)."""
        moment = time.monotonic() if at is None else at
        event = {"t": round(moment - self._start, 3), "event": kind}
        if detail:
            event["detail"] = bounded(detail)
        event.update(data)
        with self._lock:
            if len(self._head) < self._head_size:
                self._head.append(event)
                return
            if len(self._tail) == self._tail.maxlen:
                self._dropped += 1
            self._tail.append(event)

    @property
    def dropped(self) -> int:
        with self._lock:
            return self._dropped

    def as_list(self) -> list[dict]:
        """The kept events in order, with one marker where events were dropped."""
        with self._lock:
            events = list(self._head)
            if self._dropped:
                events.append(
                    {"t": self._tail[0]["t"], "event": "events-dropped", "count": self._dropped}
                )
            events.extend(self._tail)
            return events

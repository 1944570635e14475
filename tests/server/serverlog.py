"""PostgreSQL's own record of when it ended a probe's session: its log line.

The lab's PostgreSQL logs with the default prefix (millisecond timestamp, backend pid), so
"FATAL:  terminating connection due to idle-... timeout" says when the server closed
which backend, by the server's clock. Timing claims are measured against it rather than
against two readings of the client's clock. (bench/probe_detection_latency.py uses it too.)
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

FATAL_LINE = re.compile(
    r"^(?P<at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[(?P<pid>\d+)\] FATAL:  "
    r"terminating connection due to idle"
)


def server_close_times(postgres_log: Path) -> dict[int, datetime]:
    """Backend pid -> when PostgreSQL ended it for idleness (idle or idle in transaction)."""
    closes = {}
    for line in postgres_log.read_text(errors="replace").splitlines():
        if match := FATAL_LINE.match(line):
            closes[int(match["pid"])] = datetime.fromisoformat(match["at"] + "+00:00")
    return closes


def postgres_log(lab: dict) -> Path:
    return Path(lab["processes"]["postgres"]["log"])

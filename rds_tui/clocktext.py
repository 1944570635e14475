"""Durations as people read them on a run's clock: "40:02", "1:02:03", "+2.5s".

Used by the reports, the CLI and the dashboard alike (no Textual here).
"""

from __future__ import annotations


def format_clock(seconds: float | None) -> str:
    """mm:ss under an hour, h:mm:ss beyond; "--:--" when unknown."""
    if seconds is None or seconds < 0:
        return "--:--"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def format_delta(seconds: float) -> str:
    """A signed distance in time, compact: "+2.5s", "-42s", "+1:05", "+1:02:03"."""
    sign = "+" if seconds >= 0 else "-"
    magnitude = abs(seconds)
    # The thresholds are where the rounded value changes width: 9.96 is "+10s", not "+10.0s".
    if magnitude < 9.95:
        return f"{sign}{magnitude:.1f}s"
    if magnitude < 60:
        return f"{sign}{magnitude:.0f}s"
    minutes, secs = divmod(int(magnitude), 60)
    if minutes < 60:
        return f"{sign}{minutes}:{secs:02d}"
    return sign + format_clock(magnitude)

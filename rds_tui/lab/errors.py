"""The lab's errors: each `str()` is a paragraph for the user (what went wrong, how to fix it)."""

from __future__ import annotations


class LabError(Exception):
    """A lab problem explained for the user: what went wrong and how to fix it."""


class LabAlreadyRunning(LabError):
    pass


class PortTaken(LabError):
    """A component could not bind its port (taken between our check and its start)."""

"""Turn any exception from the client core into one readable line for a screen.

The core's errors (ApiError, ProfileError, RunError) already carry a sentence a user
can act on; anything else is a bug, shown by type and message, never as a traceback.
"""

from __future__ import annotations


def describe_error(exc: BaseException) -> str:
    from rds_tui.api import ApiError
    from rds_tui.profiles import ProfileError
    from rds_tui.runs import RunError

    if isinstance(exc, ApiError | ProfileError | RunError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"Unexpected {type(exc).__name__}: {exc}"

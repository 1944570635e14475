"""Turn any exception from the client core into one readable line for a screen.

The core's errors (ApiError, ProfileError, RunError) already carry a sentence a user
can act on; anything else is a bug, shown by type and message, never as a traceback.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState


def describe_error(exc: BaseException) -> str:
    from rds_tui.api import ApiError
    from rds_tui.profiles import ProfileError
    from rds_tui.runs import RunError

    if isinstance(exc, ApiError | ProfileError | RunError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"Unexpected {type(exc).__name__}: {exc}"


class ShowsWorkerErrors:
    """Mixin for screens with background jobs (their @work has exit_on_error=False):
    an unexpected failure becomes a message in the screen and the dashboard keeps
    running. Expected errors (the core's ApiError...) are handled where they happen."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.notify(  # type: ignore[attr-defined]
                describe_error(event.worker.error), title="Error", severity="error", timeout=20
            )

"""Turn any exception from the client core into one readable line for a screen.

The core's errors (ApiError, ProfileError, RunError) carry a sentence a user can act
on; an API error states what the server did, and this module adds how to fix it in
the dashboard's words (the instance's fields, `e` to edit it). Anything else is a bug,
shown by type and message, never as a traceback.
"""

from __future__ import annotations

from typing import Any

from textual.worker import Worker, WorkerState

from rds_tui import remedies
from rds_tui.api_errors import ApiError

# Where the settings a remedy names are changed.
WHERE = "(e on Instances edits the instance)"


def instance_fields() -> dict[str, str]:
    """The dashboard's names for the settings rds_tui.remedies mentions: the labels of
    the instance form's fields, so the advice names what the form shows."""
    from rds_tui.screens.profile_form import TEXT_FIELDS

    label = {name: text for name, text, _ in TEXT_FIELDS}

    def fields(*names: str) -> str:
        return "the instance's " + " and ".join(label[name] for name in names)

    return {
        remedies.ADDRESS: fields("api_root"),
        remedies.API_ROOT: fields("api_prefix", "domain"),
        remedies.LOGIN: fields("username", "password_env") + " (or stored Password)",
        remedies.CLIENT_CERT: fields("cert", "key"),
        remedies.CA_BUNDLE: (
            f"the CA bundle's path as {fields('verify_ssl')} (false skips the check: insecure)"
        ),
    }


def describe_error(exc: BaseException) -> str:
    from rds_tui.direct.dsn import DsnError
    from rds_tui.direct.engine import DirectConnectionError, DirectUnavailable
    from rds_tui.profiles import ProfileError
    from rds_tui.runs import RunError

    if isinstance(exc, DirectConnectionError | DsnError | DirectUnavailable):
        return str(exc)  # worded for the user, with the fix; no Pulp advice applies
    if isinstance(exc, ApiError):
        return remedies.advise(exc, instance_fields(), WHERE)
    if isinstance(exc, ProfileError | RunError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"Unexpected {type(exc).__name__}: {exc}"


def notify_error(widget: Any, error: BaseException | str, title: str = "") -> None:
    """An error toast, long enough to read; plain text, as it may quote the server."""
    message = error if isinstance(error, str) else describe_error(error)
    widget.notify(message, title=title, severity="error", timeout=20, markup=False)


class ShowsWorkerErrors:
    """Mixin for screens with background jobs (their @work has exit_on_error=False):
    an unexpected failure becomes a message in the screen and the dashboard keeps
    running. Expected errors (the core's ApiError...) are handled where they happen,
    worded with describe_error."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            notify_error(self, event.worker.error, "Error")

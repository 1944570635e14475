"""Turn any exception from the client core into one readable line for a screen.

The core's errors (ApiError, ProfileError, RunError) carry a sentence a user can act
on; an API error states what the server did, and this module adds how to fix it in
the dashboard's words (the instance's fields, `e` to edit it). Anything else is a bug,
shown by type and message, never as a traceback.
"""

from __future__ import annotations

from textual.worker import Worker, WorkerState

from rds_tui import api_errors as e

EDIT = "(e on Instances edits it)"
CLIENT_CERT = f"set the instance's Client cert and Client key {EDIT}"
PRIVATE_CA = (
    "If the server uses a private CA, put the CA bundle's path in the instance's "
    f"Verify TLS field {EDIT}; false disables the check (insecure)."
)
SERVER_URL = f"Check the instance's Server URL: the server's base URL {EDIT}."
UNREACHABLE = f"Check the instance's Server URL {EDIT} and that the server is running."

HINTS = {
    e.UNREACHABLE: UNREACHABLE,
    e.UNREACHABLE_OR_CLIENT_CERT: (
        f"{UNREACHABLE} A server that requires a client certificate also drops the "
        f"connection: then {CLIENT_CERT}."
    ),
    e.TLS_UNTRUSTED: PRIVATE_CA,
    e.TLS_HANDSHAKE: PRIVATE_CA,
    e.TLS_CLIENT_CERT_REQUIRED: f"To connect, {CLIENT_CERT}.",
    e.TLS_CLIENT_CERT_REFUSED: f"Check the instance's Client cert and Client key {EDIT}.",
    e.TLS_CLIENT_CERT_FILE: f"Check the instance's Client cert and Client key paths {EDIT}.",
    e.TLS_CA_FILE: f"Check the CA bundle path in the instance's Verify TLS field {EDIT}.",
    e.AUTH_REJECTED: (
        f"Check the instance's User and its password (Password variable or Password) {EDIT}."
    ),
    e.AUTH_CERTIFICATE_REJECTED: (
        f"Check the instance's Client cert and Client key, or give it a User {EDIT}."
    ),
    e.AUTH_MISSING: f"Give the instance a User and password, or a Client cert {EDIT}.",
    e.PLUGIN_MISSING: SERVER_URL,
    e.API_ROOT: (  # a template: {exc.api_path} is filled in per error
        f"Check the API root {{exc.api_path}}: the instance's API prefix and Domain {EDIT}."
    ),
    e.REDIRECT: f"Use the final address as the instance's Server URL {EDIT}.",
    e.NOT_PULP: SERVER_URL,
}


def describe_error(exc: BaseException) -> str:
    from rds_tui.profiles import ProfileError
    from rds_tui.runs import RunError

    if isinstance(exc, e.ApiError):
        return e.with_hint(exc, HINTS)
    if isinstance(exc, ProfileError | RunError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return f"Unexpected {type(exc).__name__}: {exc}"


class ShowsWorkerErrors:
    """Mixin for screens with background jobs (their @work has exit_on_error=False):
    an unexpected failure becomes a message in the screen and the dashboard keeps
    running. Expected errors (the core's ApiError...) are handled where they happen,
    worded with describe_error."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.notify(  # type: ignore[attr-defined]
                describe_error(event.worker.error), title="Error", severity="error", timeout=20
            )

"""What gets a user past an API error: one sentence per remedy, in one place.

An API error (rds_tui.api_errors) states what the server did. Most have a remedy: a
setting to change (the server's address, the API root, the login, the client
certificate, the CA bundle). Each sentence here has a slot for every setting it names,
and each front end fills the slots with its own names for them: the command line with
its flags (rds_tui.cli.hints), the dashboard with the instance's fields
(rds_tui.screens.errors). So the advice is written once and each face speaks its own
words.
"""

from __future__ import annotations

from collections.abc import Mapping

from rds_tui import api_errors as e

# The slots: each front end's `names` gives words for every one of these.
ADDRESS = "address"  # the server's base URL
API_ROOT = "api_root"  # Pulp's API prefix and domain
LOGIN = "login"  # user name and password
CLIENT_CERT = "client_cert"  # client certificate and key
CA_BUNDLE = "ca_bundle"  # the CA bundle that verifies the server (or not verifying)
SLOTS = (ADDRESS, API_ROOT, LOGIN, CLIENT_CERT, CA_BUNDLE)

_UNREACHABLE = "Check {address} and that the server is running."
_PRIVATE_CA = "If the server uses a private CA, give {ca_bundle}."
_BASE_URL = "Check {address}: it should be the server's base URL, e.g. https://pulp.example.com."

# Keyed by the error's situation (mostly its typed `reason`); see remedy().
SENTENCES = {
    "unreachable": _UNREACHABLE,
    "unreachable-or-client-cert": (
        f"{_UNREACHABLE} A server that requires a client certificate also drops the "
        "connection: then give {client_cert}."
    ),
    e.TLS_UNTRUSTED: _PRIVATE_CA,
    e.TLS_HANDSHAKE: _PRIVATE_CA,
    e.TLS_CLIENT_CERT_REQUIRED: "To connect, give {client_cert}.",
    e.TLS_CLIENT_CERT_REFUSED: "Check {client_cert}.",
    e.TLS_CLIENT_CERT_FILE: "Check the paths of {client_cert}.",
    e.TLS_CA_FILE: "Check the path of {ca_bundle}.",
    e.AUTH_REJECTED: "Check the user name and password: {login}.",
    e.AUTH_CERTIFICATE_REJECTED: "Check {client_cert}, or log in with {login}.",
    e.AUTH_MISSING: "Give {login}, or {client_cert}.",
    "plugin-missing": _BASE_URL,
    "api-root": "Check the API root {exc.api_path}: {api_root}.",
    e.REDIRECT: "Use the final address as {address} (e.g. https:// instead of http://).",
    e.NOT_PULP: _BASE_URL,
}


def remedy(exc: BaseException) -> str | None:
    """The key in SENTENCES of what would get past `exc`; None when no setting would."""
    if isinstance(exc, e.ServerUnreachable):
        if exc.timed_out:
            return None
        return "unreachable-or-client-cert" if exc.may_want_client_cert else "unreachable"
    if isinstance(exc, e.TlsError | e.AuthenticationFailed):
        return exc.reason
    if isinstance(exc, e.PluginNotInstalled):
        return "plugin-missing"
    if isinstance(exc, e.NotFound) and exc.api_path:
        return "api-root"
    if isinstance(exc, e.UnexpectedResponse) and exc.reason in (e.REDIRECT, e.NOT_PULP):
        return exc.reason
    return None


def advise(exc: BaseException, names: Mapping[str, str], after: str = "") -> str:
    """`str(exc)`, then its remedy with the settings called by `names` (a front end's
    words for each of SLOTS), then `after` (e.g. where to change them)."""
    key = remedy(exc)
    if key is None or key not in SENTENCES:
        return str(exc)
    sentence = SENTENCES[key].format(exc=exc, **names)
    return f"{exc} {sentence}" + (f" {after}" if after else "")

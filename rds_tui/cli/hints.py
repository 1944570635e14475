"""How to fix an API error, in the command line's words (its flags and PULP_* variables).

rds_tui.api's errors state what the server did, and `api_errors.remedy()` says which
setting would get past it; this module words that for the command line. The dashboard
words the same remedies its own way (rds_tui.screens.errors). No httpx here: printing
an error costs no import.
"""

from __future__ import annotations

from rds_tui import api_errors as e

CLIENT_CERT = "pass --cert and --key (the client certificate and its key)"
PRIVATE_CA = (
    "If the server uses a private CA, pass --ca-bundle /path/to/ca.pem; "
    "--no-verify-ssl disables the check (insecure)."
)
BASE_URL = "it should be the server's base URL, e.g. https://pulp.example.com."
UNREACHABLE = "Check --api-root and that the server is running."

HINTS = {
    e.UNREACHABLE: UNREACHABLE,
    e.UNREACHABLE_OR_CLIENT_CERT: (
        f"{UNREACHABLE} A server that requires a client certificate also drops the "
        f"connection: then {CLIENT_CERT}."
    ),
    e.TLS_UNTRUSTED: PRIVATE_CA,
    e.TLS_HANDSHAKE: PRIVATE_CA,
    e.TLS_CLIENT_CERT_REQUIRED: f"To connect, {CLIENT_CERT}.",
    e.TLS_CLIENT_CERT_REFUSED: "Check --cert and --key.",
    e.TLS_CLIENT_CERT_FILE: "Check the --cert/--key paths.",
    e.TLS_CA_FILE: "Check the --ca-bundle path.",
    e.AUTH_REJECTED: (
        "Check the user name and password (--user/--password, PULP_USER/PULP_PASSWORD "
        "or the profile)."
    ),
    e.AUTH_CERTIFICATE_REJECTED: "Check --cert/--key, or use --user/--password.",
    e.AUTH_MISSING: (
        "Pass --user and --password (or PULP_USER/PULP_PASSWORD, or --profile), or --cert/--key."
    ),
    e.PLUGIN_MISSING: f"Check --api-root: {BASE_URL}",
    e.API_ROOT: "Check the API root {exc.api_path}: --api-prefix and --domain (or the profile's).",
    e.REDIRECT: "Use the final address as --api-root (e.g. https:// instead of http://).",
    e.NOT_PULP: f"Check --api-root: {BASE_URL}",
}


def describe(exc: BaseException) -> str:
    """The error's facts, then the command line's hint: the one line the CLI prints."""
    return e.with_hint(exc, HINTS)

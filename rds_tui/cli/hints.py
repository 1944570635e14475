"""How to fix an API error, in the command line's words: its flags and PULP_* variables.

The advice itself is written once (rds_tui.remedies); this names the settings it
mentions the way the command line spells them. No httpx here: printing an error costs
no import.
"""

from __future__ import annotations

from rds_tui import remedies

FLAGS = {
    remedies.ADDRESS: "--api-root",
    remedies.API_ROOT: "--api-prefix and --domain (or the profile's)",
    remedies.LOGIN: "--user/--password, PULP_USER/PULP_PASSWORD or --profile",
    remedies.CLIENT_CERT: "--cert and --key",
    remedies.CA_BUNDLE: "--ca-bundle /path/to/ca.pem (--no-verify-ssl skips the check: insecure)",
}


def describe(exc: BaseException) -> str:
    """The error's facts, then the command line's hint: the one line the CLI prints."""
    return remedies.advise(exc, FLAGS)

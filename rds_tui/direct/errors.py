"""A failed connection to a PostgreSQL endpoint, in the user's words, with the fix.

`classify` reads what libpq (or the server, or a proxy in front of it) said: the SQLSTATE
when the server sent one, else libpq's own text (which has no code: DNS, refused,
timeout, TLS). The detail is server text, so it is cleaned (rds_tui.untrusted) and
every secret is cut out of it before anything shows it. Standard library only: no
psycopg needed to word an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from rds_tui.untrusted import clean_text

Kind = Literal["authentication", "dns", "refused", "timeout", "tls", "no-database", "other"]

SECRET_MARK = "***"
# One line each: the detail keeps its first line only, this long at most.
DETAIL_LIMIT = 300

# SQLSTATEs: 28P01 invalid_password, 28000 invalid_authorization_specification (no
# pg_hba entry, role does not exist), 3D000 invalid_catalog_name (no such database).
_AUTH_STATES = ("28P01", "28000")
_NO_DATABASE_STATES = ("3D000",)

# pg_hba.conf lets this user in over TLS only (28000 with "no encryption", "SSL off"
# before PostgreSQL 14): a TLS problem, not a password one.
_TLS_DEMANDED = re.compile(
    r"pg_hba\.conf (?:entry|rejects connection) for .*(?:no encryption|SSL off)", re.IGNORECASE
)
# ...unless the attempt with TLS was refused too (sslmode=prefer tries both).
_REFUSED_WITH_TLS = re.compile(
    r"pg_hba\.conf (?:entry|rejects connection) for .*(?:SSL encryption|SSL on)",
    re.IGNORECASE,
)

# libpq's and the proxies' texts, most specific first; matched case-insensitively.
_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("no-database", r'database "[^"]*" does not exist|no such database'),
        (
            "authentication",
            (
                r"password authentication failed|no password supplied|authentication failed"
                r"|role \"[^\"]*\" does not exist|no pg_hba\.conf entry|password is required"
                r"|SASL authentication|server requested .*authentication"
            ),
        ),
        (
            "dns",
            (
                r"could not translate host name|failed to resolve host|name or service not known"
                r"|nodename nor servname|temporary failure in name resolution"
            ),
        ),
        ("refused", r"connection refused"),
        ("timeout", r"timeout expired|timed out"),
        (
            "tls",
            r"\bSSL\b|\bTLS\b|certificate|sslmode|GSSAPI encryption|root cert",
        ),
    )
)

_FIXES: dict[Kind, str] = {
    "authentication": (
        "the server refused the login: check the user and the password (--password-env "
        "VAR, PGPASSWORD or ~/.pgpass) and that pg_hba.conf (or the proxy's user list) "
        "lets this user in"
    ),
    "dns": "the host name does not resolve: check its spelling, or run from a machine "
    "that can resolve it (the DSN's host)",
    "refused": "nothing listens there: check the host and the port, and that the server "
    "or the proxy is running",
    "timeout": "no answer in time: check the host and port, security groups or firewalls "
    "between here and there, or raise connect_timeout in the DSN",
    "tls": "match the DSN's sslmode to the server: sslmode=require when it insists on "
    "TLS, sslmode=disable when it has none, and sslrootcert=FILE (the server's CA) for "
    "verify-ca or verify-full",
    "no-database": "the database does not exist there: check the DSN's database name "
    "(/DBNAME or dbname=)",
    "other": "check the DSN and that the endpoint is a PostgreSQL server or proxy",
}

# TLS has several sides; the precise fix when the text says which one.
_TLS_FIXES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), fix)
    for pattern, fix in (
        (
            r"does not support SSL",
            "the server (or proxy) has no TLS: use sslmode=disable or prefer, or turn TLS on there",
        ),
        (
            r"no encryption|SSL off",
            (
                "the server lets this user in over TLS only: use sslmode=require (or "
                "verify-full with sslrootcert=FILE)"
            ),
        ),
        (
            r"root certificate file|sslrootcert",
            (
                "the CA file named by sslrootcert is missing: give the server's CA with "
                "sslrootcert=FILE, or use sslmode=require (no verification)"
            ),
        ),
        (
            r"certificate verify failed|certificate",
            (
                "the server's certificate is not signed by the CA given: give the right one "
                "with sslrootcert=FILE (for RDS: the region's RDS CA bundle)"
            ),
        ),
    )
)

_HEADLINES: dict[Kind, str] = {
    "authentication": "authentication failed",
    "dns": "unknown host",
    "refused": "connection refused",
    "timeout": "connection timed out",
    "tls": "TLS/SSL problem",
    "no-database": "no such database",
    "other": "could not connect",
}


@dataclass(frozen=True)
class ConnectionProblem:
    """Why a connection to `endpoint` failed: a kind, and the server's detail (cleaned,
    without secrets)."""

    kind: Kind
    endpoint: str
    detail: str
    sqlstate: str | None = None

    def message(self) -> str:
        """One line for the user: what happened, where, the detail, and the fix."""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.endpoint}: {_HEADLINES[self.kind]}{detail}; {self.fix()}"

    def fix(self) -> str:
        """What to change, in words; for TLS the side the detail names."""
        if self.kind == "tls":
            for pattern, fix in _TLS_FIXES:
                if pattern.search(self.detail):
                    return fix
        return _FIXES[self.kind]


def classify(
    message: str, sqlstate: str | None, endpoint: str, secrets: Iterable[str] = ()
) -> ConnectionProblem:
    """The kind of a failed connection from its SQLSTATE (when the server sent one) and
    libpq's message."""
    detail = _detail(message, secrets)
    endpoint = _without_secrets(clean_text(endpoint, 200), secrets)
    return ConnectionProblem(_kind(message or "", sqlstate), endpoint, detail, sqlstate)


def _kind(message: str, sqlstate: str | None) -> Kind:
    if _TLS_DEMANDED.search(message) and not _REFUSED_WITH_TLS.search(message):
        return "tls"
    if sqlstate in _AUTH_STATES:
        return "authentication"
    if sqlstate in _NO_DATABASE_STATES:
        return "no-database"
    for kind, pattern in _PATTERNS:
        if pattern.search(message):
            return kind
    return "other"


# psycopg's "connection failed: " and libpq's per-attempt prefix.
_ATTEMPT_PREFIX = re.compile(
    r"^(?:connection failed:\s*)?(?:connection to server (?:at|on) .*?failed:\s*)?"
)


def _detail(message: str, secrets: Iterable[str]) -> str:
    """The most telling line of libpq's message, cleaned, secrets cut, bounded.

    libpq prefixes each attempt with 'connection to server at "h" (addr), port p failed:'
    and may add a second attempt (IPv4/IPv6, SSL then no SSL); the first reason is kept.
    """
    text = _without_secrets(clean_text(message or "", 4 * DETAIL_LIMIT), secrets)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reasons = []
    for line in lines:
        reason = _ATTEMPT_PREFIX.sub("", line)
        if reason:
            reasons.append(reason)
    detail = reasons[0] if reasons else ""
    if len(detail) > DETAIL_LIMIT:
        detail = detail[: DETAIL_LIMIT - 1] + "…"
    return detail


def _without_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced, also as written inside a URL or quoted conninfo
    (percent-encoded, backslash-escaped): a DSN fragment in an error must not leak it."""
    forms = set()
    for secret in secrets:
        if secret:
            forms |= {secret, quote(secret, safe=""), quote(secret), secret.replace("'", "\\'")}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, SECRET_MARK)
    return text

"""Where a direct run connects: a PostgreSQL DSN read, checked and shown without its
password, and the one resolution of a direct run's credentials (`resolve_target`).

Both libpq forms are read here, with the standard library only (the base install has no
psycopg; only the `[direct]` extra brings it): the URL form
(`postgresql://user:password@host:port/dbname?sslmode=require`, percent-encoded, IPv6
hosts in brackets) and the key=value form (`host=db port=5432 user=probe`, values in
single quotes when they hold spaces). The result is libpq's keyword parameters, ready for
`psycopg.connect(**params)`.

A DsnError says what is wrong and how to fix it, and never quotes the DSN nor any part
that could be the password (a '/' or '@' left unencoded in a password moves it into the
host or the port, so those are not quoted either).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from rds_tui.profiles import Profile

URL_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_PORT = "5432"
# Values never shown: the password, and the password of the client certificate's key.
SECRET_KEYS = ("password", "sslpassword")
# Where the password comes from when the DSN has none: libpq looks it up itself.
LIBPQ_PASSWORD = "libpq's own (PGPASSWORD or ~/.pgpass), if any"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

# libpq's connection keywords (PostgreSQL 17's list); anything else is a typo libpq
# would refuse too, said here with the list of what is known.
KNOWN_KEYS = frozenset(
    """host hostaddr port dbname user password passfile require_auth channel_binding
    connect_timeout client_encoding options application_name fallback_application_name
    keepalives keepalives_idle keepalives_interval keepalives_count tcp_user_timeout
    replication gssencmode sslmode sslnegotiation sslcompression sslcert sslkey
    sslpassword sslcertmode sslrootcert sslcrl sslcrldir sslsni requirepeer
    ssl_min_protocol_version ssl_max_protocol_version krbsrvname gsslib gssdelegation
    service target_session_attrs load_balance_hosts""".split()  # noqa: SIM905
)

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HOW_TO_WRITE = (
    "write it as postgresql://USER@HOST:PORT/DBNAME or as host=HOST port=PORT user=USER "
    "dbname=DBNAME"
)
_ENCODE_HINT = "percent-encode '@', ':', '/', '?' and '#' inside the user or the password"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DsnError(ValueError):
    """A DSN (or where it comes from) is unusable; str() says what and how to fix it, and
    never holds the password."""


# --- reading ---------------------------------------------------------------------------


def parse_dsn(text: str) -> dict[str, str]:
    """libpq keyword parameters of a DSN in URL or key=value form; DsnError otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise DsnError(f"the DSN is empty; {_HOW_TO_WRITE}")
    text = text.strip()
    if text.lower().startswith(URL_SCHEMES):
        params = _parse_url(text)
    elif "=" in text:
        params = _parse_keywords(text)
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        shown = f" {scheme!r}" if _KEY.fullmatch(scheme) else ""
        raise DsnError(
            f"the DSN's scheme{shown} is not PostgreSQL's; it starts with postgresql:// "
            f"(or postgres://); {_HOW_TO_WRITE}"
        )
    else:
        raise DsnError(
            f"the DSN is neither a postgresql:// URL nor key=value pairs; {_HOW_TO_WRITE}"
        )
    _check(params)
    return params


def _parse_url(text: str) -> dict[str, str]:
    rest = text.split("://", 1)[1]
    if "#" in rest:
        raise DsnError(f"the DSN holds a '#' (a URL fragment); {_ENCODE_HINT}")
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    params: dict[str, str] = {}
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        user, colon, password = userinfo.partition(":")
        if user:
            params["user"] = _decode(user, "the user name")
        if colon:
            params["password"] = _decode(password, "the password")
    hosts, ports = [], []
    for part in authority.split(",") if authority else []:
        host, port = _host_and_port(part)
        hosts.append(host)
        ports.append(port)
    if len(hosts) > 1:
        raise DsnError(
            f"the DSN names {len(hosts)} hosts; a probe run tests one endpoint: give one "
            "host (run once per host to compare them)"
        )
    if hosts and hosts[0]:
        params["host"] = hosts[0]
    if ports and ports[0]:
        params["port"] = ports[0]
    if "@" in path:
        raise DsnError(f"the DSN has an '@' after the host; {_ENCODE_HINT}")
    if slash and path:
        params["dbname"] = _decode(path, "the database name")
    for item in query.split("&") if query else []:
        key, equals, value = item.partition("=")
        key = unquote(key)
        if not equals or not _KEY.fullmatch(key):
            raise DsnError(
                "a query parameter of the DSN is not NAME=VALUE; write them as "
                "?sslmode=require&connect_timeout=10"
            )
        _check_key(key)
        params[key] = _decode(value, f"the value of {key}")
    return params


def _host_and_port(part: str) -> tuple[str, str]:
    if part.startswith("["):
        host, bracket, after = part[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            raise DsnError(
                "an IPv6 host in the DSN needs its closing bracket, like "
                "postgresql://USER@[::1]:5432/DBNAME"
            )
        return host, after[1:]
    host, _, port = part.partition(":")
    return _decode(host, "the host"), port


def _decode(value: str, what: str) -> str:
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise DsnError(f"{what} in the DSN has a percent-escape that is not UTF-8") from None


def _parse_keywords(text: str) -> dict[str, str]:
    params: dict[str, str] = {}
    position, end = 0, len(text)
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position == end:
            return params
        match = _KEY.match(text, position)
        if match is None:
            raise DsnError(
                f"the DSN has text that is not key=value at character {position + 1}; "
                f"{_HOW_TO_WRITE} (quote values with spaces: options='-c a=b')"
            )
        key = match.group()
        position = match.end()
        while position < end and text[position].isspace():
            position += 1
        if position == end or text[position] != "=":
            # Not quoted: a password with an unquoted space leaves its tail here.
            raise DsnError(
                f"the DSN has a word without '=' at character {match.start() + 1}; write "
                "key=VALUE pairs and quote a value with spaces: password='a b'"
            )
        position += 1
        while position < end and text[position].isspace():
            position += 1
        value, position = _keyword_value(text, position, key)
        _check_key(key, match.start() + 1)
        params[key] = value


def _keyword_value(text: str, position: int, key: str) -> tuple[str, int]:
    """One value of the key=value form: 'quoted' (backslash escapes) or up to a space."""
    chars: list[str] = []
    quoted = position < len(text) and text[position] == "'"
    if quoted:
        position += 1
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            chars.append(text[position + 1])
            position += 2
            continue
        if quoted and char == "'":
            return "".join(chars), position + 1
        if not quoted and char.isspace():
            break
        chars.append(char)
        position += 1
    if quoted:
        raise DsnError(f"the value of {key} in the DSN has no closing quote (')")
    return "".join(chars), position


def _check_key(key: str, position: int | None = None) -> None:
    if key in KNOWN_KEYS:
        return
    # The unknown word is not quoted: it could be the tail of a password with a space.
    where = f" at character {position}" if position else ""
    close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise DsnError(
        f"the DSN has a parameter{where} that libpq does not know; {hint}known: "
        + ", ".join(sorted(KNOWN_KEYS))
    )


def _check(params: dict[str, str]) -> None:
    port = params.get("port")
    if port is not None and "," in port or "," in params.get("host", ""):
        raise DsnError(
            "the DSN names several hosts or ports; a probe run tests one endpoint: give "
            "one host and one port"
        )
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        # Not quoted: a password with an unencoded '/' ends up here.
        raise DsnError(f"the DSN's port is not a number from 1 to 65535; {_ENCODE_HINT}")
    sslmode = params.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise DsnError(f"sslmode {sslmode!r} is not one of: {', '.join(SSL_MODES)}")


# --- the target ------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectTarget:
    """One PostgreSQL endpoint and how to log in; repr/str never show the password."""

    params: Mapping[str, str] = field(repr=False)
    source: str  # where the DSN came from, in words: "--dsn", "profile lab-direct"
    password_source: str = LIBPQ_PASSWORD
    warnings: tuple[str, ...] = ()  # worth saying before a run (the CLI prints them)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", dict(self.params))  # the caller's dict stays theirs

    def __repr__(self) -> str:
        return f"DirectTarget({self.display()!r}, source={self.source!r})"

    def __str__(self) -> str:
        return self.display()

    def display(self) -> str:
        """The DSN as a URL without any secret, like postgresql://probe@127.0.0.1:6432/pulp."""
        params = dict(self.params)
        user = params.pop("user", None)
        host = params.pop("host", None) or params.pop("hostaddr", None) or ""
        if host.startswith("/"):  # a Unix socket directory goes in the query
            params["host"], host = host, ""
        port = params.pop("port", None)
        dbname = params.pop("dbname", None)
        netloc = f"[{host}]" if ":" in host else quote(host, safe="")
        if port:
            netloc += f":{port}"
        if user:
            netloc = f"{quote(user, safe='')}@{netloc}"
        url = f"postgresql://{netloc}" + (f"/{quote(dbname, safe='')}" if dbname else "")
        query = [f"{key}={quote(value, safe='/')}" for key, value in sorted(params.items())
                 if key not in SECRET_KEYS]  # fmt: skip
        return url + ("?" + "&".join(query) if query else "")

    def endpoint(self) -> str:
        """host:port as libpq will reach it (a socket directory or "local socket" when the
        DSN names no host)."""
        host = self.params.get("host") or self.params.get("hostaddr") or "local socket"
        port = self.params.get("port") or DEFAULT_PORT
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown (scrub them from any text before showing it)."""
        return tuple(self.params[key] for key in SECRET_KEYS if self.params.get(key))


def resolve_target(
    *,
    dsn: str | None = None,
    dsn_env: str | None = None,
    password_env: str | None = None,
    profile: Profile | None = None,
    environ: Mapping[str, str] = os.environ,
) -> DirectTarget:
    """A direct run's endpoint and credentials; the one place that decides them.

    Order: the --dsn / --dsn-env flags, else the direct profile (its `dsn_env`, or its
    `dsn` with `password_env` or a stored `password`). `password_env` (the flag) gives the
    password of a flag's DSN. With no password anywhere, libpq's own PGPASSWORD and
    ~/.pgpass still apply (nothing here blocks them).
    """
    if dsn is not None and dsn_env is not None:
        raise DsnError("give --dsn or --dsn-env, not both")
    if profile is not None and getattr(profile, "kind", "pulp") != "direct":
        raise DsnError(
            f"profile {profile.name} is a Pulp profile; a direct run needs a profile "
            f"added with --dsn or --dsn-env (rds-tui profiles add NAME --dsn URL)"
        )
    warnings: list[str] = []
    if dsn is not None or dsn_env is not None:
        if dsn is not None:
            source = "--dsn"
            params = _parse_from(dsn, source)
            if params.get("password"):
                warnings.append(
                    "the password in --dsn shows in the process list (ps) and the shell "
                    "history; prefer --dsn-env VAR, --password-env VAR, PGPASSWORD or ~/.pgpass"
                )
        else:
            source = f"environment variable {dsn_env}"
            params = _parse_from(_environment(dsn_env, environ, "--dsn-env"), source)
        if profile is not None:
            warnings.append(
                f"the DSN of {source} replaces profile {profile.name}'s; the profile's "
                "password is not used"
            )
        stored = None
        env_for_password = password_env
    elif profile is not None:
        source = f"profile {profile.name}"
        if profile.dsn_env:
            text = _environment(profile.dsn_env, environ, f"profile {profile.name}'s dsn_env")
            params = _parse_from(text, f"environment variable {profile.dsn_env} ({source})")
        else:
            params = _parse_from(profile.dsn or "", source)
        stored = profile.password
        env_for_password = password_env or profile.password_env
    else:
        raise DsnError(
            "no PostgreSQL endpoint given; use --dsn URL, --dsn-env VAR or --profile NAME "
            "(a profile added with: rds-tui profiles add NAME --dsn URL)"
        )

    password_source = LIBPQ_PASSWORD
    if params.get("password"):
        password_source = f"inside the DSN ({source})"
        if env_for_password or stored is not None:
            raise DsnError(
                f"the DSN of {source} holds a password and another one is given "
                "(--password-env, password_env or a stored password); keep only one"
            )
    elif env_for_password:
        params["password"] = _environment(env_for_password, environ, "the password's variable")
        password_source = f"environment variable {env_for_password}"
    elif stored is not None:
        params["password"] = stored
        password_source = "stored in the profiles file"
    return DirectTarget(params, source, password_source, tuple(warnings))


def _parse_from(text: str, source: str) -> dict[str, str]:
    try:
        return parse_dsn(text)
    except DsnError as exc:
        raise DsnError(f"{source}: {exc}") from None


def _environment(name: str | None, environ: Mapping[str, str], what: str) -> str:
    if not name or not _ENV_NAME.fullmatch(name):
        raise DsnError(f"{what}: {name!r} is not an environment variable name")
    value = environ.get(name)
    if not value:
        raise DsnError(
            f"environment variable {name} ({what}) is not set; export it first "
            f"(export {name}=...) or give the value another way"
        )
    return value


def dsn_has_password(text: str) -> bool:
    """True when a DSN holds a password (profiles refuse it unless stored on purpose)."""
    return bool(parse_dsn(text).get("password"))


def public_dsn(text: str) -> str:
    """A DSN as shown: the URL form without any secret (for `profiles show`)."""
    return DirectTarget(parse_dsn(text), "").display()


def strip_password(text: str) -> tuple[str, str | None]:
    """(the DSN without its password, as a URL; the password or None): `profiles add
    --dsn URL --store-password` keeps the password in its own field, never in the DSN."""
    params = parse_dsn(text)
    password = params.pop("password", None)
    return DirectTarget(params, "").display(), password

"""Which server to talk to, and with which credentials: ONE resolution for every
command and screen.

Order: what the user gave explicitly (flags) > the run's profile > a saved profile for
the same server (api_root, api_prefix and domain all equal) > the PULP_* environment
variables. PULP_USER/PULP_PASSWORD belong to PULP_API_ROOT's server: when that variable
names another server they are not used. Credentials are only ever sent to the server
they were saved for: a profile whose server is not the run's is refused (when asked
for) or skipped (when it was the run's and now points elsewhere).

Front-end free: no printing, no argparse, no Textual. The result says where its
credentials came from (`source`), for the faces to show, and carries `notes` (facts
worth a warning, such as "the run's profile no longer exists").
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rds_tui.urls import without_userinfo

if TYPE_CHECKING:
    from rds_tui.api import PulpClient
    from rds_tui.profiles import Profile, ProfileStore

ENV_API_ROOT = "PULP_API_ROOT"
ENV_USER = "PULP_USER"
ENV_PASSWORD = "PULP_PASSWORD"
DEFAULT_API_PREFIX = "/pulp/"
DEFAULT_DOMAIN = "default"

SOURCE_FLAGS = "flags"
SOURCE_ENVIRONMENT = "PULP_* environment"
SOURCE_NONE = "no credentials"


class CredentialError(Exception):
    """The connection cannot be resolved as asked; str() says what and how to fix it."""


@dataclass(frozen=True)
class ConnectionFlags:
    """What the user gave explicitly for this one command (None: not given)."""

    api_root: str | None = None
    api_prefix: str | None = None
    domain: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cert: str | None = None
    key: str | None = None
    verify: bool | str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class Server:
    """One Pulp API: credentials saved for it are only sent to it."""

    api_root: str
    api_prefix: str = DEFAULT_API_PREFIX
    domain: str = DEFAULT_DOMAIN

    @classmethod
    def of(cls, thing: Any) -> Server:
        """The server of a profile or a run."""
        return cls(
            normalize_api_root(thing.api_root),
            normalize_api_prefix(getattr(thing, "api_prefix", None)),
            getattr(thing, "domain", None) or DEFAULT_DOMAIN,
        )

    def __str__(self) -> str:
        where = f"{self.api_root}{self.api_prefix}"
        return where if self.domain == DEFAULT_DOMAIN else f"{where} (domain {self.domain})"


@dataclass
class ResolvedConnection:
    """Where and how to reach a Pulp server; the password never shows in repr."""

    api_root: str | None
    api_prefix: str = DEFAULT_API_PREFIX
    domain: str = DEFAULT_DOMAIN
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cert: str | None = None
    key: str | None = None
    verify: bool | str = True
    profile: Profile | None = None  # the saved profile whose credentials are used
    source: str = SOURCE_NONE  # where the credentials came from, in words
    notes: list[str] = field(default_factory=list)  # facts worth a warning

    @property
    def profile_name(self) -> str | None:
        return self.profile.name if self.profile is not None else None

    @property
    def missing_password(self) -> bool:
        """A user without a password (and no certificate): the server can only say 401."""
        return bool(self.username) and self.password is None and not self.cert

    def client(
        self, *, correlation_id: str | None = None, timeout: float = 30.0, **overrides: Any
    ) -> PulpClient:
        from rds_tui.api import PulpClient

        if not self.api_root:
            raise CredentialError("no server given")
        auth = (self.username, self.password or "") if self.username else None
        return PulpClient(
            self.api_root,
            self.api_prefix,
            self.domain,
            auth=auth,
            cert=self.cert,
            key=self.key,
            verify=self.verify,
            timeout=timeout,
            correlation_id=correlation_id,
            **overrides,
        )

    def as_profile(self) -> Profile:
        """An in-memory profile with the resolved connection (for code that builds its
        client from a profile, like the dashboard); named after the saved profile used."""
        from rds_tui.profiles import Profile

        if not self.api_root:
            raise CredentialError("no server given")
        base = self.profile.model_dump(exclude={"password", "password_env"}) if self.profile else {}
        return Profile(
            **{
                **base,
                "name": self.profile_name or "unsaved",
                "api_root": self.api_root,
                "api_prefix": self.api_prefix,
                "domain": self.domain,
                "username": self.username,
                "password": self.password,
                "cert": self.cert,
                "key": self.key,
                "verify_ssl": self.verify,
            }
        )


# --- normalising what the user typed --------------------------------------------------


def normalize_api_root(value: str) -> str:
    parts = urlsplit(without_userinfo(value.strip()))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else parts.geturl()


# --- Basic auth in the clear ----------------------------------------------------------

# Servers already warned about in this process (the warning is said once, not per request).
_warned_plain_http: set[str] = set()


def is_loopback(host: str | None) -> bool:
    """True for this machine: localhost or a loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower().rstrip(".") in ("localhost",) or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plain_http_auth_warning(api_root: str | None, username: str | None) -> str | None:
    """The warning for a user name and password about to travel unencrypted (http://) to
    another machine, the first time in this process for that server; None otherwise."""
    if not api_root or not username:
        return None
    parts = urlsplit(normalize_api_root(api_root))
    if parts.scheme != "http" or is_loopback(parts.hostname):
        return None
    server = f"{parts.scheme}://{parts.netloc}"
    if server in _warned_plain_http:
        return None
    _warned_plain_http.add(server)
    return (
        f"the password of user {username!r} goes to {server} unencrypted (http://): "
        "anyone on the network path can read it; use https://"
    )


def normalize_api_prefix(value: str | None) -> str:
    text = (value or DEFAULT_API_PREFIX).strip().strip("/")
    return f"/{text}/" if text else "/"


def check_api_root(api_root: str, label: str) -> str:
    """The base URL; a CredentialError for an address that cannot be one (the URL is
    never echoed when it holds a password)."""
    text = api_root.strip()
    parts = urlsplit(text if "://" in text else "https://" + text)
    if parts.username is not None or parts.password is not None:
        raise CredentialError(
            f"{label} contains credentials (user:password@host); give the user and the "
            f"password separately (the password in {ENV_PASSWORD} or a profile)"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CredentialError(f"{label} {api_root!r} is not a server URL; use https://HOST[:PORT]")
    if parts.path.strip("/") or parts.query:
        raise CredentialError(
            f"{label} {api_root!r} has a path: give the server's base URL "
            f"({parts.scheme}://{parts.netloc}); the Pulp API path is the API prefix"
        )
    return f"{parts.scheme}://{parts.netloc}"


# --- the resolution -------------------------------------------------------------------


class _LazyProfiles:
    """The profile store, opened on first use: `--list` without a server must not pay
    for importing it."""

    def __init__(self, store: ProfileStore | None) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if self._store is None:
            from rds_tui.profiles import ProfileStore

            self._store = ProfileStore()
        return getattr(self._store, name)


def _has_credentials(profile: Profile) -> bool:
    return bool(profile.cert or (profile.username and profile.resolve_password() is not None))


def matching_profile(profiles: ProfileStore, server: Server) -> Profile | None:
    """A saved profile for exactly this server (api_root, api_prefix, domain); one with
    usable credentials first, then by name. A broken profiles file matches nothing."""
    from rds_tui.profiles import ProfileError

    try:
        candidates = [p for p in profiles.list() if p.kind == "pulp" and Server.of(p) == server]
    except ProfileError:
        return None
    candidates.sort(key=lambda p: (not _has_credentials(p), p.name))
    return candidates[0] if candidates else None


def _target_server(
    flags: ConnectionFlags, run: Any, named: Profile | None, environ: Mapping[str, str]
) -> Server | None:
    if run is not None:
        server = Server.of(run)
        if flags.api_root and check_api_root(flags.api_root, "--api-root") != server.api_root:
            raise CredentialError(
                f"run {run.id} was dispatched to {server.api_root}, not {flags.api_root}; "
                "a run is always watched on its own server"
            )
        return server
    if flags.api_root:
        api_root = check_api_root(flags.api_root, "--api-root")
    elif named is not None:
        api_root = named.api_root
    elif environ.get(ENV_API_ROOT):
        api_root = check_api_root(environ[ENV_API_ROOT], ENV_API_ROOT)
    else:
        return None
    return Server(
        api_root,
        normalize_api_prefix(flags.api_prefix or (named.api_prefix if named else None)),
        flags.domain or (named.domain if named else None) or DEFAULT_DOMAIN,
    )


def _credential_profile(
    flags: ConnectionFlags,
    run: Any,
    named: Profile | None,
    server: Server | None,
    profiles: ProfileStore,
    notes: list[str],
) -> tuple[Profile | None, str | None]:
    """The saved profile whose credentials apply, and its source label."""
    if named is not None:
        if server is not None and Server.of(named) != server:
            target = f"run {run.id} was dispatched to" if run is not None else "the server is"
            raise CredentialError(
                f"profile {named.name!r} is for {Server.of(named)}, but {target} {server}; "
                "credentials are only sent to the server they were saved for"
            )
        return named, f"profile {named.name}"
    if server is None:
        return None, None
    if run is not None and run.profile:
        from rds_tui.profiles import ProfileError

        try:
            own = profiles.get(run.profile).require_pulp()
        except ProfileError as exc:
            notes.append(f"the run's profile cannot be used: {exc}")
        else:
            if Server.of(own) == server:
                return own, f"profile {own.name}"
            notes.append(
                f"profile {own.name!r} now points to {Server.of(own)}, not to the run's server "
                f"{server}: its credentials are not sent there"
            )
    match = matching_profile(profiles, server)
    if match is not None:
        return match, f"saved profile {match.name} (same server)"
    return None, None


def resolve(
    flags: ConnectionFlags | None = None,
    *,
    run: Any = None,
    profiles: ProfileStore | None = None,
    environ: Mapping[str, str] | None = None,
) -> ResolvedConnection:
    """The connection for a command or screen. `run`: an existing run (watch, cancel,
    report, the dashboard's monitor): its server is the server, whatever else is given."""
    flags = flags or ConnectionFlags()
    environ = os.environ if environ is None else environ
    store: Any = _LazyProfiles(profiles)
    notes: list[str] = []
    named = None
    if flags.profile:
        from rds_tui.profiles import ProfileError

        try:
            named = store.get(flags.profile).require_pulp()
        except ProfileError as exc:
            raise CredentialError(str(exc)) from None

    server = _target_server(flags, run, named, environ)
    base, base_source = _credential_profile(flags, run, named, server, store, notes)
    env_root = environ.get(ENV_API_ROOT)
    # PULP_USER/PULP_PASSWORD are for PULP_API_ROOT's server (any server when it is unset).
    env_applies = server is not None and (
        not env_root or normalize_api_root(env_root) == server.api_root
    )
    env_user = (environ.get(ENV_USER) or None) if env_applies else None
    env_password = environ.get(ENV_PASSWORD) if env_applies else None

    used: list[str] = []

    def note_source(label: str | None) -> None:
        if label and label not in used:
            used.append(label)

    username, user_source = flags.user, SOURCE_FLAGS
    if username is None and base is not None and base.username:
        username, user_source = base.username, base_source
    if username is None and env_user:
        username, user_source = env_user, SOURCE_ENVIRONMENT

    password, password_source = flags.password, SOURCE_FLAGS
    # A profile's password belongs to the profile's user; PULP_PASSWORD to PULP_USER.
    if password is None and base is not None and base.username == username:
        password, password_source = base.resolve_password(), base_source
    if password is None and env_password is not None and env_user in (None, username):
        password, password_source = env_password, SOURCE_ENVIRONMENT
    if password is not None and not username:
        raise CredentialError(
            f"a password was given but no user: give the user name too (or {ENV_USER})"
        )

    cert, cert_source = flags.cert, SOURCE_FLAGS
    if cert is None and base is not None:
        cert, cert_source = base.cert, base_source
    key = flags.key if flags.key is not None else (base.key if base is not None else None)
    if key and not cert:
        raise CredentialError(
            "--key needs --cert (the client certificate it belongs to)"
            if flags.key
            else f"profile {base.name if base else '?'!r} has a key but no cert"
        )
    for label, path in (("client certificate", cert), ("client certificate key", key)):
        if path and not os.path.isfile(os.path.expanduser(path)):
            raise CredentialError(f"{label} {path}: no such file")
    verify = flags.verify
    if verify is None and base is not None:
        verify = base.verify_ssl
    if verify is None:
        verify = True
    if isinstance(verify, str) and verify.lower() in ("true", "false"):
        verify = verify.lower() == "true"
    if isinstance(verify, str) and not os.path.exists(os.path.expanduser(verify)):
        raise CredentialError(f"CA bundle {verify}: no such file")

    if username:
        note_source(user_source)
    if password is not None:
        note_source(password_source)
    if cert:
        note_source(cert_source)
    return ResolvedConnection(
        api_root=server.api_root if server else None,
        api_prefix=server.api_prefix if server else DEFAULT_API_PREFIX,
        domain=server.domain if server else DEFAULT_DOMAIN,
        username=username,
        password=password,
        cert=os.path.expanduser(cert) if cert else None,
        key=os.path.expanduser(key) if key else None,
        verify=os.path.expanduser(verify) if isinstance(verify, str) else verify,
        profile=base,
        source=" + ".join(used) or SOURCE_NONE,
        notes=notes,
    )

"""The errors PulpClient raises: what the server (or the way to it) did, as facts.

`str()` of each is a sentence about the server only: it never names a flag, a profile
field or a key, because the CLI and the dashboard say different things about how to fix
it. The typed attributes (`reason`, `credentials`, `files`, ...) say which fix applies
(rds_tui.remedies) without parsing the text.

Apart from the client itself, this is the part of the API that other layers import; it
needs no HTTP library, so the screens can catch these errors without knowing httpx.
"""

from __future__ import annotations

from rds_tui.untrusted import clean_text

# What the client offered to authenticate with: "password", "certificate" or None.
PASSWORD = "password"
CERTIFICATE = "certificate"

# TlsError.reason
TLS_UNTRUSTED = "untrusted"  # the server's certificate (or host name) did not verify
TLS_CLIENT_CERT_REQUIRED = "client-cert-required"  # the server asks for one, none was sent
TLS_CLIENT_CERT_REFUSED = "client-cert-refused"  # the one sent was refused
TLS_CLIENT_CERT_FILE = "client-cert-file"  # the client certificate/key could not be loaded
TLS_CA_FILE = "ca-file"  # the CA bundle could not be loaded
TLS_HANDSHAKE = "handshake"  # any other handshake failure

# AuthenticationFailed.reason
AUTH_REJECTED = "rejected"  # the user name and password were refused
AUTH_CERTIFICATE_REJECTED = "certificate-rejected"
AUTH_MISSING = "missing"  # the server wants credentials, none were given

# UnexpectedResponse.reason
REDIRECT = "redirect"
NOT_PULP = "not-pulp"
UNEXPECTED_STATUS = "unexpected-status"

# The server setting that switches the tests on (named by the server's own answers too).
ENABLED_SETTING = "RDS_CONNECTION_TESTS_ENABLED"


class ApiError(Exception):
    """Base of every error PulpClient raises. `str()` is the server-side fact.

    `transient` says whether retrying later may succeed (the monitor retries those).
    Facts every error may carry: `status_code`, `url` (redacted), `base_url`,
    `server_says` (the server's own explanation: untrusted text, shown as text),
    `credentials` ("password", "certificate" or None: what was offered) and `username`.

    The message and `server_says` are cleaned (rds_tui.untrusted) whoever built them: an
    error's text is printed and shown as it is, and may quote what a server sent.
    """

    transient = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        url: str | None = None,
        base_url: str | None = None,
        server_says: str | None = None,
        credentials: str | None = None,
        username: str | None = None,
    ):
        message = clean_text(message)
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.url = url
        self.base_url = base_url
        self.server_says = clean_text(server_says) if server_says is not None else None
        self.credentials = credentials
        self.username = username

    def __str__(self) -> str:
        return self.message


class ServerUnreachable(ApiError):
    """No HTTP answer at all: DNS, refused connection, reset, timeout."""

    transient = True

    def __init__(self, message: str, *, timed_out: bool = False, **facts):
        super().__init__(message, **facts)
        self.timed_out = timed_out

    @property
    def may_want_client_cert(self) -> bool:
        """An HTTPS server that requires a client certificate may simply drop a client
        that sends none: that looks like this error."""
        return (
            bool(self.base_url and self.base_url.startswith("https://"))
            and self.credentials != CERTIFICATE
            and not self.timed_out
        )


class TlsError(ApiError):
    """TLS failed: the handshake (certificate not trusted, wrong host name, client
    certificate wanted or refused), or loading a certificate file (`files`)."""

    def __init__(self, message: str, *, reason: str = TLS_HANDSHAKE, files=(), **facts):
        super().__init__(message, **facts)
        self.reason = reason
        self.files: tuple[str, ...] = tuple(files)


class AuthenticationFailed(ApiError):
    """401: no or wrong credentials (`reason`)."""

    def __init__(self, message: str, *, reason: str = AUTH_REJECTED, **facts):
        super().__init__(message, **facts)
        self.reason = reason


class PermissionDenied(ApiError):
    """403: authenticated but not allowed (e.g. not a staff user)."""


class TestsDisabled(PermissionDenied):
    """403 because RDS_CONNECTION_TESTS_ENABLED is off on the server."""

    __test__ = False
    setting = ENABLED_SETTING


class PluginNotInstalled(ApiError):
    """404 on the tests endpoint: the server has no RDS connection tests plugin (or the
    address is not the server's base URL)."""


class NotFound(ApiError):
    """404 on something else (a task, the tasks API under a wrong API root).
    `api_path` is the Pulp API root the client used."""

    def __init__(self, message: str, *, api_path: str | None = None, **facts):
        super().__init__(message, **facts)
        self.api_path = api_path


class BadRequest(ApiError):
    """400: the server rejected the request; the message carries its explanation."""


class Conflict(ApiError):
    """409: e.g. canceling a task that already finished."""


class TooManyRequests(ApiError):
    """429: the server's limit of active tests (or a rate limit) was reached. Transient for
    a monitor (a rate limit passes); a dispatch is never retried automatically."""

    transient = True


class ServerError(ApiError):
    """5xx: the server (or a gateway in front of it) failed."""

    transient = True


class UnexpectedResponse(ApiError):
    """An answer that is not what Pulp sends (`reason`: an HTML login page, another
    service, a redirect to `location`...)."""

    def __init__(
        self, message: str, *, reason: str = NOT_PULP, location: str | None = None, **facts
    ):
        super().__init__(message, **facts)
        self.reason = reason
        self.location = location


__all__ = [
    "ApiError",
    "AuthenticationFailed",
    "BadRequest",
    "Conflict",
    "NotFound",
    "PermissionDenied",
    "PluginNotInstalled",
    "ServerError",
    "ServerUnreachable",
    "TestsDisabled",
    "TlsError",
    "TooManyRequests",
    "UnexpectedResponse",
]

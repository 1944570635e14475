"""PulpClient: the only module of rds-tui that speaks HTTP.

One `httpx.AsyncClient` per PulpClient, kept alive across requests, so a whole
monitoring session normally uses one TCP connection (when the server allows keep-alive).

URLs: `base_url` is the guide's `--api-root` (scheme://host[:port]). The tests endpoint
hangs off the host root (`/api/pulp/rds-connection-tests/`); tasks live under the Pulp
API root (`api_prefix`, "/pulp/" by default; with domains `/pulp/<domain>/api/v3/`).

Every failure is raised as a subclass of `ApiError` (rds_tui.api_errors, re-exported
here) whose `str()` says what the server did, in facts: the front ends add their own
hints (flags, profile fields). Passwords never appear in messages or reprs.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Iterable, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx

from rds_tui import __version__

# The error types are also this module's: `from rds_tui.api import ApiError` works.
from rds_tui.api_errors import (
    AUTH_CERTIFICATE_REJECTED,
    AUTH_MISSING,
    AUTH_REJECTED,
    CERTIFICATE,
    ENABLED_SETTING,
    NOT_PULP,
    PASSWORD,
    REDIRECT,
    TLS_CA_FILE,
    TLS_CLIENT_CERT_FILE,
    TLS_CLIENT_CERT_REFUSED,
    TLS_CLIENT_CERT_REQUIRED,
    TLS_HANDSHAKE,
    TLS_UNTRUSTED,
    UNEXPECTED_STATUS,
    ApiError,
    AuthenticationFailed,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    PluginNotInstalled,
    ServerError,
    ServerUnreachable,
    TestsDisabled,
    TlsError,
    TooManyRequests,
    UnexpectedResponse,
)
from rds_tui.models import (
    Catalog,
    DispatchRequest,
    DispatchResponse,
    Task,
    clean_wire_document,
    task_id_from_href,
)
from rds_tui.untrusted import clean_text
from rds_tui.urls import without_userinfo

TESTS_ENDPOINT = "/api/pulp/rds-connection-tests/"
USER_AGENT = f"rds-tui/{__version__}"
# The task fields a monitor needs; `fields=` keeps each poll's payload small.
TASK_FIELDS = (
    "pulp_href",
    "state",
    "name",
    "logging_cid",
    "pulp_created",
    "unblocked_at",
    "started_at",
    "finished_at",
    "error",
    "progress_reports",
    "result",
)
# About 107 UUIDs fit in gunicorn's default request-line limit; stay below it.
MAX_IDS_PER_REQUEST = 100
# Keep the connection open well past any poll interval; the server decides when to close.
KEEPALIVE_EXPIRY_SECONDS = 600.0


# --- errors: in rds_tui.api_errors (facts only, no httpx); re-exported here ---------

# Statuses whose message is just the server's own explanation.
_SIMPLE_ERRORS: dict[int, tuple[type[ApiError], str]] = {
    400: (BadRequest, "The server rejected the request"),
    409: (Conflict, "Conflict"),
    429: (TooManyRequests, "Limit reached"),
}


# --- helpers -----------------------------------------------------------------------


# The URL without any user:password@ part, for messages.
redact_url = without_userinfo


def normalize_base_url(base_url: str) -> str:
    """`https://host/` -> `https://host`; adds `https://` when no scheme was given. A
    user:password@ part is dropped: credentials travel only as `auth`, and the base URL
    shows in every message."""
    base_url = base_url.strip()
    if "://" not in base_url:
        base_url = "https://" + base_url
    return redact_url(base_url.rstrip("/"))


def normalize_api_prefix(api_prefix: str) -> str:
    """`pulp` -> `/pulp/`."""
    return "/" + api_prefix.strip("/") + "/" if api_prefix.strip("/") else "/"


def _json_or_none(response: httpx.Response) -> Any:
    """The response's JSON with every string cleaned (rds_tui.untrusted): server text
    enters the client here. None when the body is not JSON."""
    try:
        return clean_wire_document(response.json())
    except (ValueError, RecursionError):
        return None


def _server_text(body: Any) -> str | None:
    """The human text of a DRF/plugin error body: error/detail/hint, or field errors."""
    if isinstance(body, dict):
        parts = []
        for key in ("error", "detail", "message"):
            if isinstance(body.get(key), str):
                parts.append(body[key])
                break
        if isinstance(body.get("hint"), str):
            parts.append(body["hint"])
        if not parts:
            fields = [
                f"{k}: {v if not isinstance(v, list) else ' '.join(map(str, v))}"
                for k, v in body.items()
            ]
            parts.append("; ".join(fields))
        return " ".join(parts)
    if isinstance(body, list) and body:
        return " ".join(map(str, body))
    return None


def _snippet(response: httpx.Response, limit: int = 120) -> str:
    """The start of a body that is not JSON, cleaned, on one line."""
    text = " ".join(clean_text(response.text[: limit * 4], limit * 4).split())
    return text[:limit] + ("..." if len(text) > limit or len(response.text) > limit * 4 else "")


def _find_ssl_error(exc: BaseException) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text and "handshake" in text.lower():
        return exc
    return None


def _describe(exc: BaseException) -> str:
    """The first non-empty message along the exception's chain (httpx's ReadError and
    friends are often empty), else what an empty one means."""
    names = []
    current: BaseException | None = exc
    while current is not None and len(names) < 5:
        if str(current).strip():
            return str(current).strip()
        names.append(type(current).__name__)
        current = current.__cause__ or current.__context__
    return f"the connection closed without an answer ({names[0]})"


def _parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def chunked(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the client ----------------------------------------------------------------------


class PulpClient:
    """Async client of one Pulp server. Use as `async with PulpClient(...) as client:`.

    auth: (username, password) for basic auth, or None (client certificate / anonymous).
    cert, key: paths of a client certificate and its key (mutual TLS).
    verify: True, False, or the path of a CA bundle.
    correlation_id: sent as `Correlation-ID` on every request; pulpcore stores it as the
        tasks' `logging_cid`, which finds a run's tasks again. One per run.
    transport: an httpx transport (tests pass `httpx.MockTransport`).
    """

    def __init__(
        self,
        base_url: str,
        api_prefix: str = "/pulp/",
        domain: str | None = "default",
        *,
        auth: tuple[str, str] | None = None,
        cert: str | None = None,
        key: str | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
        correlation_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.api_prefix = normalize_api_prefix(api_prefix)
        self.domain = domain or "default"
        self.username = auth[0] if auth else None
        self.cert = cert
        self.key = key
        self.verify = verify
        self.correlation_id = correlation_id or uuid.uuid4().hex
        # Server clock minus local clock, from the last response's Date header.
        self.clock_skew_seconds: float | None = None
        self.requests_sent = 0
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Correlation-ID": self.correlation_id,
        }
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(*auth) if auth else None,
            headers=headers,
            verify=self._ssl_context() if transport is None else True,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=4,
                max_keepalive_connections=2,
                keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
            ),
            transport=transport,
            follow_redirects=False,
            trust_env=True,
        )

    @classmethod
    def from_profile(cls, profile: Any, **overrides: Any) -> PulpClient:
        """A client for a `rds_tui.profiles.Profile` (password resolved from the
        profile or its environment variable)."""
        password = profile.resolve_password()
        auth = (profile.username, password or "") if profile.username else None
        kwargs: dict[str, Any] = {
            "api_prefix": profile.api_prefix,
            "domain": profile.domain,
            "auth": auth,
            "cert": profile.cert,
            "key": profile.key,
            "verify": profile.verify_ssl,
        }
        kwargs.update(overrides)
        return cls(profile.api_root, **kwargs)

    def __repr__(self) -> str:
        user = f" user={self.username!r}" if self.username else ""
        return f"<PulpClient {self.base_url}{self.api_prefix}{user}>"

    def _ssl_context(self) -> ssl.SSLContext | bool:
        verify = self.verify
        if isinstance(verify, str) and verify.lower() in ("true", "false"):
            verify = verify.lower() == "true"
        if verify is True and not self.cert:
            return True  # httpx's default context (certifi bundle)
        reason, files = TLS_CA_FILE, (str(verify),)
        try:
            if verify is False:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            elif isinstance(verify, str):
                context = ssl.create_default_context(cafile=verify)
            else:
                context = httpx.create_ssl_context()
            if self.cert:
                reason = TLS_CLIENT_CERT_FILE
                files = tuple(path for path in (self.cert, self.key) if path)
                context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            what = "CA bundle" if reason == TLS_CA_FILE else "client certificate/key"
            raise TlsError(
                f"Cannot load the {what} ({', '.join(files)}): {exc}.",
                reason=reason,
                files=files,
                **self._facts(None),
            ) from exc
        return context

    @property
    def credentials(self) -> str | None:
        """What this client authenticates with: "password", "certificate" or None."""
        return PASSWORD if self.username else (CERTIFICATE if self.cert else None)

    def _facts(self, url: str | None) -> dict[str, Any]:
        """What every error of this client says about the request's target and credentials."""
        return {
            "url": url,
            "base_url": self.base_url,
            "credentials": self.credentials,
            "username": self.username,
        }

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- URLs ---

    @property
    def tests_url(self) -> str:
        """The tests endpoint: the guide's path, or its domain's with Pulp domains."""
        if self.domain and self.domain != "default":
            return f"/api/pulp/{self.domain}/rds-connection-tests/"
        return TESTS_ENDPOINT

    @property
    def api_v3_path(self) -> str:
        """The Pulp API root for this domain, e.g. `/pulp/api/v3/` or `/pulp/foo/api/v3/`."""
        if self.domain and self.domain != "default":
            return f"{self.api_prefix}{self.domain}/api/v3/"
        return f"{self.api_prefix}api/v3/"

    def absolute_url(self, href: str) -> str:
        """A browsable URL for an href the server returned (the guide's "Task URL")."""
        if "://" in href:
            return redact_url(href)
        return redact_url(self.base_url) + href

    # --- requests ---

    async def _request(self, method: str, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
        """Send one request; translate every transport failure into an ApiError."""
        shown = self.absolute_url(url)
        self.requests_sent += 1
        sent_at = time.time()
        try:
            response = await self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(
                f"Timed out waiting for {self.base_url} ({what}): {type(exc).__name__}. "
                "The server may be overloaded or unreachable.",
                timed_out=True,
                **self._facts(shown),
            ) from None
        except (httpx.TransportError, OSError) as exc:  # ssl.SSLError is an OSError
            raise self._transport_error(exc, what, shown) from None
        self._note_clock(response, sent_at, time.time())
        return response

    def _transport_error(self, exc: BaseException, what: str, shown: str) -> ApiError:
        """The ApiError for a request that got no HTTP answer."""
        ssl_error = _find_ssl_error(exc)
        if ssl_error is None:
            return ServerUnreachable(
                f"Cannot reach {self.base_url} ({what}): {_describe(exc)}.", **self._facts(shown)
            )
        text = str(ssl_error).upper()
        if isinstance(ssl_error, ssl.SSLCertVerificationError):
            detail = f"certificate verify failed ({ssl_error.verify_message})"
        else:
            detail = getattr(ssl_error, "reason", None) or str(ssl_error)
        if "CERTIFICATE_REQUIRED" in text and not self.cert:
            reason, fact = TLS_CLIENT_CERT_REQUIRED, " The server requires a client certificate."
        elif self.cert and "CERTIFICATE" in text and "ALERT" in text:
            reason, fact = TLS_CLIENT_CERT_REFUSED, " The server refused the client certificate."
        elif "CERTIFICATE_VERIFY_FAILED" in text or "CERTIFICATE VERIFY FAILED" in text:
            reason, fact = TLS_UNTRUSTED, " This machine does not trust the server's certificate."
        else:
            reason, fact = TLS_HANDSHAKE, ""
        return TlsError(
            f"TLS handshake with {self.base_url} failed: {detail}.{fact}",
            reason=reason,
            **self._facts(shown),
        )

    def _note_clock(self, response: httpx.Response, sent_at: float, received_at: float) -> None:
        server_time = _parse_http_date(response.headers.get("date"))
        if server_time is not None:
            # Date has 1 s resolution and is stamped while answering: compare with the midpoint.
            self.clock_skew_seconds = server_time + 0.5 - (sent_at + received_at) / 2

    def _raise_for_status(
        self, response: httpx.Response, *, what: str, tests_endpoint: bool = False
    ) -> Any:
        """Return the JSON body of a successful response, else raise the fitting ApiError."""
        status = response.status_code
        url = self.absolute_url(str(response.request.url.raw_path, "ascii"))
        body = _json_or_none(response)
        server_says = _server_text(body)
        facts = {**self._facts(url), "status_code": status, "server_says": server_says}
        if 200 <= status < 300:
            if body is None and status != 204:
                raise self._not_pulp(response, what, url)
            return body
        if 300 <= status < 400:
            location = redact_url(clean_text(response.headers.get("location", "?"), 500))
            raise UnexpectedResponse(
                f"{url} redirected ({status}) to {location} ({what}).",
                reason=REDIRECT,
                location=location,
                **facts,
            )
        if status == 401:
            if self.username:
                reason = AUTH_REJECTED
                message = (
                    f"Authentication failed for user '{self.username}' at {self.base_url} "
                    "(401): the server refused the user name and password."
                )
            elif self.cert:
                reason = AUTH_CERTIFICATE_REJECTED
                message = f"{self.base_url} did not accept the client certificate (401)."
            else:
                reason = AUTH_MISSING
                message = (
                    f"{self.base_url} requires authentication (401) and no credentials were given."
                )
            raise AuthenticationFailed(message, reason=reason, **facts)
        if status == 403:
            text = server_says or "permission denied"
            if "not enabled" in text.lower():
                raise TestsDisabled(
                    f"{text} (403 from {self.base_url}). An administrator must set "
                    f"{ENABLED_SETTING} = True in the Pulp settings.",
                    **facts,
                )
            who = f" for user '{self.username}'" if self.username else ""
            raise PermissionDenied(f"Forbidden{who} ({what}, 403): {text}", **facts)
        if status == 404:
            if tests_endpoint and (
                body is None or not isinstance(body, dict) or "error" not in body
            ):
                in_domain = (
                    f", or the server has no domain '{self.domain}' (or an older plugin "
                    "without domain endpoints)"
                    if self.tests_url != TESTS_ENDPOINT
                    else ""
                )
                raise PluginNotInstalled(
                    f"{self.base_url} has no {self.tests_url} endpoint (404): the RDS connection "
                    "tests plugin is not installed on that server, or that address is not the "
                    f"server's base URL{in_domain}.",
                    **facts,
                )
            raise NotFound(
                f"Not found ({what}, 404): {url}" + (f": {server_says}" if server_says else "."),
                api_path=None if tests_endpoint else self.api_v3_path,
                **facts,
            )
        simple = _SIMPLE_ERRORS.get(status)
        if simple is not None:
            error_class, label = simple
            raise error_class(
                f"{label} ({what}, {status}): {server_says or _snippet(response)}", **facts
            )
        if status >= 500:
            raise ServerError(
                f"Server error {status} from {self.base_url} ({what})"
                + (f": {server_says or _snippet(response)}" if response.content else "")
                + ". Retry later; the server's logs have the details"
                + (f" (correlation id {self.correlation_id})." if status == 500 else "."),
                **facts,
            )
        raise UnexpectedResponse(
            f"Unexpected HTTP {status} from {url} ({what}): {server_says or _snippet(response)}",
            reason=UNEXPECTED_STATUS,
            **facts,
        )

    def _not_pulp(self, response: httpx.Response, what: str, url: str) -> UnexpectedResponse:
        content_type = clean_text(response.headers.get("content-type", "no content type"), 200)
        return UnexpectedResponse(
            f"{url} did not answer like Pulp ({what}): HTTP {response.status_code}, "
            f"{content_type}, starting with {_snippet(response, 60)!r}.",
            reason=NOT_PULP,
            **self._facts(url),
            status_code=response.status_code,
        )

    def _parse(self, model: type, body: Any, response: httpx.Response, what: str) -> Any:
        from pydantic import ValidationError

        try:
            return model.model_validate(body)
        except ValidationError:
            url = self.absolute_url(str(response.request.url.raw_path, "ascii"))
            raise self._not_pulp(response, what, url) from None

    # --- the API ---

    async def catalog(self) -> Catalog:
        """GET the tests endpoint: the available tests (open to anonymous callers)."""
        what = "listing tests"
        response = await self._request("GET", self.tests_url, what=what)
        body = self._raise_for_status(response, what=what, tests_endpoint=True)
        return self._parse(Catalog, body, response, what)

    async def dispatch(
        self,
        tests: Sequence[str],
        *,
        run_sequentially: bool = False,
        duration_minutes: int | None = None,
        heartbeat_interval_seconds: float | None = None,
        notify_interval_seconds: float | None = None,
        stop_on_disconnect: bool | None = None,
        keepalive_interval_seconds: int | None = None,
    ) -> DispatchResponse:
        """POST the tests endpoint: dispatch `tests`; returns the 202's task list."""
        what = "dispatching tests"
        request = DispatchRequest(
            tests=list(tests),
            run_sequentially=run_sequentially,
            duration_minutes=duration_minutes,
            heartbeat_interval_seconds=heartbeat_interval_seconds,
            notify_interval_seconds=notify_interval_seconds,
            stop_on_disconnect=stop_on_disconnect,
            keepalive_interval_seconds=keepalive_interval_seconds,
        )
        response = await self._request("POST", self.tests_url, what=what, json=request.to_json())
        body = self._raise_for_status(response, what=what, tests_endpoint=True)
        return self._parse(DispatchResponse, body, response, what)

    def tasks_list_path(self, hrefs: Sequence[str] = ()) -> str:
        """The tasks list endpoint. Derived from a task href when there is one, so a
        domain-aware href (`/pulp/<domain>/api/v3/tasks/<id>/`) polls the right place."""
        for href in hrefs:
            path = urlsplit(href).path
            if "/tasks/" in path:
                return path[: path.rindex("/tasks/")] + "/tasks/"
        return f"{self.api_v3_path}tasks/"

    async def tasks(self, hrefs: Sequence[str]) -> list[Task]:
        """Fetch the tasks `hrefs` in ONE request (`pulp_id__in`, `fields=`); above
        MAX_IDS_PER_REQUEST ids, one request per chunk. Tasks the server no longer has
        are simply absent from the result."""
        if not hrefs:
            return []
        what = "polling tasks"
        by_path: dict[str, list[str]] = {}
        for href in hrefs:
            by_path.setdefault(self.tasks_list_path([href]), []).append(task_id_from_href(href))
        tasks: list[Task] = []
        for path, ids in by_path.items():
            for chunk in chunked(ids, MAX_IDS_PER_REQUEST):
                # Commas left unencoded: %2C would push 100 ids past gunicorn's
                # 4094-byte request-line limit.
                query = "pulp_id__in={}&fields={}&limit={}".format(
                    ",".join(quote(task_id, safe="-") for task_id in chunk),
                    ",".join(TASK_FIELDS),
                    len(chunk),
                )
                response = await self._request("GET", f"{path}?{query}", what=what)
                body = self._raise_for_status(response, what=what)
                if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                    url = self.absolute_url(path)
                    raise self._not_pulp(response, what, url)
                for item in body["results"]:
                    tasks.append(self._parse(Task, item, response, what))
        return tasks

    async def task(self, href: str) -> Task:
        """GET one task by its href."""
        what = "reading a task"
        response = await self._request("GET", urlsplit(href).path, what=what)
        body = self._raise_for_status(response, what=what)
        return self._parse(Task, body, response, what)

    async def cancel(self, task_href: str) -> Task:
        """Cancel a task (PATCH state=canceled). Raises Conflict when it already finished."""
        what = "canceling a task"
        response = await self._request(
            "PATCH", urlsplit(task_href).path, what=what, json={"state": "canceled"}
        )
        body = self._raise_for_status(response, what=what)
        return self._parse(Task, body, response, what)

    async def tasks_by_correlation_id(self, correlation_id: str) -> list[Task]:
        """The tasks dispatched with `correlation_id` (pulpcore's `logging_cid`)."""
        what = "finding a run's tasks"
        response = await self._request(
            "GET",
            f"{self.api_v3_path}tasks/",
            what=what,
            params={"logging_cid": correlation_id, "fields": ",".join(TASK_FIELDS)},
        )
        body = self._raise_for_status(response, what=what)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise self._not_pulp(response, what, self.absolute_url(f"{self.api_v3_path}tasks/"))
        return [self._parse(Task, item, response, what) for item in body["results"]]

    async def whoami(self) -> str:
        """The user name the server authenticated these credentials as (pulpcore's
        `GET {api root}login/`, inside the domain). Raises AuthenticationFailed on 401;
        NotFound from a pulpcore too old to have the endpoint."""
        what = "checking the login"
        path = f"{self.api_v3_path}login/"
        response = await self._request("GET", path, what=what)
        body = self._raise_for_status(response, what=what)
        if not isinstance(body, dict) or not isinstance(body.get("username"), str):
            raise self._not_pulp(response, what, self.absolute_url(path))
        return body["username"]

    async def status(self) -> dict[str, Any]:
        """GET Pulp's status (versions, online workers)."""
        what = "reading the server status"
        path = f"{self.api_prefix}api/v3/status/"  # outside any domain, also with domains
        response = await self._request("GET", path, what=what)
        body = self._raise_for_status(response, what=what)
        if not isinstance(body, dict) or "versions" not in body:
            raise self._not_pulp(response, what, self.absolute_url(path))
        return body

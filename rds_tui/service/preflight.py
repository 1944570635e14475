"""Is this server ready for a run? The checks an operator needs before dispatching.

In order: reachable, authenticated, plugin installed, tests enabled, workers online.
Each check needs the one before it (tests enabled does not: workers are counted even
when the tests are off), so a failed check marks the ones after it skipped. Each check
has a status and facts (versions, user, counts); a failure carries the ApiError, which
each front end words with its own hint (rds_tui.cli.hints, rds_tui.screens.errors).
The dashboard's connection check and `rds-tui check` both show this, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rds_tui.api_errors import (
    ENABLED_SETTING,
    ApiError,
    AuthenticationFailed,
    NotFound,
)

if TYPE_CHECKING:
    from rds_tui.api import PulpClient

OK = "ok"
FAILED = "failed"
WARNING = "warning"  # could not be confirmed; a run may still work
SKIPPED = "skipped"  # not checked: an earlier check failed

# A plain-text mark per status, for every front end.
SYMBOLS = {OK: "✓", FAILED: "✗", WARNING: "!", SKIPPED: "…"}

# Check names, in order, with their labels.
SETUP = "setup"  # only present when the client could not even be set up
REACHABLE = "reachable"
AUTHENTICATED = "authenticated"
PLUGIN = "plugin"
ENABLED = "enabled"
WORKERS = "workers"
LABELS = {
    SETUP: "Client set-up",
    REACHABLE: "Reachable",
    AUTHENTICATED: "Authenticated",
    PLUGIN: "Plugin installed",
    ENABLED: "Tests enabled",
    WORKERS: "Workers online",
}
ORDER = (REACHABLE, AUTHENTICATED, PLUGIN, ENABLED, WORKERS)


@dataclass(frozen=True)
class Check:
    name: str  # one of ORDER (or SETUP)
    status: str  # OK, FAILED, WARNING or SKIPPED
    detail: str = ""  # the facts in a few words ("pulpcore 3.123.1", "8 online ...")
    facts: dict[str, Any] = field(default_factory=dict)
    error: ApiError | None = None  # why it failed or is uncertain (front ends word it)

    @property
    def label(self) -> str:
        return LABELS[self.name]

    def text(self, describe: Callable[[ApiError], str]) -> str:
        """The line's detail: the error as the front end words it (`describe`), else
        the facts."""
        return describe(self.error) if self.error is not None else self.detail

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "status": self.status,
            "detail": self.detail,
            "facts": self.facts,
        }
        if self.error is not None:
            document["error_type"] = type(self.error).__name__
        return document


@dataclass(frozen=True)
class Preflight:
    base_url: str
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        """Every check passed (a warning does not stop a run)."""
        return all(check.status in (OK, WARNING) for check in self.checks)

    @property
    def failed(self) -> Check | None:
        """The first failed check, if any."""
        return next((check for check in self.checks if check.status == FAILED), None)

    def check(self, name: str) -> Check | None:
        return next((check for check in self.checks if check.name == name), None)


class _Checks:
    """Collects the checks in order; `skip_rest` marks the ones not reached."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.done: list[Check] = []

    def result(self) -> Preflight:
        return Preflight(self.base_url, tuple(self.done))

    def add(self, name: str, status: str, detail: str = "", error=None, **facts: Any) -> None:
        self.done.append(Check(name, status, detail, facts, error))

    def fail(self, name: str, error: ApiError, **facts: Any) -> Preflight:
        """`name` failed with `error`: the checks after it are skipped; the result."""
        self.add(name, FAILED, str(error), error, **facts)
        self.skip_rest(name)
        return self.result()

    def skip_rest(self, because: str) -> None:
        seen = {check.name for check in self.done}
        for name in ORDER:
            if name not in seen:
                self.add(name, SKIPPED, "not checked", because=because)


async def _logged_in_as(client: PulpClient) -> str | None:
    """The user the server sees (None when it cannot say); raises AuthenticationFailed."""
    try:
        return await client.whoami()
    except NotFound:
        # A pulpcore without the login endpoint: listing tasks needs a login too, and a
        # fresh correlation id matches nothing.
        await client.tasks_by_correlation_id(client.correlation_id)
        return None


async def preflight(client: PulpClient) -> Preflight:
    """Ask the server what an operator needs to know before dispatching."""
    checks = _Checks(client.base_url)

    try:
        status = await client.status()
    except ApiError as exc:
        return checks.fail(REACHABLE, exc)
    versions = {
        item.get("component"): item.get("version")
        for item in status.get("versions", [])
        if isinstance(item, dict)
    }
    core = versions.get("core")
    checks.add(REACHABLE, OK, f"pulpcore {core}" if core else "", pulpcore_version=core)

    try:
        who = await _logged_in_as(client)
    except AuthenticationFailed as exc:
        return checks.fail(AUTHENTICATED, exc, credentials=exc.credentials)
    except ApiError as exc:
        checks.add(AUTHENTICATED, WARNING, str(exc), exc)
    else:
        shown = who or client.username or ("certificate" if client.cert else "anonymous")
        checks.add(AUTHENTICATED, OK, shown, username=who, credentials=client.credentials)

    try:
        catalog = await client.catalog()
    except ApiError as exc:
        return checks.fail(PLUGIN, exc)
    version = catalog.plugin_version
    checks.add(
        PLUGIN,
        OK,
        f"pulp-rds-tests {version}" if version else "original pulp-service endpoint",
        plugin_version=version,
        tests=len(catalog.available_tests),
    )

    if catalog.enabled is None:
        checks.add(ENABLED, WARNING, "the server does not say", enabled=None)
    elif catalog.enabled:
        checks.add(ENABLED, OK, enabled=True)
    else:
        checks.add(
            ENABLED,
            FAILED,
            f"{ENABLED_SETTING} is off; an administrator must turn it on",
            enabled=False,
            setting=ENABLED_SETTING,
        )

    workers = status.get("online_workers")
    count = len(workers) if isinstance(workers, list) else None
    if count is None:
        checks.add(WORKERS, WARNING, "not reported", online=None)
    else:
        detail = f"{count} online; each test keeps one busy"
        checks.add(WORKERS, OK if count > 0 else FAILED, detail, online=count)
    return checks.result()


async def preflight_with(open_client: Callable[[], PulpClient], base_url: str) -> Preflight:
    """`preflight` on a client made by `open_client`, which may itself fail (a client
    certificate or CA bundle that cannot be loaded): then one failed set-up check."""
    try:
        client = open_client()
    except ApiError as exc:
        return _Checks(exc.base_url or base_url).fail(SETUP, exc)
    async with client:
        return await preflight(client)

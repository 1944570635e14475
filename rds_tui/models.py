"""Pydantic models of the wire format: the tests catalog (GET), dispatch request and
response (POST), Pulp tasks and the probe result a task returns.

Every model is a tolerant reader (`extra="allow"`): the client must work against the
original pulp-service endpoint, whose catalog has only `available_tests`,
`descriptions` and `usage` and whose results lack most fields, and against future
servers that send more. Unknown fields are kept (see `model_extra`), never rejected.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from rds_tui import catalog
from rds_tui.constants import MISSING_STATE, PULP_FINAL_STATES
from rds_tui.untrusted import MAX_TEXT_LENGTH, clean_text

# Length bounds of server and database text, in characters (rds_tui.untrusted cuts longer
# strings and says how much it cut). One string (an error text, a description, a server
# message) keeps MAX_TEXT_LENGTH, more than any real one. A result's `events` timeline
# holds hundreds of short strings, one of them possibly a NOTIFY payload anyone may send:
# each keeps EVENT_TEXT_LENGTH (the plugin itself keeps 400 bytes of an event's detail).
EVENT_TEXT_LENGTH = 1024


def clean_wire_document(document: Any, limit: int = MAX_TEXT_LENGTH) -> Any:
    """A server's (or a stored) JSON document with every string cleaned: control and BiDi
    characters and escape sequences dropped, lengths bounded (under `events`, tighter)."""
    if isinstance(document, str):
        return clean_text(document, limit)
    if isinstance(document, dict):
        return {
            clean_text(key) if isinstance(key, str) else key: clean_wire_document(
                value, EVENT_TEXT_LENGTH if key == "events" else limit
            )
            for key, value in document.items()
        }
    if isinstance(document, list | tuple):
        return [clean_wire_document(item, limit) for item in document]
    return document


class WireModel(BaseModel):
    """Base of every wire model: keeps unknown fields, ignores nothing silently, and
    cleans every string it is given (rds_tui.untrusted): this is where server and database
    text enters the client, so nothing built from a model carries a terminal escape."""

    # defer_build: schemas are built on first use, so importing the module stays cheap.
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _clean_strings(cls, data: Any) -> Any:
        return clean_wire_document(data)


class TaskState(str, enum.Enum):
    """A Pulp task's state. `skipped` is final (pulpcore's TASK_FINAL_STATES)."""

    WAITING = "waiting"
    SKIPPED = "skipped"
    RUNNING = "running"
    CANCELING = "canceling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self.value in PULP_FINAL_STATES

    def __str__(self) -> str:
        return self.value


MISSING_TASK_EXPLANATION = (
    "the server no longer has this task (deleted or purged, or it belongs to another domain)"
)


def missing_task_document(task_href: str, last_known: dict[str, Any] | None = None) -> dict:
    """The task JSON recorded for a task the server no longer has: its last known JSON
    (if any) with state "missing" and an `error` saying why there is no result."""
    document = dict(last_known or {})
    document["pulp_href"] = document.get("pulp_href") or task_href
    last_state = document.get("state")
    document["state"] = MISSING_STATE
    explanation = MISSING_TASK_EXPLANATION
    if last_state and last_state != MISSING_STATE:
        explanation += f"; last seen {last_state}"
    if not document.get("error"):
        document["error"] = {"description": explanation}
    return document


def parse_state(value: str | TaskState | None) -> TaskState | None:
    """The TaskState for a server's string, None for a state this client does not know."""
    if value is None or isinstance(value, TaskState):
        return value
    try:
        return TaskState(value)
    except ValueError:
        return None


# --- catalog (GET /api/pulp/rds-connection-tests/) ---------------------------------


class TestInfo(WireModel):
    """One test as the server describes it (the plugin's `tests` entries); the
    original endpoint only gives a name and a description."""

    __test__ = False  # not a pytest test class despite the name

    name: str
    number: int | None = None
    title: str | None = None
    description: str | None = None
    tells_you: str | None = None
    expected_outcome: str | None = None
    # The plugin sends `proxy_pins`.
    pinned_by_rds_proxy: bool | None = Field(
        default=None, validation_alias=AliasChoices("pinned_by_rds_proxy", "proxy_pins")
    )


class Catalog(WireModel):
    """The GET response. Only `available_tests` is required (the original's shape)."""

    available_tests: list[str]
    # The fix patterns (tests 8, 9) the server accepts by name; empty: an older plugin.
    fix_tests: list[str] = Field(default_factory=list)
    descriptions: dict[str, str] = Field(default_factory=dict)
    usage: dict[str, Any] | None = None
    tests: list[TestInfo] = Field(default_factory=list)
    expected_cutoff_seconds: float | None = None
    time_unit_seconds: float | None = None
    enabled: bool | None = None
    max_active: int | None = None
    plugin_version: str | None = None

    def test_infos(self, names: list[str] | None = None) -> list[TestInfo]:
        """Every available test (or the tests `names`), in the server's order, merged from
        `tests`, `descriptions` and the built-in catalog (in that order of preference)."""
        detailed = {t.name: t for t in self.tests}
        infos = []
        for name in self.available_tests if names is None else names:
            builtin = catalog.get(name)
            info = detailed.get(name) or TestInfo(name=name)
            defaults = {
                "description": self.descriptions.get(name)
                or (builtin.description if builtin else None),
                "title": builtin.title if builtin else None,
                "tells_you": builtin.purpose if builtin else None,
                "expected_outcome": builtin.expected_outcome if builtin else None,
                "pinned_by_rds_proxy": builtin.pinned_by_rds_proxy if builtin else None,
            }
            missing = {k: v for k, v in defaults.items() if getattr(info, k) is None}
            infos.append(info.model_copy(update=missing) if missing else info)
        return infos

    def fix_test_infos(self) -> list[TestInfo]:
        """The fix patterns (tests 8, 9) the server accepts, described like test_infos."""
        return self.test_infos(self.fix_tests)

    @classmethod
    def builtin(cls) -> Catalog:
        """The catalog this client knows without a server."""
        return cls(
            available_tests=list(catalog.TEST_NAMES),
            fix_tests=list(catalog.FIX_TEST_NAMES),
            descriptions={t.name: t.description for t in catalog.BUILTIN_CATALOG},
            tests=[
                TestInfo(
                    name=t.name,
                    title=t.title,
                    description=t.description,
                    tells_you=t.purpose,
                    expected_outcome=t.expected_outcome,
                    pinned_by_rds_proxy=t.pinned_by_rds_proxy,
                )
                for t in catalog.BUILTIN_CATALOG + catalog.FIX_CATALOG
            ],
        )


# --- dispatch (POST /api/pulp/rds-connection-tests/) ------------------------------


class DispatchRequest(WireModel):
    """The POST body. Optional fields left at None are not sent, so the original
    endpoint receives exactly the guide's `{"tests": [...], "run_sequentially": ...}`."""

    tests: list[str]
    run_sequentially: bool = False
    duration_minutes: int | None = None
    heartbeat_interval_seconds: float | None = None
    notify_interval_seconds: float | None = None
    stop_on_disconnect: bool | None = None
    # Test 9's TCP keepalive interval, whole seconds (plugins with fix patterns only).
    keepalive_interval_seconds: int | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class DispatchedTask(WireModel):
    test_name: str
    task_id: str
    task_href: str


class DispatchResponse(WireModel):
    """The 202 answer: `tasks` is the only field the client relies on."""

    message: str | None = None
    tasks: list[DispatchedTask]
    run_sequentially: bool | None = None
    duration_minutes: int | None = None
    note: str | None = None


# --- tasks (GET {api}/tasks/) ----------------------------------------------------


class ProgressReport(WireModel):
    message: str | None = None
    code: str | None = None
    state: str | None = None
    total: int | None = None
    done: int | None = None
    suffix: str | None = None


class Task(WireModel):
    """A Pulp task as the tasks API returns it (possibly shrunk with `fields=`)."""

    pulp_href: str
    state: str
    name: str | None = None
    logging_cid: str | None = None
    pulp_created: datetime | None = None
    unblocked_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: dict[str, Any] | None = None
    progress_reports: list[ProgressReport] = Field(default_factory=list)
    result: Any = None

    @property
    def task_id(self) -> str:
        return task_id_from_href(self.pulp_href)

    @property
    def task_state(self) -> TaskState | None:
        """The state as a TaskState, None if the server sent one this client does not know."""
        return parse_state(self.state)

    @property
    def is_final(self) -> bool:
        state = self.task_state
        return state is not None and state.is_final

    @property
    def error_description(self) -> str | None:
        """Pulp's error text for a failed task (`description`, else `reason`)."""
        if not self.error:
            return None
        return str(self.error.get("description") or self.error.get("reason") or self.error)

    def probe_result(self) -> ProbeResult | None:
        """The task's result read as a ProbeResult, None when it has no dict result."""
        if not isinstance(self.result, dict):
            return None
        return ProbeResult.lenient(self.result)


def task_id_from_href(href: str) -> str:
    """The last path segment of a task href: `/pulp/api/v3/tasks/<id>/` -> `<id>`."""
    return href.rstrip("/").rsplit("/", 1)[-1]


# --- the probe's result (the dict the task returns) ------------------------------


class ProbeResult(WireModel):
    """The result of one probe. Every field is optional: the original endpoint's
    results have only the first group; the plugin adds the rest."""

    # The original's fields.
    test: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_minutes: float | None = None
    connection_alive: bool | None = None
    success: bool | None = None
    status: str | None = None
    connection_pinned: bool | None = None
    backend_pid: int | None = None
    error: dict[str, Any] | str | None = None
    # The plugin's additions.
    test_name: str | None = None
    planned_duration_seconds: float | None = None
    expected_cutoff_seconds: float | None = None
    expected_in_transaction_cutoff_seconds: float | None = None
    time_unit_seconds: float | None = None
    actual_duration_seconds: float | None = None
    disconnected: bool | None = None
    disconnected_at: str | None = None
    seconds_to_disconnect: float | None = None
    idle_seconds_before_disconnect: float | None = None
    detected_by: str | None = None
    server_message: str | None = None
    sqlstate: str | None = None
    client_message: str | None = None
    heartbeats_ok: int | None = None
    backend_pids_seen: list[Any] | None = None
    pinning_observed: bool | None = None
    notifications_sent: int | None = None
    notifications_received: int | None = None
    notify_interval_seconds: float | None = None
    notify_latency_ms: Any = None
    server_settings: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    events: list[Any] | None = None
    # Why the probe stopped before its end (a direct run interrupted): the result is partial.
    abandoned: str | None = None

    @classmethod
    def lenient(cls, data: dict[str, Any]) -> ProbeResult:
        """Validate `data`, keeping a field whose value has an unexpected type as an
        extra (raw) value instead of failing the whole result."""
        data = clean_wire_document(data)  # the raw values kept below are cleaned too
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
            good = {k: v for k, v in data.items() if k not in bad}
            result = cls.model_validate(good)
            for key in bad:
                result.__pydantic_extra__[f"raw_{key}"] = data[key]
            return result

    @property
    def died(self) -> bool | None:
        """True when the probe's connection died, False when it survived, None if unknown
        (rds_tui.outcome decides; kept for callers of the result alone)."""
        from rds_tui.outcome import read_outcome  # outcome builds on this module

        return read_outcome(self.model_dump(exclude_none=True)).died

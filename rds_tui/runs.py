"""The local run history: one JSON file per dispatched run.

A run is written right after the server accepted the dispatch and before any
monitoring, so closing the terminal mid-run loses nothing: `rds-tui watch RUN` and
`rds-tui report RUN` find the tasks again. Finished task JSON is stored with the run.
Files live in RDS_TUI_DATA_DIR/runs (default: the platform's user data dir) and are
written atomically; a damaged file is reported, never fatal to the listing. Nothing
that looks like a password is ever written.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rds_tui.constants import FINAL_TASK_STATES
from rds_tui.filestore import atomic_write_bytes

DATA_DIR_ENV = "RDS_TUI_DATA_DIR"
LAST = "last"

_RUN_ID_PATTERN = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$")
_SECRET_KEY_PATTERN = re.compile(r"passw|secret|authorization|credential", re.IGNORECASE)


class RunError(Exception):
    """A run-history problem the user can act on; str() says what and how."""


class RunNotFound(RunError):
    pass


class RunFileError(RunError):
    """A run file exists but cannot be read as a run."""


def default_data_dir() -> Path:
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_path  # imported lazily: keeps start-up fast

    return user_data_path("rds-tui")


def default_runs_dir() -> Path:
    return default_data_dir() / "runs"


def new_run_id(created_at: datetime) -> str:
    """Short, sortable by time, unique enough: 20261128-093012-ab12 (UTC)."""
    return f"{created_at.astimezone(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def without_secrets(value: Any) -> Any:
    """A copy of `value` without any mapping key that names a password or secret."""
    if isinstance(value, dict):
        return {
            key: without_secrets(item)
            for key, item in value.items()
            if not (isinstance(key, str) and _SECRET_KEY_PATTERN.search(key))
        }
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


class RunTask(BaseModel):
    model_config = ConfigDict(extra="allow")

    test_name: str
    task_id: str
    task_href: str


class Run(BaseModel):
    """One dispatch: where it went, what it asked for, its tasks and their final JSON."""

    model_config = ConfigDict(extra="allow")

    id: str
    created_at: datetime
    profile: str | None = None
    api_root: str
    api_prefix: str = "/pulp/"
    domain: str = "default"
    tests: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str | None = None
    # "direct": the probes ran in the client against a PostgreSQL endpoint (rds-tui
    # probe); api_root is then that endpoint, without user or password.
    kind: Literal["pulp", "direct"] = "pulp"
    tasks: list[RunTask] = Field(default_factory=list)
    final: dict[str, dict[str, Any]] = Field(default_factory=dict)  # task_href -> task JSON
    finished: bool = False
    # What `aws cloudwatch get-metric-data` printed for the run's window, merged with
    # `rds-tui report RUN --metrics FILE` (validated by rds_tui.report.collect).
    metrics: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_identity(cls, data: Any) -> Any:
        # created_at and id are generated together so the id's time is the run's time.
        if isinstance(data, dict):
            data = dict(data)
            created_at = data.get("created_at") or datetime.now(UTC)
            data["created_at"] = created_at
            if not data.get("id"):
                if isinstance(created_at, str):
                    created_at = datetime.fromisoformat(created_at)
                data["id"] = new_run_id(created_at)
        return data

    @model_validator(mode="before")
    @classmethod
    def _clean_text(cls, data: Any) -> Any:
        # A run file is data: an older client's (or an edited) file may hold raw server
        # text, and a base URL with user:password@ (never shown, never used).
        from rds_tui.models import clean_wire_document
        from rds_tui.urls import without_userinfo

        data = clean_wire_document(data)
        if isinstance(data, dict) and isinstance(data.get("api_root"), str):
            data["api_root"] = without_userinfo(data["api_root"])
        return data

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # Naive times (hand-edited files) are taken as UTC so runs stay comparable.
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def _task_for(self, task: dict[str, Any]) -> RunTask | None:
        href = task.get("pulp_href") or ""
        for run_task in self.tasks:
            if href == run_task.task_href or (run_task.task_id and f"/{run_task.task_id}/" in href):
                return run_task
        return None

    def record_task(self, task: dict[str, Any]) -> bool:
        """Store the JSON of a task of this run once it is final; update `finished`.

        Returns True when something new was recorded (the caller then saves the run).
        """
        run_task = self._task_for(task)
        if run_task is None or task.get("state") not in FINAL_TASK_STATES:
            return False
        clean = without_secrets(task)
        if self.final.get(run_task.task_href) == clean:
            return False
        self.final[run_task.task_href] = clean
        self.finished = all(item.task_href in self.final for item in self.tasks)
        return True

    def pending_tasks(self) -> list[RunTask]:
        return [task for task in self.tasks if task.task_href not in self.final]

    def task_results(self) -> list[dict[str, Any]]:
        """The stored final task dicts, in dispatch order, each annotated with test_name."""
        return [
            {**self.final[task.task_href], "test_name": task.test_name}
            for task in self.tasks
            if task.task_href in self.final
        ]

    def state_summary(self) -> str:
        """Like "2 completed, 1 failed, 4 pending" (from stored data only)."""
        counts: dict[str, int] = {}
        for task in self.tasks:
            state = self.final.get(task.task_href, {}).get("state", "pending")
            counts[state] = counts.get(state, 0) + 1
        return ", ".join(f"{count} {state}" for state, count in counts.items()) or "no tasks"


@dataclass
class RunListing:
    runs: list[Run] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line per unreadable file


class RunStore:
    """Run files in one directory: create, save, get by id/prefix/"last", list."""

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory is not None else default_runs_dir()

    def _path(self, run_id: str) -> Path:
        if not _RUN_ID_PATTERN.match(run_id):
            raise RunError(f"{run_id!r} is not a run id (they look like 20261128-093012-ab12)")
        return self.directory / f"{run_id}.json"

    def _write(self, run: Run) -> None:
        document = without_secrets(run.model_dump(mode="json"))
        # Compact: the stored task JSON (with its events timeline) dominates the size, and
        # listing the history parses every file; `rds-tui report RUN --format json` is the
        # readable form.
        data = json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n"
        atomic_write_bytes(self._path(run.id), data.encode("utf-8"))

    def create(self, run: Run) -> Run:
        """Write a new run (call it right after the dispatch, before monitoring)."""
        if self._path(run.id).exists():
            raise RunError(f"a run with id {run.id} already exists in {self.directory}")
        self._write(run)
        return run

    def save(self, run: Run) -> None:
        self._write(run)

    def _read(self, path: Path) -> Run:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RunFileError(f"cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise RunFileError(f"{path} is not a run file (not UTF-8 text)") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RunFileError(
                f"{path} is not a run file: invalid JSON at line {exc.lineno}: {exc.msg}"
            ) from None
        try:
            return Run.model_validate(document)
        except ValidationError as exc:
            fields = ", ".join(
                ".".join(str(part) for part in item["loc"]) or "(top level)"
                for item in exc.errors(include_input=False, include_url=False)
            )
            raise RunFileError(f"{path} is not a valid run file (bad fields: {fields})") from None

    def _files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return [path for path in self.directory.glob("*.json") if not path.name.startswith(".")]

    def scan(self) -> RunListing:
        """Every readable run, newest first, plus one line per unreadable file."""
        listing = RunListing()
        for path in self._files():
            try:
                listing.runs.append(self._read(path))
            except RunFileError as exc:
                listing.problems.append(str(exc))
        listing.runs.sort(key=lambda run: (run.created_at, run.id), reverse=True)
        listing.problems.sort()
        return listing

    def list(self) -> list[Run]:
        return self.scan().runs

    def unfinished(self) -> list[Run]:
        return [run for run in self.list() if not run.finished]

    def get(self, run_id: str) -> Run:
        """A run by its id, a unique prefix of it, or "last" (the newest run)."""
        run_id = run_id.strip()
        if run_id == LAST:
            # Ids start with their UTC creation time: the newest is the greatest name.
            for path in sorted(self._files(), reverse=True):
                try:
                    return self._read(path)
                except RunFileError:
                    continue  # a damaged file does not hide the runs before it
            raise RunNotFound(f"no runs recorded yet in {self.directory}")
        if _RUN_ID_PATTERN.match(run_id) and self._path(run_id).exists():
            return self._read(self._path(run_id))
        matches = sorted(path.stem for path in self._files() if path.stem.startswith(run_id))
        if not run_id or not matches:
            raise RunNotFound(
                f"no run {run_id!r} in {self.directory}; `rds-tui runs` lists them "
                f'("last" is the newest)'
            )
        if len(matches) > 1:
            shown = ", ".join(matches[:10]) + (" ..." if len(matches) > 10 else "")
            raise RunError(f"{run_id!r} matches {len(matches)} runs ({shown}); give more of the id")
        return self._read(self.directory / f"{matches[0]}.json")

"""Shared fixtures: isolated user paths for every test, and the local lab.

`lab_factory(**options)` starts a real lab (PostgreSQL, PgBouncer, pulpcore with the
plugin; see the rds_tui.lab package) once per distinct set of options and stops it at the
end of the session; `lab` is the default small, fast lab. Both give the lab's status as
a dict (the same object `rds-tui lab status --json` prints).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rds_tui import lab as lab_module

# Short timeouts keep the end-to-end tests fast; 8 workers run the seven tests at once.
# The in-transaction cutoff is more than two of test 4's work intervals (2 lab seconds by
# default): a working transaction survives even when a loaded machine delays a round.
DEFAULT_TEST_LAB: dict[str, Any] = {
    "workers": 8,
    "idle_timeout": 3,
    "idle_in_transaction_timeout": 5,
}


@pytest.fixture(scope="session", autouse=True)
def isolated_user_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point the profile file and the run history at tmp paths: never the developer's own."""
    root = tmp_path_factory.mktemp("user")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RDS_TUI_CONFIG", str(root / "config" / "profiles.toml"))
        patch.setenv("RDS_TUI_DATA_DIR", str(root / "data"))
        yield root


@pytest.fixture(scope="session")
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start (or reuse) a lab with the given LabOptions fields; all stop at session end
    (or, should pytest be killed, when their watchdog sees it gone)."""
    started: dict[str, tuple[Path, dict[str, Any]]] = {}

    def factory(**options: Any) -> dict[str, Any]:
        key = json.dumps(options, sort_keys=True, default=repr)
        if key not in started:
            directory = tmp_path_factory.mktemp("lab")
            try:
                state = lab_module.start(
                    directory, lab_module.LabOptions(**options), stop_with_owner=True
                ).to_json()
            except lab_module.LabError as exc:
                pytest.fail(f"the lab did not start: {exc}", pytrace=False)
            started[key] = (directory, state)
            return state
        directory, state = started[key]
        # A lab reused from an earlier test: say so clearly if a test broke it (checked
        # from /proc only: a busy API must not fail the next test).
        dead = [name for name, record in state["processes"].items()
                if not lab_module.process_alive(record)]  # fmt: skip
        if dead:
            pytest.fail(
                f"the shared lab in {directory} is no longer fully running (stopped: "
                f"{', '.join(dead)}); logs in {directory / 'logs'}",
                pytrace=False,
            )
        return state

    try:
        yield factory
    finally:
        for directory, _ in started.values():
            lab_module.stop(directory)


@pytest.fixture(scope="session")
def lab(lab_factory: Any) -> dict[str, Any]:
    """The default test lab: 8 workers, idle cutoff 3 s, idle-in-transaction cutoff 5 s."""
    return lab_factory(**DEFAULT_TEST_LAB)

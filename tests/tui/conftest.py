"""Dashboard test fixtures: a fixed clock, no cursor blink, private stores, a mock Pulp.

Every test gets its own profiles file and run history (never the developer's), and
the app reads time only from `clock`, so timers and snapshots are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Input

from rds_tui.app import RdsTuiApp
from rds_tui.profiles import Profile, ProfileStore
from rds_tui.runs import RunStore
from rds_tui.widgets.clock import FixedClock

from .mock_pulp import MockPulp

FIXED_NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
SIZE = (100, 30)


@pytest.fixture(autouse=True)
def private_user_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDS_TUI_CONFIG", str(tmp_path / "config" / "profiles.toml"))
    monkeypatch.setenv("RDS_TUI_DATA_DIR", str(tmp_path / "data"))
    for name in ("PULP_API_ROOT", "PULP_USER", "PULP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    # A blinking cursor makes screenshots depend on timing.
    monkeypatch.setattr(Input, "cursor_blink", False)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(FIXED_NOW)


@pytest.fixture
def profile_store(tmp_path: Path) -> ProfileStore:
    return ProfileStore(tmp_path / "config" / "profiles.toml")


@pytest.fixture
def run_store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "data" / "runs")


@pytest.fixture
def mock_pulp() -> MockPulp:
    return MockPulp()


@pytest.fixture
def prod_profile(profile_store: ProfileStore, mock_pulp: MockPulp) -> Profile:
    profile = Profile(
        name="prod",
        api_root="https://pulp.example.com",
        username="admin",
        password=mock_pulp.password,
    )
    profile_store.upsert(profile)
    return profile


@pytest.fixture
def make_app(
    profile_store: ProfileStore, run_store: RunStore, clock: FixedClock, mock_pulp: MockPulp
) -> Callable[..., RdsTuiApp]:
    """An app wired to the private stores, the fixed clock and the mock server."""

    def factory(**options) -> RdsTuiApp:
        options.setdefault("client_factory", mock_pulp.client)
        return RdsTuiApp(profile_store=profile_store, run_store=run_store, clock=clock, **options)

    return factory

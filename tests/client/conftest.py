"""Client tests: the developer's own config, history and PULP_* variables never leak in."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_client_env(tmp_path, monkeypatch):
    monkeypatch.setenv("RDS_TUI_CONFIG", str(tmp_path / "config" / "profiles.toml"))
    monkeypatch.setenv("RDS_TUI_DATA_DIR", str(tmp_path / "data"))
    for name in ("PULP_API_ROOT", "PULP_USER", "PULP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

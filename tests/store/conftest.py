"""Store tests never read or write the developer's own profiles, history or PULP_* env."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_store_env(tmp_path, monkeypatch):
    monkeypatch.setenv("RDS_TUI_CONFIG", str(tmp_path / "config" / "profiles.toml"))
    monkeypatch.setenv("RDS_TUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("PULP_API_ROOT", "PULP_USER", "PULP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

"""Finding the executables the lab runs, or saying which package to install."""

from __future__ import annotations

import glob
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from rds_tui.lab.errors import LabError

# Where Debian puts the tools that are not on PATH (tests point these elsewhere).
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
PGBOUNCER_DIRS = ("/usr/sbin",)
PGPOOL_DIRS = ("/usr/sbin",)


@dataclass(frozen=True)
class Binaries:
    initdb: Path
    postgres: Path
    # The proxy's executable (pgbouncer or pgpool, as the lab's options say).
    proxy: Path
    pulpcore_manager: Path
    pulpcore_api: Path


def _find_tool(name: str, directories: list[Path]) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found).resolve()
    for directory in directories:
        if os.access(directory / name, os.X_OK):
            return directory / name
    return None


def _postgres_bin_dirs() -> list[Path]:
    """Debian's /usr/lib/postgresql/<major>/bin, newest major first."""
    dirs = [Path(p) for p in glob.glob(POSTGRES_BIN_GLOB)]
    return sorted(dirs, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)[::-1]


def python_scripts_dir() -> Path:
    """The scripts directory of the environment the lab runs in (pulpcore's commands)."""
    return Path(sys.executable).parent


# proxy -> (executable, directories besides PATH, Debian package)
PROXY_PACKAGES = {"pgbouncer": ("pgbouncer", "pgbouncer"), "pgpool": ("pgpool", "pgpool2")}


def find_binaries(proxy: str = "pgbouncer") -> Binaries:
    """The executables the lab runs, or a LabError naming the package to install."""
    missing: list[str] = []
    initdb = _find_tool("initdb", _postgres_bin_dirs())
    # postgres must match initdb's version: take it from the same directory.
    postgres = initdb.parent / "postgres" if initdb else None
    if initdb is None or postgres is None or not os.access(postgres, os.X_OK):
        missing.append(
            "the PostgreSQL server binaries (initdb, postgres) are not on PATH or in "
            f"{POSTGRES_BIN_GLOB}; they come with the Debian package `postgresql` "
            "(install: sudo apt-get install -y postgresql)"
        )
    executable, package = PROXY_PACKAGES[proxy]
    proxy_dirs = PGBOUNCER_DIRS if proxy == "pgbouncer" else PGPOOL_DIRS
    proxy_path = _find_tool(executable, [Path(d) for d in proxy_dirs])
    if proxy_path is None:
        missing.append(
            f"`{executable}` is not on PATH or in {', '.join(proxy_dirs)}; it comes with the "
            f"Debian package `{package}` (install: sudo apt-get install -y {package})"
        )
    scripts = python_scripts_dir()
    pulp = {name: scripts / name for name in ("pulpcore-manager", "pulpcore-api")}
    absent = [name for name, path in pulp.items() if not os.access(path, os.X_OK)]
    if absent:
        missing.append(
            f"{', '.join(absent)} not found next to {sys.executable}; install pulpcore and the "
            "plugin into this environment (from the project: pip install -e '.[lab]' -e "
            "./server_plugin, or run ./dev lab)"
        )
    if missing:
        raise LabError("Cannot start the lab: " + "; ".join(missing) + ".")
    assert initdb and postgres and proxy_path
    return Binaries(
        initdb=initdb,
        postgres=postgres,
        proxy=proxy_path,
        pulpcore_manager=pulp["pulpcore-manager"],
        pulpcore_api=pulp["pulpcore-api"],
    )

"""A cache of migrated PostgreSQL clusters: a warm start copies one instead of migrating.

Migrating an empty Pulp database takes ~20-40 s; copying a cached cluster ~0.2 s. One
entry per template key (pulpcore, plugin and migration versions, PostgreSQL binary).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from rds_tui.lab.binaries import Binaries
from rds_tui.lab.processes import PRIVATE_FILE_MODE, write_private

TEMPLATE_MAX_AGE = 14 * 24 * 3600  # seconds a cached cluster of another version is kept
META_FILE = "meta.json"
KEY_FILE = "db_encryption.key"


def template_cache_dir() -> Path:
    """Where migrated database clusters are cached (RDS_TUI_LAB_CACHE overrides)."""
    override = os.environ.get("RDS_TUI_LAB_CACHE")
    if override:
        return Path(override)
    import platformdirs

    return platformdirs.user_cache_path("rds-tui") / "lab-templates"


def template_key(binaries: Binaries) -> str:
    """Changes whenever a cached migrated cluster could differ from a fresh one."""
    digest = hashlib.sha256()
    for dist in ("pulpcore", "pulp-rds-tests"):
        try:
            digest.update(f"{dist}={importlib.metadata.version(dist)}\n".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{dist}=missing\n".encode())
    # Every installed pulpcore plugin migrates its own tables into the same database.
    for plugin in sorted(importlib.metadata.entry_points(group="pulpcore.plugin"), key=str):
        dist = plugin.dist
        digest.update(f"plugin {plugin.name}={dist.version if dist else '?'}\n".encode())
    digest.update(f"postgres={binaries.postgres}\n".encode())
    spec = importlib.util.find_spec("pulp_rds_tests")
    if spec and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        for migration in sorted(root.rglob("migrations/*.py")):
            digest.update(str(migration.relative_to(root)).encode())
            digest.update(migration.read_bytes())
    return digest.hexdigest()[:16]


class TemplateCache:
    def __init__(self, binaries: Binaries):
        self.entry = template_cache_dir() / template_key(binaries)

    def available(self) -> bool:
        return (self.entry / META_FILE).exists()

    def store(self, data_dir: Path, db_encryption_key: Path, superuser_password: str) -> None:
        """Keep a copy of a freshly migrated cluster (its postgres must be stopped)."""
        self.entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.entry.parent))
        try:
            subprocess.run(["cp", "-a", str(data_dir), str(staging / "data")], check=True)
            shutil.copy2(db_encryption_key, staging / KEY_FILE)
            write_private(
                staging / META_FILE, json.dumps({"superuser_password": superuser_password})
            )
            try:
                staging.rename(self.entry)
            except OSError:  # another lab cached the same template meanwhile
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.prune()

    def restore(self, data_dir: Path, db_encryption_key: Path) -> str:
        """Copy the cached cluster to `data_dir`; returns its superuser's password."""
        os.utime(self.entry / META_FILE)  # marks it used (see prune)
        subprocess.run(["cp", "-a", str(self.entry / "data"), str(data_dir)], check=True)
        shutil.copy2(self.entry / KEY_FILE, db_encryption_key)
        os.chmod(db_encryption_key, PRIVATE_FILE_MODE)
        return json.loads((self.entry / META_FILE).read_text())["superuser_password"]

    def prune(self) -> None:
        """Drop cached clusters of other versions unused for TEMPLATE_MAX_AGE (~50 MB each)."""
        cutoff = time.time() - TEMPLATE_MAX_AGE
        for entry in self.entry.parent.iterdir():
            meta = entry / META_FILE
            if entry != self.entry and meta.exists() and meta.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)

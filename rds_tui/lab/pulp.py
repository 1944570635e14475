"""The lab's pulpcore: settings file, database migration, API server and workers.

Runs the pulpcore installed next to this Python (any version in the plugin's supported
range): the flags its commands accept are read from the commands themselves, never
assumed. This module shells out to pulpcore's executables; it never imports pulpcore.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from rds_tui.lab.binaries import Binaries, python_scripts_dir
from rds_tui.lab.errors import LabError
from rds_tui.lab.postgres import Postgres, sql_literal
from rds_tui.lab.processes import (
    START_TIMEOUT,
    SYSTEM_PATH,
    Supervisor,
    make_private_dir,
    minimal_environment,
    write_private,
)
from rds_tui.lab.state import (
    ADMIN_USER,
    API_PREFIX,
    DATABASE,
    HOST,
    PULP_ROLE,
    TIME_UNIT_SECONDS,
    new_password,
)

PLUGIN_COMPONENT = "rds_tests"
MIGRATE_TIMEOUT = 600.0
WORKER_NAME_TEMPLATE = "lab-w{n}-{pid}@{hostname}"
API_STATUS_TIMEOUT = 3.0
HELP_TIMEOUT = 60.0
PULP_SUBDIRS = ("media", "static", "working", "upload-tmp", "home")

T = TypeVar("T")


def pulp_dir(directory: Path) -> Path:
    return directory / "pulp"


def pulpcore_environment(settings_file: Path, home: Path) -> dict[str, str]:
    """The whole environment of the lab's pulpcore processes: minimal (none of the
    caller's PULP_* variables, which would beat the settings file, nor its secrets), the
    venv's scripts first on PATH, and a HOME of the lab's own (gunicorn keeps its
    control socket under ~/.gunicorn when it cannot be told otherwise)."""
    return minimal_environment(
        PATH=f"{python_scripts_dir()}{os.pathsep}{SYSTEM_PATH}",
        HOME=str(home),
        PULP_SETTINGS=str(settings_file),
    )


def _django_password_hash(password: str) -> str:
    # Matches Django's MD5PasswordHasher, which the lab settings put first (see below).
    salt = secrets.token_hex(11)
    return f"md5${salt}${hashlib.md5((salt + password).encode()).hexdigest()}"


def _run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def api_status(api_root: str) -> dict[str, Any] | None:
    """Pulp's status document (versions, online workers), or None when it does not answer."""
    from rds_tui.api import ApiError, PulpClient

    async def fetch() -> dict[str, Any]:
        async with PulpClient(api_root, API_PREFIX, timeout=API_STATUS_TIMEOUT) as client:
            return await client.status()

    try:
        return _run_sync(fetch())
    except ApiError:
        return None


def components(status: dict[str, Any] | None) -> dict[str, str]:
    """component -> version, from a status document."""
    versions = (status or {}).get("versions", [])
    return {str(v.get("component")): str(v.get("version")) for v in versions if isinstance(v, dict)}


def workers_online(status: dict[str, Any] | None) -> int:
    return len((status or {}).get("online_workers", []))


def accepted_options(help_text: str) -> set[str]:
    """The long options a click command's --help lists."""
    return set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", help_text))


class Pulp:
    """pulpcore for one lab start."""

    def __init__(self, supervisor: Supervisor, binaries: Binaries):
        self.supervisor = supervisor
        self.binaries = binaries
        state = supervisor.state
        self.dir = pulp_dir(supervisor.dir)
        self.env = pulpcore_environment(Path(state.settings_file), self.dir / "home")
        # Read the API's options now, while other things start (0.3 s idle, more loaded).
        self._help = subprocess.Popen(
            [str(binaries.pulpcore_api), "--help"], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=self.env,
        )  # fmt: skip

    def close(self) -> None:
        if self._help.poll() is None:
            self._help.kill()
        self._help.communicate()

    def prepare_directories(self) -> None:
        make_private_dir(self.dir)
        for sub in PULP_SUBDIRS:
            make_private_dir(self.dir / sub)

    def write_settings(self, extra_settings: dict[str, Any]) -> None:
        state = self.supervisor.state
        key_file = Path(state.db_encryption_key)
        if not key_file.exists():
            write_private(key_file, base64.urlsafe_b64encode(os.urandom(32)).decode())
        pg, probe = state.postgres, state.probe
        proxy_host, proxy_port = state.proxy_endpoint
        settings: dict[str, Any] = {
            "SECRET_KEY": secrets.token_urlsafe(40),
            "CONTENT_ORIGIN": state.api_root,
            "DATABASES": {
                "default": {
                    "ENGINE": "django.db.backends.postgresql",
                    "NAME": DATABASE,
                    "USER": PULP_ROLE,
                    "PASSWORD": pg.pulp_password,
                    "HOST": HOST,
                    "PORT": pg.port,
                }
            },
            "DB_ENCRYPTION_KEY": str(key_file),
            "MEDIA_ROOT": str(self.dir / "media"),
            "STATIC_ROOT": str(self.dir / "static"),
            "WORKING_DIRECTORY": str(self.dir / "working"),
            "FILE_UPLOAD_TEMP_DIR": str(self.dir / "upload-tmp"),
            "ANALYTICS": False,
            # A throw-away lab on 127.0.0.1 with a generated password: the salted-MD5
            # hasher (Django's advice for test suites) saves ~0.6 s of CPU that PBKDF2
            # costs on EVERY Basic-auth request, which polling clients make each second.
            "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
            "RDS_CONNECTION_TESTS_ENABLED": True,
            "RDS_CONNECTION_TESTS_TIME_UNIT_SECONDS": TIME_UNIT_SECONDS,
            "RDS_CONNECTION_TESTS_EXPECTED_CUTOFF_SECONDS": state.idle_timeout,
            "RDS_CONNECTION_TESTS_EXPECTED_IN_TRANSACTION_CUTOFF_SECONDS": (
                state.idle_in_transaction_timeout
            ),
            "DOMAIN_ENABLED": state.domains,
            "RDS_CONNECTION_TESTS_DATABASE": {
                "HOST": proxy_host,
                "PORT": proxy_port,
                "USER": probe.user,
                "PASSWORD": probe.password,
            },
            **extra_settings,
        }
        lines = ["# Generated by rds-tui lab for this lab only; regenerated on every start."]
        lines += [f"{name} = {value!r}" for name, value in settings.items()]
        write_private(Path(state.settings_file), "\n".join(lines) + "\n")

    def migrate(self) -> None:
        manager = str(self.binaries.pulpcore_manager)
        self.supervisor.run_step("migrate", [manager, "migrate", "--noinput"], "migrating the "
                                 "Pulp database", MIGRATE_TIMEOUT, env=self.env)  # fmt: skip
        # createsuperuser reads the password from the environment, never from argv.
        env = {**self.env, "DJANGO_SUPERUSER_PASSWORD": new_password()}
        argv = [manager, "createsuperuser", "--noinput", "--username", ADMIN_USER,
                "--email", "admin@localhost"]  # fmt: skip
        self.supervisor.run_step("createsuperuser", argv, "creating the admin user", 300, env=env)

    def set_admin_password(self, postgres: Postgres) -> None:
        admin_hash = sql_literal(_django_password_hash(self.supervisor.state.password))
        postgres.sql(
            [f"UPDATE auth_user SET password = {admin_hash} WHERE username = '{ADMIN_USER}'"],
            database=DATABASE,
        )

    def spawn_worker_launcher(self) -> None:
        """Import pulpcore for the workers now, while the database is being prepared."""
        workers = self.supervisor.state.workers
        logs = [str(self.supervisor.log_path(f"worker-{n}")) for n in range(1, workers + 1)]
        argv = [sys.executable, "-m", "rds_tui.lab.worker_launcher", WORKER_NAME_TEMPLATE, *logs]
        self.supervisor.spawn("worker-launcher", argv, env=self.env, pipes=True)

    def fork_workers(self) -> list[str]:
        """Tell the launcher the database is ready; record the workers it forks."""
        supervisor = self.supervisor
        launcher = supervisor.popens["worker-launcher"]
        try:
            output, _ = launcher.communicate("go\n", timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise LabError(
                f"The lab's worker launcher did not start the workers within {START_TIMEOUT:.0f}"
                f" s; see {supervisor.log_path('worker-launcher')}."
            ) from None
        if launcher.returncode != 0:
            raise supervisor.died("worker-launcher", "loading pulpcore for the workers")
        supervisor.forget("worker-launcher")
        names = []
        for number, pid in enumerate(json.loads(output.strip().splitlines()[-1]), start=1):
            names.append(f"worker-{number}")
            supervisor.record(names[-1], pid)
        supervisor.save_state()
        return names

    def api_argv(self) -> list[str]:
        """pulpcore-api's command line, with only the options this version accepts."""
        try:
            help_text, _ = self._help.communicate(timeout=HELP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._help.kill()
            help_text = ""
        accepted = accepted_options(help_text)
        if not {"--bind", "--workers"} <= accepted:
            raise LabError(
                f"{self.binaries.pulpcore_api} does not accept --bind and --workers (its --help "
                "says otherwise), so the lab cannot start it. Install a pulpcore in the plugin's "
                "supported range (see server_plugin/pyproject.toml) and start again."
            )
        argv = [str(self.binaries.pulpcore_api), "--bind",
                f"{HOST}:{self.supervisor.state.api_port}", "--workers", "1"]  # fmt: skip
        if "--timeout" in accepted:
            argv += ["--timeout", "120"]
        # gunicorn's control socket defaults to one path per user: concurrent labs collide.
        if "--no-control-socket" in accepted:
            argv.append("--no-control-socket")
        elif "--control-socket" in accepted:
            argv += ["--control-socket", str(self.supervisor.server_dir / "gunicorn.ctl")]
        return argv

    def start(self) -> None:
        """Start the API and the workers; return once all are online with the plugin."""
        state = self.supervisor.state
        self.supervisor.spawn("api", self.api_argv(), env=self.env)
        names = ["api", *self.fork_workers()]
        workers = f"{state.workers} worker{'s' if state.workers != 1 else ''}"
        self.supervisor.wait_until(
            lambda: api_status(state.api_root) is not None,
            names,
            "waiting for the Pulp API to answer",
            interval=0.25,
        )
        if PLUGIN_COMPONENT not in components(api_status(state.api_root)):
            raise LabError(
                f"The Pulp API answers but does not list the plugin `{PLUGIN_COMPONENT}` "
                "(pulp-rds-tests) among its components. Install it into this environment "
                "(pip install -e ./server_plugin) and start again. Nothing was left running."
            )
        self.supervisor.wait_until(
            lambda: workers_online(api_status(state.api_root)) >= state.workers,
            names,
            f"waiting for {workers} to come online",
            interval=0.25,
        )

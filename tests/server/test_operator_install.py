"""The operator's install guide (README "Operator's guide"), checked on a real pulpcore:
`PULP_...` environment variables reach the plugin through pulpcore's dynaconf (and beat
the settings file), and `pulpcore-manager migrate rds_tests zero` really removes what
the plugin's migration made, and `migrate rds_tests` brings it back.

The lab gives its pulpcore processes a minimal environment of its own, so the variables
are checked the way pulpcore reads them: `pulpcore-manager shell` with the lab's settings
file, opening a probe connection to wherever the plugin resolved its target.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from conftest import DEFAULT_TEST_LAB

from rds_tui.lab.binaries import python_scripts_dir
from rds_tui.lab.pulp import pulpcore_environment

from .labpulp import ENDPOINT, Pulp

pytestmark = pytest.mark.lab

RUN_PERMISSION = "rds_tests.run_rds_connection_tests"

# Run inside `pulpcore-manager shell`: the plugin's resolved settings, and where a probe
# connection it opens really lands.
REPORT = """
import json
from pulp_rds_tests.app import config
from pulp_rds_tests.app.database import release_django_alias, target_from_django
target = target_from_django(config.probe_database_overrides(), "rds_probe_check")
with target.connect("rds-probe:env-check") as conn:
    port, user, idle = conn.execute(
        "SELECT inet_server_port(), current_user, current_setting('idle_session_timeout')"
    ).fetchone()
release_django_alias("rds_probe_check")
print(json.dumps({
    "enabled": config.tests_enabled(),
    "cutoff": config.expected_cutoff_seconds(),
    "target_port": target.describe()["port"],
    "port": port, "user": user, "idle_session_timeout": idle,
}))
"""


def manager(lab: dict[str, Any], tmp_path: Path, *argv: str, **variables: str):
    """`pulpcore-manager ARGV` as the lab's pulpcore runs, plus `variables`."""
    env = {**pulpcore_environment(Path(lab["settings_file"]), tmp_path), **variables}
    command = [str(python_scripts_dir() / "pulpcore-manager"), *argv]
    done = subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def plugin_view(lab: dict[str, Any], tmp_path: Path, **variables: str) -> dict[str, Any]:
    output = manager(lab, tmp_path, "shell", "-c", REPORT, **variables)
    return json.loads(output.strip().splitlines()[-1])


def test_the_settings_file_alone_aims_the_probes_at_the_proxy(lab, tmp_path):
    view = plugin_view(lab, tmp_path)
    assert view["enabled"] is True
    assert view["target_port"] == lab["pgbouncer"]["port"]
    assert view["port"] == lab["postgres"]["port"]  # PgBouncer forwards to PostgreSQL...
    assert view["user"] == lab["probe"]["user"]  # ...as the probe role, which the lab cuts
    assert view["idle_session_timeout"] == f"{lab['idle_timeout']}s"


def test_pulp_environment_variables_reach_the_plugin(lab, tmp_path):
    """The guide's variables: a whole mapping as @json, and env beating the file."""
    direct = {"HOST": lab["postgres"]["host"], "PORT": lab["postgres"]["port"]}
    view = plugin_view(
        lab,
        tmp_path,
        PULP_RDS_CONNECTION_TESTS_ENABLED="false",
        PULP_RDS_CONNECTION_TESTS_EXPECTED_CUTOFF_SECONDS="1800",
        PULP_RDS_CONNECTION_TESTS_DATABASE="@json " + json.dumps(direct),
    )
    assert view["enabled"] is False and view["cutoff"] == 1800
    # The control run's target: the database itself, as Pulp's own role (no idle cutoff).
    assert view["target_port"] == view["port"] == lab["postgres"]["port"]
    assert view["user"] == lab["postgres"]["pulp_user"]
    assert view["idle_session_timeout"] == "0"


def test_one_key_of_the_mapping_by_double_underscore(lab, tmp_path):
    """`PULP_RDS_CONNECTION_TESTS_DATABASE__PORT` changes that key and keeps the rest."""
    view = plugin_view(
        lab, tmp_path, PULP_RDS_CONNECTION_TESTS_DATABASE__PORT=str(lab["postgres"]["port"])
    )
    # Straight to PostgreSQL now, still as the probe role from the settings file.
    assert view["target_port"] == view["port"] == lab["postgres"]["port"]
    assert view["user"] == lab["probe"]["user"]


def plugin_objects(lab: dict[str, Any]) -> dict[str, Any]:
    pg = lab["postgres"]
    with psycopg.connect(
        host=pg["host"], port=pg["port"], user=pg["superuser"],
        password=pg["superuser_password"], dbname=pg["database"], autocommit=True,
    ) as conn:  # fmt: skip
        return {
            "table": conn.execute("SELECT to_regclass('rds_tests_dispatchgate')").fetchone()[0],
            "migrations": [
                name
                for (name,) in conn.execute(
                    "SELECT name FROM django_migrations WHERE app = 'rds_tests' ORDER BY name"
                )
            ],
        }


def test_the_plugins_migration_reverses_and_applies_again(lab_factory, tmp_path):
    # A lab of its own: the shared one must keep its table whatever happens here.
    lab = lab_factory(workers=1, idle_timeout=3, idle_in_transaction_timeout=5)
    assert plugin_objects(lab) == {
        "table": "rds_tests_dispatchgate",
        "migrations": ["0001_initial"],
    }
    manager(lab, tmp_path, "migrate", "rds_tests", "zero", "--noinput")
    assert plugin_objects(lab) == {"table": None, "migrations": []}
    assert "[ ] 0001_initial" in manager(lab, tmp_path, "showmigrations", "rds_tests")
    manager(lab, tmp_path, "migrate", "rds_tests", "--noinput")
    assert plugin_objects(lab) == {
        "table": "rds_tests_dispatchgate",
        "migrations": ["0001_initial"],
    }


def test_in_a_domains_pulp_a_non_staff_user_runs_tests_with_the_role_only(lab_factory):
    """pulp-service runs with domains: the guide's role, assigned globally
    (`content_object` null), lets a non-staff user dispatch; without it, 403."""
    lab = lab_factory(**DEFAULT_TEST_LAB, domains=True)
    api = f"{lab['api_prefix']}default/api/v3/"
    admin = httpx.Client(base_url=lab["api_root"], auth=(lab["username"], lab["password"]))
    name, password = f"tester-{uuid.uuid4().hex[:8]}", secrets.token_urlsafe(16)
    body = {"tests": ["test_2_active_heartbeat"], "duration_minutes": 1}
    created: list[str] = []
    try:
        user = admin.post(f"{api}users/", json={"username": name, "password": password})
        assert user.status_code == 201, user.text
        created.append(user.json()["pulp_href"])
        as_user = httpx.Client(base_url=lab["api_root"], auth=(name, password))
        refused = as_user.post(ENDPOINT, json=body)
        assert refused.status_code == 403
        assert "rds_tests.run_rds_connection_tests" in refused.json()["error"]

        role = admin.post(
            f"{api}roles/",
            json={"name": f"rds-tester-{name}", "permissions": [RUN_PERMISSION]},
        )
        assert role.status_code == 201, role.text
        created.append(role.json()["pulp_href"])
        assigned = admin.post(
            f"{user.json()['pulp_href']}roles/",
            json={"role": role.json()["name"], "content_object": None},
        )
        assert assigned.status_code == 201, assigned.text
        accepted = as_user.post(ENDPOINT, json=body)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["tasks"][0]["task_href"].startswith(f"{api}tasks/")
    finally:
        Pulp(lab).cancel_all()
        for href in reversed(created):
            admin.delete(href)
        admin.close()

"""The fake servers of the client tests answer what the real server answers.

tests/tui/mock_pulp.py plays the plugin for the dashboard tests, tests/client/fakepulp.py
plays the original pulp-service endpoint (the guide's JSON) for the command-line tests.
A fake that drifts from the real answers lets a test pass against a server that does not
exist, so each is compared here with the plugin running in the real lab: same fields,
same catalog, tasks and results with no field pulpcore or the plugin would not send.
"""

from __future__ import annotations

import base64

import httpx
import pytest
from server.labpulp import Pulp
from tui.mock_pulp import MockPulp, alive_result, dead_result, plugin_catalog

from rds_tui.catalog import TEST_NAMES

from .fakepulp import GUIDE_CATALOG, ORIGINAL_RESULT, FakePulp

pytestmark = pytest.mark.lab

DYING, ALIVE = "test_1_idle_connection", "test_2_active_heartbeat"


@pytest.fixture(scope="module")
def real(lab):
    """What the lab's plugin answered: its catalog, a 202, and the finished tasks of a
    test that died at the lab's idle timeout (3 s) and one that stayed alive."""
    admin = Pulp(lab)
    try:
        admin.cancel_all()
        catalog = admin.http.get("/api/pulp/rds-connection-tests/").json()
        response = admin.http.post(
            "/api/pulp/rds-connection-tests/", json={"tests": [DYING, ALIVE], "duration_minutes": 5}
        )
        assert response.status_code == 202, response.text
        tasks = admin.wait(response.json()["tasks"], timeout=90)
        yield {"catalog": catalog, "dispatched": response.json(), "tasks": tasks}
    finally:
        admin.cancel_all()
        admin.close()


def test_the_dashboards_fake_catalog_is_the_plugins(real):
    fake = plugin_catalog()
    assert set(fake) == set(real["catalog"])
    for key in ("available_tests", "descriptions", "tests"):
        assert fake[key] == real["catalog"][key], key
    assert fake["usage"].items() <= real["catalog"]["usage"].items()


def test_the_dashboards_fake_dispatch_and_tasks_are_the_plugins(real):
    mock = MockPulp()
    accepted = mock.handle(dispatch_request(mock)).json()
    assert set(accepted) == set(real["dispatched"])
    assert set(accepted["tasks"][0]) == set(real["dispatched"]["tasks"][0])
    real_task = real["tasks"][DYING]
    assert real_task["state"] == "completed"
    assert set(mock._public(mock.order[0])) <= set(real_task)
    assert_result_fields(dead_result(DYING, 3.0, "terminating connection"), real_task["result"])
    alive = real["tasks"][ALIVE]
    assert alive["state"] == "completed" and alive["result"]["connection_alive"] is True
    assert_result_fields(alive_result(ALIVE, heartbeats=3), alive["result"])


def test_the_original_endpoints_fake_is_what_the_plugin_keeps(real):
    """The plugin is a drop-in for the original endpoint: every field the guide shows,
    and that the command-line tests rely on, is in its answers with the same value."""
    catalog = real["catalog"]
    assert GUIDE_CATALOG["available_tests"] == catalog["available_tests"] == list(TEST_NAMES)
    assert GUIDE_CATALOG["descriptions"].items() <= catalog["descriptions"].items()
    assert GUIDE_CATALOG["usage"].items() <= catalog["usage"].items()
    fake = FakePulp(polls_to_finish=1)
    fake.tasks["0"] = {"polls": 1, "name": DYING, "cid": None}
    assert set(fake.task_json("0")) <= set(real["tasks"][DYING])
    assert {"message", "tasks", "run_sequentially", "note"} <= set(real["dispatched"])
    result = real["tasks"][DYING]["result"]
    assert set(ORIGINAL_RESULT) <= set(result)
    assert result["test"] == ORIGINAL_RESULT["test"]


def dispatch_request(mock: MockPulp) -> httpx.Request:
    credentials = base64.b64encode(f"{mock.username}:{mock.password}".encode()).decode()
    return httpx.Request(
        "POST",
        "https://pulp.example.com/api/pulp/rds-connection-tests/",
        json={"tests": [DYING], "duration_minutes": 5},
        headers={"Authorization": f"Basic {credentials}"},
    )


def assert_result_fields(fake: dict, result: dict) -> None:
    """Every field of a fake result is one the plugin writes, events included."""
    assert set(fake) - {"events"} <= set(result), set(fake) - set(result)
    real_event_fields = {key for event in result["events"] for key in event}
    assert {"t", "event"} <= real_event_fields
    for event in fake.get("events", []):
        assert set(event) <= real_event_fields, event

"""The one credential resolution (rds_tui.credentials): its order, and that credentials
only ever go to the server they were saved for (checked on the wire too)."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from rds_tui.credentials import (
    SOURCE_ENVIRONMENT,
    SOURCE_FLAGS,
    SOURCE_NONE,
    ConnectionFlags,
    CredentialError,
    resolve,
)
from rds_tui.profiles import Profile, ProfileStore
from rds_tui.runs import Run, RunTask

SERVER_A = "https://pulp-a.example.com"
SERVER_B = "https://pulp-b.example.com"
TASK_HREF = "/pulp/api/v3/tasks/0199a1b2-0000-7000-8000-000000000001/"


@pytest.fixture
def profiles(tmp_path) -> ProfileStore:
    store = ProfileStore(tmp_path / "profiles.toml")
    store.upsert(Profile(name="lab", api_root=SERVER_A, username="admin", password="lab-secret"))
    return store


def run_on(api_root: str, profile: str | None = None, **fields) -> Run:
    return Run(
        profile=profile,
        api_root=api_root,
        tests=["test_1_idle_connection"],
        tasks=[
            RunTask(
                test_name="test_1_idle_connection",
                task_id=TASK_HREF.split("/")[-2],
                task_href=TASK_HREF,
            )
        ],
        **fields,
    )


ENV_FOR_A = {"PULP_API_ROOT": SERVER_A, "PULP_USER": "envuser", "PULP_PASSWORD": "env-secret"}


# --- the order: flags > the run's profile > a saved profile for the server > PULP_* -------


def test_flags_win_over_the_runs_profile(profiles):
    flags = ConnectionFlags(user="other", password="flag-secret")
    resolved = resolve(flags, run=run_on(SERVER_A, "lab"), profiles=profiles, environ={})
    assert (resolved.username, resolved.password) == ("other", "flag-secret")
    assert resolved.source == SOURCE_FLAGS
    assert resolved.profile_name == "lab"  # still the run's profile (same server)


def test_the_runs_profile_wins_over_the_environment(profiles):
    resolved = resolve(run=run_on(SERVER_A, "lab"), profiles=profiles, environ=ENV_FOR_A)
    assert (resolved.username, resolved.password) == ("admin", "lab-secret")
    assert resolved.source == "profile lab"


def test_a_saved_profile_for_the_same_server_wins_over_the_environment(profiles):
    # The case: dispatched with PULP_* only, while profile lab names that server.
    resolved = resolve(run=run_on(SERVER_A), profiles=profiles, environ=ENV_FOR_A)
    assert (resolved.username, resolved.password) == ("admin", "lab-secret")
    assert resolved.source == "saved profile lab (same server)"
    assert resolved.as_profile().name == "lab"


def test_a_new_dispatch_with_pulp_env_only_records_the_matching_profile(profiles):
    resolved = resolve(profiles=profiles, environ=ENV_FOR_A)
    assert resolved.api_root == SERVER_A and resolved.profile_name == "lab"


def test_the_environment_when_no_profile_names_the_server(profiles):
    environ = {**ENV_FOR_A, "PULP_API_ROOT": SERVER_B}
    resolved = resolve(run=run_on(SERVER_B), profiles=profiles, environ=environ)
    assert (resolved.username, resolved.password) == ("envuser", "env-secret")
    assert resolved.source == SOURCE_ENVIRONMENT and resolved.profile is None


def test_nothing_known_means_anonymous(profiles):
    resolved = resolve(run=run_on(SERVER_B), profiles=profiles, environ={})
    assert resolved.username is None and resolved.password is None
    assert resolved.source == SOURCE_NONE


def test_a_profile_for_another_api_prefix_or_domain_is_not_the_same_server(profiles):
    profiles.upsert(
        Profile(name="lab", api_root=SERVER_A, domain="other", username="admin", password="x")
    )
    profiles.upsert(
        Profile(name="lab2", api_root=SERVER_A, api_prefix="/api/", username="a", password="y")
    )
    resolved = resolve(run=run_on(SERVER_A), profiles=profiles, environ={})
    assert resolved.source == SOURCE_NONE and resolved.password is None


def test_a_flag_user_does_not_get_the_profiles_password(profiles):
    flags = ConnectionFlags(user="someone-else")
    resolved = resolve(flags, run=run_on(SERVER_A, "lab"), profiles=profiles, environ={})
    assert resolved.username == "someone-else" and resolved.password is None
    assert resolved.missing_password


# --- credentials only go to their server -----------------------------------------------


def test_pulp_credentials_are_not_sent_to_another_server(profiles):
    resolved = resolve(run=run_on(SERVER_B), profiles=profiles, environ=ENV_FOR_A)
    assert resolved.username is None and resolved.password is None


def test_a_profile_moved_to_another_server_is_not_used_for_the_run(profiles):
    run = run_on(SERVER_B, "lab")  # profile lab was edited to point to SERVER_A since
    resolved = resolve(run=run, profiles=profiles, environ={})
    assert resolved.password is None and resolved.profile is None
    assert any("not sent there" in note for note in resolved.notes)


def test_a_removed_profile_is_a_note_not_an_error(profiles):
    resolved = resolve(run=run_on(SERVER_B, "gone"), profiles=profiles, environ={})
    assert resolved.source == SOURCE_NONE
    assert any("no profile named 'gone'" in note for note in resolved.notes)


def test_asking_for_a_profile_of_another_server_is_refused(profiles):
    with pytest.raises(CredentialError, match="only sent to the server they were saved for"):
        resolve(ConnectionFlags(profile="lab"), run=run_on(SERVER_B), profiles=profiles, environ={})
    with pytest.raises(CredentialError, match="only sent to the server they were saved for"):
        resolve(ConnectionFlags(profile="lab", api_root=SERVER_B), profiles=profiles, environ={})


def test_a_run_is_watched_on_its_own_server_only(profiles):
    with pytest.raises(CredentialError, match="was dispatched to https://pulp-b"):
        resolve(
            ConnectionFlags(api_root=SERVER_A), run=run_on(SERVER_B), profiles=profiles, environ={}
        )


def authorization_sent(resolved) -> dict[str, str | None]:
    """host -> the Authorization header the resolved client sent there."""
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("authorization")
        return httpx.Response(200, json={"count": 0, "results": []})

    async def poll() -> None:
        async with resolved.client(transport=httpx.MockTransport(handler)) as client:
            await client.tasks([TASK_HREF])

    asyncio.run(poll())
    return seen


def test_on_the_wire_each_server_gets_only_its_own_credentials(profiles):
    on_a = resolve(run=run_on(SERVER_A), profiles=profiles, environ=ENV_FOR_A)
    on_b = resolve(run=run_on(SERVER_B), profiles=profiles, environ=ENV_FOR_A)
    basic = "Basic " + base64.b64encode(b"admin:lab-secret").decode()
    assert authorization_sent(on_a) == {"pulp-a.example.com": basic}
    assert authorization_sent(on_b) == {"pulp-b.example.com": None}


def test_the_password_never_shows_in_repr(profiles):
    resolved = resolve(run=run_on(SERVER_A, "lab"), profiles=profiles, environ={})
    assert "lab-secret" not in repr(resolved)

"""PulpClient against httpx.MockTransport: URLs, headers, and every error a user can hit.
Each error states what the server did, in facts (never a flag or a profile field), with
typed attributes from which the CLI and the dashboard word their own hints; both hints
are checked here. Passwords never show up in any of them. One lab test checks `whoami`
against the real pulpcore login endpoint."""

from __future__ import annotations

import json
import re
import socket

import httpx
import pytest

from rds_tui import __version__, api_errors, remedies
from rds_tui.api import (
    ApiError,
    AuthenticationFailed,
    BadRequest,
    Conflict,
    NotFound,
    PermissionDenied,
    PluginNotInstalled,
    PulpClient,
    ServerError,
    ServerUnreachable,
    TestsDisabled,
    TlsError,
    TooManyRequests,
    UnexpectedResponse,
)
from rds_tui.cli.hints import FLAGS
from rds_tui.cli.hints import describe as cli_words
from rds_tui.screens.errors import describe_error as dashboard_words
from rds_tui.screens.errors import instance_fields

from .fakepulp import GUIDE_CATALOG

# A command-line flag, an environment variable or a dashboard key in a message.
FRONT_END_WORDS = re.compile(r"(?<![\w-])--[a-z]|PULP_(USER|PASSWORD|API_ROOT)|\(e on ")


def assert_facts_only(error: ApiError) -> None:
    """The API's own message names no front end's way of fixing it."""
    assert not FRONT_END_WORDS.search(str(error)), str(error)


SECRET = "s3cr3t-Pa55"
GUIDE_DISPATCH = {
    "message": "Dispatched 2 test(s)",
    "tasks": [
        {
            "test_name": "test_1_idle_connection",
            "task_id": "a1b2c3d4-5678-90ab-cdef-1234567890ab",
            "task_href": "/pulp/api/v3/tasks/a1b2c3d4-5678-90ab-cdef-1234567890ab/",
        },
        {
            "test_name": "test_2_active_heartbeat",
            "task_id": "e5f6g7h8-9012-34ij-klmn-5678901234op",
            "task_href": "/pulp/api/v3/tasks/e5f6g7h8-9012-34ij-klmn-5678901234op/",
        },
    ],
    "run_sequentially": False,
    "note": "Each test runs for approximately 50 minutes. Monitor task status via task_href.",
}


def client_for(handler, **kwargs) -> PulpClient:
    kwargs.setdefault("auth", ("admin", SECRET))
    return PulpClient("https://pulp.example.com", transport=httpx.MockTransport(handler), **kwargs)


async def error_of(handler, call="catalog", **kwargs) -> ApiError:
    async with client_for(handler, **kwargs) as client:
        with pytest.raises(ApiError) as info:
            if call == "catalog":
                await client.catalog()
            elif call == "dispatch":
                await client.dispatch(["test_1_idle_connection"])
            elif call == "tasks":
                await client.tasks(["/pulp/api/v3/tasks/a1/"])
    error = info.value
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert_facts_only(error)
    for words in (cli_words(error), dashboard_words(error)):
        assert words.startswith(str(error)) and SECRET not in words
    return error


async def test_guide_json_round_trip_and_headers():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=GUIDE_CATALOG)
        return httpx.Response(202, json=GUIDE_DISPATCH)

    async with client_for(handler, correlation_id="0f" * 16) as client:
        catalog = await client.catalog()
        response = await client.dispatch(
            ["test_1_idle_connection", "test_2_active_heartbeat"], run_sequentially=False
        )
    assert catalog.available_tests == GUIDE_CATALOG["available_tests"]
    infos = {t.name: t for t in catalog.test_infos()}
    # Test 3 has no description in the guide's GET: the built-in catalog fills it in.
    assert infos["test_3_long_transaction"].description == (
        "Long transaction test (50 min) - idle transaction"
    )
    assert [t.task_id for t in response.tasks] == [t["task_id"] for t in GUIDE_DISPATCH["tasks"]]
    get, post = seen
    assert get.url.path == post.url.path == "/api/pulp/rds-connection-tests/"
    # The original endpoint receives exactly the guide's body: no fields it does not know.
    assert json.loads(post.content) == {
        "tests": ["test_1_idle_connection", "test_2_active_heartbeat"],
        "run_sequentially": False,
    }
    for request in seen:
        assert request.headers["User-Agent"] == f"rds-tui/{__version__}"
        assert request.headers["Correlation-ID"] == "0f" * 16
        assert request.headers["Authorization"].startswith("Basic ")


async def test_dispatch_sends_duration_when_given():
    bodies = []

    def handler(request):
        bodies.append(json.loads(request.content))
        return httpx.Response(202, json=GUIDE_DISPATCH)

    async with client_for(handler) as client:
        await client.dispatch(["test_1_idle_connection"], duration_minutes=3, run_sequentially=True)
    assert bodies == [
        {"tests": ["test_1_idle_connection"], "run_sequentially": True, "duration_minutes": 3}
    ]


class TaskListServer:
    """Answers a tasks poll with every asked task in `state`; keeps the requests."""

    def __init__(self, tasks_path: str, state: str):
        self.tasks_path, self.state = tasks_path, state
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        asked = request.url.params["pulp_id__in"].split(",")
        results = [{"pulp_href": f"{self.tasks_path}{i}/", "state": self.state} for i in asked]
        return httpx.Response(200, json={"count": len(asked), "results": results})


async def test_tasks_one_request_with_ids_and_fields_and_domain_hrefs():
    server = TaskListServer("/pulp/acme/api/v3/tasks/", "running")
    requests = server.requests
    ids = [f"0190a1b2-0000-7000-8000-{n:012d}" for n in range(50)]

    async with client_for(server, domain="acme") as client:
        tasks = await client.tasks([f"/pulp/acme/api/v3/tasks/{i}/" for i in ids])
    assert len(requests) == 1
    assert requests[0].url.path == "/pulp/acme/api/v3/tasks/"
    assert requests[0].url.params["pulp_id__in"].split(",") == ids
    assert "result" in requests[0].url.params["fields"].split(",")
    assert requests[0].url.params["limit"] == "50"
    assert [t.task_id for t in tasks] == ids


async def test_tasks_chunked_above_100_ids():
    server = TaskListServer("/pulp/api/v3/tasks/", "waiting")
    requests = server.requests

    hrefs = [f"/pulp/api/v3/tasks/{n:08d}-0000-7000-8000-000000000000/" for n in range(250)]
    async with client_for(server) as client:
        tasks = await client.tasks(hrefs)
    assert [len(r.url.params["pulp_id__in"].split(",")) for r in requests] == [100, 100, 50]
    assert len(tasks) == 250
    # gunicorn's default limit for the request line ("GET <path?query> HTTP/1.1").
    assert all(len(r.url.raw_path) + len("GET  HTTP/1.1") < 4094 for r in requests)


async def test_clock_skew_from_date_header():
    import time
    from email.utils import formatdate

    def handler(request):
        return httpx.Response(
            200, json=GUIDE_CATALOG, headers={"Date": formatdate(time.time() + 120, usegmt=True)}
        )

    async with client_for(handler) as client:
        await client.catalog()
        assert 118 <= client.clock_skew_seconds <= 122


async def test_401_names_the_user():
    error = await error_of(
        lambda r: httpx.Response(401, json={"detail": "Invalid username/password."}),
        call="dispatch",
    )
    assert isinstance(error, AuthenticationFailed)
    assert "'admin'" in str(error) and "401" in str(error)
    assert error.reason == api_errors.AUTH_REJECTED and error.username == "admin"
    assert "--user/--password" in cli_words(error) and "PULP_PASSWORD" in cli_words(error)
    assert "instance's User" in dashboard_words(error) and "(e on Instances" in (
        dashboard_words(error)
    )


@pytest.mark.parametrize(
    ("domain", "path"),
    [("default", "/pulp/api/v3/login/"), ("team-a", "/pulp/team-a/api/v3/login/")],
)
async def test_whoami_asks_the_domains_login_endpoint(domain, path):
    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(200, json={"pulp_href": "/pulp/api/v3/users/1/", "username": "admin"})

    async with client_for(handler, domain=domain) as client:
        assert await client.whoami() == "admin"
    assert asked == [path]


async def test_whoami_401_names_the_user():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "Invalid username/password."})

    async with client_for(handler) as client:
        with pytest.raises(AuthenticationFailed, match="user 'admin'.*401"):
            await client.whoami()


async def test_401_without_credentials_says_how_to_give_them():
    error = await error_of(
        lambda r: httpx.Response(401, json={"detail": "no"}), call="dispatch", auth=None
    )
    assert isinstance(error, AuthenticationFailed)
    assert "no credentials were given" in str(error)
    assert error.reason == api_errors.AUTH_MISSING and error.credentials is None
    assert "--user" in cli_words(error) and "PULP_PASSWORD" in cli_words(error)
    assert "Give the instance's User" in dashboard_words(error)


async def test_403_disabled_shows_server_error_and_hint():
    body = {
        "error": "RDS connection tests are not enabled.",
        "hint": "Set RDS_CONNECTION_TESTS_ENABLED = True in the Pulp settings.",
    }
    error = await error_of(lambda r: httpx.Response(403, json=body), call="dispatch")
    assert isinstance(error, TestsDisabled)
    assert "RDS connection tests are not enabled." in str(error)
    assert "RDS_CONNECTION_TESTS_ENABLED" in str(error)


async def test_403_not_staff_shows_server_hint():
    body = {
        "detail": "You do not have permission to perform this action.",
        "hint": "Running RDS connection tests needs a staff user.",
    }
    error = await error_of(lambda r: httpx.Response(403, json=body), call="dispatch")
    assert type(error) is PermissionDenied
    assert "staff user" in str(error) and "'admin'" in str(error)


async def test_404_on_tests_endpoint_means_plugin_missing():
    error = await error_of(
        lambda r: httpx.Response(
            404, text="<h1>Not Found</h1>", headers={"content-type": "text/html"}
        )
    )
    assert isinstance(error, PluginNotInstalled)
    assert "plugin is not installed" in str(error)
    assert "Check --api-root" in cli_words(error)
    assert "instance's Server URL" in dashboard_words(error)


async def test_404_on_tasks_points_at_the_api_root():
    error = await error_of(
        lambda r: httpx.Response(404, json={"detail": "Not found."}), call="tasks"
    )
    assert type(error) is NotFound
    assert error.api_path == "/pulp/api/v3/"
    assert "--api-prefix and --domain" in cli_words(error)
    assert "/pulp/api/v3/" in cli_words(error)
    assert "API prefix and Domain" in dashboard_words(error)


async def test_400_carries_the_servers_explanation():
    body = {"error": "Unknown test(s): test_9", "available_tests": GUIDE_CATALOG["available_tests"]}
    error = await error_of(lambda r: httpx.Response(400, json=body), call="dispatch")
    assert isinstance(error, BadRequest) and "Unknown test(s): test_9" in str(error)


async def test_429_says_limit_reached():
    body = {"error": "7 RDS connection tests are active; the limit is 7."}
    error = await error_of(lambda r: httpx.Response(429, json=body), call="dispatch")
    assert isinstance(error, TooManyRequests)
    assert "the limit is 7" in str(error) and "429" in str(error)


async def test_5xx_is_transient():
    error = await error_of(lambda r: httpx.Response(502, text="Bad Gateway"))
    assert isinstance(error, ServerError) and error.transient
    assert "502" in str(error)


async def test_html_page_is_not_pulp():
    error = await error_of(
        lambda r: httpx.Response(
            200, text="<html>Login</html>", headers={"content-type": "text/html"}
        )
    )
    assert isinstance(error, UnexpectedResponse) and error.reason == api_errors.NOT_PULP
    assert "did not answer like Pulp" in str(error)
    assert "Check --api-root" in cli_words(error)


async def test_json_of_another_shape_is_not_pulp():
    error = await error_of(lambda r: httpx.Response(200, json={"hello": "world"}))
    assert isinstance(error, UnexpectedResponse)


async def test_redirect_says_where_to():
    error = await error_of(
        lambda r: httpx.Response(
            301, headers={"location": "https://other.example.com/api/pulp/rds-connection-tests/"}
        )
    )
    assert isinstance(error, UnexpectedResponse) and error.reason == api_errors.REDIRECT
    assert error.location == "https://other.example.com/api/pulp/rds-connection-tests/"
    assert "https://other.example.com" in str(error)
    assert "final address as --api-root" in cli_words(error)


async def test_409_on_cancel():
    def handler(request):
        return httpx.Response(409, json={"detail": "Task is in a final state: completed"})

    async with client_for(handler) as client:
        with pytest.raises(Conflict, match="final state"):
            await client.cancel("/pulp/api/v3/tasks/a1/")


async def test_unreachable_host_is_transient_and_clear():
    # A real transport to a port nobody listens on.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with PulpClient(f"http://127.0.0.1:{port}", auth=("admin", SECRET)) as client:
        with pytest.raises(ServerUnreachable) as info:
            await client.catalog()
    error = info.value
    assert error.transient and not error.timed_out
    assert f"127.0.0.1:{port}" in str(error) and SECRET not in str(error)
    assert_facts_only(error)
    assert "Check --api-root" in cli_words(error)
    assert "instance's Server URL" in dashboard_words(error)
    # Plain HTTP: no client certificate could be missing.
    assert "client certificate" not in cli_words(error)


async def test_tls_failure_is_reported_as_such():
    def handler(request):
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")

    error = await error_of(handler)
    assert isinstance(error, TlsError) and error.reason == api_errors.TLS_UNTRUSTED
    assert "--ca-bundle" in cli_words(error)
    assert "Verify TLS" in dashboard_words(error)


async def test_a_dropped_https_connection_may_mean_a_client_certificate_is_wanted():
    def handler(request):
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    error = await error_of(handler)
    assert isinstance(error, ServerUnreachable) and error.may_want_client_cert
    assert "give --cert and --key" in cli_words(error)
    assert "Client cert and Client key" in dashboard_words(error)


def test_bad_client_certificate_path():
    with pytest.raises(TlsError, match="client certificate") as info:
        PulpClient("https://pulp.example.com", cert="/nonexistent/cert.pem")
    error = info.value
    assert error.reason == api_errors.TLS_CLIENT_CERT_FILE
    assert error.files == ("/nonexistent/cert.pem",)
    assert_facts_only(error)
    assert "paths of --cert and --key" in cli_words(error)


def test_bad_ca_bundle_path():
    with pytest.raises(TlsError, match="CA bundle") as info:
        PulpClient("https://pulp.example.com", verify="/nonexistent/ca.pem")
    error = info.value
    assert error.reason == api_errors.TLS_CA_FILE and error.files == ("/nonexistent/ca.pem",)
    assert "path of --ca-bundle" in cli_words(error)


def test_repr_has_no_password():
    client = PulpClient("https://pulp.example.com/", auth=("admin", SECRET))
    assert SECRET not in repr(client) and SECRET not in str(vars(client))
    assert repr(client) == "<PulpClient https://pulp.example.com/pulp/ user='admin'>"


@pytest.mark.lab
async def test_whoami_against_pulpcore(lab):
    base = lab["api_root"]
    async with PulpClient(base, auth=(lab["username"], lab["password"])) as client:
        assert await client.whoami() == lab["username"]
    async with PulpClient(base, auth=(lab["username"], "not-the-password")) as client:
        with pytest.raises(AuthenticationFailed, match=f"user '{lab['username']}'"):
            await client.whoami()


@pytest.mark.parametrize("names", [FLAGS, instance_fields()], ids=["cli", "dashboard"])
def test_every_remedy_reads_in_each_front_ends_words(names):
    """Each face names every setting the advice mentions, so no sentence lacks a word."""
    assert set(names) == set(remedies.SLOTS)
    error = NotFound("Not found.", api_path="/pulp/api/v3/")
    for key, sentence in remedies.SENTENCES.items():
        text = sentence.format(exc=error, **names)
        assert "{" not in text and text.endswith("."), key

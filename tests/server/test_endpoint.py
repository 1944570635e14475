"""The endpoint's contract beyond the guide: catalog fields, who may run tests, every error."""

from __future__ import annotations

import secrets
import uuid

import httpx
import pulp_rds_tests
import pytest

from .labpulp import ALL_TESTS, ENDPOINT, FIX_TESTS, PRODUCTION_SCALE_LAB

pytestmark = pytest.mark.lab

# The POST body's fields, in the schema's order.
REQUEST_FIELDS = [
    "tests",
    "run_sequentially",
    "duration_minutes",
    "heartbeat_interval_seconds",
    "notify_interval_seconds",
    "keepalive_interval_seconds",
    "stop_on_disconnect",
]


def test_catalog_is_open_to_anonymous_callers_and_describes_every_test(lab):
    response = httpx.get(lab["api_root"] + ENDPOINT, timeout=30)
    assert response.status_code == 200
    body = response.json()
    # The guide's seven are the available tests; the fix patterns are listed apart.
    assert body["available_tests"] == list(body["descriptions"]) == ALL_TESTS
    assert body["fix_tests"] == FIX_TESTS
    assert [test["name"] for test in body["tests"]] == ALL_TESTS + FIX_TESTS
    for test in body["tests"]:
        assert test["fix_pattern"] is (test["name"] in FIX_TESTS)
        assert test["description"] == body["descriptions"].get(test["name"], test["description"])
        for field in ("title", "description", "tells_you", "expected_outcome"):
            assert test[field].strip(), (test["name"], field)
    pinned = {test["name"] for test in body["tests"] if test["proxy_pins"]}
    assert pinned == {
        "test_5_session_variable",
        "test_6_listen_notify",
        "test_7_listen_with_activity",
        "test_8_listen_with_heartbeat",
    }
    assert body["expected_cutoff_seconds"] == lab["idle_timeout"]
    # The lab sets the in-transaction cutoff to its idle_in_transaction_timeout.
    assert body["expected_in_transaction_cutoff_seconds"] == lab["idle_in_transaction_timeout"]
    assert body["time_unit_seconds"] == 1
    assert body["min_interval_seconds"] == 0.1
    assert body["enabled"] is True
    assert body["max_active"] == 7
    assert body["plugin_version"] == pulp_rds_tests.__version__


def test_anonymous_dispatch_gets_401_with_a_basic_challenge(lab):
    response = httpx.post(lab["api_root"] + ENDPOINT, json={"tests": ["test_1_idle_connection"]})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert "credentials" in response.json()["error"]


def test_wrong_password_gets_401(lab):
    response = httpx.post(
        lab["api_root"] + ENDPOINT,
        auth=("admin", "not-the-password"),
        json={"tests": ["test_1_idle_connection"]},
    )
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid username/password."}


@pytest.fixture
def plain_user(pulp):
    """A user without staff status; removed afterwards with any role it got."""
    name = f"user-{uuid.uuid4().hex[:8]}"
    password = secrets.token_urlsafe(16)
    response = pulp.http.post(
        "/pulp/api/v3/users/",
        json={
            "username": name,
            "password": password,
            "is_staff": False,
        },
    )
    assert response.status_code == 201, response.text
    href = response.json()["pulp_href"]
    roles: list[str] = []
    yield {"name": name, "password": password, "href": href, "roles": roles}
    pulp.http.delete(href)
    for role in roles:
        pulp.http.delete(role)


def test_non_staff_user_gets_403_naming_what_is_missing(lab, plain_user):
    response = httpx.post(
        lab["api_root"] + ENDPOINT,
        auth=(plain_user["name"], plain_user["password"]),
        json={"tests": ["test_1_idle_connection"]},
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert plain_user["name"] in error
    assert "is_staff" in error and "rds_tests.run_rds_connection_tests" in error


def test_a_role_with_the_plugin_permission_lets_a_non_staff_user_run_tests(lab, pulp, plain_user):
    role = pulp.http.post(
        "/pulp/api/v3/roles/",
        json={
            "name": f"rds-tester-{uuid.uuid4().hex[:8]}",
            "permissions": ["rds_tests.run_rds_connection_tests"],
        },
    )
    assert role.status_code == 201, role.text
    plain_user["roles"].append(role.json()["pulp_href"])
    assigned = pulp.http.post(
        plain_user["href"] + "roles/",
        json={
            "role": role.json()["name"],
            "content_object": None,
        },
    )
    assert assigned.status_code == 201, assigned.text

    response = httpx.post(
        lab["api_root"] + ENDPOINT,
        auth=(plain_user["name"], plain_user["password"]),
        json={"tests": ["test_2_active_heartbeat"], "duration_minutes": 1},
    )
    assert response.status_code == 202, response.text
    assert response.json()["message"] == "Dispatched 1 test(s)"


# (body, field named in the error, words the error must contain)
BAD_BODIES = [
    ({}, "tests", "required"),
    ({"tests": "test_1_idle_connection"}, "tests", "not a string"),
    ({"tests": []}, "tests", "at least one"),
    ({"tests": [1]}, "tests", "item 0 is 1"),
    ({"tests": None}, "tests", "not null"),
    ({"tests": ["test_9_nope"]}, "tests", "unknown test name(s): test_9_nope"),
    ({"tests": ["test_1_idle_connection"] * 2}, "tests", "listed twice"),
    (
        {"tests": ["test_1_idle_connection"], "run_sequentially": 1},
        "run_sequentially",
        "true or false",
    ),
    (
        {"tests": ["test_1_idle_connection"], "run_sequentially": "yes"},
        "run_sequentially",
        "true or false",
    ),
    (
        {"tests": ["test_1_idle_connection"], "duration_minutes": True},
        "duration_minutes",
        "from 1 to 300",
    ),
    ({"tests": ["test_1_idle_connection"], "duration_minutes": 0}, "duration_minutes", "got 0"),
    ({"tests": ["test_1_idle_connection"], "duration_minutes": 301}, "duration_minutes", "got 301"),
    (
        {"tests": ["test_1_idle_connection"], "duration_minutes": 5.5},
        "duration_minutes",
        "whole number",
    ),
    ({"tests": ["test_1_idle_connection"], "duration_minutes": "5"}, "duration_minutes", 'got "5"'),
    (
        {"tests": ["test_1_idle_connection"], "heartbeat_interval_seconds": 0},
        "heartbeat_interval_seconds",
        "from 0.1",
    ),
    (
        {"tests": ["test_1_idle_connection"], "notify_interval_seconds": False},
        "notify_interval_seconds",
        "got false",
    ),
    (
        {"tests": ["test_1_idle_connection"], "stop_on_disconnect": "false"},
        "stop_on_disconnect",
        "true or false",
    ),
    ({"tests": ["test_1_idle_connection"], "test": ["x"]}, "test", "unknown field"),
]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    BAD_BODIES,
    ids=[f"{case[1]}-{i}" for i, case in enumerate(BAD_BODIES)],
)
def test_invalid_bodies_get_400_naming_the_field(pulp, body, field, words):
    response = pulp.http.post(ENDPOINT, json=body)
    assert response.status_code == 400
    error = response.json()
    assert error["field"] == field
    assert error["error"].startswith(f"{field}: ")
    assert words in error["error"]
    if field == "tests":
        assert error["available_tests"] == ALL_TESTS
        assert error["fix_tests"] == FIX_TESTS
    assert pulp.active_rds_tasks() == []


def post_raw(pulp, content: bytes, content_type: str | None = "application/json"):
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return pulp.http.post(ENDPOINT, content=content, headers=headers)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"tests": ["test_1_idle_connection"', "not valid JSON"),
        (b"tests=test_1_idle_connection", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        # Each of these made the endpoint answer a 500 page (issue 13).
        (b"[" * 30000 + b"]" * 30000, "nested too deeply"),
        (b'{"tests": ' + b"[" * 100 + b"]" * 100 + b"}", "nested more than 16 levels"),
        (
            b'{"tests": ["test_1_idle_connection"], "duration_minutes": 1' + b"0" * 5000 + b"}",
            "more than 100 digits",
        ),
        (
            b'{"tests": ["test_1_idle_connection"], "heartbeat_interval_seconds": 1'
            + b"0" * 5000
            + b"}",
            "more than 100 digits",
        ),
        (b'{"tests": ["\\ud800"]}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b'{"tests": ["test_1_idle_connection"], "heartbeat_interval_seconds": NaN}', "NaN"),
        (
            b'{"tests": ["test_1_idle_connection"], "notify_interval_seconds": -Infinity}',
            "Infinity",
        ),
        (
            b'{"tests": ["test_1_idle_connection"], "notify_interval_seconds": 1e400}',
            "out of range",
        ),
        (b'{"tests": ["test_1_idle_connection"], "tests": 5}', 'key "tests" appears twice'),
    ],
    ids=lambda value: value[:40].decode("latin-1") if isinstance(value, bytes) else None,
)
def test_bodies_that_are_not_a_small_json_object_get_400(pulp, content, words):
    response = post_raw(pulp, content)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]
    assert pulp.active_rds_tasks() == []


def test_a_body_over_64_kib_gets_413(pulp):
    response = post_raw(pulp, b'{"tests": ["' + b"x" * 70000 + b'"]}')
    assert response.status_code == 413
    assert "larger than 65536 bytes" in response.json()["error"]


def test_a_thousand_unknown_names_get_a_short_answer(pulp):
    names = [f"test_{n}_nope" for n in range(1000)]
    response = pulp.http.post(ENDPOINT, json={"tests": names, **{name: 1 for name in names}})
    assert response.status_code == 400
    assert len(response.content) < 2000
    response = pulp.http.post(ENDPOINT, json={"tests": names})
    assert response.status_code == 400
    assert "test_0_nope, test_1_nope, test_2_nope and 997 more" in response.json()["error"]


@pytest.mark.parametrize(
    "content_type",
    [
        # curl -d without -H sends this one: a form, which a browser may send cross-site.
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        None,
    ],
)
def test_a_json_body_without_the_json_content_type_gets_415_naming_the_header(pulp, content_type):
    response = post_raw(
        pulp, b'{"tests": ["test_2_active_heartbeat"], "duration_minutes": 1}', content_type
    )
    assert response.status_code == 415, response.text
    body = response.json()
    assert "Unsupported media type" in body["error"]
    assert "Content-Type: application/json" in body["hint"]
    assert pulp.active_rds_tasks() == []


def test_the_json_content_type_may_name_its_charset(pulp):
    response = post_raw(
        pulp,
        b'{"tests": ["test_2_active_heartbeat"], "duration_minutes": 1}',
        "application/json; charset=utf-8",
    )
    assert response.status_code == 202, response.text


def test_intervals_are_at_least_a_second_on_a_60_s_unit_server(pulp_factory):
    # At most about one statement a second per probe in production (issue 13).
    pulp = pulp_factory(**PRODUCTION_SCALE_LAB)
    assert pulp.http.get(ENDPOINT).json()["min_interval_seconds"] == 1
    for field in ("heartbeat_interval_seconds", "notify_interval_seconds"):
        response = pulp.http.post(ENDPOINT, json={"tests": ["test_2_active_heartbeat"], field: 0.5})
        assert response.status_code == 400
        assert "from 1 to 18000 (on this server), got 0.5" in response.json()["error"]
    assert pulp.active_rds_tasks() == []


def test_over_max_active_nothing_is_dispatched(pulp):
    long_run = {"duration_minutes": 120}
    first = pulp.dispatch(ALL_TESTS[:5], **long_run)
    assert len(pulp.active_rds_tasks()) == 5

    response = pulp.http.post(ENDPOINT, json={"tests": ALL_TESTS[:3], **long_run})
    assert response.status_code == 429
    body = response.json()
    assert body["active"] == 5 and body["max_active"] == 7
    assert "5 RDS test task(s)" in body["error"] and "limit is 7" in body["error"]
    assert "Nothing was dispatched" in body["error"]
    assert len(pulp.active_rds_tasks()) == 5  # all or nothing

    second = pulp.dispatch(ALL_TESTS[5:], **long_run)
    assert len(first) + len(second) == 7
    assert pulp.http.post(ENDPOINT, json={"tests": ALL_TESTS[:1]}).status_code == 429

    # Canceled tasks free their slots.
    pulp.cancel_all()
    assert pulp.http.post(ENDPOINT, json={"tests": ALL_TESTS[:1], **long_run}).status_code == 202


def test_the_endpoint_is_in_the_openapi_schema(lab):
    response = httpx.get(lab["api_root"] + "/pulp/api/v3/docs/api.json", timeout=60)
    assert response.status_code == 200
    schema = response.json()
    path = schema["paths"]["/api/pulp/rds-connection-tests/"]
    assert set(path) >= {"get", "post"}
    post = path["post"]
    request_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = schema["components"]["schemas"][request_ref.rsplit("/", 1)[1]]
    assert list(request["properties"]) == REQUEST_FIELDS
    assert request["required"] == ["tests"]
    names_ref = request["properties"]["tests"]["items"]["$ref"]
    enum = schema["components"]["schemas"][names_ref.rsplit("/", 1)[1]]["enum"]
    assert enum == ALL_TESTS + FIX_TESTS
    assert request["properties"]["duration_minutes"]["maximum"] == 300
    assert set(post["responses"]) >= {"202", "400", "401", "403", "429"}
    response_ref = post["responses"]["202"]["content"]["application/json"]["schema"]["$ref"]
    dispatched = schema["components"]["schemas"][response_ref.rsplit("/", 1)[1]]
    assert set(dispatched["properties"]) >= {"message", "tasks", "run_sequentially", "note"}


# These two labs also carry the in-transaction cutoff setting, unset and set, so that
# its resolution is checked without starting more labs.
DISABLED_LAB = {
    "workers": 1,
    "extra_settings": {
        "RDS_CONNECTION_TESTS_ENABLED": False,
        "RDS_CONNECTION_TESTS_EXPECTED_IN_TRANSACTION_CUTOFF_SECONDS": None,
    },
}
MISCONFIGURED_LAB = {
    "workers": 1,
    "extra_settings": {
        "RDS_CONNECTION_TESTS_DATABASE": {"HOSTNAME": "pgbouncer.internal"},
        "RDS_CONNECTION_TESTS_EXPECTED_IN_TRANSACTION_CUTOFF_SECONDS": 17.5,
    },
}


def test_the_dispatch_answer_carries_the_catalogs_time_unit_and_cutoffs(pulp):
    catalog = pulp.http.get(ENDPOINT).json()
    response = pulp.http.post(
        ENDPOINT, json={"tests": ["test_2_active_heartbeat"], "duration_minutes": 1}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    for field in (
        "time_unit_seconds",
        "expected_cutoff_seconds",
        "expected_in_transaction_cutoff_seconds",
    ):
        assert body[field] == catalog[field], field


def test_the_in_transaction_cutoff_defaults_to_the_idle_cutoff(lab_factory):
    lab = lab_factory(**DISABLED_LAB)
    catalog = httpx.get(lab["api_root"] + ENDPOINT, timeout=30).json()
    assert catalog["expected_cutoff_seconds"] == lab["idle_timeout"]
    assert catalog["expected_in_transaction_cutoff_seconds"] == lab["idle_timeout"]


def test_the_in_transaction_cutoff_setting_reaches_the_catalog(lab_factory):
    lab = lab_factory(**MISCONFIGURED_LAB)
    catalog = httpx.get(lab["api_root"] + ENDPOINT, timeout=30).json()
    assert catalog["expected_in_transaction_cutoff_seconds"] == 17.5
    assert catalog["expected_cutoff_seconds"] == lab["idle_timeout"]


def test_disabled_tests_get_the_guides_403(lab_factory):
    lab = lab_factory(**DISABLED_LAB)
    url = lab["api_root"] + ENDPOINT
    response = httpx.post(
        url,
        auth=(lab["username"], lab["password"]),
        json={"tests": ["test_1_idle_connection"]},
        timeout=30,
    )
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "RDS connection tests are not enabled."
    assert "RDS_CONNECTION_TESTS_ENABLED" in body["hint"] and "DEBUG" in body["hint"]
    catalog = httpx.get(url, timeout=30).json()
    assert catalog["enabled"] is False
    assert catalog["available_tests"] == ALL_TESTS


def test_task_hrefs_carry_the_domain_when_domains_are_enabled(pulp_factory):
    pulp = pulp_factory(workers=1, extra_settings={"DOMAIN_ENABLED": True})
    [task] = pulp.dispatch(["test_2_active_heartbeat"], duration_minutes=1)
    assert task["task_href"] == f"/pulp/default/api/v3/tasks/{task['task_id']}/"
    response = pulp.http.get(task["task_href"])
    assert response.status_code == 200
    assert response.json()["name"] == "pulp_rds_tests.app.tasks.test_2_active_heartbeat"


def test_a_misconfigured_probe_target_is_reported_at_dispatch(lab_factory):
    lab = lab_factory(**MISCONFIGURED_LAB)
    response = httpx.post(
        lab["api_root"] + ENDPOINT,
        auth=(lab["username"], lab["password"]),
        json={"tests": ["test_1_idle_connection"]},
        timeout=30,
    )
    assert response.status_code == 500
    error = response.json()["error"]
    assert "RDS_CONNECTION_TESTS_DATABASE has an unknown key 'HOSTNAME'" in error
    assert "HOST, PORT, NAME, USER, PASSWORD, OPTIONS" in error
    tasks = httpx.get(
        lab["api_root"] + "/pulp/api/v3/tasks/", auth=(lab["username"], lab["password"]), timeout=30
    ).json()
    assert not [t for t in tasks["results"] if t["name"].startswith("pulp_rds_tests.")]

"""Any POST body gets 202 or a 4xx in the {"error": ...} shape, never a 5xx (issue 13).

Hypothesis sends at least EXAMPLES generated bodies to the lab's real endpoint (pulpcore's
API, authenticated as admin, so every body is parsed and validated): JSON of every
structure and type, near-valid bodies, huge numbers, NaN and Infinity, deep nesting,
lone surrogates and other Unicode, duplicate keys, bodies around the 64 KiB limit,
random bytes, and a range of Content-Types.
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .labpulp import ALL_TESTS, ENDPOINT
from .test_endpoint import REQUEST_FIELDS as FIELDS

pytestmark = pytest.mark.lab

EXAMPLES = 1000
ALLOWED = {202, 400, 401, 403, 413, 415, 429}
# Any Unicode, lone surrogates and controls included (json.dumps escapes surrogates).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, 300, 301, 0.1, 0.09, 18000, 18000.5, -1, 1e308, 5e-324]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, ANY_TEXT, st.sampled_from(ALL_TESTS))
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(st.sampled_from(FIELDS) | ANY_TEXT, children, max_size=6)
    ),
    max_leaves=25,
)
# Bodies close to valid ones: known fields with plausible or arbitrary values.
NEAR_VALID = st.fixed_dictionaries(
    {},
    optional={
        "tests": st.lists(st.sampled_from(ALL_TESTS) | ANY_TEXT, max_size=9) | VALUES,
        "run_sequentially": st.booleans() | VALUES,
        "duration_minutes": st.integers(-5, 400) | VALUES,
        "heartbeat_interval_seconds": NUMBERS | VALUES,
        "notify_interval_seconds": NUMBERS | VALUES,
        "stop_on_disconnect": st.booleans() | VALUES,
        "unknown": VALUES,
    },
)


@st.composite
def json_bytes(draw) -> bytes:
    value = draw(NEAR_VALID | VALUES)
    text = json.dumps(value, ensure_ascii=draw(st.booleans()))
    # Without ensure_ascii a lone surrogate goes out as (invalid) UTF-8 bytes.
    return text.encode("utf-8", "surrogatepass")


def _object(pairs: list[str]) -> bytes:
    return ("{" + ", ".join(pairs) + "}").encode()


TEST_PAIR = '"tests": ["test_1_idle_connection"]'
NUMBER_FIELDS = ["duration_minutes", "heartbeat_interval_seconds", "notify_interval_seconds"]


@st.composite
def crafted_bytes(draw) -> bytes:
    """What json.dumps never writes: the raw shapes that used to break the endpoint."""
    kind = draw(st.sampled_from(["nesting", "digits", "constant", "duplicate", "size"]))
    if kind == "nesting":
        depth = draw(st.integers(1, 34000))
        inner = draw(st.sampled_from(["[", '{"a": ']))
        closing = "]" if inner == "[" else "}"
        return (inner * depth + "1" + closing * depth).encode()
    if kind == "digits":
        digits = "1" + "0" * draw(st.integers(0, 6000))
        field = draw(st.sampled_from(NUMBER_FIELDS))
        sign = draw(st.sampled_from(["", "-"]))
        fraction = draw(st.sampled_from(["", ".5", "e400", "e-400"]))
        return _object([TEST_PAIR, f'"{field}": {sign}{digits}{fraction}'])
    if kind == "constant":
        field = draw(st.sampled_from(NUMBER_FIELDS))
        constant = draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))
        return _object([TEST_PAIR, f'"{field}": {constant}'])
    if kind == "duplicate":
        key = draw(st.sampled_from(FIELDS) | ANY_TEXT.map(lambda t: t.replace('"', "")))
        values = draw(st.lists(VALUES, min_size=2, max_size=3))
        encoded = json.dumps(key)
        return _object([f"{encoded}: {json.dumps(value)}" for value in values])
    size = draw(st.integers(65000, 66000))
    return json.dumps({"tests": ["x" * size]}).encode()


BODIES = st.one_of(json_bytes(), crafted_bytes(), st.binary(max_size=300))
CONTENT_TYPES = st.one_of(
    # Mostly JSON, so that most bodies reach the parser and the serializer.
    *[st.just("application/json")] * 5,
    st.just("application/json; charset=utf-8"),
    st.sampled_from(
        [
            None,
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "application/xml",
            "*/*",
            "application/*",
            "APPLICATION/JSON",
            "application/json; charset",
            ";;",
        ]
    ),
    # h11 refuses header values with outer whitespace: those never reach a server.
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(str.strip),
)


def test_no_request_body_gets_a_5xx(pulp):
    statuses: Counter[int] = Counter()
    waited: list[float] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def post(body: bytes, content_type: str | None) -> None:
        headers = {} if content_type is None else {"Content-Type": content_type}
        sent = time.monotonic()
        response = pulp.http.post(ENDPOINT, content=body, headers=headers)
        waited.append(time.monotonic() - sent)
        statuses[response.status_code] += 1
        assert response.status_code in ALLOWED, (response.status_code, response.text[:500])
        answer = response.json()
        assert isinstance(answer, dict)
        if response.status_code == 202:
            assert answer["tasks"], answer
        else:
            assert isinstance(answer["error"], str) and answer["error"].strip(), answer

    started = time.monotonic()
    post()
    took = time.monotonic() - started
    print(
        f"{sum(statuses.values())} bodies in {took:.1f} s ({sum(waited):.1f} s waiting for "
        f"answers): {dict(sorted(statuses.items()))}"
    )
    assert sum(statuses.values()) >= EXAMPLES
    # Every kind of answer came up: the generator reaches past the parser.
    assert {400, 415} <= set(statuses)

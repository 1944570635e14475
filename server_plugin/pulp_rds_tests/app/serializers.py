"""Request and response shapes of /api/pulp/rds-connection-tests/.

Validation is strict on purpose: JSON booleans are not integers, strings are not lists,
1.0 is not an integer, and unknown fields are rejected, because a silently coerced value
would start the wrong 50-minute experiment. Every message names what is allowed.
"""

import math
from typing import ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rds_probes import ACCEPTED_TEST_NAMES
from rest_framework import serializers

from pulp_rds_tests.app import config
from pulp_rds_tests.app.parsers import shortened, shown

DEFAULT_DURATION_MINUTES = 50
MIN_DURATION_MINUTES = 1
MAX_DURATION_MINUTES = 300
MAX_INTERVAL_SECONDS = MAX_DURATION_MINUTES * 60


# Error messages name at most this many of the offending names.
NAMES_SHOWN = 3


def _names(names: list[str]) -> str:
    """Submitted names for a message: the first few, shortened (a body may hold thousands)."""
    text = ", ".join(shortened(name) for name in names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{text} and {more} more" if more > 0 else text


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanField(serializers.Field):
    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        raise serializers.ValidationError(
            f"must be true or false (a JSON boolean), got {shown(data)}."
        )

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "integer",
        "minimum": MIN_DURATION_MINUTES,
        "maximum": MAX_DURATION_MINUTES,
        "default": DEFAULT_DURATION_MINUTES,
    }
)
class DurationField(serializers.Field):
    def to_internal_value(self, data):
        if (
            isinstance(data, bool)
            or not isinstance(data, int)
            or not MIN_DURATION_MINUTES <= data <= MAX_DURATION_MINUTES
        ):
            raise serializers.ValidationError(
                f"must be a whole number of minutes from {MIN_DURATION_MINUTES} to "
                f"{MAX_DURATION_MINUTES} (default {DEFAULT_DURATION_MINUTES}), got {shown(data)}."
            )
        return data

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "number",
        "minimum": config.ABSOLUTE_MIN_INTERVAL_SECONDS,
        "maximum": MAX_INTERVAL_SECONDS,
        "description": "At least max(0.1, time_unit_seconds / 60): the catalog's "
        "min_interval_seconds.",
    }
)
class IntervalField(serializers.Field):
    def to_internal_value(self, data):
        return self.checked(data)

    @staticmethod
    def checked(data) -> float:
        floor = config.min_interval_seconds()
        if (
            isinstance(data, bool)
            or not isinstance(data, int | float)
            or not floor <= data <= MAX_INTERVAL_SECONDS
        ):
            raise serializers.ValidationError(
                f"must be a number of seconds from {floor:g} to {MAX_INTERVAL_SECONDS}"
                f" (on this server), got {shown(data)}."
            )
        return float(data)

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_INTERVAL_SECONDS,
        "description": "Whole seconds (TCP keepalive timers count whole seconds), at least "
        "the catalog's min_interval_seconds and 1.",
    }
)
class KeepaliveIntervalField(serializers.Field):
    """Test 9's keepalive interval: an interval, also a whole number of seconds >= 1."""

    def to_internal_value(self, data):
        seconds = IntervalField.checked(data)
        if seconds < 1 or not seconds.is_integer():
            raise serializers.ValidationError(
                "must be a whole number of seconds from "
                f"{max(1, math.ceil(config.min_interval_seconds()))} to {MAX_INTERVAL_SECONDS} "
                f"(TCP keepalive timers count whole seconds), got {shown(data)}."
            )
        return int(seconds)

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"type": "string", "enum": list(ACCEPTED_TEST_NAMES)},
    }
)
class TestNamesField(serializers.Field):
    default_error_messages: ClassVar[dict[str, str]] = {
        "required": 'required: a list of test names, e.g. ["test_1_idle_connection"].',
        "null": 'must be a list of test names, e.g. ["test_1_idle_connection"], not null.',
    }

    def to_internal_value(self, data):
        example = '["test_1_idle_connection"]'
        if isinstance(data, str):
            raise serializers.ValidationError(
                f"must be a list of test names, not a string: write [{shown(data)}]."
            )
        if not isinstance(data, list):
            raise serializers.ValidationError(
                f"must be a list of test names, e.g. {example}, got {shown(data)}."
            )
        if not data:
            raise serializers.ValidationError(f"must name at least one test, e.g. {example}.")
        for index, item in enumerate(data):
            if not isinstance(item, str):
                raise serializers.ValidationError(
                    f"every item must be a test name (a string); item {index} is {shown(item)}."
                )
        seen = set()
        for item in data:
            if item in seen:
                raise serializers.ValidationError(
                    f"{_names([item])} is listed twice; list each test once."
                )
            seen.add(item)
        unknown = [item for item in data if item not in ACCEPTED_TEST_NAMES]
        if unknown:
            raise serializers.ValidationError(
                f"unknown test name(s): {_names(unknown)}. "
                f"Available: {', '.join(ACCEPTED_TEST_NAMES)}."
            )
        return data

    def to_representation(self, value):
        return value


class DispatchRequestSerializer(serializers.Serializer):
    tests = TestNamesField(help_text="The tests to run (each at most once).")
    run_sequentially = StrictBooleanField(
        default=False,
        help_text="Run the tests one after another instead of in parallel.",
    )
    duration_minutes = DurationField(
        default=DEFAULT_DURATION_MINUTES,
        help_text="How long each test holds its connection, in minutes (in time units of "
        "RDS_CONNECTION_TESTS_TIME_UNIT_SECONDS seconds).",
    )
    heartbeat_interval_seconds = IntervalField(
        required=False,
        help_text="Seconds between heartbeats (tests 2 and 8, default one time unit) and "
        "between rounds of work (test 4, default two time units).",
    )
    notify_interval_seconds = IntervalField(
        required=False,
        help_text="Seconds between NOTIFYs of test 7's sender (default two time units).",
    )
    keepalive_interval_seconds = KeepaliveIntervalField(
        required=False,
        help_text="Test 9: seconds of idleness before the first TCP keepalive and between "
        "keepalives (libpq keepalives_idle and keepalives_interval; default one time unit).",
    )
    stop_on_disconnect = StrictBooleanField(
        default=True,
        help_text="End a test as soon as its connection is closed (frees its worker).",
    )

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        (
                            "The request body must be a JSON object such as "
                            f'{{"tests": ["test_1_idle_connection"]}}, got {shown(data)}.'
                        )
                    ]
                }
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            message = f"unknown field; allowed fields: {', '.join(self.fields)}."
            raise serializers.ValidationError({name: [message] for name in unknown[:NAMES_SHOWN]})
        return super().to_internal_value(data)


class TestInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    number = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    tells_you = serializers.CharField()
    expected_outcome = serializers.CharField()
    proxy_pins = serializers.BooleanField(
        help_text="Whether AWS RDS Proxy pins a connection that behaves like this test."
    )
    fix_pattern = serializers.BooleanField(
        help_text="A fix pattern (tests 8, 9): run by name, not among available_tests."
    )


class CatalogResponseSerializer(serializers.Serializer):
    available_tests = serializers.ListField(
        child=serializers.CharField(), help_text="The guide's seven tests."
    )
    fix_tests = serializers.ListField(
        child=serializers.CharField(),
        help_text="The fix patterns (tests 8, 9): accepted by POST, never part of 'all'.",
    )
    descriptions = serializers.DictField(child=serializers.CharField())
    usage = serializers.DictField()
    tests = TestInfoSerializer(many=True)
    expected_cutoff_seconds = serializers.FloatField(
        help_text="The cutoff expected for an idle connection (RDS Proxy's idle client timeout)."
    )
    expected_in_transaction_cutoff_seconds = serializers.FloatField(
        help_text="The cutoff expected for a connection idle inside a transaction (tests 3, 4)."
    )
    time_unit_seconds = serializers.FloatField()
    min_interval_seconds = serializers.FloatField(
        help_text="The shortest heartbeat_interval_seconds, notify_interval_seconds or "
        "keepalive_interval_seconds accepted (keepalives: also at least 1 s)."
    )
    enabled = serializers.BooleanField()
    max_active = serializers.IntegerField()
    plugin_version = serializers.CharField()


class DispatchedTaskSerializer(serializers.Serializer):
    test_name = serializers.CharField()
    task_id = serializers.UUIDField()
    task_href = serializers.CharField()


class DispatchResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    tasks = DispatchedTaskSerializer(many=True)
    run_sequentially = serializers.BooleanField()
    duration_minutes = serializers.IntegerField()
    time_unit_seconds = serializers.FloatField()
    expected_cutoff_seconds = serializers.FloatField()
    expected_in_transaction_cutoff_seconds = serializers.FloatField()
    note = serializers.CharField()


class ErrorResponseSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="What was wrong and how to fix it.")
    field = serializers.CharField(required=False)
    errors = serializers.DictField(required=False)
    available_tests = serializers.ListField(child=serializers.CharField(), required=False)
    fix_tests = serializers.ListField(child=serializers.CharField(), required=False)
    hint = serializers.CharField(required=False)
    active = serializers.IntegerField(required=False)
    max_active = serializers.IntegerField(required=False)
    requested = serializers.IntegerField(required=False)

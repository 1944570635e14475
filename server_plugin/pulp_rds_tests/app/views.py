"""GET/POST /api/pulp/rds-connection-tests/: the catalog, and dispatching probe tasks.

The view validates, checks who may run tests, and dispatches one pulpcore task per test;
the probes themselves live in rds_probes and run in the workers.
"""

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema
from pulpcore.plugin.models import Task
from pulpcore.plugin.tasking import dispatch
from pulpcore.plugin.util import reverse
from rds_probes import CATALOG, FIX_TEST_NAMES, TEST_NAMES, ProbeConfigError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from pulp_rds_tests import __version__
from pulp_rds_tests.app import config, errors, tasks
from pulp_rds_tests.app.database import merge_database_settings
from pulp_rds_tests.app.models import GATE_NAME, RUN_PERMISSION, DispatchGate
from pulp_rds_tests.app.parsers import JSONBodyParser
from pulp_rds_tests.app.serializers import (
    CatalogResponseSerializer,
    DispatchRequestSerializer,
    DispatchResponseSerializer,
)

ENDPOINT = "/api/pulp/rds-connection-tests/"
# Every test task of every sequential run holds this one resource: one at a time.
SEQUENTIAL_RESOURCE = "pulp_rds_tests:sequential-run"
ACTIVE_STATES = ("waiting", "running", "canceling")


def _catalog() -> dict:
    return {
        # The guide's seven only: a client that runs every available test gets the seven
        # it always got (nine would also exceed the default max_active of 7).
        "available_tests": list(TEST_NAMES),
        "fix_tests": list(FIX_TEST_NAMES),
        "descriptions": {spec.name: spec.description for spec in CATALOG if not spec.fix_pattern},
        "usage": {
            "endpoint": ENDPOINT,
            "method": "POST",
            "body": {
                "tests": ["test_1_idle_connection", "test_2_active_heartbeat"],
                "run_sequentially": False,
            },
            "optional": {
                "duration_minutes": "1..300, default 50 (one minute = time_unit_seconds)",
                "heartbeat_interval_seconds": "seconds between heartbeats (tests 2, 4 and 8)",
                "notify_interval_seconds": "seconds between NOTIFYs (test 7)",
                "keepalive_interval_seconds": "whole seconds between TCP keepalives (test 9)",
                "stop_on_disconnect": "end a test when its connection closes (default true)",
            },
        },
        "tests": [
            {
                "name": spec.name,
                "number": spec.number,
                "title": spec.title,
                "description": spec.description,
                "tells_you": spec.tells_you,
                "expected_outcome": spec.expected_outcome,
                "proxy_pins": spec.proxy_pins,
                "fix_pattern": spec.fix_pattern,
            }
            for spec in CATALOG
        ],
        **_cutoffs(),
        "time_unit_seconds": config.time_unit_seconds(),
        "min_interval_seconds": config.min_interval_seconds(),
        "enabled": config.tests_enabled(),
        "max_active": config.max_active(),
        "plugin_version": __version__,
    }


def _cutoffs() -> dict:
    """The cutoffs clients draw: idle, and idle inside a transaction (tests 3 and 4)."""
    return {
        "expected_cutoff_seconds": config.expected_cutoff_seconds(),
        "expected_in_transaction_cutoff_seconds": config.expected_in_transaction_cutoff_seconds(),
    }


def _note(duration_minutes: int, run_sequentially: bool, count: int) -> str:
    unit = config.time_unit_seconds()
    scale = "" if unit == 60 else f" (one minute = {unit:g} s on this server)"
    if run_sequentially and count > 1:
        return (
            f"The tests run one after another, each for approximately {duration_minutes} "
            f"minutes{scale}. Monitor task status via task_href."
        )
    return (
        f"Each test runs for approximately {duration_minutes} minutes{scale}. "
        "Monitor task status via task_href."
    )


def _target_misconfiguration() -> Response | None:
    """A 500 naming the bad setting, checked at dispatch rather than in every task."""
    try:
        merge_database_settings(settings.DATABASES["default"], config.probe_database_overrides())
    except ProbeConfigError as exc:
        return errors.misconfigured(exc)
    return None


class RdsConnectionTestsView(APIView):
    """The RDS Proxy connection tests: list them (GET) and start them (POST)."""

    # GET is open to anyone; POST checks the user itself so that anonymous callers get
    # 401 and other users a 403 saying what they lack.
    permission_classes = ()
    parser_classes = (JSONBodyParser,)

    @extend_schema(
        summary="List the RDS connection tests",
        operation_id="rds_connection_tests_list",
        tags=["RDS connection tests"],
        responses={200: CatalogResponseSerializer},
    )
    def get(self, request, **kwargs):
        return Response(_catalog())

    @extend_schema(
        summary="Dispatch RDS connection tests",
        description="Dispatches one Pulp task per test. Each task holds one database "
        "connection in its pattern for duration_minutes and records when and how it died.",
        operation_id="rds_connection_tests_dispatch",
        tags=["RDS connection tests"],
        request={"application/json": DispatchRequestSerializer},
        responses={202: DispatchResponseSerializer, **errors.ERROR_RESPONSES},
        examples=[
            OpenApiExample(
                "Two tests in parallel",
                value={"tests": ["test_1_idle_connection", "test_2_active_heartbeat"]},
                request_only=True,
            )
        ],
    )
    def post(self, request, **kwargs):
        if not config.tests_enabled():
            return Response(errors.DISABLED_ERROR, status=status.HTTP_403_FORBIDDEN)
        self._check_may_run(request)
        serializer = DispatchRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return errors.validation_error(serializer.errors)
        if (misconfigured := _target_misconfiguration()) is not None:
            return misconfigured
        options = serializer.validated_data
        names = options["tests"]
        limit = config.max_active()
        with transaction.atomic():
            # Serialise dispatchers so the count below stays true until we commit.
            DispatchGate.objects.select_for_update().get_or_create(name=GATE_NAME)
            active = Task.objects.filter(
                name__startswith=tasks.TASK_NAME_PREFIX, state__in=ACTIVE_STATES
            ).count()
            if active + len(names) > limit:
                return errors.over_limit(active, limit, len(names))
            dispatched = [self._dispatch(name, options) for name in names]
        return Response(
            {
                "message": f"Dispatched {len(dispatched)} test(s)",
                "tasks": [
                    {
                        "test_name": name,
                        "task_id": str(task.pk),
                        "task_href": reverse("tasks-detail", kwargs={"pk": task.pk}),
                    }
                    for name, task in zip(names, dispatched)
                ],
                "run_sequentially": options["run_sequentially"],
                "duration_minutes": options["duration_minutes"],
                "time_unit_seconds": config.time_unit_seconds(),
                **_cutoffs(),
                "note": _note(options["duration_minutes"], options["run_sequentially"], len(names)),
            },
            status=status.HTTP_202_ACCEPTED,
        )

    @staticmethod
    def _check_may_run(request) -> None:
        user = request.user
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated(
                "Authentication required: running tests needs a staff user or one holding "
                f"the permission {RUN_PERMISSION}. Pass credentials, e.g. curl -u USER:PASSWORD."
            )
        if not (user.is_staff or user.has_perm(RUN_PERMISSION)):
            raise exceptions.PermissionDenied(
                f"User '{user.get_username()}' may not run RDS connection tests: it needs "
                f"staff status (is_staff) or the permission {RUN_PERMISSION} (directly or "
                "through a role)."
            )

    @staticmethod
    def _dispatch(name: str, options: dict) -> Task:
        task_options = {
            "duration_minutes": options["duration_minutes"],
            "stop_on_disconnect": options["stop_on_disconnect"],
            "heartbeat_interval_seconds": options.get("heartbeat_interval_seconds"),
            "notify_interval_seconds": options.get("notify_interval_seconds"),
        }
        if "keepalive_interval_seconds" in options:
            task_options["keepalive_interval_seconds"] = options["keepalive_interval_seconds"]
        return dispatch(
            getattr(tasks, name),
            kwargs=task_options,
            exclusive_resources=[SEQUENTIAL_RESOURCE] if options["run_sequentially"] else None,
        )

    def handle_exception(self, exc):
        return errors.reshape(exc, super().handle_exception(exc))

"""Every error answer of the endpoint, in one shape: {"error": "<what and how to fix>", ...}."""

from drf_spectacular.utils import OpenApiResponse
from rds_probes import FIX_TEST_NAMES, TEST_NAMES
from rest_framework import exceptions, status
from rest_framework.response import Response

from pulp_rds_tests.app.parsers import MAX_BODY_BYTES, UNSUPPORTED_MEDIA_TYPE_HINT, shortened
from pulp_rds_tests.app.serializers import ErrorResponseSerializer

DISABLED_ERROR = {
    "error": "RDS connection tests are not enabled.",
    "hint": "Set RDS_CONNECTION_TESTS_ENABLED = True (or DEBUG = True) in the Pulp settings, "
    "e.g. PULP_RDS_CONNECTION_TESTS_ENABLED=true in the environment of the API and the "
    "workers, and restart them.",
}

ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorResponseSerializer, description="Invalid request body."),
    401: OpenApiResponse(ErrorResponseSerializer, description="No or wrong credentials."),
    403: OpenApiResponse(
        ErrorResponseSerializer,
        description="Tests are not enabled, or the user may not run them.",
    ),
    413: OpenApiResponse(
        ErrorResponseSerializer, description=f"The body is larger than {MAX_BODY_BYTES} bytes."
    ),
    415: OpenApiResponse(
        ErrorResponseSerializer, description="The body is not sent as application/json."
    ),
    429: OpenApiResponse(
        ErrorResponseSerializer,
        description="RDS_CONNECTION_TESTS_MAX_ACTIVE test tasks are already waiting or "
        "running; nothing was dispatched.",
    ),
}


def validation_error(errors: dict) -> Response:
    """A 400 with one readable sentence naming the field, plus the per-field details."""
    field, messages = next(iter(errors.items()))
    message = messages[0] if isinstance(messages, list) else str(messages)
    body = {
        "error": message if field == "non_field_errors" else f"{shortened(field)}: {message}",
        "errors": errors,
    }
    if field != "non_field_errors":
        body["field"] = field
    if "tests" in errors:
        # As in the catalog: the guide's seven, and the fix patterns apart.
        body["available_tests"] = list(TEST_NAMES)
        body["fix_tests"] = list(FIX_TEST_NAMES)
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def misconfigured(problem: Exception) -> Response:
    """A 500 naming the bad setting: the server's fault, whatever the body."""
    return Response(
        {
            "error": f"The server is misconfigured: {problem} Fix the Pulp settings and "
            "restart the API and the workers."
        },
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def over_limit(active: int, limit: int, requested: int) -> Response:
    return Response(
        {
            "error": f"{active} RDS test task(s) are already waiting or running and the "
            f"limit is {limit} (RDS_CONNECTION_TESTS_MAX_ACTIVE); starting {requested} more "
            "would exceed it. Nothing was dispatched: wait for running tests to finish or "
            "cancel them.",
            "active": active,
            "max_active": limit,
            "requested": requested,
        },
        status=status.HTTP_429_TOO_MANY_REQUESTS,
    )


def reshape(exc: Exception, response: Response) -> Response:
    """DRF's own errors (auth, parsing, media type, methods) in the {"error": ...} shape."""
    if isinstance(exc, exceptions.APIException) and isinstance(response.data, dict):
        detail = response.data.get("detail")
        if detail is not None and "error" not in response.data:
            response.data = {"error": str(detail)}
        if isinstance(exc, exceptions.UnsupportedMediaType):
            response.data["hint"] = UNSUPPORTED_MEDIA_TYPE_HINT
    return response

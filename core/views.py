"""The liveness and readiness probes, and the JSON answers for errors raised outside DRF views; for
both services (each names its readiness checks: the store's are in store_infra.readiness)."""

import logging
import sys
from collections.abc import Callable

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from .errors import DATABASE_ERRORS, DATABASE_RETRY_AFTER, database_unavailable_body, error_body
from .metrics import record_readiness
from .metrics_endpoint import before_scrape

logger = logging.getLogger(__name__)

HealthSerializer = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "degraded", "unavailable"]),
        "checks": serializers.DictField(child=serializers.CharField(), required=False),
    },
)


@extend_schema(responses={200: HealthSerializer}, tags=["health"])
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])  # probes come often, from one address (the orchestrator's)
def liveness(request):
    """The process answers; nothing else is checked."""
    return Response({"status": "ok"})


def readiness_probe(checks: Callable[[], dict[str, str]]):
    """The readiness view over a service's `checks` (each "ok" or not), also refreshed into the
    readiness gauges at every scrape of `/metrics`."""
    before_scrape(lambda: record_readiness(checks()))

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, tags=["health"])
    @api_view(["GET"])
    @authentication_classes([])
    @permission_classes([AllowAny])
    @throttle_classes([])
    def readiness(request):
        """503 when the database does not answer; any other check failing only degrades the service
        (the store's reads then come from the database)."""
        results = checks()
        if results["database"] != "ok":
            return Response({"status": "unavailable", "checks": results}, status=503)
        healthy = all(result == "ok" for result in results.values())
        return Response({"status": "ok" if healthy else "degraded", "checks": results})

    return readiness


def database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.exception("readiness: database check failed")
        return "unavailable"


# Paths whose clients read JSON: everything but the admin and the other pages made for browsers.
JSON_PATHS = ("/api/", "/health/", "/graphql/")


def _error_page(request, status: int, code: str, message: str, html_view, *args):
    """JSON in the one error shape for API clients; Django's own pages for the admin and browsers."""
    if request.path_info.startswith(JSON_PATHS):
        return JsonResponse(error_body(status_code=status, code=code, message=message), status=status)
    return html_view(request, *args)


def _error_view(status: int, code: str, message: str, html_view):
    def error_view(request, exception=None):
        return _error_page(request, status, code, message, html_view, exception)

    return error_view


bad_request = _error_view(400, "bad_request", "Bad request.", defaults.bad_request)
permission_denied = _error_view(
    403, "permission_denied", "You do not have permission.", defaults.permission_denied
)
not_found = _error_view(404, "not_found", "Not found.", defaults.page_not_found)


def _database_unavailable(request):
    """A door outside DRF (GraphQL, the admin) that lost its database: a 503 to retry, as in DRF."""
    body = database_unavailable_body()
    if request.path_info.startswith(JSON_PATHS):
        return JsonResponse(body, status=503, headers=DATABASE_RETRY_AFTER)
    # No template: rendering one may need what is failing.
    page = (
        f"<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1><p>{body['message']}"
    )
    return HttpResponse(page, status=503, headers=DATABASE_RETRY_AFTER)


def server_error(request):
    # Django calls this in the `except` clause of the exception it could not answer.
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return _database_unavailable(request)
    return _error_page(request, 500, "server_error", "Internal server error.", defaults.server_error)

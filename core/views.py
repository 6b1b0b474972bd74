"""Health probes and the JSON answers for errors raised outside DRF views."""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views import defaults
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from .errors import error_body

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
def liveness(request):
    """The process answers; nothing else is checked."""
    return Response({"status": "ok"})


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.exception("readiness: database check failed")
        return "unavailable"


def _check_cache() -> str:
    try:
        cache.set("health:probe", "1", timeout=10)
        return "ok" if cache.get("health:probe") == "1" else "unavailable"
    except Exception:
        logger.exception("readiness: cache check failed")
        return "unavailable"


@extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, tags=["health"])
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def readiness(request):
    """Whether the database and the cache answer; 503 when one does not."""
    checks = {"database": _check_database(), "cache": _check_cache()}
    healthy = all(state == "ok" for state in checks.values())
    return Response(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def _error_page(request, status: int, code: str, message: str, html_view, *args):
    """JSON in the one error shape for API clients; Django's own pages for the admin and browsers."""
    if request.path.startswith(("/api/", "/health/")):
        return JsonResponse(error_body(status_code=status, code=code, message=message), status=status)
    return html_view(request, *args)


def bad_request(request, exception=None):
    return _error_page(request, 400, "bad_request", "Bad request.", defaults.bad_request, exception)


def permission_denied(request, exception=None):
    return _error_page(
        request,
        403,
        "permission_denied",
        "You do not have permission.",
        defaults.permission_denied,
        exception,
    )


def not_found(request, exception=None):
    return _error_page(request, 404, "not_found", "Not found.", defaults.page_not_found, exception)


def server_error(request):
    return _error_page(request, 500, "server_error", "Internal server error.", defaults.server_error)

"""The store's readiness probe: its database and its cache. (The payments service, which has no
cache and not the core app's tables, has its own.)"""

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from core.metrics import record_readiness
from core.views import HealthSerializer, database_status

from .cache import cache_status


def readiness_checks() -> dict[str, str]:
    return {"database": database_status(), "cache": cache_status()}


def refresh_readiness_gauges() -> None:
    record_readiness(readiness_checks())


@extend_schema(responses={200: HealthSerializer, 503: HealthSerializer}, tags=["health"])
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def readiness(request):
    """503 when the database does not answer; a cache that does not answer only degrades the service
    (reads then come from the database)."""
    checks = readiness_checks()
    if checks["database"] != "ok":
        return Response({"status": "unavailable", "checks": checks}, status=503)
    return Response({"status": "ok" if checks["cache"] == "ok" else "degraded", "checks": checks})

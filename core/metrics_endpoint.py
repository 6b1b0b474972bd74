"""`/metrics`: every metric of the service in Prometheus's text format.

Under gunicorn each worker is a process with its own counters: `gunicorn.conf.py` sets
PROMETHEUS_MULTIPROC_DIR, where prometheus_client keeps every process's values in files, and
`/metrics` adds them up, whichever worker answers. Without it (`make run`, tests) the values live in
the process. `/metrics` is for the internal network only: the gateway does not route it
(docs/architecture.md, 8.9); METRICS_TOKEN, when set, is required as a bearer token anyway.

`/metrics` is answered by a middleware, before anything reads the Host header: Prometheus scrapes
each replica at its address (Docker's DNS hands out addresses), which is no host name a service
serves (ALLOWED_HOSTS), so Django would refuse every scrape.
"""

import hmac
import logging
import os
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder

from .errors import error_body

logger = logging.getLogger(__name__)


def _authorized(request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


METRICS_PATH = "/metrics"
# Gauges of the store's state (low stock, readiness) set just before each scrape, by the apps that
# own them (`before_scrape` in their AppConfig.ready): what a counter cannot tell.
BEFORE_SCRAPE: list[Callable[[], None]] = []


def before_scrape(refresh: Callable[[], None]) -> None:
    if refresh not in BEFORE_SCRAPE:
        BEFORE_SCRAPE.append(refresh)


class MetricsEndpointMiddleware:
    """Answers `/metrics` (see the module docstring); early in MIDDLEWARE, before CommonMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == METRICS_PATH:
            return metrics_view(request)
        return self.get_response(request)


@require_safe
def metrics_view(request):
    """The metrics in Prometheus's text format (or OpenMetrics if asked), summed over gunicorn's workers."""
    token = settings.METRICS_TOKEN
    if token and not _authorized(request, token):
        body = error_body(
            status_code=401, code="not_authenticated", message="The metrics need the metrics token."
        )
        return JsonResponse(body, status=401, headers={"WWW-Authenticate": "Bearer"})
    for refresh in BEFORE_SCRAPE:
        try:
            refresh()
        except Exception:  # a gauge left as it was must not cost the other metrics their scrape
            logger.exception("metrics: %s failed", refresh.__qualname__)
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(registry), content_type=content_type)

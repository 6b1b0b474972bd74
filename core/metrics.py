"""Prometheus metrics shared by both services, and `/metrics` to read them.

Every request is timed per view by `RequestMetricsMiddleware` (one histogram observation: its
`_count` is the request count), business-rule refusals are counted by code in the one exception
handler (`core.errors`), and the read caches count their hits and misses. The store's own metrics
(orders, the payments client) live in `orders.metrics`, so the payments service never shows them.

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
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder

logger = logging.getLogger(__name__)

# From a cached read (about a millisecond) to a call to payments at its timeouts.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Any other method a client makes up shares one label, so that labels stay few.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNRESOLVED_VIEW = "unresolved"

REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer a request, from near the top of MIDDLEWARE on; `view` is the URL name.",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
DOMAIN_ERRORS = Counter(
    "domain_errors_total",
    "API requests refused by a business rule, by error code (insufficient_stock: a stock-out).",
    ["code"],
)
READ_CACHE_HITS = Counter(
    "read_cache_hits_total",
    "Cached reads served from the cache; `read` is the cache key's prefix (stock-report, token, ...).",
    ["read"],
)
READ_CACHE_MISSES = Counter(
    "read_cache_misses_total",
    "Cached reads computed from the database (a changed version, no entry, or the cache down).",
    ["read"],
)

READINESS_CHECKS = Gauge(
    "readiness_check_ok",
    "1 when the readiness check (`check`: database, cache) answered at the last scrape, 0 when not.",
    ["check"],
    multiprocess_mode="mostrecent",
)


def record_readiness(checks: dict[str, str]) -> None:
    """The readiness probe's checks (`{"database": "ok", ...}`) as gauges, for the alert rules."""
    for check, state in checks.items():
        READINESS_CHECKS.labels(check).set(1 if state == "ok" else 0)


class RequestMetricsMiddleware:
    """Times every request, per view, method and status; the cost is one histogram observation."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUEST_DURATION.labels(
            match.view_name if match else UNRESOLVED_VIEW, method, str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response


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
        # Imported here: core.errors counts its refusals with this module's counters.
        from .errors import error_body

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

"""Prometheus metrics shared by both services (`/metrics`, which reads them: core.metrics_endpoint).

Every request is timed per view by `RequestMetricsMiddleware` (one histogram observation: its
`_count` is the request count), business-rule refusals are counted by code in the one exception
handler (`core.errors`), and the read caches count their hits and misses. The store's own metrics
(orders, the payments client) live in `orders.metrics`, so the payments service never shows them.
"""

import time

from prometheus_client import Counter, Gauge, Histogram

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

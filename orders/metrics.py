"""The store's order and payments-client metrics (read at `/metrics`, see core/metrics.py).

Orders are counted once their transaction has committed, so a rolled-back or retried attempt is
never counted. The circuit breaker is per process: under gunicorn the gauge shows the worst state
among the live workers (a dead worker's value is dropped by gunicorn.conf.py's child_exit hook).
"""

from prometheus_client import Counter, Gauge

ORDERS_CREATED = Counter("orders_created_total", "Orders placed (committed).")
ORDERS_CANCELLED = Counter("orders_cancelled_total", "Orders cancelled (committed), their stock returned.")
PAYMENTS_CLIENT_FAILURES = Counter(
    "payments_client_failures_total",
    "Failed calls to the payments service, per attempt: connection, timeout, server_error, bad_answer, "
    "request_error, refused (a 4xx other than not_refundable), circuit_open (not sent).",
    ["reason"],
)
PAYMENTS_CIRCUIT_STATE = Gauge(
    "payments_circuit_state",
    "The payments circuit breaker: 0 closed, 1 half-open (one trial call), 2 open (calls fail at once).",
    multiprocess_mode="livemax",
)
PAYMENTS_CIRCUIT_OPENED = Counter("payments_circuit_opened_total", "Times the payments circuit opened.")

CIRCUIT_STATE_VALUES = {"closed": 0, "half_open": 1, "open": 2}

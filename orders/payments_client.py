"""The store's one way to reach the payments service (docs/adr/0005-payments-service.md).

Timeouts, retries and circuit breaking live here and nowhere else, so that a dead or slow payments
service costs a request no more than a bounded wait, and soon no more than a fast failure:

- every attempt has a connect and a read timeout (`PAYMENTS_CONNECT_TIMEOUT`, `PAYMENTS_READ_TIMEOUT`);
- only safe or idempotent calls are retried (GET, the payment create carrying its `Idempotency-Key`,
  the refund), at most `PAYMENTS_RETRIES` times with a short jittered backoff, and only when the
  service refused the connection or answered 5xx. A timeout is not retried: a service that did not
  answer in time is most likely still slow, and retrying would multiply the caller's wait;
- a per-process circuit breaker counts consecutive failed attempts (connection errors, timeouts,
  5xx). After `PAYMENTS_BREAKER_THRESHOLD` of them it opens and calls fail at once, without touching
  the network, for `PAYMENTS_BREAKER_COOLDOWN` seconds; then one trial call is let through
  (half-open): its success closes the circuit, its failure opens it again.

Failures are raised as `PaymentServiceUnavailable` (503 `payments_unavailable`), which the API's one
exception handler turns into the one error shape.
"""

import logging
import random
import threading
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from django.conf import settings

from core.request_id import HEADER as REQUEST_ID_HEADER
from core.request_id import current_request_id

from .errors import PaymentNotRefundable, PaymentServiceUnavailable
from .metrics import (
    CIRCUIT_STATE_VALUES,
    PAYMENTS_CIRCUIT_OPENED,
    PAYMENTS_CIRCUIT_STATE,
    PAYMENTS_CLIENT_FAILURES,
)

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Relative to PAYMENTS_URL, the payments API root (the gateway's /payments-api in production).
API_PREFIX = "/payments/"
STATUSES = frozenset({"pending", "paid", "failed", "refunded"})


@dataclass(frozen=True)
class Payment:
    """What the store reads of a payment (the contract's payment, card details left out)."""

    id: int
    order_id: int
    status: str
    amount: Decimal
    currency: str
    pay_url: str

    @classmethod
    def from_json(cls, data: Any) -> "Payment":
        try:
            payment = cls(
                id=int(data["id"]),
                order_id=int(data["order_id"]),
                status=str(data["status"]),
                amount=Decimal(str(data["amount"])),
                currency=str(data["currency"]),
                pay_url=str(data.get("pay_url") or ""),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as error:
            raise PaymentServiceUnavailable("The payments service gave a malformed payment.") from error
        if payment.status not in STATUSES:
            raise PaymentServiceUnavailable(
                f"The payments service gave an unknown status {payment.status!r}."
            )
        return payment


class CircuitBreaker:
    """Closed, open or half-open, shared by every thread of the process (guarded by one lock)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    def __init__(self, *, threshold: int, cooldown: float, clock=time.monotonic):
        self.threshold = max(1, threshold)
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self.times_opened = 0

    @property
    def state(self) -> str:
        return self.snapshot()["state"]

    def snapshot(self) -> dict[str, Any]:
        """The breaker as metrics and health checks report it."""
        with self._lock:
            state = self.HALF_OPEN if self._state == self.OPEN and self._cooled_down() else self._state
            retry_in = (
                max(0.0, self._opened_at + self.cooldown - self._clock()) if state == self.OPEN else 0.0
            )
            return {
                "state": state,
                "consecutive_failures": self._failures,
                "times_opened": self.times_opened,
                "retry_in_seconds": round(retry_in, 3),
            }

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.cooldown

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, only the one trial call may."""
        with self._lock:
            if self._state == self.CLOSED:
                return True
            if self._state == self.OPEN:
                if not self._cooled_down():
                    return False
                self._state = self.HALF_OPEN
                self._trial_in_flight = False
                _show_state(self.HALF_OPEN)
            if self._trial_in_flight:
                return False
            self._trial_in_flight = True
            return True

    def record_success(self) -> None:
        with self._lock:
            if self._state != self.CLOSED:
                logger.info("payments circuit closed")
            self._state = self.CLOSED
            self._failures = 0
            self._trial_in_flight = False
            _show_state(self.CLOSED)

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            self._trial_in_flight = False
            if self._state == self.HALF_OPEN or (
                self._state == self.CLOSED and self._failures >= self.threshold
            ):
                if self._state == self.CLOSED:
                    self.times_opened += 1
                    PAYMENTS_CIRCUIT_OPENED.inc()
                    logger.warning("payments circuit opened after %d failures", self._failures)
                self._state = self.OPEN
                self._opened_at = self._clock()
                _show_state(self.OPEN)


def _show_state(state: str) -> None:
    """The breaker's state as the `payments_circuit_state` gauge (per process, see orders/metrics.py)."""
    PAYMENTS_CIRCUIT_STATE.set(CIRCUIT_STATE_VALUES[state])


_breaker: CircuitBreaker | None = None
_breaker_lock = threading.Lock()


def breaker() -> CircuitBreaker:
    """The process's breaker, built from the settings on first use."""
    global _breaker
    if _breaker is None:
        with _breaker_lock:
            if _breaker is None:
                _breaker = CircuitBreaker(
                    threshold=settings.PAYMENTS_BREAKER_THRESHOLD, cooldown=settings.PAYMENTS_BREAKER_COOLDOWN
                )
    return _breaker


def reset_breaker() -> None:
    """Forget the breaker's state (tests; a deployment that changed its settings)."""
    global _breaker
    with _breaker_lock:
        _breaker = None


class _Failure(Exception):
    """One failed attempt; `retryable` when trying again soon may help; `kind` labels it in metrics."""

    def __init__(self, reason: str, *, retryable: bool, kind: str):
        super().__init__(reason)
        self.retryable = retryable
        self.kind = kind


_sessions = threading.local()


def _session() -> requests.Session:
    """A connection pool per thread (requests.Session is not documented as thread-safe)."""
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
        session.trust_env = False  # no proxy from the environment between two of our services
    return session


class PaymentsClient:
    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        connect_timeout: float,
        read_timeout: float,
        retries: int,
        backoff: float,
        circuit: CircuitBreaker,
    ):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = (connect_timeout, read_timeout)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.circuit = circuit

    # --- the contract ---------------------------------------------------------------------------

    def create_payment(self, *, order_id: int, customer_id: int, amount: Decimal, currency: str) -> Payment:
        """The order's payment: created (201) or the live one it already has (200)."""
        body = {"order_id": order_id, "customer_id": customer_id, "amount": str(amount), "currency": currency}
        answer = self.request("POST", API_PREFIX, json=body, idempotency_key=f"order-{order_id}")
        return Payment.from_json(answer)

    def get_payment(self, payment_id: int) -> Payment:
        return Payment.from_json(self.request("GET", f"{API_PREFIX}{payment_id}/"))

    def payments_of_order(self, order_id: int) -> list[Payment]:
        answer = self.request("GET", API_PREFIX, params={"order_id": order_id})
        results = answer.get("results") if isinstance(answer, dict) else answer
        if not isinstance(results, list):
            raise PaymentServiceUnavailable("The payments service gave a malformed list of payments.")
        return [Payment.from_json(item) for item in results]

    def refund(self, payment_id: int) -> None:
        """Refund a paid payment; refunding a refunded one is a no-op (the contract makes it idempotent)."""
        self.request("POST", f"{API_PREFIX}{payment_id}/refund/", idempotent=True)

    # --- transport ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict | None = None,
        params: dict | None = None,
        idempotency_key: str | None = None,
        idempotent: bool = False,
    ) -> Any:
        """The decoded JSON answer of a 2xx; retried only when the call is safe or idempotent."""
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if request_id := current_request_id():
            headers[REQUEST_ID_HEADER] = request_id  # payments logs its side of the call under it
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        retryable_call = idempotent or idempotency_key is not None or method in SAFE_METHODS
        attempts = 1 + (self.retries if retryable_call else 0)
        url = self.base_url + path
        for attempt in range(attempts):
            if not self.circuit.allow():
                PAYMENTS_CLIENT_FAILURES.labels("circuit_open").inc()
                raise PaymentServiceUnavailable(
                    "The payments service is failing; calls are suspended for a moment.",
                    details={"circuit": self.circuit.state},
                )
            try:
                response = self._attempt(method, url, headers=headers, json=json, params=params)
            except _Failure as failure:
                self.circuit.record_failure()
                PAYMENTS_CLIENT_FAILURES.labels(failure.kind).inc()
                logger.warning("payments %s %s failed (attempt %d): %s", method, path, attempt + 1, failure)
                if not failure.retryable or attempt + 1 == attempts:
                    raise PaymentServiceUnavailable(
                        f"The payments service is unavailable: {failure}."
                    ) from failure
                time.sleep(self.backoff * 2**attempt * random.uniform(0.5, 1.5))
                continue
            self.circuit.record_success()
            return self._answer(method, path, response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, method: str, url: str, **kwargs) -> requests.Response:
        try:
            response = _session().request(method, url, timeout=self.timeout, **kwargs)
        except requests.Timeout as error:
            # ConnectTimeout is also a ConnectionError: catch timeouts first, they are never retried.
            raise _Failure(
                f"no answer in time ({type(error).__name__})", retryable=False, kind="timeout"
            ) from error
        except requests.ConnectionError as error:
            raise _Failure("connection failed", retryable=True, kind="connection") from error
        except requests.RequestException as error:
            raise _Failure(
                f"request failed ({type(error).__name__})", retryable=False, kind="request_error"
            ) from error
        except BaseException:
            # Not the service's fault, but a half-open trial must not stay in flight for ever.
            self.circuit.record_failure()
            raise
        if response.status_code >= 500:
            raise _Failure(f"it answered {response.status_code}", retryable=True, kind="server_error")
        if response.status_code < 300:
            try:
                response.json()
            except ValueError as error:
                raise _Failure(
                    "it answered something that is not JSON", retryable=False, kind="bad_answer"
                ) from error
        return response

    def _answer(self, method: str, path: str, response: requests.Response) -> Any:
        if response.status_code < 300:
            return response.json()
        code = _error_code(response)
        if response.status_code == 409 and code == "not_refundable":
            raise PaymentNotRefundable()
        # The service is up but refused the call: a wrong token or a request the contract does not
        # allow. Nothing the caller can fix; the store cannot use payments until someone does.
        logger.error("payments refused %s %s: %s %s", method, path, response.status_code, code)
        PAYMENTS_CLIENT_FAILURES.labels("refused").inc()
        raise PaymentServiceUnavailable(
            f"The payments service refused the request ({response.status_code} {code}).",
            details={"payments_status": response.status_code, "payments_code": code},
        )


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "error"
    return str(body.get("code", "error")) if isinstance(body, dict) else "error"


def client() -> PaymentsClient:
    """A client on the current settings and the process's breaker (cheap: build one per use)."""
    return PaymentsClient(
        base_url=settings.PAYMENTS_URL,
        token=settings.PAYMENTS_SERVICE_TOKEN,
        connect_timeout=settings.PAYMENTS_CONNECT_TIMEOUT,
        read_timeout=settings.PAYMENTS_READ_TIMEOUT,
        retries=settings.PAYMENTS_RETRIES,
        backoff=settings.PAYMENTS_RETRY_BACKOFF,
        circuit=breaker(),
    )

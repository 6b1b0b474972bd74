"""Request budgets per user, by role, counted in the default cache (docs/adr/0009-throttling.md).

Defence in depth behind the gateway's rate limits: every authenticated request spends from its
user's budget, whose rate depends on the user's role and on whether the request writes (POST, PUT,
PATCH, DELETE, a GraphQL mutation) or reads. Anonymous requests spend from their client address's
budget (REMOTE_ADDR, which core.proxies sets from the gateway's X-Forwarded-For), and token requests
from a stricter one, against password guessing.

A budget is a counter per fixed window (`120/min`: at most 120 requests from hh:mm:00 to hh:mm:59),
incremented atomically in the default cache, so every thread, worker and replica using the same
Redis spends from the same budget. A process takes it a lease at a time (a hundredth of the budget,
at most 100 requests; one request for budgets under 200): one round trip to Redis per lease instead
of one per request. The counter grants no request past the budget, so no more than the budget ever
gets through; a user spread over several processes may be refused up to one lease per other process
early, while those hold what they leased. Over budget, DRF answers 429 `throttled` with
`Retry-After` (seconds until the window ends). Redis down: requests are let through rather than
refused, as the read caches skip Redis for a moment (store_infra.cache.state), and the gateway still
limits; but token requests, the guard against password guessing, are then counted in the database
(store_infra.models.ThrottleCounter), in the same windows.

The rates are read from settings.THROTTLE_RATES at each request, not bound at import as DRF's
SimpleRateThrottle does, so that they follow the environment (THROTTLE_RATES) and test overrides.
"""

import ipaddress
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from core import rates
from core.proxies import parse_address
from store_infra import cache as read_cache
from store_infra import counters
from store_infra.models import ThrottleCounter

logger = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ANONYMOUS = "anon"
LOGIN = "login"

# The clock windows are cut from; tests replace it to stay inside one window.
clock = time.time


@dataclass(frozen=True)
class Budget:
    scope: str  # a key of THROTTLE_RATES
    ident: str  # whose budget: a user id or a client address


def parse_rate(rate: str) -> tuple[int, int]:
    """`"120/min"` -> (120 requests, 60 seconds), as DRF writes rates (`s`, `min`, `hour`, `day`)."""
    parsed = rates.parse_rate(rate)
    if parsed is None:
        raise ImproperlyConfigured(f"THROTTLE_RATES: {rate!r} is not a rate like 120/min.")
    return parsed


def rate_of(scope: str) -> tuple[int, int]:
    try:
        return parse_rate(settings.THROTTLE_RATES[scope])
    except KeyError as error:
        raise ImproperlyConfigured(f"THROTTLE_RATES has no rate for {scope!r}.") from error


def client_ident(request) -> str:
    """The client's address; an IPv6 client by its /64, the block one subscriber usually holds."""
    address = parse_address(request.META.get("REMOTE_ADDR", ""))
    if address is None:
        return "unknown"
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def budget_for(request, user, *, writes: bool) -> Budget:
    """The budget a request spends from: its user's, by role and kind, or its address's if anonymous."""
    if user is not None and user.is_authenticated:
        return Budget(f"{user.role}_{'write' if writes else 'read'}", str(user.pk))
    return Budget(ANONYMOUS, client_ident(request))


def lease_size(requests: int) -> int:
    """How many of a budget's `requests` a process takes from its counter at once."""
    return max(1, min(100, requests // 100))


class _Leases:
    """What this process may still let through of each budget's current window, from its leases."""

    def __init__(self):
        self._lock = threading.Lock()
        self._left: dict[str, tuple[int, float]] = {}  # a counter's key: (requests, its window's end)

    def take(self, key: str) -> bool:
        with self._lock:
            lease = self._left.get(key)
            if lease is None or not lease[0]:
                return False
            self._left[key] = (lease[0] - 1, lease[1])
            return True

    def keep(self, key: str, requests: int, *, window_end: float) -> None:
        if not requests:
            return
        now = clock()
        with self._lock:
            # Leases of ended windows are dropped here, the only place that adds one.
            self._left = {k: lease for k, lease in self._left.items() if lease[1] > now}
            left = self._left.get(key, (0, window_end))[0]
            self._left[key] = (left + requests, window_end)


leases = _Leases()


def spend(budget: Budget) -> float | None:
    """Counts one request against `budget`: None while within it, else the seconds until it refills."""
    requests, seconds = rate_of(budget.scope)
    now = clock()
    window = int(now // seconds)
    window_end = (window + 1) * seconds
    # The window's number is in the key, so a counter expires only after its window has ended.
    key = f"throttle:{budget.scope}:{budget.ident}:{window}"
    if leases.take(key):
        return None
    lease = lease_size(requests)
    count = _count_in_redis(key, seconds, lease)
    if count is None:
        if budget.scope != LOGIN:
            return None
        lease, count = 1, _count_in_database(key, window_end=window_end)
    granted = min(lease, requests - (count - lease))  # what of this lease is within the budget
    if granted > 0:
        leases.keep(key, granted - 1, window_end=window_end)
        return None
    return window_end - now


def _count_in_redis(key: str, seconds: int, lease: int) -> int | None:
    """`lease` more at the counter `key` in Redis (None when it does not answer)."""
    if not read_cache.state.usable():
        return None
    try:
        return counters.increment([key], start=0, by=lease, timeout=seconds + 1)[0]
    except read_cache.CACHE_ERRORS as error:
        read_cache.state.failed(error)
        logger.warning("throttling skipped but for token requests: the cache is unavailable")
        return None


def _count_in_database(key: str, *, window_end: float) -> int:
    """One more at the counter `key` in the database; the counters of ended windows are deleted."""
    expires_at = datetime.fromtimestamp(window_end, tz=UTC)
    if not ThrottleCounter.objects.filter(pk=key).exists():
        ThrottleCounter.objects.filter(expires_at__lt=datetime.fromtimestamp(clock(), tz=UTC)).delete()
    return ThrottleCounter.increment(key, expires_at=expires_at)


class BudgetThrottle(BaseThrottle):
    """DRF's throttle over a request budget: which one a request spends from is for subclasses."""

    def budget(self, request, view) -> Budget:
        raise NotImplementedError

    def allow_request(self, request, view):
        self.seconds_to_wait = spend(self.budget(request, view))
        return self.seconds_to_wait is None

    def wait(self):
        # DRF rounds it up for Retry-After.
        return self.seconds_to_wait


class RoleRateThrottle(BudgetThrottle):
    """The API's default throttle: the user's budget for reads or for writes, at their role's rate."""

    def budget(self, request, view) -> Budget:
        return budget_for(request, request.user, writes=request.method in WRITE_METHODS)


class LoginRateThrottle(BudgetThrottle):
    """The token endpoint's throttle: a few attempts per client address, against password guessing."""

    def budget(self, request, view) -> Budget:
        return Budget(LOGIN, client_ident(request))

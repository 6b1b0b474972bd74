"""Request budgets per user, by role, counted in the default cache (docs/adr/0009-throttling.md).

Defence in depth behind the gateway's rate limits: every authenticated request spends from its
user's budget, whose rate depends on the user's role and on whether the request writes (POST, PUT,
PATCH, DELETE, a GraphQL mutation) or reads. Anonymous requests spend from their client address's
budget (REMOTE_ADDR, which core.proxies sets from the gateway's X-Forwarded-For), and token requests
from a stricter one, against password guessing.

A budget is a counter per fixed window (`120/min`: at most 120 requests from hh:mm:00 to hh:mm:59),
incremented atomically in the default cache (one round trip to Redis), so every thread, worker and
replica using the same Redis spends from the same budget. Over budget, DRF answers 429 `throttled`
with `Retry-After` (seconds until the window ends). Redis down: requests are let through rather
than refused, as the read caches skip Redis for a moment (store_infra.cache.state), and the gateway still
limits; but token requests, the guard against password guessing, are then counted in the database
(store_infra.models.ThrottleCounter), in the same windows.

The rates are read from settings.THROTTLE_RATES at each request, not bound at import as DRF's
SimpleRateThrottle does, so that they follow the environment (THROTTLE_RATES) and test overrides.
"""

import ipaddress
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache, caches
from django.core.exceptions import ImproperlyConfigured
from django_redis.cache import RedisCache
from rest_framework.throttling import BaseThrottle

from core import rates
from core.proxies import parse_address
from store_infra import cache as read_cache
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


def _counter(budget: Budget, now: float) -> tuple[str, int, int]:
    """The key of `budget`'s counter for the window holding `now`, the window, and its length."""
    seconds = rate_of(budget.scope)[1]
    window = int(now // seconds)
    # The window's number is in the key, so a counter expires only after its window has ended.
    return f"throttle:{budget.scope}:{budget.ident}:{window}", window, seconds


def spend(budget: Budget) -> float | None:
    """Counts one request against `budget`: None while within it, else the seconds until it refills."""
    requests = rate_of(budget.scope)[0]
    now = clock()
    key, window, seconds = _counter(budget, now)
    count = _count_in_redis(key, seconds)
    if count is None:
        if budget.scope != LOGIN:
            return None
        count = _count_in_database(key, window_end=(window + 1) * seconds)
    if count <= requests:
        return None
    return (window + 1) * seconds - now


def _count_in_redis(key: str, seconds: int) -> int | None:
    """One more at the counter `key` in Redis (None when it does not answer)."""
    if not read_cache.state.usable():
        return None
    try:
        return _count(key, timeout=seconds + 1)
    except read_cache.CACHE_ERRORS as error:
        read_cache.state.failed(error)
        logger.warning("throttling skipped but for token requests: the cache is unavailable")
        return None


def _count(key: str, timeout: int) -> int:
    """One more at the counter `key`, created to expire in `timeout` seconds; returns what it holds."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        # Created at 0 with its expiry if missing, then incremented, in one round trip (not a MULTI):
        # no counter is ever left without an expiry.
        redis_key = backend.make_key(key)
        pipeline = backend.client.get_client(write=True).pipeline(transaction=False)
        pipeline.set(redis_key, 0, ex=timeout, nx=True)
        pipeline.incr(redis_key)
        return pipeline.execute()[1]
    try:  # the in-process cache of the embedded setup
        return cache.incr(key)
    except ValueError:  # a new counter
        if cache.add(key, 1, timeout):
            return 1
        return cache.incr(key)


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

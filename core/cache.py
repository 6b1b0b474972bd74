"""Read caches that are never stale: versioned entries, versions bumped after commit.

Every cached read belongs to one or more namespaces ("stock", "sales", "auth"). Its entry is stored
with the versions of those namespaces read before it was computed, and served only while they are
current; a write bumps the versions of what it changed once its transaction has committed
(`invalidate`), so the next read misses and recomputes from the database. Bumping before commit
would let a reader cache the old rows again; bumping after means a reader that raced the write
can only have stored its result tagged with a version that is no longer current.

Versions start at the clock in nanoseconds, so a version key lost to eviction or a flush never
comes back with a number that old entries still carry. The TTL is only a safety net.

Redis down or slow: reads are computed from the database (the cache is skipped for a short while
instead of being waited on at every request), versions that could not be bumped are bumped as
soon as Redis answers again, and `/health/ready/` reports the cache as degraded.
"""

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

STOCK = "stock"
SALES = "sales"
AUTH = "auth"

# How long the cache is left alone after it failed, before it is tried again.
RETRY_AFTER_SECONDS = 1.0
# Errors a cache backend raises when its server is down or slow (none for the in-process cache).
CACHE_ERRORS = (RedisError, OSError)


@dataclass(frozen=True)
class CachedJSON:
    """A read result as the API sends it: JSON bytes and their ETag; `.data` for other doors."""

    body: bytes
    etag: str

    @cached_property
    def data(self):
        return json.loads(self.body)


class _CacheState:
    """Whether the cache may be used now, and the bumps owed to it, for this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._skip_until = 0.0
        self._owed: set[str] = set()

    def usable(self) -> bool:
        return time.monotonic() >= self._skip_until

    def failed(self, error: Exception) -> None:
        logger.warning("cache unavailable, reading from the database: %s", error)
        self._skip_until = time.monotonic() + RETRY_AFTER_SECONDS

    def owe(self, namespaces: Iterable[str]) -> None:
        with self._lock:
            self._owed.update(namespaces)

    def pay_owed(self, bump: Callable[[Iterable[str]], None]) -> None:
        """Bump what is owed; other threads wait meanwhile, so none reads a version still owed."""
        if not self._owed:
            return
        with self._lock:
            if self._owed:
                bump(self._owed)
                self._owed.clear()


state = _CacheState()


def _version_key(namespace: str) -> str:
    return f"version:{namespace}"


def _bump(namespaces: Iterable[str]) -> None:
    for namespace in namespaces:
        key = _version_key(namespace)
        try:
            cache.incr(key)
        except ValueError:  # no version yet (or it was evicted): any new number will do
            cache.add(key, time.time_ns(), timeout=None)


def invalidate(*namespaces: str) -> None:
    """Make the next read of these namespaces recompute, once the current transaction commits."""

    def bump():
        try:
            state.pay_owed(_bump)
            _bump(namespaces)
        except CACHE_ERRORS as error:
            state.owe(namespaces)
            state.failed(error)

    transaction.on_commit(bump)


def _read(namespaces: tuple[str, ...], entry_key: str) -> tuple[str, tuple | None]:
    """The current versions of `namespaces` and the entry under `entry_key`, in one round trip."""
    version_keys = [_version_key(namespace) for namespace in namespaces]
    found = cache.get_many([*version_keys, entry_key])
    for key in version_keys:
        if key not in found:
            cache.add(key, time.time_ns(), timeout=None)
            found[key] = cache.get(key)
    return ".".join(str(found[key]) for key in version_keys), found.get(entry_key)


def encode(data) -> CachedJSON:
    body = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    return CachedJSON(body=body, etag=f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"')


def cached_json(*, namespaces: tuple[str, ...], key: str, compute: Callable[[], object]) -> CachedJSON:
    """`compute()` encoded as JSON, from the cache while none of `namespaces` changed.

    An entry is stored with the versions read before it was computed and served only while they
    are still the current ones.
    """
    if not settings.READ_CACHE_ENABLED or not state.usable():
        return encode(compute())
    entry_key = f"read:{key}"
    try:
        state.pay_owed(_bump)
        versions, entry = _read(namespaces, entry_key)
    except CACHE_ERRORS as error:
        state.failed(error)
        return encode(compute())
    if entry is not None and entry[0] == versions:
        return CachedJSON(body=entry[1], etag=entry[2])
    result = encode(compute())
    try:
        cache.set(entry_key, (versions, result.body, result.etag), timeout=settings.READ_CACHE_TTL_SECONDS)
    except CACHE_ERRORS as error:
        state.failed(error)
    return result


def cache_status() -> str:
    """ "ok", or "degraded" when the cache does not answer (reads then come from the database)."""
    try:
        cache.set("health:probe", 1, timeout=10)
        answered = cache.get("health:probe") == 1
    except CACHE_ERRORS as error:
        state.failed(error)
        return "degraded"
    return "ok" if answered else "degraded"

"""Read caches that are never stale: versioned entries, versions bumped after commit.

Every cached read belongs to one or more namespaces ("stock", "sales", "auth"). Its entry is stored
with the versions of those namespaces read before it was computed, and served only while they are
current; a write bumps the versions of what it changed once its transaction has committed
(`invalidate`), so the next read misses and recomputes from the database. Bumping before commit
would let a reader cache the old rows again; bumping after means a reader that raced the write
can only have stored its result tagged with a version that is no longer current.

Versions start at the clock in nanoseconds, so a version key lost to eviction or a flush never
comes back with a number that old entries still carry. The TTL is only a safety net.

Each process also keeps the entries it last served, under the same versions: a read still asks
Redis for the current versions (a few bytes), but a large body (the stock report of 1,000 articles
is ~165 KB) is not transferred and unpickled again while they have not changed. Within one HTTP
request the versions of every namespace are read once, with its first cached read (the token's
user, usually): the request sees the caches as they were when it started, and its own writes
(bumped as they commit) are seen by its later reads.

Redis down or slow: reads are computed from the database (the cache is skipped for a short while
instead of being waited on at every request) and `/health/ready/` reports the cache as degraded.
A write's bumps then go to the database (store_infra.models.CacheBump), whose counts are part of every
version: each process reads them at most READ_CACHE_BUMPS_CHECK_SECONDS (1 s) apart, a query of
three rows, so a write made by a replica that cannot reach Redis is hidden from the others' reads
for that long at most, and from its own not at all, including the entries that replica finds in
Redis once it answers again.
"""

import hashlib
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction
from redis.exceptions import RedisError

from core.metrics import READ_CACHE_HITS, READ_CACHE_MISSES

from .models import CacheBump

logger = logging.getLogger(__name__)

STOCK = "stock"
SALES = "sales"
AUTH = "auth"
NAMESPACES = (STOCK, SALES, AUTH)

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
    """Whether the cache may be used now, for this process."""

    def __init__(self):
        self._skip_until = 0.0

    def usable(self) -> bool:
        return time.monotonic() >= self._skip_until

    def failed(self, error: Exception) -> None:
        logger.warning("cache unavailable, reading from the database: %s", error)
        self._skip_until = time.monotonic() + RETRY_AFTER_SECONDS


state = _CacheState()


class _DatabaseBumps:
    """The bumps made in the database by processes that could not reach Redis (store_infra.models.CacheBump),
    as this process last read them: at most READ_CACHE_BUMPS_CHECK_SECONDS ago (None: not read), and
    at once after a bump of its own."""

    def __init__(self):
        self._counts: dict[str, int] = {}
        self._read_at = -math.inf

    def current(self) -> dict[str, int]:
        every = settings.READ_CACHE_BUMPS_CHECK_SECONDS
        if every is None or time.monotonic() - self._read_at < every:
            return self._counts
        try:
            self._counts = dict(CacheBump.objects.values_list("namespace", "count"))
        except DatabaseError as error:  # no write can commit either: the counts read last still hold
            logger.warning("cache bumps not read from the database: %s", error)
        self._read_at = time.monotonic()
        return self._counts

    def bump(self, namespaces: Iterable[str]) -> None:
        for namespace in namespaces:
            CacheBump.increment(namespace)
        self._read_at = -math.inf


database_bumps = _DatabaseBumps()


class _LocalCopies:
    """The entries this process stored last, each with the versions it is valid for.

    A copy also expires with the read caches' TTL, the same safety net as the entries in Redis
    (a bump lost with the process that owed it).
    """

    def __init__(self, size: int):
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[str, float, CachedJSON]] = OrderedDict()

    def get(self, key: str, versions: str) -> CachedJSON | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != versions or entry[1] < time.monotonic():
            return None
        # A new instance per read: callers get their own `.data`, never one another's.
        return CachedJSON(body=entry[2].body, etag=entry[2].etag)

    def put(self, key: str, versions: str, result: CachedJSON) -> None:
        expires = time.monotonic() + settings.READ_CACHE_TTL_SECONDS
        with self._lock:
            self._entries[key] = (versions, expires, result)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


# Enough for every report variant and the tokens of the staff working at once.
local_copies = _LocalCopies(size=256)


def _version_key(namespace: str) -> str:
    return f"version:{namespace}"


# The versions read by the current HTTP request (None outside requests: every read asks Redis).
_request_versions: ContextVar[dict[str, str] | None] = ContextVar("request_versions", default=None)


def request_started(**kwargs) -> None:
    _request_versions.set({})


def request_finished(**kwargs) -> None:
    _request_versions.set(None)


def _bump(namespaces: Iterable[str]) -> None:
    for namespace in namespaces:
        key = _version_key(namespace)
        try:
            cache.incr(key)
        except ValueError:  # no version yet (or it was evicted): any new number will do
            cache.add(key, time.time_ns(), timeout=None)


def invalidate(*namespaces: str) -> None:
    """Make the next read of these namespaces recompute, once the current transaction commits.

    In Redis; where Redis does not answer, in the database, which every process reads within
    READ_CACHE_BUMPS_CHECK_SECONDS.
    """

    def bump():
        request_versions = _request_versions.get()
        if request_versions:
            request_versions.clear()
        if state.usable():
            try:
                _bump(namespaces)
                return
            except CACHE_ERRORS as error:
                state.failed(error)
        try:
            database_bumps.bump(namespaces)
        except DatabaseError:
            logger.exception(
                "bump of %s lost: other processes may serve reads older than this write for up to "
                "READ_CACHE_TTL_SECONDS",
                ", ".join(namespaces),
            )

    transaction.on_commit(bump)


def _read_versions(namespaces: Iterable[str], *, prefetch: Iterable[str] = ()) -> dict[str, str]:
    """The current versions of `namespaces` (created where missing) and of those of `prefetch` that
    exist, in one round trip to Redis; each with its count of bumps in the database."""
    keys = {namespace: _version_key(namespace) for namespace in (*namespaces, *prefetch)}
    found = cache.get_many(list(keys.values()))
    versions = {namespace: found[key] for namespace, key in keys.items() if key in found}
    for namespace in namespaces:
        if namespace not in versions:
            key = keys[namespace]
            cache.add(key, time.time_ns(), timeout=None)
            versions[namespace] = cache.get(key)
    bumps = database_bumps.current()
    return {namespace: f"{version}+{bumps.get(namespace, 0)}" for namespace, version in versions.items()}


def _versions(namespaces: tuple[str, ...]) -> str:
    request_versions = _request_versions.get()
    if request_versions is None:
        versions = _read_versions(namespaces)
    else:
        if not request_versions.keys() >= set(namespaces):
            request_versions.update(_read_versions(namespaces, prefetch=NAMESPACES))
        versions = request_versions
    return ".".join(versions[namespace] for namespace in namespaces)


def encode(data) -> CachedJSON:
    body = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    return CachedJSON(body=body, etag=f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"')


def cached_json(*, namespaces: tuple[str, ...], key: str, compute: Callable[[], object]) -> CachedJSON:
    """`compute()` encoded as JSON, from the cache while none of `namespaces` changed.

    An entry is stored with the versions read before it was computed and served only while they
    are still the current ones.
    """
    read_name = key.partition(":")[0]
    if not settings.READ_CACHE_ENABLED or not state.usable():
        READ_CACHE_MISSES.labels(read_name).inc()
        return encode(compute())
    entry_key = f"read:{key}"
    try:
        versions = _versions(namespaces)
        local = local_copies.get(entry_key, versions)
        if local is not None:
            READ_CACHE_HITS.labels(read_name).inc()
            return local
        entry = cache.get(entry_key)
    except CACHE_ERRORS as error:
        state.failed(error)
        READ_CACHE_MISSES.labels(read_name).inc()
        return encode(compute())
    if entry is not None and entry[0] == versions:
        READ_CACHE_HITS.labels(read_name).inc()
        result = CachedJSON(body=entry[1], etag=entry[2])
    else:
        READ_CACHE_MISSES.labels(read_name).inc()
        result = encode(compute())
        try:
            entry = (versions, result.body, result.etag)
            cache.set(entry_key, entry, timeout=settings.READ_CACHE_TTL_SECONDS)
        except CACHE_ERRORS as error:
            state.failed(error)
            return result
    local_copies.put(entry_key, versions, result)
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

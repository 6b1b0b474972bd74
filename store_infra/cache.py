"""Read caches that are never stale: each read declares the models it depends on, and every write to
one of those models makes it recompute once the write has committed.

Every model a cached read depends on (`CachedRead(name, depends_on=...)`) has a version in the cache.
An entry is stored with the versions of its models read before it was computed, and served only
while they are current. A model's version is bumped once the transaction that wrote it commits:
Django's `post_save` and `post_delete` signals say so for a row saved or deleted; bulk writes, which
send no signal (`bulk_create`, `QuerySet.update`, core.db's bulk helpers), call `changed(Model)`.
A writer thus says what it wrote, never which reads show it. Bumping before commit would let a
reader cache the old rows again; bumping after means a reader that raced the write can only have
stored its result tagged with a version that is no longer current.

Versions start at the clock in nanoseconds, so a version key lost to eviction or a flush never
comes back with a number that old entries still carry. The TTL is only a safety net.

A cached answer's ETag names the entry and those versions, not its bytes: replicas that computed
the same read under the same versions (each with its own `generated_at`) answer the same weak ETag,
so a client's revalidation is a 304 whichever replica it reaches, like Django's `condition()`
ETags made from the data's state.

Each process also keeps the entries it last served, under the same versions: a read still asks
Redis for the current versions (a few bytes), but a large body (a page of the stock report is
~18 KB) is not transferred and unpickled again while they have not changed. Within one HTTP request
the versions of every watched model are read once, with its first cached read (the token's user,
usually): the request sees the caches as they were when it started, and its own writes (bumped as
they commit) are seen by its later reads.

READ_CACHE_VERSIONS_MAX_AGE_MS (0 by default) lets a process's requests reuse the versions one of
them read for that long instead of asking Redis each time: a write of another process is then seen
up to that late, one of this process at once (ADR 0006, "The owner's option").

Redis down or slow: reads are computed from the database (the cache is skipped for a short while
instead of being waited on at every request) and `/health/ready/` reports the cache as degraded.
A write's bumps then go to the database (store_infra.models.CacheBump), whose counts are part of
every version: each process reads them at most READ_CACHE_BUMPS_CHECK_SECONDS (1 s) apart, a query
of a few rows, so a write made by a replica that cannot reach Redis is hidden from the others' reads
for that long at most, and from its own not at all, including the entries that replica finds in
Redis once it answers again.
"""

import hashlib
import json
import logging
import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save
from redis.exceptions import RedisError

from core.metrics import READ_CACHE_HITS, READ_CACHE_MISSES

from . import counters
from .models import CacheBump

logger = logging.getLogger(__name__)

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
            self._counts = dict(CacheBump.objects.values_list("model", "count"))
        except DatabaseError as error:  # no write can commit either: the counts read last still hold
            logger.warning("cache bumps not read from the database: %s", error)
        self._read_at = time.monotonic()
        return self._counts

    def bump(self, labels: Iterable[str]) -> None:
        for label in labels:
            CacheBump.increment(label)
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


class _Computations:
    """One computation of an entry at a time in this process: after a write, the threads that
    missed the entry together wait for the first one's result (its copy) instead of each running
    the same queries at once (at 100x the data, counting the orders for the list page takes ~150 ms).
    Reentrant: a computation that reads its own entry again waits for nobody."""

    def __init__(self):
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, threading.RLock] = weakref.WeakValueDictionary()

    def lock(self, key: str) -> threading.RLock:
        with self._guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = threading.RLock()
            return lock


computations = _Computations()


def _version_key(label: str) -> str:
    return f"version:{label}"


# The models some cached read depends on, by label: those whose writes bump a version.
_watched: set[str] = set()


def _row_written(sender, **kwargs) -> None:
    changed(sender)


def _watch(model: type[Model]) -> None:
    label = model._meta.label_lower
    if label not in _watched:
        _watched.add(label)
        post_save.connect(_row_written, sender=model, dispatch_uid=f"read-cache-saved:{label}")
        post_delete.connect(_row_written, sender=model, dispatch_uid=f"read-cache-deleted:{label}")


# The versions read by the current HTTP request (None outside requests: every read asks Redis).
_request_versions: ContextVar[dict[str, str] | None] = ContextVar("request_versions", default=None)


def request_started(**kwargs) -> None:
    _request_versions.set({})


def request_finished(**kwargs) -> None:
    _request_versions.set(None)


def changed(*models: type[Model]) -> None:
    """Make the reads that depend on these models recompute, once the current transaction commits.

    Called by the signals of a row saved or deleted, and by the services after a bulk write. A model
    no read depends on has no version to bump.
    """
    labels = {model._meta.label_lower for model in models} & _watched
    if labels:
        transaction.on_commit(lambda: _bump_versions(labels))


def _bump_versions(labels: set[str]) -> None:
    """In Redis; where Redis does not answer, in the database, which every process reads within
    READ_CACHE_BUMPS_CHECK_SECONDS."""
    request_versions = _request_versions.get()
    if request_versions:
        request_versions.clear()
    recent_versions.forget()
    if state.usable():
        try:
            _bump(labels)
            return
        except CACHE_ERRORS as error:
            state.failed(error)
    try:
        database_bumps.bump(labels)
    except DatabaseError:
        logger.exception(
            "bump of %s lost: other processes may serve reads older than this write for up to "
            "READ_CACHE_TTL_SECONDS",
            ", ".join(sorted(labels)),
        )


def _bump(labels: Iterable[str]) -> None:
    # A version missing (not made yet, or evicted) starts again at the clock: any new number will do.
    counters.increment([_version_key(label) for label in labels], start=time.time_ns(), timeout=None)


def _read_versions(labels: Iterable[str], *, prefetch: Iterable[str] = ()) -> dict[str, str]:
    """The current versions of `labels` (created where missing) and of those of `prefetch` that
    exist, in one round trip to Redis; each with its count of bumps in the database."""
    keys = {label: _version_key(label) for label in (*labels, *prefetch)}
    found = cache.get_many(list(keys.values()))
    versions = {label: found[key] for label, key in keys.items() if key in found}
    for label in labels:
        if label not in versions:
            key = keys[label]
            cache.add(key, time.time_ns(), timeout=None)
            versions[label] = cache.get(key)
    bumps = database_bumps.current()
    return {label: f"{version}+{bumps.get(label, 0)}" for label, version in versions.items()}


class _RecentVersions:
    """Every watched version as one request of this process read them, reused by the next requests
    for READ_CACHE_VERSIONS_MAX_AGE_MS (0, the default: never, every request asks Redis). A write of
    this process forgets them as it commits, so that only other processes' writes can be seen late,
    by that long at most."""

    def __init__(self):
        self._lock = threading.Lock()
        self._read: tuple[float, dict[str, str]] | None = None
        self._generation = 0  # one more at each forget: a read begun before it is not kept

    def get(self, labels: tuple[str, ...]) -> dict[str, str]:
        max_age = settings.READ_CACHE_VERSIONS_MAX_AGE_MS / 1000
        read, generation = self._read, self._generation
        if read is not None and time.monotonic() - read[0] < max_age and read[1].keys() >= set(labels):
            return read[1]
        versions = _read_versions(labels, prefetch=_watched)
        if max_age > 0:
            with self._lock:
                if generation == self._generation:
                    self._read = (time.monotonic(), versions)
        return versions

    def forget(self) -> None:
        with self._lock:
            self._read = None
            self._generation += 1


recent_versions = _RecentVersions()


def _versions(labels: tuple[str, ...]) -> str:
    request_versions = _request_versions.get()
    if request_versions is None:
        versions = _read_versions(labels)
    else:
        if not request_versions.keys() >= set(labels):
            request_versions.update(recent_versions.get(labels))
        versions = request_versions
    return ".".join(versions[label] for label in labels)


def _digest(value: bytes) -> str:
    return hashlib.blake2b(value, digest_size=16).hexdigest()


def _json(data) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def encode(data) -> CachedJSON:
    """An answer computed outside the cache: its ETag is the hash of its bytes."""
    body = _json(data)
    return CachedJSON(body=body, etag=f'"{_digest(body)}"')


class CachedRead:
    """A read kept in the cache until one of the models it depends on changes.

    Declared once, where the read is written (the apps' selectors, which store_infra's app imports
    at start-up so that every process bumps what they depend on): `get(key, compute)` answers
    `compute()` encoded as JSON, from the cache while none of `depends_on` changed; `key` tells its
    entries apart (a page, a filter).
    """

    def __init__(self, name: str, *, depends_on: Iterable[type[Model]]):
        self.name = name
        self.labels = tuple(sorted(model._meta.label_lower for model in depends_on))
        for model in depends_on:
            _watch(model)

    def get(self, key: str, compute: Callable[[], object]) -> CachedJSON:
        """An entry is stored with the versions read before it was computed and served only while
        they are still the current ones, under an ETag made of its key and those versions."""
        if not settings.READ_CACHE_ENABLED or not state.usable():
            READ_CACHE_MISSES.labels(self.name).inc()
            return encode(compute())
        entry_key = f"read:{self.name}:{key}"
        try:
            versions = _versions(self.labels)
            local = local_copies.get(entry_key, versions)
            if local is not None:
                READ_CACHE_HITS.labels(self.name).inc()
                return local
            entry = cache.get(entry_key)
        except CACHE_ERRORS as error:
            state.failed(error)
            READ_CACHE_MISSES.labels(self.name).inc()
            return encode(compute())
        etag = f'W/"{_digest(f"{entry_key}@{versions}".encode())}"'
        if entry is not None and entry[0] == versions:
            READ_CACHE_HITS.labels(self.name).inc()
            result = CachedJSON(body=entry[1], etag=etag)
            local_copies.put(entry_key, versions, result)
            return result
        with computations.lock(entry_key):
            local = local_copies.get(entry_key, versions)
            if local is not None:  # computed by another thread under the same versions meanwhile
                READ_CACHE_HITS.labels(self.name).inc()
                return local
            READ_CACHE_MISSES.labels(self.name).inc()
            result = CachedJSON(body=_json(compute()), etag=etag)
            try:
                cache.set(entry_key, (versions, result.body), timeout=settings.READ_CACHE_TTL_SECONDS)
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

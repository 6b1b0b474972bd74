"""Counters in the default cache: the read caches' versions (store_infra.cache) and the request
budgets (store_infra.throttling)."""

from django.core.cache import caches
from django_redis.cache import RedisCache


def increment(keys: list[str], *, start: int, by: int = 1, timeout: int | None) -> list[int]:
    """Counters of the default cache, each created at `start` (to expire in `timeout` seconds, None:
    never) if missing, then incremented `by`; their new values. In Redis, one round trip for them
    all, and no counter is ever left without its expiry."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        pipeline = backend.client.get_client(write=True).pipeline(transaction=False)
        for key in keys:
            redis_key = backend.make_key(key)
            pipeline.set(redis_key, start, ex=timeout, nx=True)
            pipeline.incr(redis_key, by)
        return pipeline.execute()[1::2]
    values = []
    for key in keys:  # the in-process cache of the embedded setup
        backend.add(key, start, timeout)
        values.append(backend.incr(key, by))
    return values

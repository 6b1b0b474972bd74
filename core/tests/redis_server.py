"""A real redis-server of the test's own, on a free local port, that the test may kill, pause or flush.

Used by the outage tests: the shared Redis of the suite must never be stopped, so these tests point
the cache at a server nobody else uses (see `cache_settings`).
"""

import tempfile
from pathlib import Path

import redis

from scripts.stack import free_port

from .processes import SupervisedProcess

REDIS_SERVER = "/usr/bin/redis-server"


class RedisServer(SupervisedProcess):
    """One redis-server process on `port`: no persistence, so a restart comes back empty."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        log = Path(tempfile.gettempdir()) / f"redis-test-{self.port}.log"
        super().__init__(name=f"redis {self.port}", command=command, ready=self._answers, log=log)

    def _answers(self) -> bool:
        try:
            return self.client().ping()
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)

    def cache_hits(self) -> int:
        return self.client().info("stats")["keyspace_hits"]

    def cache_settings(self, *, timeout: float = 0.5) -> dict:
        """CACHES pointing at this server, with the short timeouts of the real settings."""
        return {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": self.url,
                "KEY_PREFIX": "store",
                "OPTIONS": {
                    "CLIENT_CLASS": "django_redis.client.DefaultClient",
                    "SOCKET_CONNECT_TIMEOUT": timeout,
                    "SOCKET_TIMEOUT": timeout,
                },
            }
        }


# A port where nothing listens: the cache must be reported down, quickly, never waited for.
DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    }
}

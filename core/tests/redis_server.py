"""A real redis-server of the test's own, on a free local port, that the test may kill, pause or flush.

Used by the outage tests: the shared Redis of the suite must never be stopped, so these tests point
the cache at a server nobody else uses (see `cache_settings`).
"""

import os
import signal
import socket
import subprocess
import time

import redis

REDIS_SERVER = "/usr/bin/redis-server"
START_TIMEOUT = 5.0  # seconds for a started server to accept connections


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One redis-server process on `port`: no persistence, so a restart comes back empty."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.paused = False

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--loglevel", "warning"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if self.client().ping():
                    return
            except redis.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)

    def cache_hits(self) -> int:
        return self.client().info("stats")["keyspace_hits"]

    def kill(self) -> None:
        """Gone at once, as after a crash: connections are refused from now on."""
        if self.process is None:
            return
        if self.paused:
            self.resume()
        self.process.kill()
        self.process.wait(timeout=5)
        self.process = None

    stop = kill

    def pause(self) -> None:
        """Still accepting connections (the kernel does), but never answering: a hung server."""
        os.kill(self.process.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False

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

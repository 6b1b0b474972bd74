"""The stack under test: a fresh MariaDB database, a flushed Redis DB, and gunicorn serving the store.

Only the servers come from the environment (DATABASE_URL, REDIS_URL): the database `store_bench`
and Redis DB 9 are the benchmark's own, dropped and flushed at every run, so a benchmark never
touches the data of `make run` or of the tests.
"""

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import unquote, urlparse

import MySQLdb
import redis

from scripts.check_services import check_database, check_redis

from .load import HOST

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "var" / "bench"
DATABASE = "store_bench"
REDIS_DB = 9
# issue 7's "realistic store"; the stock report reads the 1,000 articles.
SEED = ("--articles", "1000", "--customers", "500", "--orders", "10000", "--seed", "1")
# Demo logins created by `manage.py seed`.
CLERK = {"username": "clerk", "password": "clerk-demo-pass"}
SUPPLIER = {"username": "supplier", "password": "supplier-demo-pass"}
READY_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]
    versions: dict[str, str]


def _reset_database(url: str) -> str:
    """Drop and re-create the benchmark's database; the server's version."""
    parts = urlparse(url)
    connection = MySQLdb.connect(
        host=parts.hostname or HOST,
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
    )
    try:
        cursor = connection.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
        cursor.execute(f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cursor.execute("SELECT VERSION()")
        return cursor.fetchone()[0]
    finally:
        connection.close()


def _reset_redis(url: str) -> str:
    """Flush the benchmark's Redis DB; the server's version."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    return client.info("server")["redis_version"]


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def prepare() -> Stack:
    """A migrated and seeded store in a fresh database, and the environment to serve it."""
    server = urlparse(os.environ.get("DATABASE_URL", "mysql://root@127.0.0.1:3306"))
    database_url = server._replace(path=f"/{DATABASE}").geturl()
    redis_url = urlparse(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))._replace(path=f"/{REDIS_DB}")
    redis_url = redis_url.geturl()
    for problem in (check_database(database_url), check_redis(redis_url)):
        if problem:
            raise SystemExit(f"bench: {problem}")
    versions = {
        "Python": sys.version.split()[0],
        "MariaDB": _reset_database(database_url),
        "Redis": _reset_redis(redis_url),
        "Django": version("django"),
        "gunicorn": version("gunicorn"),
    }
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "store_manager.settings.store",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        # The store refuses to start without the secrets it shares with payments (not served here).
        "PAYMENTS_SERVICE_TOKEN": secrets.token_urlsafe(32),
        "PAYMENTS_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": HOST,
    }
    print(f"bench: migrating and seeding {DATABASE} ({' '.join(SEED)})", flush=True)
    _manage(env, "migrate", "--noinput", "-v0")
    _manage(env, "seed", *SEED)
    return Stack(env, versions)


# A line of gunicorn's log telling of a failure: Django's `django.request` errors (the 5xx), gunicorn's
# own ([ERROR], [CRITICAL]: a worker timed out or died) and tracebacks.
_FAILURE_LINE = re.compile(r"\bERROR\b|\bCRITICAL\b|^Traceback", re.MULTILINE)


@dataclass(frozen=True)
class Server:
    port: int
    pid: int
    log: Path

    def request(self, method: str, path: str, *, token: str = "", body=None) -> tuple[int, bytes]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            connection.request(method, path, body and json.dumps(body), headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def token(self, credentials: dict[str, str] = CLERK) -> str:
        status, body = self.request("POST", "/api/v1/auth/token/", body=credentials)
        if status != 200:
            raise RuntimeError(f"no token for the demo {credentials['username']}: {status} {body[:200]!r}")
        return json.loads(body)["token"]

    def failure_lines(self) -> int:
        """Lines of its log so far that tell of a failure (a 5xx, a worker lost, a traceback)."""
        return len(_FAILURE_LINE.findall(self.log.read_text(errors="replace")))

    def cpu_seconds(self) -> float:
        """CPU time used so far by the gunicorn master and its workers (from /proc)."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process has gone
                continue
            if self.pid in (int(stat.parent.name), int(fields[1])):  # itself or its child
                ticks += int(fields[11]) + int(fields[12])  # utime + stime
        return ticks / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _wait_ready(server: Server, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}: see {log}")
        try:
            if server.request("GET", "/health/ready/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn was not ready after {READY_TIMEOUT_SECONDS} s: see {log}")


@contextmanager
def serve(
    stack: Stack, *, name: str, workers: int, threads: int, connections: int, cache: bool
) -> Iterator[Server]:
    """gunicorn serving the store on a free port until the block ends, however it ends.

    A gthread worker accepts connections as long as it holds fewer than `--worker-connections`
    (1,000 by default), and the clients all connect at the same instant and keep their connection:
    left to the default, one worker may take most of them and serve them on its one core while the
    other idles (seen: 15 of 16 connections on one worker; a whole scenario at 1.00 server cores).
    `connections` per worker, the clients divided by the workers, splits them evenly.

    It runs in its own session so that a Ctrl-C reaches only the benchmark, which stops it.
    """
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / f"gunicorn-{name}.log"
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "store_manager.wsgi:application"]
    command += ["--bind", f"{HOST}:{port}", "--workers", str(workers), "--threads", str(threads)]
    command += ["--worker-connections", str(connections)]
    env = {**stack.env, "READ_CACHE_ENABLED": "1" if cache else "0"}
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            server = Server(port, process.pid, log)
            _wait_ready(server, process, log)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

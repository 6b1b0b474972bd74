"""The stack under load: fresh MariaDB databases, a flushed Redis DB, gunicorn serving store and payments.

Only the servers come from the environment (DATABASE_URL, REDIS_URL): the databases `store_bench` and
`payments_bench` and Redis DB 9 are the benchmark's own, dropped and flushed at every run, so a
benchmark never touches the data of `make run` or of the tests.
"""

import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse

import redis

from scripts.services import check_database, check_redis, connect
from scripts.stack import HOST, ROOT, demo_logins, free_ports, manage
from scripts.supervisor import Program, ProgramFailed, Supervisor, http_ok

LOG_DIR = ROOT / "var" / "bench"
STORE_DATABASE = "store_bench"
PAYMENTS_DATABASE = "payments_bench"
REDIS_DB = 9
# issue 7's realistic store: 1,000 articles, 500 customers, 10,000 past orders (about 1 in 10 cancelled).
SEED = ("--articles", "1000", "--customers", "500", "--orders", "10000", "--seed", "1")
# Every throttling budget of the store (THROTTLE_RATES) is set to this: the bench measures the
# service, not its rate limits (each request still spends from its budget in Redis).
UNTHROTTLED_RATE = "1000000/s"
GUNICORN_CONFIG = ROOT / "gunicorn.conf.py"
READY_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Stack:
    store_env: dict[str, str]
    payments_env: dict[str, str]
    store_port: int
    payments_port: int
    versions: dict[str, str]
    # The demo staff's passwords, as `manage.py seed` made them (random: DEBUG is off).
    logins: dict[str, str]


def _server_url(variable: str, default: str, database: str | int) -> str:
    return urlparse(os.environ.get(variable, default))._replace(path=f"/{database}").geturl()


def _reset_database(url: str) -> str:
    """Drop and re-create the database of `url`; the server's version."""
    name = urlparse(url).path.lstrip("/")
    connection = connect(url)
    try:
        cursor = connection.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cursor.execute("SELECT VERSION()")
        return cursor.fetchone()[0]
    finally:
        connection.close()


def _reset_redis(url: str) -> str:
    """Flush the benchmark's Redis DB; the server's version."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    return client.info("server")["redis_version"]


def store_state(env: dict[str, str], *args: str) -> dict:
    """What `python -m scripts.bench.store_state ARGS` prints (JSON, its last line), run inside the
    store's Django."""
    done = subprocess.run(
        [sys.executable, "-m", "scripts.bench.store_state", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"bench: store_state {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wire_store(env: dict[str, str], payments_port: int) -> dict[str, str]:
    """The store's settings that follow from its code: the payments URL (its default, whether the
    service's root or its API root, moved to our port) and every throttling scope set very high."""
    defaults = store_state(
        {k: v for k, v in env.items() if k not in ("PAYMENTS_URL", "THROTTLE_RATES")}, "settings"
    )
    payments_url = urlparse(defaults["payments_url"])._replace(netloc=f"{HOST}:{payments_port}").geturl()
    wired = {"PAYMENTS_URL": payments_url}
    if defaults["throttle_scopes"]:
        wired["THROTTLE_RATES"] = ",".join(
            f"{scope}={UNTHROTTLED_RATE}" for scope in defaults["throttle_scopes"]
        )
    return wired


def prepare(*, payments: bool) -> Stack:
    """Migrated databases, the store seeded, and the environment of each service (not started yet)."""
    database_url = _server_url("DATABASE_URL", "mysql://root@127.0.0.1:3306", STORE_DATABASE)
    payments_database_url = _server_url("PAYMENTS_DATABASE_URL", database_url, PAYMENTS_DATABASE)
    redis_url = _server_url("REDIS_URL", "redis://127.0.0.1:6379", REDIS_DB)
    for problem in (check_database(database_url), check_redis(redis_url)):
        if problem:
            raise SystemExit(f"bench: {problem}")
    versions = {
        "Python": sys.version.split()[0],
        "Django": version("django"),
        "MariaDB": _reset_database(database_url),
        "Redis": _reset_redis(redis_url),
        "gunicorn": version("gunicorn"),
        "Locust": version("locust"),
    }
    store_port, payments_port = free_ports(2)
    shared = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PAYMENTS_SERVICE_TOKEN": secrets.token_urlsafe(32),
        "PAYMENTS_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": HOST,
    }
    store_env = {
        **shared,
        "DJANGO_SETTINGS_MODULE": "store_manager.settings.store",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
    }
    payments_env = {
        **shared,
        "DJANGO_SETTINGS_MODULE": "store_manager.settings.payments",
        "PAYMENTS_DATABASE_URL": payments_database_url,
        "PAYMENTS_PUBLIC_URL": f"http://{HOST}:{payments_port}/api/v1",  # the API root pay_urls start with
        "STORE_URL": f"http://{HOST}:{store_port}",
    }
    store_env |= _wire_store(store_env, payments_port)
    print(f"bench: migrating and seeding {STORE_DATABASE} ({' '.join(SEED)})", flush=True)
    manage(store_env, "migrate", "--noinput", "-v0")
    logins = demo_logins(manage(store_env, "seed", *SEED))
    if payments:
        _reset_database(payments_database_url)
        print(f"bench: migrating {PAYMENTS_DATABASE}", flush=True)
        manage(payments_env, "migrate", "--noinput", "-v0")
    return Stack(store_env, payments_env, store_port, payments_port, versions, logins)


def _process_tree(root: int) -> dict[int, list[str]]:
    """`root` and its children, each with the fields of its /proc/PID/stat after the command name."""
    tree = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process has gone
            continue
        pid = int(stat.parent.name)
        if root in (pid, int(fields[1])):
            tree[pid] = fields
    return tree


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by `pid` and its children (utime + stime, from /proc)."""
    ticks = sum(int(fields[11]) + int(fields[12]) for fields in _process_tree(pid).values())
    return ticks / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


def workers_rss_mib(master: int) -> float:
    """The resident memory of a gunicorn master's workers together (the master forks them and serves
    nothing)."""
    return sum(_rss_mib(pid) for pid in _process_tree(master) if pid != master)


# A line of gunicorn's log telling of a failure: Django's `django.request` errors (the 5xx), gunicorn's
# own ([ERROR], [CRITICAL]: a worker timed out or died) and tracebacks.
_FAILURE_LINE = re.compile(r"\bERROR\b|\bCRITICAL\b|^Traceback", re.MULTILINE)


@dataclass(frozen=True)
class Server:
    name: str
    # "store" or "payments", as its settings module says.
    service: str
    port: int
    pid: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def request(
        self, method: str, path: str, *, token: str = "", body=None, headers=None
    ) -> tuple[int, bytes]:
        sent = {"Accept": "application/json", "Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Token {token}"
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            connection.request(method, path, None if body is None else json.dumps(body), sent)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def token(self, username: str, password: str) -> str:
        credentials = {"username": username, "password": password}
        status, body = self.request("POST", "/api/v1/auth/token/", body=credentials)
        if status != 200:
            raise SystemExit(f"bench: no token for the demo {username}: {status} {body[:200]!r}")
        return json.loads(body)["token"]

    def failure_lines(self) -> int:
        """Lines of its log so far that tell of a failure (a 5xx, a worker lost, a traceback)."""
        return len(_FAILURE_LINE.findall(self.log.read_text(errors="replace")))


def gunicorn_command(*, port: int, workers: int, threads: int, connections: int) -> list[str]:
    """gunicorn on the repository's gunicorn.conf.py when there is one, these settings winning.

    A gthread worker accepts connections while it holds fewer than `--worker-connections` (1,000 by
    default), and Locust's users all connect at once and keep their connection: left to the default,
    one worker may take most of them and serve them on its one core while the other idles (seen: 15 of
    16 connections on one worker). `connections`, the users divided by the workers, splits them evenly.
    `--max-requests 0`: no worker is recycled, so its memory tells whether it leaks. No control socket:
    every gunicorn would otherwise open the same one (~/.gunicorn/gunicorn.ctl).
    """
    command = [sys.executable, "-m", "gunicorn", "store_manager.wsgi:application"]
    if GUNICORN_CONFIG.exists():
        command += ["-c", str(GUNICORN_CONFIG.relative_to(ROOT))]
    command += ["--bind", f"{HOST}:{port}", "--workers", str(workers), "--threads", str(threads)]
    return [*command, "--worker-connections", str(connections), "--max-requests", "0", "--no-control-socket"]


@contextmanager
def serve(
    env: dict[str, str], *, name: str, port: int, workers: int, threads: int, connections: int
) -> Iterator[Server]:
    """gunicorn serving `env`'s service on `port` until the block ends, however it ends: a program of
    the stack's supervisor (scripts/supervisor.py), in a process group of its own so that a Ctrl-C
    reaches only the benchmark, with a fresh directory for the Prometheus metrics its workers share."""
    log = LOG_DIR / f"gunicorn-{name}.log"
    log.unlink(missing_ok=True)
    command = gunicorn_command(port=port, workers=workers, threads=threads, connections=connections)
    with tempfile.TemporaryDirectory(prefix=f"bench-metrics-{name}-") as metrics:
        server_env = {
            **env,
            "PORT": str(port),
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
            "PROMETHEUS_MULTIPROC_DIR": metrics,
        }
        ready = http_ok(f"http://{HOST}:{port}/health/ready/")
        program = Program(
            name=f"gunicorn ({name})", command=command, env=server_env, log=log, ready=ready, cwd=ROOT
        )
        with Supervisor(report=lambda line: print(f"bench: {line}", flush=True)) as supervisor:
            try:
                supervisor.start(program, timeout=READY_TIMEOUT_SECONDS)
            except ProgramFailed as failed:
                raise SystemExit(f"bench: {failed}") from None
            service = env["DJANGO_SETTINGS_MODULE"].rsplit(".", 1)[-1]
            yield Server(name, service, port, program.process.pid, log)

"""Servers the fault tests start, break and restart: each a process group on a fixed local port.

A gunicorn master and its workers share a process group of their own, so that killing, pausing or
resuming the group reaches every worker at once, as a crash, a hung machine or a `kill -CONT` would.
The port stays the same across restarts: clients find the server where they left it.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import MySQLdb
from django.conf import settings
from django.db import connection

from scripts.stack import free_port
from scripts.supervisor import Program, Supervisor, http_ok

START_TIMEOUT = 30.0  # seconds for a server to answer its liveness probe
STOP_TIMEOUT = 10.0  # seconds for a graceful stop before the server is killed
# The store as it is deployed (gthread workers), small enough for the 2 cores the tests share.
STORE_GUNICORN = ["--workers", "2", "--threads", "4", "--graceful-timeout", "2"]


class SupervisedProcess:
    """A server command run as a program of scripts/supervisor.py (a process group of its own), ready
    when `ready` answers; the test may kill, pause, resume, stop and start it again."""

    def __init__(self, *, name: str, command: list[str], ready, env=None, log: Path | None = None):
        self._supervisor = Supervisor(report=lambda line: None)
        self._program = Program(
            name=name, command=command, env=env, log=log, ready=ready, cwd=Path(settings.BASE_DIR)
        )

    @property
    def process(self):
        return self._program.process

    def start(self) -> None:
        """Started and answering; ProgramFailed (a RuntimeError, with the end of the log) if not."""
        self._supervisor.start(self._program, timeout=START_TIMEOUT)

    def kill(self) -> None:
        """Gone at once with every process of its group, as after a crash: connections are refused
        from now on."""
        if self.process is not None:
            self._supervisor.kill(self._program.name)
            self.process.wait(timeout=STOP_TIMEOUT)

    def pause(self) -> None:
        """Every process stopped: the kernel still accepts connections, nothing ever answers them."""
        self._supervisor.pause(self._program.name)

    def resume(self) -> None:
        self._supervisor.resume(self._program.name)

    def stop(self) -> None:
        """SIGTERM (a paused group is resumed first), SIGKILL for what did not stop in time."""
        if self.process is not None:
            self._supervisor.stop(self._program.name)


class ServiceProcess(SupervisedProcess):
    """One HTTP server command listening on `port` of 127.0.0.1; its output goes to `log`."""

    def __init__(self, *, command: list[str], env: dict[str, str], port: int, log: Path):
        self.port = port
        self.log = log
        super().__init__(
            name=f"port {port}", command=command, env=env, log=log, ready=http_ok(f"{self.url}/health/")
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> set[int]:
        """The master's children: a worker that died and was replaced shows as a new pid."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid) for pid in children.split()}


def mysql_session(database: dict) -> MySQLdb.Connection:
    """A session of its own on a database of Django's settings, outside Django's connections."""
    return MySQLdb.connect(
        host=database["HOST"] or "127.0.0.1",
        port=int(database["PORT"] or 3306),
        user=database["USER"],
        password=database["PASSWORD"],
        database=database["NAME"],
    )


def gunicorn(port: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "store_manager.wsgi", "--bind", f"127.0.0.1:{port}", *options]


def store_environment(*, redis_url: str, payments_url: str, **variables: str) -> dict[str, str]:
    """The store's settings for a server process: the test database (what the test committed is
    there), the given Redis and payments service, the test secrets, persistent connections."""
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    host = f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 3306}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "store_manager.settings.test",
        "DATABASE_URL": f"mysql://{credentials}@{host}/{database['NAME']}",
        "REDIS_URL": redis_url,
        "PAYMENTS_URL": payments_url,
        "PAYMENTS_SERVICE_TOKEN": settings.PAYMENTS_SERVICE_TOKEN,
        "PAYMENTS_WEBHOOK_SECRET": settings.PAYMENTS_WEBHOOK_SECRET,
        "CONN_MAX_AGE": "60",
        "READ_CACHE_BUMPS_CHECK_SECONDS": "1",  # as in production (settings/test.py leaves it off)
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        **variables,
    }


@contextmanager
def running_store(
    env: dict[str, str], *, log_dir: Path, port: int | None = None, options: list[str] = STORE_GUNICORN
) -> Iterator[ServiceProcess]:
    """The store served by gunicorn on `port` (a free one by default), stopped at the end."""
    port = port or free_port()
    store = ServiceProcess(command=gunicorn(port, *options), env=env, port=port, log=log_dir / "store.log")
    store.start()
    try:
        yield store
    finally:
        store.stop()

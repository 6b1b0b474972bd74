"""MariaDB and Redis for the tests, the benchmarks and development, on this machine.

The servers are those DATABASE_URL, PAYMENTS_DATABASE_URL and REDIS_URL name (the tests' defaults when
unset). One that answers is used as it is. One on a loopback address that answers nothing is started
here: a throwaway process of ours, with its data and log under var/services/ (not the system's
server, whose packages `scripts/bootstrap.sh --servers` installs without starting them).

    python -m scripts.services start          start what is missing, then check every URL logs in
    python -m scripts.services stop           stop what `start` started
    python -m scripts.services status         what answers, and which servers are ours
    python -m scripts.services run -- CMD...  start what is missing, run CMD, stop what this run
                                              started (also when CMD fails or is interrupted)
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import MySQLdb
import redis

from scripts.supervisor import tcp_open

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / "var" / "services"
DEFAULT_URLS = {
    "DATABASE_URL": "mysql://root@127.0.0.1:3306/store_manager",
    "PAYMENTS_DATABASE_URL": "mysql://root@127.0.0.1:3306/payments",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
}
DEFAULT_PORTS = {"mariadb": 3306, "redis": 6379}
LOOPBACK = {"127.0.0.1", "::1"}
START_TIMEOUT = 60.0  # seconds for a started server to accept connections
STOP_TIMEOUT = 30.0  # seconds for a server to shut down cleanly before it is killed


def url_of(variable: str) -> str:
    return os.environ.get(variable) or DEFAULT_URLS[variable]


def answers(host: str, port: int) -> bool:
    return tcp_open(port, host)()


@dataclass(frozen=True)
class Server:
    """One server this script may start: which program, on which loopback port."""

    kind: str  # "mariadb" or "redis"
    host: str
    port: int
    urls: list[str] = field(default_factory=list, compare=False)
    state_dir: Path = field(default=STATE_DIR, compare=False)

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.port}"

    @property
    def directory(self) -> Path:
        return self.state_dir / self.name

    @property
    def pid_file(self) -> Path:
        return self.directory / "server.pid"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def pid(self) -> int | None:
        """The pid of our running server, if there is one (not a process that reused its pid)."""
        try:
            pid = int(self.pid_file.read_text())
            running = os.readlink(f"/proc/{pid}/exe")
        except (OSError, ValueError):
            return None
        program = shutil.which(self.command()[0])
        return pid if program and os.path.realpath(program) == running else None

    def command(self) -> list[str]:
        if self.kind == "redis":
            options = {
                "bind": self.host,
                "port": self.port,
                "dir": self.directory,
                # Throwaway: nothing is written to disk, a restart comes back empty.
                "save": "",
                "appendonly": "no",
                "daemonize": "no",
                "loglevel": "warning",
            }
            return [
                "redis-server",
                str(self.directory / "redis.conf"),
                *(part for name, value in options.items() for part in (f"--{name}", str(value))),
            ]
        options = {
            "no-defaults": None,
            "user": "root",
            "datadir": self.directory / "data",
            "bind-address": self.host,
            "port": self.port,
            "skip-name-resolve": None,
            # The socket's path must stay under the kernel's 108 bytes, wherever the clone is.
            "socket": Path(tempfile.gettempdir()) / f"store-manager-{self.name}.sock",
            "log-error": self.log,
            "character-set-server": "utf8mb4",
            "collation-server": "utf8mb4_unicode_ci",
            # Room for the concurrency tests' threads and gunicorn workers.
            "max-connections": 500,
            # A throwaway server: a crash may lose the last second of commits, nothing else changes.
            "innodb-flush-log-at-trx-commit": 2,
        }
        return [
            "mariadbd",
            *(f"--{name}" if value is None else f"--{name}={value}" for name, value in options.items()),
        ]

    def initialize(self) -> None:
        """The server's directory, and for MariaDB its system tables, unless they exist."""
        program = self.command()[0]
        if shutil.which(program) is None:
            raise SystemExit(
                f"services: {program} is not installed; `scripts/bootstrap.sh --servers` installs it"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.kind == "redis":
            self._write_redis_config()
        if self.kind == "mariadb" and not (self.directory / "data" / "mysql").is_dir():
            subprocess.run(
                [
                    "mariadb-install-db",
                    "--no-defaults",
                    "--user=root",
                    "--skip-test-db",
                    f"--datadir={self.directory / 'data'}",
                    # root@127.0.0.1 without a password, as the tests' URLs log in.
                    "--auth-root-authentication-method=normal",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def _write_redis_config(self) -> None:
        """The password the URLs carry, in a file only this user reads (not on a command line, which
        every user sees), read again by a restarted server."""
        passwords = {unquote(urlparse(url).password) for url in self.urls if urlparse(url).password}
        if len(passwords) > 1:
            raise SystemExit(f"services: the URLs of {self.name} disagree on its password")
        config = self.directory / "redis.conf"
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text("".join(f"requirepass {password}\n" for password in passwords))

    def provision(self) -> None:
        """On a MariaDB just started, the users its URLs log in as (every privilege: the server is
        ours) and the databases they name."""
        if self.kind != "mariadb":
            return
        for url in self.urls:
            parts = urlparse(url)
            user, password = unquote(parts.username or "root"), unquote(parts.password or "")
            connection = MySQLdb.connect(host=self.host, port=self.port, user="root")
            try:
                cursor = connection.cursor()
                if database := parts.path.lstrip("/"):
                    cursor.execute(
                        f"CREATE DATABASE IF NOT EXISTS `{database}` "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                    )
                for host in ("127.0.0.1", "::1"):
                    cursor.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password))
                    cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, password))
                    cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", (user, host))
            finally:
                connection.close()

    def start(self) -> None:
        """Starts the server as a process of its own, which outlives this script (`stop` ends it)."""
        self.initialize()
        with self.log.open("a") as output:
            process = subprocess.Popen(
                self.command(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(self.host, self.port):
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(
                    f"services: {self.name} did not start; its log:\n{self.log.read_text()[-3000:]}"
                )
            time.sleep(0.1)
        self.provision()
        print(f"services: started {self.name} on {self.host}:{self.port} (data and log in {self.directory})")

    def stop(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.pid() is not None and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.1)
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
        _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        print(f"services: stopped {self.name}")


def _reap(pid: int) -> None:
    """Collect the exit of a server this process started, so that it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def servers() -> list[Server]:
    """Every distinct server the URLs on MySQL/MariaDB or Redis name, with the URLs that name it."""
    found: dict[tuple[str, int], Server] = {}
    for variable in DEFAULT_URLS:
        url = url_of(variable)
        parts = urlparse(url)
        kind = {"mysql": "mariadb", "mariadb": "mariadb", "redis": "redis"}.get(parts.scheme)
        if kind is None:
            continue
        host = parts.hostname or "127.0.0.1"
        port = parts.port or DEFAULT_PORTS[kind]
        server = found.setdefault((host, port), Server(kind, host, port))
        server.urls.append(url)
    return list(found.values())


def ours() -> list[Server]:
    """The servers `start` started that still run, whatever the URLs say now."""
    running = []
    for pid_file in sorted(STATE_DIR.glob("*/server.pid")):
        kind, port = pid_file.parent.name.rsplit("-", 1)
        server = Server(kind, "127.0.0.1", int(port))
        if server.pid() is not None:
            running.append(server)
    return running


def start() -> list[Server]:
    """Start every server that answers nothing; the ones started."""
    started = []
    try:
        for server in servers():
            if answers(server.host, server.port):
                continue
            if server.host not in LOOPBACK:
                raise SystemExit(
                    f"services: nothing answers on {server.host}:{server.port}, and only servers on "
                    "this machine's loopback can be started here"
                )
            server.start()
            started.append(server)
        check()
    except BaseException:
        stop(started)
        raise
    return started


def connect(url: str, **options) -> MySQLdb.Connection:
    """A connection to the server of a mysql:// URL, as root without a password unless it says."""
    parts = urlparse(url)
    return MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        **options,
    )


def check_database(url: str, variable: str = "DATABASE_URL") -> str | None:
    parts = urlparse(url)
    if parts.scheme not in ("mysql", "mariadb"):
        return f"{variable} must point at MariaDB/MySQL for the tests, got {parts.scheme}://"
    try:
        connect(url, connect_timeout=3).close()
    except MySQLdb.Error as error:
        return f"MariaDB is not reachable at {parts.hostname}:{parts.port or 3306} ({error})"
    return None


def check_redis(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis is not reachable at {url} ({error})"
    return None


def check() -> None:
    """Every URL logs in, or the run stops here with what is wrong."""
    problems = [
        problem
        for problem in (
            check_database(url_of("DATABASE_URL")),
            check_database(url_of("PAYMENTS_DATABASE_URL"), "PAYMENTS_DATABASE_URL"),
            check_redis(url_of("REDIS_URL")),
        )
        if problem
    ]
    if problems:
        raise SystemExit(
            "\n".join(f"error: {problem}" for problem in problems)
            + "\nThe tests need MariaDB and Redis: point DATABASE_URL, PAYMENTS_DATABASE_URL and "
            "REDIS_URL at servers that let them in, or at free loopback ports for servers of their own."
        )


def stop(stopping: list[Server]) -> None:
    for server in stopping:
        server.stop()


def status() -> None:
    for server in servers():
        state = "answers" if answers(server.host, server.port) else "answers nothing"
        owner = f"ours (pid {server.pid()}, in {server.directory})" if server.pid() else "not started here"
        print(f"{server.name:14} {server.host}:{server.port:<6} {state}, {owner}")


def run(command: list[str]) -> int:
    # A SIGTERM (CI cancelling the job) stops the servers as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = start()
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130
    finally:
        stop(started)


def main(arguments: list[str]) -> int:
    # Debian installs mariadbd in /usr/sbin, which a user's PATH may lack.
    os.environ["PATH"] = f"{os.environ.get('PATH', '')}:/usr/sbin"
    match arguments:
        case ["start"]:
            start()
        case ["stop"]:
            stop(ours())
        case ["status"]:
            status()
        case ["run", "--", *command] if command:
            return run(command)
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

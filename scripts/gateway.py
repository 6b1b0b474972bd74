"""The KrakenD gateway outside its container: the binary the bootstrap builds, and krakend.json with
the backends at this machine's addresses.

krakend.json names the backends by their docker-compose.yml service names (`http://store:8000`,
`http://payments:8001`). `gateway_config` gives the same file with only those hosts replaced, so that
`make stack` and the gateway tests run the very routes, limits and timeouts the containers do.
"""

import json
from pathlib import Path

from scripts.supervisor import Program, http_ok

ROOT = Path(__file__).resolve().parents[1]
KRAKEND_JSON = ROOT / "krakend.json"
# Built by scripts/bootstrap.sh (--stack, --test) with `go install`, at the version it pins.
KRAKEND = ROOT / "var" / "tools" / "krakend-ce"
# Why the bootstrap could not build it, when it could not: what `go install` answered.
KRAKEND_BUILD_ERROR = ROOT / "var" / "tools" / "krakend-ce.error"

STORE_HOST = "http://store:8000"
PAYMENTS_HOST = "http://payments:8001"


def load_config() -> dict:
    return json.loads(KRAKEND_JSON.read_text())


def gateway_config(*, store: list[str], payments: list[str], rate_limits: bool = True) -> str:
    """krakend.json, with the store's backends at `store` (load-balanced in turn) and the payments
    service's at `payments`; nothing else changes, but for the benchmark of the gateway's own cost,
    which measures it without its rate limits (`rate_limits=False`)."""
    config = load_config()
    hosts = {STORE_HOST: store, PAYMENTS_HOST: payments}
    for endpoint in config["endpoints"]:
        if not rate_limits:
            endpoint["extra_config"].pop("qos/ratelimit/router")
        for backend in endpoint["backend"]:
            backend["host"] = [address for host in backend["host"] for address in hosts[host]]
    return json.dumps(config, indent=2)


def krakend_missing() -> str | None:
    """Why KrakenD cannot be run here, or None when it can."""
    if KRAKEND.exists():
        return None
    reason = KRAKEND_BUILD_ERROR.read_text().strip() if KRAKEND_BUILD_ERROR.exists() else "not built yet"
    return f"KrakenD is not installed at {KRAKEND} (`scripts/bootstrap.sh --stack` builds it): {reason}"


def krakend_program(config: Path, *, port: int, log: Path, env: dict[str, str]) -> Program:
    """KrakenD on 127.0.0.1:`port` with the configuration file `config`."""
    return Program(
        name="krakend",
        command=[str(KRAKEND), "run", "-c", str(config)],
        env={
            **env,
            # KrakenD's flexible configuration: the file's port and address, overridden for this run.
            "KRAKEND_PORT": str(port),
            "KRAKEND_LISTEN_IP": "127.0.0.1",
            "USAGE_DISABLE": "1",  # KrakenD CE reports usage to krakend.io unless told not to
        },
        log=log,
        ready=http_ok(f"http://127.0.0.1:{port}/__health"),
        cwd=ROOT,
    )

"""`make bench`, the gateway's own cost: the same requests straight to the store and through KrakenD,
measured with wrk (a low-overhead client: C, an event loop per thread) in interleaved rounds.

    .venv/bin/python -m scripts.bench.gateway [--seconds 8] [--rounds 3] [--output docs/benchmarks.md]

The topology is `make stack`'s (scripts/stack.py): two store replicas on one port and payments
under gunicorn, MariaDB, Redis, KrakenD with krakend.json's routes, timeouts and breakers; only its
rate limits are lifted, and the store's budgets too (THROTTLE_RATES), so that the figures are the
gateway's cost, not its limits. Orders call payments through the gateway either way, as deployed.
Each figure is also given as a ratio to the store's `/health/` in the same run.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import urllib.request
from dataclasses import dataclass

from scripts.stack import ROOT, Stack, StackPorts

from . import report
from .stack import UNTHROTTLED_RATE, store_state

STATE_DIR = ROOT / "var" / "bench" / "gateway-stack"
THREADS, CONNECTIONS = 2, 16
SEED = ("--articles", "1000", "--customers", "500", "--orders", "10000", "--seed", "1")
ARTICLES = 100  # the articles the orders take, each restocked beforehand so that none is refused
WAYS = ("direct", "gateway")


@dataclass(frozen=True)
class Request:
    name: str
    direct: str  # the path on the store's own port
    gateway: str  # the path on the gateway
    script: str  # wrk's Lua: what each request carries


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


def _authorization(token: str) -> str:
    return f'wrk.headers["Authorization"] = "Token {token}"\n'


# A new order on every request: its own Idempotency-Key, a random customer and article.
ORDERS_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local thread_id, counter = 0, 0
setup = function(thread) thread:set("tid", math.random(1, 1000000000)) end
init = function(args) thread_id = tid end
request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = string.format("bench-%d-%d-%d", os.time(), thread_id, counter)
  local body = string.format('{"customer": %d, "lines": [{"article": %d, "quantity": 1}]}',
    math.random(4, 503), articles[math.random(1, #articles)])
  return wrk.format(nil, nil, nil, body)
end
"""


def requests(token: str, articles: list[int]) -> list[Request]:
    orders = _authorization(token) + f"articles = {{{', '.join(map(str, articles))}}}\n" + ORDERS_LUA
    return [
        # The gateway does not route /health/ (the containers' probe): through it, KrakenD's own /__health.
        Request("health", "/health/", "/__health", ""),
        Request(
            "stock report, warm cache",
            "/api/v1/reports/stock/",
            "/store-api/reports/stock/",
            _authorization(token),
        ),
        Request("order creation", "/api/v1/orders/", "/store-api/orders/", orders),
    ]


def wrk(url: str, script: str, seconds: float) -> Result:
    lua = STATE_DIR / "wrk.lua"
    lua.write_text(script or "-- plain GETs\n")
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", "-s", str(lua), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def count(pattern: str) -> int:
        found = re.search(pattern, output)
        return sum(map(int, found.groups())) if found else 0

    def milliseconds(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)$", output, re.MULTILINE).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return Result(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50_ms=milliseconds("50"),
        p99_ms=milliseconds("99"),
        non_2xx=count(r"Non-2xx or 3xx responses: (\d+)"),
        socket_errors=count(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"),
    )


def _stocked_articles(stack: Stack, token: str) -> list[int]:
    """Articles without capacity, each given enough stock that no order of the bench is refused."""
    fixtures = store_state(stack.store_env(stack.ports.store), "fixtures", "--own", str(ARTICLES))
    articles = [row["id"] for row in fixtures["own_articles"]]
    for article in articles:
        restock = urllib.request.Request(
            f"http://127.0.0.1:{stack.ports.store}/api/v1/stocks/{article}/restock/",
            data=json.dumps({"quantity": 5000, "reference": "bench"}).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        urllib.request.urlopen(restock, timeout=30).close()
    return articles


def measure(seconds: float, rounds: int) -> dict[str, dict[str, list[Result]]]:
    """Each request, `rounds` times each way, direct then through the gateway."""
    # A fresh stack each time: the orders of a run would otherwise weigh on the next one.
    shutil.rmtree(STATE_DIR, ignore_errors=True)
    STATE_DIR.mkdir(parents=True)
    ports = StackPorts.free()
    stack = Stack(ports=ports, state_dir=STATE_DIR, log_level="WARNING", seed=SEED, gateway_rate_limits=False)
    scopes = store_state(stack.store_env(ports.store), "settings")["throttle_scopes"]
    stack.store_settings["THROTTLE_RATES"] = ",".join(f"{scope}={UNTHROTTLED_RATE}" for scope in scopes)
    results: dict[str, dict[str, list[Result]]] = {}
    with stack:
        token = stack.token("clerk")
        for request in requests(token, _stocked_articles(stack, token)):
            results[request.name] = {way: [] for way in WAYS}
            urls = {
                "direct": f"http://127.0.0.1:{ports.store}{request.direct}",
                "gateway": stack.gateway_url + request.gateway,
            }
            for round_number in range(1, rounds + 1):
                for way in WAYS:
                    print(f"bench: {request.name}, {way}, round {round_number} of {rounds}", flush=True)
                    results[request.name][way].append(wrk(urls[way], request.script, seconds))
    return results


def table(results: dict[str, dict[str, list[Result]]]) -> str:
    def median(runs: list[Result]) -> float:
        return statistics.median(run.requests_per_second for run in runs)

    health = median(results["health"]["direct"])
    header = ("request", "way", "req/s (median; each round)", "x /health/", "p50 ms", "p99 ms")
    rows = [(*header, "non-2xx", "socket errors", "gateway / direct")]
    for name, ways in results.items():
        for way, runs in ways.items():
            rows.append(
                (
                    name if way == "direct" else "",
                    way,
                    f"{median(runs):,.0f} ({', '.join(f'{run.requests_per_second:,.0f}' for run in runs)})",
                    f"{median(runs) / health:.2f}",
                    f"{statistics.median(run.p50_ms for run in runs):.1f}",
                    f"{statistics.median(run.p99_ms for run in runs):.1f}",
                    str(sum(run.non_2xx for run in runs)),
                    str(sum(run.socket_errors for run in runs)),
                    ""
                    if way == "direct" or name == "health"
                    else f"{median(runs) / median(ways['direct']):.2f}",
                )
            )
    return report.markdown_table(rows, text_columns=2)


def section(text: str, options: argparse.Namespace) -> tuple[str, str]:
    workers = max(1, len(os.sched_getaffinity(0)) // 2)  # the stack's GUNICORN_WORKERS for 2 replicas
    commit = report.git("rev-parse", "--short", "HEAD")
    changed = (
        " (with uncommitted changes)" if report.git("status", "--porcelain", "--untracked-files=no") else ""
    )
    command = (
        f".venv/bin/python -m scripts.bench.gateway --seconds {options.seconds:g} --rounds {options.rounds}"
    )
    lines = [
        f"<!-- bench:commit={commit}-gateway -->",
        f"## The gateway's cost, commit {commit}{changed}",
        "",
        f"- Machine: {report.machine()}",
        f"- Command: `{command}`",
        f"- Client: wrk, {THREADS} threads, {CONNECTIONS} connections; rounds interleaved, direct first",
        f"- Servers: `make stack`'s topology, 2 store replicas on one port ({workers} gunicorn worker(s) "
        "x 4 threads each), payments, a MariaDB per service, Redis, KrakenD with krakend.json and its "
        f"rate limits lifted; seeded with `manage.py seed {' '.join(SEED)}`",
        "- `health`: the store's `/health/` direct; through the gateway, KrakenD's own `/__health` (the "
        "gateway does not route `/health/`, the containers' probe): KrakenD alone, no ratio to the store",
        "",
        text,
    ]
    return f"{commit}-gateway", "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.gateway", description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="each wrk run (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, direct then gateway (default 3)")
    parser.add_argument("--output", default="docs/benchmarks.md", help="file to record in, '-' for none")
    options = parser.parse_args(argv)
    results = measure(options.seconds, options.rounds)
    text = table(results)
    print(f"\n{text}\n")
    if options.output != "-":
        report.record(ROOT / options.output, *section(text, options))
        print(f"bench: recorded in {options.output}")
    every = [run for ways in results.values() for runs in ways.values() for run in runs]
    return 1 if any(run.non_2xx or run.socket_errors for run in every) else 0


if __name__ == "__main__":
    sys.exit(main())

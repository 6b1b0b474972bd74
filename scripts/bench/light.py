"""`make bench` with a light client: wrk (C, an event loop per thread, little CPU per request) on
the requests issue 15 sets targets for, judged as ratios to `/health/` in the same run, and the
gateway's own cost: a few of the same requests straight to the store and through KrakenD. Each
round runs every request once, `/health/` first: the machine's speed drifts over minutes, and both
sides of a ratio must see the same drift.

    .venv/bin/python -m scripts.bench.light [--seconds 8] [--rounds 3] [--scale] [--output docs/benchmarks.md]

After the closed-loop orders, orders are offered open-loop at half their rate (scripts/bench/open_loop.py).
The store's workers' memory is read after every round. `--scale` measures the same requests again
(direct only) on 100 times the data: 100,000 articles and 1,000,000 orders, seeded by `manage.py seed`
into var/bench/scale-stack/ the first time (minutes) and reused after; it judges the growth targets.

The topology is `make stack`'s (scripts/stack.py): two store replicas on one port and payments
under gunicorn, MariaDB, Redis, KrakenD with krakend.json's routes, timeouts and breakers; only its
rate limits are lifted, and the store's budgets too (THROTTLE_RATES), so that the figures are the
store's and the gateway's cost, not their limits. Orders call payments through the gateway either
way, as deployed; after them the store's invariants are checked (stock within its limits and
explained by its ledger, each order's stock taken once). Where KrakenD could not be built, the
stack has no gateway: every request is measured direct only, orders call payments directly, and
the recorded run says so.
"""

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from scripts.gateway import krakend_missing
from scripts.stack import ROOT, Stack, StackPorts

from . import report
from .light_judging import Measured, Result, growth_verdicts, median, table, verdicts
from .open_loop import offer_orders
from .stack import SEED, UNTHROTTLED_RATE, store_state, workers_rss_mib

STATE_DIR = ROOT / "var" / "bench" / "gateway-stack"
SCALE_DIR = ROOT / "var" / "bench" / "scale-stack"  # seeded once, kept for the next runs
THREADS, CONNECTIONS = 2, 16
SCALED_SEED = ("--articles", "100000", "--customers", "50000", "--orders", "1000000", "--seed", "1")
VERSIONS_MAX_AGE = os.environ.get("READ_CACHE_VERSIONS_MAX_AGE_MS", "")
CUSTOMERS = range(4, 504)  # the seeded customers' ids (after the three demo staff): in both data sets
ARTICLES = 100  # the articles the orders take, each restocked beforehand so that none is refused
WAYS = ("direct", "gateway")
SERVER_PORTS = "server-ports.json"


@dataclass(frozen=True)
class Request:
    name: str
    direct: str  # the path on the store's own port
    gateway: str | None  # the path on the gateway; None: measured direct only
    script: str  # wrk's Lua: what each request carries

    @property
    def ways(self) -> tuple[str, ...]:
        return WAYS if self.gateway else WAYS[:1]


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
    math.random(first_customer, last_customer), articles[math.random(1, #articles)])
  return wrk.format(nil, nil, nil, body)
end
"""


# One of the articles at random on every request.
ARTICLE_LUA = """
request = function()
  return wrk.format(nil, string.format("/api/v1/articles/%d/", articles[math.random(1, #articles)]))
end
"""


def requests(token: str, articles: list[int], report_etag: Callable[[], str]) -> Iterator[Request]:
    """A round's requests, each made when its turn comes: the 304's `If-None-Match` is the report's
    ETag at that moment (the last orders of the round before may commit after wrk stops)."""
    authorized = f'wrk.headers["Authorization"] = "Token {token}"\n'
    some_articles = f"articles = {{{', '.join(map(str, articles))}}}\n"
    customers = f"first_customer, last_customer = {CUSTOMERS[0]}, {CUSTOMERS[-1]}\n"
    # The gateway does not route /health/ (the containers' probe): through it, KrakenD's own /__health.
    yield Request("health", "/health/", "/__health", "")
    yield Request(
        "stock report, warm cache", "/api/v1/reports/stock/", "/store-api/reports/stock/", authorized
    )
    revalidation = authorized + f"wrk.headers[\"If-None-Match\"] = '{report_etag()}'\n"
    yield Request("stock report, 304 revalidation", "/api/v1/reports/stock/", None, revalidation)
    yield Request("article detail", "/api/v1/articles/", None, authorized + some_articles + ARTICLE_LUA)
    yield Request("order list page", "/api/v1/orders/", None, authorized)
    yield Request("article list page", "/api/v1/articles/", None, authorized)
    yield Request(
        "order creation",
        "/api/v1/orders/",
        "/store-api/orders/",
        authorized + some_articles + customers + ORDERS_LUA,
    )


def _report_etag(stack: Stack, token: str) -> str:
    """The stock report's ETag now."""
    report = urllib.request.Request(
        f"http://127.0.0.1:{stack.ports.store}/api/v1/reports/stock/",
        headers={"Authorization": f"Token {token}"},
    )
    with urllib.request.urlopen(report, timeout=30) as answer:
        return answer.headers["ETag"]


def wrk(url: str, script: str, seconds: float) -> Result:
    lua = STATE_DIR / "wrk.lua"
    lua.write_text(script or "-- plain GETs\n")
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", "-s", str(lua), url]
    return parsed(subprocess.run(command, capture_output=True, text=True, check=True).stdout, url)


def parsed(output: str, url: str) -> Result:
    """wrk's `--latency` report as a Result."""

    def count(pattern: str) -> int:
        found = re.search(pattern, output)
        return sum(map(int, found.groups())) if found else 0

    def milliseconds(percent: str) -> float:
        found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if found is None:
            raise SystemExit(f"bench: wrk gave no {percent}% latency for {url}:\n{output}")
        return float(found[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[found[2]]

    def transfer_per_second() -> float:
        value, unit = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", output).groups()
        return float(value) * {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30}[unit]

    requests_per_second = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return Result(
        requests_per_second=requests_per_second,
        p50_ms=milliseconds("50"),
        p99_ms=milliseconds("99"),
        non_2xx=count(r"Non-2xx or 3xx responses: (\d+)"),
        socket_errors=count(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"),
        bytes_per_answer=transfer_per_second() / requests_per_second if requests_per_second else 0.0,
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


def _store_rss_mib(stack: Stack) -> float:
    return sum(
        workers_rss_mib(program.process.pid)
        for name, program in stack.supervisor.programs.items()
        if name.startswith("store-") and program.process is not None
    )


def kept_server_ports(state_dir: Path) -> StackPorts:
    """Free ports for the stack, but the database and cache servers' of an earlier run in `state_dir`:
    their data is kept under folders named by port, so the scaled data set is found again."""
    saved = state_dir / SERVER_PORTS
    if saved.exists():
        return StackPorts.free(**json.loads(saved.read_text()))
    ports = StackPorts.free()
    servers = {name: getattr(ports, name) for name in ("store_db", "payments_db", "redis")}
    saved.write_text(json.dumps(servers))
    return ports


def measure(seconds: float, rounds: int, *, scaled: bool = False, gateway: bool = True) -> Measured:
    """Each request, `rounds` times each of its ways (direct, then through the gateway; direct only on
    the scaled data or without a gateway); the open-loop orders; and the store's invariants after the
    orders."""
    if scaled:
        state_dir, seed, ways = SCALE_DIR, SCALED_SEED, WAYS[:1]
        if not (SCALE_DIR / SERVER_PORTS).exists():
            print(f"bench: seeding {' '.join(SCALED_SEED)} into {SCALE_DIR} (once; minutes)", flush=True)
    else:
        # A fresh stack each time: the orders of a run would otherwise weigh on the next one.
        state_dir, seed, ways = STATE_DIR, SEED, WAYS if gateway else WAYS[:1]
        shutil.rmtree(STATE_DIR, ignore_errors=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = kept_server_ports(state_dir)
    stack = Stack(
        ports=ports,
        state_dir=state_dir,
        log_level="WARNING",
        seed=seed,
        gateway=gateway,
        gateway_rate_limits=False,
    )
    scopes = store_state(stack.store_env(ports.store), "settings")["throttle_scopes"]
    stack.store_settings["THROTTLE_RATES"] = ",".join(f"{scope}={UNTHROTTLED_RATE}" for scope in scopes)
    if VERSIONS_MAX_AGE:  # the owner's option of ADR 0006, measured when asked for
        stack.store_settings["READ_CACHE_VERSIONS_MAX_AGE_MS"] = VERSIONS_MAX_AGE
    results: dict[str, dict[str, list[Result]]] = {}
    with stack:
        token = stack.token("clerk")
        articles = _stocked_articles(stack, token)
        last_order = store_state(stack.store_env(ports.store), "last-order")["id"]
        # Every request in every round, /health/ first: the machine's speed drifts over minutes, and
        # a ratio is only fair between figures taken close together.
        for round_number in range(1, rounds + 1):
            for request in requests(token, articles, lambda: _report_etag(stack, token)):
                urls = {
                    "direct": f"http://127.0.0.1:{ports.store}{request.direct}",
                    "gateway": f"{stack.gateway_url}{request.gateway}",
                }
                for way in (way for way in request.ways if way in ways):
                    print(f"bench: {request.name}, {way}, round {round_number} of {rounds}", flush=True)
                    result = wrk(urls[way], request.script, seconds)
                    results.setdefault(request.name, {}).setdefault(way, []).append(
                        dataclasses.replace(result, store_rss_mib=_store_rss_mib(stack))
                    )
        rate = median(results["order creation"]["direct"]) / 2
        print(f"bench: orders offered open-loop at {rate:.0f}/s", flush=True)
        open_loop = offer_orders(
            host="127.0.0.1",
            port=ports.store,
            token=token,
            articles=articles,
            customers=CUSTOMERS,
            rate=rate,
            seconds=max(10.0, 2 * seconds),
        )
        print("bench: checking the store's invariants", flush=True)
        invariants = store_state(stack.store_env(ports.store), "check", "--since", str(last_order))
    return Measured(results, invariants, open_loop)


def section(
    text: str, judged: list[str], options: argparse.Namespace, *, no_gateway: str | None
) -> tuple[str, str]:
    """The run's section of docs/benchmarks.md; `no_gateway`: why the stack had no gateway, if so."""
    workers = max(1, len(os.sched_getaffinity(0)) // 2)  # the stack's GUNICORN_WORKERS for 2 replicas
    commit = report.git("rev-parse", "--short", "HEAD")
    changed = (
        " (with uncommitted changes)" if report.git("status", "--porcelain", "--untracked-files=no") else ""
    )
    command = (
        (f"READ_CACHE_VERSIONS_MAX_AGE_MS={VERSIONS_MAX_AGE} " if VERSIONS_MAX_AGE else "")
        + f".venv/bin/python -m scripts.bench.light --seconds {options.seconds:g} --rounds {options.rounds}"
        + (" --scale" if options.scale else "")
    )
    key = f"{commit}-light" + (f"-versions-max-age-{VERSIONS_MAX_AGE}" if VERSIONS_MAX_AGE else "")
    lines = [
        f"<!-- bench:commit={key} -->",
        f"## Light client (wrk) and the gateway's cost, commit {commit}{changed}"
        + (f", versions reused for {VERSIONS_MAX_AGE} ms" if VERSIONS_MAX_AGE else ""),
        "",
        f"- Machine: {report.machine()}",
        f"- Command: `{command}`",
        f"- Client: wrk, {THREADS} threads, {CONNECTIONS} connections; every request in each round "
        "(`/health/` first, the orders last), direct then through the gateway; "
        "then orders offered open-loop at half the closed-loop rate (scripts/bench/open_loop.py, latency "
        "counted from each order's due time)",
        f"- Servers: `make stack`'s topology, 2 store replicas on one port ({workers} gunicorn worker(s) "
        "x 4 threads each), payments, a MariaDB per service, Redis, KrakenD with krakend.json and its "
        f"rate limits lifted; seeded with `manage.py seed {' '.join(SEED)}`"
        + (f"; the scaled run with `manage.py seed {' '.join(SCALED_SEED)}`" if options.scale else ""),
        "- `health`: the store's `/health/` direct; through the gateway, KrakenD's own `/__health` (the "
        "gateway does not route `/health/`, the containers' probe): KrakenD alone, no ratio to the store",
        *(
            [
                f"- **No gateway in this run**: {' '.join(no_gateway.split())}. Every request direct "
                "only, and the store called payments directly, not through KrakenD"
            ]
            if no_gateway
            else []
        ),
        "- `stock report, 304 revalidation`: the report's GET with the `If-None-Match` of its current ETag; "
        "`article detail`: one of 100 articles at random; the list pages and the report: their first "
        "page, default size; `bytes`: per answer, headers included; `store RSS MiB`: both replicas' "
        "workers after each round",
        "",
        text,
        "",
        "Targets (issue 15), on the direct figures:",
        "",
        *[f"- {line}" if not line.startswith("  ") else line for line in judged],
    ]
    return key, "\n".join(lines) + "\n"


def _failed(measured: Measured) -> bool:
    every = [run for ways in measured.results.values() for runs in ways.values() for run in runs]
    return any(run.non_2xx or run.socket_errors for run in every) or bool(measured.invariants["problems"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench.light", description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="each wrk run (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, direct then gateway (default 3)")
    parser.add_argument(
        "--scale", action="store_true", help="measure again on 100x the data and judge growth"
    )
    parser.add_argument("--output", default="docs/benchmarks.md", help="file to record in, '-' for none")
    options = parser.parse_args(argv)
    no_gateway = krakend_missing()
    if no_gateway:
        print(f"bench: measuring without the gateway: {no_gateway}", flush=True)
    gateway = no_gateway is None
    measured = [measure(options.seconds, options.rounds, gateway=gateway)]
    text, judged = table(measured[0].results), verdicts(measured[0])
    if options.scale:
        measured.append(measure(options.seconds, options.rounds, scaled=True, gateway=gateway))
        text += "\n\nOn 100x the data (direct):\n\n" + table(measured[1].results)
        judged += [f"At 100x the data: {line}" for line in verdicts(measured[1])]
        judged += growth_verdicts(*measured)
    print(f"\n{text}\n")
    print("\n".join(judged))
    if options.output != "-":
        report.record(ROOT / options.output, *section(text, judged, options, no_gateway=no_gateway))
        print(f"bench: recorded in {options.output}")
    # A missed target is reported; a failed request or a broken invariant fails the command.
    return 1 if any(_failed(m) for m in measured) else 0


if __name__ == "__main__":
    sys.exit(main())

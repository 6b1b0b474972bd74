"""Run the benchmark: `.venv/bin/python -m scripts.bench --help` (every option has a BENCH_* variable)."""

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from . import checks, report
from .load import LoadGenerator, Result, Scenario
from .scenarios import (
    REPORT,
    cache_disabled,
    cold_cache,
    graphql_stock,
    health,
    rest_stock,
    supplier,
    warm_cache,
)
from .stack import ROOT, SEED, SUPPLIER, Server, prepare, serve


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__)

    def option(name: str, kind, default, help: str) -> None:
        variable = f"BENCH_{name.upper()}"
        parser.add_argument(
            f"--{name}",
            type=kind,
            default=kind(os.environ.get(variable, default)),
            help=f"{help} ({variable}, default {default})",
        )

    option("seconds", float, 10, "recorded seconds per scenario")
    option("warmup", float, 2, "unrecorded seconds before each scenario")
    option("clients", int, 16, "concurrent clients, each on its own keep-alive connection")
    option("processes", int, 4, "client processes the clients are spread over")
    option("workers", int, 2, "gunicorn worker processes")
    option("threads", int, 4, "threads per gunicorn worker (the gthread worker when more than 1)")
    option("output", str, "docs/benchmarks.md", "file the run is recorded in, '-' for none")
    return parser.parse_args(argv)


def _command(options: argparse.Namespace) -> str:
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    flags = " ".join(f"--{name} {value:g}" for name, value in vars(options).items() if name != "output")
    return f"{python} -m scripts.bench {flags}"


def _uncapped_articles(server: Server, token: str, count: int) -> list[dict]:
    """Report rows of articles without a capacity, for the restocks (reading the report primes the cache)."""
    status, body = server.request("GET", REPORT, token=token)
    if status != 200:
        raise RuntimeError(f"the stock report answered {status}: {body[:200]!r}")
    return [row for row in json.loads(body)["articles"] if row["max_quantity"] is None][:count]


def _check(server: Server, scenarios: list[Scenario]) -> None:
    """Every request of `scenarios` answered once without an error, or the run stops here."""
    problems = checks.answers(server.port, scenarios)
    if problems:
        raise SystemExit("bench: a request fails before the load:\n  " + "\n  ".join(problems))


def _run(load: LoadGenerator, scenario: Scenario, server: Server) -> Result:
    print(f"bench: {scenario.title}: {load.warmup:g} s warm-up, then {load.seconds:g} s", flush=True)
    return load.run(scenario, server)


def _connections_per_worker(options: argparse.Namespace) -> int:
    """The clients split evenly over the workers (see stack.serve)."""
    return max(options.threads, -(-options.clients // options.workers))


def _record(options: argparse.Namespace, stack, results: list[Result], log_failures: int) -> None:
    worker = "gthread" if options.threads > 1 else "sync"
    commit, text = report.section(
        results,
        versions=stack.versions,
        server=(
            f"gunicorn {worker}, {options.workers} workers x {options.threads} threads "
            f"(at most {_connections_per_worker(options)} connections each), DEBUG off, "
            f"CONN_MAX_AGE {stack.env.get('CONN_MAX_AGE', '60')}; "
            f"seeded with `manage.py seed {' '.join(SEED)}`"
        ),
        load=(
            f"{options.clients} clients on keep-alive HTTP/1.1 connections ({options.processes} processes), "
            f"{options.warmup:g} s warm-up, then {options.seconds:g} s recorded per scenario"
        ),
        command=_command(options),
        log_failures=log_failures,
    )
    report.record(ROOT / options.output, commit, text)
    print(f"bench: recorded in {options.output}")


def _stop(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the blocks that stop gunicorn


def main(argv: list[str] | None = None) -> int:
    options = _options(argv)
    signal.signal(signal.SIGTERM, _stop)
    stack = prepare()
    gunicorn = {
        "workers": options.workers,
        "threads": options.threads,
        "connections": _connections_per_worker(options),
    }
    load = LoadGenerator(options.clients, options.processes, options.warmup, options.seconds)
    with serve(stack, name="cache", cache=True, **gunicorn) as server:
        token = server.token()
        supplier_token = server.token(SUPPLIER)
        articles = _uncapped_articles(server, token, options.clients)
        rest = rest_stock(supplier_token)
        # The REST-vs-GraphQL pair runs before the supplier's restocks change the quantities.
        scenarios = [
            health(),
            warm_cache(token),
            cold_cache(token, [row["article_id"] for row in articles]),
            rest,
            graphql_stock(supplier_token),
            supplier(supplier_token, [row["sku"] for row in articles]),
        ]
        _check(server, scenarios)
        if problem := checks.same_stock(server.port, rest.headers):
            raise SystemExit(f"bench: {problem}")
        results = [_run(load, scenario, server) for scenario in scenarios]
        log_failures = server.failure_lines()
    with serve(stack, name="no-cache", cache=False, **gunicorn) as server:
        _check(server, [cache_disabled(token)])
        results.append(_run(load, cache_disabled(token), server))
        log_failures += server.failure_lines()
    # The scenarios of the targets first, as before the supplier's were added.
    results.insert(3, results.pop())

    print(f"\n{report.table(results)}\n")
    print("\n".join(report.verdicts(results, log_failures)))
    print(f"\n{report.comparison(results)}\n")
    if options.output != "-":
        _record(options, stack, results, log_failures)
    passed, line = report.failure_check(results, log_failures)
    if not passed:
        print(f"bench: {line}; gunicorn's logs are in var/bench/", file=sys.stderr)
    return 0 if passed else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("bench: interrupted")

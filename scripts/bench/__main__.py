"""Run the benchmark: `.venv/bin/python -m scripts.bench --help` (every option has a BENCH_* variable)."""

import argparse
import json
import math
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path

from . import chart, checks, report, runner, targets
from .scenarios import (
    DELIVERY_EVERY_SECONDS,
    DELIVERY_UNITS,
    Scenario,
    scenarios,
    select,
)
from .stack import (
    GUNICORN_CONFIG,
    LOG_DIR,
    ROOT,
    SEED,
    UNTHROTTLED_RATE,
    Server,
    Stack,
    prepare,
    serve,
    store_state,
)


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__)

    def option(name: str, kind, default, help: str) -> None:
        variable = f"BENCH_{name.upper()}"
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            type=kind,
            default=kind(os.environ.get(variable, default)),
            help=f"{help} ({variable}, default {default})",
        )

    option("seconds", float, 10, "recorded seconds of each run")
    option("warmup", float, 1, "unrecorded seconds at the start of each run, once every user is started")
    option("runs", int, 3, "runs of each scenario on the same server (memory: run 2 against run 3)")
    option("clients", int, 16, "Locust users of each scenario but the storm")
    option("storm_users", int, 32, "clerks placing orders in the storm (plus one supplier delivering)")
    option("storm_think", float, 1.0, "mean seconds a storm clerk thinks after an order (exponential)")
    option("workers", int, 2, "store gunicorn workers")
    option("threads", int, 4, "threads per store worker (the gthread worker when more than 1)")
    option("payments_workers", int, 1, "payments gunicorn workers")
    option("payments_threads", int, 4, "threads per payments worker")
    option("output", str, "docs/benchmarks.md", "file the run is recorded in, '-' for none")
    option("chart", str, "docs/benchmarks.png", "PNG chart of the run, '-' for none")
    parser.add_argument(
        "--scenario",
        action="append",
        default=[name for name in os.environ.get("BENCH_SCENARIO", "").split(",") if name],
        help="a group (reports, staff, storm, suppliers) or a scenario (health, warm, cold, disabled, staff, "
        "storm, rest, graphql, supplier); repeat or separate with commas; all by default (BENCH_SCENARIO)",
    )
    options = parser.parse_args(argv)
    options.scenario = [
        name.strip() for names in options.scenario for name in names.split(",") if name.strip()
    ]
    return options


def _command(options: argparse.Namespace) -> str:
    python = Path(sys.executable)
    if python.is_relative_to(ROOT):
        python = python.relative_to(ROOT)
    flags = [
        f"--{name.replace('_', '-')} {value:g}"
        for name, value in vars(options).items()
        if isinstance(value, int | float)
    ]
    flags += [f"--scenario {name}" for name in options.scenario]
    return f"{python} -m scripts.bench {' '.join(flags)}"


def _connections(users: int, workers: int, threads: int) -> int:
    """Each worker takes at most its share of the connections (see stack.gunicorn_command)."""
    return max(threads, math.ceil(users / workers))


def _describe_servers(options: argparse.Namespace) -> str:
    config = "gunicorn.conf.py, overridden by " if GUNICORN_CONFIG.exists() else ""
    return (
        f"gunicorn gthread ({config}flags): store {options.workers} workers x {options.threads} threads, "
        f"payments {options.payments_workers} x {options.payments_threads}; each worker takes at most its "
        f"share of the users' connections; no worker recycling; DEBUG off, CONN_MAX_AGE 60, every "
        f"THROTTLE_RATES scope at {UNTHROTTLED_RATE}; a fresh store server for each scenario, one payments "
        f"server throughout; seeded with `manage.py seed {' '.join(SEED)}`"
    )


def _describe_load(options: argparse.Namespace, chosen: list[Scenario]) -> str:
    classes = ", ".join(f"{s.key} {s.users} {'+'.join(s.user_classes)}" for s in chosen)
    return (
        "Locust headless, FastHttpUser (a keep-alive connection per user), one process on the same "
        f"machine; {options.clients} users a scenario, the storm {options.storm_users} clerks (an order, "
        f"then a random pause of {options.storm_think:g} s on average) and 1 supplier delivering "
        f"{DELIVERY_UNITS} units every {DELIVERY_EVERY_SECONDS:g} s; {options.runs} runs a scenario, each "
        f"{options.warmup:g} s of warm-up then {options.seconds:g} s recorded; users and classes: {classes}"
    )


def _stop(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the blocks that stop gunicorn and Locust


def _fixtures(stack: Stack, server: Server, users: int) -> Path:
    """The file the Locust users read their tokens, customers and articles from."""
    fixtures = store_state(stack.store_env, "fixtures", "--own", str(users))
    fixtures["tokens"] = {name: server.token(name, stack.logins[name]) for name in ("clerk", "supplier")}
    path = LOG_DIR / "fixtures.json"
    path.write_text(json.dumps(fixtures))
    return path


def _run_scenarios(options, stack: Stack, chosen: list[Scenario]):
    """Every run of every chosen scenario, the failure lines of each server's log, the storm's check."""
    load = runner.Load(options.seconds, options.warmup, options.storm_think)
    runs, log_failures, storm_check, fixtures = {}, {}, None, None
    with ExitStack() as payments_block:
        payments = None
        if any(scenario.payments for scenario in chosen):
            store_threads = options.workers * options.threads
            payments = payments_block.enter_context(
                serve(
                    stack.payments_env,
                    name="payments",
                    port=stack.payments_port,
                    workers=options.payments_workers,
                    threads=options.payments_threads,
                    connections=_connections(
                        store_threads, options.payments_workers, options.payments_threads
                    ),
                )
            )
        for scenario in chosen:
            env = {**stack.store_env, "READ_CACHE_ENABLED": "1" if scenario.cache else "0"}
            connections = _connections(scenario.users, options.workers, options.threads)
            with serve(
                env,
                name=f"store-{scenario.key}",
                port=stack.store_port,
                workers=options.workers,
                threads=options.threads,
                connections=connections,
            ) as store:
                fixtures = fixtures or _fixtures(stack, store, max(s.users for s in chosen))
                problems = checks.answers(store, scenario.key, json.loads(fixtures.read_text()))
                if problems:
                    raise SystemExit("bench: a request fails before the load:\n  " + "\n  ".join(problems))
                since = store_state(stack.store_env, "last-order")["id"] if scenario.key == "storm" else None
                servers = [store, payments] if scenario.payments else [store]
                runs[scenario.key] = []
                for index in range(1, options.runs + 1):
                    print(f"bench: {scenario.title}, run {index} of {options.runs}", flush=True)
                    runs[scenario.key].append(
                        runner.run(scenario, index, servers=servers, load=load, fixtures=fixtures)
                    )
                log_failures[scenario.key] = store.failure_lines()
            if since is not None:
                storm_check = store_state(stack.store_env, "check", "--since", str(since))
        if payments is not None:
            log_failures["payments"] = payments.failure_lines()
    return runs, log_failures, storm_check


def main(argv: list[str] | None = None) -> int:
    options = _options(argv)
    signal.signal(signal.SIGTERM, _stop)
    chosen = select(scenarios(clients=options.clients, storm_users=options.storm_users), options.scenario)
    stack = prepare(payments=any(scenario.payments for scenario in chosen))
    runs, log_failures, storm_check = _run_scenarios(options, stack, chosen)

    verdicts = targets.verdicts(runs, log_failures, storm_check)
    notes = targets.notes(runs, storm_check)
    last = [key_runs[-1] for key_runs in runs.values()]
    print(f"\n{report.table(last)}\n\n{report.runs_table(runs)}\n")
    print("\n".join(map(str, verdicts)))
    print("\n".join(notes))
    example = next((scenario for scenario in chosen if scenario.key == "storm"), chosen[-1])
    locust = runner.locust_command(
        example,
        host="http://127.0.0.1:PORT",
        load=runner.Load(options.seconds, options.warmup, options.storm_think),
        fixtures=(LOG_DIR / "fixtures.json").relative_to(ROOT),
        output=(LOG_DIR / f"locust-{example.key}-RUN").relative_to(ROOT),
    )
    if options.output != "-":
        commit, text = report.section(
            runs,
            versions=stack.versions,
            servers=_describe_servers(options),
            load=_describe_load(options, chosen),
            command=_command(options),
            locust=(example.title, " ".join(locust)),
            verdicts=[str(verdict) for verdict in verdicts],
            notes=notes,
            chart=None
            if options.chart == "-"
            else os.path.relpath(ROOT / options.chart, (ROOT / options.output).parent),
        )
        report.record(ROOT / options.output, commit, text)
        print(f"bench: recorded in {options.output}")
    if options.chart != "-":
        chart.draw(
            last, ROOT / options.chart, f"make bench: last run of each scenario ({options.seconds:g} s)"
        )
        print(f"bench: chart in {options.chart}")
    fatal = [verdict for verdict in verdicts if verdict.fatal and not verdict.passed]
    for verdict in fatal:
        print(f"bench: {verdict}; logs in var/bench/", file=sys.stderr)
    return 1 if fatal else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("bench: interrupted")

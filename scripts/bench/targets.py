"""The targets of issues 3 and 7, each a PASS or a FAIL, and the notes printed beside them.

A target the figures missed is reported; a fatal one (a 5xx, a throttled request, a broken invariant
or an order the clients and the database count differently) also fails the command: then the store
is wrong or the figures measure something else than the store.
"""

from collections import Counter
from dataclasses import dataclass

from .endpoints import ORDERS, REFUSED_ORDER
from .runner import Run

# (numerator, denominator, minimum) of throughput ratios between scenarios, issue 3's.
RATIOS = (("warm", "disabled", 10.0), ("warm", "health", 0.5))
ORDER_P95_MS = 100.0
MEMORY_GROWTH = 0.10
# The storm's rows: the orders placed (and any failure), and the refusals it expects.
ORDER_ROW = f"POST {ORDERS}"
REFUSED_ORDER_ROW = f"POST {REFUSED_ORDER}"


@dataclass(frozen=True)
class Verdict:
    passed: bool
    text: str
    fatal: bool = False

    def __str__(self) -> str:
        return f"{self.text}: {'PASS' if self.passed else 'FAIL'}"


def _row(run: Run, name: str):
    return next((row for row in run.rows if row.name == name), None)


def no_server_errors(runs: dict[str, list[Run]], log_failures: dict[str, int]) -> Verdict:
    """Zero 5xx (or requests left without an answer) in every run of every scenario, and in the logs."""
    counts = {
        key: sum(row.server_errors for run in key_runs for row in run.rows) for key, key_runs in runs.items()
    }
    failures = sum(log_failures.values())
    passed = not any(counts.values()) and not failures
    per_scenario = ", ".join(f"{key} {count}" for key, count in counts.items())
    return Verdict(
        passed,
        f"Zero 5xx in every scenario (every run; 5xx or no answer: {per_scenario}; "
        f"failure lines in gunicorn's logs: {failures})",
        fatal=True,
    )


def not_throttled(runs: dict[str, list[Run]]) -> Verdict:
    throttled = sum(row.throttled for key_runs in runs.values() for run in key_runs for row in run.rows)
    return Verdict(not throttled, f"Not throttled (429 answers in every run: {throttled})", fatal=True)


def ratios(last: dict[str, Run]) -> list[Verdict]:
    verdicts = []
    for top_key, bottom_key, minimum in RATIOS:
        if top_key not in last or bottom_key not in last:
            continue
        top, bottom = last[top_key], last[bottom_key]
        ratio = top.throughput / bottom.throughput if bottom.throughput else float("inf")
        verdicts.append(
            Verdict(
                ratio >= minimum,
                f"{top.scenario.title} / {bottom.scenario.title} throughput: {ratio:.2f}x "
                f"(target >= {minimum:g}x)",
            )
        )
    return verdicts


def storm_accounted(storm_runs: list[Run], check: dict) -> Verdict:
    """The database holds exactly what the clients were told, and every invariant holds."""
    placed = sum(run.orders["placed"] for run in storm_runs)
    units = Counter()
    for run in storm_runs:
        units.update(run.orders["units"])
    stored = check["placed"]
    problems = list(check["problems"])
    if stored["orders"] != placed:
        problems.append(f"the clients placed {placed} orders, the database holds {stored['orders']}")
    if Counter(stored["units"]) != units:
        problems.append(f"units ordered by the clients {dict(units)}, in the database {stored['units']}")
    shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    return Verdict(
        not problems,
        f"Invariants after the storm (no negative stock, ledger sums equal quantities, every order's stock "
        f"taken once and given back once if cancelled, {placed:,} orders placed by the clients all in the "
        f"database with their units){': ' + shown if problems else ''}",
        fatal=True,
    )


def order_latency(storm: Run, accounted: Verdict) -> Verdict:
    row = _row(storm, ORDER_ROW)
    p95 = row.percentiles_ms[95] if row else float("nan")
    clerks = storm.scenario.users - 1
    return Verdict(
        p95 < ORDER_P95_MS and accounted.passed,
        f"Order creation p95 {p95:.0f} ms at {clerks} users (target < {ORDER_P95_MS:g} ms), "
        f"{'zero oversell' if accounted.passed else 'invariants broken'}",
    )


def memory_flat(runs: dict[str, list[Run]]) -> Verdict | None:
    """Workers' memory growth from the 2nd to the 3rd run of each scenario, for each of its servers."""
    growths = {}
    for key, key_runs in runs.items():
        if len(key_runs) < 3:
            continue
        second, third = key_runs[1].rss_mib, key_runs[2].rss_mib
        for server, before in second.items():
            growths[f"{key} ({server})"] = (third[server] - before) / before if before else float("inf")
    if not growths:
        return None
    worst = max(growths, key=growths.get)
    return Verdict(
        growths[worst] < MEMORY_GROWTH,
        f"Worker memory flat (gunicorn workers' RSS from run 2 to run 3 of each scenario, target < "
        f"{MEMORY_GROWTH:.0%}; largest: {worst} {growths[worst]:+.1%})",
    )


def verdicts(
    runs: dict[str, list[Run]], log_failures: dict[str, int], storm_check: dict | None
) -> list[Verdict]:
    last = {key: key_runs[-1] for key, key_runs in runs.items()}
    found = [no_server_errors(runs, log_failures), not_throttled(runs), *ratios(last)]
    if "storm" in runs and storm_check is not None:
        accounted = storm_accounted(runs["storm"], storm_check)
        found += [order_latency(last["storm"], accounted), accounted]
    memory = memory_flat(runs)
    return found + ([memory] if memory else [])


def notes(runs: dict[str, list[Run]], storm_check: dict | None) -> list[str]:
    """What the figures say beside the targets."""
    last = {key: key_runs[-1] for key, key_runs in runs.items()}
    lines = []
    if "cold" in last:
        reads = [row for row in last["cold"].rows if row.name.startswith("GET")]
        hits, count = sum(r.repeated_etags for r in reads), sum(r.requests for r in reads)
        lines.append(
            f"stock report, cold cache: {hits:,} of {count:,} reads were cache hits (an ETag another read "
            "had already received: another user's read stored the report between a restock and this read)"
        )
    if "storm" in last:
        storm = last["storm"]
        refused, placed = _row(storm, REFUSED_ORDER_ROW), _row(storm, ORDER_ROW)
        without = storm_check["placed"]["without_payment"] if storm_check else "?"
        lines.append(
            f"order storm: {placed.throughput if placed else 0:,.1f} orders placed a second, "
            f"{refused.requests if refused else 0:,} refused 409 insufficient_stock (expected, not errors) "
            f"in the last run; orders placed without their payment over every run: {without}"
        )
    if "supplier" in last:
        supplier = last["supplier"]
        shares = ", ".join(
            f"{row.name.removeprefix('POST /graphql/ ')} {row.throughput:,.1f} req/s" for row in supplier.rows
        )
        lines.append(f"supplier, GraphQL: {supplier.throughput:,.1f} req/s in all ({shares})")
    if "rest" in last and "graphql" in last:
        rest, graphql = last["rest"], last["graphql"]
        lines.append(
            f"REST vs GraphQL, stock of 100 articles: GraphQL {graphql.throughput / rest.throughput:.2f}x "
            f"REST's req/s, {graphql.rows[0].percentiles_ms[95] / rest.rows[0].percentiles_ms[95]:.2f}x its "
            f"p95, {graphql.rows[0].mean_bytes / rest.rows[0].mean_bytes:.2f}x its bytes per answer, "
            f"{graphql.cpu_ms / rest.cpu_ms:.2f}x its gunicorn CPU per answer"
        )
    return lines

"""How the light client's runs are judged (scripts/bench/light.py): the figures a run gives, issue 15's
targets as ratios to `/health/` in the same run, and the table recorded in docs/benchmarks.md."""

import statistics
from dataclasses import dataclass

from . import report
from .open_loop import OpenLoopResult

# Issue 15's targets: (request, the least throughput as a ratio to /health/ in the same run).
TARGETS = (
    ("order creation", 0.04),
    ("stock report, warm cache", 0.6),
    ("stock report, 304 revalidation", 0.85),
    ("article detail", 0.4),
    ("order list page", 0.2),
    ("article list page", 0.2),
)
REVALIDATION = "stock report, 304 revalidation"
NOT_MODIFIED_BYTES = 1_000  # a 304's headers; the report's first page is about 17,600 bytes
OPEN_LOOP_P95_MS = 100  # orders offered at half the closed-loop rate
MEMORY_GROWTH = 0.05  # the most a request's rounds may add to the workers' memory, first to last
# At 100x the data: orders and the paged reads within 1.5x of their ratio at 1x, answers no bigger
# than 1.25x (longer ids and counts, not more rows).
GROWTH, ANSWER_GROWTH = 1.5, 1.25
GROWING = tuple(name for name, _ in TARGETS if name != REVALIDATION)


@dataclass(frozen=True)
class Result:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    bytes_per_answer: float
    store_rss_mib: float = 0.0  # the store's workers, both replicas, after the run


@dataclass
class Measured:
    results: dict[str, dict[str, list[Result]]]
    invariants: dict
    open_loop: OpenLoopResult


def median(runs: list[Result]) -> float:
    return statistics.median(run.requests_per_second for run in runs)


def verdicts(measured: Measured) -> list[str]:
    """Each target, PASS or FAIL, on the direct figures; then the answers, the open-loop orders, the
    workers' memory and the invariants."""
    results, invariants, open_loop = measured.results, measured.invariants, measured.open_loop
    health = median(results["health"]["direct"])
    lines = []
    for name, minimum in TARGETS:
        ratio = median(results[name]["direct"]) / health
        lines.append(
            f"{name} at least {minimum}x /health/ (measured {ratio:.3f}x): {_verdict(ratio >= minimum)}"
        )
    every = [run for ways in results.values() for runs in ways.values() for run in runs]
    failed = sum(run.non_2xx + run.socket_errors for run in every)
    lines.append(f"Every answer a 2xx or a 304, no socket error (failures: {failed}): {_verdict(not failed)}")
    # wrk counts no status codes: a revalidation answered with its body shows in its size.
    revalidated = max(run.bytes_per_answer for run in results[REVALIDATION]["direct"])
    lines.append(
        f"Every revalidation answered 304, without the report (at most {revalidated:,.0f} bytes an answer, "
        f"a 304 under {NOT_MODIFIED_BYTES:,}): {_verdict(revalidated < NOT_MODIFIED_BYTES)}"
    )
    lines.append(
        f"Orders offered open-loop at {open_loop.offered_per_second:.0f}/s (half the closed-loop rate), "
        f"p95 under {OPEN_LOOP_P95_MS} ms (measured {open_loop.p95_ms:.0f} ms over {open_loop.sent} orders, "
        f"{open_loop.failed} failed): "
        + _verdict(open_loop.p95_ms < OPEN_LOOP_P95_MS and not open_loop.failed)
    )
    growth = _memory_growth(results)
    worst = max(growth, key=growth.get)
    lines.append(
        f"The store's workers' memory flat, each request's last round within {MEMORY_GROWTH:.0%} of the "
        f"first round's end (most: {worst}, {growth[worst]:+.1%}): {_verdict(growth[worst] <= MEMORY_GROWTH)}"
    )
    problems, placed = invariants["problems"], invariants["placed"]
    # Payments is up for the whole run: an order left without its payment is a fault, not a figure.
    lines.append(
        f"Invariants after {placed['orders']:,} orders ({placed['without_payment']} without their payment): "
        f"stock within its limits and explained by its ledger, each order's stock taken once, each order "
        f"with its payment (problems: {len(problems)}): "
        f"{_verdict(not problems and not placed['without_payment'])}"
    )
    return lines + [f"  - {problem}" for problem in problems[:10]]


def _memory_growth(results: dict[str, dict[str, list[Result]]]) -> dict[str, float]:
    """Each request's last round against the workers' memory after the first round: it ran every
    request once, so every code path has been loaded and every per-process cache filled by then."""
    last_request = list(results.values())[-1]
    warmed = list(last_request.values())[-1][0].store_rss_mib
    if not warmed:
        return {}
    return {name: ways["direct"][-1].store_rss_mib / warmed - 1 for name, ways in results.items()}


def growth_verdicts(base: Measured, scaled: Measured) -> list[str]:
    """The requests that must not slow down or grow with the catalogue, 100x against 1x."""
    base_health, scaled_health = (median(m.results["health"]["direct"]) for m in (base, scaled))
    lines = []
    for name in GROWING:
        before = median(base.results[name]["direct"]) / base_health
        after = median(scaled.results[name]["direct"]) / scaled_health
        size_before, size_after = (
            statistics.median(run.bytes_per_answer for run in m.results[name]["direct"])
            for m in (base, scaled)
        )
        lines.append(
            f"{name} at 100x the data within {GROWTH}x of 1x ({before:.3f}x -> {after:.3f}x /health/, "
            f"{before / after:.2f}x slower): {_verdict(before / after <= GROWTH)}"
        )
        lines.append(
            f"{name}: its answer no bigger than {ANSWER_GROWTH}x ({size_before:,.0f} -> {size_after:,.0f} "
            f"bytes): {_verdict(size_after <= ANSWER_GROWTH * size_before)}"
        )
    return lines


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def table(results: dict[str, dict[str, list[Result]]]) -> str:
    health = median(results["health"]["direct"])
    header = ("request", "way", "req/s (median; each round)", "x /health/", "p50 ms", "p99 ms", "bytes")
    rows = [(*header, "store RSS MiB", "non-2xx", "socket errors", "gateway / direct")]
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
                    f"{statistics.median(run.bytes_per_answer for run in runs):,.0f}",
                    " / ".join(f"{run.store_rss_mib:.0f}" for run in runs) if way == "direct" else "",
                    str(sum(run.non_2xx for run in runs)),
                    str(sum(run.socket_errors for run in runs)),
                    ""
                    if way == "direct" or name == "health"
                    else f"{median(runs) / median(ways['direct']):.2f}",
                )
            )
    return report.markdown_table(rows, text_columns=2)

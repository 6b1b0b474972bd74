"""The results as a table with the targets, and their record in docs/benchmarks.md.

docs/benchmarks.md keeps one section per commit, newest first, below the `RUNS` marker: a run
replaces the section of its own commit (re-measuring a commit on a quiet machine overwrites the
noisy figures) and keeps the others, so the file tells how the figures moved from commit to commit.
"""

import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from .load import Result

RUNS = "<!-- bench:runs -->"
# (numerator, denominator, minimum) of throughput ratios, by scenario key.
TARGETS = (("warm", "disabled", 10.0), ("warm", "health", 0.5))
# The scenarios compared side by side: the same data by REST and by GraphQL.
COMPARED = ("rest", "graphql")
COLUMNS = (
    "scenario",
    "requests",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
    "5xx",
    "bytes/resp",
    "server cores",
    "client cores",
)


def _cores(value: float | None) -> str:
    return "same" if value is None else f"{value:.2f}"


def _row(result: Result) -> tuple[str, ...]:
    return (
        result.scenario.title,
        f"{result.requests:,}",
        f"{result.throughput:,.1f}",
        *(f"{result.percentile_ms(p):.1f}" for p in (50, 95, 99)),
        str(result.errors),
        str(result.failures),
        f"{result.mean_bytes:,.0f}",
        _cores(result.server_cores),
        _cores(result.client_cores),
    )


def _markdown(rows: list[tuple[str, ...]]) -> str:
    """A Markdown table of `rows` (the first is the header), aligned for the terminal too."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(cells):
        padded = [
            cells[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)),
        ]
        return f"| {' | '.join(padded)} |"

    rule = line(["-" * widths[0], *("-" * (w - 1) + ":" for w in widths[1:])])
    return "\n".join([line(rows[0]), rule, *map(line, rows[1:])])


def table(results: list[Result]) -> str:
    """Every scenario, and the labelled requests of a mixed one in rows of their own."""
    return _markdown([COLUMNS, *(_row(row) for result in results for row in result.rows())])


def _cpu_ms(result: Result) -> float:
    """Milliseconds of gunicorn CPU per answer (MariaDB's and Redis's are not in it)."""
    return result.server_cores * 1000 / result.throughput if result.throughput else float("nan")


def comparison(results: list[Result]) -> str:
    """REST and GraphQL side by side for the same data, and GraphQL's figures over REST's."""
    by_key = {result.scenario.key: result for result in results}
    rest, graphql = (by_key[key] for key in COMPARED)
    measures = (
        ("req/s", lambda r: r.throughput, "{:,.1f}"),
        ("p50 ms", lambda r: r.percentile_ms(50), "{:.1f}"),
        ("p95 ms", lambda r: r.percentile_ms(95), "{:.1f}"),
        ("bytes/resp (mean)", lambda r: r.mean_bytes, "{:,.0f}"),
        ("gunicorn CPU ms/resp", _cpu_ms, "{:.2f}"),
        ("errors / 5xx", None, None),
    )
    rows = [("stock of 100 articles, as a supplier", "REST", "GraphQL", "GraphQL / REST")]
    for name, measure, form in measures:
        if measure is None:
            rows.append((name, *(f"{r.errors} / {r.failures}" for r in (rest, graphql)), ""))
            continue
        a, b = measure(rest), measure(graphql)
        rows.append((name, form.format(a), form.format(b), f"{b / a:.2f}x" if a else "n/a"))
    return _markdown(rows)


def _supplier_mix(result: Result) -> str:
    rows = result.rows()
    total = sum(row.requests for row in rows)
    shares = ", ".join(
        f"{row.scenario.title.removeprefix(result.scenario.title + ': ')} {row.throughput:,.1f} req/s "
        f"({row.requests / total:.0%})"
        for row in rows
    )
    return (
        f"{result.scenario.title}: {total / result.seconds:,.1f} req/s in all: {shares}; "
        f"gunicorn used {result.server_cores:.2f} cores"
    )


def failure_check(results: list[Result], log_failures: int) -> tuple[bool, str]:
    """Whether the server failed nowhere (no 5xx, every request answered, no failure in its log)."""
    rows = [row for result in results for row in result.rows()]
    failures = sum(row.failures for row in rows)
    body_errors = sum(row.body_errors for row in rows)
    passed = not failures and not log_failures
    return passed, (
        f"No 5xx (payments not served; no scenario calls it): {failures} 5xx answers or requests "
        f"without an answer in {len(rows)} rows, {log_failures} failure lines in gunicorn's logs, "
        f"{body_errors} GraphQL errors: {'PASS' if passed else 'FAIL'}"
    )


def verdicts(results: list[Result], log_failures: int = 0) -> list[str]:
    by_key = {result.scenario.key: result for result in results}
    lines = []
    for numerator, denominator, minimum in TARGETS:
        top, bottom = by_key[numerator], by_key[denominator]
        ratio = top.throughput / bottom.throughput if bottom.throughput else float("inf")
        verdict = "PASS" if ratio >= minimum else "FAIL"
        lines.append(
            f"{top.scenario.title} / {bottom.scenario.title} throughput: {ratio:.2f}x "
            f"(target >= {minimum:g}x): {verdict}"
        )
    cold = by_key["cold"]
    lines.append(
        f"{cold.scenario.title}: {cold.cache_hits:,} of {cold.requests:,} timed reads were cache hits "
        "(an ETag another read had already received)"
    )
    if "supplier" in by_key:
        lines.append(_supplier_mix(by_key["supplier"]))
    if all(key in by_key for key in COMPARED):
        rest, graphql = (by_key[key] for key in COMPARED)
        lines.append(
            f"REST vs GraphQL, stock of 100 articles: GraphQL {graphql.throughput / rest.throughput:.2f}x "
            f"REST's req/s, {graphql.percentile_ms(95) / rest.percentile_ms(95):.2f}x its p95, "
            f"{graphql.mean_bytes / rest.mean_bytes:.2f}x its bytes per answer, "
            f"{_cpu_ms(graphql) / _cpu_ms(rest):.2f}x its gunicorn CPU per answer"
        )
    lines.append(failure_check(results, log_failures)[1])
    return lines


def _first_match(path: str, pattern: str, default: str = "unknown") -> str:
    found = re.search(pattern, Path(path).read_text(), re.MULTILINE)
    return found.group(1).strip() if found else default


def machine() -> str:
    memory_kib = int(_first_match("/proc/meminfo", r"^MemTotal:\s*(\d+)", "0"))
    return ", ".join(
        (
            _first_match("/proc/cpuinfo", r"^model name\s*:(.*)$"),
            f"{os.cpu_count()} cores",
            f"{memory_kib / 2**20:.1f} GiB RAM",
            _first_match("/etc/os-release", r'^PRETTY_NAME="?([^"\n]*)'),
            f"Linux {platform.release()}",
        )
    )


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()


def section(
    results: list[Result],
    *,
    versions: dict[str, str],
    server: str,
    load: str,
    command: str,
    log_failures: int,
):
    """The Markdown section of this run, and the commit it is recorded under."""
    commit = _git("rev-parse", "--short", "HEAD")
    changed = " (with uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no") else ""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"<!-- bench:commit={commit} -->",
        f"## {when}, commit {commit}{changed}",
        "",
        f"- Machine: {machine()}",
        "- Versions: " + ", ".join(f"{name} {number}" for name, number in versions.items()),
        f"- Server: {server}",
        f"- Load: {load}",
        f"- Command: `{command}`",
        "",
        table(results),
        "",
        *(f"- {line}" for line in verdicts(results, log_failures)),
    ]
    if all(key in {result.scenario.key for result in results} for key in COMPARED):
        lines += [
            "",
            "REST vs GraphQL, the stock of 100 articles as the same supplier "
            "(see 'REST and GraphQL for the same data' above):",
            "",
            comparison(results),
        ]
    return commit, "\n".join(lines) + "\n"


def record(path: Path, commit: str, text: str) -> None:
    """Put this run's section first, in place of an earlier one of the same commit."""
    head, marker, runs = path.read_text().partition(RUNS)
    if not marker:
        raise SystemExit(f"bench: {path} has no {RUNS} line to record the runs under")
    sections = [s.strip() for s in re.split(r"(?m)^(?=<!-- bench:commit=)", runs) if s.strip()]
    kept = [s for s in sections if not s.startswith(f"<!-- bench:commit={commit} -->")]
    path.write_text(head + marker + "\n\n" + "\n\n".join([text.strip(), *kept]) + "\n")

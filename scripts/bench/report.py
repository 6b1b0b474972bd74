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


def _row(result: Result) -> tuple[str, ...]:
    return (
        result.scenario.title,
        f"{result.requests:,}",
        f"{result.throughput:,.1f}",
        *(f"{result.percentile_ms(p):.1f}" for p in (50, 95, 99)),
        str(result.errors),
        str(result.failures),
        f"{result.mean_bytes:,.0f}",
        f"{result.server_cores:.2f}",
        f"{result.client_cores:.2f}",
    )


def table(results: list[Result]) -> str:
    """A Markdown table, aligned for the terminal too."""
    rows = [COLUMNS, *map(_row, results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(cells):
        padded = [
            cells[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)),
        ]
        return f"| {' | '.join(padded)} |"

    rule = line(["-" * widths[0], *("-" * (w - 1) + ":" for w in widths[1:])])
    return "\n".join([line(rows[0]), rule, *map(line, rows[1:])])


def verdicts(results: list[Result]) -> list[str]:
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


def section(results: list[Result], *, versions: dict[str, str], server: str, load: str, command: str):
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
        *(f"- {line}" for line in verdicts(results)),
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

"""The results as tables, and their record in docs/benchmarks.md.

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

from .runner import PERCENTILES, Run

RUNS = "<!-- bench:runs -->"
# The chart is redrawn at every run: only the newest section shows it.
CHART_LINE = "![The latest run: throughput and latency percentiles of every request]"
COLUMNS = (
    "scenario",
    "request",
    "requests",
    "req/s",
    *(f"p{p} ms" for p in PERCENTILES),
    "errors",
    "5xx",
    "bytes/resp",
    "server cores",
    "client cores",
)


def markdown_table(rows: list[tuple[str, ...]], text_columns: int = 1) -> str:
    """A Markdown table of `rows` (the first is the header), aligned for the terminal too."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(cells):
        padded = [
            c.ljust(w) if i < text_columns else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return f"| {' | '.join(padded)} |"

    rule = line(["-" * w if i < text_columns else "-" * (w - 1) + ":" for i, w in enumerate(widths)])
    return "\n".join([line(rows[0]), rule, *map(line, rows[1:])])


def table(runs: list[Run]) -> str:
    """Each scenario's last run, a row per request; the CPU figures are the whole scenario's."""
    rows = [COLUMNS]
    for run in runs:
        for position, row in enumerate(run.rows):
            first = position == 0
            rows.append(
                (
                    run.scenario.title if first else "",
                    row.name,
                    f"{row.requests:,}",
                    f"{row.throughput:,.1f}",
                    *(f"{row.percentiles_ms[p]:.0f}" for p in PERCENTILES),
                    str(row.failures),
                    str(row.server_errors),
                    f"{row.mean_bytes:,.0f}",
                    f"{run.server_cores:.2f}" if first else "",
                    f"{run.client_cores:.2f}" if first else "",
                )
            )
    return markdown_table(rows, text_columns=2)


def runs_table(runs: dict[str, list[Run]]) -> str:
    """Every run of every scenario: its throughput, and its servers' workers' memory after it."""
    rows = [("scenario", "req/s per run", "workers' RSS MiB after each run", "RSS run 2 -> 3")]
    for key_runs in runs.values():
        servers = list(key_runs[0].rss_mib)
        memory = "; ".join(
            f"{server} " + " / ".join(f"{run.rss_mib[server]:.0f}" for run in key_runs) for server in servers
        )
        growth = (
            "; ".join(
                f"{(key_runs[2].rss_mib[s] - key_runs[1].rss_mib[s]) / key_runs[1].rss_mib[s]:+.1%}"
                for s in servers
            )
            if len(key_runs) >= 3
            else "n/a"
        )
        rows.append(
            (
                key_runs[0].scenario.title,
                " / ".join(f"{run.throughput:,.1f}" for run in key_runs),
                memory,
                growth,
            )
        )
    return markdown_table(rows, text_columns=1)


def comparison(rest: Run, graphql: Run) -> str:
    """REST and GraphQL side by side for the same data (issue 4), and GraphQL's figures over REST's."""

    measures = (
        ("req/s", lambda run: run.throughput, "{:,.1f}"),
        ("p50 ms", lambda run: run.rows[0].percentiles_ms[50], "{:.0f}"),
        ("p95 ms", lambda run: run.rows[0].percentiles_ms[95], "{:.0f}"),
        ("bytes/resp (mean)", lambda run: run.rows[0].mean_bytes, "{:,.0f}"),
        ("gunicorn CPU ms/resp", lambda run: run.cpu_ms, "{:.2f}"),
    )
    rows = [("stock of 100 articles, as a supplier", "REST", "GraphQL", "GraphQL / REST")]
    for name, measure, form in measures:
        a, b = measure(rest), measure(graphql)
        rows.append((name, form.format(a), form.format(b), f"{b / a:.2f}x" if a else "n/a"))
    return markdown_table(rows)


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


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout.strip()


def section(
    runs: dict[str, list[Run]],
    *,
    versions: dict[str, str],
    servers: str,
    load: str,
    command: str,
    locust: tuple[str, str],
    verdicts: list[str],
    notes: list[str],
    chart: str | None,
) -> tuple[str, str]:
    """The Markdown section of this run, and the commit it is recorded under.

    `locust` is a scenario's title and the Locust command line of its runs.
    """
    commit = git("rev-parse", "--short", "HEAD")
    changed = " (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    last = [key_runs[-1] for key_runs in runs.values()]
    lines = [
        f"<!-- bench:commit={commit} -->",
        f"## {when}, commit {commit}{changed}",
        "",
        f"- Machine: {machine()}",
        "- Versions: " + ", ".join(f"{name} {number}" for name, number in versions.items()),
        f"- Servers: {servers}",
        f"- Load: {load}",
        f"- Command: `{command}`",
        f"- Locust, each run ({locust[0]}; the others differ by users and classes): `{locust[1]}`",
        "",
        *([f"{CHART_LINE}({chart})", ""] if chart else []),
        table(last),
        "",
        *(f"- {line}" for line in verdicts),
        *(f"- {line}" for line in notes),
        "",
        "Every run (the table above shows the last):",
        "",
        runs_table(runs),
    ]
    if "rest" in runs and "graphql" in runs:
        lines += [
            "",
            "REST vs GraphQL, the stock of 100 articles as the same supplier "
            "(see 'REST and GraphQL for the same data' above):",
            "",
            comparison(runs["rest"][-1], runs["graphql"][-1]),
        ]
    return commit, "\n".join(lines) + "\n"


def record(path: Path, commit: str, text: str) -> None:
    """Put this run's section first, in place of an earlier one of the same commit."""
    head, marker, recorded = path.read_text().partition(RUNS)
    if not marker:
        raise SystemExit(f"bench: {path} has no {RUNS} line to record the runs under")
    sections = [s.strip() for s in re.split(r"(?m)^(?=<!-- bench:commit=)", recorded) if s.strip()]
    # One chart, redrawn by each Locust run: a section that brings it takes it from the others.
    draws_chart = CHART_LINE in text
    kept = [
        "\n".join(line for line in s.splitlines() if not (draws_chart and line.startswith(CHART_LINE)))
        for s in sections
        if not s.startswith(f"<!-- bench:commit={commit} -->")
    ]
    path.write_text(head + marker + "\n\n" + "\n\n".join([text.strip(), *kept]) + "\n")

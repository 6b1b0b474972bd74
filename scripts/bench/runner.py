"""One run of a scenario: Locust headless in a process of its own, and what it measured.

Locust writes its final stats with `--json-file` (its `--csv` files are rewritten once a second and
may miss the last one): per request name, the count, failures, body bytes and a histogram of the
response times (whole milliseconds under 100 ms, 2 significant digits above), from which the
percentiles are taken by nearest rank. The locustfile prints a line when its warm-up ends and when
the test stops: the CPU used by the servers and by Locust is read at those two instants.
"""

import json
import math
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .scenarios import Scenario
from .stack import LOG_DIR, ROOT, Server, cpu_seconds, workers_rss_mib

LOCUSTFILE = Path(__file__).with_name("locustfile.py").relative_to(ROOT)
# Seconds Locust may take to start its users, and to let them finish the request they are in.
SPAWN_SECONDS = 1
STOP_TIMEOUT_SECONDS = 10
# A run that has not ended this long after its run time is killed (and fails the bench).
OVERTIME_SECONDS = 90
PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Load:
    seconds: float
    warmup: float
    # Mean seconds a storm clerk thinks after each order.
    think: float

    @property
    def run_time(self) -> int:
        return math.ceil(SPAWN_SECONDS + self.warmup + self.seconds)


@dataclass
class Row:
    """One request name of one run."""

    name: str
    requests: int
    failures: int
    throughput: float
    percentiles_ms: dict[int, float]
    mean_bytes: float
    statuses: Counter = field(default_factory=Counter)
    repeated_etags: int = 0

    @property
    def server_errors(self) -> int:
        """5xx answers and requests without an answer (status 0)."""
        return sum(
            n
            for status, n in self.statuses.items()
            if status.isdigit() and (int(status) >= 500 or status == "0")
        )

    @property
    def throttled(self) -> int:
        return self.statuses.get("429", 0)


@dataclass
class Run:
    scenario: Scenario
    index: int
    seconds: float
    rows: list[Row]
    server_cores: float
    client_cores: float
    # Resident memory of each server's workers after the run, MiB, by server name.
    rss_mib: dict[str, float]
    # What the storm's clients were told was placed (the whole run, warm-up included).
    orders: dict

    @property
    def throughput(self) -> float:
        return sum(row.throughput for row in self.rows)

    @property
    def cpu_ms(self) -> float:
        """Milliseconds of gunicorn CPU per answer (MariaDB's and Redis's are not in it)."""
        return self.server_cores * 1000 / self.throughput if self.throughput else float("nan")


def locust_command(scenario: Scenario, *, host: str, load: Load, fixtures: Path, output: Path) -> list[str]:
    options = {
        "host": host,
        "users": scenario.users,
        "spawn-rate": scenario.users,
        "run-time": f"{load.run_time}s",
        "stop-timeout": STOP_TIMEOUT_SECONDS,
        "json-file": output,
        "bench-fixtures": fixtures,
        "bench-warmup": f"{load.warmup:g}",
        "bench-out": f"{output}.out.json",
        **({"bench-think": f"{load.think:g}"} if "OrderStorm" in scenario.user_classes else {}),
    }
    flags = [part for name, value in options.items() for part in (f"--{name}", str(value))]
    return ["locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary", *flags, *scenario.user_classes]


def _percentile(histogram: dict[float, int], count: int, percent: float) -> float:
    rank = max(1, math.ceil(count * percent / 100))
    seen = 0
    for milliseconds in sorted(histogram):
        seen += histogram[milliseconds]
        if seen >= rank:
            return milliseconds
    return float("nan")


def _rows(stats: list[dict], answers: dict) -> tuple[list[Row], float]:
    """The rows of Locust's stats, and the seconds they were recorded over (all rows alike)."""
    entries = [entry for entry in stats if entry["num_requests"]]
    if not entries:
        return [], 0.0
    seconds = max(e["last_request_timestamp"] for e in entries) - min(e["start_time"] for e in entries)
    rows = []
    for entry in entries:
        name = f"{entry['method']} {entry['name']}"
        histogram = {float(ms): n for ms, n in entry["response_times"].items()}
        timed = sum(histogram.values())
        tally = answers.get(name, {})
        rows.append(
            Row(
                name=name,
                requests=entry["num_requests"],
                failures=entry["num_failures"],
                throughput=entry["num_requests"] / seconds if seconds > 0 else 0.0,
                percentiles_ms={p: _percentile(histogram, timed, p) for p in PERCENTILES},
                mean_bytes=entry["total_content_length"] / entry["num_requests"],
                statuses=Counter(tally.get("statuses", {})),
                repeated_etags=tally.get("repeated_etags", 0),
            )
        )
    return sorted(rows, key=lambda row: row.name), seconds


def run(scenario: Scenario, index: int, *, servers: list[Server], load: Load, fixtures: Path) -> Run:
    """Locust against the first of `servers` (the store), all of whose CPU and memory is measured."""
    output = LOG_DIR / f"locust-{scenario.key}-{index}"
    json_file, extra_file = output.with_suffix(".json"), Path(f"{output}.out.json")
    for stale in (json_file, extra_file):
        stale.unlink(missing_ok=True)
    command = locust_command(scenario, host=servers[0].url, load=load, fixtures=fixtures, output=output)
    command[0:1] = [sys.executable, "-m", "locust"]  # the virtualenv's Locust, whatever the PATH
    marks: dict[str, tuple[float, float, float]] = {}
    with output.with_suffix(".log").open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True
        )
        watchdog = threading.Timer(load.run_time + OVERTIME_SECONDS, process.kill)
        watchdog.start()
        try:
            for line in process.stdout:
                mark = line.strip().removeprefix("bench: ")
                if mark in ("recording", "stopped"):
                    marks[mark] = (
                        time.monotonic(),
                        sum(cpu_seconds(server.pid) for server in servers),
                        cpu_seconds(process.pid),
                    )
                log.write(line)
            process.wait()
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
    if process.returncode not in (0, 1) or not json_file.exists() or set(marks) != {"recording", "stopped"}:
        raise SystemExit(
            f"bench: Locust failed on {scenario.title} (exit status {process.returncode}): see {log.name}"
        )
    extra = json.loads(extra_file.read_text())
    rows, seconds = _rows(json.loads(json_file.read_text()), extra["rows"])
    if not rows:
        raise SystemExit(
            f"bench: Locust recorded no request in {scenario.title}, run {index}: see {log.name}"
        )
    elapsed = marks["stopped"][0] - marks["recording"][0]
    return Run(
        scenario=scenario,
        index=index,
        seconds=seconds,
        rows=rows,
        server_cores=(marks["stopped"][1] - marks["recording"][1]) / elapsed,
        client_cores=(marks["stopped"][2] - marks["recording"][2]) / elapsed,
        rss_mib={server.service: workers_rss_mib(server.pid) for server in servers},
        orders=extra["orders"],
    )

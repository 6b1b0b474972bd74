"""Management commands run as workers (`--loop`): one round again and again, with a heartbeat.

The worker containers (docker-compose.yml) have no port to probe: each round touches a heartbeat
file, and the container's healthcheck (`docker/healthcheck.py --heartbeat`) fails when it is old.
"""

import math
from argparse import ArgumentTypeError
from collections.abc import Callable
from pathlib import Path
from time import sleep

from django.db import close_old_connections


def positive_seconds(written: str) -> float:
    """An --interval as argparse reads it: a refusal it reports as a usage error, not a traceback."""
    try:
        seconds = float(written)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise ArgumentTypeError(f"{written!r} is not a positive number of seconds")
    return seconds


def add_loop_arguments(parser, *, interval: float) -> None:
    """`--loop`, `--interval` and `--heartbeat`, the same for every command that can be a worker."""
    parser.add_argument("--loop", action="store_true", help="Run a round every --interval until interrupted.")
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=interval,
        help=f"Seconds between rounds with --loop (default {interval:g}).",
    )
    parser.add_argument(
        "--heartbeat", type=Path, help="With --loop, a file touched after each round (for healthchecks)."
    )


def run_as_worker(stdout, run_round: Callable[[], None], *, interval: float, heartbeat: Path | None) -> None:
    """`run_round()` every `interval` seconds, touching `heartbeat` after each (its folder created
    first), until Ctrl-C or SIGINT ends it with a last line rather than a traceback."""
    if heartbeat is not None:
        heartbeat.parent.mkdir(parents=True, exist_ok=True)
    try:
        while True:
            # What Django does around each request: a connection the database dropped or that
            # outlived CONN_MAX_AGE is replaced instead of failing the round.
            close_old_connections()
            run_round()
            if heartbeat is not None:
                heartbeat.touch()
            sleep(interval)
    except KeyboardInterrupt:
        stdout.write("Stopped.")

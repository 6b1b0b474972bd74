"""Management commands run as workers (`--loop`): one round again and again, with a heartbeat.

The worker containers (docker-compose.yml) have no port to probe: each round touches a heartbeat
file, and the container's healthcheck (`docker/healthcheck.py --heartbeat`) fails when it is old.
"""

from collections.abc import Callable
from pathlib import Path
from time import sleep

from django.db import close_old_connections


def add_loop_arguments(parser, *, interval: float) -> None:
    """`--loop`, `--interval` and `--heartbeat`, the same for every command that can be a worker."""
    parser.add_argument("--loop", action="store_true", help="Run a round every --interval until interrupted.")
    parser.add_argument(
        "--interval",
        type=float,
        default=interval,
        help=f"Seconds between rounds with --loop (default {interval:g}).",
    )
    parser.add_argument(
        "--heartbeat", type=Path, help="With --loop, a file touched after each round (for healthchecks)."
    )


def repeat(run_round: Callable[[], None], *, interval: float, heartbeat: Path | None = None) -> None:
    """`run_round()` every `interval` seconds until interrupted, touching `heartbeat` after each."""
    while True:
        # What Django does around each request: a connection the database dropped or that outlived
        # CONN_MAX_AGE is replaced instead of failing the round.
        close_old_connections()
        run_round()
        if heartbeat is not None:
            heartbeat.touch()
        sleep(interval)


def run_as_worker(stdout, run_round: Callable[[], None], *, interval: float, heartbeat: Path | None) -> None:
    """`repeat(run_round, ...)`, ended by Ctrl-C or SIGINT with a last line rather than a traceback."""
    try:
        repeat(run_round, interval=interval, heartbeat=heartbeat)
    except KeyboardInterrupt:
        stdout.write("Stopped.")

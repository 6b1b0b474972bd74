"""Management commands run as workers (`--loop`): one round again and again, with a heartbeat.

The worker containers (docker-compose.yml) have no port to probe: each round touches a heartbeat
file, and the container's healthcheck (`docker/healthcheck.py --heartbeat`) fails when it is old.
"""

from collections.abc import Callable
from pathlib import Path
from time import sleep

from django.db import close_old_connections


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

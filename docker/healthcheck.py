"""The containers' health probe (slim images have no curl).

    python docker/healthcheck.py [PATH]                        # a service on $PORT answers PATH
    python docker/healthcheck.py --heartbeat FILE MAX_AGE      # a worker touched FILE lately

PATH defaults to /health/ (liveness). Exits 0 when healthy, 1 otherwise: an error status, a refused
connection, a timeout, or a heartbeat file missing or older than MAX_AGE seconds.
"""

import os
import sys
import time
import urllib.request

TIMEOUT_SECONDS = 4


def service_answers(path: str) -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"
    try:
        # urlopen raises HTTPError for a 4xx or 5xx: like URLError, an OSError.
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS):
            return 0
    except OSError as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1


def heartbeat_is_recent(path: str, max_age: float) -> int:
    try:
        age = time.time() - os.stat(path).st_mtime
    except OSError as error:
        print(f"unhealthy: no heartbeat: {error}", file=sys.stderr)
        return 1
    if age > max_age:
        print(f"unhealthy: last heartbeat {age:.0f} s ago", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] == "--heartbeat":
        return heartbeat_is_recent(argv[2], float(argv[3]))
    return service_answers(argv[1] if len(argv) > 1 else "/health/")


if __name__ == "__main__":
    sys.exit(main(sys.argv))

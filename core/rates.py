"""Request rates as DRF writes them (`120/min`), parsed in one place for the settings and the throttles.

Plain Python, no Django import: the settings module reads rates from the environment with it.
"""

import re

PERIOD_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}
RATE = re.compile(rf"([0-9]+)/({'|'.join(PERIOD_SECONDS)})")


def parse_rate(rate: str) -> tuple[int, int] | None:
    """`"120/min"` -> (120 requests, 60 seconds); None when `rate` is not written that way."""
    match = RATE.fullmatch(rate)
    if match is None:
        return None
    return int(match[1]), PERIOD_SECONDS[match[2]]

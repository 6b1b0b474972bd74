"""Orders offered open-loop: at a fixed rate whatever the answers' pace, as customers arrive.

wrk keeps each connection busy (closed loop), so a slow answer delays the next request and hides the
wait it would have caused. Here request i is due at `start + i / rate`, and its latency is counted from
that moment, not from when a connection was free to send it; so a queue shows in the percentiles.
Little CPU is needed at the rates measured (tens a second), so plain threads do.
"""

import http.client
import itertools
import json
import random
import statistics
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenLoopResult:
    offered_per_second: float
    sent: int
    failed: int
    p50_ms: float
    p95_ms: float
    p99_ms: float


def offer_orders(
    *, host: str, port: int, token: str, articles: list[int], customers: range, rate: float, seconds: float
) -> OpenLoopResult:
    """`rate * seconds` orders of one line, each due at its time; 32 connections send them."""
    total = int(rate * seconds)
    due_indexes = itertools.count()
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.2
    run = random.randrange(1 << 30)

    def client() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        while (index := next(due_indexes)) < total:
            due = start + index / rate
            time.sleep(max(0.0, due - time.monotonic()))
            body = {
                "customer": random.choice(customers),
                "lines": [{"article": random.choice(articles), "quantity": 1}],
            }
            try:
                connection.request(
                    "POST",
                    "/api/v1/orders/",
                    json.dumps(body),
                    {**headers, "Idempotency-Key": f"open-loop-{run}-{index}"},
                )
                response = connection.getresponse()
                response.read()
                failed = response.status != 201
            except (OSError, http.client.HTTPException):
                connection.close()
                failed = True
            with lock:
                latencies.append((time.monotonic() - due) * 1000)
                failures[0] += failed

    threads = [threading.Thread(target=client, daemon=True) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return OpenLoopResult(
        offered_per_second=rate,
        sent=len(latencies),
        failed=failures[0],
        p50_ms=cuts[49],
        p95_ms=cuts[94],
        p99_ms=cuts[98],
    )

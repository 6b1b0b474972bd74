"""What the clients send in each scenario."""

import json

from .load import Request, Scenario

REPORT = "/api/v1/reports/stock/"


def _staff(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}", "Accept": "application/json"}


def health() -> Scenario:
    """The cheapest answer of the stack (no auth, no database): the ceiling of the others."""
    return Scenario("health", "/health/", ((Request("GET", "/health/"),),))


def warm_cache(token: str) -> Scenario:
    return Scenario("warm", "stock report, warm cache", ((Request("GET", REPORT),),), _staff(token))


def cold_cache(token: str, article_ids: list[int]) -> Scenario:
    """Each client restocks one unit of its own article (untimed), then reads the report (timed).

    The restock bumps the stock cache version when it commits, so the read that follows misses,
    unless another client's read stored the report between that bump and this read (counted from
    the ETags as cache hits). The articles have no capacity, so every restock is accepted.
    """
    body = json.dumps({"quantity": 1, "reference": "bench"}).encode()
    cycles = tuple(
        (Request("POST", f"/api/v1/stocks/{article_id}/restock/", body, timed=False), Request("GET", REPORT))
        for article_id in article_ids
    )
    return Scenario(
        "cold", "stock report, cold cache", cycles, _staff(token) | {"Content-Type": "application/json"}
    )


def cache_disabled(token: str) -> Scenario:
    """The warm-cache requests, sent to a server started with READ_CACHE_ENABLED=0."""
    return Scenario("disabled", "stock report, caching disabled", ((Request("GET", REPORT),),), _staff(token))

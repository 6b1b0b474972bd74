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


# --- suppliers: GraphQL, and REST against GraphQL -------------------------------------------------

GRAPHQL = "/graphql/"
# A GraphQL error, at the top level or in a mutation's payload (graphene writes compact JSON).
GRAPHQL_ERROR = b'"errors":[{'
# The stock list of REST and the same fields by GraphQL: the stock of the first 100 articles.
REST_STOCK = "/api/v1/stocks/?page_size=100"
GRAPHQL_STOCK = (
    "query { articles(first: 100) { edges { node { id sku name "
    "stock { quantity minQuantity maxQuantity isLow } } } } }"
)
SUPPLIER_ARTICLES = (
    "query { articles(first: 100) { edges { node { sku name price stock { quantity isLow } } } } }"
)
SUPPLIER_LOW_STOCK = "query { lowStock { sku name quantity minQuantity maxQuantity missing } }"
SUPPLIER_RESTOCK = (
    'mutation Deliver($sku: String!) { restock(sku: $sku, quantity: 1, reference: "bench") '
    "{ stock { quantity } errors { code message } } }"
)
# The supplier's cycle: this many (articles, lowStock) pairs, then one restock.
SUPPLIER_READ_PAIRS = 4


def _supplier(token: str) -> dict[str, str]:
    return _staff(token) | {"Content-Type": "application/json"}


def _graphql(query: str, *, label: str = "", **variables) -> Request:
    body = json.dumps({"query": query, "variables": variables}).encode()
    return Request("POST", GRAPHQL, body, label=label, error_marker=GRAPHQL_ERROR)


def rest_stock(token: str) -> Scenario:
    """The stock list of 100 articles by REST, as a supplier (DRF, not cached)."""
    return Scenario("rest", "stock of 100 articles, REST", ((Request("GET", REST_STOCK),),), _supplier(token))


def graphql_stock(token: str) -> Scenario:
    """The same 100 articles and fields by GraphQL, as the same supplier (graphene, not cached)."""
    return Scenario(
        "graphql", "stock of 100 articles, GraphQL", ((_graphql(GRAPHQL_STOCK),),), _supplier(token)
    )


def supplier(token: str, skus: list[str]) -> Scenario:
    """A supplier's GraphQL session: each client repeats SUPPLIER_READ_PAIRS x (articles(first: 100),
    lowStock), then the restock of one unit of its own article (no capacity, so always accepted).

    4 : 4 : 1, one write in nine requests, each recorded apart. A restock bumps the stock cache
    version, so the lowStock that follows it (read from the cached stock report) may recompute.
    """
    articles = _graphql(SUPPLIER_ARTICLES, label="articles(first: 100)")
    low_stock = _graphql(SUPPLIER_LOW_STOCK, label="lowStock")
    cycles = tuple(
        (articles, low_stock) * SUPPLIER_READ_PAIRS + (_graphql(SUPPLIER_RESTOCK, label="restock", sku=sku),)
        for sku in skus
    )
    return Scenario("supplier", "supplier, GraphQL", cycles, _supplier(token))

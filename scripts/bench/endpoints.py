"""What the benchmark's users send: paths, GraphQL documents and bodies.

Shared by the locustfile (the load) and checks.py (each request once before the load), so that what
is checked is what is measured. Nothing here imports Django nor Locust.
"""

import json
import random

HEALTH = "/health/"
STOCK_REPORT = "/api/v1/reports/stock/"
ARTICLE_SEARCH = "/api/v1/articles/?search={term}"
ORDER_LIST = "/api/v1/orders/?page={page}"
# Staff browse the recent orders: one of the first pages, newest first.
ORDER_LIST_PAGES = 10
ORDERS = "/api/v1/orders/"
REST_STOCK = "/api/v1/stocks/?page_size=100"
GRAPHQL = "/graphql/"
# A GraphQL error, at the top level or in a mutation's payload (graphene writes compact JSON).
GRAPHQL_ERROR = b'"errors":[{'
# The code of a refused order that the storm expects: its hot articles run out between deliveries.
INSUFFICIENT_STOCK = "insufficient_stock"
# The name its refusals are recorded under, apart from the orders placed.
REFUSED_ORDER = f"{ORDERS} 409 {INSUFFICIENT_STOCK}"

# The stock list of REST and the same fields by GraphQL: the stock of the first 100 articles.
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

# An order of the storm: 1 to 5 lines, each of 1 to 3 units of a hot article.
ORDER_LINES = (1, 5)
LINE_UNITS = (1, 3)


def restock_path(article_id: int) -> str:
    return f"/api/v1/stocks/{article_id}/restock/"


def restock_body(quantity: int, reference: str = "bench") -> dict:
    return {"quantity": quantity, "reference": reference}


def graphql_body(query: str, **variables) -> dict:
    return {"query": query, "variables": variables}


def order_body(rng: random.Random, *, customers: list[int], articles: list[int]) -> dict:
    """A random order of one of `customers` on a few of `articles`, each on one line at most."""
    count = rng.randint(ORDER_LINES[0], min(ORDER_LINES[1], len(articles)))
    return {
        "customer": rng.choice(customers),
        "lines": [
            {"article": article, "quantity": rng.randint(*LINE_UNITS)}
            for article in rng.sample(articles, count)
        ],
    }


def staff_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}", "Accept": "application/json"}


def error_code(body: bytes) -> str:
    """The `code` of the store's one error shape, or '' for a body that is not one."""
    try:
        answer = json.loads(body)
    except ValueError:
        return ""
    return str(answer.get("code", "")) if isinstance(answer, dict) else ""

"""Checks that the figures measure answers, not failures.

Before a scenario's load, each kind of request it sends is sent once and must be answered 2xx without
an error in its body (a GraphQL error comes with a 200); the storm's order must come back with its
payment, which proves the store reaches the payments service; the REST and GraphQL stock of 100
articles must hold the same rows. Any problem stops the bench there. During the load, Locust counts
the failures and the locustfile the answers by status; gunicorn's logs are searched afterwards
(stack.Server.failure_lines).
"""

import json
import uuid

from .endpoints import (
    ARTICLE_SEARCH,
    GRAPHQL,
    GRAPHQL_ERROR,
    GRAPHQL_STOCK,
    HEALTH,
    ORDER_LIST,
    ORDERS,
    REST_STOCK,
    STOCK_REPORT,
    SUPPLIER_ARTICLES,
    SUPPLIER_LOW_STOCK,
    SUPPLIER_RESTOCK,
    graphql_body,
    restock_body,
    restock_path,
)
from .stack import Server


def _probes(key: str, fixtures: dict) -> list[tuple[str, str, str, dict | None]]:
    """(role, method, path, body) of each kind of request the scenario `key` sends."""
    own = fixtures["own_articles"][0]
    hot = fixtures["hot_articles"][0]
    report = ("clerk", "GET", STOCK_REPORT, None)
    return {
        "health": [("", "GET", HEALTH, None)],
        "warm": [report],
        "disabled": [report],
        "cold": [("clerk", "POST", restock_path(own["id"]), restock_body(1)), report],
        "staff": [
            report,
            ("clerk", "GET", ARTICLE_SEARCH.format(term=fixtures["search_terms"][0]), None),
            ("clerk", "GET", ORDER_LIST.format(page=1), None),
        ],
        # A delivery first, so that the order has its stock.
        "storm": [
            ("supplier", "POST", restock_path(hot), restock_body(1)),
            (
                "clerk",
                "POST",
                ORDERS,
                {"customer": fixtures["customers"][0], "lines": [{"article": hot, "quantity": 1}]},
            ),
        ],
        "rest": [("supplier", "GET", REST_STOCK, None)],
        "graphql": [("supplier", "POST", GRAPHQL, graphql_body(GRAPHQL_STOCK))],
        "supplier": [
            ("supplier", "POST", GRAPHQL, graphql_body(SUPPLIER_ARTICLES)),
            ("supplier", "POST", GRAPHQL, graphql_body(SUPPLIER_LOW_STOCK)),
            ("supplier", "POST", GRAPHQL, graphql_body(SUPPLIER_RESTOCK, sku=own["sku"])),
        ],
    }[key]


def answers(server: Server, key: str, fixtures: dict) -> list[str]:
    """What is wrong with the answer to each kind of request of the scenario `key`, sent once each."""
    problems = []
    for role, method, path, body in _probes(key, fixtures):
        headers = {"Idempotency-Key": str(uuid.uuid4())} if path == ORDERS else {}
        token = fixtures["tokens"][role] if role else ""
        status, answer = server.request(method, path, token=token, body=body, headers=headers)
        if not 200 <= status < 300 or GRAPHQL_ERROR in answer:
            problems.append(f"{key}: {method} {path} answered {status}: {answer[:300]!r}")
        elif path == ORDERS and json.loads(answer).get("payment") is None:
            problems.append(
                f"{key}: the order was placed without its payment (is payments reachable?): {answer[:300]!r}"
            )
    if key == "rest" and not problems:
        problems += same_stock(server, fixtures["tokens"]["supplier"])
    return problems


def _rest_rows(body: bytes) -> list[tuple]:
    names = ("article_id", "sku", "name", "quantity", "min_quantity", "max_quantity", "is_low")
    return [tuple(row[name] for name in names) for row in json.loads(body)["results"]]


def _graphql_rows(body: bytes) -> list[tuple]:
    rows = []
    for edge in json.loads(body)["data"]["articles"]["edges"]:
        node, stock = edge["node"], edge["node"]["stock"] or {}
        fields = ("quantity", "minQuantity", "maxQuantity", "isLow")
        rows.append((int(node["id"]), node["sku"], node["name"], *(stock.get(name) for name in fields)))
    return rows


def same_stock(server: Server, token: str) -> list[str]:
    """Why the REST and GraphQL stock of 100 articles differ, if they do (nothing writes meanwhile)."""
    rest_status, rest = server.request("GET", REST_STOCK, token=token)
    graphql_status, graphql = server.request("POST", GRAPHQL, token=token, body=graphql_body(GRAPHQL_STOCK))
    if rest_status != 200 or graphql_status != 200 or GRAPHQL_ERROR in graphql:
        return [f"the stock of 100 articles answered {rest_status} by REST and {graphql_status} by GraphQL"]
    rest_rows, graphql_rows = _rest_rows(rest), _graphql_rows(graphql)
    if len(rest_rows) != 100 or rest_rows != graphql_rows:
        return [
            f"REST ({len(rest_rows)} rows) and GraphQL ({len(graphql_rows)} rows) differ on the stock of "
            "100 articles"
        ]
    return []

"""Checks that the figures measure answers, not failures; none of them needs the payments service.

The store is served without payments (stack.py gives it the shared secrets so that it starts), and
no scenario calls it: reads, restocks and GraphQL never reach payments, only paying or refunding an
order does. Before the load, every distinct request of the scenarios is sent once and must be
answered 2xx without an error in its body (a GraphQL error comes with a 200), and the REST and
GraphQL stock of 100 articles must hold the same data. During the load, the clients count 5xx
answers and requests without an answer (load.py), and gunicorn's log is searched for failures
(Server.failure_lines): either fails the run.
"""

import http.client
import json

from .load import HOST, Scenario
from .scenarios import GRAPHQL, GRAPHQL_STOCK, REST_STOCK


def _send(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes | None
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(method, path, body, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def answers(port: int, scenarios: list[Scenario]) -> list[str]:
    """What is wrong with the answer to each distinct request of `scenarios`, sent once each."""
    problems = []
    for scenario in scenarios:
        requests = dict.fromkeys(request for cycle in scenario.cycles for request in cycle)
        for request in requests:
            status, body = _send(port, request.method, request.path, scenario.headers, request.body)
            if not 200 <= status < 300 or (request.error_marker and request.error_marker in body):
                problems.append(
                    f"{scenario.title}: {request.method} {request.path} answered {status}: {body[:300]!r}"
                )
    return problems


def same_stock(port: int, headers: dict[str, str]) -> str | None:
    """Why the REST and GraphQL stock of 100 articles differ, or None if they hold the same rows."""
    status, body = _send(port, "GET", REST_STOCK, headers, None)
    if status != 200:
        return f"REST stock list answered {status}: {body[:300]!r}"
    rest = [
        (
            r["article_id"],
            r["sku"],
            r["name"],
            r["quantity"],
            r["min_quantity"],
            r["max_quantity"],
            r["is_low"],
        )
        for r in json.loads(body)["results"]
    ]
    status, body = _send(port, "POST", GRAPHQL, headers, json.dumps({"query": GRAPHQL_STOCK}).encode())
    answer = json.loads(body)
    if status != 200 or answer.get("errors"):
        return f"GraphQL stock query answered {status}: {body[:300]!r}"
    graphql = []
    for edge in answer["data"]["articles"]["edges"]:
        node, stock = edge["node"], edge["node"]["stock"] or {}
        graphql.append(
            (
                int(node["id"]),
                node["sku"],
                node["name"],
                *(stock.get(name) for name in ("quantity", "minQuantity", "maxQuantity", "isLow")),
            )
        )
    if len(rest) != 100 or rest != graphql:
        return (
            f"REST ({len(rest)} rows) and GraphQL ({len(graphql)} rows) differ on the stock of 100 articles"
        )
    return None

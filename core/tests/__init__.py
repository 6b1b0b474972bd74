"""Helpers shared by the door (API) tests of every app."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

ERROR_KEYS = {"status", "code", "message", "fields", "details"}
ROLES = ("manager", "clerk", "supplier", "customer")


def assert_error(response, status: int, code: str) -> dict:
    """The response is the one error shape with this status and code; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    assert isinstance(body["details"], dict)
    return body


def role_matrix(endpoints) -> list:
    """One pytest param per (endpoint, role).

    `endpoints` holds `(method, url, payload, {role: status})`; a role not named must get 403.
    """
    return [
        pytest.param(role, method, url, payload, allowed.get(role, 403), id=f"{role}-{method}-{url}")
        for method, url, payload, allowed in endpoints
        for role in ROLES
    ]


def assert_answered(response, expected: int) -> None:
    """The role matrix's expected status: a 403 is the one error shape's `permission_denied`."""
    if expected == 403:
        assert_error(response, 403, "permission_denied")
    else:
        assert response.status_code == expected, response.content


def call(client, method: str, url: str, payload=None):
    """`client.<method>(url)`, with `payload` sent as JSON when there is one."""
    if payload is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, payload, format="json")


def count_list_queries(client, url: str, page_size: int) -> int:
    """The number of SQL queries one GET of a list page issues (it must return a full page)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": page_size})
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == page_size
    return len(queries)


class StopAfterRounds:
    """Stands in for a worker's sleep between rounds (core.worker): interrupts the loop after `rounds`."""

    def __init__(self, rounds: int):
        self.rounds_left = rounds

    def __call__(self, seconds: float) -> None:
        self.rounds_left -= 1
        if self.rounds_left == 0:
            raise KeyboardInterrupt

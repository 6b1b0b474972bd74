"""The production topology for the tests: `make stack`'s code (scripts/stack.py) on free ports, and
what the tests need to talk to it (tokens, sessions, the services' request counters).

The stack is started once per test run (the `stack` fixture of core/tests/conftest.py): its own
MariaDB servers and Redis, the store replicas and payments under gunicorn with DEBUG off, the
workers, Prometheus and the real KrakenD in front, with krakend.json itself.
"""

import json
import re
from collections import Counter

import pytest
import requests

from scripts.gateway import krakend_missing
from scripts.stack import Stack, StackPorts

# The store's own budgets the tests run into (a supplier's GraphQL mutations), every other budget as
# deployed: the gateway answers before the store wherever its limits are the stricter.
STACK_THROTTLE_RATES = "supplier_write=3/min"
REQUEST_TIMEOUT = 40.0  # seconds: beyond every gateway timeout, so the gateway's answer always comes first


def require_krakend() -> None:
    """The gateway tests need the KrakenD binary the bootstrap builds: without it they are skipped,
    saying why (pytest runs with -rs), and the gateway is untested."""
    reason = krakend_missing()
    if reason:
        pytest.skip(reason)


def new_stack(state_dir) -> Stack:
    """Not started yet: `with new_stack(...) as stack` starts it and stops it at the end."""
    return Stack(
        ports=StackPorts.free(),
        state_dir=state_dir,
        log_level="WARNING",
        store_settings={"THROTTLE_RATES": STACK_THROTTLE_RATES},
    )


def view_names(stack: Stack, paths: list[str], *, service: str) -> list[str]:
    """The view each path resolves to in the service's own URLconf (the name its /metrics count under)."""
    code = (
        "import json; from django.urls import resolve; "
        f"print(json.dumps([resolve(path).view_name for path in {paths!r}]))"
    )
    return json.loads(stack.manage("shell", "-c", code, service=service).strip().splitlines()[-1])


def session() -> requests.Session:
    client = requests.Session()
    client.trust_env = False  # no proxy from the environment between the tests and 127.0.0.1
    return client


def logged_in_session(stack: Stack, username: str, password: str) -> requests.Session:
    """A browser's session through the gateway: the admin's login form, its CSRF cookie and token."""
    client = session()
    login = f"{stack.gateway_url}/admin/login/"
    client.get(login, timeout=REQUEST_TIMEOUT).raise_for_status()
    answer = client.post(
        login,
        data={
            "username": username,
            "password": password,
            "next": "/admin/",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Origin": stack.gateway_url, "Referer": login},
        timeout=REQUEST_TIMEOUT,
    )
    assert answer.status_code == 200 and "sessionid" in client.cookies, answer.text[:500]
    return client


def request_counts(base_url: str) -> Counter:
    """The service's requests answered so far, by (view, method), from its /metrics."""
    text = session().get(f"{base_url}/metrics", timeout=REQUEST_TIMEOUT).text
    counts = Counter()
    for line in text.splitlines():
        match = re.match(r"http_request_duration_seconds_count\{(.*)\} ([\d.e+]+)$", line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
            counts[labels["view"], labels["method"]] += float(match.group(2))
    return counts


def store_request_counts(stack: Stack) -> Counter:
    """Over every replica (each counts its own)."""
    return sum((request_counts(f"http://127.0.0.1:{port}") for port in stack.ports.replicas), Counter())

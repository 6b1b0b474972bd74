"""Faults in the production topology under load, through the real KrakenD (issue 12): a store
replica, KrakenD itself, the payments service and Redis killed while clients read and place orders.

Each fault is a SIGKILL to the program's whole process group, as a crash; the stack's supervisor
brings it back as docker compose would (`restart: unless-stopped`), and nothing else is restarted.
Where something can still serve, clients see nothing but the requests that were in flight; where
nothing can, a clear failure (the gateway's bare 500, or no connection while KrakenD is down);
afterwards everything answers again, and no committed order is lost.
"""

import json
import uuid

import pytest

from .live_stack import REQUEST_TIMEOUT, session
from .load import Load, wait_until

CLIENTS = 4  # readers; plus one client placing orders
# Seconds between two requests of a client: together under the clerk's limits at the gateway (reads
# 20/s, orders 2/s a client), so that every refusal the tests see comes from the fault.
READ_PACE = 0.3
ORDER_PACE = 0.6
RECOVERY = 30.0  # seconds for a killed program to be back and serving
IN_FLIGHT = 0.5  # seconds: longer than any request takes here (the p99 is under 0.1 s)


@pytest.fixture(scope="module")
def clerk_token(stack):
    return stack.token("clerk")


@pytest.fixture(scope="module")
def article(stack, clerk_token):
    """An article without capacity with stock for every order of this module, whatever was seeded."""
    stocks = ask(stack, "GET", "/store-api/stocks/?page_size=100", clerk_token).json()["results"]
    uncapped = next(stock for stock in stocks if stock["max_quantity"] is None)
    stack.manage("restock", uncapped["sku"], "5000", "--reference", "fault tests")
    return uncapped["article_id"]


def read_articles(client):
    sample = client.get("/store-api/articles/?page_size=5", name="read")
    assert not 400 <= sample.status < 500, f"read answered {sample.status}"
    client.load.keep_going(READ_PACE)


def placing_orders(placed: list[int], article: int):
    def place(client):
        sample = client.post(
            "/store-api/orders/",
            {"customer": 4, "lines": [{"article": article, "quantity": 1}]},
            name="order",
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert not 400 <= sample.status < 500, f"order answered {sample.status}: {sample.body}"
        if sample.status == 201:
            placed.append(sample.body["id"])
        client.load.keep_going(ORDER_PACE)

    return place


def as_clerk(token) -> dict[str, str]:
    return {"Authorization": f"Token {token}", "Content-Type": "application/json"}


def load_on(stack, token) -> Load:
    return Load(stack.gateway_url, headers=as_clerk(token))


def ask(stack, method, path, token, **options):
    headers = {**as_clerk(token), **options.pop("headers", {})}
    return session().request(
        method, stack.gateway_url + path, headers=headers, timeout=REQUEST_TIMEOUT, **options
    )


def serving(stack, token) -> bool:
    try:
        return ask(stack, "GET", "/store-api/articles/?page_size=1", token).status_code == 200
    except OSError:
        return False


def back(stack, name: str) -> bool:
    """Running and answering its probe again (a replica's own health port, Redis's port)."""
    program = stack.supervisor.programs[name]
    return program.running and program.ready()


def assert_orders_kept(stack, token, placed):
    for order_id in placed:
        assert ask(stack, "GET", f"/store-api/orders/{order_id}/", token).status_code == 200, order_id


def test_a_killed_replica_costs_only_what_it_had_in_flight(stack, clerk_token, article):
    placed = []
    load = load_on(stack, clerk_token)
    with load.running(*[read_articles] * CLIENTS, placing_orders(placed, article)):
        load.phase("both replicas")
        load.keep_going(2)
        load.phase("one replica killed")
        load.keep_going(IN_FLIGHT)  # what started before now is counted in the phase before
        stack.supervisor.kill("store-2")
        load.keep_going(3)
        wait_until(lambda: back(stack, "store-2"), timeout=RECOVERY, what="store-2 back")
        wait_until(lambda: serving(stack, clerk_token), timeout=RECOVERY, what="serving again")
        load.phase("replica back")
        load.keep_going(2)

    print(load.summary())
    assert load.problems == []
    assert load.failures(phase="both replicas") == []
    assert len(load.failures(phase="one replica killed")) <= CLIENTS + 1  # at most what was in flight
    assert load.failures(phase="replica back") == []
    assert load.statuses(phase="one replica killed", name="read")[200] > 10  # the other replica served
    assert_orders_kept(stack, clerk_token, placed)


def test_with_no_replica_left_the_gateway_answers_a_bare_500_then_serves_again(stack, clerk_token):
    for name in ("store-1", "store-2"):
        stack.supervisor.stop(name)
    try:
        answer = ask(stack, "GET", "/store-api/articles/", clerk_token)
        assert answer.status_code == 500 and answer.content == b""
    finally:
        for name in ("store-1", "store-2"):
            stack.supervisor.start(stack.supervisor.programs[name])
    # The route's circuit may have opened: a trial call comes after its 10 s.
    wait_until(lambda: serving(stack, clerk_token), timeout=RECOVERY, what="serving again")


def test_krakend_killed_refuses_connections_until_it_is_back(stack, clerk_token, article):
    placed = []
    load = load_on(stack, clerk_token)
    with load.running(*[read_articles] * CLIENTS, placing_orders(placed, article)):
        load.phase("gateway up")
        load.keep_going(1)
        load.phase("gateway killed")
        load.keep_going(IN_FLIGHT)  # what started before now is counted in the phase before
        stack.supervisor.kill("krakend")
        wait_until(lambda: serving(stack, clerk_token), timeout=RECOVERY, what="the gateway back")
        load.phase("gateway back")
        load.keep_going(2)

    print(load.summary())
    assert load.failures(phase="gateway up") == [] and load.failures(phase="gateway back") == []
    outage = load.select(phase="gateway killed")
    assert any(sample.status == 0 for sample in outage)  # no gateway: no connection at all
    assert {sample.status for sample in outage} <= {0, 200, 201}
    assert_orders_kept(stack, clerk_token, placed)


def test_orders_are_placed_while_payments_is_down_and_paid_for_once_it_is_back(stack, clerk_token, article):
    stack.supervisor.stop("payments")
    order = json.dumps({"customer": 4, "lines": [{"article": article, "quantity": 1}]})
    try:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        placed = ask(stack, "POST", "/store-api/orders/", clerk_token, data=order, headers=key)
        read = ask(stack, "GET", "/store-api/articles/", clerk_token)
    finally:
        stack.supervisor.start(stack.supervisor.programs["payments"])

    assert placed.status_code == 201 and placed.json()["payment"] is None
    assert read.status_code == 200

    def payment_requested():
        answer = ask(stack, "POST", f"/store-api/orders/{placed.json()['id']}/payment/", clerk_token)
        return answer.status_code in (200, 201) and answer.json()["payment"]["pay_url"]

    # The payments routes' circuits, and the store's own payments breaker, close after their cooldowns.
    wait_until(payment_requested, timeout=RECOVERY, what="the payment requested")


def test_redis_killed_costs_no_5xx_and_the_cache_comes_back(stack, clerk_token, article):
    placed = []
    load = load_on(stack, clerk_token)
    with load.running(*[read_articles] * CLIENTS, placing_orders(placed, article)):
        load.phase("redis up")
        load.keep_going(1)
        load.phase("redis killed")
        load.keep_going(IN_FLIGHT)  # what started before now is counted in the phase before
        stack.supervisor.kill("redis")
        load.keep_going(2)
        wait_until(lambda: back(stack, "redis"), timeout=RECOVERY, what="redis back")
        load.phase("redis back")
        load.keep_going(2)

    print(load.summary())
    assert load.problems == []
    assert [phase for phase in load.phases if load.failures(phase=phase)] == []
    assert load.statuses(phase="redis killed", name="order")[201] >= 1
    ready = session().get(f"http://127.0.0.1:{stack.ports.replicas[0]}/health/ready/", timeout=5)
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}
    assert_orders_kept(stack, clerk_token, placed)

"""The payments service hung, then killed, under a storm of orders (issue 7, faults).

Both services run as deployed: the store under gunicorn (one worker, so one circuit breaker to
reason about) and the real payments service under gunicorn with its own MariaDB database. Clients
place orders without pause while the test stops every payments process (SIGSTOP: connections are
accepted and never answered), lets it go on (SIGCONT: it then serves the requests the store had
given up on), kills it (SIGKILL: connections refused) and starts it again on the same port.

Every order must be placed (201) without waiting on payments longer than one read timeout, and
quickly while the circuit is open; once payments is back, `sync_payments` catches up, and every
order ends with exactly one payment, the one the store knows.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from core.tests.load import Client, Load, percentile, wait_until
from core.tests.processes import ServiceProcess, mysql_session, running_store, store_environment
from orders.models import Order, OrderStatus, PaymentStatus
from scripts.stack import free_ports
from stocks.tests.invariants import assert_stock_matches_ledger

from .payments_service import gunicorn_command, payments_database

pytestmark = pytest.mark.django_db(transaction=True)

CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 2.0
BREAKER_THRESHOLD = 5
BREAKER_COOLDOWN = 3.0
CLIENTS = 6
# One worker, one breaker; as many threads as clients, so no order queues behind another.
STORE_GUNICORN = ["--workers", "1", "--threads", str(CLIENTS), "--graceful-timeout", "2"]
HUNG_SECONDS = 5.0
# What an order may cost on top of its own work: once payments answers nothing, one read timeout
# (a timeout is never retried); once the circuit is open, nothing.
SLACK = 1.0
FAST = READ_TIMEOUT / 2
PACE = 0.25  # seconds a client waits between orders: enough orders to measure, few enough to sync quickly


@pytest.fixture
def ports():
    store, payments = free_ports(2)
    return {"store": store, "payments": payments}


@pytest.fixture
def payments(ports, tmp_path):
    with payments_database(store_url=f"http://127.0.0.1:{ports['store']}", port=ports["payments"]) as service:
        server = ServiceProcess(
            command=gunicorn_command(service.url), env=service.env, port=ports["payments"], log=service.log
        )
        server.start()
        try:
            yield service, server
        finally:
            server.stop()


@pytest.fixture
def store(transactional_db, ports, payments, tmp_path):
    service, _ = payments
    env = store_environment(
        redis_url=django_settings.CACHES["default"]["LOCATION"],
        payments_url=service.api_root,
        PAYMENTS_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        PAYMENTS_READ_TIMEOUT=str(READ_TIMEOUT),
        PAYMENTS_BREAKER_THRESHOLD=str(BREAKER_THRESHOLD),
        PAYMENTS_BREAKER_COOLDOWN=str(BREAKER_COOLDOWN),
    )
    with running_store(env, log_dir=tmp_path, port=ports["store"], options=STORE_GUNICORN) as server:
        yield server


def order_placer(article_ids: list[int], customer_id: int):
    turn = iter(range(10**9))

    def place(client: Client) -> None:
        lines = [{"article": article_ids[next(turn) % len(article_ids)], "quantity": 1}]
        answer = client.post("/api/v1/orders/", {"customer": customer_id, "lines": lines}, name="order")
        assert answer.status == 201, f"order: {answer.status} {answer.body}"
        time.sleep(PACE)

    return place


def has_payment(sample) -> bool:
    return isinstance(sample.body, dict) and sample.body.get("payment") is not None


def warm_up(service) -> None:
    """Every payments worker has loaded its URLs and connected: a cold start is not what is measured."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: service.get("/api/v1/payments/?order_id=1"), range(16)))


def payments_by_order(service) -> dict[int, list[tuple]]:
    """Every payment in the payments database, by order: (id, amount, status, live_order_id)."""
    server = mysql_session(service.database)
    try:
        cursor = server.cursor()
        cursor.execute("SELECT order_id, id, amount, status, live_order_id FROM payments_payment")
        found: dict[int, list[tuple]] = {}
        for order_id, *payment in cursor.fetchall():
            found.setdefault(order_id, []).append(tuple(payment))
        return found
    finally:
        server.close()


def sync_payments() -> str:
    output = StringIO()
    call_command("sync_payments", "--limit", "5000", stdout=output)
    return output.getvalue().strip()


def test_orders_keep_coming_while_payments_hangs_or_dies_and_every_order_ends_with_exactly_one_payment(
    store, payments, stocked_article, customer, manager, settings
):
    service, payments_server = payments
    settings.PAYMENTS_URL = service.api_root  # for sync_payments, run here
    articles = [stocked_article(5000, sku=f"HOT-{n}", price=Decimal("2.50")).pk for n in range(2)]
    token = Token.objects.create(user=manager).key
    load = Load(store.url, headers={"Authorization": f"Token {token}"})
    warm_up(service)

    with load.running(*[order_placer(articles, customer.pk) for _ in range(CLIENTS)]):
        load.phase("payments up")
        load.keep_going(1.0)
        load.phase("payments hung")
        payments_server.pause()
        load.keep_going(HUNG_SECONDS)
        load.phase("payments resumed")  # it now serves what the store gave up waiting for
        payments_server.resume()
        load.keep_going(1.0)
        load.phase("payments killed")
        payments_server.kill()
        load.keep_going(1.5)
        load.phase("payments restarted")
        payments_server.start()
        back_after = wait_until(
            lambda: any(has_payment(sample) for sample in load.select(phase="payments restarted")),
            timeout=2 * BREAKER_COOLDOWN + READ_TIMEOUT + SLACK,
            what="orders with their payment once payments is back",
        )
    hung_at = load.phases["payments hung"]
    print(f"\n{load.summary()}\norders paid again {back_after:.2f} s after the restart")

    assert load.problems == []
    assert load.failures() == []
    for phase in load.phases:
        assert load.select(phase=phase), f"no order while {phase}"
    answered_while_up = [
        sample for sample in load.select(phase="payments up") if sample.started + sample.seconds < hung_at
    ]
    assert answered_while_up and all(has_payment(sample) for sample in answered_while_up)

    # Hung: an order waits one read timeout at most, and only until the circuit opens.
    hung = load.select(phase="payments hung")
    assert max(sample.seconds for sample in hung) < READ_TIMEOUT + SLACK
    waited = [sample for sample in hung if sample.seconds >= READ_TIMEOUT * 0.9]
    trials = int(HUNG_SECONDS // BREAKER_COOLDOWN) + 1  # a half-open trial call per cooldown
    assert len(waited) <= max(CLIENTS, BREAKER_THRESHOLD) + trials
    # The circuit opens once the orders caught by the hang time out (at the latest a pace, an order's
    # own work and a read timeout after it began) and stays open a cooldown after (at the earliest a
    # read timeout after it began): orders placed in between never wait for payments.
    opened_at = hung_at + PACE + READ_TIMEOUT + 0.5
    closes_at = hung_at + READ_TIMEOUT + BREAKER_COOLDOWN - 0.25
    while_open = [sample.seconds for sample in hung if opened_at <= sample.started <= closes_at]
    assert len(while_open) >= CLIENTS and percentile(while_open, 95) < FAST
    # Killed: a refused connection costs nothing, retried or not.
    killed = [sample.seconds for sample in load.select(phase="payments killed")]
    assert percentile(killed, 95) < FAST
    assert max(killed) < READ_TIMEOUT + SLACK

    placed = {sample.body["id"] for sample in load.samples}
    without_payment = Order.objects.filter(payment_id__isnull=True).count()
    synced, sync_seconds = timed(sync_payments)
    print(f"{without_payment} of {len(placed)} orders placed without their payment")
    print(f"sync_payments in {sync_seconds:.1f} s: {synced}")
    assert without_payment > 0
    assert synced.endswith(" 0 failed.")

    # No order lost or added, and each has exactly one payment, the one the store knows.
    orders = {order.pk: order for order in Order.objects.all()}
    assert set(orders) == placed
    payments_there = payments_by_order(service)
    assert set(payments_there) == placed
    doubled = {order_id: found for order_id, found in payments_there.items() if len(found) != 1}
    assert doubled == {}
    for order_id, order in orders.items():
        [(payment_id, amount, status, live_order_id)] = payments_there[order_id]
        assert (order.status, order.payment_status) == (OrderStatus.PENDING, PaymentStatus.PENDING)
        assert (order.payment_id, order.total) == (payment_id, amount)
        assert (status, live_order_id) == ("pending", order_id)
    assert {order.total for order in orders.values()} == {Decimal("2.50")}
    assert_stock_matches_ledger()


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started

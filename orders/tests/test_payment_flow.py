"""The order payment flow against the REAL payments service, started on a local port.

The store under test is pytest-django's live server (payments notifies it there); payments runs in
its own gunicorn process with its own fresh MariaDB database (payments_service.py). The tiny stub
servers stand in only for the failure modes the real service cannot be asked to play: slow, 500.
"""

import threading
import time
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from orders.models import Order, OrderStatus, PaymentStatus
from orders.payments_client import CircuitBreaker, PaymentsClient, breaker
from stocks.models import MovementKind, Stock, StockMovement
from stocks.services import stock_restock, stock_set_limits
from users.models import Role
from users.tests.factories import UserFactory

from .payments_service import running_payments_service
from .payments_stub import refused_url, stub_server

pytestmark = pytest.mark.django_db(transaction=True)

GOOD_CARD = {
    "card_number": "4242 4242 4242 4242",
    "cvc": "123",
    "expiry": f"12/{(date.today().year + 2) % 100:02d}",
}
DECLINED_CARD = {**GOOD_CARD, "card_number": "4000 0000 0000 0002"}
# Generous bounds on what an order may cost on top of its own work when payments fails: far below what
# a hang would cost (the slow stub answers after 3 s), far above a loaded machine's noise.
SLACK = 2.0


@pytest.fixture(scope="module")
def payments(live_server):
    with running_payments_service(store_url=live_server.url) as service:
        yield service


@pytest.fixture(autouse=True)
def payments_here(payments, settings):
    """The store talks to the real payments service, which starts each test without payments."""
    payments.empty()
    settings.PAYMENTS_URL = payments.api_root


def eventually(read, done, timeout: float = 10.0):
    """`read()` again until `done` says yes to its value: that value, or the test fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not done(value := read()):
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s"
        time.sleep(0.05)
    return value


class Store:
    """The store under test, reached over HTTP like any client, as a clerk."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def post(self, path: str, body=None, **headers) -> requests.Response:
        return self.session.post(self.url + path, json=body, headers=headers, timeout=30)

    def get(self, path: str) -> dict:
        response = self.session.get(self.url + path, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def place_order(self, body: dict, **headers) -> tuple[dict, float]:
        """The created order and how long the request took."""
        started = time.monotonic()
        response = self.post("/api/v1/orders/", body, **headers)
        elapsed = time.monotonic() - started
        assert response.status_code == 201, response.text
        return response.json(), elapsed

    def order(self, order_id: int) -> dict:
        return self.get(f"/api/v1/orders/{order_id}/")

    def wait_for_status(self, order_id: int, status: str) -> dict:
        return eventually(lambda: self.order(order_id), lambda order: order["status"] == status)


@pytest.fixture
def store(live_server):
    clerk = UserFactory(role=Role.CLERK)
    return Store(live_server.url, Token.objects.create(user=clerk).key)


@pytest.fixture
def tea(stocked_article):
    return stocked_article(100, sku="TEA-1", price=Decimal("4.20"))


@pytest.fixture
def new_order(customer, tea):
    """The body of an order of 2 teas (8.40)."""
    return {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 2}]}


def pay(pay_url: str, card: dict) -> requests.Response:
    """What the paying client does with the order's pay_url (no store or service credentials)."""
    return requests.post(pay_url, json=card, timeout=30)


def sync_payments() -> str:
    output = StringIO()
    call_command("sync_payments", stdout=output)
    return output.getvalue()


def stock_of(article) -> int:
    return Stock.objects.get(article=article).quantity


# --- the happy path ---------------------------------------------------------------------------


def test_an_order_gets_its_payment_and_becomes_paid_when_the_customer_pays(store, payments, new_order):
    order, _ = store.place_order(new_order)

    payment = order["payment"]
    assert order["status"] == "pending"
    assert payment["status"] == "pending" and payment["pay_url"].startswith(
        f"{payments.url}/api/v1/payments/"
    )
    assert requests.get(payment["pay_url"], timeout=5).json()["status"] == "pending"

    declined = pay(payment["pay_url"], DECLINED_CARD)
    assert (declined.status_code, declined.json()["code"]) == (402, "card_declined")
    assert store.order(order["id"])["status"] == "pending"

    paid = pay(payment["pay_url"], GOOD_CARD)
    assert paid.status_code == 200, paid.text

    order = store.wait_for_status(order["id"], "paid")
    assert order["status"] == "paid"
    assert order["payment"] == {**payment, "status": "paid"}
    there = payments.get(f"/api/v1/payments/{payment['id']}/")
    assert (there["order_id"], there["amount"], there["status"], there["card_last4"]) == (
        order["id"],
        "8.40",
        "paid",
        "4242",
    )
    assert pay(payment["pay_url"], GOOD_CARD).status_code == 409  # already paid: charged once


MAX_STATEMENTS_PER_ORDER = 12  # issue 15's budget, an Idempotency-Key and the payment request included


@pytest.mark.django_db(transaction=True)
def test_placing_an_order_and_requesting_its_payment_costs_at_most_12_sql_statements(
    stocked_article, customer, clerk
):
    """In this process, as a replica serves it: the key, the order, its 3 lines, their stock and ledger
    in one transaction, then the payment linked (the token read once, then from the cache)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=clerk).key}")
    lines = [{"article": stocked_article(50).pk, "quantity": quantity} for quantity in (1, 2, 3)]

    def place(key: str):
        with CaptureQueriesContext(connection) as statements:
            answer = client.post(
                "/api/v1/orders/",
                {"customer": customer.pk, "lines": lines},
                format="json",
                HTTP_IDEMPOTENCY_KEY=key,
            )
        assert answer.status_code == 201, answer.content
        return answer.json(), [statement["sql"] for statement in statements.captured_queries]

    place("warm-up-order-0001")
    order, statements = place("counted-order-0001")

    assert order["payment"] is not None and order["payment"]["pay_url"]
    assert len(statements) <= MAX_STATEMENTS_PER_ORDER, "\n".join(statements)


def test_requesting_the_payment_again_returns_the_one_the_order_has(store, new_order):
    order, _ = store.place_order(new_order)

    again = store.post(f"/api/v1/orders/{order['id']}/payment/")

    assert again.status_code == 200
    assert again.json()["payment"] == order["payment"]


def test_cancelling_a_paid_order_refunds_it_first_and_returns_its_stock(
    store, payments, new_order, tea, settings
):
    order = paid_order(store, new_order)

    with refused_url() as nowhere:
        settings.PAYMENTS_URL = nowhere
        refused = store.post(f"/api/v1/orders/{order['id']}/cancel/")
    assert (refused.status_code, refused.json()["code"]) == (503, "payments_unavailable")
    assert (store.order(order["id"])["status"], stock_of(tea)) == ("paid", 98)
    assert payments.get(f"/api/v1/payments/{order['payment']['id']}/")["status"] == "paid"

    settings.PAYMENTS_URL = payments.api_root
    cancelled = store.post(f"/api/v1/orders/{order['id']}/cancel/")

    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["payment"]["status"]) == ("cancelled", "refunded")
    assert payments.get(f"/api/v1/payments/{order['payment']['id']}/")["status"] == "refunded"
    assert stock_of(tea) == 100


def paid_order(store, new_order) -> dict:
    order, _ = store.place_order(new_order)
    assert pay(order["payment"]["pay_url"], GOOD_CARD).status_code == 200
    order = store.wait_for_status(order["id"], "paid")
    assert order["status"] == "paid"
    return order


CONCURRENT_CANCELS = 4


def test_concurrent_cancels_of_a_paid_order_refund_it_once_and_return_its_stock_once(
    store, payments, new_order, tea
):
    order = paid_order(store, new_order)
    cancel_url = f"/api/v1/orders/{order['id']}/cancel/"
    start = threading.Barrier(CONCURRENT_CANCELS)
    answers = []

    def cancel():
        start.wait(timeout=10)
        answers.append(store.post(cancel_url))

    threads = [threading.Thread(target=cancel) for _ in range(CONCURRENT_CANCELS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    outcomes = sorted((answer.status_code, answer.json().get("code")) for answer in answers)
    assert outcomes == [(200, None)] + [(409, "order_not_cancellable")] * (CONCURRENT_CANCELS - 1)
    cancelled = store.order(order["id"])
    assert (cancelled["status"], cancelled["payment"]["status"]) == ("cancelled", "refunded")
    assert payments.get(f"/api/v1/payments/{order['payment']['id']}/")["status"] == "refunded"
    assert stock_of(tea) == 100
    returned = StockMovement.objects.filter(kind=MovementKind.CANCEL, article=tea)
    assert list(returned.values_list("delta", flat=True)) == [2]


def test_a_cancel_the_stock_limit_refuses_is_refused_before_any_money_moves(store, payments, new_order, tea):
    order = paid_order(store, new_order)
    stock_set_limits(article_id=tea.pk, min_quantity=0, max_quantity=99)  # 98 + 2 would pass it

    refused = store.post(f"/api/v1/orders/{order['id']}/cancel/")

    assert (refused.status_code, refused.json()["code"]) == (409, "stock_limit_exceeded")
    assert "payment_refunded" not in refused.json()["details"]
    assert store.order(order["id"]) == order
    assert payments.get(f"/api/v1/payments/{order['payment']['id']}/")["status"] == "paid"


def test_a_cancel_refused_after_its_refund_records_the_refund_and_completes_when_tried_again(
    store, payments, new_order, tea, manager, monkeypatch
):
    """The one case the rehearsal cannot catch: the stock changed between the refund and the cancel."""
    order = paid_order(store, new_order)
    stock_set_limits(article_id=tea.pk, min_quantity=0, max_quantity=100)
    real_refund = PaymentsClient.refund

    def refund_then_a_restock_lands(client, payment_id):
        real_refund(client, payment_id)
        if stock_of(tea) == 98:
            stock_restock(article_id=tea.pk, quantity=2, reference="delivery", user=manager)

    monkeypatch.setattr(PaymentsClient, "refund", refund_then_a_restock_lands)

    refused = store.post(f"/api/v1/orders/{order['id']}/cancel/")

    assert (refused.status_code, refused.json()["code"]) == (409, "stock_limit_exceeded")
    assert refused.json()["details"]["payment_refunded"] is True
    now = store.order(order["id"])
    assert (now["status"], now["payment"]["status"]) == ("paid", "refunded")
    assert payments.get(f"/api/v1/payments/{order['payment']['id']}/")["status"] == "refunded"

    stock_set_limits(article_id=tea.pk, min_quantity=0, max_quantity=200)
    cancelled = store.post(f"/api/v1/orders/{order['id']}/cancel/")

    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["payment"]["status"]) == ("cancelled", "refunded")
    assert stock_of(tea) == 102


def test_a_payment_made_after_its_order_was_cancelled_is_refunded_by_sync_payments(
    store, payments, new_order, tea
):
    order, _ = store.place_order(new_order)
    assert store.post(f"/api/v1/orders/{order['id']}/cancel/").status_code == 200

    assert pay(order["payment"]["pay_url"], GOOD_CARD).status_code == 200  # the customer was too late

    # The payment's notification reaches the store.
    eventually(
        lambda: Order.objects.get(pk=order["id"]).payment_status, lambda status: status == PaymentStatus.PAID
    )
    kept = Order.objects.get(pk=order["id"])
    assert (kept.status, kept.payment_status) == (OrderStatus.CANCELLED, PaymentStatus.PAID)
    assert "1 refunded" in sync_payments()
    assert payments.get(f"/api/v1/payments/{order['payment']['id']}/")["status"] == "refunded"
    assert Order.objects.get(pk=order["id"]).payment_status == PaymentStatus.REFUNDED
    assert stock_of(tea) == 100
    assert "Checked 0 order(s)" in sync_payments()


def test_a_lost_notification_is_caught_up_by_sync_payments_and_its_redelivery_changes_nothing(
    store, payments, new_order, settings
):
    order, _ = store.place_order(new_order)
    settings.PAYMENTS_WEBHOOK_SECRET = "not-what-payments-signs-with"  # the store refuses the notification
    assert pay(order["payment"]["pay_url"], GOOD_CARD).status_code == 200
    assert store.order(order["id"])["status"] == "pending"

    assert "1 paid" in sync_payments()
    paid = Order.objects.get(pk=order["id"])
    assert (paid.status, paid.payment_status) == (OrderStatus.PAID, PaymentStatus.PAID)
    assert "0 paid" in sync_payments()  # nothing left to do

    settings.PAYMENTS_WEBHOOK_SECRET = payments.env["PAYMENTS_WEBHOOK_SECRET"]
    time.sleep(2.1)  # the outbox's first backoff
    assert payments.manage("deliver_payment_events").strip() == "Delivered 1, failed 0."
    assert Order.objects.get(pk=order["id"]).updated_at == paid.updated_at


# --- payments down, slow or failing -----------------------------------------------------------


def failed_calls(reason: str) -> float:
    """The store's failed calls to payments so far (the live server runs in this process)."""
    return REGISTRY.get_sample_value("payments_client_failures_total", {"reason": reason}) or 0.0


def test_with_payments_down_orders_are_placed_fast_without_a_payment_and_get_it_later(
    store, payments, new_order, settings, tea
):
    # The circuit stays open for the whole outage however slow the machine (no trial call among the
    # orders), then its cooldown is made short for the trial after payments is back.
    settings.PAYMENTS_BREAKER_COOLDOWN = 60.0
    before = {reason: failed_calls(reason) for reason in ("connection", "circuit_open")}
    with refused_url() as nowhere:
        settings.PAYMENTS_URL = nowhere
        placed = [store.place_order(new_order) for _ in range(8)]

    orders, latencies = [order for order, _ in placed], [elapsed for _, elapsed in placed]
    print(f"payments down: order latencies {[round(t, 3) for t in latencies]}")
    assert all(order["status"] == "pending" and order["payment"] is None for order in orders)
    assert breaker().snapshot()["times_opened"] == 1
    # The first 5 attempts (the first order's 3, the second's 2) open the circuit; the second order's
    # last attempt and the 6 orders after it wait on nothing: their call is not even sent.
    assert failed_calls("connection") - before["connection"] == settings.PAYMENTS_BREAKER_THRESHOLD
    assert failed_calls("circuit_open") - before["circuit_open"] == 1 + 6
    assert stock_of(tea) == 100 - 2 * 8

    settings.PAYMENTS_URL = payments.api_root
    breaker().cooldown = 0.5
    time.sleep(0.5)  # the cooldown: the next call is the circuit's trial
    again = store.post(f"/api/v1/orders/{orders[0]['id']}/payment/")
    assert again.status_code == 200
    assert again.json()["payment"]["status"] == "pending"

    summary = sync_payments()
    assert "Checked 8 order(s): 0 paid, 7 requested, 0 linked, 0 updated, 0 refunded, 1 unchanged" in summary
    assert all(store.order(order["id"])["payment"] is not None for order in orders)
    assert "8 unchanged" in sync_payments()


def test_with_payments_slow_an_order_waits_no_longer_than_the_read_timeout_then_not_at_all(
    store, payments, new_order, settings
):
    settings.PAYMENTS_READ_TIMEOUT = 0.5
    settings.PAYMENTS_BREAKER_THRESHOLD = 3
    settings.PAYMENTS_BREAKER_COOLDOWN = 1.0
    with stub_server() as slow:
        slow.behaviour.delay = 3.0
        settings.PAYMENTS_URL = slow.url
        placed = [store.place_order(new_order) for _ in range(6)]
    latencies = [elapsed for _, elapsed in placed]
    print(f"payments slow: order latencies {[round(t, 3) for t in latencies]}")

    assert all(order["payment"] is None for order, _ in placed)
    # Each of the first 3 waited for the read timeout (a timeout is never retried), and no longer
    # than it by much; then the circuit is open and no call reaches the slow service at all.
    assert all(0.5 <= elapsed < 0.5 + SLACK for elapsed in latencies[:3])
    assert len(slow.received) == 3

    settings.PAYMENTS_URL = payments.api_root
    time.sleep(1.0)  # the cooldown: the next call is the trial
    retried = store.post(f"/api/v1/orders/{placed[0][0]['id']}/payment/")
    assert retried.status_code == 200 and retried.json()["payment"] is not None
    assert breaker().state == CircuitBreaker.CLOSED


def test_with_payments_failing_the_create_is_retried_with_its_key_and_sync_payments_catches_up(
    store, payments, new_order, settings
):
    with stub_server() as failing:
        failing.behaviour.status = 500
        settings.PAYMENTS_URL = failing.url
        order, elapsed = store.place_order(new_order)

    assert order["payment"] is None and elapsed < SLACK
    assert [r.headers["Idempotency-Key"] for r in failing.received] == [f"order-{order['id']}"] * 3

    settings.PAYMENTS_URL = payments.api_root
    assert "1 requested" in sync_payments()
    assert store.order(order["id"])["payment"]["status"] == "pending"


def test_sync_payments_stops_and_fails_when_payments_is_down(store, new_order, settings):
    store.place_order(new_order)
    with refused_url() as nowhere:
        settings.PAYMENTS_URL = nowhere
        with pytest.raises(CommandError, match="1 order\\(s\\) left for the next run"):
            sync_payments()


def test_an_order_waiting_on_payments_holds_no_lock_on_its_stock(store, new_order, settings, tea, manager):
    settings.PAYMENTS_READ_TIMEOUT = 2.0
    with stub_server() as slow:
        slow.behaviour.delay = 3.0
        settings.PAYMENTS_URL = slow.url
        placing = threading.Thread(target=store.place_order, args=(new_order,))
        placing.start()
        eventually(lambda: slow.received, bool)  # the order committed and now waits on payments
        stock_restock(article_id=tea.pk, quantity=5, reference="during-the-wait", user=manager)
        restocked_while_the_order_waited = placing.is_alive()
        placing.join(timeout=10)

    assert restocked_while_the_order_waited
    assert stock_of(tea) == 100 - 2 + 5


# --- the idempotent create and its replay -----------------------------------------------------


def test_a_replayed_create_answers_the_first_order_with_its_payment_as_it_is_now(
    store, payments, new_order, settings
):
    with refused_url() as nowhere:
        settings.PAYMENTS_URL = nowhere
        first, _ = store.place_order(new_order, **{"Idempotency-Key": "replay-1"})
    assert first["payment"] is None

    settings.PAYMENTS_URL = payments.api_root
    response = store.post("/api/v1/orders/", new_order, **{"Idempotency-Key": "replay-1"})

    assert response.status_code == 201 and response.headers["Idempotent-Replayed"] == "true"
    replayed = response.json()
    assert replayed["id"] == first["id"]
    assert replayed["payment"]["status"] == "pending"
    assert {k: v for k, v in replayed.items() if k != "payment"} == {
        k: v for k, v in first.items() if k != "payment"
    }
    assert Order.objects.count() == 1
    assert len(payments.get(f"/api/v1/payments/?order_id={first['id']}")) == 1


# --- a refund made at payments ---------------------------------------------------------------------


def refund_at_payments(payments, payment_id: int) -> None:
    """What customer service does at the payments service, the store not asked."""
    response = requests.post(
        f"{payments.api_root}/payments/{payment_id}/refund/",
        headers={"Authorization": f"Bearer {django_settings.PAYMENTS_SERVICE_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def wait_for_payment_status(store, order_id: int, status: str) -> dict:
    return eventually(lambda: store.order(order_id), lambda order: order["payment"]["status"] == status)


def test_a_refund_made_at_payments_is_notified_and_the_order_shows_it(store, payments, new_order):
    order = paid_order(store, new_order)

    refund_at_payments(payments, order["payment"]["id"])

    refunded = wait_for_payment_status(store, order["id"], "refunded")
    assert (refunded["status"], refunded["payment"]["status"]) == ("paid", "refunded")


def test_a_refund_at_payments_whose_notification_was_lost_is_caught_by_sync_payments(
    store, payments, new_order, settings
):
    order = paid_order(store, new_order)
    settings.PAYMENTS_WEBHOOK_SECRET = "a-secret-payments-does-not-sign-with"  # its notifications refused

    refund_at_payments(payments, order["payment"]["id"])
    time.sleep(0.5)  # the notification's first attempt, refused
    assert store.order(order["id"])["payment"]["status"] == "paid"
    summary = sync_payments()

    assert "1 refunded" in summary
    assert store.order(order["id"])["payment"]["status"] == "refunded"
    assert "Checked 0 order(s)" in sync_payments()  # nothing left to reconcile

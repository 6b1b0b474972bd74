"""`POST /api/v1/orders/{id}/payment-events/`: signed by payments, fresh, and applied exactly once."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, payment_event_signature
from core.tests import assert_error
from orders.models import Order, OrderStatus, PaymentStatus
from orders.services import order_cancel, order_create

PAYMENT_ID = 41


@pytest.fixture
def order(stocked_article, customer, manager):
    """A pending order of 12.60 whose payment (id 41) payments created."""
    tea = stocked_article(10, price=Decimal("4.20"))
    order = order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 3}], created_by=manager)
    Order.objects.filter(pk=order.pk).update(
        payment_id=PAYMENT_ID, payment_status=PaymentStatus.PENDING, pay_url="http://pay.example/41/s/"
    )
    return order


def event(order, **changes) -> dict:
    return {
        "payment_id": PAYMENT_ID,
        "order_id": order.pk,
        "status": "paid",
        "amount": "12.60",
        "currency": "CAD",
        "occurred_at": "2026-01-01T12:00:00+00:00",
        **changes,
    }


def post_event(
    order_id: int, body: dict | bytes, *, secret=None, timestamp=None, signature=None, client=None
):
    """POST a notification as payments does: the raw body, signed over `<timestamp>.<body>`."""
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    if signature is None:
        signature = payment_event_signature(
            secret=secret or settings.PAYMENTS_WEBHOOK_SECRET, timestamp=timestamp, body=raw
        )
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}
    client = client or APIClient(enforce_csrf_checks=True)
    return client.generic(
        "POST",
        f"/api/v1/orders/{order_id}/payment-events/",
        raw,
        content_type="application/json",
        headers={key: value for key, value in headers.items() if value},
    )


def state(order) -> tuple:
    order = Order.objects.get(pk=order.pk)
    return order.status, order.payment_id, order.payment_status, order.updated_at


@pytest.mark.django_db
def test_a_signed_notification_marks_the_order_paid_without_any_user_or_csrf_token(order):
    response = post_event(order.pk, event(order))

    assert response.status_code == 200, response.content
    assert response.json() == {"order_id": order.pk, "status": "paid", "payment_status": "paid"}
    assert state(order)[:3] == (OrderStatus.PAID, PAYMENT_ID, PaymentStatus.PAID)


@pytest.mark.django_db
def test_a_notification_is_checked_by_its_signature_not_by_a_logged_in_user(order, manager):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(manager)
    assert_error(
        post_event(order.pk, event(order), secret="not-the-secret", client=client), 401, "bad_signature"
    )
    assert post_event(order.pk, event(order), client=client).status_code == 200


@pytest.mark.django_db
def test_a_replayed_notification_answers_200_and_marks_the_order_paid_only_once(order):
    body = json.dumps(event(order)).encode()
    timestamp = int(time.time())
    first = post_event(order.pk, body, timestamp=timestamp)
    after_first = state(order)

    replayed = [post_event(order.pk, body, timestamp=timestamp) for _ in range(3)]

    assert first.status_code == 200
    assert [r.status_code for r in replayed] == [200, 200, 200]
    assert all(r.json() == first.json() for r in replayed)
    assert state(order) == after_first  # not even updated_at moved


@pytest.mark.parametrize(
    "forgery",
    [
        "another secret",
        "body changed after signing",
        "timestamp changed after signing",
        "no signature",
        "no timestamp",
    ],
)
@pytest.mark.django_db
def test_a_forged_notification_is_refused_and_changes_nothing(order, forgery):
    before = state(order)
    timestamp = str(int(time.time()))
    signed = json.dumps(event(order)).encode()
    signature = payment_event_signature(
        secret=settings.PAYMENTS_WEBHOOK_SECRET, timestamp=timestamp, body=signed
    )
    response = {
        "another secret": lambda: post_event(order.pk, signed, secret="guessed"),
        "body changed after signing": lambda: post_event(
            order.pk, signed.replace(b"12.60", b"0.01"), timestamp=timestamp, signature=signature
        ),
        "timestamp changed after signing": lambda: post_event(
            order.pk, signed, timestamp=int(timestamp) - 1, signature=signature
        ),
        "no signature": lambda: post_event(order.pk, signed, signature=""),
        "no timestamp": lambda: post_event(order.pk, signed, timestamp="", signature=signature),
    }[forgery]()

    assert_error(response, 401, "bad_signature")
    assert state(order) == before


@pytest.mark.parametrize("age", [310, -310, 3600])  # past 5 minutes, with room for a slow run
@pytest.mark.django_db
def test_a_notification_signed_more_than_5_minutes_away_is_stale(order, age):
    before = state(order)
    response = post_event(order.pk, event(order), timestamp=int(time.time()) - age)
    assert_error(response, 401, "stale_signature")
    assert state(order) == before


@pytest.mark.django_db
def test_a_notification_signed_4_minutes_ago_is_accepted(order):
    assert post_event(order.pk, event(order), timestamp=int(time.time()) - 240).status_code == 200


@pytest.mark.parametrize(("amount", "currency"), [("12.59", "CAD"), ("126.00", "CAD"), ("12.60", "USD")])
@pytest.mark.django_db
def test_a_payment_of_another_amount_is_a_conflict_and_leaves_the_order_pending(order, amount, currency):
    before = state(order)
    response = post_event(order.pk, event(order, amount=amount, currency=currency))
    body = assert_error(response, 409, "payment_amount_mismatch")
    assert body["details"] == {"paid": f"{amount} {currency}", "total": "12.60 CAD"}
    assert state(order) == before


@pytest.mark.django_db
def test_a_payment_other_than_the_orders_own_is_a_conflict(order):
    before = state(order)
    assert_error(post_event(order.pk, event(order, payment_id=99)), 409, "payment_mismatch")
    assert state(order) == before


@pytest.mark.django_db
def test_the_first_payment_the_store_hears_of_is_linked_to_an_order_without_one(order):
    Order.objects.filter(pk=order.pk).update(payment_id=None, payment_status="", pay_url="")
    assert post_event(order.pk, event(order, payment_id=77)).status_code == 200
    assert state(order)[:3] == (OrderStatus.PAID, 77, PaymentStatus.PAID)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"order_id": 1}, "order_id"), ({"status": "failed"}, "status"), ({"amount": "twelve"}, "amount")],
)
@pytest.mark.django_db
def test_a_signed_but_malformed_notification_is_bad_input(order, changes, field):
    before = state(order)
    body = assert_error(post_event(order.pk, event(order, **changes)), 400, "invalid")
    assert field in body["fields"]
    assert state(order) == before


@pytest.mark.django_db
def test_a_signed_body_that_is_not_json_is_bad_input(order):
    assert_error(post_event(order.pk, b"paid!"), 400, "invalid")


@pytest.mark.django_db
def test_a_notification_about_an_unknown_order_is_not_found(order):
    assert_error(post_event(order.pk + 1000, event(order, order_id=order.pk + 1000)), 404, "not_found")


@pytest.mark.django_db
def test_a_payment_made_for_an_order_cancelled_meanwhile_is_kept_for_a_refund(order, manager):
    order_cancel(order_id=order.pk, user=manager)

    response = post_event(order.pk, event(order))

    assert response.status_code == 200
    assert response.json() == {"order_id": order.pk, "status": "cancelled", "payment_status": "paid"}
    assert state(order)[:3] == (OrderStatus.CANCELLED, PAYMENT_ID, PaymentStatus.PAID)


@pytest.mark.django_db
def test_a_late_notification_does_not_undo_a_refund(order):
    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.CANCELLED, payment_status=PaymentStatus.REFUNDED
    )
    before = state(order)
    assert post_event(order.pk, event(order)).status_code == 200
    assert state(order) == before


def test_the_signature_is_hmac_sha256_over_the_timestamp_a_dot_and_the_raw_body():
    expected = hmac.new(b"secret", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert (
        payment_event_signature(secret="secret", timestamp="1700000000", body=b"{}") == f"sha256={expected}"
    )


@pytest.mark.django_db
def test_the_amount_is_compared_as_money_not_as_text(order):
    assert post_event(order.pk, event(order, amount="12.6")).status_code == 200
    assert state(order)[0] == OrderStatus.PAID


@pytest.mark.django_db
def test_a_signed_event_of_json_nested_too_deeply_is_a_400_and_changes_nothing(order):
    before = state(order)

    response = post_event(order.pk, b"[" * 5_000 + b"]" * 5_000)

    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert state(order) == before


@pytest.mark.django_db
def test_a_refund_notified_after_the_payment_shows_on_the_order_which_stays_paid(
    order, api_client, manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(order.pk, event(order)).status_code == 200
    spent_before = api_client(manager).get("/api/v1/reports/top-customers/").json()["results"]

    with django_capture_on_commit_callbacks(execute=True):  # the sales reports follow once it commits
        answer = post_event(order.pk, event(order, status="refunded"))
        again = post_event(order.pk, event(order, status="refunded"))

    assert answer.status_code == 200 and answer.json()["payment_status"] == "refunded"
    assert again.status_code == 200 and state(order)[:3] == (
        OrderStatus.PAID,
        PAYMENT_ID,
        PaymentStatus.REFUNDED,
    )
    assert spent_before and api_client(manager).get("/api/v1/reports/top-customers/").json()["results"] == []


@pytest.mark.django_db
def test_a_refund_of_another_payment_than_the_orders_is_a_conflict(order):
    post_event(order.pk, event(order))
    before = state(order)

    answer = post_event(order.pk, event(order, status="refunded", payment_id=PAYMENT_ID + 1))

    assert answer.status_code == 409
    assert state(order) == before

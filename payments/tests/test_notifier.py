"""Notifications to the store, delivered to a real HTTP server on 127.0.0.1 (or to a closed port)."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from payments import notifier
from payments.models import Notification
from payments.notifier import Delivery, backoff, notification_deliver

from .helpers import GOOD_CARD, pay
from .store_server import closed_port

pytestmark = pytest.mark.django_db


def signature(received, secret: str) -> str:
    """The signature the store expects of this request (ADR 0005), made apart from payments.notifier."""
    timestamp = received.headers["X-Payments-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256)
    return f"sha256={expected.hexdigest()}"


def assert_signed(received, secret: str) -> dict:
    """Check the request as the store would (ADR 0005), independently of payments.notifier."""
    assert abs(time.time() - int(received.headers["X-Payments-Timestamp"])) < 300
    assert received.headers["X-Payments-Signature"] == signature(received, secret)
    assert received.headers["Content-Type"] == "application/json"
    return json.loads(received.body)


def make_due(notification: Notification) -> None:
    """As if its backoff had passed."""
    Notification.objects.filter(pk=notification.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_paid_payment_is_posted_to_the_store_after_commit_signed(
    new_payment, store, settings, django_capture_on_commit_callbacks
):
    payment = new_payment()
    with django_capture_on_commit_callbacks() as callbacks:
        pay(payment)
    assert store.received == []  # nothing leaves before the payment is committed
    for callback in callbacks:
        callback()

    [received] = store.received
    assert received.path == f"/api/v1/orders/{payment.order_id}/payment-events/"
    body = assert_signed(received, settings.PAYMENTS_WEBHOOK_SECRET)
    paid_at = payment.events.get(status="paid").at
    assert body == {
        "payment_id": payment.pk,
        "order_id": payment.order_id,
        "status": "paid",
        "amount": "25.50",
        "currency": "CAD",
        "occurred_at": paid_at.isoformat(),
    }
    notification = Notification.objects.get()
    assert (notification.attempts, notification.last_error) == (1, "")
    assert notification.delivered_at is not None


def test_a_signature_made_with_another_secret_does_not_verify(
    new_payment, store, settings, django_capture_on_commit_callbacks
):
    shared = settings.PAYMENTS_WEBHOOK_SECRET
    settings.PAYMENTS_WEBHOOK_SECRET = "another-secret-than-the-one-the-store-holds"
    with django_capture_on_commit_callbacks(execute=True):
        pay(new_payment())

    sent = store.received[0].headers["X-Payments-Signature"]
    assert sent == signature(store.received[0], "another-secret-than-the-one-the-store-holds")
    assert sent != signature(store.received[0], shared)


def test_when_the_store_is_down_the_notification_waits_with_exponential_backoff(
    new_payment, django_capture_on_commit_callbacks
):
    payment = new_payment()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert pay(payment).status == "paid"  # the payment does not depend on the store
    notification = Notification.objects.get()
    assert notification.attempts == 1 and notification.delivered_at is None
    assert "ConnectionError" in notification.last_error
    assert (
        before + timedelta(seconds=2) <= notification.next_attempt_at <= timezone.now() + timedelta(seconds=2)
    )

    assert notification_deliver(notification_id=notification.pk) == Delivery.SKIPPED  # not due yet
    make_due(notification)
    before = timezone.now()
    assert notification_deliver(notification_id=notification.pk) == Delivery.FAILED
    notification.refresh_from_db()
    assert notification.attempts == 2
    assert (
        before + timedelta(seconds=4) <= notification.next_attempt_at <= timezone.now() + timedelta(seconds=4)
    )


def test_the_backoff_doubles_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff(30) == timedelta(hours=1)


def test_the_command_delivers_what_is_due_once_the_store_is_back(
    new_payment, store, settings, django_capture_on_commit_callbacks, capsys
):
    settings.STORE_URL = f"http://127.0.0.1:{closed_port()}"
    with django_capture_on_commit_callbacks(execute=True):
        payment = pay(new_payment())
    notification = Notification.objects.get()
    assert notification.attempts == 1

    settings.STORE_URL = store.url
    call_command("deliver_payment_events")
    assert store.received == []  # still backing off
    make_due(notification)
    call_command("deliver_payment_events")
    call_command("deliver_payment_events")

    [received] = store.received
    assert assert_signed(received, settings.PAYMENTS_WEBHOOK_SECRET)["payment_id"] == payment.pk
    notification.refresh_from_db()
    assert notification.attempts == 2 and notification.delivered_at is not None
    assert capsys.readouterr().out.splitlines() == [
        "Delivered 0, failed 0.",
        "Delivered 1, failed 0.",
        "Delivered 0, failed 0.",
    ]


def test_a_store_answering_an_error_is_tried_again_later(
    new_payment, store, django_capture_on_commit_callbacks
):
    store.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        pay(new_payment())
    notification = Notification.objects.get()
    assert notification.delivered_at is None and notification.last_error.startswith("HTTP 500")

    store.status = 200
    make_due(notification)
    assert notification_deliver(notification_id=notification.pk) == Delivery.DELIVERED
    assert len(store.received) == 2
    assert notification_deliver(notification_id=notification.pk) == Delivery.SKIPPED  # delivered once only


def test_a_delivery_that_succeeds_catches_up_the_older_ones(
    new_payment, store, settings, django_capture_on_commit_callbacks
):
    settings.STORE_URL = f"http://127.0.0.1:{closed_port()}"
    with django_capture_on_commit_callbacks(execute=True):
        pay(new_payment())
        pay(new_payment())
    for notification in Notification.objects.all():
        make_due(notification)

    settings.STORE_URL = store.url
    with django_capture_on_commit_callbacks(execute=True):
        pay(new_payment())
    assert len(store.received) == 3
    assert not Notification.objects.filter(delivered_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_delivery_that_crashes_never_fails_the_payment(new_payment, monkeypatch, caplog):
    payment = new_payment()

    def crash(payload):
        raise RuntimeError("bug in delivery")

    monkeypatch.setattr(notifier, "_post", crash)
    response = APIClient().post(
        f"/api/v1/payments/{payment.pk}/pay/{payment.secret}/", GOOD_CARD, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "paid"
    assert "bug in delivery" in caplog.text
    assert Notification.objects.get().delivered_at is None  # left for the command

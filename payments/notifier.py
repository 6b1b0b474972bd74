"""Telling the store that a payment was made, through an outbox (docs/adr/0005-payments-service.md).

The outbox row is written in the transaction that marks the payment paid, so a committed payment
always has its notification and a rolled back one never does. Delivery happens after commit (and
again later, by `manage.py deliver_payment_events`, until the store accepts it), never inside a
transaction and never raising into the request that made the payment.

A delivery first claims its row by pushing `next_attempt_at` past the longest possible attempt,
in one conditional UPDATE: two deliverers (the request and the command) never post the same row at
the same time, and no lock is held during the network call. A deliverer that dies mid-way leaves a
claim that simply expires.
"""

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, payment_event_signature

from .models import Notification, Payment, PaymentEvent

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 3.0
CLAIM_SECONDS = 30  # well above one attempt (CONNECT_TIMEOUT + READ_TIMEOUT)
BACKOFF_BASE_SECONDS = 2
BACKOFF_MAX_SECONDS = 3600
# After a delivery succeeded (the store is up), how many older due rows the same request retries.
CATCH_UP_LIMIT = 5


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 2 s, 4 s, 8 s, ... at most an hour."""
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS))


def notification_enqueue(*, payment: Payment, event: PaymentEvent) -> Notification:
    """Store the notification of `event` with it; deliver it once the transaction has committed."""
    notification = Notification.objects.create(
        payment=payment,
        payload={
            "payment_id": payment.pk,
            "order_id": payment.order_id,
            "status": event.status,
            "amount": str(event.amount),
            "currency": payment.currency,
            "occurred_at": event.at.isoformat(),
        },
        next_attempt_at=event.at,
    )
    transaction.on_commit(lambda: _deliver_after_commit(notification.pk), robust=True)
    return notification


class Delivery(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    SKIPPED = "skipped"  # not due, already delivered, or being delivered by someone else


def _deliver_after_commit(notification_id: int) -> None:
    if notification_deliver(notification_id=notification_id) == Delivery.DELIVERED:
        notifications_deliver_due(limit=CATCH_UP_LIMIT, stop_at_first_failure=True)


def _claim(notification_id: int) -> Notification | None:
    now = timezone.now()
    claimed = Notification.objects.filter(
        pk=notification_id, delivered_at__isnull=True, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
    return Notification.objects.get(pk=notification_id) if claimed else None


def _post(payload: dict) -> str | None:
    """Post one notification; None when the store accepted it, otherwise why not."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())  # signed at each attempt: the store refuses old timestamps
    url = f"{settings.STORE_URL.rstrip('/')}/api/v1/orders/{payload['order_id']}/payment-events/"
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: payment_event_signature(
            secret=settings.PAYMENTS_WEBHOOK_SECRET, timestamp=str(timestamp), body=body
        ),
    }
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxy from the environment between two of our services
            response = session.post(
                url,
                data=body,
                headers=headers,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
            )
    except requests.RequestException as error:
        return f"{type(error).__name__}: {error}"[:1000]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}: {response.text[:500]}"


def notification_deliver(*, notification_id: int) -> Delivery:
    """Try to deliver one due notification now. A failed attempt is due again after an exponential
    backoff; a network failure is recorded, never raised."""
    notification = _claim(notification_id)
    if notification is None:
        return Delivery.SKIPPED
    error = _post(notification.payload)
    attempts = notification.attempts + 1
    now = timezone.now()
    if error is None:
        Notification.objects.filter(pk=notification.pk).update(
            attempts=F("attempts") + 1, delivered_at=now, last_error=""
        )
        logger.info("payment event %s delivered to the store", notification.pk)
        return Delivery.DELIVERED
    Notification.objects.filter(pk=notification.pk).update(
        attempts=F("attempts") + 1, next_attempt_at=now + backoff(attempts), last_error=error
    )
    logger.warning(
        "payment event %s not delivered (attempt %d), retried in %s: %s",
        notification.pk,
        attempts,
        backoff(attempts),
        error,
    )
    return Delivery.FAILED


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int


def notifications_deliver_due(*, limit: int = 100, stop_at_first_failure: bool = False) -> DeliveryReport:
    """Deliver up to `limit` due notifications, oldest first."""
    due = Notification.objects.filter(
        delivered_at__isnull=True, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)[:limit]
    delivered = failed = 0
    for notification_id in list(due):
        outcome = notification_deliver(notification_id=notification_id)
        if outcome == Delivery.DELIVERED:
            delivered += 1
        elif outcome == Delivery.FAILED:
            failed += 1
            if stop_at_first_failure:
                break
    return DeliveryReport(delivered=delivered, failed=failed)

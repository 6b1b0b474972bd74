"""The writes of the payments service: create, process (the charge) and refund.

Every state change writes a PaymentEvent in the same transaction. A payment becoming paid also
writes its notification to the store (payments.notifier), delivered after commit.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.db import atomic_with_retry
from core.errors import DomainError, NotFound, ServiceBusy
from core.idempotency_keys import IdempotencyKeyReused, checked_key

from .cards import card_check
from .errors import (
    AlreadyPaid,
    CardDeclined,
    NotPayable,
    NotRefundable,
)
from .models import Payment, PaymentEvent, PaymentStatus
from .notifier import notification_enqueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaymentRequest:
    """The answer to a create: the payment, whether this request (or the first one with its
    Idempotency-Key) created it, and whether the key had been seen before."""

    payment: Payment
    created: bool
    replayed: bool


def _record_event(payment: Payment) -> PaymentEvent:
    return PaymentEvent.objects.create(
        payment=payment, status=payment.status, amount=payment.amount, at=timezone.now()
    )


def _fingerprint(*, order_id: int, customer_id: int, amount: Decimal, currency: str) -> str:
    canonical = json.dumps(
        {"order_id": order_id, "customer_id": customer_id, "amount": f"{amount:.2f}", "currency": currency},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _known_answer(*, order_id: int, idempotency_key: str | None, fingerprint: str) -> PaymentRequest | None:
    """The answer already due, in one query: the payment this Idempotency-Key created (if the body
    is the same), else the order's live payment; None if there is neither."""
    due = Q(live_order_id=order_id)
    if idempotency_key is not None:
        due |= Q(idempotency_key=idempotency_key)
    # At most one row per unique index.
    payments = list(Payment.objects.filter(due)[:2])
    for payment in payments:
        if idempotency_key is not None and payment.idempotency_key == idempotency_key:
            if payment.request_fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            return PaymentRequest(payment=payment, created=True, replayed=True)
    for payment in payments:
        if payment.live_order_id == order_id:
            return PaymentRequest(payment=payment, created=False, replayed=False)
    return None


@atomic_with_retry
def _payment_insert(**fields) -> Payment:
    payment = Payment.objects.create(**fields)
    _record_event(payment)
    return payment


def payment_create(
    *,
    order_id: int,
    customer_id: int,
    amount: Decimal,
    currency: str = "CAD",
    idempotency_key: str | None = None,
) -> PaymentRequest:
    """A pending payment for the order, unless the request was seen before or the order already
    has a live (pending or paid) payment: that one is answered instead.

    The same Idempotency-Key with another body is refused (422). Twins racing for the same key or
    order meet on the unique indexes; the loser answers with the winner's payment. The answer due is
    looked for before the transaction, which only inserts: read committed would show the same rows
    inside it, and the indexes, not the read, decide a race.
    """
    idempotency_key = checked_key(idempotency_key)
    if amount <= 0:
        raise DomainError("The amount must be greater than zero.", field="amount")
    fingerprint = _fingerprint(order_id=order_id, customer_id=customer_id, amount=amount, currency=currency)
    known = _known_answer(order_id=order_id, idempotency_key=idempotency_key, fingerprint=fingerprint)
    if known is not None:
        return known
    try:
        payment = _payment_insert(
            order_id=order_id,
            customer_id=customer_id,
            amount=amount,
            currency=currency,
            live_order_id=order_id,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
        )
    except IntegrityError:
        # A twin committed the same key or a live payment for the same order while we waited on
        # the index lock; our transaction is rolled back, and the twin's row is visible now.
        known = _known_answer(order_id=order_id, idempotency_key=idempotency_key, fingerprint=fingerprint)
        if known is None:
            raise ServiceBusy() from None
        return known
    logger.info("payment %s created for order %s", payment.pk, order_id)
    return PaymentRequest(payment=payment, created=True, replayed=False)


def payment_process(*, payment_id: int, secret: str, card_number: str, cvc: str, expiry: str) -> Payment:
    """Charge the payment with a card: paid, or CardDeclined (402) with the payment left failed
    (committed, and payable again with another card).

    Only the card's brand and last four digits are kept. The row lock makes concurrent attempts
    queue: the first one charges, the others find it paid (409 already_paid) and charge nothing.
    """
    payment, declined = _payment_charge(
        payment_id=payment_id, secret=secret, card_number=card_number, cvc=cvc, expiry=expiry
    )
    if declined:
        raise CardDeclined(details={"payment": payment.pk, "status": payment.status})
    return payment


@atomic_with_retry
def _payment_charge(
    *, payment_id: int, secret: str, card_number: str, cvc: str, expiry: str
) -> tuple[Payment, bool]:
    payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
    if payment is None or not payment.secret_matches(secret):
        raise NotFound("No such payment.")
    if payment.status == PaymentStatus.PAID:
        raise AlreadyPaid(details={"payment": payment.pk})
    if payment.status == PaymentStatus.REFUNDED:
        raise NotPayable(details={"payment": payment.pk, "status": payment.status})
    card = card_check(number=card_number, cvc=cvc, expiry=expiry, today=timezone.now().date())
    previous_status = payment.status
    payment.card_brand, payment.card_last4 = card.brand, card.last4
    fields = ["status", "live_order_id", "card_brand", "card_last4", "updated_at"]

    if card.declined:
        payment.status, payment.live_order_id = PaymentStatus.FAILED, None
        payment.save(update_fields=fields)
        if previous_status != payment.status:
            _record_event(payment)
        logger.info("payment %s declined (%s ending %s)", payment.pk, card.brand, card.last4)
        return payment, True

    payment.status, payment.live_order_id = PaymentStatus.PAID, payment.order_id
    try:
        with transaction.atomic():
            payment.save(update_fields=fields)
    except IntegrityError:
        # A failed payment being retried while the order got another live payment meanwhile.
        raise NotPayable(details={"payment": payment.pk, "status": previous_status}) from None
    event = _record_event(payment)
    notification_enqueue(payment=payment, event=event)
    logger.info("payment %s paid (%s ending %s)", payment.pk, card.brand, card.last4)
    return payment, False


@atomic_with_retry
def payment_refund(*, payment_id: int) -> Payment:
    """Refund a paid payment; refunding a refunded one changes nothing (idempotent)."""
    payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No such payment.")
    if payment.status == PaymentStatus.REFUNDED:
        return payment
    if payment.status != PaymentStatus.PAID:
        raise NotRefundable(details={"payment": payment.pk, "status": payment.status})
    payment.status, payment.live_order_id = PaymentStatus.REFUNDED, None
    payment.save(update_fields=["status", "live_order_id", "updated_at"])
    # The store hears of every refund, the ones it asked for and the ones made here directly.
    notification_enqueue(payment=payment, event=_record_event(payment))
    logger.info("payment %s refunded", payment.pk)
    return payment

"""Bringing the store's orders in line with what the payments service knows (`sync_payments`).

The safety net for a notification lost or a payment request that failed (ADR 0005): each order is
compared with its payments there, and the services that a notification or a placing would have
called are called now.
"""

from . import payments_client
from .models import OrderStatus, PaymentStatus
from .selectors import order_get
from .services import order_link_payment, order_mark_paid, order_mark_refunded, order_record_payment


def order_sync_payment(*, order_id: int) -> str:
    """Bring one order in line with what payments knows; returns what was done.

    `paid` (payments had it paid: the notification was lost), `linked` (payments had a payment the
    store did not know of), `requested` (there was none), `updated` (its status changed, e.g. a
    declined card), `refunded` (a payment made for a cancelled order was refunded, or a paid order's
    payment was refunded at payments and the notification lost) or `unchanged`.
    Idempotent; raises PaymentServiceUnavailable.
    """
    order = order_get(order_id=order_id)
    if order.status == OrderStatus.PAID:
        if order.payment_id is None:
            return "unchanged"
        payment = payments_client.client().get_payment(order.payment_id)
        if payment.status != PaymentStatus.REFUNDED or order.payment_status == PaymentStatus.REFUNDED:
            return "unchanged"
        order_mark_refunded(order_id=order_id, payment_id=order.payment_id)
        return "refunded"
    if order.status == OrderStatus.CANCELLED:
        if order.payment_status != PaymentStatus.PAID:
            return "unchanged"
        payments_client.client().refund(order.payment_id)
        order_mark_refunded(order_id=order_id, payment_id=order.payment_id)
        return "refunded"
    if order.status != OrderStatus.PENDING:
        return "unchanged"
    payments = payments_client.client().payments_of_order(order_id)
    paid = [p for p in payments if p.status == PaymentStatus.PAID]
    if paid:
        order_mark_paid(
            order_id=order_id, payment_id=paid[0].id, amount=paid[0].amount, currency=paid[0].currency
        )
        return "paid"
    live = [p for p in payments if p.status != PaymentStatus.REFUNDED]
    if not live:
        if order.payment_id is not None:
            return "unchanged"
        order_link_payment(order=order)
        return "requested"
    newest = max(live, key=lambda payment: payment.id)
    known = (order.payment_id, order.payment_status)
    order_record_payment(order=order, payment=newest)
    if known[0] is None:
        return "linked"
    return "unchanged" if known == (newest.id, newest.status) else "updated"

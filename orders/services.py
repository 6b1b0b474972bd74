"""Orders take stock when created and give it back when cancelled, once.

The order row is locked before its stock rows everywhere, and stocks lock articles in ascending
id order, so concurrent orders, cancels and deletes never wait on each other in a cycle.

Payments live in their own service (docs/adr/0005-payments-service.md), reached through
`payments_client` and never from inside a transaction: a network call that waits up to its timeouts
must not hold the order's or the stock's row locks meanwhile.
"""

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from articles.models import Article
from articles.selectors import article_map
from core.db import atomic_with_retry, bulk_insert, keep_as_prefetched
from core.errors import DomainError, NotFound
from stocks.models import MAX_UNITS
from stocks.services import (
    stock_return_for_order,
    stock_return_for_orders,
    stock_take_for_order,
    stock_take_for_orders,
)
from store_infra.cache import changed
from users.models import Role

from . import payments_client
from .errors import (
    InvalidOrder,
    OrderHasPayment,
    OrderNotCancellable,
    OrderNotPayable,
    OrderPaid,
    PaymentAmountMismatch,
    PaymentMismatch,
)
from .metrics import ORDERS_CANCELLED, ORDERS_CREATED
from .models import Order, OrderLine, OrderStatus, PaymentStatus
from .selectors import order_get

logger = logging.getLogger(__name__)


def _validated_lines(lines: Sequence[dict], articles: Mapping[int, Article]) -> dict[int, int]:
    """`{article_id: quantity}`, or InvalidOrder with a message per line.

    `articles` holds at least the lines' articles that exist.
    """
    if not lines:
        raise InvalidOrder("An order needs at least one line.", field="lines")
    seen: set[int] = set()
    errors = []
    for line in lines:
        article = articles.get(line["article"])
        problems = {}
        if article is None:
            problems["article"] = [f"Unknown article {line['article']}."]
        elif not article.is_active:
            problems["article"] = [f"Article {article.sku} is not for sale."]
        elif article.pk in seen:
            problems["article"] = [f"Article {article.sku} appears on several lines."]
        quantity = line["quantity"]
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_UNITS:
            problems["quantity"] = [f"Ensure this is a whole number from 1 to {MAX_UNITS}."]
        errors.append(problems)
        seen.add(line["article"])
    if any(errors):
        raise InvalidOrder(fields={"lines": errors})
    return {line["article"]: line["quantity"] for line in lines}


def _new_order(
    *, customer, lines: Sequence[dict], created_by, articles: Mapping[int, Article]
) -> tuple[Order, list[OrderLine], dict[int, int]]:
    """The unsaved order, its lines at the articles' prices of now, and `{article_id: quantity}`."""
    if customer.role != Role.CUSTOMER or not customer.is_active:
        raise InvalidOrder(f"{customer.username} is not an active customer.", field="customer")
    quantities = _validated_lines(lines, articles)
    order = Order(customer=customer, created_by=created_by)
    order_lines = [
        OrderLine(order=order, article_id=a, quantity=q, unit_price=articles[a].price)
        for a, q in quantities.items()
    ]
    order.total = sum(line.line_total for line in order_lines)
    return order, order_lines, quantities


@atomic_with_retry
def order_create(*, customer, lines: Sequence[dict], created_by) -> Order:
    """Place an order for `customer`: lines are `{"article": id, "quantity": n}`.

    Prices are copied from the articles now; stock is taken for every line or the order is refused.
    """
    articles = article_map(ids={line["article"] for line in lines})
    order, order_lines, quantities = _new_order(
        customer=customer, lines=lines, created_by=created_by, articles=articles
    )
    order.save()
    OrderLine.objects.bulk_create(order_lines)
    changed(OrderLine)
    # Last: the stock rows it locks stay locked until the commit, and other orders of the same
    # articles wait for them.
    stock_take_for_order(quantities=quantities, reference=order.reference, user=created_by)
    transaction.on_commit(ORDERS_CREATED.inc)
    return _as_read(order, order_lines, articles)


def _as_read(order: Order, order_lines: list[OrderLine], articles: Mapping[int, Article]) -> Order:
    """The order just placed as order_get would read it (customer, lines and their articles), from
    what placing it already holds instead of three more queries."""
    for line in order_lines:
        line.article = articles[line.article_id]
    keep_as_prefetched(order, "lines", order_lines)
    return order


@atomic_with_retry
def order_create_many(*, orders: Sequence[Mapping]) -> list[Order]:
    """Several orders in a few queries (imports, demo data); each item holds order_create's arguments.

    The rules of order_create apply; every order is placed, or none is.
    """
    articles = article_map(ids={line["article"] for order in orders for line in order["lines"]})
    placed = [_new_order(**order, articles=articles) for order in orders]
    bulk_insert(Order, [order for order, _, _ in placed])
    OrderLine.objects.bulk_create([line for _, order_lines, _ in placed for line in order_lines])
    changed(Order, OrderLine)
    stock_take_for_orders(
        orders=[
            {"quantities": quantities, "reference": order.reference, "user": order.created_by}
            for order, _, quantities in placed
        ]
    )
    transaction.on_commit(lambda: ORDERS_CREATED.inc(len(placed)))
    return [order for order, _, _ in placed]


def _lock_order(order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order


def _give_stock_back(order: Order, user) -> None:
    quantities = dict(order.lines.values_list("article_id", "quantity"))
    stock_return_for_order(quantities=quantities, reference=order.reference, user=user)


def order_cancel(*, order_id: int, user) -> Order:
    """Cancel an order and return its stock (a second cancel is refused, nothing returned twice).

    A pending order is simply cancelled. A paid one is refunded through payments first, outside any
    transaction; if payments cannot refund it now, PaymentServiceUnavailable (503) and nothing changed.
    An order paid without a payment in the payments service (none to refund) is refused.
    """
    order = order_get(order_id=order_id)
    if order.status == OrderStatus.PAID and order.payment_id is not None:
        return _order_cancel_paid(order_id=order_id, user=user)
    order_cancel_many(order_ids=[order_id], user=user)
    return order_get(order_id=order_id)


@atomic_with_retry
def order_cancel_many(*, order_ids: Sequence[int], user) -> None:
    """Cancel several pending orders and return their stock in a few queries: all of them, or none."""
    locked = Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk")
    orders = {order.pk: order for order in locked}
    for order_id in order_ids:
        order = orders.get(order_id)
        if order is None:
            raise NotFound(f"No order {order_id}.")
        if order.status != OrderStatus.PENDING:
            raise OrderNotCancellable(
                f"Order {order_id} is {order.status}; only pending orders can be cancelled."
            )
    quantities = defaultdict(dict)
    lines = OrderLine.objects.filter(order_id__in=orders).values_list("order_id", "article_id", "quantity")
    for order_id, article_id, quantity in lines:
        quantities[order_id][article_id] = quantity
    stock_return_for_orders(
        orders=[
            {"quantities": quantities[order.pk], "reference": order.reference, "user": user}
            for order in orders.values()
        ]
    )
    Order.objects.filter(pk__in=orders).update(status=OrderStatus.CANCELLED, updated_at=timezone.now())
    changed(Order)
    transaction.on_commit(lambda: ORDERS_CANCELLED.inc(len(orders)))


@atomic_with_retry
def order_delete(*, order_id: int, user) -> None:
    """Remove an unpaid order with no payment, cancelling it first if needed; its ledger lines stay.

    An order with a payment is kept: payments may still charge, notify or refund it.
    """
    order = _lock_order(order_id)
    if order.status == OrderStatus.PAID:
        raise OrderPaid()
    if order.payment_id is not None:
        raise OrderHasPayment()
    if order.status == OrderStatus.PENDING:
        _give_stock_back(order, user)
    order.delete()


# --- payments -------------------------------------------------------------------------------------


def order_request_payment(*, order_id: int) -> Order:
    """Ask payments for the order's payment, after the order committed; returns the order with it.

    Idempotent: an order that has its payment gets it back without a call, and payments answers a
    repeat (the same `Idempotency-Key: order-<id>`) with the payment it already made. Raises
    PaymentServiceUnavailable when payments is down, slow or failing: the order is left as it was.
    """
    order = order_get(order_id=order_id)
    if order.payment_id is not None:
        return order
    order_link_payment(order=order)
    return order_get(order_id=order_id)


def order_link_payment(*, order: Order) -> Order:
    """Ask payments for `order`'s payment unless it has one; returns the order row with it (the whole
    order if payments answered it paid)."""
    if order.payment_id is not None:
        return order
    if order.status != OrderStatus.PENDING:
        raise OrderNotPayable(f"Order {order.pk} is {order.status}; only a pending order can be paid.")
    payment = payments_client.client().create_payment(
        order_id=order.pk,
        customer_id=order.customer_id,
        amount=order.total,
        currency=settings.PAYMENTS_CURRENCY,
    )
    return order_record_payment(order=order, payment=payment)


# What a payment the store links may overwrite: not news of a payment made or refunded meanwhile.
_PAYMENT_NOT_SETTLED = ~Q(payment_status__in=[PaymentStatus.PAID, PaymentStatus.REFUNDED])  # NULL included


def order_record_payment(*, order: Order, payment: payments_client.Payment) -> Order:
    """Keep what payments said about `order`'s payment (a paid one marks the order paid); returns the
    order with it (the whole order read again when it was paid or changed meanwhile).

    One conditional UPDATE, atomic on its own: the order is linked to this payment unless it is
    linked to another one or its payment was settled meanwhile (a notification came first).
    """
    if payment.status == PaymentStatus.PAID:
        return order_mark_paid(
            order_id=order.pk, payment_id=payment.id, amount=payment.amount, currency=payment.currency
        )
    now = timezone.now()
    linked = (
        Order.objects.filter(Q(payment_id__isnull=True) | Q(payment_id=payment.id), pk=order.pk)
        .filter(_PAYMENT_NOT_SETTLED)
        .update(payment_id=payment.id, payment_status=payment.status, pay_url=payment.pay_url, updated_at=now)
    )
    if linked:
        changed(Order)
        order.payment_id, order.payment_status, order.pay_url = payment.id, payment.status, payment.pay_url
        order.updated_at = now
        return order
    current = order_get(order_id=order.pk)
    if current.payment_id != payment.id:
        raise PaymentMismatch(
            f"Order {order.pk} is linked to payment {current.payment_id}, not {payment.id}."
        )
    return current


@atomic_with_retry
def order_mark_paid(*, order_id: int, payment_id: int, amount: Decimal, currency: str | None = None) -> Order:
    """Record that the order's payment was paid: the order becomes paid exactly once.

    The amount (and currency) must be the order's total, else PaymentAmountMismatch and nothing
    changes. A repeat changes nothing. A payment made for an order cancelled meanwhile (the customer
    paid while staff cancelled) leaves the order cancelled with `payment_status` paid: `sync_payments`
    refunds it.
    """
    order = _lock_order(order_id)
    currency = currency or settings.PAYMENTS_CURRENCY
    if amount != order.total or currency != settings.PAYMENTS_CURRENCY:
        raise PaymentAmountMismatch(
            f"Payment {payment_id} is {amount} {currency}; order {order_id} is {order.total} "
            f"{settings.PAYMENTS_CURRENCY}.",
            details={"paid": f"{amount} {currency}", "total": f"{order.total} {settings.PAYMENTS_CURRENCY}"},
        )
    if order.payment_id not in (None, payment_id):
        raise PaymentMismatch(f"Order {order_id} is linked to payment {order.payment_id}, not {payment_id}.")
    if order.status == OrderStatus.PAID or order.payment_status == PaymentStatus.REFUNDED:
        return order_get(order_id=order_id)
    if order.status == OrderStatus.PENDING:
        order.status = OrderStatus.PAID
    else:
        logger.warning(
            "payment %s was paid for cancelled order %s: sync_payments refunds it", payment_id, order_id
        )
    order.payment_id, order.payment_status = payment_id, PaymentStatus.PAID
    order.save(update_fields=["status", "payment_id", "payment_status", "updated_at"])
    return order_get(order_id=order_id)


@atomic_with_retry
def order_mark_refunded(*, order_id: int, payment_id: int) -> Order:
    """Record that the order's payment was refunded, wherever the refund was made (a cancel here, or
    customer service at the payments service): the order keeps its status (its goods may have left)
    and shows its payment refunded; its money leaves the sales reports. A repeat changes nothing."""
    order = _lock_order(order_id)
    if order.payment_id != payment_id:
        raise PaymentMismatch(f"Order {order_id} is linked to payment {order.payment_id}, not {payment_id}.")
    if order.payment_status != PaymentStatus.REFUNDED:
        order.payment_status = PaymentStatus.REFUNDED
        order.save(update_fields=["payment_status", "updated_at"])
    return order_get(order_id=order_id)


def _order_cancel_paid(*, order_id: int, user) -> Order:
    """Refund, then cancel; see the ADR 0005 for the one case where the cancel fails after the refund.

    A rehearsal of the cancel (run, then rolled back) refuses first whatever would refuse the cancel
    itself (a stock limit the returned units would pass, ...), so no money moves for a cancel that
    cannot happen. Only a change in the moment between the rehearsal and the cancel (a restock, a
    concurrent cancel) can still refuse it after the refund: the refund is then recorded on the
    order (still paid, `payment_status` refunded), the error is raised, and cancelling again
    completes it (payments answers a repeated refund as done).
    """
    _order_cancel_paid_rehearsal(order_id=order_id, user=user)
    payment_id = order_get(order_id=order_id).payment_id
    payments_client.client().refund(payment_id)
    try:
        _order_cancel_refunded(order_id=order_id, user=user)
    except Exception as error:
        logger.error("order %s refunded (payment %s) but its cancel failed: %r", order_id, payment_id, error)
        order_mark_refunded(order_id=order_id, payment_id=payment_id)
        if isinstance(error, DomainError):
            error.details = {**error.details, "payment_refunded": True}
        raise
    return order_get(order_id=order_id)


@atomic_with_retry
def _order_cancel_paid_rehearsal(*, order_id: int, user) -> None:
    _order_cancel_refunded(order_id=order_id, user=user)
    transaction.set_rollback(True)


@atomic_with_retry
def _order_cancel_refunded(*, order_id: int, user) -> None:
    order = _lock_order(order_id)
    if order.status != OrderStatus.PAID:
        raise OrderNotCancellable(f"Order {order_id} is {order.status}; it cannot be cancelled again.")
    _give_stock_back(order, user)
    order.status, order.payment_status = OrderStatus.CANCELLED, PaymentStatus.REFUNDED
    order.save(update_fields=["status", "payment_status", "updated_at"])
    transaction.on_commit(ORDERS_CANCELLED.inc)  # dropped with the rehearsal, which rolls back

"""Placing an order, the same way from every door that takes one from a client.

The order and its `Idempotency-Key` commit together (store_infra.idempotency); only then is its payment
requested from payments, so that a slow payments service never holds the order's or the stock's
row locks. Payments down or slow leaves the order placed, pending, without a payment:
`POST /orders/{id}/payment/` or `sync_payments` request it later.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from core.errors import DomainError
from store_infra.idempotency import IdempotentCall, run_idempotent

from .errors import OrderNotPayable
from .models import Order
from .services import order_create, order_link_payment

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placement:
    answer: dict  # the answer given when the order was placed (the first one, for a replay)
    order: Order | None  # the order as it is now, with its payment; None if deleted since a replayed placing
    replayed: bool


def order_place(
    *,
    customer,
    lines: Sequence[dict],
    created_by,
    answer: Callable[[Order], dict],
    idempotency: IdempotentCall | None = None,
) -> Placement:
    """Place an order (services.order_create), then request its payment; returns what to answer.

    `answer` turns the placed order into the door's answer (with its `id`), which a repeat of the
    same `idempotency` key gets back instead of a second order; the payment is requested for a
    replayed order that still has none.
    """
    placed = []

    def place() -> dict:
        placed.append(order_create(customer=customer, lines=lines, created_by=created_by))
        return answer(placed[-1])

    body, replayed = run_idempotent(idempotency, status=HTTPStatus.CREATED, produce=place)
    order = Order.objects.filter(pk=body["id"]).first() if replayed else placed[-1]
    if order is not None:
        order = _with_payment(order)
    return Placement(answer=body, order=order, replayed=replayed)


def _with_payment(order: Order) -> Order | None:
    """The order after asking payments for its payment, which must not fail the placing."""
    try:
        return order_link_payment(order=order)
    except OrderNotPayable:
        return order
    except DomainError as error:  # payments down, slow or failing; or an answer the order disagrees with
        logger.warning("order %s placed without its payment: %s", order.pk, error)
    return Order.objects.filter(pk=order.pk).first()

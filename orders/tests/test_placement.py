"""orders.placement.order_place: what any door that takes an order from a client calls.

The payments service is nowhere here (conftest): the flow with the real one is in test_payment_flow.
"""

import pytest

from core.idempotency_keys import IdempotencyKeyReused
from orders.models import Order, OrderStatus
from orders.placement import order_place
from stocks.errors import InsufficientStock
from stocks.models import Stock
from store_infra.idempotency import IdempotentCall
from store_infra.models import IdempotencyKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def tea(stocked_article):
    return stocked_article(10, sku="TEA-1")


def place(customer, clerk, tea, *, quantity=2, key=None, fingerprint="body-1"):
    call = (
        IdempotentCall(user=clerk, scope="orders.create", key=key, fingerprint=fingerprint) if key else None
    )
    return order_place(
        customer=customer,
        lines=[{"article": tea.pk, "quantity": quantity}],
        created_by=clerk,
        answer=lambda order: {"id": order.pk, "total": str(order.total)},
        idempotency=call,
    )


def units_of(article) -> int:
    return Stock.objects.get(article=article).quantity


def test_an_order_is_placed_and_answered_when_payments_cannot_be_reached(customer, clerk, tea, caplog):
    placement = place(customer, clerk, tea)

    order = Order.objects.get()
    assert placement.answer == {"id": order.pk, "total": str(order.total)}
    assert not placement.replayed
    assert placement.order.pk == order.pk and placement.order.payment_id is None
    assert order.status == OrderStatus.PENDING
    assert units_of(tea) == 8
    assert f"order {order.pk} placed without its payment" in caplog.text


def test_a_repeated_key_gets_the_first_answer_and_places_nothing(customer, clerk, tea):
    first = place(customer, clerk, tea, key="k-1")

    repeat = place(customer, clerk, tea, key="k-1")

    assert repeat.replayed and repeat.answer == first.answer
    assert repeat.order.pk == first.order.pk
    assert Order.objects.count() == 1
    assert units_of(tea) == 8


def test_a_key_used_with_another_body_is_refused(customer, clerk, tea):
    place(customer, clerk, tea, key="k-1")

    with pytest.raises(IdempotencyKeyReused):
        place(customer, clerk, tea, quantity=3, key="k-1", fingerprint="body-2")
    assert Order.objects.count() == 1
    assert units_of(tea) == 8


def test_a_refused_order_keeps_no_key_and_takes_no_stock(customer, clerk, tea):
    with pytest.raises(InsufficientStock):
        place(customer, clerk, tea, quantity=11, key="k-1")

    assert not IdempotencyKey.objects.exists() and not Order.objects.exists()
    assert units_of(tea) == 10
    assert not place(customer, clerk, tea, key="k-1").replayed


def test_a_replay_of_an_order_deleted_since_answers_the_first_answer_without_an_order(customer, clerk, tea):
    first = place(customer, clerk, tea, key="k-1")
    Order.objects.filter(pk=first.order.pk).delete()

    repeat = place(customer, clerk, tea, key="k-1")

    assert repeat.replayed and repeat.answer == first.answer and repeat.order is None

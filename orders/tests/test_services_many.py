"""The batch services (imports, demo data): the rules of one order, for many, all or nothing."""

import pytest

from orders.errors import InvalidOrder, OrderNotCancellable
from orders.models import Order, OrderStatus
from orders.services import order_cancel_many, order_create_many
from stocks.errors import InsufficientStock
from stocks.models import MovementKind, Stock, StockMovement
from stocks.tests.invariants import assert_stock_matches_ledger

pytestmark = pytest.mark.django_db


def quantities(*articles) -> list[int]:
    found = dict(Stock.objects.filter(article__in=articles).values_list("article_id", "quantity"))
    return [found[article.pk] for article in articles]


@pytest.fixture
def orders_of(customer, clerk):
    """`orders_of([(article, quantity), ...], ...)`: order_create_many's items, one per list of lines."""

    def build(*orders):
        return [
            {
                "customer": customer,
                "lines": [{"article": article.pk, "quantity": quantity} for article, quantity in lines],
                "created_by": clerk,
            }
            for lines in orders
        ]

    return build


def test_creating_many_orders_takes_their_stock_order_after_order(stocked_article, orders_of, clerk):
    mug, plate = stocked_article(quantity=10), stocked_article(quantity=5)

    first, second = order_create_many(orders=orders_of([(mug, 3), (plate, 5)], [(mug, 7)]))

    assert quantities(mug, plate) == [0, 0]
    assert (first.total, second.total) == (3 * mug.price + 5 * plate.price, 7 * mug.price)
    ledger = StockMovement.objects.filter(article=mug).order_by("id")
    assert [
        (m.reference, m.delta, m.quantity_after, m.user_id) for m in ledger.filter(kind=MovementKind.ORDER)
    ] == [
        (first.reference, -3, 7, clerk.pk),
        (second.reference, -7, 0, clerk.pk),
    ]
    assert_stock_matches_ledger()


def test_creating_many_orders_writes_none_when_a_later_one_is_short(stocked_article, orders_of):
    mug = stocked_article(quantity=10)

    with pytest.raises(InsufficientStock) as short:
        order_create_many(orders=orders_of([(mug, 6)], [(mug, 5)]))

    assert short.value.details["shortages"] == [
        {"article": mug.pk, "sku": mug.sku, "requested": 5, "available": 4}
    ]
    assert not Order.objects.exists()
    assert quantities(mug) == [10]
    assert_stock_matches_ledger()


def test_creating_many_orders_applies_the_line_rules_to_each(stocked_article, orders_of):
    mug = stocked_article(quantity=10)

    with pytest.raises(InvalidOrder):
        order_create_many(orders=orders_of([(mug, 1)], []))
    assert not Order.objects.exists()


def test_cancelling_many_orders_returns_all_their_stock(stocked_article, orders_of, manager):
    mug = stocked_article(quantity=10)
    orders = order_create_many(orders=orders_of([(mug, 2)], [(mug, 3)], [(mug, 4)]))

    order_cancel_many(order_ids=[orders[2].pk, orders[0].pk], user=manager)

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert [statuses[order.pk] for order in orders] == [
        OrderStatus.CANCELLED,
        OrderStatus.PENDING,
        OrderStatus.CANCELLED,
    ]
    assert quantities(mug) == [7]
    returned = StockMovement.objects.filter(kind=MovementKind.CANCEL).order_by("id")
    assert [(m.reference, m.delta, m.user_id) for m in returned] == [
        (orders[0].reference, 2, manager.pk),
        (orders[2].reference, 4, manager.pk),
    ]
    assert_stock_matches_ledger()


def test_cancelling_many_orders_cancels_none_when_one_is_not_pending(stocked_article, orders_of, manager):
    mug = stocked_article(quantity=10)
    pending, paid = order_create_many(orders=orders_of([(mug, 2)], [(mug, 3)]))
    Order.objects.filter(pk=paid.pk).update(status=OrderStatus.PAID)

    with pytest.raises(OrderNotCancellable):
        order_cancel_many(order_ids=[pending.pk, paid.pk], user=manager)

    assert Order.objects.get(pk=pending.pk).status == OrderStatus.PENDING
    assert quantities(mug) == [5]

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.services import article_update
from core.errors import NotFound
from orders.errors import InvalidOrder, OrderHasPayment, OrderNotCancellable, OrderPaid
from orders.models import Order, OrderLine, OrderStatus
from orders.services import order_cancel, order_create, order_delete
from stocks.errors import InsufficientStock, StockLimitExceeded
from stocks.models import MovementKind, Stock, StockMovement
from stocks.services import stock_restock
from stocks.tests.invariants import assert_stock_matches_ledger
from users.models import Role
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def quantities(*articles) -> list[int]:
    found = dict(Stock.objects.filter(article__in=articles).values_list("article_id", "quantity"))
    return [found[article.pk] for article in articles]


def written_rows() -> tuple[int, int, int]:
    return Order.objects.count(), OrderLine.objects.count(), StockMovement.objects.count()


@pytest.fixture
def place(customer, clerk):
    """Places an order for the customer, as the clerk: `place((article, quantity), ...)`."""

    def place_order(*lines):
        return order_create(
            customer=customer,
            lines=[{"article": article.pk, "quantity": quantity} for article, quantity in lines],
            created_by=clerk,
        )

    return place_order


# --- create ------------------------------------------------------------------------------------


def test_creating_an_order_takes_stock_for_every_line(stocked_article, place, customer, clerk):
    mug, plate = stocked_article(quantity=10), stocked_article(quantity=5)

    order = place((mug, 3), (plate, 5))

    assert quantities(mug, plate) == [7, 0]
    assert order.customer == customer
    assert order.created_by == clerk
    assert order.status == OrderStatus.PENDING
    assert [(line.article_id, line.quantity) for line in order.lines.all()] == [(mug.pk, 3), (plate.pk, 5)]
    assert_stock_matches_ledger([mug.pk, plate.pk])


def test_creating_an_order_writes_one_ledger_line_per_article_naming_the_order(stocked_article, place, clerk):
    mug, plate = stocked_article(quantity=10), stocked_article(quantity=5)

    order = place((plate, 2), (mug, 3))

    movements = StockMovement.objects.filter(reference=f"order:{order.pk}").order_by("article_id")
    assert [(m.article_id, m.delta, m.quantity_after, m.kind, m.user_id) for m in movements] == [
        (mug.pk, -3, 7, MovementKind.ORDER, clerk.pk),
        (plate.pk, -2, 3, MovementKind.ORDER, clerk.pk),
    ]


def test_an_order_total_is_the_sum_of_its_line_totals(stocked_article, place):
    mug = stocked_article(quantity=10, price=Decimal("7.30"))
    plate = stocked_article(quantity=10, price=Decimal("0.10"))

    order = place((mug, 3), (plate, 7))

    assert order.total == Decimal("22.60")
    order.refresh_from_db()
    assert order.total == Decimal("22.60")


def test_an_order_keeps_the_prices_of_the_moment_it_was_placed(stocked_article, place):
    mug = stocked_article(quantity=10, price=Decimal("7.50"))
    order = place((mug, 2))

    article_update(article=mug, price=Decimal("99.00"))

    order.refresh_from_db()
    line = order.lines.get()
    assert line.unit_price == Decimal("7.50")
    assert order.total == Decimal("15.00")


def test_an_order_may_take_exactly_all_the_stock(stocked_article, place):
    mug = stocked_article(quantity=4)

    place((mug, 4))

    assert quantities(mug) == [0]


def test_an_order_short_of_stock_lists_every_short_line_and_writes_nothing(stocked_article, place):
    enough, short, empty = (
        stocked_article(quantity=10),
        stocked_article(quantity=2),
        stocked_article(quantity=0),
    )
    before = written_rows()

    with pytest.raises(InsufficientStock) as refused:
        place((enough, 5), (empty, 1), (short, 3))

    assert refused.value.details == {
        "shortages": sorted(
            [
                {"article": short.pk, "sku": short.sku, "requested": 3, "available": 2},
                {"article": empty.pk, "sku": empty.sku, "requested": 1, "available": 0},
            ],
            key=lambda line: line["article"],
        )
    }
    assert written_rows() == before
    assert quantities(enough, short, empty) == [10, 2, 0]


def test_an_order_with_an_unknown_article_is_refused_line_by_line_and_writes_nothing(
    stocked_article, customer, clerk
):
    mug = stocked_article(quantity=10)
    before = written_rows()

    with pytest.raises(InvalidOrder) as refused:
        order_create(
            customer=customer,
            lines=[{"article": mug.pk, "quantity": 1}, {"article": mug.pk + 1000, "quantity": 1}],
            created_by=clerk,
        )

    assert refused.value.fields == {"lines": [{}, {"article": [f"Unknown article {mug.pk + 1000}."]}]}
    assert written_rows() == before
    assert quantities(mug) == [10]


def test_an_order_for_an_inactive_article_is_refused_and_writes_nothing(stocked_article, place):
    mug, retired = stocked_article(quantity=10), stocked_article(quantity=10, is_active=False)
    before = written_rows()

    with pytest.raises(InvalidOrder) as refused:
        place((retired, 1), (mug, 1))

    assert refused.value.fields == {"lines": [{"article": [f"Article {retired.sku} is not for sale."]}, {}]}
    assert written_rows() == before
    assert quantities(mug, retired) == [10, 10]


def test_an_order_naming_an_article_twice_is_refused_on_the_repeated_line(stocked_article, place):
    mug, plate = stocked_article(quantity=10), stocked_article(quantity=10)
    before = written_rows()

    with pytest.raises(InvalidOrder) as refused:
        place((mug, 1), (plate, 1), (mug, 2))

    assert refused.value.fields == {
        "lines": [{}, {}, {"article": [f"Article {mug.sku} appears on several lines."]}]
    }
    assert written_rows() == before
    assert quantities(mug, plate) == [10, 10]


def test_an_order_without_lines_is_refused(place):
    with pytest.raises(InvalidOrder) as refused:
        place()

    assert "lines" in refused.value.fields
    assert written_rows() == (0, 0, 0)


def test_creating_an_order_costs_the_same_number_of_queries_for_1_or_20_lines(stocked_article, place):
    articles = [stocked_article(quantity=5) for _ in range(21)]

    with CaptureQueriesContext(connection) as one_line:
        place((articles[0], 1))
    with CaptureQueriesContext(connection) as twenty_lines:
        place(*[(article, 2) for article in articles[1:]])

    assert len(twenty_lines) == len(one_line), "\n".join(q["sql"][:150] for q in twenty_lines)
    assert quantities(*articles) == [4] + [3] * 20


# --- cancel ------------------------------------------------------------------------------------


def test_cancelling_an_order_returns_its_stock(stocked_article, place, manager):
    mug, plate = stocked_article(quantity=10), stocked_article(quantity=5)
    order = place((mug, 3), (plate, 5))

    cancelled = order_cancel(order_id=order.pk, user=manager)

    assert cancelled.status == OrderStatus.CANCELLED
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert quantities(mug, plate) == [10, 5]
    returned = StockMovement.objects.filter(kind=MovementKind.CANCEL).order_by("article_id")
    assert [(m.article_id, m.delta, m.reference, m.user_id) for m in returned] == [
        (mug.pk, 3, f"order:{order.pk}", manager.pk),
        (plate.pk, 5, f"order:{order.pk}", manager.pk),
    ]
    assert_stock_matches_ledger([mug.pk, plate.pk])


def test_cancelling_an_order_twice_is_refused_and_returns_the_stock_once(stocked_article, place, manager):
    mug = stocked_article(quantity=10)
    order = place((mug, 3))
    order_cancel(order_id=order.pk, user=manager)
    movements_before = StockMovement.objects.count()

    with pytest.raises(OrderNotCancellable):
        order_cancel(order_id=order.pk, user=manager)

    assert quantities(mug) == [10]
    assert StockMovement.objects.count() == movements_before


def test_cancelling_an_order_paid_without_a_payment_is_refused_and_keeps_its_stock(
    stocked_article, place, manager
):
    mug = stocked_article(quantity=10)
    order = place((mug, 3))
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)

    with pytest.raises(OrderNotCancellable):
        order_cancel(order_id=order.pk, user=manager)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert quantities(mug) == [7]


def test_cancelling_an_unknown_order_is_not_found(manager):
    with pytest.raises(NotFound):
        order_cancel(order_id=424242, user=manager)


def test_cancelling_is_refused_when_the_returned_stock_would_pass_the_maximum(
    stocked_article, place, manager
):
    mug = stocked_article(quantity=10)
    order = place((mug, 4))
    Stock.objects.filter(article=mug).update(max_quantity=10)
    stock_restock(article_id=mug.pk, quantity=4, reference="delivery", user=manager)
    movements_before = StockMovement.objects.count()

    with pytest.raises(StockLimitExceeded):
        order_cancel(order_id=order.pk, user=manager)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    assert quantities(mug) == [10]
    assert StockMovement.objects.count() == movements_before


# --- delete ------------------------------------------------------------------------------------


def test_deleting_a_pending_order_returns_its_stock_and_keeps_the_ledger(stocked_article, place, manager):
    mug, plate = stocked_article(quantity=10), stocked_article(quantity=5)
    order = place((mug, 3), (plate, 1))

    order_delete(order_id=order.pk, user=manager)

    assert not Order.objects.filter(pk=order.pk).exists()
    assert not OrderLine.objects.filter(order_id=order.pk).exists()
    assert quantities(mug, plate) == [10, 5]
    history = StockMovement.objects.filter(reference=f"order:{order.pk}")
    assert sorted((m.article_id, m.kind, m.delta) for m in history) == sorted(
        [
            (mug.pk, MovementKind.ORDER, -3),
            (plate.pk, MovementKind.ORDER, -1),
            (mug.pk, MovementKind.CANCEL, 3),
            (plate.pk, MovementKind.CANCEL, 1),
        ]
    )
    assert_stock_matches_ledger([mug.pk, plate.pk])


def test_deleting_a_cancelled_order_does_not_return_its_stock_again(stocked_article, place, manager):
    mug = stocked_article(quantity=10)
    order = place((mug, 3))
    order_cancel(order_id=order.pk, user=manager)
    movements_before = StockMovement.objects.count()

    order_delete(order_id=order.pk, user=manager)

    assert not Order.objects.filter(pk=order.pk).exists()
    assert quantities(mug) == [10]
    assert StockMovement.objects.count() == movements_before


def test_deleting_a_paid_order_is_refused_and_changes_nothing(stocked_article, place, manager):
    mug = stocked_article(quantity=10)
    order = place((mug, 3))
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)
    movements_before = StockMovement.objects.count()

    with pytest.raises(OrderPaid):
        order_delete(order_id=order.pk, user=manager)

    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID
    assert OrderLine.objects.filter(order_id=order.pk).count() == 1
    assert quantities(mug) == [7]
    assert StockMovement.objects.count() == movements_before


def test_deleting_an_unknown_order_is_not_found(manager):
    with pytest.raises(NotFound):
        order_delete(order_id=424242, user=manager)


def test_an_inactive_article_can_still_be_returned_by_cancelling(stocked_article, place, manager):
    mug = stocked_article(quantity=10)
    order = place((mug, 3))
    article_update(article=mug, is_active=False)

    order_cancel(order_id=order.pk, user=manager)

    assert quantities(mug) == [10]


@pytest.mark.parametrize("quantity", [0, -3, 1_000_001, 1.5])
def test_an_order_line_with_an_impossible_quantity_is_refused_and_writes_nothing(
    stocked_article, place, quantity
):
    mug, plate = stocked_article(quantity=10), stocked_article(quantity=10)
    before = written_rows()

    with pytest.raises(InvalidOrder) as refused:
        place((mug, 1), (plate, quantity))

    assert refused.value.fields["lines"][0] == {}
    assert list(refused.value.fields["lines"][1]) == ["quantity"]
    assert written_rows() == before
    assert quantities(mug, plate) == [10, 10]


@pytest.mark.parametrize(
    "who", [{"role": Role.CLERK}, {"role": Role.SUPPLIER}, {"role": Role.CUSTOMER, "is_active": False}]
)
def test_an_order_is_placed_only_for_an_active_customer(stocked_article, clerk, who):
    mug = stocked_article(quantity=10)
    before = written_rows()

    with pytest.raises(InvalidOrder) as refused:
        order_create(
            customer=UserFactory(**who), lines=[{"article": mug.pk, "quantity": 1}], created_by=clerk
        )

    assert list(refused.value.fields) == ["customer"]
    assert written_rows() == before


def test_an_order_with_a_payment_cannot_be_deleted_so_the_payment_can_be_settled(
    stocked_article, place, clerk
):
    mug = stocked_article(quantity=10)
    order = place((mug, 2))
    Order.objects.filter(pk=order.pk).update(payment_id=77)

    with pytest.raises(OrderHasPayment):
        order_delete(order_id=order.pk, user=clerk)

    assert Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).exists()
    assert quantities(mug) == [8]

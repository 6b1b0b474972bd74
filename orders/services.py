"""Orders take stock when created and give it back when cancelled, once.

The order row is locked before its stock rows everywhere, and stocks lock articles in ascending
id order, so concurrent orders, cancels and deletes never wait on each other in a cycle.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence

from django.utils import timezone

from articles.models import Article
from articles.selectors import article_map
from core.cache import SALES, invalidate
from core.db import atomic_with_retry
from core.errors import NotFound
from stocks.models import MAX_UNITS
from stocks.services import (
    stock_return_for_order,
    stock_return_for_orders,
    stock_take_for_order,
    stock_take_for_orders,
)

from .errors import InvalidOrderLines, OrderNotCancellable, OrderPaid
from .models import Order, OrderLine, OrderStatus
from .selectors import order_get


def _validated_lines(lines: Sequence[dict], articles: Mapping[int, Article]) -> dict[int, int]:
    """`{article_id: quantity}`, or InvalidOrderLines with a message per line.

    `articles` holds at least the lines' articles that exist.
    """
    if not lines:
        raise InvalidOrderLines("An order needs at least one line.", field="lines")
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
        raise InvalidOrderLines(fields={"lines": errors})
    return {line["article"]: line["quantity"] for line in lines}


def _new_order(
    *, customer, lines: Sequence[dict], created_by, articles: Mapping[int, Article]
) -> tuple[Order, list[OrderLine], dict[int, int]]:
    """The unsaved order, its lines at the articles' prices of now, and `{article_id: quantity}`."""
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
    stock_take_for_order(quantities=quantities, reference=order.reference, user=created_by)
    invalidate(SALES)
    return order_get(order_id=order.pk)


@atomic_with_retry
def order_create_many(*, orders: Sequence[Mapping]) -> list[Order]:
    """Several orders in a few queries (imports, demo data); each item holds order_create's arguments.

    The rules of order_create apply; every order is placed, or none is. The new ids come back from
    the INSERT (MariaDB, SQLite).
    """
    articles = article_map(ids={line["article"] for order in orders for line in order["lines"]})
    placed = [_new_order(**order, articles=articles) for order in orders]
    Order.objects.bulk_create([order for order, _, _ in placed])
    OrderLine.objects.bulk_create([line for _, order_lines, _ in placed for line in order_lines])
    stock_take_for_orders(
        orders=[
            {"quantities": quantities, "reference": order.reference, "user": order.created_by}
            for order, _, quantities in placed
        ]
    )
    invalidate(SALES)
    return [order for order, _, _ in placed]


def _lock_order(order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order


def _give_stock_back(order: Order, user) -> None:
    quantities = dict(order.lines.values_list("article_id", "quantity"))
    stock_return_for_order(quantities=quantities, reference=order.reference, user=user)


@atomic_with_retry
def order_cancel(*, order_id: int, user) -> Order:
    """Cancel a pending order and return its stock (a second cancel is refused, nothing returned twice)."""
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
    invalidate(SALES)


@atomic_with_retry
def order_delete(*, order_id: int, user) -> None:
    """Remove an unpaid order, cancelling it first if needed; its ledger lines stay."""
    order = _lock_order(order_id)
    if order.status == OrderStatus.PAID:
        raise OrderPaid()
    if order.status == OrderStatus.PENDING:
        _give_stock_back(order, user)
    order.delete()
    invalidate(SALES)

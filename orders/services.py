"""Orders take stock when created and give it back when cancelled, once.

The order row is locked before its stock rows everywhere, and stocks lock articles in ascending
id order, so concurrent orders, cancels and deletes never wait on each other in a cycle.
"""

from collections.abc import Sequence

from articles.models import Article
from articles.selectors import article_map
from core.db import atomic_with_retry
from core.errors import NotFound
from stocks.services import stock_return_for_order, stock_take_for_order

from .errors import InvalidOrderLines, OrderNotCancellable, OrderPaid
from .models import Order, OrderLine, OrderStatus
from .selectors import order_get


def _validated_lines(lines: Sequence[dict]) -> tuple[dict[int, int], dict[int, Article]]:
    """`{article_id: quantity}` and the articles, or InvalidOrderLines with a message per line."""
    if not lines:
        raise InvalidOrderLines("An order needs at least one line.", field="lines")
    articles = article_map(ids={line["article"] for line in lines})
    seen: set[int] = set()
    errors = []
    for line in lines:
        article = articles.get(line["article"])
        if article is None:
            errors.append({"article": [f"Unknown article {line['article']}."]})
        elif not article.is_active:
            errors.append({"article": [f"Article {article.sku} is not for sale."]})
        elif article.pk in seen:
            errors.append({"article": [f"Article {article.sku} appears on several lines."]})
        else:
            errors.append({})
        seen.add(line["article"])
    if any(errors):
        raise InvalidOrderLines(fields={"lines": errors})
    return {line["article"]: line["quantity"] for line in lines}, articles


@atomic_with_retry
def order_create(*, customer, lines: Sequence[dict], created_by) -> Order:
    """Place an order for `customer`: lines are `{"article": id, "quantity": n}`.

    Prices are copied from the articles now; stock is taken for every line or the order is refused.
    """
    quantities, articles = _validated_lines(lines)
    order_lines = [
        OrderLine(article_id=a, quantity=q, unit_price=articles[a].price) for a, q in quantities.items()
    ]
    order = Order.objects.create(
        customer=customer,
        created_by=created_by,
        total=sum(line.line_total for line in order_lines),
    )
    for line in order_lines:
        line.order = order
    OrderLine.objects.bulk_create(order_lines)
    stock_take_for_order(quantities=quantities, reference=order.reference, user=created_by)
    return order_get(order_id=order.pk)


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
    order = _lock_order(order_id)
    if order.status != OrderStatus.PENDING:
        raise OrderNotCancellable(
            f"Order {order_id} is {order.status}; only pending orders can be cancelled."
        )
    _give_stock_back(order, user)
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status", "updated_at"])
    return order_get(order_id=order_id)


@atomic_with_retry
def order_delete(*, order_id: int, user) -> None:
    """Remove an unpaid order, cancelling it first if needed; its ledger lines stay."""
    order = _lock_order(order_id)
    if order.status == OrderStatus.PAID:
        raise OrderPaid()
    if order.status == OrderStatus.PENDING:
        _give_stock_back(order, user)
    order.delete()

"""Every change to a stock level goes through here, in one transaction with its ledger line.

Rows are locked with SELECT ... FOR UPDATE in ascending article id order, the same order in every
service, so transactions that need overlapping articles queue instead of deadlocking. Checks are
made on the locked values; the database's CHECK constraints stay as the last line of defence.
"""

from collections.abc import Mapping

from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone

from articles.models import Article
from core.db import atomic_with_retry
from core.errors import NotFound

from .errors import InsufficientStock, InvalidStockLimits, StockLimitExceeded
from .models import MovementKind, Stock, StockMovement


def _lock(article_ids) -> dict[int, Stock]:
    stocks = Stock.objects.select_for_update().filter(article_id__in=article_ids).order_by("article_id")
    locked = {stock.article_id: stock for stock in stocks}
    missing = set(article_ids) - set(locked)
    if missing:
        raise NotFound(f"No stock for article(s) {sorted(missing)}.")
    return locked


def _lock_one(article_id: int) -> Stock:
    return _lock([article_id])[article_id]


def _skus(article_ids) -> dict[int, str]:
    return dict(Article.objects.filter(pk__in=article_ids).values_list("pk", "sku"))


def _apply(
    stocks: Mapping[int, Stock], deltas: Mapping[int, int], *, kind: str, reference: str, user
) -> None:
    """Write new quantities with one UPDATE and their ledger lines with one INSERT."""
    for article_id, delta in deltas.items():
        stocks[article_id].quantity += delta
    Stock.objects.filter(article_id__in=deltas).update(
        quantity=Case(
            *(When(article_id=a, then=Value(stocks[a].quantity)) for a in deltas),
            default=F("quantity"),
            output_field=IntegerField(),
        ),
        updated_at=timezone.now(),
    )
    StockMovement.objects.bulk_create(
        StockMovement(
            article_id=article_id,
            delta=delta,
            quantity_after=stocks[article_id].quantity,
            kind=kind,
            reference=reference,
            user=user,
        )
        for article_id, delta in sorted(deltas.items())
    )


def _check_room(stocks: Mapping[int, Stock], additions: Mapping[int, int]) -> None:
    over = [
        {
            "article": article_id,
            "quantity": stocks[article_id].quantity,
            "requested": added,
            "max_quantity": stocks[article_id].max_quantity,
        }
        for article_id, added in sorted(additions.items())
        if stocks[article_id].max_quantity is not None
        and stocks[article_id].quantity + added > stocks[article_id].max_quantity
    ]
    if over:
        skus = _skus([line["article"] for line in over])
        for line in over:
            line["sku"] = skus[line["article"]]
        raise StockLimitExceeded(details={"lines": over})


def stock_initialize(*, article: Article, min_quantity: int = 0, max_quantity: int | None = None):
    """The stock row every article has from its creation on, at quantity 0."""
    if max_quantity is not None and min_quantity > max_quantity:
        raise InvalidStockLimits(field="min_quantity")
    return Stock.objects.create(article=article, min_quantity=min_quantity, max_quantity=max_quantity)


@atomic_with_retry
def stock_take_for_order(*, quantities: Mapping[int, int], reference: str, user) -> None:
    """Take every line's quantity, or nothing at all (InsufficientStock lists the short lines)."""
    stocks = _lock(quantities)
    shortages = [
        {"article": a, "requested": q, "available": stocks[a].quantity}
        for a, q in sorted(quantities.items())
        if stocks[a].quantity < q
    ]
    if shortages:
        skus = _skus([line["article"] for line in shortages])
        for line in shortages:
            line["sku"] = skus[line["article"]]
        raise InsufficientStock(details={"shortages": shortages})
    deltas = {a: -q for a, q in quantities.items()}
    _apply(stocks, deltas, kind=MovementKind.ORDER, reference=reference, user=user)


@atomic_with_retry
def stock_return_for_order(*, quantities: Mapping[int, int], reference: str, user) -> None:
    stocks = _lock(quantities)
    _check_room(stocks, quantities)
    _apply(stocks, quantities, kind=MovementKind.CANCEL, reference=reference, user=user)


@atomic_with_retry
def stock_restock_many(*, quantities: Mapping[int, int], reference: str, user) -> list[Stock]:
    """A delivery of several articles: all of it is booked, or none (StockLimitExceeded)."""
    stocks = _lock(quantities)
    _check_room(stocks, quantities)
    _apply(stocks, quantities, kind=MovementKind.RESTOCK, reference=reference, user=user)
    return [stocks[a] for a in sorted(quantities)]


def stock_restock(*, article_id: int, quantity: int, reference: str, user) -> Stock:
    return stock_restock_many(quantities={article_id: quantity}, reference=reference, user=user)[0]


@atomic_with_retry
def stock_adjust(*, article_id: int, quantity: int, reason: str, user) -> Stock:
    """Set the counted quantity (an inventory); the ledger records the difference."""
    stock = _lock_one(article_id)
    if stock.max_quantity is not None and quantity > stock.max_quantity:
        raise StockLimitExceeded(
            f"The counted quantity {quantity} passes the maximum of {stock.max_quantity}.",
            field="quantity",
        )
    stocks = {article_id: stock}
    _apply(
        stocks,
        {article_id: quantity - stock.quantity},
        kind=MovementKind.ADJUSTMENT,
        reference=reason,
        user=user,
    )
    return stock


@atomic_with_retry
def stock_set_limits(*, article_id: int, min_quantity: int, max_quantity: int | None) -> Stock:
    stock = _lock_one(article_id)
    if max_quantity is not None and min_quantity > max_quantity:
        raise InvalidStockLimits(field="min_quantity")
    if max_quantity is not None and stock.quantity > max_quantity:
        raise StockLimitExceeded(
            f"The stock holds {stock.quantity}, more than the new maximum of {max_quantity}.",
            field="max_quantity",
        )
    stock.min_quantity, stock.max_quantity = min_quantity, max_quantity
    stock.save(update_fields=["min_quantity", "max_quantity", "updated_at"])
    return stock

"""Every change to a stock level goes through here, in one transaction with its ledger line.

Rows are locked with SELECT ... FOR UPDATE in ascending article id order, the same order in every
service, so transactions that need overlapping articles queue instead of deadlocking. Checks are
made on the locked values; the database's CHECK constraints stay as the last line of defence.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.utils import timezone

from articles.models import Article
from articles.selectors import article_ids_by_sku, article_skus
from core.db import atomic_with_retry, update_by_pk
from core.errors import NotFound
from core.text import clean_text
from store_infra.cache import changed

from .errors import (
    DeliveryRefused,
    InsufficientStock,
    InvalidQuantity,
    InvalidStockLimits,
    StockLimitExceeded,
)
from .models import MAX_UNITS, MovementKind, Stock, StockMovement

REFERENCE_LENGTH = StockMovement._meta.get_field("reference").max_length
# The most lines one delivery by SKU may hold: far beyond a delivery note, and its statements stay
# within what every database takes (SQLite's 32,766 parameters).
MAX_DELIVERY_LINES = 5_000


def _check_quantities(quantities: Mapping[int, int], *, minimum: int = 1) -> None:
    """Every door checks its input, but a movement of 0, -5 or 10**12 units is refused here too."""
    for article_id, quantity in quantities.items():
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not minimum <= quantity <= MAX_UNITS
        ):
            raise InvalidQuantity(
                f"Quantity {quantity!r} for article {article_id} is not a whole number from "
                f"{minimum} to {MAX_UNITS}.",
                field="quantity",
                details={"article": article_id, "quantity": str(quantity)},
            )


def _lock(article_ids) -> dict[int, Stock]:
    stocks = Stock.objects.select_for_update().filter(article_id__in=article_ids).order_by("article_id")
    locked = {stock.article_id: stock for stock in stocks}
    missing = set(article_ids) - set(locked)
    if missing:
        raise NotFound(f"No stock for article(s) {sorted(missing)}.")
    return locked


def _lock_one(article_id: int) -> Stock:
    return _lock([article_id])[article_id]


def _book(
    stocks: Mapping[int, Stock], deltas: Mapping[int, int], *, kind: str, reference: str, user
) -> list[StockMovement]:
    """Change the locked rows' quantities in memory; returns the ledger lines that explain it."""
    movements = []
    for article_id, delta in sorted(deltas.items()):
        stocks[article_id].quantity += delta
        movements.append(
            StockMovement(
                article_id=article_id,
                delta=delta,
                quantity_after=stocks[article_id].quantity,
                kind=kind,
                reference=reference,
                user=user,
            )
        )
    return movements


def _save(stocks: Mapping[int, Stock], movements: Sequence[StockMovement]) -> None:
    """Write the new quantities with one UPDATE and their ledger lines with one INSERT."""
    moved = sorted({movement.article_id for movement in movements})
    update_by_pk(Stock, "quantity", {a: stocks[a].quantity for a in moved}, updated_at=timezone.now())
    StockMovement.objects.bulk_create(movements)
    changed(Stock, StockMovement)


def _apply(
    stocks: Mapping[int, Stock], deltas: Mapping[int, int], *, kind: str, reference: str, user
) -> None:
    clean_text(reference, field="reference")
    _save(stocks, _book(stocks, deltas, kind=kind, reference=reference, user=user))


def _capacity(stock: Stock) -> int:
    """Its max_quantity; a stock without one still holds at most MAX_UNITS."""
    return MAX_UNITS if stock.max_quantity is None else stock.max_quantity


def _check_room(stocks: Mapping[int, Stock], additions: Mapping[int, int]) -> None:
    over = [
        {
            "article": article_id,
            "quantity": stocks[article_id].quantity,
            "requested": added,
            "max_quantity": _capacity(stocks[article_id]),
        }
        for article_id, added in sorted(additions.items())
        if stocks[article_id].quantity + added > _capacity(stocks[article_id])
    ]
    if over:
        skus = article_skus(ids=[line["article"] for line in over])
        for line in over:
            line["sku"] = skus[line["article"]]
        raise StockLimitExceeded(details={"lines": over})


def stock_initialize(*, article: Article, min_quantity: int = 0, max_quantity: int | None = None):
    """The stock row every article has from its creation on, at quantity 0."""
    fields = {"article": article, "min_quantity": min_quantity, "max_quantity": max_quantity}
    return stock_initialize_many(stocks=[fields])[0]


def stock_initialize_many(*, stocks: Sequence[Mapping]) -> list[Stock]:
    """The stock rows of new articles in one INSERT; each item holds stock_initialize's arguments."""
    rows = [Stock(**fields) for fields in stocks]
    for row in rows:
        if row.max_quantity is not None and row.min_quantity > row.max_quantity:
            raise InvalidStockLimits(field="min_quantity")
    created = Stock.objects.bulk_create(rows)
    changed(Stock)
    return created


def _check_available(stocks: Mapping[int, Stock], quantities: Mapping[int, int]) -> None:
    shortages = [
        {"article": a, "requested": q, "available": stocks[a].quantity}
        for a, q in sorted(quantities.items())
        if stocks[a].quantity < q
    ]
    if shortages:
        skus = article_skus(ids=[line["article"] for line in shortages])
        for line in shortages:
            line["sku"] = skus[line["article"]]
        raise InsufficientStock(details={"shortages": shortages})


def stock_take_for_order(*, quantities: Mapping[int, int], reference: str, user) -> None:
    """Take every line's quantity, or nothing at all (InsufficientStock lists the short lines)."""
    stock_take_for_orders(orders=[{"quantities": quantities, "reference": reference, "user": user}])


def _book_for_orders(orders: Sequence[Mapping], *, kind: str, check, sign: int) -> None:
    """Order after order: `check` the locked rows, then move `sign * quantity` of each line."""
    for order in orders:
        _check_quantities(order["quantities"])
    stocks = _lock({article_id for order in orders for article_id in order["quantities"]})
    movements = []
    for order in orders:
        check(stocks, order["quantities"])
        deltas = {a: sign * q for a, q in order["quantities"].items()}
        movements += _book(stocks, deltas, kind=kind, reference=order["reference"], user=order["user"])
    _save(stocks, movements)


@atomic_with_retry
def stock_take_for_orders(*, orders: Sequence[Mapping]) -> None:
    """The stock of several orders, taken in turn; each item holds stock_take_for_order's arguments.

    All of it is taken, with one UPDATE and one INSERT, or none (InsufficientStock lists the short
    lines of the first order short of stock).
    """
    _book_for_orders(orders, kind=MovementKind.ORDER, check=_check_available, sign=-1)


def stock_return_for_order(*, quantities: Mapping[int, int], reference: str, user) -> None:
    stock_return_for_orders(orders=[{"quantities": quantities, "reference": reference, "user": user}])


@atomic_with_retry
def stock_return_for_orders(*, orders: Sequence[Mapping]) -> None:
    """The stock of several cancelled orders, given back in turn; items as for stock_return_for_order.

    All of it, or none (StockLimitExceeded).
    """
    _book_for_orders(orders, kind=MovementKind.CANCEL, check=_check_room, sign=1)


@atomic_with_retry
def stock_restock_many(*, quantities: Mapping[int, int], reference: str, user) -> list[Stock]:
    """A delivery of several articles: all of it is booked, or none (StockLimitExceeded)."""
    _check_quantities(quantities)
    stocks = _lock(quantities)
    _check_room(stocks, quantities)
    _apply(stocks, quantities, kind=MovementKind.RESTOCK, reference=reference, user=user)
    return [stocks[a] for a in sorted(quantities)]


def stock_restock(*, article_id: int, quantity: int, reference: str, user) -> Stock:
    return stock_restock_many(quantities={article_id: quantity}, reference=reference, user=user)[0]


# --- deliveries by SKU, as people write them -------------------------------------------------------


@dataclass(frozen=True)
class DeliveryLine:
    """One line of a delivery as it was given: where it comes from ("row 3" of a file, "items.2" of a
    GraphQL list, "" for a delivery of one line), the SKU, and the quantity as written."""

    place: str
    sku: str
    quantity: str | int


def _problem(line: DeliveryLine | None, field: str, code: str, message: str) -> dict:
    return {"place": line.place if line else "", "field": field, "code": code, "message": message}


def _whole_units(written: str | int) -> int | None:
    """The quantity as a number of units from 1 to MAX_UNITS, or None."""
    if isinstance(written, str) and re.fullmatch(r"[0-9]{1,7}", written.strip()):
        written = int(written)
    if isinstance(written, int) and not isinstance(written, bool) and 1 <= written <= MAX_UNITS:
        return written
    return None


def _input_problems(
    lines: Sequence[DeliveryLine], reference: str, ids: Mapping[str, int]
) -> tuple[dict[int, int], list[tuple[int, dict]]]:
    """The units of the good lines by article id, and every problem of the input with its line's index."""
    quantities, problems, first_place = {}, [], {}
    if len(lines) > MAX_DELIVERY_LINES:
        message = f"A delivery holds at most {MAX_DELIVERY_LINES:,} lines, not {len(lines):,}; split it."
        return {}, [(-1, _problem(None, "lines", "too_many_items", message))]
    if not 1 <= len(reference) <= REFERENCE_LENGTH:
        message = f"The reference must be 1 to {REFERENCE_LENGTH} characters."
        problems.append((-1, _problem(None, "reference", "invalid", message)))
    if not lines:
        problems.append((-1, _problem(None, "lines", "invalid", "A delivery has at least one line.")))
    for index, line in enumerate(lines):
        units = _whole_units(line.quantity)
        if not line.sku:
            problems.append((index, _problem(line, "sku", "invalid", "The SKU is empty.")))
        elif line.sku in first_place:
            message = f"SKU {line.sku!r} is already on {first_place[line.sku] or 'another line'}."
            problems.append((index, _problem(line, "sku", "duplicate_sku", message)))
        elif line.sku not in ids:
            message = f"No article has SKU {line.sku!r}."
            problems.append((index, _problem(line, "sku", "unknown_sku", message)))
        elif units is not None:
            quantities[ids[line.sku]] = units
        first_place.setdefault(line.sku, line.place)
        if units is None:
            message = f"The quantity {str(line.quantity)!r} is not a whole number from 1 to {MAX_UNITS}."
            problems.append((index, _problem(line, "quantity", "invalid_quantity", message)))
    return quantities, problems


def _levels_after(quantities: Mapping[int, int]) -> dict[int, Stock]:
    """The stocks as a delivery would leave them, checked against their capacities as they are now;
    nothing is locked or saved (a booking checks again on the locked rows)."""
    stocks = {stock.article_id: stock for stock in Stock.objects.filter(article_id__in=quantities)}
    _check_room(stocks, quantities)
    for article_id, added in quantities.items():
        stocks[article_id].quantity += added
    return stocks


def stock_deliver(
    *, lines: Sequence[DeliveryLine], reference: str, user, dry_run: bool = False
) -> list[Stock]:
    """Book a delivery by SKU, every line or none; the new levels in the order of `lines`.

    The door for deliveries people write (GraphQL, `manage.py restock`, the admin): every problem is
    found at once, each naming its line (an empty, unknown or repeated SKU, a quantity that is not 1
    to MAX_UNITS units, a line past its article's capacity) or the reference, and raised together as
    DeliveryRefused; more than MAX_DELIVERY_LINES lines are refused whole. With `dry_run`, the
    delivery is checked against the levels as they are now, without locking them, and the levels it
    would leave are returned; nothing is saved.
    """
    reference = reference.strip()
    ids = article_ids_by_sku(skus={line.sku for line in lines if line.sku})
    quantities, problems = _input_problems(lines, reference, ids)
    levels = {}
    try:
        if problems or dry_run:
            levels = _levels_after(quantities) if quantities else {}
        else:
            stocks = stock_restock_many(quantities=quantities, reference=reference, user=user)
            levels = {stock.article_id: stock for stock in stocks}
    except StockLimitExceeded as error:
        index_of = {}  # the line each article's quantity came from: its first
        for index, line in enumerate(lines):
            index_of.setdefault(ids.get(line.sku), index)
        for over in error.details["lines"]:
            room = over["max_quantity"] - over["quantity"]
            message = (
                f"{over['sku']} holds {over['quantity']}; {over['requested']} more would pass "
                f"its maximum of {over['max_quantity']} ({room} fit)."
            )
            index = index_of[over["article"]]
            problems.append((index, _problem(lines[index], "quantity", error.code, message)))
    if problems:
        ordered = [problem for _, problem in sorted(problems, key=lambda problem: problem[0])]
        raise DeliveryRefused(details={"problems": ordered})
    return [levels[ids[line.sku]] for line in lines]


@atomic_with_retry
def stock_adjust(*, article_id: int, quantity: int, reason: str, user) -> Stock:
    """Set the counted quantity (an inventory); the ledger records the difference."""
    _check_quantities({article_id: quantity}, minimum=0)
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
def stock_set_limits(*, article_id: int, **limits) -> Stock:
    """Change `min_quantity` and/or `max_quantity` (None: no capacity); a limit not given is kept.

    The limits not given are read from the locked row, so two concurrent changes of one limit each
    both stick.
    """
    unknown = set(limits) - {"min_quantity", "max_quantity"}
    if unknown:
        raise TypeError(f"not limits: {sorted(unknown)}")
    stock = _lock_one(article_id)
    min_quantity = limits.get("min_quantity", stock.min_quantity)
    max_quantity = limits.get("max_quantity", stock.max_quantity)
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

import hashlib
import json
import math
from collections import defaultdict
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from articles.filters import search_articles
from articles.models import Article
from core.db import consistent_snapshot
from core.errors import DomainError, NotFound
from core.text import clean_text
from store_infra.cache import CachedJSON, CachedRead
from users.models import Role

from .models import LOW_STOCK, MovementKind, Stock, StockMovement

STOCK_LEVELS = CachedRead("stock-level", depends_on=(Stock, Article))
STOCK_REPORT = CachedRead("stock-report", depends_on=(Article, Stock))

MONEY = DecimalField(max_digits=14, decimal_places=2)
CENT = Decimal("0.01")


def stock_list() -> QuerySet[Stock]:
    """Stock levels with their article (filter low rows with models.LOW_STOCK)."""
    return Stock.objects.select_related("article").order_by("article_id")


def stock_get(*, article_id: int) -> Stock:
    return stock_list().get(article_id=article_id)


def stock_get_by_sku(*, sku: str) -> Stock:
    return stock_list().get(article__sku=clean_text(sku, field="sku"))


# The low-stock rule (stocks.models.LOW_STOCK) as a column of the rows read.
_IS_LOW = ExpressionWrapper(LOW_STOCK, output_field=BooleanField())


def _stock_level(article_id: int) -> dict:
    level = (
        Stock.objects.filter(article_id=article_id)
        .values("article_id", "quantity", "min_quantity", "max_quantity")
        .annotate(sku=F("article__sku"), name=F("article__name"), is_low=_IS_LOW)
        .first()
    )
    if level is None:
        raise NotFound(f"No stock for article {article_id}.")
    return level


def stock_level(*, article_id: int) -> CachedJSON:
    """One article's stock level, from the cache until its stock or its article changes."""
    return STOCK_LEVELS.get(str(article_id), compute=lambda: _stock_level(article_id))


def _report_rows(*, search: str = "", is_low: bool | None = None, is_active: bool | None = None):
    """Every article, joined to its stock (0 for an article that has no stock row)."""
    quantity = Coalesce(F("stock__quantity"), Value(0))
    min_quantity = Coalesce(F("stock__min_quantity"), Value(0))
    rows = Article.objects.annotate(
        article_id=F("id"),
        unit_price=F("price"),
        quantity=quantity,
        value=ExpressionWrapper(quantity * F("price"), output_field=MONEY),
        min_quantity=min_quantity,
        max_quantity=F("stock__max_quantity"),
        is_low=_IS_LOW,  # on the quantities just annotated
    )
    if search:
        rows = search_articles(rows, search)
    if is_low is not None:
        rows = rows.filter(is_low=is_low)
    if is_active is not None:
        rows = rows.filter(is_active=is_active)
    return rows


# A page of the report: its size never grows with the catalogue, its totals cover every row.
REPORT_PAGE_SIZE = 100
REPORT_MAX_PAGE_SIZE = 1000
REPORT_MAX_PAGE = 1_000_000  # far past any catalogue, but an offset the database takes


def _stock_report(*, page: int, page_size: int, **filters) -> dict:
    """One page of rows and the totals of all of them, read from one snapshot: a write committed
    between the two reads would otherwise leave totals that do not add up the rows shown with them.
    (One statement with window functions gave that too, but MariaDB then sorts every row with its
    window sums before it cuts the page: 0.9 s for 100,000 articles, against 0.15 s for both reads.)"""
    rows = _report_rows(**filters)
    start = (page - 1) * page_size
    with consistent_snapshot():
        totals = rows.aggregate(
            articles=Count("id"),
            units=Coalesce(Sum("quantity"), 0),
            stock_value=Coalesce(Sum("value"), Value(0), output_field=MONEY),
            low_stock=Count("id", filter=Q(is_low=True)),
        )
        articles = list(
            rows.order_by("id").values(
                "article_id",
                "sku",
                "name",
                "unit_price",
                "quantity",
                "value",
                "min_quantity",
                "max_quantity",
                "is_low",
            )[start : start + page_size]
        )
    if not articles and page > 1:
        raise NotFound(f"The report has no page {page}; page 1 says how many it has.")
    # SQLite hands back products of decimals with as many places as it likes; money has two.
    totals["stock_value"] = Decimal(totals["stock_value"]).quantize(CENT)
    for article in articles:
        article["is_low"] = bool(article["is_low"])
        article["value"] = article["value"].quantize(CENT)
    return {
        "generated_at": timezone.now(),
        "totals": totals,
        "page": page,
        "page_size": page_size,
        "pages": max(1, math.ceil(totals["articles"] / page_size)),
        "articles": articles,
    }


def stock_report(
    *,
    search: str = "",
    is_low: bool | None = None,
    is_active: bool | None = None,
    page: int = 1,
    page_size: int = REPORT_PAGE_SIZE,
) -> CachedJSON:
    """A page of every article's stock and value (by article id), with the totals of all pages: one
    query, cached until a stock level or an article changes."""
    if not 1 <= page_size <= REPORT_MAX_PAGE_SIZE:
        raise DomainError(f"page_size must be from 1 to {REPORT_MAX_PAGE_SIZE}.", field="page_size")
    if not 1 <= page <= REPORT_MAX_PAGE:
        raise DomainError(f"page must be from 1 to {REPORT_MAX_PAGE}.", field="page")
    filters = {"search": search, "is_low": is_low, "is_active": is_active}
    paged = {**filters, "page": page, "page_size": page_size}
    digest = hashlib.blake2b(json.dumps(paged, sort_keys=True).encode(), digest_size=12).hexdigest()
    return STOCK_REPORT.get(digest, compute=lambda: _stock_report(**paged))


def stock_low_count() -> int:
    """How many active articles are at or below their reorder point, in one COUNT (the metrics' gauge)."""
    return Stock.objects.filter(LOW_STOCK, article__is_active=True).count()


def stock_low_list(*, page: int = 1, page_size: int = REPORT_MAX_PAGE_SIZE) -> list[dict]:
    """A page of the active articles at or below their reorder point (by article id), each with the
    delivery that refills it.

    `target` is the article's capacity (`max_quantity`) when it has one, else its reorder point
    (`min_quantity`); `missing` is `target - quantity`, the units to deliver to reach it (0 for an
    article exactly at a reorder point and without capacity). Deactivated articles are left out: they
    are not sold any more. The rows are those of the cached stock report, so both always agree.
    """
    report = stock_report(is_low=True, is_active=True, page=page, page_size=page_size)
    rows = report.data["articles"]
    low = []
    for row in rows:
        target = row["min_quantity"] if row["max_quantity"] is None else row["max_quantity"]
        low.append({**row, "target": target, "missing": target - row["quantity"]})
    return low


def movement_list(*, actor=None, sku: str | None = None) -> QuerySet[StockMovement]:
    """The ledger (of one article, by its SKU), newest first. Suppliers see deliveries only: orders
    are none of their business."""
    movements = StockMovement.objects.select_related("article", "user").order_by("-id")
    if sku is not None:
        movements = movements.filter(article__sku=clean_text(sku, field="sku"))
    if actor is not None and actor.role == Role.SUPPLIER:
        movements = movements.filter(kind=MovementKind.RESTOCK)
    return movements


def stock_ledger_problems(*, article_ids=None) -> list[str]:
    """The audit of the stock (all of it, or these articles'): every row between 0 and its capacity and
    explained by its ledger. Movements of one article are written while its stock row is locked, so
    their ids follow the order of the changes: replayed in id order they must give each
    `quantity_after` and end on the current quantity. Every broken invariant, as readable lines
    (empty when all is well); the tests and the benchmark ask it after their storms."""
    stocks = Stock.objects.order_by("article_id")
    movements = StockMovement.objects.order_by("id")
    if article_ids is not None:
        stocks = stocks.filter(article_id__in=article_ids)
        movements = movements.filter(article_id__in=article_ids)
    history = defaultdict(list)
    for movement in movements:
        history[movement.article_id].append(movement)

    problems = []
    for stock in stocks:
        article = stock.article_id
        if stock.quantity < 0:
            problems.append(f"article {article}: negative quantity {stock.quantity}")
        if stock.max_quantity is not None and stock.quantity > stock.max_quantity:
            problems.append(f"article {article}: quantity {stock.quantity} above max {stock.max_quantity}")
        running = 0
        for movement in history[article]:
            running += movement.delta
            if movement.quantity_after != running:
                problems.append(
                    f"article {article}: movement {movement.id} says {movement.quantity_after}, "
                    f"the ledger sums to {running}"
                )
        if running != stock.quantity:
            problems.append(f"article {article}: quantity {stock.quantity}, ledger sum {running}")
    return problems

from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from core.db import atomic_with_retry, bulk_insert
from stocks.services import stock_initialize, stock_initialize_many
from store_infra.cache import changed

from .errors import ArticleInUse
from .models import Article

EDITABLE_FIELDS = frozenset({"sku", "name", "description", "price", "is_active"})


@transaction.atomic
def article_create(
    *,
    sku: str,
    name: str,
    price: Decimal,
    description: str = "",
    is_active: bool = True,
    min_quantity: int = 0,
    max_quantity: int | None = None,
) -> Article:
    """A new article, with its stock row at quantity 0."""
    article = Article(sku=sku, name=name, price=price, description=description, is_active=is_active)
    article.full_clean()
    article.save()
    stock_initialize(article=article, min_quantity=min_quantity, max_quantity=max_quantity)
    return article


@transaction.atomic
def article_create_many(*, articles: Sequence[Mapping]) -> list[Article]:
    """New articles in a few queries (imports, demo data); each item holds article_create's arguments.

    Fields are validated row by row; uniqueness and CHECK constraints are left to the database, which
    refuses the whole batch.
    """
    rows, limits = [], []
    for fields in articles:
        fields = dict(fields)
        limits.append(
            {"min_quantity": fields.pop("min_quantity", 0), "max_quantity": fields.pop("max_quantity", None)}
        )
        row = Article(**fields)
        row.full_clean(validate_unique=False, validate_constraints=False)
        rows.append(row)
    bulk_insert(Article, rows)
    changed(Article)
    stock_initialize_many(stocks=[{"article": row, **limit} for row, limit in zip(rows, limits, strict=True)])
    return rows


@atomic_with_retry
def article_update(*, article: Article, **changes) -> Article:
    """Change an article's editable fields.

    Retried on lock races: every order line and ledger line inserted for the article holds a shared
    lock on its row, so this UPDATE can close a deadlock with orders and restocks in flight (and,
    holding no other locks, is the transaction InnoDB picks to roll back).
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(article, field, value)
    article.full_clean()
    article.save()
    return article


@atomic_with_retry
def article_delete(*, article: Article) -> None:
    """Only an article with no history (orders, stock movements) can be deleted.

    An order placed between Django's check for history and the DELETE makes the foreign key refuse
    it: the same answer.
    """
    try:
        with transaction.atomic():
            article.delete()
    except (ProtectedError, IntegrityError):
        raise ArticleInUse() from None

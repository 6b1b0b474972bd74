from decimal import Decimal

from django.db import transaction
from django.db.models import ProtectedError

from stocks.services import stock_initialize

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
def article_update(*, article: Article, **changes) -> Article:
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(article, field, value)
    article.full_clean()
    article.save()
    return article


@transaction.atomic
def article_delete(*, article: Article) -> None:
    """Only an article with no history (orders, stock movements) can be deleted."""
    try:
        article.delete()
    except ProtectedError:
        raise ArticleInUse() from None

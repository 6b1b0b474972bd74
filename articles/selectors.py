from django.db.models import Q, QuerySet

from core.text import clean_text
from stocks.models import LOW_STOCK, Stock

from .models import Article


def article_list(
    *, search: str = "", is_active: bool | None = None, low_stock_only: bool = False
) -> QuerySet[Article]:
    """Articles with their stock row; `search` looks in names and SKUs, `low_stock_only` keeps the
    articles at or below their reorder point."""
    articles = Article.objects.select_related("stock").order_by("id")
    if search:
        clean_text(search, field="search")
        articles = articles.filter(Q(name__icontains=search) | Q(sku__icontains=search))
    if is_active is not None:
        articles = articles.filter(is_active=is_active)
    if low_stock_only:
        articles = articles.filter(pk__in=Stock.objects.filter(LOW_STOCK).values("article_id"))
    return articles


def article_map(*, ids) -> dict[int, Article]:
    """The articles with these ids, in one query."""
    return Article.objects.in_bulk(list(ids))


def article_skus(*, ids) -> dict[int, str]:
    """`{id: sku}` of these articles, in one query."""
    return dict(Article.objects.filter(pk__in=list(ids)).values_list("pk", "sku"))


def article_ids_by_sku(*, skus) -> dict[str, int]:
    """`{sku: id}` for those of `skus` that exist, in one query."""
    for sku in skus:
        clean_text(sku, field="sku")
    return dict(Article.objects.filter(sku__in=list(skus)).values_list("sku", "pk"))

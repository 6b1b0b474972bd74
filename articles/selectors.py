from collections.abc import Mapping

from django.db.models import QuerySet

from core.errors import DomainError
from core.text import clean_text
from stocks.models import Stock
from store_infra.cache import CachedRead

from .filters import ArticleFilter
from .models import Article

# The REST catalogue's answers (pages and details): an article shows its stock.
ARTICLE_PAGES = CachedRead("articles", depends_on=(Article, Stock))


def article_list(*, filters: Mapping | None = None) -> QuerySet[Article]:
    """Articles with their stock row, by id, filtered by ArticleFilter's `filters` (`search` in names
    and SKUs, `is_active`, `min_price`, `max_price`, `low_stock_only`); bad ones are refused."""
    articles = Article.objects.select_related("stock").order_by("id")
    if not filters:
        return articles
    filtered = ArticleFilter(filters, queryset=articles)
    if not filtered.is_valid():
        raise DomainError(
            "Invalid filter.", fields={name: list(errors) for name, errors in filtered.errors.items()}
        )
    return filtered.qs


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

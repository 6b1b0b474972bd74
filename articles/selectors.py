from django.db.models import QuerySet

from .models import Article


def article_list() -> QuerySet[Article]:
    return Article.objects.select_related("stock").order_by("id")


def article_map(*, ids) -> dict[int, Article]:
    """The articles with these ids, in one query."""
    return Article.objects.in_bulk(list(ids))


def article_skus(*, ids) -> dict[int, str]:
    """`{id: sku}` of these articles, in one query."""
    return dict(Article.objects.filter(pk__in=list(ids)).values_list("pk", "sku"))


def article_ids_by_sku(*, skus) -> dict[str, int]:
    """`{sku: id}` for those of `skus` that exist, in one query."""
    return dict(Article.objects.filter(sku__in=list(skus)).values_list("sku", "pk"))

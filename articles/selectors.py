from django.db.models import QuerySet

from .models import Article


def article_list() -> QuerySet[Article]:
    return Article.objects.select_related("stock").order_by("id")


def article_map(*, ids) -> dict[int, Article]:
    """The articles with these ids, in one query."""
    return Article.objects.in_bulk(list(ids))

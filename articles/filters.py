"""The catalogue's filters, one FilterSet for every door: the REST list's query string (through
django-filter's backend) and GraphQL's `articles` arguments (through selectors.article_list)."""

import django_filters
from django.db.models import Q

from core.text import clean_text
from stocks.models import LOW_STOCK, Stock

from .models import Article

SEARCH_LENGTH = 100


def search_articles(articles, text: str, *, field: str = "search"):
    """The rows of `articles` (an Article queryset) whose name or SKU holds `text`, in any case: the
    catalogue's search and the stock report's."""
    clean_text(text, field=field)
    return articles.filter(Q(name__icontains=text) | Q(sku__icontains=text))


class ArticleFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", max_length=SEARCH_LENGTH, label="Part of a name or SKU"
    )
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")
    low_stock_only = django_filters.BooleanFilter(
        method="filter_low_stock_only", label="Only articles at or below their reorder point"
    )

    class Meta:
        model = Article
        fields = ["search", "is_active", "min_price", "max_price", "low_stock_only"]

    def filter_search(self, queryset, name, value):
        return search_articles(queryset, value, field=name)

    def filter_low_stock_only(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(pk__in=Stock.objects.filter(LOW_STOCK).values("article_id"))

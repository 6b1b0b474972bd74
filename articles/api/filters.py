import django_filters

from ..models import Article


class ArticleFilter(django_filters.FilterSet):
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte")

    class Meta:
        model = Article
        fields = ["is_active", "min_price", "max_price"]

import django_filters
from django import forms

from articles.models import Article

from ..models import LOW_STOCK, Stock, StockMovement


class StockFilter(django_filters.FilterSet):
    is_low = django_filters.BooleanFilter(method="filter_is_low", label="At or below the reorder point")
    is_active = django_filters.BooleanFilter(field_name="article__is_active")

    class Meta:
        model = Stock
        fields = ["is_low", "is_active"]

    def filter_is_low(self, queryset, name, value):
        return queryset.filter(LOW_STOCK) if value else queryset.exclude(LOW_STOCK)


class StockMovementFilter(django_filters.FilterSet):
    # An id box in the browsable API's filter form, not a drop-down of the whole catalogue.
    article = django_filters.ModelChoiceFilter(queryset=Article.objects.all(), widget=forms.NumberInput)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockMovement
        fields = ["article", "kind"]

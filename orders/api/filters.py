import django_filters
from django import forms

from users.models import User

from ..models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    # An id box in the browsable API's filter form, not a drop-down of every user.
    customer = django_filters.ModelChoiceFilter(queryset=User.objects.all(), widget=forms.NumberInput)
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["customer", "status", "created_after", "created_before"]

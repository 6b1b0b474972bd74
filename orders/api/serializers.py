from rest_framework import serializers

from stocks.api.serializers import MAX_UNITS
from users.models import Role, User

from ..models import Order, OrderLine, OrderStatus

MAX_LINES = 100


class OrderLineInputSerializer(serializers.Serializer):
    article = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Article id.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS)


class OrderCreateSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(role=Role.CUSTOMER, is_active=True),
        help_text="Id of an active customer.",
    )
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="article.sku", read_only=True)
    name = serializers.CharField(source="article.name", read_only=True)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = OrderLine
        fields = ["article", "sku", "name", "quantity", "unit_price", "line_total"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.get_full_name", read_only=True)
    status = serializers.ChoiceField(choices=OrderStatus.choices, read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "customer",
            "customer_name",
            "status",
            "total",
            "lines",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

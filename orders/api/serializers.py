from rest_framework import serializers

from stocks.models import MAX_UNITS
from users.models import Role, User

from ..models import Order, OrderLine, OrderStatus

MAX_LINES = 100


class OrderLinesSerializer(serializers.ListSerializer):
    """Per-line errors as a list aligned with the lines (`{}` for a good line).

    That is the shape orders.services gives for the lines it refuses (unknown article, ...), so a
    client reads `fields.lines[i]` whichever check failed; DRF alone would key them by index.
    """

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if isinstance(error.detail, dict) and all(isinstance(key, int) for key in error.detail):
                per_line = [error.detail.get(index, {}) for index in range(len(data))]
                raise serializers.ValidationError(per_line) from None
            raise


class OrderLineInputSerializer(serializers.Serializer):
    article = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="Article id.")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS)

    class Meta:
        list_serializer_class = OrderLinesSerializer


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

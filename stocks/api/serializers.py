from rest_framework import serializers

from core.fields import WholeNumberField

from ..models import MAX_UNITS, Stock, StockMovement


class StockLimitsSerializer(serializers.ModelSerializer):
    """What a PATCH of a stock may change: its reorder point and capacity."""

    min_quantity = WholeNumberField(min_value=0, max_value=MAX_UNITS, required=False)
    max_quantity = WholeNumberField(min_value=0, max_value=MAX_UNITS, required=False, allow_null=True)

    class Meta:
        model = Stock
        fields = ["min_quantity", "max_quantity"]


class StockSerializer(StockLimitsSerializer):
    sku = serializers.CharField(source="article.sku", read_only=True)
    name = serializers.CharField(source="article.name", read_only=True)

    class Meta(StockLimitsSerializer.Meta):
        fields = ["article_id", "sku", "name", "quantity", "min_quantity", "max_quantity", "is_low"]
        read_only_fields = ["quantity"]


class RestockSerializer(serializers.Serializer):
    quantity = WholeNumberField(min_value=1, max_value=MAX_UNITS)
    reference = serializers.CharField(max_length=200, help_text="Delivery note or supplier reference.")


class AdjustSerializer(serializers.Serializer):
    quantity = WholeNumberField(
        min_value=0, max_value=MAX_UNITS, help_text="The counted quantity (absolute)."
    )
    reason = serializers.CharField(max_length=200)


class StockMovementSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="article.sku", read_only=True)
    user = serializers.CharField(source="user.username", read_only=True, default=None)

    class Meta:
        model = StockMovement
        fields = [
            "id",
            "article",
            "sku",
            "delta",
            "quantity_after",
            "kind",
            "reference",
            "user",
            "created_at",
        ]
        read_only_fields = fields

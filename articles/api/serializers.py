from rest_framework import serializers

from ..models import Article


class ArticleSerializer(serializers.ModelSerializer):
    quantity = serializers.IntegerField(source="stock.quantity", read_only=True, default=0)

    class Meta:
        model = Article
        fields = [
            "id",
            "sku",
            "name",
            "description",
            "price",
            "is_active",
            "quantity",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

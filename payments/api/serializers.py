from django.conf import settings
from rest_framework import serializers

from core.fields import IdField

from ..models import Payment


class PaymentCreateSerializer(serializers.Serializer):
    order_id = IdField()
    customer_id = IdField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text='A string, e.g. "12.34".')
    currency = serializers.RegexField(
        r"^[A-Z]{3}$",
        default="CAD",
        help_text="ISO 4217 code.",
        error_messages={"invalid": "Three capitals."},
    )


class PaymentListQuerySerializer(serializers.Serializer):
    order_id = IdField()


class PaymentProcessSerializer(serializers.Serializer):
    """Only the shape; payments.cards checks the card itself. Never echoed back nor stored."""

    card_number = serializers.CharField(max_length=32, help_text="Spaces and dashes are ignored.")
    cvc = serializers.CharField(max_length=8)
    expiry = serializers.CharField(max_length=8, help_text='"MM/YY"; valid to the end of that month.')


class PayerPaymentSerializer(serializers.ModelSerializer):
    """What the paying client sees: no customer, no card data."""

    pay_url = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = ["id", "order_id", "amount", "currency", "status", "pay_url", "created_at", "updated_at"]
        read_only_fields = fields

    def get_pay_url(self, payment: Payment) -> str:
        return settings.PAYMENTS_PUBLIC_URL.rstrip("/") + payment.pay_path


class PaymentSerializer(PayerPaymentSerializer):
    """A payment as the store sees it (docs/adr/0005-payments-service.md)."""

    class Meta(PayerPaymentSerializer.Meta):
        fields = [
            "id",
            "order_id",
            "customer_id",
            "amount",
            "currency",
            "status",
            "pay_url",
            "card_brand",
            "card_last4",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from core.fields import IdField, IdRelatedField, WholeNumberField
from stocks.models import MAX_UNITS
from users.models import User

from ..models import Order, OrderLine, PaymentStatus

MAX_LINES = 100


class OrderLinesSerializer(serializers.ListSerializer):
    """Per-line errors as a list aligned with the lines (`{}` for a good line).

    That is the shape orders.services gives for the lines it refuses (unknown article, ...), so a
    client reads `fields.lines[i]` whichever check failed; DRF alone would key them by index.
    """

    def get_value(self, dictionary):
        lines = super().get_value(dictionary)
        if html.is_html_input(dictionary) and isinstance(lines, list):
            # The HTML form offers more rows than most orders need: a row left blank is no line.
            lines = [line for line in lines if any(str(value).strip() for value in line.values())]
        return lines

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if isinstance(error.detail, dict) and all(isinstance(key, int) for key in error.detail):
                per_line = [error.detail.get(index, {}) for index in range(len(data))]
                raise serializers.ValidationError(per_line) from None
            raise


class OrderLineInputSerializer(serializers.Serializer):
    article = IdField(help_text="Article id.")
    quantity = WholeNumberField(min_value=1, max_value=MAX_UNITS)

    class Meta:
        list_serializer_class = OrderLinesSerializer


# Rows of the browsable API's order form (`lines[0]article`, `lines[0]quantity`, ...: DRF's names for
# a list in form data); a JSON body takes up to MAX_LINES.
FORM_LINE_ROWS = 5


class OrderCreateSerializer(serializers.Serializer):
    customer = IdRelatedField(
        queryset=User.objects.all(),
        help_text="Id of an active customer.",
        # A number, not DRF's drop-down of every user.
        style={"base_template": "input.html", "input_type": "number"},
    )
    lines = OrderLineInputSerializer(
        many=True,
        allow_empty=False,
        max_length=MAX_LINES,
        style={"template": "orders/order_lines_fieldset.html", "rows": range(FORM_LINE_ROWS)},
    )


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="article.sku", read_only=True)
    name = serializers.CharField(source="article.name", read_only=True)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = OrderLine
        fields = ["article", "sku", "name", "quantity", "unit_price", "line_total"]
        read_only_fields = fields


class OrderPaymentSerializer(serializers.Serializer):
    """The order's payment in the payments service, as the store last heard of it."""

    id = serializers.IntegerField(source="payment_id", read_only=True, help_text="The payment's id there.")
    status = serializers.ChoiceField(source="payment_status", choices=PaymentStatus.choices, read_only=True)
    pay_url = serializers.SerializerMethodField(
        help_text="Where the customer POSTs their card details to pay the order; null when the store "
        "learnt of the payment only once it was paid (from the payments service's notification)."
    )

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_pay_url(self, order: Order) -> str | None:
        return order.pay_url or None


def order_payment_data(order: Order) -> dict | None:
    return OrderPaymentSerializer(order).data if order.payment_id is not None else None


class OrderSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.get_full_name", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    payment = serializers.SerializerMethodField(
        help_text="Null until the payments service created the order's payment."
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "customer",
            "customer_name",
            "status",
            "total",
            "lines",
            "payment",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OrderPaymentSerializer(allow_null=True))
    def get_payment(self, order: Order) -> dict | None:
        return order_payment_data(order)

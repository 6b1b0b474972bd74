"""`POST /api/v1/orders/{id}/payment-events/`: the payments service tells the store a payment was paid.

No user calls this door, so it takes no user authentication (and so no CSRF check either): the
HMAC signature over the raw body is what proves the sender (core/signing.py).
"""

from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import DomainError
from core.fields import IdField
from core.parsers import json_loads
from core.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    StaleSignature,
    payment_event_verify,
)

from .. import services
from ..errors import PaymentAmountMismatch, PaymentMismatch
from ..models import OrderStatus, PaymentStatus


class PaymentEventSerializer(serializers.Serializer):
    payment_id = IdField()
    order_id = IdField()
    status = serializers.ChoiceField(
        choices=[PaymentStatus.PAID, PaymentStatus.REFUNDED], help_text="`paid`, then `refunded` if it is."
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField(max_length=3)
    occurred_at = serializers.DateTimeField()


class PaymentEventAnswerSerializer(serializers.Serializer):
    order_id = serializers.IntegerField(source="pk")
    status = serializers.ChoiceField(choices=OrderStatus.choices, help_text="The order's status now.")
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices)


class PaymentEventView(APIView):
    """Record a payment's news on its order, exactly once: paid (the order becomes paid) or refunded
    (wherever the refund was made); a repeated notification answers 200 and changes nothing."""

    authentication_classes = []
    permission_classes = [AllowAny]
    # Not throttled by address: every notification comes from the payments service's, on the internal
    # network only (not on the gateway), and the signature already refuses anyone else.
    throttle_classes = []
    domain_errors = {"post": [BadSignature, StaleSignature, PaymentAmountMismatch, PaymentMismatch]}

    @extend_schema(
        request=PaymentEventSerializer,
        responses={200: PaymentEventAnswerSerializer},
        parameters=[
            OpenApiParameter(TIMESTAMP_HEADER, str, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description='`sha256=` + hex HMAC-SHA256(webhook secret, "<timestamp>." + raw body).',
            ),
        ],
        operation_id="orders_payment_events_create",
        tags=["orders"],
    )
    def post(self, request, order_id: int):
        body = request.body  # the raw bytes the signature covers, read before anything parses them
        payment_event_verify(
            secret=settings.PAYMENTS_WEBHOOK_SECRET,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=body,
        )
        try:
            data = json_loads(body, parse_float=Decimal)
        except ValueError:
            raise DomainError("The body is not JSON.") from None
        event = PaymentEventSerializer(data=data)
        event.is_valid(raise_exception=True)
        if event.validated_data["order_id"] != order_id:
            raise DomainError("The event is about another order.", field="order_id")
        news = event.validated_data
        if news["status"] == PaymentStatus.REFUNDED:
            order = services.order_mark_refunded(order_id=order_id, payment_id=news["payment_id"])
        else:
            order = services.order_mark_paid(
                order_id=order_id,
                payment_id=news["payment_id"],
                amount=news["amount"],
                currency=news["currency"],
            )
        return Response(PaymentEventAnswerSerializer(order).data)

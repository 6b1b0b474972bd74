from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency_keys import HEADER as IDEMPOTENCY_HEADER
from core.idempotency_keys import HEADER_SCHEMA as IDEMPOTENCY_HEADER_SCHEMA
from core.idempotency_keys import IdempotencyKeyReused, InvalidIdempotencyKey
from core.views import database_status, readiness_probe

from .. import selectors, services
from ..errors import (
    AlreadyPaid,
    CardDeclined,
    InvalidCard,
    NotPayable,
    NotRefundable,
)
from .serializers import (
    PayerPaymentSerializer,
    PaymentCreateSerializer,
    PaymentListQuerySerializer,
    PaymentProcessSerializer,
    PaymentSerializer,
)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_HEADER_SCHEMA,
    OpenApiParameter.HEADER,
    description=(
        "Repeating a request with the same key answers the payment it created and creates nothing "
        "new; the same key with another body is refused (422)."
    ),
)


class PaymentListCreateView(APIView):
    """The payments of an order; asking for one (the store only)."""

    domain_errors = {"post": [IdempotencyKeyReused, InvalidIdempotencyKey]}

    @extend_schema(parameters=[PaymentListQuerySerializer], responses={200: PaymentSerializer(many=True)})
    def get(self, request):
        """Every payment of `order_id`, the newest first (a JSON array, at most one of them live)."""
        query = PaymentListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        payments = selectors.payment_list(order_id=query.validated_data["order_id"])
        return Response(PaymentSerializer(payments, many=True).data)

    @extend_schema(
        request=PaymentCreateSerializer,
        responses={201: PaymentSerializer, 200: PaymentSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
    )
    def post(self, request):
        """A pending payment for the order (201), or the live payment the order already has (200)."""
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        answer = services.payment_create(
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER), **serializer.validated_data
        )
        headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
        code = status.HTTP_201_CREATED if answer.created else status.HTTP_200_OK
        return Response(PaymentSerializer(answer.payment).data, status=code, headers=headers)


class PaymentDetailView(APIView):
    @extend_schema(responses={200: PaymentSerializer})
    def get(self, request, payment_id: int):
        return Response(PaymentSerializer(selectors.payment_get(payment_id=payment_id)).data)


class PaymentRefundView(APIView):
    domain_errors = {"post": [NotRefundable]}

    @extend_schema(request=None, responses={200: PaymentSerializer})
    def post(self, request, payment_id: int):
        """Refund a paid payment; a refunded one is answered as it is (idempotent)."""
        return Response(PaymentSerializer(services.payment_refund(payment_id=payment_id)).data)


class PaymentPayView(APIView):
    """A payment's pay_url: the paying client's door, authorised by the secret in the path."""

    authentication_classes = []
    permission_classes = [AllowAny]
    domain_errors = {"post": [InvalidCard, CardDeclined, AlreadyPaid, NotPayable]}

    @extend_schema(responses={200: PayerPaymentSerializer})
    def get(self, request, payment_id: int, secret: str):
        payment = selectors.payment_get_for_payer(payment_id=payment_id, secret=secret)
        return Response(PayerPaymentSerializer(payment).data)

    @extend_schema(request=PaymentProcessSerializer, responses={200: PayerPaymentSerializer})
    def post(self, request, payment_id: int, secret: str):
        """Pay with a card. Card 4000 0000 0000 0002 is always declined (402, the payment is
        `failed` and may be paid again)."""
        serializer = PaymentProcessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = services.payment_process(payment_id=payment_id, secret=secret, **serializer.validated_data)
        return Response(PayerPaymentSerializer(payment).data)


readiness = readiness_probe(lambda: {"database": database_status()})

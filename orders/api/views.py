from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.idempotency_keys import HEADER, IdempotencyKeyReused, InvalidIdempotencyKey
from core.idempotency_keys import HEADER_SCHEMA as IDEMPOTENCY_HEADER_SCHEMA
from core.parsers import JSON_OR_FORM
from stocks.errors import InsufficientStock, StockLimitExceeded
from store_infra.http import cached_answer
from store_infra.idempotency import IdempotentCall
from users.models import Role
from users.permissions import ActionPermissions

from .. import selectors, services
from ..errors import (
    InvalidOrder,
    OrderHasPayment,
    OrderNotCancellable,
    OrderNotPayable,
    OrderPaid,
    PaymentMismatch,
    PaymentNotRefundable,
    PaymentServiceUnavailable,
)
from ..models import Order
from ..placement import order_place
from .filters import OrderFilter
from .serializers import OrderCreateSerializer, OrderSerializer, order_payment_data

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    IDEMPOTENCY_HEADER_SCHEMA,
    OpenApiParameter.HEADER,
    description=(
        "Optional. Repeating a request with the same key returns the first response and creates "
        "nothing new; the same key with another body is refused (422). Keys are kept 24 hours."
    ),
)


class OrderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Customer orders. Creating one takes its stock; cancelling it gives the stock back."""

    serializer_class = OrderSerializer
    # A clerk may also place an order from the browsable API's HTML form.
    parser_classes = JSON_OR_FORM
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "orders.view_order",
        "retrieve": "orders.view_order",
        "create": "orders.add_order",
        "cancel": "orders.change_order",
        "payment": "orders.change_order",
        "destroy": "orders.delete_order",
    }
    domain_errors = {
        "create": [InsufficientStock, InvalidOrder, IdempotencyKeyReused, InvalidIdempotencyKey],
        "cancel": [OrderNotCancellable, StockLimitExceeded, PaymentNotRefundable, PaymentServiceUnavailable],
        "payment": [OrderNotPayable, PaymentMismatch, PaymentServiceUnavailable],
        "destroy": [OrderPaid, OrderHasPayment, StockLimitExceeded],
    }
    lookup_value_regex = r"\d{1,18}"
    filterset_class = OrderFilter
    search_fields = None
    ordering_fields = ["id", "created_at", "total"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Order.objects.none()
        return selectors.order_list(actor=self.request.user)

    def list(self, request, *args, **kwargs):
        """Orders, newest first (a customer's own only), from the read cache until an order changes."""
        read = super().list
        reader = f"customer-{request.user.pk}" if request.user.role == Role.CUSTOMER else "staff"
        return cached_answer(request, selectors.ORDER_PAGES, lambda: read(request), reader=reader)

    def get_serializer_class(self):
        """The order's own input for creation, so that the browsable API's form and OPTIONS describe
        it (they ask with the request's method changed to the form's)."""
        if self.action_map.get(self.request.method.lower(), self.action) == "create":
            return OrderCreateSerializer
        return OrderSerializer

    @extend_schema(
        request=OrderCreateSerializer,
        responses={201: OrderSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "Two articles for a customer",
                value={
                    "customer": 12,
                    "lines": [{"article": 3, "quantity": 2}, {"article": 8, "quantity": 1}],
                },
                request_only=True,
            )
        ],
    )
    def create(self, request):
        """Place an order; every line's stock is taken, or nothing is (409 `insufficient_stock`).

        Once the order is committed its payment is requested from the payments service; if payments
        is down or slow the order is placed all the same, with `payment` null (see
        `POST /orders/{id}/payment/`). A replay (same `Idempotency-Key`) answers the first response
        with its `payment` brought up to date, requesting the payment if the order still has none.
        """

        idempotency = IdempotentCall.of(request, scope="orders.create")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        placement = order_place(
            **serializer.validated_data,
            created_by=request.user,
            answer=lambda order: OrderSerializer(order).data,
            idempotency=idempotency,
        )
        body = placement.answer
        if placement.order is not None:
            body = {**body, "payment": order_payment_data(placement.order)}
        headers = {"Idempotent-Replayed": "true"} if placement.replayed else {}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    @extend_schema(request=None, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel an order and return its stock; a paid order is refunded through payments first.

        If payments cannot refund it now: 503 `payments_unavailable`, and nothing changed.
        """
        order = services.order_cancel(order_id=int(pk), user=request.user)
        return Response(OrderSerializer(order).data)

    @extend_schema(request=None, responses={200: OrderSerializer})
    @action(detail=True, methods=["post"])
    def payment(self, request, pk=None):
        """Request the order's payment again (after payments was down); an existing one is returned."""
        order = services.order_request_payment(order_id=int(pk))
        return Response(OrderSerializer(order).data)

    def destroy(self, request, pk=None):
        """Cancel (if pending) and remove an unpaid order; its stock ledger lines stay."""
        services.order_delete(order_id=int(pk), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.parsers import JSON_OR_FORM
from store_infra.http import cached_json_response
from users.permissions import ActionPermissions

from .. import selectors, services
from ..errors import InvalidStockLimits, StockLimitExceeded
from ..models import StockMovement
from .filters import StockFilter, StockMovementFilter
from .serializers import (
    AdjustSerializer,
    RestockSerializer,
    StockLimitsSerializer,
    StockMovementSerializer,
    StockSerializer,
)


class StockViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Stock levels per article. Quantities change only through restock, adjust and orders."""

    serializer_class = StockSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {
        "list": "stocks.view_stock",
        "retrieve": "stocks.view_stock",
        "partial_update": "stocks.change_stock",
        "restock": "stocks.restock",
        "adjust": "stocks.change_stock",
    }
    domain_errors = {
        "partial_update": [StockLimitExceeded, InvalidStockLimits],
        "restock": [StockLimitExceeded],
        "adjust": [StockLimitExceeded],
    }
    lookup_field = "article_id"
    lookup_value_regex = r"\d{1,18}"
    filterset_class = StockFilter
    search_fields = ["article__sku", "article__name"]
    ordering_fields = ["article_id", "quantity", "article__sku"]

    def get_queryset(self):
        return selectors.stock_list()

    def get_serializer_class(self):
        """Each action's own input, so that the browsable API's form and OPTIONS describe it: they ask
        with the request's method changed to the form's, so the action is the one that method routes."""
        action = self.action_map.get(self.request.method.lower(), self.action)
        inputs = {
            "partial_update": StockLimitsSerializer,
            "restock": RestockSerializer,
            "adjust": AdjustSerializer,
        }
        return inputs.get(action, StockSerializer)

    @extend_schema(responses={200: StockSerializer, 304: OpenApiResponse(description="Not modified.")})
    def retrieve(self, request, article_id=None):
        """One article's stock level, served from Redis until a stock write commits (ETag aware)."""
        if request.accepted_renderer.format != "json":
            # The browsable page, from the row itself: its PATCH form starts from the current limits.
            return self._stock_response(int(article_id))
        return cached_json_response(request, selectors.stock_level(article_id=int(article_id)))

    def _stock_response(self, article_id: int) -> Response:
        return Response(StockSerializer(selectors.stock_get(article_id=article_id)).data)

    @extend_schema(request=StockLimitsSerializer, responses={200: StockSerializer})
    def partial_update(self, request, article_id=None):
        """Change the reorder point and capacity (quantities are changed by restock/adjust)."""
        stock = self.get_object()
        serializer = self.get_serializer(stock, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.stock_set_limits(article_id=stock.article_id, **serializer.validated_data)
        return self._stock_response(stock.article_id)

    @extend_schema(
        request=RestockSerializer,
        responses={200: StockSerializer},
        examples=[
            OpenApiExample(
                "A delivery note", value={"quantity": 24, "reference": "DN-2026-118"}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"], parser_classes=JSON_OR_FORM)
    def restock(self, request, article_id=None):
        """Book a delivery: adds `quantity` units, up to the capacity."""
        stock = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.stock_restock(article_id=stock.article_id, user=request.user, **serializer.validated_data)
        return self._stock_response(stock.article_id)

    @extend_schema(
        request=AdjustSerializer,
        responses={200: StockSerializer},
        examples=[
            OpenApiExample(
                "An inventory count", value={"quantity": 17, "reason": "inventory count"}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"], parser_classes=JSON_OR_FORM)
    def adjust(self, request, article_id=None):
        """Record an inventory count: the quantity becomes the counted one."""
        stock = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.stock_adjust(article_id=stock.article_id, user=request.user, **serializer.validated_data)
        return self._stock_response(stock.article_id)


class StockMovementViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The stock ledger, newest first."""

    serializer_class = StockMovementSerializer
    permission_classes = [ActionPermissions]
    action_permissions = {"list": "stocks.view_stockmovement"}
    filterset_class = StockMovementFilter
    search_fields = None
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return StockMovement.objects.none()
        return selectors.movement_list(actor=self.request.user)

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from core.errors import NotFound
from store_infra.http import cached_json_response
from users.permissions import IsStaff

from .. import selectors


class StockReportQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Part of a name or SKU."
    )
    is_low = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="At or below the reorder point."
    )
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
    page = serializers.IntegerField(
        required=False, min_value=1, max_value=selectors.REPORT_MAX_PAGE, default=1
    )
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=selectors.REPORT_MAX_PAGE_SIZE,
        default=selectors.REPORT_PAGE_SIZE,
        help_text="Rows per page.",
    )


class StockReportRowSerializer(serializers.Serializer):
    article_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    quantity = serializers.IntegerField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="quantity x unit_price")
    min_quantity = serializers.IntegerField()
    max_quantity = serializers.IntegerField(allow_null=True)
    is_low = serializers.BooleanField()


class StockReportTotalsSerializer(serializers.Serializer):
    articles = serializers.IntegerField()
    units = serializers.IntegerField()
    stock_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    low_stock = serializers.IntegerField()


class StockReportSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    totals = StockReportTotalsSerializer(help_text="Of every page.")
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    pages = serializers.IntegerField()
    articles = StockReportRowSerializer(many=True, help_text="This page's rows, by article id.")


class StockReportView(APIView):
    """Every article with its stock and stock value, a page at a time, and the totals of all pages.

    Served from Redis until a write changes what it shows; send the `ETag` back in `If-None-Match`
    to get a 304 when nothing changed.
    """

    permission_classes = [IsStaff]
    domain_errors = {"get": [NotFound]}  # a page past the last

    @extend_schema(
        parameters=[StockReportQuerySerializer],
        responses={200: StockReportSerializer, 304: OpenApiResponse(description="Not modified.")},
        tags=["reports"],
    )
    def get(self, request):
        filters = {}
        # The unfiltered report is the one read most, and validating no parameters costs more
        # than serving it from the cache.
        if request.query_params:
            query = StockReportQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            filters = query.validated_data
        return cached_json_response(request, selectors.stock_report(**filters))

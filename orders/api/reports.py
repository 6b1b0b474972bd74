from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.views import APIView

from core.fields import WholeNumberField
from store_infra.http import cached_json_response
from users.permissions import IsStaff

from .. import selectors


class SalesReportQuerySerializer(serializers.Serializer):
    limit = WholeNumberField(min_value=1, max_value=100, default=10)
    since = serializers.DateTimeField(required=False, default=None, help_text="ISO 8601, inclusive.")
    until = serializers.DateTimeField(required=False, default=None, help_text="ISO 8601, exclusive.")

    def validate(self, attrs):
        if attrs["since"] and attrs["until"] and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be later than since."]})
        return attrs


class BestSellerSerializer(serializers.Serializer):
    article_id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    units = serializers.IntegerField()
    orders = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)


class TopCustomerSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    orders = serializers.IntegerField()
    spent = serializers.DecimalField(max_digits=14, decimal_places=2)


class BestSellersReportSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    results = BestSellerSerializer(many=True)


class TopCustomersReportSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    since = serializers.DateTimeField(allow_null=True)
    until = serializers.DateTimeField(allow_null=True)
    results = TopCustomerSerializer(many=True)


NOT_MODIFIED = OpenApiResponse(description="Not modified.")


class SalesReportView(APIView):
    permission_classes = [IsStaff]
    selector = None

    def get(self, request):
        query = SalesReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return cached_json_response(request, self.selector(**query.validated_data))


def _report_schema(report_serializer):
    return extend_schema_view(
        get=extend_schema(
            parameters=[SalesReportQuerySerializer],
            responses={200: report_serializer, 304: NOT_MODIFIED},
            tags=["reports"],
        )
    )


@_report_schema(BestSellersReportSerializer)
class BestSellersView(SalesReportView):
    """Articles by units sold in orders that were not cancelled, in the period."""

    selector = staticmethod(selectors.order_best_sellers)


@_report_schema(TopCustomersReportSerializer)
class TopCustomersView(SalesReportView):
    """Customers by amount spent in paid orders, in the period."""

    selector = staticmethod(selectors.order_top_customers)

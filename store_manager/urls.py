from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from articles.api.views import ArticleViewSet
from backoffice.reports import stock_report_page
from core import views as core_views
from orders.api.payment_events import PaymentEventView
from orders.api.reports import BestSellersView, TopCustomersView
from orders.api.views import OrderViewSet
from stocks.api.reports import StockReportView
from stocks.api.views import StockMovementViewSet, StockViewSet
from store_infra.graphql.views import StoreGraphQLView
from store_infra.readiness import readiness
from store_manager.schema import GRAPHIQL_STARTERS, schema
from users.api.views import ObtainTokenView, UserViewSet

router = DefaultRouter()
router.register("users", UserViewSet, basename="user")
router.register("articles", ArticleViewSet, basename="article")
# Before "stocks" so that "movements" is not read as an article id.
router.register("stocks/movements", StockMovementViewSet, basename="stock-movement")
router.register("stocks", StockViewSet, basename="stock")
router.register("orders", OrderViewSet, basename="order")

api_v1 = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("reports/stock/", StockReportView.as_view(), name="report-stock"),
    path("reports/best-sellers/", BestSellersView.as_view(), name="report-best-sellers"),
    path("reports/top-customers/", TopCustomersView.as_view(), name="report-top-customers"),
    path("orders/<int:order_id>/payment-events/", PaymentEventView.as_view(), name="order-payment-events"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", RedirectView.as_view(url="/api/v1/", permanent=False)),
    # Before the admin's own URLs, behind its login.
    path("admin/reports/stock/", admin.site.admin_view(stock_report_page), name="admin-reports-stock"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api-auth/", include("rest_framework.urls")),
    path(
        "graphql/",
        StoreGraphQLView.as_view(
            graphene_options={"schema": schema, "starters": GRAPHIQL_STARTERS},
            page_permission="stocks.view_stock",
        ),
        name="graphql",
    ),
    path("health/", core_views.liveness, name="health"),
    path("health/ready/", readiness, name="health-ready"),
]

handler400 = core_views.bad_request
handler403 = core_views.permission_denied
handler404 = core_views.not_found
handler500 = core_views.server_error

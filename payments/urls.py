"""URLconf of the payments service (store_manager.settings.payments), as docs/adr/0005 lists it."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from core import views as core_views

from .api import views

api_v1 = [
    path("payments/", views.PaymentListCreateView.as_view(), name="payment-list"),
    path("payments/<int:payment_id>/", views.PaymentDetailView.as_view(), name="payment-detail"),
    path("payments/<int:payment_id>/refund/", views.PaymentRefundView.as_view(), name="payment-refund"),
    path("payments/<int:payment_id>/pay/<str:secret>/", views.PaymentPayView.as_view(), name="payment-pay"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("health/", core_views.liveness, name="health"),
    path("health/ready/", views.readiness, name="health-ready"),
]

handler400 = core_views.bad_request
handler403 = core_views.permission_denied
handler404 = core_views.not_found
handler500 = core_views.server_error

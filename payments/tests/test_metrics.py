"""The payments service's `/metrics`: its requests per view and its refusals, none of the store's."""

import pytest
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from .helpers import DECLINED_CARD

pytestmark = pytest.mark.django_db


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_count_and_time_the_payments_requests_per_view(service_client, new_payment):
    payment = new_payment()
    before = sample("http_request_duration_seconds_count", view="payment-detail", method="GET", status="200")

    assert service_client.get(f"/api/v1/payments/{payment.pk}/").status_code == 200
    response = APIClient().get("/metrics")

    assert response.status_code == 200
    assert 'view="payment-detail"' in response.content.decode()
    assert (
        sample("http_request_duration_seconds_count", view="payment-detail", method="GET", status="200")
        == before + 1
    )


def test_a_declined_card_is_counted_by_its_code(new_payment):
    payment = new_payment()
    before = sample("domain_errors_total", code="card_declined")

    response = APIClient().post(
        f"/api/v1/payments/{payment.pk}/pay/{payment.secret}/", DECLINED_CARD, format="json"
    )

    assert response.status_code == 402
    assert sample("domain_errors_total", code="card_declined") == before + 1


def test_metrics_show_none_of_the_stores_own_metrics():
    body = APIClient().get("/metrics").content.decode()

    assert "http_request_duration_seconds" in body
    for store_only in ("orders_created_total", "payments_client_failures_total", "payments_circuit_state"):
        assert store_only not in body


def test_metrics_show_the_payments_database_readiness_and_statements():
    body = APIClient().get("/metrics").content.decode()

    assert REGISTRY.get_sample_value("readiness_check_ok", {"check": "database"}) == 1
    assert REGISTRY.get_sample_value("readiness_check_ok", {"check": "cache"}) is None  # payments has none
    assert 'django_db_execute_total{alias="default",vendor="mysql"}' in body

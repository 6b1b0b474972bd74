"""The gateway's payments routes against the payments service's own contract (docs/adr/0008-gateway.md).

krakend.json as a whole is checked in the store's test run (core/tests/test_gateway.py).
"""

from urllib.parse import urlsplit

import pytest
from django.urls import resolve
from rest_framework.test import APIClient

from core.tests import gateway
from payments import notifier
from payments.api.serializers import PayerPaymentSerializer
from scripts.gateway import load_config
from store_manager.settings import payments as deployed_settings

URLCONF = "payments.urls"

NOT_EXPOSED = {
    ("GET", "api/v1/schema/"): "describes the store's side of the contract; payers need only their pay_url",
    ("GET", "health/"): "container probes; the gateway answers /__health itself",
    ("GET", "health/ready/"): "container probes; the gateway answers /__health itself",
}


@pytest.fixture(scope="module")
def payments_routes():
    return [route for route in gateway.routes(load_config()) if route.host == gateway.PAYMENTS_HOST]


@pytest.fixture(scope="module")
def needs_auth(django_db_setup, django_db_blocker, payments_routes):
    return gateway.authentication_needs(payments_routes, django_db_blocker)


def test_every_payments_backend_resolves_to_a_view_that_answers_its_method(payments_routes):
    assert gateway.backend_problems(payments_routes, URLCONF) == []


def test_every_payments_route_is_on_the_gateway_or_deliberately_left_off(payments_routes):
    assert gateway.exposure_problems(payments_routes, URLCONF, NOT_EXPOSED) == []


def test_authorization_is_forwarded_and_keys_clients_exactly_where_the_view_needs_it(
    payments_routes, needs_auth
):
    assert gateway.authentication_problems(payments_routes, needs_auth) == []
    # The payer's door takes no credentials: clients are counted by address, card attempts per minute.
    pay = [route for route in payments_routes if route.method == "POST" and "{secret}" in route.endpoint]
    assert [route.rate_limit["every"] for route in pay] == ["1m"]


def test_the_query_strings_and_headers_forwarded_are_exactly_what_each_view_takes(
    payments_routes, needs_auth
):
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    operations = gateway.openapi_operations(schema, URLCONF)
    assert gateway.forwarding_problems(payments_routes, URLCONF, operations, needs_auth) == []


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_pay_url_under_the_gateway_reaches_its_payment(method, payments_routes, new_payment, settings):
    settings.PAYMENTS_PUBLIC_URL = "http://localhost:8080/payments-api"
    payment = new_payment()
    pay_url = PayerPaymentSerializer(payment).data["pay_url"]

    path = urlsplit(pay_url).path
    [(route, values)] = [
        (route, values)
        for route in payments_routes
        if route.method == method and (values := gateway.endpoint_matches(route, path)) is not None
    ]
    backend_path = route.url_pattern.format(**values)
    match = resolve(backend_path, URLCONF)
    assert (match.url_name, match.kwargs) == (
        "payment-pay",
        {"payment_id": payment.pk, "secret": payment.secret},
    )


def test_by_default_a_pay_url_is_the_services_own_pay_route(new_payment, settings):
    """Without a gateway, PAYMENTS_PUBLIC_URL defaults to the service's own API root."""
    settings.PAYMENTS_PUBLIC_URL = deployed_settings.PAYMENTS_PUBLIC_URL
    payment = new_payment()

    match = resolve(urlsplit(PayerPaymentSerializer(payment).data["pay_url"]).path, URLCONF)

    assert (match.url_name, match.kwargs) == (
        "payment-pay",
        {"payment_id": payment.pk, "secret": payment.secret},
    )


def test_paying_outlasts_the_notifications_the_payer_waits_for(payments_routes):
    """The payer's answer waits for the notification to the store and, once one got through, for up
    to CATCH_UP_LIMIT older ones (payments/notifier.py)."""
    deliveries = 1 + notifier.CATCH_UP_LIMIT
    worst_case = gateway.OWN_WORK_SECONDS + deliveries * (notifier.CONNECT_TIMEOUT + notifier.READ_TIMEOUT)
    [pay] = [route for route in payments_routes if route.method == "POST" and "{secret}" in route.endpoint]
    assert pay.timeout > worst_case

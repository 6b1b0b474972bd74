import itertools
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from payments import services

from .store_server import RecordingStore, closed_port

_order_ids = itertools.count(1000)


@pytest.fixture(autouse=True)
def store_down(settings):
    """By default the store is not there: notifications fail fast and are left for a retry."""
    settings.STORE_URL = f"http://127.0.0.1:{closed_port()}"
    settings.PAYMENTS_PUBLIC_URL = "http://payments.test/api/v1"


@pytest.fixture
def store(settings):
    """A real HTTP server standing in for the store; STORE_URL points at it."""
    server = RecordingStore().start()
    settings.STORE_URL = server.url
    yield server
    server.stop()


@pytest.fixture
def service_client(settings):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.PAYMENTS_SERVICE_TOKEN}")
    return client


@pytest.fixture
def new_payment(db):
    """Returns a factory of pending payments, each for a new order unless told otherwise."""

    def make(**fields):
        fields = {
            "order_id": next(_order_ids),
            "customer_id": 7,
            "amount": Decimal("25.50"),
            "currency": "CAD",
            **fields,
        }
        return services.payment_create(**fields).payment

    return make

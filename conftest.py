import socket

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from articles.tests.factories import ArticleFactory
from core import cache as core_cache
from orders import payments_client
from stocks.services import stock_restock
from users.models import Role
from users.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    """Each test starts with an empty Redis and a cache known to work.

    Needed because a test's rows are rolled back without committing, so the versions it cached
    reads under were never bumped.
    """
    cache.clear()
    monkeypatch.setattr(core_cache, "state", core_cache._CacheState())


@pytest.fixture(scope="session", autouse=True)
def payments_nowhere():
    """Point the store at a port that refuses connections, unless a test points it elsewhere.

    The socket is bound but never listens, so the port stays ours and connecting to it is refused at
    once: no test reaches a payments service that happens to run on this machine.
    """
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{reserved.getsockname()[1]}"
        with override_settings(PAYMENTS_URL=url):
            yield url


@pytest.fixture(autouse=True)
def fresh_payments_circuit():
    """Each test starts with a closed payments circuit built from the current settings."""
    payments_client.reset_breaker()
    yield
    payments_client.reset_breaker()


@pytest.fixture
def manager(db):
    return UserFactory(role=Role.MANAGER, username="manager")


@pytest.fixture
def clerk(db):
    return UserFactory(role=Role.CLERK, username="clerk")


@pytest.fixture
def supplier(db):
    return UserFactory(role=Role.SUPPLIER, username="supplier")


@pytest.fixture
def customer(db):
    return UserFactory(role=Role.CUSTOMER, username="customer")


def _client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api_client():
    """Returns an API client authenticated as the given user (anonymous for None)."""
    return _client_for


@pytest.fixture
def stocked_article(db, manager):
    """Returns a factory of articles that already hold `quantity` units (booked by a restock)."""

    def make(quantity: int = 10, **fields):
        article = ArticleFactory(**fields)
        if quantity:
            stock_restock(article_id=article.pk, quantity=quantity, reference="initial", user=manager)
        return article

    return make

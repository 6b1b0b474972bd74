import socket
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from articles.tests.factories import ArticleFactory
from core.tests.redis_server import RedisServer
from orders import payments_client
from stocks.services import stock_restock
from store_infra import cache as read_cache
from store_infra import throttling
from users.models import Role
from users.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    """Each test starts with an empty Redis, a cache known to work, no bumps read from the database and
    no throttle leases.

    Needed because a test's rows are rolled back without committing, so the versions it cached
    reads under were never bumped.
    """
    cache.clear()
    monkeypatch.setattr(read_cache, "state", read_cache._CacheState())
    monkeypatch.setattr(read_cache, "database_bumps", read_cache._DatabaseBumps())
    monkeypatch.setattr(throttling, "leases", throttling._Leases())


@pytest.fixture
def redis_server():
    """A redis-server of the test's own, which it may kill or pause: the suite's Redis is never touched."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


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


@pytest.fixture
def shelf(stocked_article):
    """The GraphQL tests' articles: tea (12 x 4.50, not low), coffee (3 x 12.25, low, capacity 40)
    and an inactive mug (0, low)."""
    return (
        stocked_article(12, sku="TEA-1", name="Green tea", price=Decimal("4.50"), stock__min_quantity=5),
        stocked_article(
            3,
            sku="COF-1",
            name="Coffee beans",
            price=Decimal("12.25"),
            stock__min_quantity=5,
            stock__max_quantity=40,
        ),
        stocked_article(0, sku="MUG-1", name="Tea mug", price=Decimal("7.00"), is_active=False),
    )

"""The read side when Redis dies, hangs or forgets, against a redis-server each test starts on its own port.

Whatever Redis does, every cached endpoint answers what the database holds (compared with the same
request made with the read cache turned off), writes succeed, readiness says "degraded", and the
cache comes back into use by itself once Redis answers again.
"""

import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from articles.tests.factories import ArticleFactory
from core.tests.redis_server import DEAD_REDIS, RedisServer
from orders.models import Order, OrderStatus
from orders.services import order_create
from stocks.services import stock_restock_many
from store_infra import cache as read_cache
from store_infra.models import CacheBump

pytestmark = pytest.mark.django_db(transaction=True)

# Twice production's (settings.base.cache_from_env), so a request that waited on Redis is told apart
# from one that did not even on a loaded machine.
SOCKET_TIMEOUT = 1.0
RECOVERY_DEADLINE = 10.0  # seconds for the cache to be used again once Redis is back


@pytest.fixture
def redis_server():
    """A redis-server of this test's own, used as the cache, stopped (even if paused) at the end.

    The bumps writes make in the database while Redis does not answer are read at every read (once
    a second in production; settings/test.py leaves them unread).
    """
    server = RedisServer()
    server.start()
    cache_settings = server.cache_settings(timeout=SOCKET_TIMEOUT)
    try:
        with override_settings(CACHES=cache_settings, READ_CACHE_BUMPS_CHECK_SECONDS=0):
            yield server
    finally:
        server.stop()


@pytest.fixture
def store(manager, customer):
    """Tea and coffee in stock, one paid and one pending order: something in every report."""
    tea = ArticleFactory(sku="TEA-1", name="Green tea", price=Decimal("4.50"), stock__min_quantity=5)
    coffee = ArticleFactory(sku="COF-1", name="Coffee beans", price=Decimal("12.25"))
    stock_restock_many(quantities={tea.pk: 20, coffee.pk: 20}, reference="opening", user=manager)
    paid = order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 2}], created_by=manager)
    Order.objects.filter(pk=paid.pk).update(status=OrderStatus.PAID)
    order_create(customer=customer, lines=[{"article": coffee.pk, "quantity": 1}], created_by=manager)
    return {"tea": tea, "coffee": coffee, "customer": customer}


def endpoints(store) -> list[str]:
    return [
        "/api/v1/reports/stock/",
        "/api/v1/reports/best-sellers/",
        "/api/v1/reports/top-customers/",
        f"/api/v1/stocks/{store['tea'].pk}/",
    ]


def content(response) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    body.pop("generated_at", None)
    return body


def served(client, url: str) -> tuple[dict, int]:
    """The endpoint's answer (without its timestamp) and the SQL queries it cost, but the read of the
    bumps made in the database (store_infra.models.CacheBump), which is no read of the endpoint's rows."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    bumps_table = CacheBump._meta.db_table
    return content(response), sum(bumps_table not in query["sql"] for query in queries)


def from_the_database(client, url: str) -> dict:
    with override_settings(READ_CACHE_ENABLED=False):
        return content(client.get(url))


def assert_all_correct(client, store) -> None:
    for url in endpoints(store):
        assert served(client, url)[0] == from_the_database(client, url), url


def assert_all_cached(client, store) -> None:
    """Every endpoint is served from Redis (no SQL at all) and is what the database holds."""
    for url in endpoints(store):
        client.get(url)
        body, queries = served(client, url)
        assert queries == 0, f"{url} was not served from the cache"
        assert body == from_the_database(client, url), url


def wait_for_the_cache(client, store) -> float:
    """Seconds until the stock report is served from the cache again (or the test fails)."""
    started = time.monotonic()
    url = endpoints(store)[0]
    while True:
        client.get(url)
        if served(client, url)[1] == 0:
            return time.monotonic() - started
        assert time.monotonic() - started < RECOVERY_DEADLINE, "the cache never came back into use"
        time.sleep(0.05)


def readiness(client) -> dict:
    response = client.get("/health/ready/")
    assert response.status_code == 200, response.content
    return response.json()


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def write_through_the_api(client, store) -> None:
    """A restock, an order, a price change and a cancel, as clients make them: none may fail."""
    tea, coffee = store["tea"], store["coffee"]
    restock = client.post(
        f"/api/v1/stocks/{tea.pk}/restock/", {"quantity": 7, "reference": "DN"}, format="json"
    )
    assert restock.status_code == 200, restock.content
    lines = [{"article": tea.pk, "quantity": 3}, {"article": coffee.pk, "quantity": 2}]
    order = client.post("/api/v1/orders/", {"customer": store["customer"].pk, "lines": lines}, format="json")
    assert order.status_code == 201, order.content
    price = client.patch(f"/api/v1/articles/{tea.pk}/", {"price": "5.10"}, format="json")
    assert price.status_code == 200, price.content
    pending = Order.objects.filter(status=OrderStatus.PENDING).order_by("id").first()
    cancel = client.post(f"/api/v1/orders/{pending.pk}/cancel/")
    assert cancel.status_code == 200, cancel.content


# --- Redis killed, then restarted ---------------------------------------------------------------


def test_with_redis_killed_every_endpoint_answers_from_the_database_and_the_cache_recovers_on_restart(
    api_client, manager, store, redis_server
):
    client = api_client(manager)
    assert_all_cached(client, store)
    assert readiness(client)["status"] == "ok"

    redis_server.kill()
    for url in endpoints(store):
        (body, queries), seconds = timed(lambda url=url: served(client, url))
        assert body == from_the_database(client, url)
        assert queries > 0 and seconds < SOCKET_TIMEOUT  # a refused connection is not waited on
    write_through_the_api(client, store)
    assert_all_correct(client, store)
    assert served(client, f"/api/v1/stocks/{store['tea'].pk}/")[0]["quantity"] == 20 - 2 + 7 - 3
    assert readiness(client) == {"status": "degraded", "checks": {"database": "ok", "cache": "degraded"}}

    redis_server.start()  # same port, empty
    assert wait_for_the_cache(client, store) <= read_cache.RETRY_AFTER_SECONDS + 1
    assert_all_cached(client, store)
    assert readiness(client)["status"] == "ok"

    # Invalidation works again too.
    write_through_the_api(client, store)
    assert_all_correct(client, store)
    assert_all_cached(client, store)


def test_writes_made_while_redis_was_unreachable_hide_its_old_entries_once_it_answers_again(
    api_client, manager, store, redis_server
):
    client = api_client(manager)
    assert_all_cached(client, store)
    # The same Redis, unreachable for a while but keeping its entries (a network split, say).
    with override_settings(CACHES=DEAD_REDIS):
        write_through_the_api(client, store)
        assert_all_correct(client, store)
    time.sleep(read_cache.RETRY_AFTER_SECONDS)

    assert_all_correct(client, store)  # never the entries cached before the writes
    assert_all_cached(client, store)


# --- Redis flushed ------------------------------------------------------------------------------


def test_a_flushed_redis_never_brings_back_old_reports(api_client, manager, store, redis_server):
    client = api_client(manager)
    write_through_the_api(client, store)  # versions moved on from their first values
    assert_all_cached(client, store)

    redis_server.client().flushdb()
    assert_all_correct(client, store)
    write_through_the_api(client, store)
    assert_all_correct(client, store)
    assert_all_cached(client, store)

    redis_server.client().flushdb()
    write_through_the_api(client, store)  # bumps of versions that are gone
    assert_all_correct(client, store)
    assert_all_cached(client, store)
    assert readiness(client)["status"] == "ok"


# --- Redis hung ---------------------------------------------------------------------------------


@pytest.fixture
def cache_failures(monkeypatch) -> list[Exception]:
    """Every error this process met in Redis from now on: one per attempt that reached a hung server."""
    failures = []
    failed = read_cache.state.failed
    monkeypatch.setattr(read_cache.state, "failed", lambda error: failures.append(error) or failed(error))
    return failures


def test_a_hung_redis_costs_one_socket_timeout_then_is_skipped_until_it_answers_again(
    api_client, manager, store, redis_server, cache_failures, monkeypatch
):
    monkeypatch.setattr(read_cache, "RETRY_AFTER_SECONDS", 3.0)  # longer than the reads below take
    client = api_client(manager)
    report_url = endpoints(store)[0]
    assert_all_cached(client, store)
    redis_server.pause()  # connections are accepted by the kernel, never answered

    (first, _), first_seconds = timed(lambda: served(client, report_url))
    assert SOCKET_TIMEOUT * 0.8 <= first_seconds < SOCKET_TIMEOUT * 3
    assert len(cache_failures) == 1
    second = served(client, report_url)[0]
    assert first == second == from_the_database(client, report_url)
    for url in endpoints(store):
        assert served(client, url)[0] == from_the_database(client, url)
    assert len(cache_failures) == 1  # skipped: Redis was not tried again

    # A write's bumps go to the database (Redis, once tried again, costs a socket timeout); it succeeds.
    restock = f"/api/v1/stocks/{store['tea'].pk}/restock/"
    for _ in range(2):
        response, seconds = timed(
            lambda: client.post(restock, {"quantity": 1, "reference": "DN"}, format="json")
        )
        assert response.status_code == 200, response.content
        assert seconds < SOCKET_TIMEOUT * 3
    write_through_the_api(client, store)
    assert_all_correct(client, store)
    health, health_seconds = timed(lambda: readiness(client))
    assert health["status"] == "degraded"
    assert health_seconds < SOCKET_TIMEOUT * 3

    redis_server.resume()
    wait_for_the_cache(client, store)
    assert_all_cached(client, store)
    assert readiness(client)["status"] == "ok"

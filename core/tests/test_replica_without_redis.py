"""Two store replicas on one database, one of which cannot reach Redis (issue 13, item 6).

Both are served by gunicorn as deployed (two workers each), the first with its cache on a
redis-server of this test's own, the second pointed at a port where nothing answers. A write made
through the second never reaches Redis: its bumps go to the database, which the first replica's
workers read once a second, so its cached stock report and stock levels must show the write within
2 s. The second replica must also keep counting token requests per address.
"""

import time
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from .load import wait_until
from .processes import running_store, store_environment

pytestmark = pytest.mark.django_db(transaction=True)

OPENING, RESTOCKED = 35, 7
HIDDEN_AT_MOST = 2.0  # seconds a write may stay hidden from another replica's reads
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
LOGINS_PER_HOUR = 20


def replica(tmp_path: Path, name: str, *, redis_url: str, payments_url: str, **variables: str):
    log_dir = tmp_path / name
    log_dir.mkdir()
    env = store_environment(redis_url=redis_url, payments_url=payments_url, **variables)
    return running_store(env, log_dir=log_dir)


@pytest.fixture
def with_redis(transactional_db, redis_server, payments_nowhere, tmp_path):
    with replica(tmp_path, "with-redis", redis_url=redis_server.url, payments_url=payments_nowhere) as server:
        yield server


@pytest.fixture
def without_redis(transactional_db, payments_nowhere, tmp_path):
    rates = {"THROTTLE_RATES": f"login={LOGINS_PER_HOUR}/hour"}
    with replica(
        tmp_path, "without-redis", redis_url=UNREACHABLE_REDIS, payments_url=payments_nowhere, **rates
    ) as server:
        yield server


def session(token: str) -> requests.Session:
    client = requests.Session()
    client.trust_env = False
    client.headers["Authorization"] = f"Token {token}"
    return client


def shown(client: requests.Session, url: str, article_id: int) -> tuple[int, int]:
    """The article's quantity in the stock report and at its stock level endpoint."""
    report = client.get(f"{url}/api/v1/reports/stock/", timeout=5)
    level = client.get(f"{url}/api/v1/stocks/{article_id}/", timeout=5)
    assert (report.status_code, level.status_code) == (200, 200), (report.text, level.text)
    row = next(row for row in report.json()["articles"] if row["article_id"] == article_id)
    return row["quantity"], level.json()["quantity"]


def test_a_write_through_the_replica_without_redis_reaches_the_others_cached_reads_within_2_s(
    with_redis, without_redis, redis_server, manager, stocked_article
):
    article = stocked_article(OPENING, sku="TEA-1")
    client = session(Token.objects.create(user=manager).key)
    for _ in range(4):  # both workers of the replica with Redis hold the report and the level
        assert shown(client, with_redis.url, article.pk) == (OPENING, OPENING)
    hits = redis_server.cache_hits()
    assert shown(client, with_redis.url, article.pk) == (OPENING, OPENING)
    assert redis_server.cache_hits() > hits  # served from the cache

    body = {"quantity": RESTOCKED, "reference": "DN-1"}
    restock = client.post(f"{without_redis.url}/api/v1/stocks/{article.pk}/restock/", json=body, timeout=5)
    assert restock.status_code == 200, restock.text
    written = time.monotonic()

    expected = (OPENING + RESTOCKED,) * 2
    assert shown(client, without_redis.url, article.pk) == expected
    wait_until(
        lambda: all(shown(client, with_redis.url, article.pk) == expected for _ in range(4)),
        timeout=5 * HIDDEN_AT_MOST,
        what="the restock in the other replica's cached reads",
    )
    hidden_for = time.monotonic() - written
    assert hidden_for < HIDDEN_AT_MOST, f"hidden from the other replica for {hidden_for:.2f} s"
    hits = redis_server.cache_hits()
    assert shown(client, with_redis.url, article.pk) == expected
    assert redis_server.cache_hits() > hits  # and cached again


def test_the_replica_without_redis_still_limits_token_requests_per_address(without_redis, clerk):
    seconds_left_in_the_hour = 3600 - time.time() % 3600
    if seconds_left_in_the_hour < 10:  # the budget's window would end in the middle of the test
        time.sleep(seconds_left_in_the_hour)
    client = requests.Session()
    client.trust_env = False
    wrong = {"username": "clerk", "password": "guess"}

    statuses = [
        client.post(f"{without_redis.url}/api/v1/auth/token/", json=wrong, timeout=5).status_code
        for _ in range(LOGINS_PER_HOUR + 10)
    ]

    assert statuses == [400] * LOGINS_PER_HOUR + [429] * 10
    right = {"username": "clerk", "password": "correct-horse-battery"}
    refused = client.post(f"{without_redis.url}/api/v1/auth/token/", json=right, timeout=5)
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"

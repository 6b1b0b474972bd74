"""Redis killed under load and restarted, against the store served by gunicorn (issue 7, faults).

The store runs as it is deployed (gunicorn, two workers, persistent connections) with its cache on a
redis-server of this test's own. Clients restock, order and read the stock report and stock levels
without pause while the test kills Redis (SIGKILL) and starts it again, empty, on the same port.
Nothing may answer 5xx, no read may be older than a write that had already answered, and once Redis
is back the cache is read again.
"""

import time

import pytest
import requests
from rest_framework.authtoken.models import Token

from stocks.models import Stock
from stocks.tests.invariants import assert_stock_matches_ledger

from .load import Client, Load, wait_until
from .processes import running_store, store_environment

pytestmark = pytest.mark.django_db(transaction=True)

OPENING = 100
RECOVERY_TIMEOUT = 5.0  # seconds for readiness and the cache to come back once Redis is up


class ArticleWriter:
    """The only writer of one article: a restock of 3 units, then an order of 1, and so on.

    Each write is read back at once through the stock level endpoint. Knowing every quantity the
    article goes through lets a reader tell a late answer from a stale one.
    """

    RESTOCKED, ORDERED = 3, 1

    def __init__(self, *, article_id: int, customer_id: int):
        self.article_id = article_id
        self.customer_id = customer_id
        self.sent = 0  # writes sent, whether answered or not
        self.answered = 0  # writes that answered: committed, and visible to every later read

    def quantity_after(self, writes: int) -> int:
        restocks, orders = (writes + 1) // 2, writes // 2
        return OPENING + restocks * self.RESTOCKED - orders * self.ORDERED

    def possible(self, answered_before: int, sent_after: int) -> set[int]:
        """What a read may show: not older than the writes answered before it was sent."""
        return {self.quantity_after(writes) for writes in range(answered_before, sent_after + 1)}

    def __call__(self, client: Client) -> None:
        restock = self.sent % 2 == 0
        self.sent += 1
        if restock:
            body = {"quantity": self.RESTOCKED, "reference": "fault test"}
            answer = client.post(f"/api/v1/stocks/{self.article_id}/restock/", body, name="restock")
            assert answer.status == 200, f"restock: {answer.status} {answer.body}"
        else:
            lines = [{"article": self.article_id, "quantity": self.ORDERED}]
            body = {"customer": self.customer_id, "lines": lines}
            answer = client.post("/api/v1/orders/", body, name="order")
            assert answer.status == 201, f"order: {answer.status} {answer.body}"
        self.answered += 1
        level = client.get(f"/api/v1/stocks/{self.article_id}/", name="level")
        assert level.status == 200, f"level: {level.status} {level.body}"
        expected = self.quantity_after(self.answered)
        assert level.body["quantity"] == expected, (
            f"article {self.article_id} read back {level.body['quantity']} after its write, not {expected}"
        )


def report_reader(writers: list[ArticleWriter]):
    def read(client: Client) -> None:
        answered_before = [writer.answered for writer in writers]
        answer = client.get("/api/v1/reports/stock/", name="report")
        assert answer.status == 200, f"report: {answer.status} {answer.body}"
        rows = {row["article_id"]: row for row in answer.body["articles"]}
        for writer, answered in zip(writers, answered_before, strict=True):
            shown = rows[writer.article_id]["quantity"]
            allowed = writer.possible(answered, writer.sent)
            assert shown in allowed, f"report shows article {writer.article_id} at {shown}, not in {allowed}"
        assert answer.body["totals"]["units"] == sum(row["quantity"] for row in rows.values())

    return read


def level_reader(writers: list[ArticleWriter]):
    """Stock levels read by someone else than their writer (possibly in the other worker)."""
    turn = iter(range(10**9))

    def read(client: Client) -> None:
        writer = writers[next(turn) % len(writers)]
        answered_before = writer.answered
        answer = client.get(f"/api/v1/stocks/{writer.article_id}/", name="level")
        assert answer.status == 200, f"level: {answer.status} {answer.body}"
        allowed = writer.possible(answered_before, writer.sent)
        assert answer.body["quantity"] in allowed, f"level {answer.body['quantity']} not in {allowed}"

    return read


def readiness_probe(client: Client) -> None:
    answer = client.get("/health/ready/", name="ready")
    assert answer.status == 200, f"readiness: {answer.status} {answer.body}"
    time.sleep(0.1)  # a probe, not a load


def load_session(token: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Token {token}"
    return session


def readiness(url: str) -> str:
    return requests.get(f"{url}/health/ready/", timeout=5).json()["status"]


@pytest.fixture
def store(transactional_db, redis_server, payments_nowhere, tmp_path):
    # A write whose worker still skips Redis (the second after it failed) bumps in the database,
    # which the other workers read once a second: a write hidden that long is allowed (issue 13 says
    # 2 s; test_replica_without_redis.py holds that bound). Read at every request here, so that any
    # stale read this test sees is one the versions in Redis let through.
    env = store_environment(
        redis_url=redis_server.url, payments_url=payments_nowhere, READ_CACHE_BUMPS_CHECK_SECONDS="0"
    )
    with running_store(env, log_dir=tmp_path) as server:
        yield server


@pytest.fixture
def writers(stocked_article, customer):
    return [
        ArticleWriter(article_id=stocked_article(OPENING, sku=f"HOT-{n}").pk, customer_id=customer.pk)
        for n in range(3)
    ]


def test_redis_killed_mid_load_and_restarted_costs_no_5xx_no_stale_read_and_the_cache_comes_back(
    store, redis_server, writers, manager
):
    token = Token.objects.create(user=manager).key
    load = Load(store.url, headers={"Authorization": f"Token {token}"})
    tasks = [*writers, report_reader(writers), report_reader(writers), level_reader(writers), readiness_probe]

    with load.running(*tasks):
        load.phase("redis up")
        load.keep_going(1.5)
        redis_server.kill()
        load.phase("redis killed")  # after the kill: a probe started before it may still answer ok
        load.keep_going(2.5)
        load.phase("redis restarted")
        redis_server.start()  # same port, empty
        ready_after = wait_until(lambda: readiness(store.url) == "ok", timeout=RECOVERY_TIMEOUT, what="ready")
        cached_after = wait_until(
            lambda: redis_server.cache_hits() > 0, timeout=RECOVERY_TIMEOUT, what="hits"
        )
        load.keep_going(2.0)
    print(f"\n{load.summary()}\nready {ready_after:.2f} s and cache read {cached_after:.2f} s after restart")

    assert load.problems == []
    assert load.failures() == []
    assert set(load.statuses()) <= {200, 201}
    for phase in load.phases:
        for name in ("restock", "order", "report", "level", "ready"):
            assert load.select(phase=phase, name=name), f"no {name} while {phase}"
    # The probes answered while Redis was down: one that started then may be answered after the restart
    # on a busy machine, and rightly say ok.
    restarted = load.phases["redis restarted"]
    down = {
        sample.body["status"]
        for sample in load.select(phase="redis killed", name="ready")
        if sample.started + sample.seconds < restarted
    }
    assert down == {"degraded"}
    assert redis_server.client().keys("store:*read:*"), "nothing cached since the restart"

    # The report is served from the cache again, and it is what the database holds.
    session = load_session(token)
    first, second = (session.get(f"{store.url}/api/v1/reports/stock/", timeout=5) for _ in range(2))
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.json()["generated_at"] == second.json()["generated_at"]
    shown = {row["article_id"]: row["quantity"] for row in second.json()["articles"]}
    for writer in writers:
        held = Stock.objects.get(article_id=writer.article_id).quantity
        assert shown[writer.article_id] == held == writer.quantity_after(writer.answered)
    assert_stock_matches_ledger()

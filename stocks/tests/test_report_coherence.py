"""The cached stock report is never stale, against the real MariaDB and Redis.

These tests commit for real (`transaction=True`) so that `transaction.on_commit` bumps happen when
they would in production, and compare what the API serves with the database's rows, recomputed here
in Python (independently of the selector's SQL).
"""

import random
import threading
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from articles.models import Article
from articles.services import article_create_many, article_update
from core.errors import DomainError
from core.tests.graphql import GraphQLClient
from orders.models import Order
from orders.services import order_cancel, order_create
from orders.tests.threads import Outcome, start_thread, wait_for
from stocks.errors import InsufficientStock
from stocks.models import Stock
from stocks.selectors import REPORT_PAGE_SIZE
from stocks.services import stock_adjust, stock_restock, stock_restock_many, stock_set_limits
from store_infra import cache as read_cache
from users.models import Role
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

REPORT_URL = "/api/v1/reports/stock/"
STOCKS_URL = "/api/v1/stocks/"
CENT = Decimal("0.01")


def database_rows(article_ids=None) -> list[dict]:
    """The report's rows as the database holds them now, computed in Python."""
    articles = Article.objects.select_related("stock").order_by("id")
    if article_ids is not None:
        articles = articles.filter(pk__in=article_ids)
    rows = []
    for article in articles:
        stock = getattr(article, "stock", None)
        quantity, low_mark = (stock.quantity, stock.min_quantity) if stock else (0, 0)
        rows.append(
            {
                "article_id": article.pk,
                "sku": article.sku,
                "name": article.name,
                "unit_price": str(article.price),
                "quantity": quantity,
                "value": str((quantity * article.price).quantize(CENT)),
                "min_quantity": low_mark,
                "max_quantity": stock.max_quantity if stock else None,
                "is_low": quantity <= low_mark,
            }
        )
    return rows


def database_report() -> dict:
    rows = database_rows()
    totals = {
        "articles": len(rows),
        "units": sum(row["quantity"] for row in rows),
        "stock_value": str(sum((Decimal(row["value"]) for row in rows), Decimal("0.00"))),
        "low_stock": sum(row["is_low"] for row in rows),
    }
    pages = max(1, -(-len(rows) // REPORT_PAGE_SIZE))
    return {
        "totals": totals,
        "page": 1,
        "page_size": REPORT_PAGE_SIZE,
        "pages": pages,
        "articles": rows[:REPORT_PAGE_SIZE],
    }


def served_report(client) -> dict:
    response = client.get(REPORT_URL)
    assert response.status_code == 200, response.content
    body = response.json()
    del body["generated_at"]
    return body


def served_level(client, article_id: int) -> dict:
    response = client.get(f"{STOCKS_URL}{article_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def level_of(row: dict) -> dict:
    """A report row as the stock level endpoint shows it."""
    fields = ("article_id", "sku", "name", "quantity", "min_quantity", "max_quantity", "is_low")
    return {field: row[field] for field in fields}


def assert_served_from_cache(client) -> None:
    with CaptureQueriesContext(connection) as queries:
        served_report(client)
    assert len(queries) == 0, "the report should be a cache hit when nothing was written"


def open_store(count: int, *, prefix: str, manager, quantity: int = 30) -> list[int]:
    """`count` articles (prices with cents, reorder point 5), each restocked with `quantity` units."""
    articles = article_create_many(
        articles=[
            {
                "sku": f"{prefix}-{n:02d}",
                "name": f"{prefix} article {n}",
                "price": Decimal(f"{n + 1}.{(n * 37) % 100:02d}"),
                "min_quantity": 5,
            }
            for n in range(count)
        ]
    )
    ids = [article.pk for article in articles]
    stock_restock_many(quantities=dict.fromkeys(ids, quantity), reference="opening", user=manager)
    return ids


class Writes:
    """Every kind of write the stock report shows, through the services or the API, chosen at random.

    Each may be refused by a business rule (not enough stock, over capacity): a refused write must
    leave the report as it was, which the callers check as well.
    """

    def __init__(self, rng: random.Random, *, manager, customers, client):
        self.rng, self.manager, self.customers, self.client = rng, manager, customers, client
        self.pending: list[int] = []

    def restock(self, article_id: int) -> None:
        quantity = self.rng.randint(1, 25)
        stock_restock(article_id=article_id, quantity=quantity, reference="DN", user=self.manager)

    def restock_by_api(self, article_id: int) -> None:
        payload = {"quantity": self.rng.randint(1, 25), "reference": "DN"}
        response = self.client.post(f"{STOCKS_URL}{article_id}/restock/", payload, format="json")
        assert response.status_code in (200, 409), response.content

    def adjust(self, article_id: int) -> None:
        stock_adjust(
            article_id=article_id, quantity=self.rng.randint(0, 80), reason="count", user=self.manager
        )

    def order(self, article_id: int) -> None:
        lines = [{"article": article_id, "quantity": self.rng.randint(1, 8)}]
        order = order_create(customer=self.rng.choice(self.customers), lines=lines, created_by=self.manager)
        self.pending.append(order.pk)

    def order_by_api(self, article_id: int) -> None:
        payload = {
            "customer": self.rng.choice(self.customers).pk,
            "lines": [{"article": article_id, "quantity": self.rng.randint(1, 8)}],
        }
        response = self.client.post("/api/v1/orders/", payload, format="json")
        assert response.status_code in (201, 409), response.content
        if response.status_code == 201:
            self.pending.append(response.json()["id"])

    def cancel(self, article_id: int) -> None:
        if not self.pending:
            return self.order(article_id)
        order_id = self.pending.pop(self.rng.randrange(len(self.pending)))
        order_cancel(order_id=order_id, user=self.manager)

    def reprice(self, article_id: int) -> None:
        price = Decimal(self.rng.randint(1, 99_999)) / 100
        article_update(article=Article.objects.get(pk=article_id), price=price)

    def rename(self, article_id: int) -> None:
        article_update(
            article=Article.objects.get(pk=article_id), name=f"Renamed {self.rng.randint(0, 10**6)}"
        )

    def set_limits(self, article_id: int) -> None:
        maximum = self.rng.choice([None, self.rng.randint(40, 120)])
        stock_set_limits(article_id=article_id, min_quantity=self.rng.randint(0, 40), max_quantity=maximum)

    def set_limits_by_api(self, article_id: int) -> None:
        payload = {"min_quantity": self.rng.randint(0, 40), "max_quantity": self.rng.randint(40, 120)}
        response = self.client.patch(f"{STOCKS_URL}{article_id}/", payload, format="json")
        assert response.status_code in (200, 400, 409), response.content

    KINDS = (
        "restock",
        "restock_by_api",
        "adjust",
        "order",
        "order_by_api",
        "cancel",
        "reprice",
        "rename",
        "set_limits",
        "set_limits_by_api",
    )

    def any(self, article_id: int) -> str:
        kind = self.rng.choice(self.KINDS)
        try:
            getattr(self, kind)(article_id)
        except DomainError:
            return f"{kind} (refused)"
        return kind


@pytest.fixture
def customers(db):
    return UserFactory.create_batch(3, role=Role.CUSTOMER)


# --- one writer ---------------------------------------------------------------------------------

ROUNDS = 1000


def test_after_each_of_1000_writes_the_next_read_shows_exactly_the_database(api_client, manager, customers):
    article_ids = open_store(12, prefix="RAW", manager=manager)
    client = api_client(manager)
    writes = Writes(random.Random(3), manager=manager, customers=customers, client=client)
    assert served_report(client) == database_report()

    for round_ in range(ROUNDS):
        article_id = writes.rng.choice(article_ids)
        kind = writes.any(article_id)
        expected = database_report()
        assert served_report(client) == expected, f"round {round_}: stale report after {kind} of {article_id}"
        touched = next(row for row in expected["articles"] if row["article_id"] == article_id)
        assert served_level(client, article_id) == level_of(touched), f"round {round_}: stale level"
        if round_ % 50 == 0:
            assert_served_from_cache(client)


# --- the GraphQL door ---------------------------------------------------------------------------

GRAPHQL_READS = """
query Reads($articleId: ID!) {
  stockReport { totals { articles units stockValue lowStock }
    articles { articleId sku name unitPrice quantity value minQuantity maxQuantity isLow } }
  stock(articleId: $articleId) { sku quantity minQuantity maxQuantity }
  lowStock { articleId sku quantity minQuantity maxQuantity missing }
  articles(first: 100) { edges { node { sku name price stock { quantity minQuantity maxQuantity } } } }
}
"""
GRAPHQL_ROUNDS = 300


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def graphql_reads_from_the_database(article_id: int) -> dict:
    """What GRAPHQL_READS must answer, computed from the database's rows."""
    report = database_report()
    rows = [{camel(key): value for key, value in row.items()} for row in report["articles"]]
    for row in rows:
        row["articleId"] = str(row["articleId"])
    limits = ("quantity", "minQuantity", "maxQuantity")
    touched = next(row for row in rows if row["articleId"] == str(article_id))
    return {
        "stockReport": {
            "totals": {camel(key): value for key, value in report["totals"].items()},
            "articles": rows,
        },
        "stock": {"sku": touched["sku"], **{key: touched[key] for key in limits}},
        "lowStock": [
            {
                "articleId": row["articleId"],
                "sku": row["sku"],
                **{key: row[key] for key in limits},
                "missing": (row["maxQuantity"] or row["minQuantity"]) - row["quantity"],
            }
            for row in rows
            if row["isLow"]
        ],
        "articles": {
            "edges": [
                {
                    "node": {
                        "sku": row["sku"],
                        "name": row["name"],
                        "price": row["unitPrice"],
                        "stock": {key: row[key] for key in limits},
                    }
                }
                for row in rows
            ]
        },
    }


def test_after_each_of_300_writes_the_next_graphql_read_shows_exactly_the_database(
    api_client, manager, supplier, customers
):
    article_ids = open_store(12, prefix="GQL", manager=manager)
    writes = Writes(random.Random(5), manager=manager, customers=customers, client=api_client(manager))
    graphql = GraphQLClient(supplier)

    for round_ in range(GRAPHQL_ROUNDS):
        article_id = writes.rng.choice(article_ids)
        kind = writes.any(article_id)
        expected = graphql_reads_from_the_database(article_id)
        served = graphql.execute(GRAPHQL_READS, {"articleId": str(article_id)})
        assert served == expected, f"round {round_}: stale GraphQL read after {kind} of {article_id}"


# --- concurrent writers -------------------------------------------------------------------------


class Ledger:
    """What restocks of the shared articles have returned so far: a floor for any later read."""

    def __init__(self, quantities: dict[int, int]):
        self._lock = threading.Lock()
        self._confirmed = dict(quantities)

    def restocked(self, article_id: int, quantity: int) -> None:
        with self._lock:
            self._confirmed[article_id] += quantity

    def floor(self) -> dict[int, int]:
        with self._lock:
            return dict(self._confirmed)


PAUSE = 0.01  # at most, between two writes of a thread: room for reads to hit the cache in between


def restock_until(stop: threading.Event, ledger: Ledger, article_ids: list[int], user, seed: int) -> int:
    rng = random.Random(seed)
    done = 0
    while not stop.is_set():
        article_id, quantity = rng.choice(article_ids), rng.randint(1, 5)
        stock_restock(article_id=article_id, quantity=quantity, reference=f"thread-{seed}", user=user)
        ledger.restocked(article_id, quantity)
        done += 1
        time.sleep(rng.uniform(0, PAUSE))
    return done


def order_until(stop: threading.Event, article_ids: list[int], customers, user, seed: int) -> int:
    rng = random.Random(seed)
    pending, done = [], 0
    while not stop.is_set():
        if pending and rng.random() < 0.4:
            order_cancel(order_id=pending.pop(), user=user)
        elif rng.random() < 0.1:
            article_update(article=Article.objects.get(pk=rng.choice(article_ids)), price=Decimal("3.33"))
        else:
            lines = [{"article": rng.choice(article_ids), "quantity": rng.randint(1, 5)}]
            pending.append(order_create(customer=rng.choice(customers), lines=lines, created_by=user).pk)
        done += 1
        time.sleep(rng.uniform(0, PAUSE))
    return done


CONCURRENT_ROUNDS = 500


def test_with_concurrent_writers_every_read_shows_at_least_every_write_that_returned_before_it(
    api_client, manager, customers
):
    own = open_store(3, prefix="OWN", manager=manager)  # written by the reading thread only
    shared = open_store(4, prefix="SHARED", manager=manager)  # restocked by everyone, never taken from
    busy = open_store(3, prefix="BUSY", manager=manager, quantity=100_000)  # ordered by another thread
    ledger = Ledger(dict.fromkeys(shared, 30))
    client = api_client(manager)
    writes = Writes(random.Random(5), manager=manager, customers=customers, client=client)

    stop = threading.Event()
    workers = [
        ("restocker-1", lambda: restock_until(stop, ledger, shared, manager, seed=1)),
        ("restocker-2", lambda: restock_until(stop, ledger, shared[:2], manager, seed=2)),
        ("orders", lambda: order_until(stop, busy, customers, manager, seed=3)),
    ]
    outcomes = [Outcome(label) for label, _ in workers]
    threads = [start_thread(outcome, task) for outcome, (_, task) in zip(outcomes, workers, strict=True)]
    hits = 0
    try:
        for round_ in range(CONCURRENT_ROUNDS):
            draw = writes.rng.random()
            if draw < 0.3:
                kind = "no write"  # reads in a row: they may hit entries cached while others wrote
            elif draw < 0.65:
                kind = writes.any(writes.rng.choice(own))
            else:
                article_id, quantity = writes.rng.choice(shared), writes.rng.randint(1, 5)
                stock_restock(article_id=article_id, quantity=quantity, reference="main", user=manager)
                ledger.restocked(article_id, quantity)
                kind = f"restock of {article_id}"

            floor = ledger.floor()
            with CaptureQueriesContext(connection) as queries:
                body = served_report(client)
            hits += not queries
            served = {row["article_id"]: row for row in body["articles"]}
            ceiling = dict(Stock.objects.filter(article__in=shared).values_list("article_id", "quantity"))

            for row in database_rows(own):  # nobody else writes these: exact
                assert served[row["article_id"]] == row, f"round {round_}: stale row after {kind}"
            for article_id in shared:
                quantity = served[article_id]["quantity"]
                assert floor[article_id] <= quantity <= ceiling[article_id], (
                    f"round {round_}: article {article_id} served {quantity}, "
                    f"expected {floor[article_id]}..{ceiling[article_id]} after {kind}"
                )
            assert all(row["quantity"] >= 0 for row in served.values())
            # One snapshot: the totals add up the rows they come with.
            assert body["totals"]["units"] == sum(row["quantity"] for row in served.values()), (
                f"round {round_}: totals {body['totals']} do not add up the rows"
            )
            assert body["totals"]["stock_value"] == str(sum(Decimal(row["value"]) for row in served.values()))
    finally:
        stop.set()
        wait_for(threads)
    assert [outcome.error for outcome in outcomes] == [None] * len(outcomes)
    assert all(outcome.result > 0 for outcome in outcomes), [(o.label, o.result) for o in outcomes]
    assert hits > 0, "no read was served from the cache: the test proved nothing about it"

    # Once everyone has stopped, the report is exactly the database again.
    assert served_report(client) == database_report()
    served = {row["article_id"]: row["quantity"] for row in served_report(client)["articles"]}
    assert {a: served[a] for a in shared} == ledger.floor()


# --- nothing reaches the cache before a commit --------------------------------------------------


def versions() -> tuple:
    return tuple(cache.get(read_cache._version_key(label)) for label in ("stocks.stock", "orders.order"))


def cached_body(client) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(REPORT_URL)
    return len(queries), response.content


def test_an_order_refused_for_want_of_stock_bumps_nothing_and_leaves_the_cached_report(
    api_client, manager, customers
):
    article_id = open_store(1, prefix="SHORT", manager=manager, quantity=5)[0]
    client = api_client(manager)
    client.get("/api/v1/reports/best-sellers/")
    before = cached_body(client)[1]
    versions_before = versions()

    with pytest.raises(InsufficientStock):
        order_create(
            customer=customers[0], lines=[{"article": article_id, "quantity": 6}], created_by=manager
        )
    response = client.post(
        "/api/v1/orders/",
        {"customer": customers[0].pk, "lines": [{"article": article_id, "quantity": 6}]},
        format="json",
    )
    assert response.status_code == 409

    assert versions() == versions_before
    assert cached_body(client) == (0, before)
    assert Order.objects.count() == 0


def test_a_restock_rolled_back_after_it_was_written_leaves_the_cached_report_and_versions(
    api_client, manager
):
    article_id = open_store(1, prefix="ROLL", manager=manager, quantity=5)[0]
    client = api_client(manager)
    before = cached_body(client)[1]
    versions_before = versions()

    with pytest.raises(RuntimeError), transaction.atomic():
        stock_restock(article_id=article_id, quantity=10, reference="DN", user=manager)
        stock_set_limits(article_id=article_id, min_quantity=50, max_quantity=None)
        assert Stock.objects.get(pk=article_id).quantity == 15
        raise RuntimeError("the delivery note was wrong")

    assert versions() == versions_before
    assert cached_body(client) == (0, before)
    assert Stock.objects.get(pk=article_id).quantity == 5


def test_a_report_cached_during_a_long_uncommitted_restock_is_not_served_after_its_commit(
    api_client, manager
):
    article_id = open_store(1, prefix="LONG", manager=manager, quantity=5)[0]
    client = api_client(manager)
    written, may_commit = threading.Event(), threading.Event()

    def restock_and_hold():
        with transaction.atomic():
            stock_restock(article_id=article_id, quantity=10, reference="DN", user=manager)
            written.set()
            assert may_commit.wait(20), "never told to commit"

    writer = start_thread(outcome := Outcome("writer"), restock_and_hold)
    try:
        assert written.wait(20)
        versions_before = versions()
        # The reader computes the old rows while the write is pending, and caches them.
        assert served_report(client)["totals"]["units"] == 5
        assert cached_body(client)[0] == 0
        assert versions() == versions_before
    finally:
        may_commit.set()
        wait_for([writer])
    assert outcome.error is None, outcome.error

    assert served_report(client)["totals"]["units"] == 15
    assert served_report(client) == database_report()
    assert served_level(client, article_id)["quantity"] == 15
    assert versions()[0] > versions_before[0]

"""The users of `make bench`: one Locust user class per kind of traffic (scenarios.py picks them).

runner.py runs Locust headless, one scenario at a time, naming the classes to run, e.g.

    locust -f scripts/bench/locustfile.py --headless --host http://127.0.0.1:8000 --users 16 \\
        --spawn-rate 16 --run-time 11s --stop-timeout 10 --json-file var/bench/warm-3 \\
        --bench-fixtures var/bench/fixtures.json --bench-warmup 1 --bench-out var/bench/warm-3.out.json \\
        StockReport

Options of its own: `--bench-fixtures`, the JSON the bench writes (tokens, customers, articles);
`--bench-warmup`, seconds after the last user started whose requests are not recorded (Locust's
stats are reset at its end); `--bench-out`, a JSON written when the test stops with what Locust's
stats do not keep: each request's answers by status, repeated ETags, and the orders placed.

Every request is a FastHttpUser request (geventhttpclient, one keep-alive connection per user). A
GraphQL answer carrying an error is a failure though it comes with a 200. The order storm's 409
`insufficient_stock` refusals are expected (its hot articles run out between deliveries): they are
recorded under a name of their own and not as failures.
"""

import itertools
import json
import random
import sys
import uuid
from collections import Counter, defaultdict

import gevent
from locust import FastHttpUser, constant_pacing, events, task

from scripts.bench.endpoints import (
    ARTICLE_SEARCH,
    GRAPHQL,
    GRAPHQL_ERROR,
    GRAPHQL_STOCK,
    HEALTH,
    INSUFFICIENT_STOCK,
    ORDER_LIST,
    ORDER_LIST_PAGES,
    ORDERS,
    REFUSED_ORDER,
    REST_STOCK,
    STOCK_REPORT,
    SUPPLIER_ARTICLES,
    SUPPLIER_LOW_STOCK,
    SUPPLIER_RESTOCK,
    error_code,
    graphql_body,
    order_body,
    restock_body,
    restock_path,
    staff_headers,
)
from scripts.bench.scenarios import (
    DELIVERY_EVERY_SECONDS,
    DELIVERY_UNITS,
    SUPPLIER_READ_PAIRS,
)

# What `--bench-out` receives; `answers` is reset with Locust's stats when the warm-up ends, `orders`
# covers the whole run (the bench compares it with the database).
answers: dict[str, Counter] = defaultdict(Counter)
etags: dict[str, Counter] = defaultdict(Counter)
orders = {"placed": 0, "without_payment": 0, "units": Counter()}
_fixtures: dict = {}
# Locust's environment, for the listeners whose event does not carry it.
_environment: list = []


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--bench-fixtures", default="", help="the bench's fixtures (JSON)")
    parser.add_argument("--bench-warmup", type=float, default=0.0, help="unrecorded seconds at the start")
    parser.add_argument("--bench-out", default="", help="where the answers by status are written (JSON)")
    parser.add_argument("--bench-think", type=float, default=1.0, help="mean seconds a storm clerk thinks")


@events.init.add_listener
def _load_fixtures(environment, **kwargs):
    _environment.append(environment)
    path = environment.parsed_options.bench_fixtures
    if path:
        with open(path) as file:
            _fixtures.update(json.load(file))
    elif any(issubclass(user_class, _StoreUser) for user_class in environment.user_classes):
        sys.exit(
            "locustfile: the store's users need --bench-fixtures (the bench writes var/bench/fixtures.json)"
        )


@events.request.add_listener
def _count_answer(request_type, name, response, exception, **kwargs):
    key = f"{request_type} {name}"
    status = getattr(response, "status_code", 0) or 0
    if exception is not None and 200 <= status < 300:
        status = "error in body"
    answers[key][str(status)] += 1
    etag = response.headers.get("etag") if response is not None and response.headers else None
    if etag:
        etags[key][etag] += 1


def _start_recording(environment):
    environment.runner.stats.reset_all()
    answers.clear()
    etags.clear()
    print("bench: recording", flush=True)  # runner.py samples the servers' CPU from here


@events.spawning_complete.add_listener
def _after_warmup(user_count, **kwargs):
    environment = _environment[0]
    gevent.spawn_later(environment.parsed_options.bench_warmup, _start_recording, environment)


@events.test_stop.add_listener
def _write_out(environment, **kwargs):
    print("bench: stopped", flush=True)
    path = environment.parsed_options.bench_out
    if not path:
        return
    rows = {
        key: {"statuses": dict(counts), "repeated_etags": sum(n - 1 for n in etags[key].values())}
        for key, counts in answers.items()
    }
    with open(path, "w") as file:
        json.dump({"rows": rows, "orders": {**orders, "units": dict(orders["units"])}}, file)


class _StoreUser(FastHttpUser):
    abstract = True
    role = "clerk"
    # Each user gets its own index: its own article, its own random sequence.
    _indexes = itertools.count()

    def on_start(self):
        self.index = next(_StoreUser._indexes)
        self.rng = random.Random(self.index)
        self.headers = staff_headers(_fixtures["tokens"][self.role])

    def own_article(self) -> dict:
        articles = _fixtures["own_articles"]
        return articles[self.index % len(articles)]

    def graphql(self, name: str, query: str, **variables) -> None:
        with self.client.post(
            GRAPHQL,
            json=graphql_body(query, **variables),
            headers=self.headers,
            name=f"{GRAPHQL} {name}",
            catch_response=True,
        ) as response:
            if response.ok and GRAPHQL_ERROR in response.content:
                response.failure(f"GraphQL error: {response.content[:200]!r}")


class Health(FastHttpUser):
    """The cheapest answer of the stack (no auth, no database): the ceiling of the others."""

    @task
    def health(self):
        self.client.get(HEALTH)


class StockReport(_StoreUser):
    """The stock report of every article as a clerk: warm cache, or a server with caching disabled."""

    @task
    def report(self):
        self.client.get(STOCK_REPORT, headers=self.headers)


class ColdStockReport(_StoreUser):
    """A restock of one unit of the user's own article (no capacity), then the report it invalidated."""

    @task
    def restock_then_report(self):
        article = self.own_article()["id"]
        self.client.post(
            restock_path(article), json=restock_body(1), headers=self.headers, name=restock_path("{id}")
        )
        self.client.get(STOCK_REPORT, headers=self.headers)


class StaffReads(_StoreUser):
    """A clerk at the back office: the stock report, an article search, a page of recent orders."""

    @task
    def report(self):
        self.client.get(STOCK_REPORT, headers=self.headers)

    @task
    def search(self):
        term = self.rng.choice(_fixtures["search_terms"])
        self.client.get(ARTICLE_SEARCH.format(term=term), headers=self.headers, name=ARTICLE_SEARCH)

    @task
    def orders(self):
        page = self.rng.randint(1, ORDER_LIST_PAGES)
        self.client.get(ORDER_LIST.format(page=page), headers=self.headers, name=ORDER_LIST)


class OrderStorm(_StoreUser):
    """A clerk placing orders of 1 to 5 lines on the few hot articles, each with an Idempotency-Key.

    After each order the clerk thinks for a random time, exponentially distributed around
    `--bench-think` seconds: the orders of 32 clerks then arrive at random, about 32 a second for a
    mean of 1 s, rather than in lockstep. Without a pause, 32 users always waiting would make the
    latency their number divided by the throughput (Little's law): a queue, not a load.
    """

    def wait_time(self):
        return self.rng.expovariate(1 / _environment[0].parsed_options.bench_think)

    @task
    def place_order(self):
        body = order_body(self.rng, customers=_fixtures["customers"], articles=_fixtures["hot_articles"])
        headers = {**self.headers, "Idempotency-Key": str(uuid.uuid4())}
        with self.client.post(ORDERS, json=body, headers=headers, catch_response=True) as response:
            if response.status_code == 201:
                orders["placed"] += 1
                orders["without_payment"] += response.json().get("payment") is None
                orders["units"].update({str(line["article"]): line["quantity"] for line in body["lines"]})
            elif response.status_code == 409 and error_code(response.content) == INSUFFICIENT_STOCK:
                response.request_meta["name"] = REFUSED_ORDER
                response.success()


class Deliveries(_StoreUser):
    """The supplier delivering to the hot articles while the storm orders them (one such user)."""

    fixed_count = 1
    role = "supplier"
    wait_time = constant_pacing(DELIVERY_EVERY_SECONDS)

    @task
    def deliver(self):
        article = self.rng.choice(_fixtures["hot_articles"])
        self.client.post(
            restock_path(article),
            json=restock_body(DELIVERY_UNITS, "bench delivery"),
            headers=self.headers,
            name=restock_path("{id}"),
        )


class RestStock(_StoreUser):
    """The stock of the first 100 articles by REST, as a supplier (not cached)."""

    role = "supplier"

    @task
    def stock(self):
        self.client.get(REST_STOCK, headers=self.headers)


class GraphqlStock(_StoreUser):
    """The same 100 articles and fields by GraphQL, as the same supplier (not cached)."""

    role = "supplier"

    @task
    def stock(self):
        self.graphql("articles(first: 100) with stock", GRAPHQL_STOCK)


class SupplierSession(_StoreUser):
    """4 x (articles(first: 100), lowStock), then a restock of one unit of the user's own article."""

    role = "supplier"

    @task
    def session(self):
        for _ in range(SUPPLIER_READ_PAIRS):
            self.graphql("articles(first: 100)", SUPPLIER_ARTICLES)
            self.graphql("lowStock", SUPPLIER_LOW_STOCK)
        self.graphql("restock", SUPPLIER_RESTOCK, sku=self.own_article()["sku"])

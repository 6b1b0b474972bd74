"""The sales reports (best sellers, top customers) through the REST API: what they count, periods,
limits, permissions, errors, SQL query counts, conditional requests and invalidation."""

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from articles.services import article_create_many, article_update
from articles.tests.factories import ArticleFactory
from core.tests import assert_answered, assert_error, call, role_matrix
from orders.models import Order, OrderStatus
from orders.services import order_cancel, order_create, order_create_many
from stocks.services import stock_restock_many
from users.models import Role
from users.services import user_update
from users.tests.factories import UserFactory

BEST_SELLERS_URL = "/api/v1/reports/best-sellers/"
TOP_CUSTOMERS_URL = "/api/v1/reports/top-customers/"
REPORT_URLS = [BEST_SELLERS_URL, TOP_CUSTOMERS_URL]

JAN, FEB, MAR, APR = (datetime(2024, month, 10, tzinfo=UTC) for month in (1, 2, 3, 4))


def at(order: Order, when: datetime) -> None:
    Order.objects.filter(pk=order.pk).update(created_at=when)


def mark_paid(order: Order) -> None:
    """No service marks an order paid yet (the payments service will)."""
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)


@pytest.fixture
def sales(db, manager):
    """Five orders over four months (paid, paid, cancelled, pending, paid) of three articles."""
    tea = ArticleFactory(sku="TEA-1", name="Green tea", price=Decimal("4.50"))
    coffee = ArticleFactory(sku="COF-1", name="Coffee beans", price=Decimal("12.25"))
    mug = ArticleFactory(sku="MUG-1", name="Tea mug", price=Decimal("7.00"))
    stock_restock_many(quantities={tea.pk: 50, coffee.pk: 50, mug.pk: 50}, reference="DN-1", user=manager)
    alice = UserFactory(username="alice", first_name="Alice", last_name="Liddell")
    bob = UserFactory(username="bob", first_name="Bob", last_name="Builder")
    carol = UserFactory(username="carol", first_name="Carol", last_name="Danvers")

    def order(customer, when, **quantities):
        articles = {"tea": tea, "coffee": coffee, "mug": mug}
        lines = [{"article": articles[name].pk, "quantity": q} for name, q in quantities.items()]
        placed = order_create(customer=customer, lines=lines, created_by=manager)
        at(placed, when)
        return placed

    paid = [order(alice, JAN, tea=3, coffee=1), order(bob, FEB, tea=2), order(alice, APR, coffee=2)]
    cancelled = order(bob, FEB, coffee=5)
    order_cancel(order_id=cancelled.pk, user=manager)
    order(carol, MAR, mug=4)  # pending: sold, not paid
    for placed in paid:
        mark_paid(placed)
    return {"tea": tea, "coffee": coffee, "mug": mug, "alice": alice, "bob": bob, "carol": carol}


def get(client, url: str, **params) -> dict:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


# --- best sellers -------------------------------------------------------------------------------


def test_best_sellers_rank_articles_by_units_in_orders_that_were_not_cancelled(api_client, clerk, sales):
    body = get(api_client(clerk), BEST_SELLERS_URL)
    assert set(body) == {"generated_at", "since", "until", "results"}
    assert (body["since"], body["until"]) == (None, None)
    assert body["results"] == [
        {
            "article_id": sales["tea"].pk,
            "sku": "TEA-1",
            "name": "Green tea",
            "units": 5,
            "orders": 2,
            "revenue": "22.50",
        },
        {
            "article_id": sales["mug"].pk,
            "sku": "MUG-1",
            "name": "Tea mug",
            "units": 4,
            "orders": 1,
            "revenue": "28.00",
        },
        {
            "article_id": sales["coffee"].pk,
            "sku": "COF-1",
            "name": "Coffee beans",
            "units": 3,
            "orders": 2,
            "revenue": "36.75",
        },
    ]


def test_best_sellers_keep_the_price_each_order_was_placed_at(
    api_client, clerk, manager, sales, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        article_update(article=sales["tea"], price=Decimal("100.00"))
        order_create(
            customer=sales["bob"], lines=[{"article": sales["tea"].pk, "quantity": 1}], created_by=manager
        )
    tea = get(api_client(clerk), BEST_SELLERS_URL)["results"][0]
    assert (tea["units"], tea["orders"], tea["revenue"]) == (6, 3, "122.50")


def test_best_sellers_are_limited_to_the_first_n(api_client, clerk, sales):
    body = get(api_client(clerk), BEST_SELLERS_URL, limit=2)
    assert [row["sku"] for row in body["results"]] == ["TEA-1", "MUG-1"]


def test_best_sellers_count_the_orders_of_the_period_only_since_inclusive_until_exclusive(
    api_client, clerk, sales
):
    body = get(api_client(clerk), BEST_SELLERS_URL, since=FEB.isoformat(), until=MAR.isoformat())
    assert (body["since"], body["until"]) == ("2024-02-10T00:00:00Z", "2024-03-10T00:00:00Z")
    assert [(row["sku"], row["units"]) for row in body["results"]] == [("TEA-1", 2)]

    body = get(api_client(clerk), BEST_SELLERS_URL, since=MAR.isoformat())
    assert [(row["sku"], row["units"]) for row in body["results"]] == [("MUG-1", 4), ("COF-1", 2)]
    body = get(api_client(clerk), BEST_SELLERS_URL, until=FEB.isoformat())
    assert [(row["sku"], row["units"]) for row in body["results"]] == [("TEA-1", 3), ("COF-1", 1)]


# --- top customers ------------------------------------------------------------------------------


def test_top_customers_rank_customers_by_what_they_spent_in_paid_orders(api_client, manager, sales):
    body = get(api_client(manager), TOP_CUSTOMERS_URL)
    assert set(body) == {"generated_at", "since", "until", "results"}
    assert body["results"] == [
        {
            "customer_id": sales["alice"].pk,
            "username": "alice",
            "first_name": "Alice",
            "last_name": "Liddell",
            "orders": 2,
            "spent": "50.25",
        },
        {
            "customer_id": sales["bob"].pk,
            "username": "bob",
            "first_name": "Bob",
            "last_name": "Builder",
            "orders": 1,
            "spent": "9.00",
        },
    ]


def test_top_customers_are_limited_and_counted_over_the_period(api_client, clerk, sales):
    client = api_client(clerk)
    assert [row["username"] for row in get(client, TOP_CUSTOMERS_URL, limit=1)["results"]] == ["alice"]
    body = get(client, TOP_CUSTOMERS_URL, since=FEB.isoformat(), until=APR.isoformat())
    assert [(row["username"], row["spent"]) for row in body["results"]] == [("bob", "9.00")]
    body = get(client, TOP_CUSTOMERS_URL, since=APR.isoformat())
    assert [(row["username"], row["orders"], row["spent"]) for row in body["results"]] == [
        ("alice", 1, "24.50")
    ]


def test_a_period_without_sales_gives_empty_reports(api_client, clerk, sales):
    for url in REPORT_URLS:
        body = get(api_client(clerk), url, since="2030-01-01T00:00:00Z")
        assert body["results"] == []


# --- permissions and errors ---------------------------------------------------------------------


SALES_REPORT_ENDPOINTS = [("get", url, None, {"manager": 200, "clerk": 200}) for url in REPORT_URLS]


@pytest.mark.parametrize(
    ("role", "method", "url", "payload", "expected"), role_matrix(SALES_REPORT_ENDPOINTS)
)
def test_only_staff_may_read_the_sales_reports(
    request, api_client, sales, role, method, url, payload, expected
):
    assert_answered(call(api_client(request.getfixturevalue(role)), method, url, payload), expected)


@pytest.mark.parametrize("url", REPORT_URLS)
def test_an_anonymous_client_must_authenticate_for_the_sales_reports(api_client, url):
    assert_error(api_client(None).get(url), 401, "not_authenticated")


@pytest.mark.parametrize("url", REPORT_URLS)
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"since": "garbage"}, "since"),
        ({"until": "2024-13-01"}, "until"),
        ({"since": "2024-03-01T00:00:00Z", "until": "2024-03-01T00:00:00Z"}, "until"),
        ({"since": "2024-03-02T00:00:00Z", "until": "2024-03-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_sales_report_parameters_are_refused_in_the_error_shape(api_client, clerk, url, params, field):
    body = assert_error(api_client(clerk).get(url, params), 400, "invalid")
    assert list(body["fields"]) == [field]


@pytest.mark.parametrize("url", REPORT_URLS)
def test_the_limit_may_be_anything_from_1_to_100(api_client, clerk, db, url):
    for limit in (1, 100):
        assert api_client(clerk).get(url, {"limit": limit}).status_code == 200


# --- SQL queries --------------------------------------------------------------------------------


def place_orders(count: int, *, manager, seed: int) -> None:
    """`count` orders of 1 to 3 lines by 20 customers over 50 articles; a third paid, a tenth cancelled."""
    rng = random.Random(seed)
    articles = article_create_many(
        articles=[
            {"sku": f"S{seed}-{n:03d}", "name": f"Item {n}", "price": Decimal("2.50")} for n in range(50)
        ]
    )
    stock_restock_many(quantities={a.pk: 100_000 for a in articles}, reference="DN", user=manager)
    customers = UserFactory.create_batch(20, role=Role.CUSTOMER)
    orders = order_create_many(
        orders=[
            {
                "customer": rng.choice(customers),
                "created_by": manager,
                "lines": [
                    {"article": a.pk, "quantity": rng.randint(1, 5)}
                    for a in rng.sample(articles, rng.randint(1, 3))
                ],
            }
            for _ in range(count)
        ]
    )
    ids = [order.pk for order in orders]
    Order.objects.filter(pk__in=ids[::3]).update(status=OrderStatus.PAID)
    Order.objects.filter(pk__in=ids[1::10]).update(status=OrderStatus.CANCELLED)


def queries_of(client, url: str, **params) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        body = get(client, url, **params)
    return len(queries), body


@override_settings(READ_CACHE_ENABLED=False)
@pytest.mark.parametrize("url", REPORT_URLS)
def test_each_sales_report_costs_one_query_for_few_or_many_orders(api_client, clerk, manager, url):
    client = api_client(clerk)
    place_orders(5, manager=manager, seed=1)
    few, few_body = queries_of(client, url, limit=100)
    place_orders(1000, manager=manager, seed=2)
    many, many_body = queries_of(client, url, limit=100)
    assert len(many_body["results"]) > len(few_body["results"]) > 0
    assert few == many == 1


@pytest.mark.parametrize("url", REPORT_URLS)
def test_a_warm_sales_report_costs_no_query(api_client, clerk, sales, url):
    client = api_client(clerk)
    cold, computed = queries_of(client, url)
    warm, served = queries_of(client, url)
    assert (cold, warm) == (1, 0)
    assert served == computed


# --- conditional requests and invalidation ------------------------------------------------------


def test_best_sellers_answer_304_to_their_etag_until_an_order_changes_them(
    api_client, clerk, manager, sales, django_capture_on_commit_callbacks
):
    client = api_client(clerk)
    etag = client.get(BEST_SELLERS_URL)["ETag"]
    not_modified = client.get(BEST_SELLERS_URL, HTTP_IF_NONE_MATCH=etag)
    assert (not_modified.status_code, not_modified.content) == (304, b"")

    with django_capture_on_commit_callbacks(execute=True):
        order_create(
            customer=sales["bob"], lines=[{"article": sales["mug"].pk, "quantity": 3}], created_by=manager
        )
    response = client.get(BEST_SELLERS_URL, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert response.json()["results"][0]["sku"] == "MUG-1"


def test_cancelling_an_order_takes_it_out_of_the_cached_best_sellers(
    api_client, clerk, manager, sales, django_capture_on_commit_callbacks
):
    client = api_client(clerk)
    get(client, BEST_SELLERS_URL)
    pending = Order.objects.get(status=OrderStatus.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=pending.pk, user=manager)
    assert [row["sku"] for row in get(client, BEST_SELLERS_URL)["results"]] == ["TEA-1", "COF-1"]


def test_renaming_an_article_or_a_customer_shows_in_the_cached_sales_reports(
    api_client, clerk, manager, sales, django_capture_on_commit_callbacks
):
    client = api_client(clerk)
    get(client, BEST_SELLERS_URL)
    get(client, TOP_CUSTOMERS_URL)
    with django_capture_on_commit_callbacks(execute=True):
        article_update(article=sales["tea"], name="Sencha")
        user_update(actor=manager, user=sales["alice"], last_name="Hargreaves")
    assert get(client, BEST_SELLERS_URL)["results"][0]["name"] == "Sencha"
    assert get(client, TOP_CUSTOMERS_URL)["results"][0]["last_name"] == "Hargreaves"

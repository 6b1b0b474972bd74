"""The stock report and the cached stock level, through the REST API: content, filters, permissions,
errors, SQL query counts and conditional requests (see test_report_coherence.py for staleness)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from articles.services import article_create_many, article_update
from articles.tests.factories import ArticleFactory
from core.tests import assert_answered, assert_error, call, role_matrix
from stocks.models import Stock
from stocks.services import stock_restock, stock_set_limits

REPORT_URL = "/api/v1/reports/stock/"
STOCKS_URL = "/api/v1/stocks/"
ROW_FIELDS = {
    "article_id",
    "sku",
    "name",
    "unit_price",
    "quantity",
    "value",
    "min_quantity",
    "max_quantity",
    "is_low",
}


@pytest.fixture
def shelf(db):
    """Tea (12 x 4.50, not low), coffee (3 x 12.25, low) and an inactive mug (none, low)."""
    tea = ArticleFactory(
        sku="TEA-1",
        name="Green tea",
        price=Decimal("4.50"),
        stock__quantity=12,
        stock__min_quantity=5,
        stock__max_quantity=50,
    )
    coffee = ArticleFactory(
        sku="COF-1", name="Coffee beans", price=Decimal("12.25"), stock__quantity=3, stock__min_quantity=5
    )
    mug = ArticleFactory(sku="MUG-1", name="Tea mug", price=Decimal("7.00"), is_active=False)
    return tea, coffee, mug


def report(client, **params) -> dict:
    response = client.get(REPORT_URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def skus(body: dict) -> list[str]:
    return [row["sku"] for row in body["articles"]]


# --- content ------------------------------------------------------------------------------------


def test_the_stock_report_lists_every_article_with_its_value_and_the_totals(api_client, clerk, shelf):
    tea, coffee, mug = shelf
    body = report(api_client(clerk))

    assert set(body) == {"generated_at", "totals", "page", "page_size", "pages", "articles"}
    assert (body["page"], body["page_size"], body["pages"]) == (1, 100, 1)
    assert body["generated_at"].endswith("Z")
    assert all(set(row) == ROW_FIELDS for row in body["articles"])
    assert body["articles"] == [
        {
            "article_id": tea.pk,
            "sku": "TEA-1",
            "name": "Green tea",
            "unit_price": "4.50",
            "quantity": 12,
            "value": "54.00",
            "min_quantity": 5,
            "max_quantity": 50,
            "is_low": False,
        },
        {
            "article_id": coffee.pk,
            "sku": "COF-1",
            "name": "Coffee beans",
            "unit_price": "12.25",
            "quantity": 3,
            "value": "36.75",
            "min_quantity": 5,
            "max_quantity": None,
            "is_low": True,
        },
        {
            "article_id": mug.pk,
            "sku": "MUG-1",
            "name": "Tea mug",
            "unit_price": "7.00",
            "quantity": 0,
            "value": "0.00",
            "min_quantity": 0,
            "max_quantity": None,
            "is_low": True,
        },
    ]
    assert body["totals"] == {"articles": 3, "units": 15, "stock_value": "90.75", "low_stock": 2}


def test_a_stock_value_is_the_exact_product_of_quantity_and_price_in_cents(api_client, clerk, db):
    ArticleFactory(sku="PEN-1", price=Decimal("0.99"), stock__quantity=333)
    ArticleFactory(sku="INK-1", price=Decimal("1234.57"), stock__quantity=7)
    body = report(api_client(clerk))
    assert [row["value"] for row in body["articles"]] == ["329.67", "8641.99"]
    assert body["totals"]["stock_value"] == "8971.66"


def test_an_article_without_a_stock_row_still_appears_with_nothing_in_stock(api_client, manager, shelf):
    _, coffee, _ = shelf
    Stock.objects.filter(article=coffee).delete()
    body = report(api_client(manager))
    row = next(row for row in body["articles"] if row["article_id"] == coffee.pk)
    assert row == {
        "article_id": coffee.pk,
        "sku": "COF-1",
        "name": "Coffee beans",
        "unit_price": "12.25",
        "quantity": 0,
        "value": "0.00",
        "min_quantity": 0,
        "max_quantity": None,
        "is_low": True,
    }
    assert body["totals"] == {"articles": 3, "units": 12, "stock_value": "54.00", "low_stock": 2}


def test_an_empty_store_has_an_empty_report_with_zero_totals(api_client, clerk):
    body = report(api_client(clerk))
    assert body["articles"] == []
    assert body["totals"] == {"articles": 0, "units": 0, "stock_value": "0.00", "low_stock": 0}


# --- filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected_skus", "expected_totals"),
    [
        ({"is_low": "true"}, ["COF-1", "MUG-1"], {"articles": 2, "units": 3, "stock_value": "36.75"}),
        ({"is_low": "false"}, ["TEA-1"], {"articles": 1, "units": 12, "stock_value": "54.00"}),
        ({"is_active": "false"}, ["MUG-1"], {"articles": 1, "units": 0, "stock_value": "0.00"}),
        ({"is_active": "true"}, ["TEA-1", "COF-1"], {"articles": 2, "units": 15, "stock_value": "90.75"}),
        ({"search": "tea"}, ["TEA-1", "MUG-1"], {"articles": 2, "units": 12, "stock_value": "54.00"}),
        ({"search": "cof-"}, ["COF-1"], {"articles": 1, "units": 3, "stock_value": "36.75"}),
        ({"search": "nothing"}, [], {"articles": 0, "units": 0, "stock_value": "0.00"}),
        (
            {"search": "tea", "is_low": "true", "is_active": "false"},
            ["MUG-1"],
            {"articles": 1, "units": 0, "stock_value": "0.00"},
        ),
    ],
)
def test_the_stock_report_filters_its_rows_and_totals(
    api_client, clerk, shelf, params, expected_skus, expected_totals
):
    body = report(api_client(clerk), **params)
    assert skus(body) == expected_skus
    low = sum(row["is_low"] for row in body["articles"])
    assert body["totals"] == {**expected_totals, "low_stock": low}


def test_each_filter_combination_is_cached_on_its_own(api_client, clerk, shelf):
    client = api_client(clerk)
    assert skus(report(client, is_low="true")) == ["COF-1", "MUG-1"]
    assert skus(report(client, is_low="false")) == ["TEA-1"]
    assert skus(report(client)) == ["TEA-1", "COF-1", "MUG-1"]


# --- permissions and errors ---------------------------------------------------------------------


STOCK_REPORT_ENDPOINTS = [("get", REPORT_URL, None, {"manager": 200, "clerk": 200})]


@pytest.mark.parametrize(
    ("role", "method", "url", "payload", "expected"), role_matrix(STOCK_REPORT_ENDPOINTS)
)
def test_only_staff_may_read_the_stock_report(
    request, api_client, shelf, role, method, url, payload, expected
):
    assert_answered(call(api_client(request.getfixturevalue(role)), method, url, payload), expected)


def test_an_anonymous_client_must_authenticate_for_the_stock_report(api_client, shelf):
    assert_error(api_client(None).get(REPORT_URL), 401, "not_authenticated")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"is_low": "maybe"}, "is_low"), ({"is_active": "2"}, "is_active"), ({"search": "x" * 101}, "search")],
)
def test_bad_stock_report_parameters_are_refused_in_the_error_shape(api_client, clerk, shelf, params, field):
    body = assert_error(api_client(clerk).get(REPORT_URL, params), 400, "invalid")
    assert list(body["fields"]) == [field]


def test_the_browsable_api_renders_the_stock_report_for_a_logged_in_clerk(clerk, shelf):
    client = Client()
    client.force_login(clerk)
    response = client.get(REPORT_URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.has_header("ETag")
    page = response.content.decode()
    assert "Green tea" in page and "TEA-1" in page and "90.75" in page


# --- SQL queries --------------------------------------------------------------------------------


def add_articles(count: int, *, prefix: str) -> None:
    article_create_many(
        articles=[
            {"sku": f"{prefix}-{n:05d}", "name": f"Bulk {n}", "price": Decimal("1.25"), "min_quantity": n % 3}
            for n in range(count)
        ]
    )


def queries_of(client, url: str, params=None) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content
    return len(queries), response.json()


@override_settings(READ_CACHE_ENABLED=False)
@pytest.mark.parametrize(
    "params",
    [{"page_size": 1000}, {"is_low": "true", "search": "bulk", "is_active": "true", "page_size": 1000}],
)
def test_the_stock_report_costs_the_same_two_queries_for_10_or_1000_articles(api_client, clerk, db, params):
    client = api_client(clerk)
    add_articles(10, prefix="FEW")
    few, body = queries_of(client, REPORT_URL, params)
    assert body["totals"]["articles"] == len(body["articles"]) > 0

    add_articles(990, prefix="MANY")
    many, body = queries_of(client, REPORT_URL, params)
    assert body["totals"]["articles"] == len(body["articles"]) > 300
    assert few == many == 2  # its totals, its page


@override_settings(READ_CACHE_ENABLED=False)
def test_the_stock_report_comes_a_page_at_a_time_each_page_with_the_totals_of_all(api_client, clerk, db):
    client = api_client(clerk)
    add_articles(250, prefix="PAGE")
    everything = client.get(REPORT_URL, {"page_size": 1000}).json()
    pages = []
    for number in (1, 2, 3):
        cost, body = queries_of(client, REPORT_URL, {"page": number} if number > 1 else None)
        assert cost == 2
        assert (body["page"], body["page_size"], body["pages"]) == (number, 100, 3)
        assert body["totals"] == everything["totals"]
        pages.append(body["articles"])

    assert [len(rows) for rows in pages] == [100, 100, 50]
    assert [row for rows in pages for row in rows] == everything["articles"]
    ids = [row["article_id"] for row in everything["articles"]]
    assert ids == sorted(ids) and everything["totals"]["articles"] == 250


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [({"page": 4}, 404, None), ({"page": 0}, 400, "page"), ({"page_size": 1001}, 400, "page_size")],
)
def test_a_page_past_the_last_or_a_bad_page_size_is_a_clear_error(
    api_client, clerk, db, params, status, field
):
    add_articles(250, prefix="PAGE")
    response = api_client(clerk).get(REPORT_URL, params)
    assert response.status_code == status
    body = response.json()
    assert body["status"] == status
    assert list(body["fields"]) == ([field] if field else [])


def test_a_cold_cache_computes_the_stock_report_in_two_queries_and_a_warm_one_in_none(api_client, clerk, db):
    client = api_client(clerk)
    add_articles(1000, prefix="BULK")
    cold, computed = queries_of(client, REPORT_URL)
    warm, served = queries_of(client, REPORT_URL)
    assert (cold, warm) == (2, 0)
    assert served == computed
    assert served["totals"]["articles"] == 1000


def test_one_stock_level_costs_one_query_cold_and_none_warm(api_client, clerk, db):
    client = api_client(clerk)
    add_articles(1000, prefix="BULK")
    article_id = Stock.objects.order_by("-article_id").values_list("article_id", flat=True)[0]
    url = f"{STOCKS_URL}{article_id}/"
    assert queries_of(client, url)[0] == 1
    assert queries_of(client, url)[0] == 0


# --- conditional requests -----------------------------------------------------------------------


def test_the_stock_report_answers_its_own_etag_with_304_until_a_write_changes_it(
    api_client, clerk, manager, shelf, django_capture_on_commit_callbacks
):
    tea, _, _ = shelf
    client = api_client(clerk)
    first = client.get(REPORT_URL)
    etag = first["ETag"]
    assert first.status_code == 200 and etag

    not_modified = client.get(REPORT_URL, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert client.get(REPORT_URL, HTTP_IF_NONE_MATCH=f'"other", {etag}').status_code == 304
    assert client.get(REPORT_URL, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    assert client.get(REPORT_URL, {"is_low": "true"}, HTTP_IF_NONE_MATCH=etag).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        stock_restock(article_id=tea.pk, quantity=3, reference="DN-1", user=manager)
    changed = client.get(REPORT_URL, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["totals"]["units"] == 18
    assert client.get(REPORT_URL, HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


@pytest.mark.parametrize(
    ("write", "changed"),
    [
        (
            lambda tea: stock_set_limits(article_id=tea.pk, min_quantity=20, max_quantity=60),
            {"min_quantity": 20, "max_quantity": 60, "is_low": True},
        ),
        (
            lambda tea: article_update(article=tea, price=Decimal("5.10")),
            {"unit_price": "5.10", "value": "61.20"},
        ),
        (lambda tea: article_update(article=tea, name="Sencha"), {"name": "Sencha"}),
    ],
    ids=["limits", "price", "name"],
)
def test_every_write_shown_by_the_stock_report_changes_its_etag(
    api_client, clerk, shelf, django_capture_on_commit_callbacks, write, changed
):
    tea, _, _ = shelf
    client = api_client(clerk)
    first = client.get(REPORT_URL)
    with django_capture_on_commit_callbacks(execute=True):
        write(tea)
    response = client.get(REPORT_URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert response.status_code == 200
    assert response["ETag"] != first["ETag"]
    assert response.json()["articles"][0] == {**first.json()["articles"][0], **changed}


def test_a_stock_level_answers_its_own_etag_with_304_until_a_write_changes_it(
    api_client, clerk, manager, shelf, django_capture_on_commit_callbacks
):
    tea, _, _ = shelf
    client = api_client(clerk)
    url = f"{STOCKS_URL}{tea.pk}/"
    first = client.get(url)
    assert first.json() == {
        "article_id": tea.pk,
        "sku": "TEA-1",
        "name": "Green tea",
        "quantity": 12,
        "min_quantity": 5,
        "max_quantity": 50,
        "is_low": False,
    }
    etag = first["ETag"]
    not_modified = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert (not_modified.status_code, not_modified.content) == (304, b"")

    with django_capture_on_commit_callbacks(execute=True):
        stock_restock(article_id=tea.pk, quantity=3, reference="DN-1", user=manager)
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["quantity"] == 15


def test_the_stock_level_of_an_unknown_article_is_a_404_in_the_error_shape(api_client, clerk, shelf):
    assert_error(api_client(clerk).get(f"{STOCKS_URL}999999/"), 404, "not_found")

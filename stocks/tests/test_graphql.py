"""Stock through GraphQL: levels, low stock, the stock report (same data and cache as REST), the
ledger, and deliveries with their typed errors, all or nothing (the endpoint's own rules and the role
of every root field are in store_infra/tests/test_graphql.py)."""

import pytest
from django.test import override_settings
from django.utils.dateparse import parse_datetime

from articles.services import article_create_many
from core.tests.graphql import GraphQLClient, error_codes
from stocks.models import MAX_UNITS, MovementKind, Stock, StockMovement
from stocks.schema import MAX_RESTOCK_ITEMS
from stocks.services import stock_adjust, stock_restock

STOCK = """query($sku: String, $articleId: ID) {
  stock(sku: $sku, articleId: $articleId) { articleId sku name quantity minQuantity maxQuantity isLow }
}"""
LOW_STOCK = "{ lowStock { sku quantity minQuantity maxQuantity target missing } }"
REPORT = """query($search: String, $isLow: Boolean, $isActive: Boolean) {
  stockReport(search: $search, isLow: $isLow, isActive: $isActive) {
    generatedAt
    totals { articles units stockValue lowStock }
    articles { articleId sku name unitPrice quantity value minQuantity maxQuantity isLow }
  }
}"""
MOVEMENTS = """query($sku: String, $first: Int, $after: String) {
  stockMovements(sku: $sku, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { sku kind delta quantityAfter reference } }
  }
}"""
RESTOCK = """mutation($sku: String!, $quantity: Int!, $reference: String!) {
  restock(sku: $sku, quantity: $quantity, reference: $reference) {
    stock { sku quantity isLow }
    errors { code message field }
  }
}"""
RESTOCK_MANY = """mutation($items: [RestockItem!]!, $reference: String!) {
  restockMany(items: $items, reference: $reference) {
    stocks { sku quantity }
    errors { code field }
  }
}"""


def quantities() -> dict[str, int]:
    return dict(Stock.objects.values_list("article__sku", "quantity"))


def add_articles(count: int, prefix: str) -> None:
    article_create_many(
        articles=[
            {"sku": f"{prefix}-{n:03d}", "name": f"{prefix} {n}", "price": "2.00", "min_quantity": 5}
            for n in range(count)
        ]
    )


# --- one stock level ------------------------------------------------------------------------------


def test_a_stock_level_is_found_by_sku_or_by_article_id(supplier, shelf):
    coffee = shelf[1]
    client = GraphQLClient(supplier)
    expected = {
        "articleId": str(coffee.pk),
        "sku": "COF-1",
        "name": "Coffee beans",
        "quantity": 3,
        "minQuantity": 5,
        "maxQuantity": 40,
        "isLow": True,
    }
    assert client.execute(STOCK, {"sku": "COF-1"})["stock"] == expected
    assert client.execute(STOCK, {"articleId": coffee.pk})["stock"] == expected


@pytest.mark.parametrize("variables", [{"sku": "NOPE-1"}, {"articleId": "987654"}])
def test_the_stock_of_an_unknown_article_is_null(supplier, shelf, variables):
    assert GraphQLClient(supplier).execute(STOCK, variables) == {"stock": None}


@pytest.mark.parametrize("variables", [{}, {"sku": "COF-1", "articleId": "1"}, {"articleId": "-3"}])
def test_a_stock_level_must_be_asked_for_by_exactly_one_valid_key(supplier, shelf, variables):
    body = GraphQLClient(supplier).post(STOCK, variables).json()
    assert body["data"] == {"stock": None}
    assert error_codes(body) == ["invalid"]


# --- low stock ------------------------------------------------------------------------------------


def test_low_stock_lists_active_articles_at_or_below_their_reorder_point_with_what_is_missing(
    supplier, stocked_article
):
    stocked_article(3, sku="CAP-1", stock__min_quantity=5, stock__max_quantity=40)
    stocked_article(2, sku="MIN-1", stock__min_quantity=5)
    stocked_article(5, sku="EDGE-1", stock__min_quantity=5)
    stocked_article(12, sku="FULL-1", stock__min_quantity=5)
    stocked_article(0, sku="OLD-1", stock__min_quantity=5, is_active=False)

    low = GraphQLClient(supplier).execute(LOW_STOCK)["lowStock"]

    assert low == [
        # With a capacity: up to it.
        {"sku": "CAP-1", "quantity": 3, "minQuantity": 5, "maxQuantity": 40, "target": 40, "missing": 37},
        # Without: up to the reorder point.
        {"sku": "MIN-1", "quantity": 2, "minQuantity": 5, "maxQuantity": None, "target": 5, "missing": 3},
        # At the reorder point, which is low, and nothing is missing to reach it.
        {"sku": "EDGE-1", "quantity": 5, "minQuantity": 5, "maxQuantity": None, "target": 5, "missing": 0},
    ]


def test_low_stock_follows_a_delivery_once_it_commits(supplier, shelf, django_capture_on_commit_callbacks):
    client = GraphQLClient(supplier)
    assert [row["sku"] for row in client.execute(LOW_STOCK)["lowStock"]] == ["COF-1"]
    with django_capture_on_commit_callbacks(execute=True):
        stock_restock(article_id=shelf[1].pk, quantity=10, reference="DN-1", user=supplier)
    assert client.execute(LOW_STOCK)["lowStock"] == []


@override_settings(READ_CACHE_ENABLED=False)
def test_low_stock_costs_the_same_queries_for_5_or_100_low_articles(supplier, db):
    client = GraphQLClient(supplier)
    add_articles(5, "FEW")
    few, data = client.count_queries(LOW_STOCK)
    assert len(data["lowStock"]) == 5

    add_articles(95, "MANY")
    many, data = client.count_queries(LOW_STOCK)
    assert len(data["lowStock"]) == 100
    # The token's user (the read cache is off), then the report's totals and its page.
    assert few == many == 3


# --- the stock report -----------------------------------------------------------------------------

REST_TO_GRAPHQL = {
    "article_id": "articleId",
    "unit_price": "unitPrice",
    "min_quantity": "minQuantity",
    "max_quantity": "maxQuantity",
    "is_low": "isLow",
    "stock_value": "stockValue",
    "low_stock": "lowStock",
}


def as_graphql(rest: dict) -> dict:
    """A REST report row or totals, with GraphQL's names and scalars (ids are strings)."""
    return {
        REST_TO_GRAPHQL.get(key, key): str(value) if key == "article_id" else value
        for key, value in rest.items()
    }


@pytest.mark.parametrize(
    ("params", "variables"),
    [
        ({}, {}),
        ({"search": "tea", "is_low": "true"}, {"search": "tea", "isLow": True}),
        ({"is_active": "false"}, {"isActive": False}),
    ],
)
def test_the_stock_report_is_the_rest_report_from_the_same_cache(api_client, clerk, shelf, params, variables):
    rest = api_client(clerk).get("/api/v1/reports/stock/", params).json()
    client = GraphQLClient(clerk)

    queries, data = client.count_queries(REPORT, variables)

    report = data["stockReport"]
    assert report["articles"] == [as_graphql(row) for row in rest["articles"]]
    assert report["totals"] == as_graphql(rest["totals"])
    # The very same cached report: computed once, by the REST call.
    assert parse_datetime(report["generatedAt"]) == parse_datetime(rest["generated_at"])
    assert queries == 0  # the report comes from the cache


def test_the_stock_report_has_decimal_strings_for_money(manager, shelf):
    report = GraphQLClient(manager).execute(REPORT)["stockReport"]
    assert report["totals"] == {"articles": 3, "units": 15, "stockValue": "90.75", "lowStock": 2}
    assert [(row["unitPrice"], row["value"]) for row in report["articles"]] == [
        ("4.50", "54.00"),
        ("12.25", "36.75"),
        ("7.00", "0.00"),
    ]


def test_suppliers_read_the_stock_report_through_graphql(supplier, shelf):
    report = GraphQLClient(supplier).execute(REPORT)["stockReport"]
    assert report["totals"]["articles"] == len(shelf)


def test_customers_may_not_read_the_stock_report(customer, shelf):
    body = GraphQLClient(customer).post(REPORT).json()
    assert body["data"] is None
    assert error_codes(body) == ["permission_denied"]


@override_settings(READ_CACHE_ENABLED=False)
def test_the_stock_report_costs_the_same_queries_for_5_or_100_articles(clerk, db):
    client = GraphQLClient(clerk)
    add_articles(5, "FEW")
    few, data = client.count_queries(REPORT)
    assert data["stockReport"]["totals"]["articles"] == 5

    add_articles(95, "MANY")
    many, data = client.count_queries(REPORT)
    assert len(data["stockReport"]["articles"]) == 100
    assert few == many == 3  # the token's user (the read cache is off), the report's totals and page


@override_settings(READ_CACHE_ENABLED=False)
def test_the_stock_report_and_low_stock_come_a_page_at_a_time(clerk, db):
    add_articles(150, "PAGE")  # every one low: no stock, reorder point 5
    client = GraphQLClient(clerk)
    paged = (
        "{ stockReport(page: 2, pageSize: 100) { page pageSize pages totals { articles } articles { sku } } }"
    )

    report = client.execute(paged)["stockReport"]
    assert (report["page"], report["pageSize"], report["pages"], report["totals"]) == (
        2,
        100,
        2,
        {"articles": 150},
    )
    assert [row["sku"] for row in report["articles"]] == [f"PAGE-{n:03d}" for n in range(100, 150)]
    low = client.execute("{ lowStock(page: 3, pageSize: 70) { sku } }")["lowStock"]
    assert [row["sku"] for row in low] == [f"PAGE-{n:03d}" for n in range(140, 150)]
    too_big = client.post("{ stockReport(pageSize: 1001) { page } }").json()
    assert too_big["data"] is None and error_codes(too_big) == ["invalid"]


# --- the ledger -----------------------------------------------------------------------------------


@pytest.fixture
def ledger(shelf, manager):
    """Besides the initial restocks: an inventory count of tea, then a delivery of coffee."""
    tea, coffee, _ = shelf
    stock_adjust(article_id=tea.pk, quantity=11, reason="count", user=manager)
    stock_restock(article_id=coffee.pk, quantity=4, reference="DN-7", user=manager)
    return shelf


def movements(client, **variables) -> dict:
    return client.execute(MOVEMENTS, variables)["stockMovements"]


def test_staff_see_every_movement_newest_first(clerk, ledger):
    page = movements(GraphQLClient(clerk))
    assert [edge["node"] for edge in page["edges"]] == [
        {"sku": "COF-1", "kind": "RESTOCK", "delta": 4, "quantityAfter": 7, "reference": "DN-7"},
        {"sku": "TEA-1", "kind": "ADJUSTMENT", "delta": -1, "quantityAfter": 11, "reference": "count"},
        {"sku": "COF-1", "kind": "RESTOCK", "delta": 3, "quantityAfter": 3, "reference": "initial"},
        {"sku": "TEA-1", "kind": "RESTOCK", "delta": 12, "quantityAfter": 12, "reference": "initial"},
    ]
    assert page["totalCount"] == 4


def test_suppliers_see_deliveries_only_as_in_rest(api_client, supplier, ledger):
    page = movements(GraphQLClient(supplier))
    rest = api_client(supplier).get("/api/v1/stocks/movements/").json()["results"]

    assert {edge["node"]["kind"] for edge in page["edges"]} == {"RESTOCK"}
    assert page["totalCount"] == 3
    assert [edge["node"]["reference"] for edge in page["edges"]] == [row["reference"] for row in rest]


def test_movements_are_filtered_by_sku_and_paged_without_repeats(supplier, ledger, manager):
    client = GraphQLClient(supplier)
    first = movements(client, sku="COF-1", first=1)
    stock_restock(
        article_id=ledger[1].pk, quantity=1, reference="DN-8", user=manager
    )  # newer: not in later pages
    second = movements(client, sku="COF-1", first=1, after=first["pageInfo"]["endCursor"])

    assert [edge["node"]["reference"] for edge in first["edges"] + second["edges"]] == ["DN-7", "initial"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert movements(client, sku="NOPE-1")["totalCount"] == 0


def test_a_page_of_movements_costs_the_same_queries_for_5_or_100(supplier, stocked_article, manager):
    article = stocked_article(0, sku="BULK-1")
    for _ in range(5):
        stock_restock(article_id=article.pk, quantity=1, reference="DN", user=manager)
    client = GraphQLClient(supplier)
    few, data = client.count_queries(MOVEMENTS, {"first": 100})
    assert len(data["stockMovements"]["edges"]) == 5

    for _ in range(95):
        stock_restock(article_id=article.pk, quantity=1, reference="DN", user=manager)
    many, data = client.count_queries(MOVEMENTS, {"first": 100})
    assert len(data["stockMovements"]["edges"]) == 100
    assert few == many == 2  # the count, the page with its articles


# --- restock --------------------------------------------------------------------------------------


def test_a_restock_books_the_delivery_and_returns_the_new_level(supplier, shelf):
    coffee = shelf[1]
    result = GraphQLClient(supplier).execute(RESTOCK, {"sku": "COF-1", "quantity": 4, "reference": " DN-9 "})

    assert result["restock"] == {"stock": {"sku": "COF-1", "quantity": 7, "isLow": False}, "errors": []}
    movement = StockMovement.objects.latest("id")
    assert (movement.article_id, movement.delta, movement.quantity_after) == (coffee.pk, 4, 7)
    assert (movement.kind, movement.reference, movement.user) == (MovementKind.RESTOCK, "DN-9", supplier)


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"sku": "NOPE-1", "quantity": 1}, "unknown_sku", "sku"),
        ({"sku": "COF-1", "quantity": 0}, "invalid_quantity", "quantity"),
        ({"sku": "COF-1", "quantity": -4}, "invalid_quantity", "quantity"),
        ({"sku": "COF-1", "quantity": MAX_UNITS + 1}, "invalid_quantity", "quantity"),
        ({"sku": "COF-1", "quantity": 38}, "stock_limit_exceeded", "quantity"),
        ({"sku": "COF-1", "quantity": 1, "reference": "  "}, "invalid", "reference"),
        ({"sku": "COF-1", "quantity": 1, "reference": "R" * 201}, "invalid", "reference"),
    ],
)
def test_a_refused_restock_answers_a_typed_error_and_writes_nothing(supplier, shelf, variables, code, field):
    before, movements_before = quantities(), StockMovement.objects.count()

    response = GraphQLClient(supplier).post(RESTOCK, {"reference": "DN-1", **variables})

    assert response.status_code == 200
    payload = response.json()["data"]["restock"]
    assert payload["stock"] is None
    assert [(error["code"], error["field"]) for error in payload["errors"]] == [(code, field)]
    assert payload["errors"][0]["message"]
    assert quantities() == before
    assert StockMovement.objects.count() == movements_before


def test_a_restock_past_the_capacity_says_by_how_much_and_what_fits(supplier, shelf):
    payload = GraphQLClient(supplier).execute(RESTOCK, {"sku": "COF-1", "quantity": 38, "reference": "DN"})
    assert payload["restock"]["errors"] == [
        {
            "code": "stock_limit_exceeded",
            "message": "COF-1 holds 3; 38 more would pass its maximum of 40 (37 fit).",
            "field": "quantity",
        }
    ]


# --- restockMany ----------------------------------------------------------------------------------


def test_a_delivery_of_several_articles_is_booked_and_returns_the_levels_in_its_order(supplier, shelf):
    items = [
        {"sku": "MUG-1", "quantity": 6},
        {"sku": "TEA-1", "quantity": 1},
        {"sku": "COF-1", "quantity": 37},
    ]

    result = GraphQLClient(supplier).execute(RESTOCK_MANY, {"items": items, "reference": "DN-10"})

    assert result["restockMany"] == {
        "stocks": [
            {"sku": "MUG-1", "quantity": 6},
            {"sku": "TEA-1", "quantity": 13},
            {"sku": "COF-1", "quantity": 40},
        ],
        "errors": [],
    }
    assert quantities() == {"TEA-1": 13, "COF-1": 40, "MUG-1": 6}
    assert (
        StockMovement.objects.filter(reference="DN-10", kind=MovementKind.RESTOCK, user=supplier).count() == 3
    )


@pytest.mark.parametrize(
    ("items", "errors"),
    [
        (
            [
                {"sku": "TEA-1", "quantity": 1},
                {"sku": "NOPE-1", "quantity": 1},
                {"sku": "COF-1", "quantity": 1},
            ],
            [("unknown_sku", "items.1.sku")],
        ),
        (
            [{"sku": "TEA-1", "quantity": 1}, {"sku": "COF-1", "quantity": 38}],
            [("stock_limit_exceeded", "items.1.quantity")],
        ),
        (
            [{"sku": "TEA-1", "quantity": 1}, {"sku": "COF-1", "quantity": 0}],
            [("invalid_quantity", "items.1.quantity")],
        ),
        (
            [
                {"sku": "TEA-1", "quantity": 1},
                {"sku": "COF-1", "quantity": 1},
                {"sku": "TEA-1", "quantity": 2},
            ],
            [("duplicate_sku", "items.2.sku")],
        ),
        (
            [{"sku": "X-1", "quantity": 1}, {"sku": "TEA-1", "quantity": 1}, {"sku": "Y-1", "quantity": 1}],
            [("unknown_sku", "items.0.sku"), ("unknown_sku", "items.2.sku")],
        ),
        ([], [("invalid", "items")]),
    ],
    ids=["unknown sku", "past capacity", "zero units", "sku twice", "two unknown skus", "no item"],
)
def test_a_delivery_with_one_bad_item_books_nothing_and_names_the_items_at_fault(
    supplier, shelf, items, errors
):
    before, movements_before = quantities(), StockMovement.objects.count()

    result = GraphQLClient(supplier).execute(RESTOCK_MANY, {"items": items, "reference": "DN-11"})

    assert result["restockMany"]["stocks"] is None
    assert [(error["code"], error["field"]) for error in result["restockMany"]["errors"]] == errors
    assert quantities() == before
    assert StockMovement.objects.count() == movements_before


def test_a_delivery_with_several_kinds_of_bad_items_names_every_one_at_once(supplier, shelf):
    items = [
        {"sku": "NOPE-1", "quantity": 1},
        {"sku": "COF-1", "quantity": 38},
        {"sku": "TEA-1", "quantity": 0},
        {"sku": "COF-1", "quantity": 1},
    ]
    before = quantities()

    result = GraphQLClient(supplier).execute(RESTOCK_MANY, {"items": items, "reference": ""})

    assert result["restockMany"] == {
        "stocks": None,
        "errors": [
            {"code": "invalid", "field": "reference"},
            {"code": "unknown_sku", "field": "items.0.sku"},
            {"code": "stock_limit_exceeded", "field": "items.1.quantity"},
            {"code": "invalid_quantity", "field": "items.2.quantity"},
            {"code": "duplicate_sku", "field": "items.3.sku"},
        ],
    }
    assert quantities() == before


def test_a_delivery_past_the_capacity_of_every_line_names_each_line(supplier, stocked_article):
    stocked_article(9, sku="A-1", stock__max_quantity=10)
    stocked_article(9, sku="B-1", stock__max_quantity=10)
    items = [{"sku": "A-1", "quantity": 2}, {"sku": "B-1", "quantity": 5}]

    result = GraphQLClient(supplier).execute(RESTOCK_MANY, {"items": items, "reference": "DN-12"})

    assert result["restockMany"]["errors"] == [
        {"code": "stock_limit_exceeded", "field": "items.0.quantity"},
        {"code": "stock_limit_exceeded", "field": "items.1.quantity"},
    ]
    assert quantities() == {"A-1": 9, "B-1": 9}


def test_a_delivery_of_the_most_items_allowed_is_booked(supplier, db):
    add_articles(MAX_RESTOCK_ITEMS, "BIG")
    items = [{"sku": f"BIG-{n:03d}", "quantity": 2} for n in range(MAX_RESTOCK_ITEMS)]

    result = GraphQLClient(supplier).execute(RESTOCK_MANY, {"items": items, "reference": "DN-13"})

    assert len(result["restockMany"]["stocks"]) == MAX_RESTOCK_ITEMS
    assert set(quantities().values()) == {2}


def test_a_delivery_of_10000_items_is_a_graphql_error_and_writes_nothing(supplier, shelf):
    items = [{"sku": f"SKU-{n}", "quantity": 1} for n in range(10_000)]
    items[0] = {"sku": "TEA-1", "quantity": 1}
    before = quantities()

    response = GraphQLClient(supplier).post(RESTOCK_MANY, {"items": items, "reference": "DN-14"})

    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"restockMany": None}
    assert error_codes(body) == ["too_many_items"]
    assert str(MAX_RESTOCK_ITEMS) in body["errors"][0]["message"]
    assert quantities() == before
    assert not StockMovement.objects.filter(reference="DN-14").exists()


@pytest.mark.parametrize(
    "variables",
    [
        {"items": [{"sku": "TEA-1", "quantity": "ten"}], "reference": "DN"},
        {"items": [{"sku": "TEA-1", "quantity": 2**31}], "reference": "DN"},
        {"items": [{"sku": "TEA-1"}], "reference": "DN"},
        {"items": [{"sku": "TEA-1", "quantity": 1, "price": "1.00"}], "reference": "DN"},
        {"items": "TEA-1", "reference": "DN"},
        {"items": [{"sku": "TEA-1", "quantity": 1}], "reference": None},
    ],
    ids=[
        "quantity not a number",
        "quantity past 32 bits",
        "no quantity",
        "unknown input field",
        "not a list",
        "null reference",
    ],
)
def test_ill_typed_delivery_variables_are_refused_with_400_and_write_nothing(supplier, shelf, variables):
    before = quantities()

    response = GraphQLClient(supplier).post(RESTOCK_MANY, variables)

    assert response.status_code == 400
    assert error_codes(response.json()) == ["graphql_validation_failed"]
    assert "data" not in response.json()
    assert quantities() == before


def test_a_customer_may_book_no_delivery(customer, shelf):
    before = quantities()
    body = GraphQLClient(customer).post(
        RESTOCK_MANY, {"items": [{"sku": "TEA-1", "quantity": 1}], "reference": "X"}
    )
    assert error_codes(body.json()) == ["permission_denied"]
    assert quantities() == before


# --- text no field may hold ------------------------------------------------------------------------

LONE_SURROGATE = "\ud800"
READS_WITH_TEXT = {
    "articles(search:)": "query($t: String) { articles(search: $t) { totalCount } }",
    "stock(sku:)": "query($t: String) { stock(sku: $t) { quantity } }",
    "stockReport(search:)": "query($t: String) { stockReport(search: $t) { totals { articles } } }",
    "stockMovements(sku:)": "query($t: String) { stockMovements(sku: $t) { totalCount } }",
}
RESTOCK_WITH_TEXT = (
    "mutation($sku: String!, $reference: String!) { restock(sku: $sku, quantity: 1, reference: $reference) "
    "{ stock { quantity } errors { code field } } }"
)


@pytest.mark.parametrize("read", READS_WITH_TEXT)
def test_a_lone_surrogate_in_a_read_is_invalid_input_as_in_rest(manager, shelf, read, caplog):
    response = GraphQLClient(manager).post(READS_WITH_TEXT[read], {"t": f"TEA{LONE_SURROGATE}"})

    assert error_codes(response.json()) == ["invalid"]
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


@pytest.mark.parametrize(
    ("sku", "reference"),
    [("TEA-1", "DN\x00-1"), ("TEA-1", f"DN-{LONE_SURROGATE}"), (f"TEA{LONE_SURROGATE}", "DN-1")],
    ids=["NUL in the reference", "surrogate in the reference", "surrogate in the SKU"],
)
def test_a_delivery_with_text_no_field_may_hold_books_nothing(supplier, shelf, sku, reference, caplog):
    before = list(StockMovement.objects.values_list("pk", flat=True))

    response = GraphQLClient(supplier).post(RESTOCK_WITH_TEXT, {"sku": sku, "reference": reference})

    body = response.json()
    refused = body.get("data", {}) and body["data"]["restock"]
    codes = error_codes(body) if "errors" in body else [error["code"] for error in refused["errors"]]
    assert codes == ["invalid"]
    assert list(StockMovement.objects.values_list("pk", flat=True)) == before
    assert not [record for record in caplog.records if record.levelname == "ERROR"]

"""Articles through GraphQL: the `articles` connection and `article`, their filters, pages, errors,
roles and SQL query counts (the endpoint's own rules are in store_infra/tests/test_graphql.py)."""

import pytest

from articles.services import article_create_many
from articles.tests.factories import ArticleFactory
from core.tests.graphql import GraphQLClient, error_codes
from store_infra.graphql.pagination import MAX_PAGE_SIZE

ARTICLES = """
query($first: Int, $after: String, $search: String, $isActive: Boolean, $lowStockOnly: Boolean) {
  articles(first: $first, after: $after, search: $search, isActive: $isActive, lowStockOnly: $lowStockOnly) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { node { id sku name price isActive stock { quantity minQuantity maxQuantity isLow } } }
  }
}
"""
ARTICLE = "query($id: ID, $sku: String) { article(id: $id, sku: $sku) { id sku name price } }"


def articles(client, **variables) -> dict:
    return client.execute(ARTICLES, variables)["articles"]


def skus(connection: dict) -> list[str]:
    return [edge["node"]["sku"] for edge in connection["edges"]]


# --- content and filters --------------------------------------------------------------------------


def test_articles_come_with_their_stock_and_prices_as_decimal_strings(supplier, shelf):
    tea, coffee, _ = shelf
    page = articles(GraphQLClient(supplier))

    assert page["totalCount"] == 3
    assert page["edges"][:2] == [
        {
            "node": {
                "id": str(tea.pk),
                "sku": "TEA-1",
                "name": "Green tea",
                "price": "4.50",
                "isActive": True,
                "stock": {"quantity": 12, "minQuantity": 5, "maxQuantity": None, "isLow": False},
            }
        },
        {
            "node": {
                "id": str(coffee.pk),
                "sku": "COF-1",
                "name": "Coffee beans",
                "price": "12.25",
                "isActive": True,
                "stock": {"quantity": 3, "minQuantity": 5, "maxQuantity": 40, "isLow": True},
            }
        },
    ]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"search": "tea"}, ["TEA-1", "MUG-1"]),
        ({"search": "cof-"}, ["COF-1"]),
        ({"isActive": True}, ["TEA-1", "COF-1"]),
        ({"isActive": False}, ["MUG-1"]),
        ({"lowStockOnly": True}, ["COF-1", "MUG-1"]),
        ({"lowStockOnly": True, "isActive": True, "search": "beans"}, ["COF-1"]),
        ({"search": "nothing like it"}, []),
    ],
)
def test_articles_are_filtered_and_counted_after_filtering(clerk, shelf, variables, expected):
    page = articles(GraphQLClient(clerk), **variables)
    assert skus(page) == expected
    assert page["totalCount"] == len(expected)


def test_pages_follow_each_other_without_repeats_and_keep_the_total(manager, db):
    created = [article.sku for article in ArticleFactory.create_batch(5)]
    client = GraphQLClient(manager)

    first = articles(client, first=2)
    second = articles(client, first=2, after=first["pageInfo"]["endCursor"])
    ArticleFactory(sku="ZZZ-NEW")  # added meanwhile: it comes last, no page shifts
    third = articles(client, first=2, after=second["pageInfo"]["endCursor"])
    after_the_end = articles(client, first=2, after=third["pageInfo"]["endCursor"])

    assert skus(first) + skus(second) + skus(third) == [*created, "ZZZ-NEW"]
    assert skus(after_the_end) == []
    assert (first["totalCount"], third["totalCount"]) == (5, 6)
    assert [page["pageInfo"]["hasNextPage"] for page in (first, second, third)] == [True, True, False]
    assert (first["pageInfo"]["hasPreviousPage"], second["pageInfo"]["hasPreviousPage"]) == (False, True)


# --- one article ----------------------------------------------------------------------------------


def test_one_article_is_found_by_id_or_by_sku(supplier, shelf):
    tea = shelf[0]
    client = GraphQLClient(supplier)
    expected = {"id": str(tea.pk), "sku": "TEA-1", "name": "Green tea", "price": "4.50"}

    assert client.execute(ARTICLE, {"id": str(tea.pk)})["article"] == expected
    assert client.execute(ARTICLE, {"id": tea.pk})["article"] == expected
    assert client.execute(ARTICLE, {"sku": "TEA-1"})["article"] == expected


@pytest.mark.parametrize("variables", [{"sku": "NOPE-1"}, {"id": "999999"}])
def test_an_unknown_article_is_null(supplier, shelf, variables):
    assert GraphQLClient(supplier).execute(ARTICLE, variables) == {"article": None}


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({}, "id"),
        ({"id": "1", "sku": "TEA-1"}, "id"),
        ({"id": "abc"}, "id"),
        ({"id": "0"}, "id"),
        ({"id": "9" * 40}, "id"),
    ],
)
def test_an_article_must_be_asked_for_by_exactly_one_valid_key(supplier, shelf, variables, field):
    body = GraphQLClient(supplier).post(ARTICLE, variables).json()
    assert body["data"] == {"article": None}
    assert error_codes(body) == ["invalid"]
    assert body["errors"][0]["extensions"]["field"] == field


# --- limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"first": MAX_PAGE_SIZE + 1}, "first"),
        ({"first": -1}, "first"),
        ({"after": "not a cursor"}, "after"),
        ({"after": "cGs6eA=="}, "after"),  # base64 of "pk:x"
        ({"search": "x" * 101}, "search"),
    ],
)
def test_page_sizes_cursors_and_searches_out_of_bounds_are_refused(supplier, shelf, variables, field):
    response = GraphQLClient(supplier).post(ARTICLES, variables)
    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    assert error_codes(body) == ["invalid"]
    assert body["errors"][0]["extensions"]["field"] == field


def test_a_full_page_holds_the_maximum_page_size(supplier, db):
    ArticleFactory.create_batch(MAX_PAGE_SIZE + 1)
    page = articles(GraphQLClient(supplier), first=MAX_PAGE_SIZE)
    assert len(page["edges"]) == MAX_PAGE_SIZE
    assert page["pageInfo"]["hasNextPage"] is True


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "clerk", "supplier"])
def test_staff_and_suppliers_may_read_articles(request, shelf, role):
    assert articles(GraphQLClient(request.getfixturevalue(role)))["totalCount"] == 3


def test_a_customer_may_read_no_article(customer, shelf):
    client = GraphQLClient(customer)
    for query, variables in [(ARTICLES, {}), (ARTICLE, {"sku": "TEA-1"})]:
        body = client.post(query, variables).json()
        assert error_codes(body) == ["permission_denied"]
        assert "TEA-1" not in str(body)


def test_an_anonymous_client_reads_nothing(shelf):
    response = GraphQLClient().post(ARTICLES)
    assert response.status_code == 401
    assert error_codes(response.json()) == ["not_authenticated"]


# --- SQL queries ----------------------------------------------------------------------------------

NODES = """query($first: Int) {
  articles(first: $first) { edges { node { sku name price stock { quantity isLow } } } }
}"""


def test_a_page_of_articles_with_their_stock_costs_the_same_queries_for_5_or_100(supplier, db):
    article_create_many(
        articles=[
            {"sku": f"BULK-{n:03d}", "name": f"Bulk {n}", "price": "1.50"} for n in range(MAX_PAGE_SIZE)
        ]
    )
    client = GraphQLClient(supplier)

    few, five = client.count_queries(NODES, {"first": 5})
    many, hundred = client.count_queries(NODES, {"first": 100})

    assert len(five["articles"]["edges"]) == 5
    assert len(hundred["articles"]["edges"]) == 100
    assert hundred["articles"]["edges"][99]["node"]["stock"] == {"quantity": 0, "isLow": True}
    # The token's user, the count, the page with its stock rows.
    assert few == many == 2  # the count, the page with its stock

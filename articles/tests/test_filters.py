"""One FilterSet for the catalogue (articles.filters.ArticleFilter): REST and GraphQL filter alike."""

import pytest

from core.tests.graphql import GraphQLClient, error_codes

QUERY = """
query($search: String, $isActive: Boolean, $minPrice: Decimal, $maxPrice: Decimal, $lowStockOnly: Boolean) {
  articles(search: $search, isActive: $isActive, minPrice: $minPrice, maxPrice: $maxPrice,
           lowStockOnly: $lowStockOnly) { edges { node { sku } } }
}
"""
GRAPHQL_NAMES = {
    "is_active": "isActive",
    "min_price": "minPrice",
    "max_price": "maxPrice",
    "low_stock_only": "lowStockOnly",
}


def rest_skus(api_client, user, filters: dict) -> list[str]:
    params = {
        name: str(value).lower() if isinstance(value, bool) else value for name, value in filters.items()
    }
    answer = api_client(user).get("/api/v1/articles/", params)
    assert answer.status_code == 200, answer.content
    return [article["sku"] for article in answer.json()["results"]]


def graphql_skus(user, filters: dict) -> list[str]:
    variables = {GRAPHQL_NAMES.get(name, name): value for name, value in filters.items()}
    return [
        edge["node"]["sku"] for edge in GraphQLClient(user).execute(QUERY, variables)["articles"]["edges"]
    ]


# The shelf: TEA-1 (4.50, 12 units, not low), COF-1 (12.25, 3 units, low), MUG-1 (7.00, inactive, low).
@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["TEA-1", "COF-1", "MUG-1"]),
        ({"search": "tea"}, ["TEA-1", "MUG-1"]),
        ({"search": "  cof-  "}, ["COF-1"]),
        ({"is_active": False}, ["MUG-1"]),
        ({"min_price": "5"}, ["COF-1", "MUG-1"]),
        ({"max_price": "7.00", "is_active": True}, ["TEA-1"]),
        ({"low_stock_only": True}, ["COF-1", "MUG-1"]),
        ({"low_stock_only": False}, ["TEA-1", "COF-1", "MUG-1"]),
        ({"low_stock_only": True, "is_active": True, "search": "beans"}, ["COF-1"]),
    ],
)
def test_rest_and_graphql_filter_the_catalogue_alike(api_client, clerk, shelf, filters, expected):
    assert rest_skus(api_client, clerk, filters) == expected
    assert graphql_skus(clerk, filters) == expected


def test_a_search_too_long_is_refused_by_both_doors_naming_the_field(api_client, clerk, shelf):
    rest = api_client(clerk).get("/api/v1/articles/", {"search": "x" * 101})
    graphql = GraphQLClient(clerk).post(QUERY, {"search": "x" * 101}).json()

    assert rest.status_code == 400 and "search" in rest.json()["fields"]
    assert error_codes(graphql) == ["invalid"] and graphql["errors"][0]["extensions"]["field"] == "search"

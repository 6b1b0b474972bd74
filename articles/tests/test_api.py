from decimal import Decimal

import pytest

from articles.models import Article
from articles.tests.factories import ArticleFactory
from core.tests import assert_error, call, count_list_queries, role_matrix
from orders.services import order_create
from stocks.models import Stock

ARTICLES_URL = "/api/v1/articles/"
NEW_ARTICLE = {"sku": "NEW-1", "name": "Teapot", "price": "12.50"}


@pytest.fixture
def article(db):
    return ArticleFactory(sku="TEA-1", name="Green tea", price=Decimal("4.20"))


# --- permissions ------------------------------------------------------------------------------

READERS = {"manager": 200, "clerk": 200, "supplier": 200}
ARTICLE_ENDPOINTS = [
    ("get", ARTICLES_URL, None, READERS),
    ("get", ARTICLES_URL + "{article}/", None, READERS),
    ("post", ARTICLES_URL, NEW_ARTICLE, {"manager": 201, "clerk": 201}),
    ("patch", ARTICLES_URL + "{article}/", {"name": "Renamed"}, {"manager": 200, "clerk": 200}),
    (
        "put",
        ARTICLES_URL + "{article}/",
        {"sku": "TEA-1", "name": "Renamed", "price": "5.00"},
        {"manager": 200, "clerk": 200},
    ),
    ("delete", ARTICLES_URL + "{article}/", None, {"manager": 204, "clerk": 204}),
]


@pytest.mark.parametrize(("role", "method", "url", "payload", "expected"), role_matrix(ARTICLE_ENDPOINTS))
def test_each_role_reaches_exactly_its_article_endpoints(
    request, api_client, article, role, method, url, payload, expected
):
    client = api_client(request.getfixturevalue(role))
    response = call(client, method, url.format(article=article.pk), payload)
    if expected == 403:
        assert_error(response, 403, "permission_denied")
        assert Article.objects.filter(pk=article.pk, name="Green tea").exists()
        assert not Article.objects.filter(sku="NEW-1").exists()
    else:
        assert response.status_code == expected, response.content


# --- create, read, update, delete -------------------------------------------------------------


@pytest.mark.django_db
def test_creating_an_article_returns_it_with_its_price_as_a_decimal_string(api_client, clerk):
    response = api_client(clerk).post(
        ARTICLES_URL, {**NEW_ARTICLE, "description": "Cast iron"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["price"] == "12.50"
    assert body["quantity"] == 0
    assert {k: body[k] for k in ("sku", "name", "description", "is_active")} == {
        "sku": "NEW-1",
        "name": "Teapot",
        "description": "Cast iron",
        "is_active": True,
    }
    article = Article.objects.get(pk=body["id"])
    assert article.price == Decimal("12.50")


@pytest.mark.django_db
def test_creating_an_article_creates_its_stock_at_zero(api_client, clerk):
    client = api_client(clerk)
    article_id = client.post(ARTICLES_URL, NEW_ARTICLE, format="json").json()["id"]
    stock = client.get(f"/api/v1/stocks/{article_id}/")
    assert stock.status_code == 200
    assert stock.json()["quantity"] == 0
    assert stock.json()["sku"] == "NEW-1"


@pytest.mark.django_db
def test_a_price_sent_as_a_number_is_accepted_and_returned_as_a_string(api_client, clerk):
    response = api_client(clerk).post(ARTICLES_URL, {**NEW_ARTICLE, "price": 3.5}, format="json")
    assert response.status_code == 201
    assert response.json()["price"] == "3.50"


@pytest.mark.django_db
@pytest.mark.parametrize("price", ["0", "0.00", "-1", -5, "abc", "1.234", "123456789.00", None])
def test_an_invalid_price_is_refused_and_nothing_is_created(api_client, clerk, price):
    response = api_client(clerk).post(ARTICLES_URL, {**NEW_ARTICLE, "price": price}, format="json")
    body = assert_error(response, 400, "invalid")
    assert "price" in body["fields"]
    assert not Article.objects.exists()
    assert not Stock.objects.exists()


@pytest.mark.django_db
def test_a_duplicate_sku_is_refused_with_a_field_error(api_client, clerk, article):
    response = api_client(clerk).post(ARTICLES_URL, {**NEW_ARTICLE, "sku": "TEA-1"}, format="json")
    body = assert_error(response, 400, "invalid")
    assert "sku" in body["fields"]
    assert Article.objects.count() == 1


@pytest.mark.django_db
def test_missing_fields_are_listed(api_client, clerk):
    body = assert_error(api_client(clerk).post(ARTICLES_URL, {}, format="json"), 400, "invalid")
    assert {"sku", "name", "price"} <= set(body["fields"])


@pytest.mark.django_db
def test_an_article_is_read_with_its_stock_quantity(api_client, supplier, stocked_article):
    article = stocked_article(7, price=Decimal("2.00"))
    body = api_client(supplier).get(f"{ARTICLES_URL}{article.pk}/").json()
    assert body["quantity"] == 7
    assert body["price"] == "2.00"


@pytest.mark.django_db
def test_patching_an_article_changes_only_the_fields_sent(api_client, clerk, article):
    response = api_client(clerk).patch(f"{ARTICLES_URL}{article.pk}/", {"price": "6.10"}, format="json")
    assert response.status_code == 200
    assert response.json()["price"] == "6.10"
    article.refresh_from_db()
    assert (article.price, article.name, article.sku) == (Decimal("6.10"), "Green tea", "TEA-1")


@pytest.mark.django_db
def test_patching_a_non_positive_price_changes_nothing(api_client, clerk, article):
    response = api_client(clerk).patch(f"{ARTICLES_URL}{article.pk}/", {"price": "0"}, format="json")
    assert_error(response, 400, "invalid")
    article.refresh_from_db()
    assert article.price == Decimal("4.20")


@pytest.mark.django_db
def test_the_quantity_of_an_article_cannot_be_written(api_client, clerk, article):
    response = api_client(clerk).patch(f"{ARTICLES_URL}{article.pk}/", {"quantity": 50}, format="json")
    assert response.status_code == 200
    assert response.json()["quantity"] == 0
    assert Stock.objects.get(article=article).quantity == 0


@pytest.mark.django_db
def test_deactivating_an_article_keeps_it_listed_as_inactive(api_client, clerk, article):
    client = api_client(clerk)
    assert (
        client.patch(f"{ARTICLES_URL}{article.pk}/", {"is_active": False}, format="json").status_code == 200
    )
    listed = client.get(ARTICLES_URL, {"is_active": "false"}).json()
    assert [a["id"] for a in listed["results"]] == [article.pk]


@pytest.mark.django_db
def test_deleting_an_unused_article_removes_it_and_its_stock(api_client, clerk, article):
    client = api_client(clerk)
    assert client.delete(f"{ARTICLES_URL}{article.pk}/").status_code == 204
    assert not Article.objects.filter(pk=article.pk).exists()
    assert not Stock.objects.filter(article_id=article.pk).exists()
    assert_error(client.get(f"{ARTICLES_URL}{article.pk}/"), 404, "not_found")


@pytest.mark.django_db
def test_deleting_an_article_that_appears_in_an_order_is_a_conflict(
    api_client, manager, clerk, customer, stocked_article
):
    article = stocked_article(5)
    order_create(customer=customer, lines=[{"article": article.pk, "quantity": 2}], created_by=manager)
    response = api_client(clerk).delete(f"{ARTICLES_URL}{article.pk}/")
    assert_error(response, 409, "article_in_use")
    assert Article.objects.filter(pk=article.pk).exists()
    assert Stock.objects.get(article=article).quantity == 3


@pytest.mark.django_db
def test_deleting_an_article_with_stock_history_is_a_conflict(api_client, clerk, stocked_article):
    article = stocked_article(5)
    assert_error(api_client(clerk).delete(f"{ARTICLES_URL}{article.pk}/"), 409, "article_in_use")
    assert Article.objects.filter(pk=article.pk).exists()


@pytest.mark.django_db
def test_an_unknown_or_huge_article_id_is_a_json_404(api_client, clerk):
    client = api_client(clerk)
    assert_error(client.get(f"{ARTICLES_URL}123456789/"), 404, "not_found")
    assert_error(client.get(f"{ARTICLES_URL}99999999999999999999999/"), 404, "not_found")
    assert_error(client.delete(f"{ARTICLES_URL}99999999999999999999999/"), 404, "not_found")


# --- lists ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_article_list_is_paginated(api_client, clerk):
    ArticleFactory.create_batch(25)
    client = api_client(clerk)
    first = client.get(ARTICLES_URL).json()
    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["previous"] is None and first["next"]

    page = client.get(ARTICLES_URL, {"page": 2, "page_size": 10}).json()
    assert len(page["results"]) == 10
    ids = [a["id"] for a in client.get(ARTICLES_URL, {"page_size": 25}).json()["results"]]
    assert [a["id"] for a in page["results"]] == ids[10:20]


@pytest.mark.django_db
def test_the_page_size_is_capped_at_one_hundred(api_client, clerk):
    ArticleFactory.create_batch(105)
    page = api_client(clerk).get(ARTICLES_URL, {"page_size": 500}).json()
    assert page["count"] == 105
    assert len(page["results"]) == 100


@pytest.mark.django_db
def test_a_page_past_the_end_is_a_json_404(api_client, clerk, article):
    assert_error(api_client(clerk).get(ARTICLES_URL, {"page": 9}), 404, "not_found")


@pytest.mark.django_db
def test_articles_are_searched_by_name_and_sku(api_client, clerk):
    ArticleFactory(sku="MUG-1", name="Blue mug")
    ArticleFactory(sku="CUP-7", name="Red cup")
    ArticleFactory(sku="PLT-2", name="Plate")
    client = api_client(clerk)
    by_name = client.get(ARTICLES_URL, {"search": "mug"}).json()["results"]
    by_sku = client.get(ARTICLES_URL, {"search": "CUP-7"}).json()["results"]
    assert [a["sku"] for a in by_name] == ["MUG-1"]
    assert [a["sku"] for a in by_sku] == ["CUP-7"]


@pytest.mark.django_db
def test_articles_are_ordered_on_request(api_client, clerk):
    for sku, price in (("A", "3.00"), ("B", "1.00"), ("C", "2.00")):
        ArticleFactory(sku=sku, price=Decimal(price))
    client = api_client(clerk)
    by_price = client.get(ARTICLES_URL, {"ordering": "price"}).json()["results"]
    by_price_desc = client.get(ARTICLES_URL, {"ordering": "-price"}).json()["results"]
    assert [a["sku"] for a in by_price] == ["B", "C", "A"]
    assert [a["sku"] for a in by_price_desc] == ["A", "C", "B"]


@pytest.mark.django_db
def test_articles_are_filtered_by_activity_and_price_range(api_client, clerk):
    ArticleFactory(sku="CHEAP", price=Decimal("1.00"))
    ArticleFactory(sku="MID", price=Decimal("5.00"))
    ArticleFactory(sku="DEAR", price=Decimal("50.00"))
    ArticleFactory(sku="GONE", price=Decimal("5.00"), is_active=False)
    client = api_client(clerk)

    def skus(**params):
        return sorted(a["sku"] for a in client.get(ARTICLES_URL, params).json()["results"])

    assert skus(is_active="true") == ["CHEAP", "DEAR", "MID"]
    assert skus(is_active="false") == ["GONE"]
    assert skus(min_price="5") == ["DEAR", "GONE", "MID"]
    assert skus(max_price="5.00") == ["CHEAP", "GONE", "MID"]
    assert skus(min_price="2", max_price="10", is_active="true") == ["MID"]


@pytest.mark.django_db
def test_a_malformed_price_filter_is_a_400(api_client, clerk):
    body = assert_error(api_client(clerk).get(ARTICLES_URL, {"min_price": "cheap"}), 400, "invalid")
    assert "min_price" in body["fields"]


@pytest.mark.django_db
def test_the_article_list_issues_the_same_queries_for_any_page_size(api_client, clerk):
    ArticleFactory.create_batch(55)
    client = api_client(clerk)
    small = count_list_queries(client, ARTICLES_URL, 5)
    large = count_list_queries(client, ARTICLES_URL, 50)
    print(f"articles list queries: page_size 5 -> {small}, page_size 50 -> {large}")
    assert small == large


# --- reads from the read cache ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the cache follows committed writes
def test_a_cached_article_and_catalogue_page_show_each_change_at_once(
    api_client, clerk, manager, customer, stocked_article
):
    client = api_client(clerk)
    tea = stocked_article(10, sku="TEA-1", price=Decimal("4.20"))
    detail, page = f"{ARTICLES_URL}{tea.pk}/", f"{ARTICLES_URL}?search=TEA"

    def seen():
        listed = client.get(page).json()["results"]
        return client.get(detail).json()["quantity"], [
            (row["sku"], row["price"], row["quantity"]) for row in listed
        ]

    assert seen() == (10, [("TEA-1", "4.20", 10)])
    assert seen() == (10, [("TEA-1", "4.20", 10)])  # now from the cache
    order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 3}], created_by=clerk)
    assert seen() == (7, [("TEA-1", "4.20", 7)])
    assert api_client(manager).patch(detail, {"price": "5.00"}, format="json").status_code == 200
    assert seen() == (7, [("TEA-1", "5.00", 7)])


@pytest.mark.django_db
def test_a_cached_article_is_revalidated_with_its_etag_and_a_missing_one_is_still_a_404(
    api_client, clerk, article
):
    client = api_client(clerk)
    first = client.get(f"{ARTICLES_URL}{article.pk}/")

    again = client.get(f"{ARTICLES_URL}{article.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200 and again.status_code == 304
    for _ in range(2):
        assert_error(client.get(f"{ARTICLES_URL}987654/"), 404, "not_found")

import html
import json
import re

import pytest

from articles.tests.factories import ArticleFactory
from core.tests import assert_error, call, count_list_queries, role_matrix
from orders.services import order_create
from stocks import services
from stocks.models import MovementKind, Stock, StockMovement

STOCKS_URL = "/api/v1/stocks/"
MOVEMENTS_URL = "/api/v1/stocks/movements/"
STOCK_FIELDS = {"article_id", "sku", "name", "quantity", "min_quantity", "max_quantity", "is_low"}


@pytest.fixture
def article(stocked_article):
    return stocked_article(10, sku="TEA-1", name="Green tea", stock__min_quantity=2, stock__max_quantity=20)


def quantity_of(article) -> int:
    return Stock.objects.get(article=article).quantity


# --- permissions ------------------------------------------------------------------------------

READERS = {"manager": 200, "clerk": 200, "supplier": 200}
STAFF = {"manager": 200, "clerk": 200}
STOCK_ENDPOINTS = [
    ("get", STOCKS_URL, None, READERS),
    ("get", STOCKS_URL + "{article}/", None, READERS),
    ("get", MOVEMENTS_URL, None, READERS),
    ("patch", STOCKS_URL + "{article}/", {"min_quantity": 3}, STAFF),
    ("post", STOCKS_URL + "{article}/restock/", {"quantity": 1, "reference": "DN-1"}, READERS),
    ("post", STOCKS_URL + "{article}/adjust/", {"quantity": 4, "reason": "count"}, STAFF),
]


@pytest.mark.parametrize(("role", "method", "url", "payload", "expected"), role_matrix(STOCK_ENDPOINTS))
def test_each_role_reaches_exactly_its_stock_endpoints(
    request, api_client, article, role, method, url, payload, expected
):
    client = api_client(request.getfixturevalue(role))
    movements_before = StockMovement.objects.count()
    response = call(client, method, url.format(article=article.pk), payload)
    if expected == 403:
        assert_error(response, 403, "permission_denied")
        stock = Stock.objects.get(article=article)
        assert (stock.quantity, stock.min_quantity) == (10, 2)
        assert StockMovement.objects.count() == movements_before
    else:
        assert response.status_code == expected, response.content


# --- reading ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_stock_list_shows_levels_limits_and_whether_they_are_low(api_client, supplier, article):
    ArticleFactory(sku="LOW-1", name="Black tea", stock__min_quantity=5)
    results = api_client(supplier).get(STOCKS_URL).json()["results"]
    assert all(set(row) == STOCK_FIELDS for row in results)
    assert results == [
        {
            "article_id": article.pk,
            "sku": "TEA-1",
            "name": "Green tea",
            "quantity": 10,
            "min_quantity": 2,
            "max_quantity": 20,
            "is_low": False,
        },
        {
            "article_id": results[1]["article_id"],
            "sku": "LOW-1",
            "name": "Black tea",
            "quantity": 0,
            "min_quantity": 5,
            "max_quantity": None,
            "is_low": True,
        },
    ]


@pytest.mark.django_db
def test_the_stock_list_filters_low_rows(api_client, clerk, article, stocked_article):
    at_reorder_point = stocked_article(3, sku="EDGE", stock__min_quantity=3)
    empty = ArticleFactory(sku="EMPTY")
    client = api_client(clerk)
    low = [row["sku"] for row in client.get(STOCKS_URL, {"is_low": "true"}).json()["results"]]
    not_low = [row["sku"] for row in client.get(STOCKS_URL, {"is_low": "false"}).json()["results"]]
    assert low == [at_reorder_point.sku, empty.sku]
    assert not_low == ["TEA-1"]


@pytest.mark.django_db
def test_an_unknown_or_huge_stock_id_is_a_json_404(api_client, clerk):
    client = api_client(clerk)
    assert_error(client.get(f"{STOCKS_URL}424242/"), 404, "not_found")
    assert_error(client.get(f"{STOCKS_URL}99999999999999999999999/"), 404, "not_found")
    assert_error(
        client.post(f"{STOCKS_URL}424242/restock/", {"quantity": 1, "reference": "x"}, format="json"),
        404,
        "not_found",
    )


# --- limits -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_patching_the_limits_returns_the_updated_stock(api_client, clerk, article):
    response = api_client(clerk).patch(
        f"{STOCKS_URL}{article.pk}/", {"min_quantity": 12, "max_quantity": 30}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["min_quantity"], body["max_quantity"], body["is_low"]) == (12, 30, True)
    stock = Stock.objects.get(article=article)
    assert (stock.min_quantity, stock.max_quantity) == (12, 30)


@pytest.mark.django_db
def test_patching_one_limit_keeps_the_other(api_client, clerk, article):
    response = api_client(clerk).patch(f"{STOCKS_URL}{article.pk}/", {"max_quantity": None}, format="json")
    assert response.status_code == 200
    assert (response.json()["min_quantity"], response.json()["max_quantity"]) == (2, None)


@pytest.mark.django_db
def test_the_quantity_is_not_writable_through_the_limits(api_client, clerk, article):
    response = api_client(clerk).patch(
        f"{STOCKS_URL}{article.pk}/", {"quantity": 999, "min_quantity": 1}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["quantity"] == 10
    assert quantity_of(article) == 10


@pytest.mark.django_db
def test_a_minimum_above_the_maximum_is_refused(api_client, clerk, article):
    response = api_client(clerk).patch(
        f"{STOCKS_URL}{article.pk}/", {"min_quantity": 25, "max_quantity": 20}, format="json"
    )
    body = assert_error(response, 400, "invalid")
    assert "min_quantity" in body["fields"]
    assert Stock.objects.get(article=article).min_quantity == 2


@pytest.mark.django_db
@pytest.mark.parametrize("limits", [{"min_quantity": -1}, {"max_quantity": "many"}, {"min_quantity": 10**12}])
def test_malformed_limits_are_refused(api_client, clerk, article, limits):
    response = api_client(clerk).patch(f"{STOCKS_URL}{article.pk}/", limits, format="json")
    body = assert_error(response, 400, "invalid")
    assert set(body["fields"]) == set(limits)


@pytest.mark.django_db
def test_a_maximum_below_the_current_quantity_is_a_conflict(api_client, clerk, article):
    response = api_client(clerk).patch(f"{STOCKS_URL}{article.pk}/", {"max_quantity": 5}, format="json")
    body = assert_error(response, 409, "stock_limit_exceeded")
    assert "max_quantity" in body["fields"]
    assert Stock.objects.get(article=article).max_quantity == 20


# --- restock and adjust -----------------------------------------------------------------------


@pytest.mark.django_db
def test_restocking_returns_the_updated_stock_and_books_a_movement(api_client, supplier, article):
    response = api_client(supplier).post(
        f"{STOCKS_URL}{article.pk}/restock/", {"quantity": 5, "reference": "DN-77"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["quantity"] == 15
    assert set(response.json()) == STOCK_FIELDS
    movement = StockMovement.objects.filter(article=article).latest("id")
    assert (movement.kind, movement.delta, movement.quantity_after) == (MovementKind.RESTOCK, 5, 15)
    assert (movement.reference, movement.user) == ("DN-77", supplier)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"quantity": 0, "reference": "DN"},
        {"quantity": -3, "reference": "DN"},
        {"quantity": "lots", "reference": "DN"},
        {"quantity": 2.5, "reference": "DN"},
        {"quantity": 10**30, "reference": "DN"},
        {"quantity": 1},
        {"reference": "DN"},
        {"quantity": 1, "reference": ""},
    ],
)
def test_a_malformed_restock_is_refused_and_changes_nothing(api_client, clerk, article, payload):
    movements_before = StockMovement.objects.count()
    response = api_client(clerk).post(f"{STOCKS_URL}{article.pk}/restock/", payload, format="json")
    assert_error(response, 400, "invalid")
    assert quantity_of(article) == 10
    assert StockMovement.objects.count() == movements_before


@pytest.mark.django_db
def test_restocking_past_the_maximum_is_a_conflict_and_changes_nothing(api_client, supplier, article):
    movements_before = StockMovement.objects.count()
    response = api_client(supplier).post(
        f"{STOCKS_URL}{article.pk}/restock/", {"quantity": 11, "reference": "DN-9"}, format="json"
    )
    body = assert_error(response, 409, "stock_limit_exceeded")
    assert body["details"]["lines"][0]["article"] == article.pk
    assert body["details"]["lines"][0]["max_quantity"] == 20
    assert quantity_of(article) == 10
    assert StockMovement.objects.count() == movements_before


@pytest.mark.django_db
def test_adjusting_sets_the_counted_quantity_and_books_the_difference(api_client, clerk, article):
    response = api_client(clerk).post(
        f"{STOCKS_URL}{article.pk}/adjust/", {"quantity": 4, "reason": "inventory"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["quantity"] == 4
    movement = StockMovement.objects.filter(article=article).latest("id")
    assert (movement.kind, movement.delta, movement.quantity_after) == (MovementKind.ADJUSTMENT, -6, 4)
    assert movement.reference == "inventory"


@pytest.mark.django_db
def test_adjusting_to_zero_is_allowed(api_client, clerk, article):
    response = api_client(clerk).post(
        f"{STOCKS_URL}{article.pk}/adjust/", {"quantity": 0, "reason": "broken"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["quantity"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload", [{"quantity": -1, "reason": "x"}, {"quantity": "ten", "reason": "x"}, {"quantity": 3}]
)
def test_a_malformed_adjustment_is_refused_and_changes_nothing(api_client, clerk, article, payload):
    response = api_client(clerk).post(f"{STOCKS_URL}{article.pk}/adjust/", payload, format="json")
    assert_error(response, 400, "invalid")
    assert quantity_of(article) == 10


@pytest.mark.django_db
def test_adjusting_past_the_maximum_is_a_conflict(api_client, clerk, article):
    response = api_client(clerk).post(
        f"{STOCKS_URL}{article.pk}/adjust/", {"quantity": 21, "reason": "count"}, format="json"
    )
    body = assert_error(response, 409, "stock_limit_exceeded")
    assert "quantity" in body["fields"]
    assert quantity_of(article) == 10


@pytest.mark.django_db
def test_a_stock_cannot_be_replaced_or_deleted(api_client, manager, article):
    client = api_client(manager)
    payload = {"quantity": 0, "min_quantity": 0, "max_quantity": None}
    assert_error(client.put(f"{STOCKS_URL}{article.pk}/", payload, format="json"), 405, "method_not_allowed")
    assert_error(client.delete(f"{STOCKS_URL}{article.pk}/"), 405, "method_not_allowed")
    assert_error(client.post(STOCKS_URL, payload, format="json"), 405, "method_not_allowed")
    assert Stock.objects.filter(article=article, quantity=10).exists()


# --- movements --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_movements_route_is_not_read_as_an_article_id(api_client, supplier, article):
    response = api_client(supplier).get(MOVEMENTS_URL)
    assert response.status_code == 200
    [movement] = response.json()["results"]
    assert movement["article"] == article.pk
    assert movement["kind"] == "restock"


@pytest.mark.django_db
def test_movements_are_listed_newest_first_with_their_author(api_client, manager, clerk, article):
    client = api_client(clerk)
    client.post(f"{STOCKS_URL}{article.pk}/adjust/", {"quantity": 8, "reason": "count"}, format="json")
    results = client.get(MOVEMENTS_URL).json()["results"]
    assert [(m["kind"], m["delta"], m["quantity_after"], m["user"]) for m in results] == [
        ("adjustment", -2, 8, "clerk"),
        ("restock", 10, 10, "manager"),
    ]
    assert results[0]["sku"] == "TEA-1"
    assert results[0]["reference"] == "count"


@pytest.mark.django_db
def test_movements_are_filtered_by_article_and_kind(
    api_client, manager, customer, clerk, article, stocked_article
):
    other = stocked_article(4)
    order_create(customer=customer, lines=[{"article": article.pk, "quantity": 1}], created_by=manager)
    client = api_client(clerk)

    def listed(**params):
        return [(m["article"], m["kind"]) for m in client.get(MOVEMENTS_URL, params).json()["results"]]

    assert listed(article=article.pk) == [(article.pk, "order"), (article.pk, "restock")]
    assert listed(kind="restock") == [(other.pk, "restock"), (article.pk, "restock")]
    assert listed(article=other.pk, kind="order") == []
    assert_error(client.get(MOVEMENTS_URL, {"kind": "theft"}), 400, "invalid")


@pytest.mark.django_db
def test_the_stock_and_movement_lists_issue_the_same_queries_for_any_page_size(api_client, manager):
    articles = ArticleFactory.create_batch(55)
    Stock.objects.update(quantity=5)
    StockMovement.objects.bulk_create(
        StockMovement(article=a, delta=5, quantity_after=5, kind=MovementKind.RESTOCK, user=manager)
        for a in articles
    )
    client = api_client(manager)
    counts = {
        url: (count_list_queries(client, url, 5), count_list_queries(client, url, 50))
        for url in (STOCKS_URL, MOVEMENTS_URL)
    }
    print(f"stock list queries (page_size 5, 50): {counts}")
    assert all(small == large for small, large in counts.values())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "fields"), [("restock", {"quantity", "reference"}), ("adjust", {"quantity", "reason"})]
)
def test_options_and_the_browsable_form_of_an_action_describe_its_own_input(
    api_client, manager, article, action, fields
):
    client = api_client(manager)
    url = f"{STOCKS_URL}{article.pk}/{action}/"

    described = client.options(url).json()["actions"]["POST"]
    page = client.get(url, HTTP_ACCEPT="text/html").content.decode()

    assert set(described) == fields
    assert "min_quantity" not in page and all(f"&quot;{field}&quot;" in page for field in fields)


@pytest.mark.django_db
def test_the_browsable_patch_form_of_a_stock_starts_from_its_current_limits(api_client, manager, article):
    page = api_client(manager).get(f"{STOCKS_URL}{article.pk}/", HTTP_ACCEPT="text/html").content.decode()

    [form] = re.findall(r'<textarea[^>]*name="_content"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert json.loads(html.unescape(form)) == {"min_quantity": 2, "max_quantity": 20}
    assert "&quot;sku&quot;: &quot;TEA-1&quot;" in page  # the page itself shows the whole level


@pytest.mark.django_db
def test_a_clerk_restocks_from_the_browsable_apis_html_form_without_writing_json(api_client, clerk, article):
    client = api_client(clerk)
    url = f"{STOCKS_URL}{article.pk}/restock/"

    page = client.get(url, HTTP_ACCEPT="text/html").content.decode()
    booked = client.post(
        url, {"quantity": "3", "reference": "DN-FORM"}, format="multipart"
    )  # as the form posts
    refused = client.post(
        url, "quantity=3.0&reference=DN-FORM", content_type="application/x-www-form-urlencoded"
    )

    assert 'name="quantity"' in page and 'name="reference"' in page  # the HTML form, beside the raw one
    assert booked.status_code == 200 and booked.json()["quantity"] == 13
    assert_error(refused, 400, "invalid")
    assert StockMovement.objects.filter(reference="DN-FORM").count() == 1


@pytest.mark.django_db
def test_the_ledgers_article_filter_is_an_id_box_not_a_list_of_the_catalogue(
    api_client, clerk, article, stocked_article
):
    client = api_client(clerk)
    other = stocked_article(4, sku="MUG-9")
    services.stock_restock(article_id=article.pk, quantity=2, reference="DN-1", user=clerk)
    services.stock_restock(article_id=other.pk, quantity=2, reference="DN-2", user=clerk)

    page = client.get(MOVEMENTS_URL, HTTP_ACCEPT="text/html").content.decode()
    filtered = client.get(MOVEMENTS_URL, {"article": article.pk}).json()["results"]
    unknown = client.get(MOVEMENTS_URL, {"article": 999_999})

    assert 'name="article"' in page and f'<option value="{article.pk}"' not in page
    assert {movement["article"] for movement in filtered} == {article.pk}
    assert "DN-1" in [movement["reference"] for movement in filtered]
    assert_error(unknown, 400, "invalid")

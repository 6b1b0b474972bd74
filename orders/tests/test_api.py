from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from articles.tests.factories import ArticleFactory
from core.tests import assert_error, call, count_list_queries, role_matrix
from orders.models import Order, OrderLine, OrderStatus
from orders.services import order_cancel, order_create, order_mark_paid, order_request_payment
from orders.tests.payments_stub import payment_json, stub_server
from stocks.models import MovementKind, Stock, StockMovement
from users.models import Role
from users.tests.factories import UserFactory

ORDERS_URL = "/api/v1/orders/"


@pytest.fixture
def tea(stocked_article):
    return stocked_article(10, sku="TEA-1", name="Green tea", price=Decimal("4.20"))


@pytest.fixture
def mug(stocked_article):
    return stocked_article(3, sku="MUG-1", name="Mug", price=Decimal("7.50"))


@pytest.fixture
def place(manager):
    """Places an order through the service (set-up for the tests that read or change orders)."""

    def make(customer, *lines):
        return order_create(
            customer=customer,
            lines=[{"article": article.pk, "quantity": quantity} for article, quantity in lines],
            created_by=manager,
        )

    return make


@pytest.fixture
def order(place, customer, tea):
    return place(customer, (tea, 2))


def quantities(*articles) -> list[int]:
    return [Stock.objects.get(article=a).quantity for a in articles]


def snapshot() -> tuple:
    """What an order request may write: compared before and after a refused one."""
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        StockMovement.objects.count(),
        sorted(Stock.objects.values_list("article_id", "quantity")),
    )


# --- permissions ------------------------------------------------------------------------------

STAFF_CREATED = {"manager": 201, "clerk": 201}
ORDER_ENDPOINTS = [
    ("get", ORDERS_URL, None, {"manager": 200, "clerk": 200, "customer": 200}),
    ("get", ORDERS_URL + "{order}/", None, {"manager": 200, "clerk": 200, "customer": 200}),
    ("post", ORDERS_URL, "new-order", STAFF_CREATED),
    ("post", ORDERS_URL + "{order}/cancel/", None, {"manager": 200, "clerk": 200}),
    # The tests' payments service refuses connections (conftest.payments_nowhere).
    ("post", ORDERS_URL + "{order}/payment/", None, {"manager": 503, "clerk": 503}),
    ("delete", ORDERS_URL + "{order}/", None, {"manager": 204, "clerk": 204}),
]


@pytest.mark.parametrize(("role", "method", "url", "payload", "expected"), role_matrix(ORDER_ENDPOINTS))
def test_each_role_reaches_exactly_its_order_endpoints(
    request, api_client, order, customer, tea, role, method, url, payload, expected
):
    if payload == "new-order":
        payload = {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 1}]}
    client = api_client(request.getfixturevalue(role))
    before = snapshot()
    response = call(client, method, url.format(order=order.pk), payload)
    if expected == 403:
        assert_error(response, 403, "permission_denied")
        assert snapshot() == before
        assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING
    else:
        assert response.status_code == expected, response.content


@pytest.mark.django_db
def test_a_customer_lists_only_their_own_orders(api_client, place, customer, tea):
    own = place(customer, (tea, 1))
    place(UserFactory(role=Role.CUSTOMER), (tea, 1))
    listed = api_client(customer).get(ORDERS_URL).json()
    assert [o["id"] for o in listed["results"]] == [own.pk]


@pytest.mark.django_db
def test_another_customers_order_is_not_found_for_a_customer(api_client, place, customer, tea):
    others = place(UserFactory(role=Role.CUSTOMER), (tea, 1))
    assert_error(api_client(customer).get(f"{ORDERS_URL}{others.pk}/"), 404, "not_found")


@pytest.mark.django_db
def test_a_customer_cannot_cancel_their_own_order(api_client, customer, order, tea):
    assert_error(api_client(customer).post(f"{ORDERS_URL}{order.pk}/cancel/"), 403, "permission_denied")
    assert quantities(tea) == [8]


# --- placing an order -------------------------------------------------------------------------


@pytest.mark.django_db
def test_placing_an_order_returns_it_in_full_and_takes_the_stock(api_client, clerk, customer, tea, mug):
    payload = {
        "customer": customer.pk,
        "lines": [{"article": tea.pk, "quantity": 3}, {"article": mug.pk, "quantity": 1}],
    }
    response = api_client(clerk).post(ORDERS_URL, payload, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["customer"] == customer.pk
    assert body["customer_name"] == customer.get_full_name()
    assert body["status"] == "pending"
    assert body["total"] == "20.10"
    assert body["lines"] == [
        {
            "article": tea.pk,
            "sku": "TEA-1",
            "name": "Green tea",
            "quantity": 3,
            "unit_price": "4.20",
            "line_total": "12.60",
        },
        {
            "article": mug.pk,
            "sku": "MUG-1",
            "name": "Mug",
            "quantity": 1,
            "unit_price": "7.50",
            "line_total": "7.50",
        },
    ]
    assert body["created_at"] and body["updated_at"]

    order = Order.objects.get(pk=body["id"])
    assert (order.customer, order.created_by, order.total) == (customer, clerk, Decimal("20.10"))
    assert quantities(tea, mug) == [7, 2]
    movements = StockMovement.objects.filter(kind=MovementKind.ORDER, reference=f"order:{order.pk}")
    assert sorted(movements.values_list("article_id", "delta")) == sorted([(tea.pk, -3), (mug.pk, -1)])


@pytest.mark.django_db
def test_an_order_keeps_the_price_of_the_day(api_client, clerk, customer, tea):
    body = (
        api_client(clerk)
        .post(
            ORDERS_URL,
            {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 1}]},
            format="json",
        )
        .json()
    )
    tea.price = Decimal("9.00")
    tea.save()
    reread = api_client(clerk).get(f"{ORDERS_URL}{body['id']}/").json()
    assert reread["lines"][0]["unit_price"] == "4.20"
    assert reread["total"] == "4.20"


@pytest.mark.django_db
def test_insufficient_stock_is_a_conflict_listing_every_short_line_and_writes_nothing(
    api_client, clerk, customer, tea, mug, stocked_article
):
    plenty = stocked_article(50, sku="PLENTY")
    payload = {
        "customer": customer.pk,
        "lines": [
            {"article": tea.pk, "quantity": 11},
            {"article": plenty.pk, "quantity": 1},
            {"article": mug.pk, "quantity": 4},
        ],
    }
    before = snapshot()
    body = assert_error(api_client(clerk).post(ORDERS_URL, payload, format="json"), 409, "insufficient_stock")
    assert body["details"]["shortages"] == [
        {"article": tea.pk, "sku": "TEA-1", "requested": 11, "available": 10},
        {"article": mug.pk, "sku": "MUG-1", "requested": 4, "available": 3},
    ]
    assert snapshot() == before


def bad_order(case: str, customer, tea, inactive) -> tuple:
    """`(payload, field with an error)` for each kind of bad input."""
    line = {"article": tea.pk, "quantity": 1}
    return {
        "unknown article": (
            {"customer": customer.pk, "lines": [{"article": 987654, "quantity": 1}]},
            "lines",
        ),
        "inactive article": (
            {"customer": customer.pk, "lines": [{"article": inactive.pk, "quantity": 1}]},
            "lines",
        ),
        "duplicate article": ({"customer": customer.pk, "lines": [line, line]}, "lines"),
        "quantity 0": ({"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 0}]}, "lines"),
        "quantity -1": ({"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": -1}]}, "lines"),
        "quantity abc": (
            {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": "abc"}]},
            "lines",
        ),
        "quantity 1.5": ({"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 1.5}]}, "lines"),
        "quantity huge": (
            {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 10**30}]},
            "lines",
        ),
        "quantity null": (
            {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": None}]},
            "lines",
        ),
        "article huge": ({"customer": customer.pk, "lines": [{"article": 10**30, "quantity": 1}]}, "lines"),
        "article abc": ({"customer": customer.pk, "lines": [{"article": "abc", "quantity": 1}]}, "lines"),
        "line without quantity": ({"customer": customer.pk, "lines": [{"article": tea.pk}]}, "lines"),
        "line without article": ({"customer": customer.pk, "lines": [{"quantity": 1}]}, "lines"),
        "line not an object": ({"customer": customer.pk, "lines": [7]}, "lines"),
        "lines missing": ({"customer": customer.pk}, "lines"),
        "lines empty": ({"customer": customer.pk, "lines": []}, "lines"),
        "lines not a list": ({"customer": customer.pk, "lines": "tea please"}, "lines"),
        "lines an object": ({"customer": customer.pk, "lines": line}, "lines"),
        "customer missing": ({"lines": [line]}, "customer"),
        "customer unknown": ({"customer": 987654, "lines": [line]}, "customer"),
        "customer huge": ({"customer": 10**30, "lines": [line]}, "customer"),
        "customer abc": ({"customer": "abc", "lines": [line]}, "customer"),
    }[case]


BAD_ORDER_CASES = [
    "unknown article",
    "inactive article",
    "duplicate article",
    "quantity 0",
    "quantity -1",
    "quantity abc",
    "quantity 1.5",
    "quantity huge",
    "quantity null",
    "article huge",
    "article abc",
    "line without quantity",
    "line without article",
    "line not an object",
    "lines missing",
    "lines empty",
    "lines not a list",
    "lines an object",
    "customer missing",
    "customer unknown",
    "customer huge",
    "customer abc",
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_ORDER_CASES)
def test_bad_order_input_is_a_400_with_field_errors_and_writes_nothing(
    api_client, clerk, customer, tea, case
):
    inactive = ArticleFactory(sku="OLD-1", is_active=False)
    payload, field = bad_order(case, customer, tea, inactive)
    before = snapshot()
    body = assert_error(api_client(clerk).post(ORDERS_URL, payload, format="json"), 400, "invalid")
    assert field in body["fields"]
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("customer_id", ["fraction", "float", "padded", "bool", "exponent"])
def test_a_customer_id_that_is_not_a_whole_number_is_refused_not_rounded(
    api_client, clerk, customer, tea, customer_id
):
    given = {
        "fraction": customer.pk + 0.9,
        "float": float(customer.pk),
        "padded": f"{customer.pk} ",
        "bool": True,
        "exponent": f"{customer.pk}e0",
    }[customer_id]
    before = snapshot()
    payload = {"customer": given, "lines": [{"article": tea.pk, "quantity": 1}]}

    body = assert_error(api_client(clerk).post(ORDERS_URL, payload, format="json"), 400, "invalid")

    assert "customer" in body["fields"]
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("line", "field"),
    [({"article": 1.5}, "article"), ({"quantity": 2.0}, "quantity"), ({"quantity": " 2"}, "quantity")],
)
def test_a_line_that_is_not_in_whole_numbers_is_refused(api_client, clerk, customer, tea, line, field):
    payload = {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 1, **line}]}

    body = assert_error(api_client(clerk).post(ORDERS_URL, payload, format="json"), 400, "invalid")

    assert list(body["fields"]["lines"][0]) == [field]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("second_line", "field"),
    [({"quantity": 0}, "quantity"), ({"quantity": "x"}, "quantity"), ({"article": 987654}, "article")],
)
def test_line_errors_are_a_list_aligned_with_the_lines_whichever_check_fails(
    api_client, clerk, customer, tea, mug, second_line, field
):
    lines = [{"article": tea.pk, "quantity": 1}, {"article": mug.pk, "quantity": 1, **second_line}]
    response = api_client(clerk).post(ORDERS_URL, {"customer": customer.pk, "lines": lines}, format="json")
    body = assert_error(response, 400, "invalid")
    assert body["fields"]["lines"][0] == {}
    assert list(body["fields"]["lines"][1]) == [field]
    assert len(body["fields"]["lines"]) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "clerk", "supplier"])
def test_an_order_for_someone_who_is_not_a_customer_is_refused(request, api_client, clerk, tea, role):
    not_a_customer = request.getfixturevalue(role)
    payload = {"customer": not_a_customer.pk, "lines": [{"article": tea.pk, "quantity": 1}]}
    before = snapshot()
    body = assert_error(api_client(clerk).post(ORDERS_URL, payload, format="json"), 400, "invalid")
    assert "customer" in body["fields"]
    assert snapshot() == before


@pytest.mark.django_db
def test_an_order_for_an_inactive_customer_is_refused(api_client, clerk, customer, tea):
    customer.is_active = False
    customer.save()
    payload = {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 1}]}
    body = assert_error(api_client(clerk).post(ORDERS_URL, payload, format="json"), 400, "invalid")
    assert "customer" in body["fields"]


@pytest.mark.django_db
def test_a_malformed_json_body_is_a_parse_error(api_client, clerk, tea):
    before = snapshot()
    response = api_client(clerk).post(ORDERS_URL, '{"customer": ', content_type="application/json")
    assert_error(response, 400, "parse_error")
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[]", '"order"', "null", "42"])
def test_a_json_body_that_is_not_an_object_is_a_400(api_client, clerk, tea, body):
    before = snapshot()
    response = api_client(clerk).post(ORDERS_URL, body, content_type="application/json")
    assert_error(response, 400, "invalid")
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml"])
def test_a_body_neither_json_nor_a_form_is_an_unsupported_media_type(api_client, clerk, tea, content_type):
    before = snapshot()
    response = api_client(clerk).post(ORDERS_URL, "customer", content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert snapshot() == before


# --- reading orders ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_order_is_read_by_id(api_client, clerk, order, tea):
    body = api_client(clerk).get(f"{ORDERS_URL}{order.pk}/").json()
    assert (body["id"], body["status"], body["total"]) == (order.pk, "pending", "8.40")
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [("TEA-1", 2)]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["987654321/", "987654321/cancel/"])
def test_an_unknown_order_is_a_json_404(api_client, clerk, path):
    client = api_client(clerk)
    response = client.post(ORDERS_URL + path) if path.endswith("cancel/") else client.get(ORDERS_URL + path)
    assert_error(response, 404, "not_found")
    assert_error(client.delete(f"{ORDERS_URL}987654321/"), 404, "not_found")


@pytest.mark.django_db
def test_a_huge_order_id_is_a_json_404_not_a_server_error(api_client, clerk):
    client = api_client(clerk)
    huge = f"{ORDERS_URL}99999999999999999999999/"
    assert_error(client.get(huge), 404, "not_found")
    assert_error(client.delete(huge), 404, "not_found")
    assert_error(client.post(f"{huge}cancel/"), 404, "not_found")
    assert_error(client.get(f"{ORDERS_URL}999999999999999999/"), 404, "not_found")


@pytest.mark.django_db
def test_orders_are_filtered_by_customer_status_and_creation_time(api_client, clerk, place, customer, tea):
    other = UserFactory(role=Role.CUSTOMER)
    old = place(customer, (tea, 1))
    recent = place(customer, (tea, 1))
    others = place(other, (tea, 1))
    now = timezone.now()
    Order.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=10))
    Order.objects.filter(pk=others.pk).update(status=OrderStatus.CANCELLED)
    client = api_client(clerk)

    def ids(**params):
        return [o["id"] for o in client.get(ORDERS_URL, params).json()["results"]]

    assert ids() == [others.pk, recent.pk, old.pk]
    assert ids(customer=customer.pk) == [recent.pk, old.pk]
    assert ids(status="cancelled") == [others.pk]
    assert ids(status="pending", customer=customer.pk) == [recent.pk, old.pk]
    assert ids(created_after=(now - timedelta(days=1)).isoformat()) == [others.pk, recent.pk]
    assert ids(created_before=(now - timedelta(days=1)).isoformat()) == [old.pk]
    assert_error(client.get(ORDERS_URL, {"status": "shipped"}), 400, "invalid")
    assert_error(client.get(ORDERS_URL, {"created_after": "yesterday"}), 400, "invalid")


@pytest.mark.django_db
def test_the_order_list_issues_the_same_queries_for_any_page_size(api_client, manager, customer):
    articles = ArticleFactory.create_batch(3)
    Stock.objects.update(quantity=1000)
    for _ in range(55):
        order_create(
            customer=customer,
            lines=[{"article": a.pk, "quantity": 1} for a in articles],
            created_by=manager,
        )
    client = api_client(manager)
    small = count_list_queries(client, ORDERS_URL, 5)
    large = count_list_queries(client, ORDERS_URL, 50)
    print(f"orders list queries: page_size 5 -> {small}, page_size 50 -> {large}")
    assert small == large


# --- cancel and delete ------------------------------------------------------------------------


@pytest.mark.django_db
def test_cancelling_an_order_returns_its_stock(api_client, clerk, order, tea):
    assert quantities(tea) == [8]
    response = api_client(clerk).post(f"{ORDERS_URL}{order.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["id"] == order.pk
    assert quantities(tea) == [10]
    assert StockMovement.objects.filter(kind=MovementKind.CANCEL, reference=f"order:{order.pk}").count() == 1


@pytest.mark.django_db
def test_cancelling_twice_is_a_conflict_and_returns_nothing_twice(api_client, clerk, order, tea):
    client = api_client(clerk)
    assert client.post(f"{ORDERS_URL}{order.pk}/cancel/").status_code == 200
    before = snapshot()
    assert_error(client.post(f"{ORDERS_URL}{order.pk}/cancel/"), 409, "order_not_cancellable")
    assert snapshot() == before
    assert quantities(tea) == [10]


@pytest.mark.django_db
def test_an_order_paid_without_a_payment_cannot_be_cancelled(api_client, clerk, order, tea):
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)
    assert_error(api_client(clerk).post(f"{ORDERS_URL}{order.pk}/cancel/"), 409, "order_not_cancellable")
    assert quantities(tea) == [8]


@pytest.mark.django_db
def test_deleting_a_pending_order_removes_it_and_returns_its_stock(api_client, clerk, order, tea):
    response = api_client(clerk).delete(f"{ORDERS_URL}{order.pk}/")
    assert response.status_code == 204
    assert not response.content
    assert not Order.objects.filter(pk=order.pk).exists()
    assert quantities(tea) == [10]
    assert StockMovement.objects.filter(kind=MovementKind.CANCEL, reference=f"order:{order.pk}").exists()


@pytest.mark.django_db
def test_deleting_a_cancelled_order_returns_no_stock_again(api_client, clerk, order, tea):
    client = api_client(clerk)
    client.post(f"{ORDERS_URL}{order.pk}/cancel/")
    assert client.delete(f"{ORDERS_URL}{order.pk}/").status_code == 204
    assert quantities(tea) == [10]


@pytest.mark.django_db
def test_deleting_a_paid_order_is_a_conflict(api_client, clerk, order, tea):
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID)
    assert_error(api_client(clerk).delete(f"{ORDERS_URL}{order.pk}/"), 409, "order_paid")
    assert Order.objects.filter(pk=order.pk).exists()
    assert quantities(tea) == [8]


@pytest.mark.django_db
def test_orders_cannot_be_replaced_or_patched(api_client, manager, order):
    client = api_client(manager)
    assert_error(client.put(f"{ORDERS_URL}{order.pk}/", {}, format="json"), 405, "method_not_allowed")
    assert_error(
        client.patch(f"{ORDERS_URL}{order.pk}/", {"status": "paid"}, format="json"), 405, "method_not_allowed"
    )
    assert_error(client.get(f"{ORDERS_URL}{order.pk}/cancel/"), 405, "method_not_allowed")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING


# --- payments (the flow itself: test_payment_flow.py, against the real payments service) -------


@pytest.mark.django_db
def test_an_order_placed_while_payments_is_down_is_pending_without_a_payment(
    api_client, clerk, customer, tea
):
    payload = {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 1}]}
    response = api_client(clerk).post(ORDERS_URL, payload, format="json")
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["payment"]) == ("pending", None)
    assert quantities(tea) == [9]


@pytest.mark.django_db
def test_an_order_shows_the_payment_the_store_knows_of(api_client, clerk, order):
    Order.objects.filter(pk=order.pk).update(
        payment_id=41, payment_status="failed", pay_url="http://pay.test/41/s/"
    )
    body = api_client(clerk).get(f"{ORDERS_URL}{order.pk}/").json()
    assert body["payment"] == {"id": 41, "status": "failed", "pay_url": "http://pay.test/41/s/"}


@pytest.mark.django_db
def test_requesting_a_payment_while_payments_is_down_is_503_and_changes_nothing(api_client, clerk, order):
    before = snapshot()
    body = assert_error(
        api_client(clerk).post(f"{ORDERS_URL}{order.pk}/payment/"), 503, "payments_unavailable"
    )
    assert "connection failed" in body["message"]
    assert snapshot() == before
    assert Order.objects.get(pk=order.pk).payment_id is None


@pytest.mark.django_db
def test_requesting_a_payment_for_a_cancelled_order_is_a_conflict(api_client, clerk, order):
    client = api_client(clerk)
    client.post(f"{ORDERS_URL}{order.pk}/cancel/")
    assert_error(client.post(f"{ORDERS_URL}{order.pk}/payment/"), 409, "order_not_payable")


@pytest.mark.django_db
def test_requesting_a_payment_the_order_has_returns_it_without_asking_payments(api_client, clerk, order):
    Order.objects.filter(pk=order.pk).update(
        payment_id=41, payment_status="pending", pay_url="http://pay.test/"
    )
    response = api_client(clerk).post(f"{ORDERS_URL}{order.pk}/payment/")
    assert response.status_code == 200
    assert response.json()["payment"]["id"] == 41


@pytest.mark.django_db
def test_cancelling_a_paid_order_while_payments_is_down_is_503_and_changes_nothing(
    api_client, clerk, order, tea
):
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID, payment_id=41, payment_status="paid")
    before = snapshot()
    assert_error(api_client(clerk).post(f"{ORDERS_URL}{order.pk}/cancel/"), 503, "payments_unavailable")
    assert snapshot() == before
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


# --- the browsable API's order form -------------------------------------------------------------------


@pytest.mark.django_db
def test_options_and_the_browsable_page_describe_the_orders_own_input(api_client, clerk, customer):
    client = api_client(clerk)

    described = client.options(ORDERS_URL).json()["actions"]["POST"]
    page = client.get(ORDERS_URL, HTTP_ACCEPT="text/html").content.decode()

    assert set(described) == {"customer", "lines"}
    assert set(described["lines"]["child"]["children"]) == {"article", "quantity"}
    assert 'name="customer"' in page and 'type="number"' in page
    assert f'<option value="{customer.pk}"' not in page  # no drop-down of every user (form or filters)
    for row in range(5):
        assert f'name="lines[{row}]article"' in page and f'name="lines[{row}]quantity"' in page
    assert "Lists are not currently supported" not in page


@pytest.mark.django_db
def test_a_clerk_places_an_order_from_the_html_form_rows_left_blank_ignored(
    api_client, clerk, customer, tea, mug
):
    form = {
        "customer": str(customer.pk),
        "lines[0]article": str(tea.pk),
        "lines[0]quantity": "2",
        "lines[1]article": "",
        "lines[1]quantity": "",
        "lines[2]article": str(mug.pk),
        "lines[2]quantity": "1",
    }

    placed = api_client(clerk).post(ORDERS_URL, form, format="multipart")  # as the form posts

    assert placed.status_code == 201, placed.content
    assert [(line["sku"], line["quantity"]) for line in placed.json()["lines"]] == [
        ("TEA-1", 2),
        ("MUG-1", 1),
    ]
    assert quantities(tea, mug) == [8, 2]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "field_errors"),
    [
        ({"lines[0]article": "", "lines[0]quantity": ""}, {"lines"}),
        ({"lines[0]article": "TEA-1", "lines[0]quantity": "2"}, {"lines"}),
        ({"lines[0]quantity": "2"}, {"lines"}),
    ],
    ids=["every row blank", "a sku where the id goes", "no article"],
)
def test_an_order_form_with_no_usable_line_is_refused_and_changes_nothing(
    api_client, clerk, customer, tea, rows, field_errors
):
    before = snapshot()

    refused = api_client(clerk).post(ORDERS_URL, {"customer": str(customer.pk), **rows}, format="multipart")

    assert set(assert_error(refused, 400, "invalid")["fields"]) == field_errors
    assert snapshot() == before


# --- the order list from the read cache -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the cache follows committed writes
def test_the_cached_order_list_shows_each_order_its_payment_and_its_cancel_at_once(
    api_client, clerk, customer, tea, settings
):
    client = api_client(clerk)

    def listed():
        return [
            (row["id"], row["status"], row["payment"]) for row in client.get(ORDERS_URL).json()["results"]
        ]

    assert listed() == []
    order = order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 1}], created_by=clerk)
    assert listed() == [(order.pk, "pending", None)]
    with stub_server() as payments:
        settings.PAYMENTS_URL = payments.url
        payments.behaviour.body = payment_json(id=77, order_id=order.pk, amount=str(order.total))
        order_request_payment(order_id=order.pk)
    pay_url = payments.behaviour.body["pay_url"]
    assert listed() == [(order.pk, "pending", {"id": 77, "status": "pending", "pay_url": pay_url})]
    order_mark_paid(order_id=order.pk, payment_id=77, amount=order.total)
    assert listed() == [(order.pk, "paid", {"id": 77, "status": "paid", "pay_url": pay_url})]
    second = order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 1}], created_by=clerk)
    order_cancel(order_id=second.pk, user=clerk)
    assert [status for _, status, _ in listed()] == ["cancelled", "paid"]


@pytest.mark.django_db
def test_each_customer_reads_only_their_own_orders_from_the_cache(api_client, clerk, tea, place):
    ann, bob = UserFactory(role=Role.CUSTOMER), UserFactory(role=Role.CUSTOMER)
    anns, bobs = place(ann, (tea, 1)), place(bob, (tea, 1))

    for _ in range(2):  # the second time from the cache
        assert [row["id"] for row in api_client(ann).get(ORDERS_URL).json()["results"]] == [anns.pk]
        assert [row["id"] for row in api_client(bob).get(ORDERS_URL).json()["results"]] == [bobs.pk]
        assert [row["id"] for row in api_client(clerk).get(ORDERS_URL).json()["results"]] == [
            bobs.pk,
            anns.pk,
        ]

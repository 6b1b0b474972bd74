import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.tests.admin_pages import (
    admin_url,
    assert_changelist_queries_flat,
    logged_in,
    messages_of,
    run_action,
)
from orders.errors import OrderPaid
from orders.models import Order, OrderStatus
from orders.services import order_create
from stocks.models import MovementKind, Stock, StockMovement
from stocks.tests.invariants import assert_stock_matches_ledger
from users.models import Role
from users.tests.factories import UserFactory

from .payments_stub import payment_json, stub_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(stocked_article, customer, clerk):
    """Returns a factory of orders of `quantity` units of a new article (stocked with 10)."""

    def make(quantity: int = 2, status: str = OrderStatus.PENDING, **article_fields) -> Order:
        article = stocked_article(quantity=10, **article_fields)
        lines = [{"article": article.pk, "quantity": quantity}]
        order = order_create(customer=customer, lines=lines, created_by=clerk)
        if status != OrderStatus.PENDING:
            Order.objects.filter(pk=order.pk).update(status=status)  # payments are another service's job
        return order

    return make


def quantity_of(order: Order) -> int:
    return Stock.objects.get(article=order.lines.get().article_id).quantity


@pytest.mark.parametrize("who", ["manager", "clerk"])
def test_the_orders_list_costs_the_same_queries_for_5_or_50_orders(
    request, who, stocked_article, django_assert_num_queries
):
    article = stocked_article(quantity=100)
    seller = request.getfixturevalue(who)

    def add_orders(count):
        for customer in UserFactory.create_batch(count, role=Role.CUSTOMER):
            order_create(customer=customer, lines=[{"article": article.pk, "quantity": 1}], created_by=seller)

    assert_changelist_queries_flat(logged_in(seller), Order, add_orders, django_assert_num_queries)


def test_a_filtered_orders_list_counts_the_orders_once(clerk, place):
    place(), place(status=OrderStatus.CANCELLED)
    client = logged_in(clerk)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(admin_url(Order), {"status__exact": OrderStatus.CANCELLED})

    assert response.context["cl"].result_count == 1
    counts = [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"]]
    assert len(counts) == 1, counts


def test_orders_are_searched_by_id_or_customer(clerk, place, customer):
    first, second = place(), place()
    client = logged_in(clerk)

    by_id = client.get(admin_url(Order), {"q": str(second.pk)}).context["cl"].result_list
    by_email = client.get(admin_url(Order), {"q": customer.email}).context["cl"].result_list
    by_word = client.get(admin_url(Order), {"q": "nothing-like-an-id"})

    assert [order.pk for order in by_id] == [second.pk]
    assert {order.pk for order in by_email} == {first.pk, second.pk}
    assert by_word.status_code == 200


def test_an_order_page_shows_its_lines_and_nothing_to_edit(clerk, place):
    order = place(quantity=3, sku="TEA-4")
    client = logged_in(clerk)

    response = client.get(admin_url(Order, "change", order.pk))

    assert response.status_code == 200
    assert b"TEA-4" in response.content
    assert b"3 x TEA-4" in response.content  # each line's caption names its article by SKU
    assert b"x article" not in response.content
    assert not response.context["has_change_permission"]
    assert client.post(admin_url(Order, "change", order.pk), {"status": "paid"}).status_code == 403
    assert client.get(admin_url(Order, "add")).status_code == 403


def test_cancelling_selected_orders_returns_their_stock_and_reports_refusals(clerk, place):
    pending, paid = place(quantity=4), place(quantity=2, status=OrderStatus.PAID)

    response = run_action(logged_in(clerk), Order, "cancel_orders", [pending, paid])

    assert messages_of(response) == [
        f"Order #{paid.pk}: Order {paid.pk} is paid; only pending orders can be cancelled.",
        "Cancelled 1 order(s); their stock was returned.",
    ]
    assert Order.objects.get(pk=pending.pk).status == OrderStatus.CANCELLED
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.PAID
    assert (quantity_of(pending), quantity_of(paid)) == (10, 8)
    returned = StockMovement.objects.get(reference=pending.reference, kind=MovementKind.CANCEL)
    assert (returned.delta, returned.user_id) == (4, clerk.pk)
    assert_stock_matches_ledger()


def test_deleting_a_pending_order_returns_its_stock(clerk, place):
    order = place(quantity=3)
    article_id = order.lines.get().article_id

    response = logged_in(clerk).post(admin_url(Order, "delete", order.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Order.objects.filter(pk=order.pk).exists()
    assert Stock.objects.get(article_id=article_id).quantity == 10
    assert_stock_matches_ledger()


def test_deleting_a_paid_order_is_refused_with_a_message(clerk, place):
    order = place(quantity=3, status=OrderStatus.PAID)
    url = admin_url(Order, "delete", order.pk)

    response = logged_in(clerk).post(url, {"post": "yes"})

    assert (response.status_code, response.url) == (302, admin_url(Order, "change", order.pk))
    assert messages_of(response) == [OrderPaid.default_message]
    assert Order.objects.filter(pk=order.pk).exists()
    assert quantity_of(order) == 7


def test_deleting_selected_orders_keeps_the_paid_ones_and_logs_only_real_deletions(clerk, place):
    pending, paid = place(quantity=1), place(quantity=1, status=OrderStatus.PAID)
    client = logged_in(clerk)

    confirmation = run_action(client, Order, "delete_selected", [pending, paid])
    response = run_action(client, Order, "delete_selected", [pending, paid], post="yes")

    assert confirmation.status_code == 200
    assert messages_of(response) == [
        f"Order #{paid.pk} (paid): {OrderPaid.default_message}",
        "Deleted 1 order.",
    ]
    assert list(Order.objects.values_list("pk", flat=True)) == [paid.pk]
    logged = LogEntry.objects.filter(action_flag=DELETION).values_list("object_id", flat=True)
    assert list(logged) == [str(pending.pk)]


def test_requesting_the_payment_of_selected_orders_gives_pending_ones_theirs_and_names_the_others(
    clerk, place, settings
):
    pending, cancelled = place(), place(status=OrderStatus.CANCELLED)

    with stub_server() as payments:
        payments.behaviour.status = 201
        payments.behaviour.body = payment_json(id=77, order_id=pending.pk, amount=str(pending.total))
        settings.PAYMENTS_URL = payments.url
        response = run_action(logged_in(clerk), Order, "request_payments", [pending, cancelled])

    assert messages_of(response) == [
        f"Order #{cancelled.pk}: Order {cancelled.pk} is cancelled; only a pending order can be paid.",
        "1 order(s) have their payment.",
    ]
    assert [request.headers["Idempotency-Key"] for request in payments.received] == [f"order-{pending.pk}"]
    assert Order.objects.get(pk=pending.pk).payment_id == 77
    assert Order.objects.get(pk=cancelled.pk).payment_id is None


def test_requesting_payments_while_payments_is_down_says_so_and_changes_nothing(clerk, place):
    pending = place()

    response = run_action(logged_in(clerk), Order, "request_payments", [pending])

    [message] = messages_of(response)
    assert message.startswith(f"Order #{pending.pk}: ") and "payments" in message.lower()
    assert Order.objects.get(pk=pending.pk).payment_id is None

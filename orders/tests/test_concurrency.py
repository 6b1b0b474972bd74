"""Races against the real database: many threads, each with its own connection, started together.

These tests commit for real (`transaction=True`), because row locks only matter between
transactions that cannot see each other's uncommitted work.
"""

import logging
import random
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from articles.models import Article
from articles.services import article_update
from articles.tests.factories import ArticleFactory
from core.db import ATTEMPTS, atomic_with_retry
from core.errors import ServiceBusy
from orders.errors import OrderNotCancellable
from orders.models import Order, OrderLine, OrderStatus
from orders.services import order_cancel, order_create
from stocks.errors import InsufficientStock, StockLimitExceeded
from stocks.models import MovementKind, Stock, StockMovement
from stocks.services import stock_restock_many
from stocks.tests.invariants import assert_stock_matches_ledger

from .threads import (
    FINISH_TIMEOUT,
    START_TIMEOUT,
    Outcome,
    assert_only,
    connection_id,
    run_together,
    start_thread,
    tally,
    wait_for,
    wait_until_blocked,
)

pytestmark = pytest.mark.django_db(transaction=True)


def quantity_of(article) -> int:
    return Stock.objects.get(article=article).quantity


@pytest.fixture
def lock_races(caplog):
    """The warnings atomic_with_retry logs each time it retries a lost lock race."""
    caplog.set_level(logging.WARNING, logger="core.db")
    return lambda: [record.getMessage() for record in caplog.records if record.name == "core.db"]


# --- the last units ----------------------------------------------------------------------------


def test_fifty_orders_racing_for_twenty_units_sell_exactly_twenty(stocked_article, customer, clerk):
    article = stocked_article(quantity=20)

    def buy_one():
        return order_create(
            customer=customer, lines=[{"article": article.pk, "quantity": 1}], created_by=clerk
        ).pk

    outcomes = run_together([(f"buyer-{n}", buy_one) for n in range(50)])

    assert_only(outcomes, InsufficientStock)
    assert tally(outcomes) == {"ok": 20, "InsufficientStock": 30}
    assert quantity_of(article) == 0
    sold = {outcome.result for outcome in outcomes if outcome.error is None}
    assert set(Order.objects.values_list("pk", flat=True)) == sold
    assert OrderLine.objects.filter(article=article).count() == 20
    assert StockMovement.objects.filter(article=article, kind=MovementKind.ORDER).count() == 20
    for outcome in outcomes:
        if outcome.error is not None:
            assert outcome.error.details["shortages"] == [
                {"article": article.pk, "sku": article.sku, "requested": 1, "available": 0}
            ]
    assert_stock_matches_ledger()


def test_fifty_api_orders_racing_for_twenty_units_get_twenty_201_and_thirty_409(
    stocked_article, customer, clerk
):
    article = stocked_article(quantity=20)
    body = {"customer": customer.pk, "lines": [{"article": article.pk, "quantity": 1}]}

    def post_order():
        client = APIClient()
        client.force_authenticate(clerk)
        response = client.post("/api/v1/orders/", body, format="json")
        return response.status_code, response.json()

    outcomes = run_together([(f"client-{n}", post_order) for n in range(50)])

    assert_only(outcomes)  # not even a domain error: every one must become an HTTP answer
    statuses = Counter(status for status, _ in (outcome.result for outcome in outcomes))
    assert statuses == {201: 20, 409: 30}
    refusals = [body for status, body in (outcome.result for outcome in outcomes) if status == 409]
    assert {body["code"] for body in refusals} == {"insufficient_stock"}
    created = {body["id"] for status, body in (outcome.result for outcome in outcomes) if status == 201}
    assert set(Order.objects.values_list("pk", flat=True)) == created
    assert quantity_of(article) == 0
    assert_stock_matches_ledger()


# --- everything at once over the same articles -------------------------------------------------


def test_orders_cancels_and_restocks_in_any_line_order_never_deadlock(
    stocked_article, customer, clerk, manager, lock_races
):
    initial, capacity = 12, 20
    a, b, c, d = (stocked_article(quantity=initial, stock__max_quantity=capacity) for _ in range(4))
    articles = [a, b, c, d]
    existing = [
        order_create(
            customer=customer,
            lines=[{"article": article.pk, "quantity": 1} for article in articles],
            created_by=clerk,
        ).pk
        for _ in range(6)
    ]
    line_orders = [[a, b, c], [c, b, a], [d, c, b, a], [a, b, c, d], [b, d], [d, b], [c, a], [a, c]]
    rng = random.Random(1213)
    deliveries = [rng.sample(articles, k=len(articles)) for _ in range(6)]

    def place(line_order):
        lines = [{"article": article.pk, "quantity": 2} for article in line_order]
        return lambda: order_create(customer=customer, lines=lines, created_by=clerk).pk

    def cancel(order_id):
        return lambda: order_cancel(order_id=order_id, user=manager).pk

    def restock(delivery):
        # The dict keeps the shuffled order: the service, not the caller, must sort the locks.
        quantities = {article.pk: 3 for article in delivery}

        def deliver():
            stock_restock_many(quantities=quantities, reference="delivery", user=manager)
            return quantities

        return deliver

    wanted = {f"order-{n}": line_orders[n % len(line_orders)] for n in range(16)}
    tasks = (
        [(label, place(line_order)) for label, line_order in wanted.items()]
        + [(f"cancel-{order_id}", cancel(order_id)) for order_id in existing]
        + [(f"restock-{n}", restock(delivery)) for n, delivery in enumerate(deliveries)]
    )
    rng.shuffle(tasks)

    outcomes = run_together(tasks)

    assert_only(outcomes, InsufficientStock, StockLimitExceeded)
    assert lock_races() == [], "ordered locking should leave nothing for atomic_with_retry to retry"
    succeeded = [outcome for outcome in outcomes if outcome.error is None]
    placed = {o.result: o.label for o in succeeded if o.label.startswith("order-")}
    cancelled = {o.result for o in succeeded if o.label.startswith("cancel-")}
    delivered = [o.result for o in succeeded if o.label.startswith("restock-")]
    assert set(Order.objects.exclude(pk__in=existing).values_list("pk", flat=True)) == set(placed)
    assert set(Order.objects.filter(status=OrderStatus.CANCELLED).values_list("pk", flat=True)) == cancelled
    for order_id, label in placed.items():
        lines = OrderLine.objects.filter(order_id=order_id)
        assert sorted(lines.values_list("article_id", "quantity")) == sorted(
            (article.pk, 2) for article in wanted[label]
        ), label

    assert_stock_matches_ledger()
    active_lines = OrderLine.objects.exclude(order__status=OrderStatus.CANCELLED)
    for article in articles:
        restocked = sum(quantities.get(article.pk, 0) for quantities in delivered)
        ordered = sum(active_lines.filter(article=article).values_list("quantity", flat=True))
        assert quantity_of(article) == initial + restocked - ordered, article.sku


def test_ten_cancels_of_one_order_return_its_stock_once(stocked_article, customer, clerk, manager):
    mug, plate = stocked_article(quantity=10), stocked_article(quantity=10)
    order = order_create(
        customer=customer,
        lines=[{"article": mug.pk, "quantity": 3}, {"article": plate.pk, "quantity": 4}],
        created_by=clerk,
    )

    outcomes = run_together(
        [(f"cancel-{n}", lambda: order_cancel(order_id=order.pk, user=manager).status) for n in range(10)]
    )

    assert_only(outcomes, OrderNotCancellable)
    assert tally(outcomes) == {"ok": 1, "OrderNotCancellable": 9}
    assert [o.result for o in outcomes if o.error is None] == [OrderStatus.CANCELLED]
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert (quantity_of(mug), quantity_of(plate)) == (10, 10)
    assert StockMovement.objects.filter(reference=order.reference, kind=MovementKind.CANCEL).count() == 2
    assert_stock_matches_ledger()


# --- a deadlock that ordered locking cannot prevent ----------------------------------------------


def test_changing_an_article_while_it_is_ordered_and_restocked_survives_the_deadlock(
    stocked_article, customer, clerk, lock_races
):
    """The cycle: a restock holds the stock row and writes its ledger line, which needs a shared lock
    on the article row; an order already holds that shared lock (for its order line) and waits for
    the stock row; the article UPDATE waits behind the order, and the restock's request queues
    behind the UPDATE. InnoDB rolls back the UPDATE, which must then be retried, not surface as 503.
    """
    article = stocked_article(quantity=5, price=Decimal("9.99"))
    table = Stock._meta.db_table
    holds_the_stock_row, go_on = threading.Event(), threading.Event()
    connection_ids: dict[str, int] = {}

    def restock_writing_its_ledger_line():
        connection_ids["restock"] = connection_id()
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT quantity FROM {table} WHERE article_id = %s FOR UPDATE", [article.pk])
            holds_the_stock_row.set()
            assert go_on.wait(START_TIMEOUT)
            StockMovement.objects.create(
                article=article, delta=0, quantity_after=5, kind=MovementKind.RESTOCK
            )
            transaction.set_rollback(True)  # the lock pattern is the point, not the row

    def order():
        connection_ids["order"] = connection_id()
        lines = [{"article": article.pk, "quantity": 2}]
        return order_create(customer=customer, lines=lines, created_by=clerk).pk

    def price_change():
        connection_ids["update"] = connection_id()
        return article_update(article=Article.objects.get(pk=article.pk), price=Decimal("12.00")).price

    restock, placed, changed = Outcome("restock"), Outcome("order"), Outcome("update")
    threads = [start_thread(restock, restock_writing_its_ledger_line)]
    try:
        assert holds_the_stock_row.wait(START_TIMEOUT)
        threads.append(start_thread(placed, order))
        wait_until_blocked(connection_ids, "order", "SELECT `stocks_stock`")
        threads.append(start_thread(changed, price_change))
        wait_until_blocked(connection_ids, "update", "UPDATE `articles_article`")
    finally:
        go_on.set()
        wait_for(threads)

    assert_only([restock, placed, changed])
    assert changed.result == Decimal("12.00")
    assert Article.objects.get(pk=article.pk).price == Decimal("12.00")
    assert Order.objects.get(pk=placed.result).lines.get().unit_price == Decimal("9.99")
    assert quantity_of(article) == 3
    races = lock_races()
    assert len(races) == 1 and "article_update" in races[0] and "1213" in races[0], races
    assert_stock_matches_ledger()


# --- atomic_with_retry against real InnoDB lock races ------------------------------------------


def test_a_deadlocked_transaction_is_retried_from_the_start_and_both_succeed(lock_races):
    first, second = ArticleFactory(), ArticleFactory()
    table = Stock._meta.db_table
    both_hold_one_row = threading.Barrier(2, timeout=10)
    attempts = Counter()

    def take_both(name: str, ids: tuple[int, int]):
        @atomic_with_retry
        def work():
            attempts[name] += 1
            with connection.cursor() as cursor:
                # Bounded even if deadlock detection were off: a lock wait timeout is retried too.
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 5")
                for position, article_id in enumerate(ids):
                    cursor.execute(
                        f"SELECT quantity FROM {table} WHERE article_id = %s FOR UPDATE", [article_id]
                    )
                    cursor.execute(
                        f"UPDATE {table} SET quantity = quantity + 1 WHERE article_id = %s", [article_id]
                    )
                    if position == 0 and attempts[name] == 1:
                        both_hold_one_row.wait()
            return name

        return work

    outcomes = run_together(
        [
            ("ascending", take_both("ascending", (first.pk, second.pk))),
            ("descending", take_both("descending", (second.pk, first.pk))),
        ]
    )

    assert_only(outcomes)
    assert sorted(attempts.values()) == [1, 2]
    races = lock_races()
    assert len(races) == 1 and "1213" in races[0], races
    # Each transaction added one unit to each row; the victim's first try left no trace.
    assert (quantity_of(first), quantity_of(second)) == (2, 2)


def test_a_lock_held_for_too_long_ends_in_service_busy_after_bounded_retries(lock_races):
    article = ArticleFactory()
    table = Stock._meta.db_table
    held, released = threading.Event(), threading.Event()
    attempts = Counter()

    def hold_the_row():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT quantity FROM {table} WHERE article_id = %s FOR UPDATE", [article.pk])
            held.set()
            released.wait(timeout=FINISH_TIMEOUT)

    @atomic_with_retry
    def change_the_row():
        attempts["change"] += 1
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
            cursor.execute(f"UPDATE {table} SET quantity = quantity + 1 WHERE article_id = %s", [article.pk])

    def impatient():
        assert held.wait(timeout=START_TIMEOUT)
        try:
            change_the_row()
        finally:
            released.set()

    outcomes = run_together([("holder", hold_the_row), ("impatient", impatient)])

    holder, impatient_outcome = outcomes
    assert holder.error is None
    assert isinstance(impatient_outcome.error, ServiceBusy)
    assert attempts["change"] == ATTEMPTS
    assert len(lock_races()) == ATTEMPTS
    assert all("1205" in message for message in lock_races())
    assert quantity_of(article) == 0

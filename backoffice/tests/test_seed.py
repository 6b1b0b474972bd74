"""`manage.py seed`: demo data for an empty store through the services, and the demo logins."""

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Sum

from articles.models import Article
from articles.tests.factories import ArticleFactory
from backoffice.demo import DEMO_STAFF
from orders.models import Order, OrderLine, OrderStatus
from scripts.stack import demo_logins
from stocks.models import MovementKind, Stock, StockMovement
from stocks.tests.invariants import assert_stock_matches_ledger
from users.models import Role, User

pytestmark = pytest.mark.django_db

SMALL = ("--articles", "10", "--customers", "4", "--orders", "30")


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def store_contents() -> dict:
    """What a seed decides, without the database ids."""
    return {
        "articles": list(
            Article.objects.order_by("sku").values_list(
                "sku",
                "name",
                "price",
                "is_active",
                "stock__quantity",
                "stock__min_quantity",
                "stock__max_quantity",
            )
        ),
        "customers": list(
            User.objects.filter(role=Role.CUSTOMER).order_by("username").values_list("username")
        ),
        "orders": list(Order.objects.order_by("id").values_list("customer__username", "status", "total")),
    }


def seeded_then_forgotten(*args) -> dict:
    with transaction.atomic():
        run("seed", *args)
        contents = store_contents()
        transaction.set_rollback(True)
    return contents


def test_the_same_seed_gives_the_same_store_and_another_seed_another():
    first = seeded_then_forgotten("--seed", "3", *SMALL)
    again = seeded_then_forgotten("--seed", "3", *SMALL)
    other = seeded_then_forgotten("--seed", "4", *SMALL)

    assert len(first["articles"]) == 10 and len(first["orders"]) == 30
    assert again == first
    assert other["articles"] != first["articles"]


def test_after_seeding_each_quantity_is_what_was_delivered_minus_what_open_orders_took():
    run("seed", "--if-empty", *SMALL)

    assert_stock_matches_ledger()
    assert Stock.objects.count() == Article.objects.count() == 10
    delivered = dict(
        StockMovement.objects.filter(kind=MovementKind.RESTOCK)
        .values_list("article_id")
        .annotate(Sum("delta"))
    )
    taken = dict(
        OrderLine.objects.filter(order__status=OrderStatus.PENDING)
        .values_list("article_id")
        .annotate(Sum("quantity"))
    )
    for article_id, quantity in Stock.objects.values_list("article_id", "quantity"):
        assert quantity == delivered.get(article_id, 0) - taken.get(article_id, 0)
    statuses = set(Order.objects.values_list("status", flat=True))
    assert statuses == {OrderStatus.PENDING, OrderStatus.CANCELLED}
    for order in Order.objects.prefetch_related("lines"):
        assert order.total == sum(line.line_total for line in order.lines.all())


@pytest.mark.parametrize("debug", [True, False])
def test_seeding_prints_demo_logins_that_work(settings, debug):
    settings.DEBUG = debug

    logins = demo_logins(run("seed", *SMALL))

    assert set(logins) == {username for username, _ in DEMO_STAFF}
    for username, role in DEMO_STAFF:
        user = authenticate(username=username, password=logins[username])
        assert user is not None and user.role == role


def test_with_debug_on_the_demo_passwords_are_the_known_ones(settings):
    settings.DEBUG = True

    assert demo_logins(run("seed", *SMALL))["manager"] == "manager-demo-pass"


def test_with_debug_off_the_demo_passwords_are_random(settings):
    settings.DEBUG = False

    logins = demo_logins(run("seed", *SMALL))

    assert "manager-demo-pass" not in logins.values()
    assert len(set(logins.values())) == 3 and min(len(password) for password in logins.values()) >= 16
    assert authenticate(username="manager", password="manager-demo-pass") is None


def test_seeding_if_empty_leaves_a_store_with_articles_alone_and_prints_the_known_logins(settings):
    settings.DEBUG = True
    ArticleFactory()

    output = run("seed", "--if-empty", *SMALL)

    assert Article.objects.count() == 1
    assert not User.objects.filter(role=Role.CUSTOMER).exists()
    assert demo_logins(output)["clerk"] == "clerk-demo-pass"


def test_with_debug_off_seeding_if_empty_prints_no_password_it_does_not_know(settings):
    settings.DEBUG = False
    ArticleFactory()

    output = run("seed", "--if-empty", *SMALL)

    assert demo_logins(output) == {}
    assert "changepassword" in output


def test_seeding_a_store_with_articles_fails_without_if_empty():
    ArticleFactory()

    with pytest.raises(CommandError, match="already has articles"):
        run("seed", *SMALL)
    assert Article.objects.count() == 1

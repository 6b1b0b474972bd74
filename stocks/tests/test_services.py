import pytest
from django.db import IntegrityError, transaction

from articles.tests.factories import ArticleFactory
from core.errors import NotFound
from stocks.errors import InvalidQuantity, InvalidStockLimits, StockLimitExceeded
from stocks.models import MovementKind, Stock, StockMovement
from stocks.services import stock_adjust, stock_restock, stock_restock_many, stock_set_limits

from .invariants import assert_stock_matches_ledger

pytestmark = pytest.mark.django_db


def quantity_of(article) -> int:
    return Stock.objects.get(article=article).quantity


def limited_article(*, quantity: int, max_quantity: int | None, min_quantity: int = 0, user=None):
    """An article holding `quantity` units (booked by a restock) under the given limits."""
    article = ArticleFactory(stock__min_quantity=min_quantity, stock__max_quantity=max_quantity)
    if quantity:
        stock_restock(article_id=article.pk, quantity=quantity, reference="initial", user=user)
    return article


# --- restock -----------------------------------------------------------------------------------


def test_restocking_adds_units_and_writes_a_ledger_line(manager):
    article = limited_article(quantity=5, max_quantity=None)

    stock = stock_restock(article_id=article.pk, quantity=7, reference="delivery 42", user=manager)

    assert stock.quantity == 12
    assert quantity_of(article) == 12
    movement = StockMovement.objects.filter(article=article).latest("id")
    assert (movement.delta, movement.quantity_after) == (7, 12)
    assert movement.kind == MovementKind.RESTOCK
    assert movement.reference == "delivery 42"
    assert movement.user == manager
    assert_stock_matches_ledger([article.pk])


def test_restocking_up_to_exactly_the_maximum_is_allowed(manager):
    article = limited_article(quantity=8, max_quantity=10)

    stock_restock(article_id=article.pk, quantity=2, reference="delivery", user=manager)

    assert quantity_of(article) == 10


def test_restocking_past_the_maximum_is_refused_and_changes_nothing(manager):
    article = limited_article(quantity=8, max_quantity=10)
    movements_before = StockMovement.objects.count()

    with pytest.raises(StockLimitExceeded) as refused:
        stock_restock(article_id=article.pk, quantity=3, reference="delivery", user=manager)

    assert refused.value.details == {
        "lines": [
            {"article": article.pk, "sku": article.sku, "quantity": 8, "requested": 3, "max_quantity": 10}
        ]
    }
    assert quantity_of(article) == 8
    assert StockMovement.objects.count() == movements_before


def test_restocking_many_articles_books_each_with_its_own_ledger_line(manager):
    first, second = ArticleFactory(), ArticleFactory()

    stocks = stock_restock_many(quantities={second.pk: 4, first.pk: 6}, reference="delivery 7", user=manager)

    assert [(s.article_id, s.quantity) for s in stocks] == [(first.pk, 6), (second.pk, 4)]
    assert (quantity_of(first), quantity_of(second)) == (6, 4)
    lines = StockMovement.objects.filter(reference="delivery 7").order_by("article_id")
    assert [(m.article_id, m.delta, m.kind, m.user_id) for m in lines] == [
        (first.pk, 6, MovementKind.RESTOCK, manager.pk),
        (second.pk, 4, MovementKind.RESTOCK, manager.pk),
    ]


def test_restocking_many_is_all_or_nothing_when_one_article_would_overflow(manager):
    roomy = limited_article(quantity=1, max_quantity=None)
    full = limited_article(quantity=9, max_quantity=10)
    movements_before = StockMovement.objects.count()

    with pytest.raises(StockLimitExceeded) as refused:
        stock_restock_many(quantities={roomy.pk: 5, full.pk: 2}, reference="delivery", user=manager)

    assert [line["article"] for line in refused.value.details["lines"]] == [full.pk]
    assert (quantity_of(roomy), quantity_of(full)) == (1, 9)
    assert StockMovement.objects.count() == movements_before


def test_restocking_many_with_an_unknown_article_is_not_found_and_changes_nothing(manager):
    article = limited_article(quantity=1, max_quantity=None)
    movements_before = StockMovement.objects.count()

    with pytest.raises(NotFound):
        stock_restock_many(quantities={article.pk: 5, article.pk + 1000: 1}, reference="x", user=manager)

    assert quantity_of(article) == 1
    assert StockMovement.objects.count() == movements_before


# --- adjust ------------------------------------------------------------------------------------


def test_adjusting_sets_the_counted_quantity_and_the_ledger_records_the_difference(manager):
    article = limited_article(quantity=10, max_quantity=None)

    stock = stock_adjust(article_id=article.pk, quantity=7, reason="inventory: broken", user=manager)

    assert stock.quantity == 7
    assert quantity_of(article) == 7
    movement = StockMovement.objects.filter(article=article).latest("id")
    assert (movement.delta, movement.quantity_after) == (-3, 7)
    assert movement.kind == MovementKind.ADJUSTMENT
    assert movement.reference == "inventory: broken"
    assert movement.user == manager

    stock_adjust(article_id=article.pk, quantity=12, reason="inventory: found", user=manager)

    movement = StockMovement.objects.filter(article=article).latest("id")
    assert (movement.delta, movement.quantity_after) == (5, 12)
    assert_stock_matches_ledger([article.pk])


def test_adjusting_above_the_maximum_is_refused_and_changes_nothing(manager):
    article = limited_article(quantity=4, max_quantity=10)
    movements_before = StockMovement.objects.count()

    with pytest.raises(StockLimitExceeded) as refused:
        stock_adjust(article_id=article.pk, quantity=11, reason="inventory", user=manager)

    assert refused.value.fields == {"quantity": [refused.value.message]}
    assert quantity_of(article) == 4
    assert StockMovement.objects.count() == movements_before


@pytest.mark.parametrize("quantity", [-1, 1_000_001, 2.5, "7"])
def test_adjusting_to_an_impossible_count_is_refused(manager, quantity):
    article = limited_article(quantity=4, max_quantity=None)
    movements_before = StockMovement.objects.count()

    with pytest.raises(InvalidQuantity):
        stock_adjust(article_id=article.pk, quantity=quantity, reason="typo", user=manager)

    assert quantity_of(article) == 4
    assert StockMovement.objects.count() == movements_before


@pytest.mark.parametrize("quantity", [0, -5, 10**12])
def test_restocking_an_impossible_quantity_is_refused_and_changes_nothing(manager, quantity):
    article = limited_article(quantity=4, max_quantity=None)
    movements_before = StockMovement.objects.count()

    with pytest.raises(InvalidQuantity):
        stock_restock_many(quantities={article.pk: quantity}, reference="DN-1", user=manager)

    assert quantity_of(article) == 4
    assert StockMovement.objects.count() == movements_before


def test_adjusting_an_article_without_stock_is_not_found(manager):
    with pytest.raises(NotFound):
        stock_adjust(article_id=987654, quantity=1, reason="inventory", user=manager)


# --- limits ------------------------------------------------------------------------------------


def test_setting_limits_stores_them_without_touching_the_quantity():
    article = limited_article(quantity=5, max_quantity=None)
    movements_before = StockMovement.objects.count()

    stock_set_limits(article_id=article.pk, min_quantity=2, max_quantity=20)

    stock = Stock.objects.get(article=article)
    assert (stock.quantity, stock.min_quantity, stock.max_quantity) == (5, 2, 20)
    assert StockMovement.objects.count() == movements_before


def test_setting_no_maximum_lifts_the_capacity(manager):
    article = limited_article(quantity=10, max_quantity=10)

    stock_set_limits(article_id=article.pk, min_quantity=0, max_quantity=None)
    stock_restock(article_id=article.pk, quantity=100, reference="big delivery", user=manager)

    assert quantity_of(article) == 110


def test_setting_a_minimum_above_the_maximum_is_refused():
    article = limited_article(quantity=0, max_quantity=10, min_quantity=1)

    with pytest.raises(InvalidStockLimits) as refused:
        stock_set_limits(article_id=article.pk, min_quantity=11, max_quantity=10)

    assert "min_quantity" in refused.value.fields
    stock = Stock.objects.get(article=article)
    assert (stock.min_quantity, stock.max_quantity) == (1, 10)


def test_setting_a_maximum_below_the_current_quantity_is_refused():
    article = limited_article(quantity=8, max_quantity=None)

    with pytest.raises(StockLimitExceeded) as refused:
        stock_set_limits(article_id=article.pk, min_quantity=0, max_quantity=7)

    assert "max_quantity" in refused.value.fields
    assert Stock.objects.get(article=article).max_quantity is None


def test_setting_the_maximum_to_exactly_the_current_quantity_is_allowed():
    article = limited_article(quantity=8, max_quantity=None)

    stock_set_limits(article_id=article.pk, min_quantity=0, max_quantity=8)

    assert Stock.objects.get(article=article).max_quantity == 8


# --- the database itself -----------------------------------------------------------------------
# These bypass the services on purpose: they prove the limits hold even for code that forgets them.


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"quantity": -1}, id="negative quantity"),
        pytest.param({"quantity": 11}, id="quantity above max"),
        pytest.param({"min_quantity": -1}, id="negative minimum"),
        pytest.param({"min_quantity": 11}, id="minimum above max"),
    ],
)
def test_the_database_refuses_a_stock_row_outside_its_limits(change):
    article = limited_article(quantity=3, max_quantity=10)

    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(article=article).update(**change)

    stock = Stock.objects.get(article=article)
    assert (stock.quantity, stock.min_quantity, stock.max_quantity) == (3, 0, 10)


def test_the_database_refuses_a_ledger_line_leaving_a_negative_quantity():
    article = ArticleFactory()

    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(article=article, delta=-1, quantity_after=-1, kind=MovementKind.ORDER)

    assert not StockMovement.objects.filter(article=article).exists()

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from articles.errors import ArticleInUse
from articles.models import Article
from articles.services import article_create, article_delete, article_update
from articles.tests.factories import ArticleFactory
from orders.models import OrderStatus
from orders.services import order_create, order_delete
from stocks.errors import InvalidStockLimits
from stocks.models import Stock, StockMovement

pytestmark = pytest.mark.django_db


def test_creating_an_article_creates_its_stock_row_at_zero():
    article = article_create(sku="MUG-01", name="Mug", price=Decimal("7.50"), min_quantity=2, max_quantity=40)

    article.refresh_from_db()
    assert (article.sku, article.name, article.price, article.is_active) == (
        "MUG-01",
        "Mug",
        Decimal("7.50"),
        True,
    )
    stock = Stock.objects.get(article=article)
    assert (stock.quantity, stock.min_quantity, stock.max_quantity) == (0, 2, 40)
    assert not StockMovement.objects.filter(article=article).exists()


def test_creating_an_article_without_limits_leaves_its_capacity_open():
    article = article_create(sku="MUG-02", name="Mug", price=Decimal("7.50"))

    stock = Stock.objects.get(article=article)
    assert (stock.quantity, stock.min_quantity, stock.max_quantity) == (0, 0, None)


def test_creating_an_article_with_a_minimum_above_its_maximum_creates_nothing():
    with pytest.raises(InvalidStockLimits):
        article_create(sku="MUG-03", name="Mug", price=Decimal("7.50"), min_quantity=5, max_quantity=4)

    assert not Article.objects.filter(sku="MUG-03").exists()
    assert not Stock.objects.exists()


def test_creating_an_article_with_a_taken_sku_is_refused():
    ArticleFactory(sku="MUG-04")

    with pytest.raises(ValidationError) as refused:
        article_create(sku="MUG-04", name="Another mug", price=Decimal("3.00"))

    assert "sku" in refused.value.message_dict
    assert Article.objects.filter(sku="MUG-04").count() == 1


@pytest.mark.parametrize("price", [Decimal("0"), Decimal("-1.00")])
def test_creating_an_article_without_a_positive_price_is_refused(price):
    with pytest.raises(ValidationError) as refused:
        article_create(sku="MUG-05", name="Mug", price=price)

    assert "price" in refused.value.message_dict
    assert not Article.objects.filter(sku="MUG-05").exists()


def test_updating_an_article_changes_the_given_fields():
    article = ArticleFactory(name="Mug", price=Decimal("7.50"))

    article_update(article=article, name="Big mug", price=Decimal("9.00"), is_active=False)

    article.refresh_from_db()
    assert (article.name, article.price, article.is_active) == ("Big mug", Decimal("9.00"), False)


def test_updating_a_field_that_is_not_editable_is_refused_and_changes_nothing():
    article = ArticleFactory(name="Mug")

    with pytest.raises(TypeError, match=r"not editable: \['created_at'\]"):
        article_update(article=article, name="Big mug", created_at=None)

    article.refresh_from_db()
    assert article.name == "Mug"


def test_deleting_an_article_without_history_removes_it_and_its_stock():
    article = ArticleFactory()
    article_id = article.pk

    article_delete(article=article)

    assert not Article.objects.filter(pk=article_id).exists()
    assert not Stock.objects.filter(article_id=article_id).exists()


def test_deleting_an_article_that_appears_in_orders_is_refused(stocked_article, customer, clerk):
    article = stocked_article(quantity=5)
    order_create(customer=customer, lines=[{"article": article.pk, "quantity": 2}], created_by=clerk)

    with pytest.raises(ArticleInUse):
        article_delete(article=article)

    assert Article.objects.filter(pk=article.pk).exists()
    assert Stock.objects.get(article=article).quantity == 3


def test_deleting_an_article_with_stock_movements_is_refused_even_once_its_orders_are_gone(
    stocked_article, customer, clerk
):
    article = stocked_article(quantity=5)
    order = order_create(customer=customer, lines=[{"article": article.pk, "quantity": 2}], created_by=clerk)
    assert order.status == OrderStatus.PENDING
    order_delete(order_id=order.pk, user=clerk)

    with pytest.raises(ArticleInUse):
        article_delete(article=article)

    assert Article.objects.filter(pk=article.pk).exists()
    assert StockMovement.objects.filter(article=article).count() == 3

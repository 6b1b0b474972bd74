"""article_create_many: many articles with their stock rows, all or nothing."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from articles.models import Article
from articles.services import article_create_many
from stocks.errors import InvalidStockLimits
from stocks.models import Stock

pytestmark = pytest.mark.django_db


def test_creating_many_articles_gives_each_its_stock_row_with_its_limits():
    tea, mug = article_create_many(
        articles=[
            {"sku": "TEA-1", "name": "Tea", "price": Decimal("4.50"), "min_quantity": 5, "max_quantity": 50},
            {"sku": "MUG-1", "name": "Mug", "price": Decimal("9.00"), "is_active": False},
        ]
    )

    assert Article.objects.get(pk=tea.pk).sku == "TEA-1"
    assert not Article.objects.get(pk=mug.pk).is_active
    stocks = {stock.article_id: stock for stock in Stock.objects.all()}
    assert (stocks[tea.pk].quantity, stocks[tea.pk].min_quantity, stocks[tea.pk].max_quantity) == (0, 5, 50)
    assert (stocks[mug.pk].min_quantity, stocks[mug.pk].max_quantity) == (0, None)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({"price": Decimal("0")}, ValidationError),
        ({"min_quantity": 9, "max_quantity": 3}, InvalidStockLimits),
    ],
)
def test_one_bad_article_creates_none(bad, error):
    good = {"sku": "TEA-1", "name": "Tea", "price": Decimal("4.50")}

    with pytest.raises(error):
        article_create_many(articles=[good, {**good, "sku": "MUG-1", **bad}])

    assert not Article.objects.exists()
    assert not Stock.objects.exists()

from decimal import Decimal

import factory

from articles.models import Article
from stocks.models import Stock


class ArticleFactory(factory.django.DjangoModelFactory):
    """An article with its stock row, as articles.services.article_create makes them."""

    class Meta:
        model = Article
        skip_postgeneration_save = True

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("word")
    price = Decimal("9.99")
    stock = factory.RelatedFactory("articles.tests.factories.StockFactory", factory_related_name="article")


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    quantity = 0

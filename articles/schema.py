"""GraphQL door to the catalogue: articles with their stock level, read through articles.selectors."""

import graphene
from graphene_django import DjangoObjectType

from stocks.schema import StockLevel
from store_infra.graphql.arguments import database_id, one_of
from store_infra.graphql.pagination import CountedConnection, page_arguments, paginate
from store_infra.graphql.permissions import require

from . import selectors
from .models import Article as ArticleModel


class Article(DjangoObjectType):
    """Something the store sells. `id` is the id of the REST API (`/api/v1/articles/<id>/`)."""

    stock = graphene.Field(StockLevel, description="Null only for an article without a stock row.")

    class Meta:
        model = ArticleModel
        fields = ("id", "sku", "name", "description", "price", "is_active", "created_at", "updated_at")


class ArticleConnection(CountedConnection):
    class Meta:
        node = Article


class Query(graphene.ObjectType):
    articles = graphene.Field(
        ArticleConnection,
        required=True,
        search=graphene.String(description="Part of a name or SKU."),
        is_active=graphene.Boolean(),
        min_price=graphene.Decimal(),
        max_price=graphene.Decimal(),
        low_stock_only=graphene.Boolean(description="Only articles at or below their reorder point."),
        **page_arguments(),
        description="Articles by id, with their stock level.",
    )
    article = graphene.Field(
        Article,
        id=graphene.ID(),
        sku=graphene.String(),
        description="One article by `id` or `sku` (exactly one); null if there is none.",
    )

    @require("articles.view_article")
    def resolve_articles(root, info, first=None, after=None, **filters):
        """The REST list's filters (articles.filters.ArticleFilter), as arguments."""
        articles = selectors.article_list(filters=filters)
        return paginate(ArticleConnection, articles, first=first, after=after)

    @require("articles.view_article")
    def resolve_article(root, info, id=None, sku=None):
        name, value = one_of(id=id, sku=sku)
        lookup = {"sku": value} if name == "sku" else {"pk": database_id(name, value)}
        return selectors.article_list().filter(**lookup).first()

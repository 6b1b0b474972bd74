"""The one GraphQL schema, served at /graphql/, assembled from the apps' own `schema.py`.

Only articles and stock are exposed: suppliers use this endpoint, so nothing here reaches customers,
orders or users (core/tests/test_graphql.py checks it).
"""

import graphene

from articles.schema import Query as ArticleQuery
from stocks.schema import Mutation as StockMutation
from stocks.schema import Query as StockQuery


class Query(ArticleQuery, StockQuery, graphene.ObjectType):
    """Articles and their stock; the stock report for staff."""


class Mutation(StockMutation, graphene.ObjectType):
    """Deliveries (restocks)."""


schema = graphene.Schema(query=Query, mutation=Mutation)

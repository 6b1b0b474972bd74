"""The one GraphQL schema, served at /graphql/, assembled from the apps' own `schema.py`.

Only articles and stock are exposed: suppliers use this endpoint, so nothing here reaches customers,
orders or users (store_infra/tests/test_graphql.py checks it).
"""

import graphene

from articles.schema import Query as ArticleQuery
from stocks.schema import Mutation as StockMutation
from stocks.schema import Query as StockQuery
from users.models import Role


class Query(ArticleQuery, StockQuery, graphene.ObjectType):
    """Articles and their stock; the stock report for staff."""


class Mutation(StockMutation, graphene.ObjectType):
    """Deliveries (restocks)."""


schema = graphene.Schema(query=Query, mutation=Mutation)


SUPPLIER_STARTER = """# What to deliver: the articles at or below their
# reorder point, and the units that fill each up.
query LowStock {
  lowStock { sku name quantity maxQuantity missing }
}

# Book a delivery (all of it, or nothing): put the SKUs
# and quantities from LowStock, then run Deliver.
mutation Deliver {
  restockMany(
    reference: "DN-0001"
    items: [{ sku: "A-SKU-FROM-LOWSTOCK", quantity: 1 }]
  ) {
    stocks { sku quantity isLow }
    errors { code message field }
  }
}
"""
STAFF_STARTER = """# The stock report's totals, and the articles at or
# below their reorder point.
query LowStockReport {
  stockReport(isLow: true) {
    totals { articles units stockValue lowStock }
    articles { sku name quantity minQuantity value }
  }
}
"""
# The query GraphiQL opens on for each role, when no link (`?query=`) says otherwise.
GRAPHIQL_STARTERS = {Role.SUPPLIER: SUPPLIER_STARTER, Role.CLERK: STAFF_STARTER, Role.MANAGER: STAFF_STARTER}

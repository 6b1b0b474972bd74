"""GraphQL door to stock: levels, low stock, the stock report, the ledger, and deliveries.

Reads go through stocks.selectors and deliveries through stocks.services.stock_deliver, as in
`manage.py restock` and the admin; this module only parses, calls and shapes.
"""

import graphene
from django.utils.dateparse import parse_datetime
from graphene_django import DjangoObjectType

from core.errors import DomainError
from store_infra.graphql.arguments import database_id, one_of, text
from store_infra.graphql.errors import MutationError, graphql_error, mutation_error
from store_infra.graphql.pagination import CountedConnection, page_arguments, paginate
from store_infra.graphql.permissions import require

from . import selectors, services
from .errors import DeliveryRefused
from .models import MAX_UNITS, MovementKind, Stock
from .models import StockMovement as StockMovementModel

# The most lines one restockMany may book; a longer delivery is split by the client.
MAX_RESTOCK_ITEMS = 500
# The stock report's `search`, limited as in the REST API.
SEARCH_LENGTH = 100


class StockLevel(DjangoObjectType):
    """An article's stock: quantity and limits."""

    article_id = graphene.ID(required=True)
    sku = graphene.String(required=True)
    name = graphene.String(required=True)
    is_low = graphene.Boolean(required=True, description="At or below the reorder point (quantity <= min).")
    article = graphene.Field("articles.schema.Article", required=True)

    class Meta:
        model = Stock
        fields = ("quantity", "min_quantity", "max_quantity")

    def resolve_sku(root, info):
        return root.article.sku

    def resolve_name(root, info):
        return root.article.name


class LowStockArticle(graphene.ObjectType):
    """An active article at or below its reorder point, and the delivery that refills it."""

    article_id = graphene.ID(required=True)
    sku = graphene.String(required=True)
    name = graphene.String(required=True)
    quantity = graphene.Int(required=True)
    min_quantity = graphene.Int(required=True, description="Reorder point.")
    max_quantity = graphene.Int(description="Capacity; null for none.")
    target = graphene.Int(
        required=True, description="The level a delivery aims at: maxQuantity if set, else minQuantity."
    )
    missing = graphene.Int(
        required=True,
        description="target - quantity: the units to deliver (0 at the reorder point with no capacity).",
    )


class StockReportRow(graphene.ObjectType):
    article_id = graphene.ID(required=True)
    sku = graphene.String(required=True)
    name = graphene.String(required=True)
    unit_price = graphene.Decimal(required=True)
    quantity = graphene.Int(required=True)
    value = graphene.Decimal(required=True, description="quantity x unitPrice.")
    min_quantity = graphene.Int(required=True)
    max_quantity = graphene.Int()
    is_low = graphene.Boolean(required=True)


class StockReportTotals(graphene.ObjectType):
    articles = graphene.Int(required=True)
    units = graphene.BigInt(required=True)
    stock_value = graphene.Decimal(required=True)
    low_stock = graphene.Int(required=True)


class StockReport(graphene.ObjectType):
    """A page of every article's stock and value, with the totals of all pages: the REST stock
    report, from the same cache."""

    generated_at = graphene.DateTime(required=True)
    totals = graphene.Field(StockReportTotals, required=True, description="Of every page.")
    page = graphene.Int(required=True)
    page_size = graphene.Int(required=True)
    pages = graphene.Int(required=True)
    articles = graphene.List(
        graphene.NonNull(StockReportRow), required=True, description="This page's rows, by article id."
    )

    def resolve_generated_at(root, info):
        return parse_datetime(root["generated_at"])


MovementKindEnum = graphene.Enum.from_enum(
    MovementKind, name="MovementKind", description="What changed a stock level."
)


class StockMovement(DjangoObjectType):
    """One line of the stock ledger (who booked it is not shown)."""

    article_id = graphene.ID(required=True)
    sku = graphene.String(required=True)
    kind = graphene.Field(MovementKindEnum, required=True)

    class Meta:
        model = StockMovementModel
        fields = ("id", "delta", "quantity_after", "reference", "created_at")

    def resolve_sku(root, info):
        return root.article.sku


class StockMovementConnection(CountedConnection):
    class Meta:
        node = StockMovement


class Query(graphene.ObjectType):
    stock = graphene.Field(
        StockLevel,
        sku=graphene.String(),
        article_id=graphene.ID(),
        description="One article's stock level, by `sku` or `articleId` (exactly one); null if none.",
    )
    low_stock = graphene.List(
        graphene.NonNull(LowStockArticle),
        required=True,
        page=graphene.Argument(graphene.NonNull(graphene.Int), default_value=1),
        page_size=graphene.Argument(
            graphene.NonNull(graphene.Int),
            default_value=selectors.REPORT_MAX_PAGE_SIZE,
            description=f"At most {selectors.REPORT_MAX_PAGE_SIZE}, the default.",
        ),
        description=(
            "Active articles at or below their reorder point (quantity <= minQuantity), by article id, "
            "each with `missing`: the units to deliver to reach its capacity (maxQuantity), or its "
            "reorder point (minQuantity) when it has no capacity. A page of the low rows of "
            "stockReport(isLow: true, isActive: true), whose totals say how many there are."
        ),
    )
    stock_report = graphene.Field(
        StockReport,
        required=True,
        search=graphene.String(description="Part of a name or SKU."),
        is_low=graphene.Boolean(description="At or below the reorder point."),
        is_active=graphene.Boolean(),
        page=graphene.Argument(graphene.NonNull(graphene.Int), default_value=1),
        page_size=graphene.Argument(
            graphene.NonNull(graphene.Int),
            default_value=selectors.REPORT_PAGE_SIZE,
            description=f"Rows per page, at most {selectors.REPORT_MAX_PAGE_SIZE}.",
        ),
        description="The stock report of GET /api/v1/reports/stock/, from the same cache.",
    )
    stock_movements = graphene.Field(
        StockMovementConnection,
        required=True,
        sku=graphene.String(description="Only this article's movements."),
        **page_arguments(),
        description="The stock ledger, newest first. Suppliers see deliveries (RESTOCK) only.",
    )

    @require("stocks.view_stock")
    def resolve_stock(root, info, sku=None, article_id=None):
        name, value = one_of(sku=sku, articleId=article_id)
        try:
            if name == "sku":
                return selectors.stock_get_by_sku(sku=value)
            return selectors.stock_get(article_id=database_id(name, value))
        except Stock.DoesNotExist:
            return None

    @require("stocks.view_stock")
    def resolve_low_stock(root, info, page=1, page_size=selectors.REPORT_MAX_PAGE_SIZE):
        return selectors.stock_low_list(page=page, page_size=page_size)

    # The supplier's door to the stock report (REST keeps its report for staff): stock data only,
    # no customers, orders or users.
    @require("stocks.view_stock")
    def resolve_stock_report(
        root, info, search=None, is_low=None, is_active=None, page=1, page_size=selectors.REPORT_PAGE_SIZE
    ):
        search = text("search", search, max_length=SEARCH_LENGTH)
        return selectors.stock_report(
            search=search, is_low=is_low, is_active=is_active, page=page, page_size=page_size
        ).data

    @require("stocks.view_stockmovement")
    def resolve_stock_movements(root, info, sku=None, first=None, after=None):
        movements = selectors.movement_list(actor=info.context.user, sku=sku)
        return paginate(StockMovementConnection, movements, first=first, after=after, newest_first=True)


# --- deliveries -----------------------------------------------------------------------------------


def _input_path(problem: dict) -> str:
    """Where the problem is in the mutation's input: `sku`, `items.2.quantity`, `reference`."""
    field = "items" if problem["field"] == "lines" else problem["field"]
    return f"{problem['place']}.{field}" if problem["place"] else field


def _deliver(lines: list[services.DeliveryLine], reference: str, user) -> tuple[list | None, list]:
    """Book every line or none (stocks.services.stock_deliver): the new levels in the order of
    `lines`, or every reason nothing was booked, each pointing at its input (`items.2.sku`)."""
    try:
        booked = services.stock_deliver(lines=lines, reference=reference, user=user)
    except DeliveryRefused as refused:
        return None, [
            MutationError(code=problem["code"], message=problem["message"], field=_input_path(problem))
            for problem in refused.details["problems"]
        ]
    except DomainError as error:
        return None, [mutation_error(error)]
    ids = [stock.article_id for stock in booked]
    levels = {stock.article_id: stock for stock in selectors.stock_list().filter(article_id__in=ids)}
    return [levels[article_id] for article_id in ids], []


class RestockItem(graphene.InputObjectType):
    sku = graphene.String(required=True)
    quantity = graphene.Int(required=True, description=f"Units delivered, from 1 to {MAX_UNITS}.")


class RestockPayload(graphene.ObjectType):
    stock = graphene.Field(StockLevel, description="The new level; null when nothing was booked.")
    errors = graphene.List(
        graphene.NonNull(MutationError), required=True, description="Why nothing was booked; empty if booked."
    )


class RestockManyPayload(graphene.ObjectType):
    stocks = graphene.List(
        graphene.NonNull(StockLevel), description="The new levels, in the order of `items`; null if refused."
    )
    errors = graphene.List(
        graphene.NonNull(MutationError), required=True, description="Why nothing was booked; empty if booked."
    )


def _reference_argument():
    return graphene.String(
        required=True,
        description=f"Delivery note or supplier reference, 1 to {services.REFERENCE_LENGTH} characters.",
    )


class Restock(graphene.Mutation):
    """Book a delivery of one article: adds `quantity` units, up to its capacity."""

    class Arguments:
        sku = graphene.String(required=True)
        quantity = graphene.Int(required=True, description=f"Units delivered, from 1 to {MAX_UNITS}.")
        reference = _reference_argument()

    Output = RestockPayload

    @require("stocks.restock")
    def mutate(root, info, sku, quantity, reference):
        stocks, errors = _deliver([services.DeliveryLine("", sku, quantity)], reference, info.context.user)
        return RestockPayload(stock=stocks[0] if stocks else None, errors=errors)


class RestockMany(graphene.Mutation):
    """Book a delivery of several articles, all or nothing: one refused line and none is booked."""

    class Arguments:
        items = graphene.List(
            graphene.NonNull(RestockItem),
            required=True,
            description=f"One item per article (no SKU twice), at most {MAX_RESTOCK_ITEMS}.",
        )
        reference = _reference_argument()

    Output = RestockManyPayload

    @require("stocks.restock")
    def mutate(root, info, items, reference):
        if len(items) > MAX_RESTOCK_ITEMS:
            raise graphql_error(
                "too_many_items",
                f"A delivery holds at most {MAX_RESTOCK_ITEMS} items, not {len(items)}; nothing was booked.",
                field="items",
            )
        lines = [services.DeliveryLine(f"items.{n}", item.sku, item.quantity) for n, item in enumerate(items)]
        stocks, errors = _deliver(lines, reference, info.context.user)
        return RestockManyPayload(stocks=stocks, errors=errors)


class Mutation(graphene.ObjectType):
    restock = Restock.Field()
    restock_many = RestockMany.Field()

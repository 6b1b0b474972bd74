from django.db.models import QuerySet

from users.models import Role

from .models import MovementKind, Stock, StockMovement


def stock_list() -> QuerySet[Stock]:
    """Stock levels with their article (filter low rows with models.LOW_STOCK)."""
    return Stock.objects.select_related("article").order_by("article_id")


def stock_get(*, article_id: int) -> Stock:
    return stock_list().get(article_id=article_id)


def movement_list(*, actor=None) -> QuerySet[StockMovement]:
    """The ledger, newest first. Suppliers see deliveries only: orders are none of their business."""
    movements = StockMovement.objects.select_related("article", "user").order_by("-id")
    if actor is not None and actor.role == Role.SUPPLIER:
        movements = movements.filter(kind=MovementKind.RESTOCK)
    return movements

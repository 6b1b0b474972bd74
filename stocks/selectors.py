from django.db.models import QuerySet

from .models import Stock, StockMovement


def stock_list() -> QuerySet[Stock]:
    """Stock levels with their article (filter low rows with models.LOW_STOCK)."""
    return Stock.objects.select_related("article").order_by("article_id")


def stock_get(*, article_id: int) -> Stock:
    return stock_list().get(article_id=article_id)


def movement_list() -> QuerySet[StockMovement]:
    return StockMovement.objects.select_related("article", "user").order_by("-id")

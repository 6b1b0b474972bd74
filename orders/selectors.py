from django.db.models import Prefetch, QuerySet

from core.errors import NotFound
from users.models import Role

from .models import Order, OrderLine


def order_list(*, actor=None) -> QuerySet[Order]:
    """Orders with their customer and lines in three queries whatever the page size.

    Customers see only their own orders.
    """
    orders = Order.objects.select_related("customer").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("article").order_by("id"))
    )
    if actor is not None and actor.role == Role.CUSTOMER:
        orders = orders.filter(customer=actor)
    return orders.order_by("-id")


def order_get(*, order_id: int, actor=None) -> Order:
    order = order_list(actor=actor).filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order

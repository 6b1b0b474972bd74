"""The admin index's dashboard: what staff look at first each day (templates/admin/store_index.html)."""

from datetime import datetime, time
from urllib.parse import urlencode

from django import template
from django.utils import timezone

from orders.models import OrderStatus, PaymentStatus
from orders.selectors import order_day_summary
from stocks.selectors import stock_low_count

register = template.Library()

# The admin's filters for the orders whose money the store keeps (paid, not refunded).
PAID_AND_KEPT = {"status__exact": OrderStatus.PAID, "payment_status__exact": PaymentStatus.PAID}


@register.simple_tag
def store_dashboard() -> dict:
    """The active articles to reorder, today's orders and paid sales, and unpaid orders, each with the
    admin list that shows them; a few indexed queries, whatever the size of the store."""
    today = timezone.localdate()
    since = timezone.make_aware(datetime.combine(today, time.min))
    day = order_day_summary(since=since)
    placed_today = urlencode({"created_at__gte": str(since)})  # as the admin's own date filter writes it
    return {
        "low_stock": stock_low_count(),
        "low_stock_filter": "low=yes&article__is_active__exact=1",
        "placed": day["placed"],
        "placed_filter": placed_today,
        "sales": day["sales"],
        "sales_filter": f"{placed_today}&{urlencode(PAID_AND_KEPT)}",
        "unpaid": day["unpaid"],
        "unpaid_filter": f"status__exact={OrderStatus.PENDING}",
    }

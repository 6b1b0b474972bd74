import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from articles.models import Article
from core.errors import NotFound
from store_infra.cache import CachedJSON, CachedRead
from users.models import Role, User

from .models import Order, OrderLine, OrderStatus, PaymentStatus

CENT = Decimal("0.01")
MONEY = DecimalField(max_digits=14, decimal_places=2)

# The REST order list's pages: orders with their lines' articles and their customer's name.
ORDER_PAGES = CachedRead("order-list", depends_on=(Order, OrderLine, Article, User))
BEST_SELLERS = CachedRead("best-sellers", depends_on=(Order, OrderLine, Article))
TOP_CUSTOMERS = CachedRead("top-customers", depends_on=(Order, User))


def order_list(*, actor=None) -> QuerySet[Order]:
    """Orders with their customer and lines in four queries whatever the page size.

    Customers see only their own orders. The customers are fetched apart rather than joined: with
    the join, MySQL reads orders through the customer index and sorts them all for every page.
    """
    orders = Order.objects.prefetch_related(
        "customer", Prefetch("lines", queryset=OrderLine.objects.select_related("article").order_by("id"))
    )
    if actor is not None and actor.role == Role.CUSTOMER:
        orders = orders.filter(customer=actor)
    return orders.order_by("-id")


def order_get(*, order_id: int) -> Order:
    order = order_list().filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order


def _in_period(orders_or_lines: QuerySet, prefix: str, since: datetime | None, until: datetime | None):
    if since is not None:
        orders_or_lines = orders_or_lines.filter(**{f"{prefix}created_at__gte": since})
    if until is not None:
        orders_or_lines = orders_or_lines.filter(**{f"{prefix}created_at__lt": until})
    return orders_or_lines


def _best_sellers(*, limit: int, since: datetime | None, until: datetime | None) -> dict:
    lines = _in_period(
        OrderLine.objects.exclude(order__status=OrderStatus.CANCELLED), "order__", since, until
    )
    rows = list(
        lines.values("article_id")
        .annotate(
            sku=F("article__sku"),
            name=F("article__name"),
            units=Sum("quantity"),
            orders=Count("order_id", distinct=True),
            revenue=Sum(F("quantity") * F("unit_price"), output_field=MONEY),
        )
        .order_by("-units", "article_id")[:limit]
    )
    for row in rows:
        row["revenue"] = Decimal(row["revenue"]).quantize(CENT)
    return {"generated_at": timezone.now(), "since": since, "until": until, "results": rows}


def _top_customers(*, limit: int, since: datetime | None, until: datetime | None) -> dict:
    paid = Order.objects.filter(status=OrderStatus.PAID).exclude(payment_status=PaymentStatus.REFUNDED)
    orders = _in_period(paid, "", since, until)
    rows = list(
        orders.values("customer_id")
        .annotate(
            username=F("customer__username"),
            first_name=F("customer__first_name"),
            last_name=F("customer__last_name"),
            orders=Count("id"),
            spent=Sum("total"),
        )
        .order_by("-spent", "customer_id")[:limit]
    )
    for row in rows:
        row["spent"] = Decimal(row["spent"]).quantize(CENT)
    return {"generated_at": timezone.now(), "since": since, "until": until, "results": rows}


def _cached_sales_report(cached: CachedRead, compute, **params) -> CachedJSON:
    digest = hashlib.blake2b(json.dumps(params, sort_keys=True, default=str).encode(), digest_size=12)
    return cached.get(digest.hexdigest(), compute=lambda: compute(**params))


def order_best_sellers(
    *, limit: int = 10, since: datetime | None = None, until: datetime | None = None
) -> CachedJSON:
    """Articles by units sold in orders that were not cancelled; one query, cached until an order changes."""
    return _cached_sales_report(BEST_SELLERS, _best_sellers, limit=limit, since=since, until=until)


def order_top_customers(
    *, limit: int = 10, since: datetime | None = None, until: datetime | None = None
) -> CachedJSON:
    """Customers by amount spent in paid orders; one query, cached until an order changes."""
    return _cached_sales_report(TOP_CUSTOMERS, _top_customers, limit=limit, since=since, until=until)


def order_day_summary(*, since: datetime) -> dict:
    """The back office's day at a glance: the orders placed since `since` and the money of those of
    them paid (and not refunded, as in the sales reports), then every order still waiting for its
    payment. Two queries, each on an index (created_at, status), whatever the number of orders."""
    kept = Q(status=OrderStatus.PAID) & ~Q(payment_status=PaymentStatus.REFUNDED)
    day = Order.objects.filter(created_at__gte=since).aggregate(
        placed=Count("id"), sales=Sum("total", filter=kept, default=Decimal("0.00"))
    )
    return {**day, "unpaid": Order.objects.filter(status=OrderStatus.PENDING).count()}


def order_ids_to_sync(*, limit: int, max_age_days: int | None = None) -> list[int]:
    """The orders whose payment the store may be wrong about, newest first, at most `limit`.

    Pending orders (their payment may be missing, or paid with the notification lost), cancelled
    orders whose payment was made meanwhile (owed a refund), and paid ones (their payment may have
    been refunded at payments, the notification lost). Newest first: a lost notification is most
    likely recent, and an order pending for weeks most likely abandoned.
    """
    orders = Order.objects.filter(
        Q(status=OrderStatus.PENDING)
        | Q(status__in=[OrderStatus.CANCELLED, OrderStatus.PAID], payment_status=PaymentStatus.PAID)
    )
    if max_age_days:
        orders = orders.filter(created_at__gte=timezone.now() - timedelta(days=max_age_days))
    return list(orders.order_by("-id").values_list("pk", flat=True)[:limit])

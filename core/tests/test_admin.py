import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import IdempotencyKey
from core.tests.admin_pages import admin_url, assert_changelist_queries_flat, logged_in
from orders.models import Order, OrderStatus, PaymentStatus
from orders.services import order_create

pytestmark = pytest.mark.django_db


def keys_of(user):
    def add(count: int) -> None:
        start = IdempotencyKey.objects.count()
        IdempotencyKey.objects.bulk_create(
            IdempotencyKey(
                user=user,
                scope="orders.create",
                key=f"key-{start + n}",
                fingerprint="0" * 64,
                response_status=201,
                response_body={},
            )
            for n in range(count)
        )

    return add


def test_the_idempotency_keys_list_costs_the_same_queries_for_5_or_50_keys(
    manager, django_assert_num_queries
):
    assert_changelist_queries_flat(
        logged_in(manager), IdempotencyKey, keys_of(manager), django_assert_num_queries
    )


def test_idempotency_keys_are_read_only_even_for_a_manager(manager):
    keys_of(manager)(1)
    key = IdempotencyKey.objects.get()
    client = logged_in(manager)

    assert client.get(admin_url(IdempotencyKey, "change", key.pk)).status_code == 200
    assert client.get(admin_url(IdempotencyKey, "add")).status_code == 403
    assert client.post(admin_url(IdempotencyKey, "change", key.pk), {"key": "other"}).status_code == 403
    assert client.post(admin_url(IdempotencyKey, "delete", key.pk), {"post": "yes"}).status_code == 403
    assert IdempotencyKey.objects.get().key == "key-0"


def test_clerks_do_not_see_idempotency_keys(clerk):
    assert logged_in(clerk).get(admin_url(IdempotencyKey)).status_code == 403


def test_the_admin_index_shows_the_day_at_a_glance_with_links_to_the_rows(clerk, customer, stocked_article):
    tea = stocked_article(20, sku="TEA-1", price=Decimal("4.50"), stock__min_quantity=5)
    stocked_article(1, sku="LOW-1", stock__min_quantity=5)
    paid = order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 2}], created_by=clerk)
    order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 1}], created_by=clerk)
    Order.objects.filter(pk=paid.pk).update(status=OrderStatus.PAID, payment_status=PaymentStatus.PAID)
    refunded = order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 1}], created_by=clerk)
    Order.objects.filter(pk=refunded.pk).update(
        status=OrderStatus.PAID, payment_status=PaymentStatus.REFUNDED
    )
    yesterday = order_create(customer=customer, lines=[{"article": tea.pk, "quantity": 1}], created_by=clerk)
    Order.objects.filter(pk=yesterday.pk).update(
        status=OrderStatus.PAID, created_at=timezone.now() - timedelta(days=1)
    )
    client = logged_in(clerk)

    page = client.get(reverse("admin:index")).content.decode()

    tiles = {
        label: (figure, html.unescape(link))
        for link, label, figure in re.findall(r'<dt><a href="([^"]+)">([^<]+)</a></dt><dd>([^<]+)</dd>', page)
    }
    figures = {label: figure for label, (figure, _) in tiles.items()}
    assert figures == {"Low stock": "1", "Orders today": "3", "Paid today": "9.00", "Unpaid orders": "1"}
    rows = {label: client.get(link).context["cl"].result_count for label, (_, link) in tiles.items()}
    assert rows == {"Low stock": 1, "Orders today": 3, "Paid today": 1, "Unpaid orders": 1}

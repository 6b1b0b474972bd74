"""The admin index's day at a glance (backoffice/templatetags/store_dashboard.py)."""

import html
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.tests.admin_pages import logged_in
from orders.models import Order, OrderStatus, PaymentStatus
from orders.services import order_create

pytestmark = pytest.mark.django_db


def test_the_admin_index_shows_the_day_at_a_glance_with_links_to_the_rows(clerk, customer, stocked_article):
    tea = stocked_article(20, sku="TEA-1", price=Decimal("4.50"), stock__min_quantity=5)
    stocked_article(1, sku="LOW-1", stock__min_quantity=5)
    stocked_article(0, sku="GONE-1", stock__min_quantity=5, is_active=False)  # not sold: nothing to reorder
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

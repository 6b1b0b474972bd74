"""A clerk places an order from the browsable API's HTML form in a real headless Chromium: no JSON
written, two of the form's five line rows filled, the others left blank. The screenshots are kept
with the test's temporary files (and in var/screenshots/ for a person to look at)."""

import shutil
from decimal import Decimal

import pytest
from django.conf import settings
from playwright.sync_api import expect

from orders.models import Order
from stocks.models import Stock
from stocks.tests.test_report_page_browser import chromium_page
from users.models import Role
from users.tests.factories import UserFactory

PASSWORD = "counter-clerk-password"


@pytest.mark.django_db(transaction=True)
def test_a_clerk_places_an_order_from_the_browsable_apis_html_form(
    live_server, stocked_article, customer, tmp_path
):
    UserFactory(role=Role.CLERK, username="counter", password=PASSWORD)
    tea = stocked_article(10, sku="TEA-1", name="Green tea", price=Decimal("4.20"))
    mug = stocked_article(3, sku="MUG-1", name="Mug", price=Decimal("7.50"))
    shots = []

    with chromium_page() as page:
        page.goto(f"{live_server.url}/api-auth/login/?next=/api/v1/orders/")
        page.fill("#id_username", "counter")
        page.fill("#id_password", PASSWORD)
        page.click("#submit-id-submit")
        expect(page.locator("#order-line-0-article")).to_be_visible()

        page.fill("input[name=customer]", str(customer.pk))
        page.fill("#order-line-0-article", str(tea.pk))
        page.fill("#order-line-0-quantity", "2")
        page.fill("#order-line-2-article", str(mug.pk))
        page.fill("#order-line-2-quantity", "1")
        shots.append(tmp_path / "order-form.png")
        page.screenshot(path=shots[-1], full_page=True)
        page.locator("#post-object-form button", has_text="POST").click()

        expect(page.locator(".response-info")).to_contain_text("HTTP 201 Created")
        expect(page.locator(".response-info")).to_contain_text("MUG-1")
        shots.append(tmp_path / "order-placed.png")
        page.screenshot(path=shots[-1], full_page=True)

    order = Order.objects.get()
    assert order.customer == customer
    assert sorted(order.lines.values_list("article__sku", "quantity")) == [("MUG-1", 1), ("TEA-1", 2)]
    assert sorted(Stock.objects.values_list("quantity", flat=True)) == [2, 8]
    kept = settings.BASE_DIR / "var" / "screenshots"
    kept.mkdir(parents=True, exist_ok=True)
    for screenshot in shots:
        assert screenshot.stat().st_size > 10_000, screenshot
        shutil.copy(screenshot, kept / screenshot.name)

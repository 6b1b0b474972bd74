"""The report page in a real headless Chromium (Debian's `chromium`, driven by Playwright).

`make test` installs the browser (scripts/bootstrap.sh --test); without it this test fails rather
than skips, so a missing browser can never pass for a working page.
"""

from contextlib import contextmanager
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect, sync_playwright

from orders.services import order_create
from users.models import Role
from users.tests.factories import UserFactory

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "counter-clerk-password"


@contextmanager
def chromium_page():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package (`make test` does it through "
            "scripts/bootstrap.sh --test).",
            pytrace=False,
        )
    # Playwright drives the browser from an event loop in this thread: the database is set up first.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()


def column(page, index: int) -> list[str]:
    return page.locator(f"#stock-report tbody td:nth-child({index})").all_inner_texts()


@pytest.mark.django_db(transaction=True)
def test_a_clerk_logs_in_and_sees_the_charts_and_sorts_the_stock_table(
    live_server, stocked_article, customer, tmp_path
):
    clerk = UserFactory(role=Role.CLERK, username="counter", password=PASSWORD)
    stocked_article(quantity=2, sku="LOW-1", name="Green tea", stock__min_quantity=5)
    mug = stocked_article(quantity=13, sku="MID-1", name="Blue mug", stock__min_quantity=5)
    stocked_article(quantity=9, sku="TOP-1", name="Red pen", stock__min_quantity=5)
    order_create(customer=customer, lines=[{"article": mug.pk, "quantity": 3}], created_by=clerk)

    with chromium_page() as page:
        page.goto(live_server.url + reverse("admin:login"))
        page.fill("#id_username", "counter")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.get_by_role("link", name="Stock and sales").click()

        expect(page).to_have_url(live_server.url + reverse("admin-reports-stock"))
        expect(page.locator("#stock-chart svg.bar-chart")).to_be_visible()
        expect(page.locator("#stock-chart svg rect")).to_have_count(3)
        expect(page.locator("#stock-chart svg .bar.low rect")).to_have_count(1)
        expect(page.locator("#best-sellers-chart svg rect")).to_have_count(1)
        low_row = page.locator("#stock-report tbody tr.low")
        expect(low_row).to_have_count(1)
        expect(low_row).to_be_visible()
        expect(low_row).to_contain_text("LOW-1")
        backgrounds = page.locator("#stock-report tbody tr td:first-child").evaluate_all(
            "cells => cells.map(cell => getComputedStyle(cell).backgroundColor)"
        )
        assert backgrounds[0] not in backgrounds[1:], "the low-stock row looks like the others"

        assert column(page, 4) == ["2", "10", "9"]
        page.get_by_role("button", name="Quantity").click()
        assert column(page, 4) == ["2", "9", "10"]  # as numbers, not as text
        page.get_by_role("button", name="Quantity").click()
        assert column(page, 1) == ["MID-1", "TOP-1", "LOW-1"]

        screenshot = tmp_path / "stock-report.png"
        page.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 0

"""Swagger UI in a real headless Chromium, under the store's Content-Security-Policy: its scripts
are files of /static/ (drf-spectacular's split view), so the page renders every operation."""

import pytest
from playwright.sync_api import expect

from stocks.tests.test_report_page_browser import chromium_page


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_the_api_under_the_content_security_policy(live_server):
    with chromium_page() as page:
        refused = []
        page.on(
            "console",
            lambda message: (
                refused.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )

        page.goto(f"{live_server.url}/api/v1/docs/")

        expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
        assert page.locator(".swagger-ui .opblock").count() > 20
    assert refused == []

"""GraphiQL in a real headless Chromium: a supplier logs in, finds the starter query of the role,
runs it, opens a link's `?query=`, and the page loads nothing from outside the store (the vendored
bundles of store_infra/static/graphiql/ work together)."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from core.tests.test_staff_pages_browser import SCREENSHOTS
from stocks.tests.test_report_page_browser import chromium_page
from users.models import Role
from users.tests.factories import UserFactory

PASSWORD = "delivery-van-password"
LINKED_QUERY = "{ lowStock { sku quantity } }"


@pytest.mark.django_db(transaction=True)
def test_a_supplier_opens_graphiql_on_the_starter_query_runs_it_and_opens_a_link_with_nothing_from_a_cdn(
    live_server, stocked_article
):
    UserFactory(role=Role.SUPPLIER, username="van", password=PASSWORD)
    stocked_article(2, sku="LOW-1", stock__min_quantity=5)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium_page() as page:
        elsewhere = []

        def only_the_store(route):
            if route.request.url.startswith((live_server.url, "data:")):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_store)
        page.goto(f"{live_server.url}/graphql/")
        # Anonymous: sent to the login page, then back.
        page.fill("#id_username", "van")
        page.fill("#id_password", PASSWORD)
        page.click("#submit-id-submit")
        expect(page).to_have_url(f"{live_server.url}/graphql/")

        expect(page.locator(".graphiql-container")).to_be_visible()
        editor = page.locator(".graphiql-query-editor .CodeMirror")
        # The supplier's starter: what is low, and a delivery to book.
        assert "query LowStock" in editor.evaluate("editor => editor.CodeMirror.getValue()")
        page.locator(".graphiql-execute-button").click()
        page.get_by_role("menuitem", name="LowStock").click()

        response = page.locator(".graphiql-response")
        expect(response).to_contain_text('"sku": "LOW-1"')
        expect(response).to_contain_text('"missing": 3')
        page.screenshot(path=SCREENSHOTS / "graphiql-starter.png")

        # A link opens on its own query, and runs it as it is.
        page.goto(f"{live_server.url}/graphql/?{urlencode({'query': LINKED_QUERY})}")
        expect(editor).to_contain_text("lowStock { sku quantity }")
        page.locator(".graphiql-execute-button").click()
        expect(response).to_contain_text('"quantity": 2')
        page.screenshot(path=SCREENSHOTS / "graphiql-link.png")

        # A query too long for a link leaves the address bare, and a reload still opens on it.
        long_query = "{ lowStock { sku quantity } }\n" + "# a supplier's long note\n" * 200
        editor.evaluate("(editor, query) => editor.CodeMirror.setValue(query)", long_query)
        expect(page).to_have_url(f"{live_server.url}/graphql/")
        page.reload()
        expect(editor).to_contain_text("a supplier's long note")
    assert elsewhere == []

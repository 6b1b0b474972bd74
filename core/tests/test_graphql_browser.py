"""GraphiQL in a real headless Chromium: a supplier logs in, runs a query, and the page loads nothing
from outside the store (the vendored bundles of core/static/graphiql/ work together)."""

import pytest
from playwright.sync_api import expect

from stocks.tests.test_report_page_browser import chromium_page
from users.models import Role
from users.tests.factories import UserFactory

PASSWORD = "delivery-van-password"
QUERY = "{ lowStock { sku missing } }"


@pytest.mark.django_db(transaction=True)
def test_a_supplier_runs_a_query_in_graphiql_with_nothing_loaded_from_a_cdn(live_server, stocked_article):
    UserFactory(role=Role.SUPPLIER, username="van", password=PASSWORD)
    stocked_article(2, sku="LOW-1", stock__min_quantity=5)

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
        page.locator(".graphiql-query-editor .CodeMirror").evaluate(
            "(editor, query) => editor.CodeMirror.setValue(query)", QUERY
        )
        page.locator(".graphiql-execute-button").click()

        response = page.locator(".graphiql-response")
        expect(response).to_contain_text('"sku": "LOW-1"')
        expect(response).to_contain_text('"missing": 3')
    assert elsewhere == []

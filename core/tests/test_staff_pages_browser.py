"""Staff at work in a real headless Chromium, through the real KrakenD (`make stack`'s topology):
the admin login, a restock and a delivery import from the admin, the report page, a GraphiQL query
and an order placed from the browsable API's form. Every request the pages make goes to the gateway;
nothing else is reached. The screenshots are kept with the test's temporary files (and in
var/screenshots/ for a person to look at).
"""

import re
import shutil
from urllib.parse import urlencode

from playwright.sync_api import expect

from scripts.stack import ROOT
from stocks.tests.test_report_page_browser import chromium_page

from .live_stack import REQUEST_TIMEOUT, session

ARTICLE = 5
SCREENSHOTS = ROOT / "var" / "screenshots"


def stock_of(stack, token) -> dict:
    answer = session().get(
        f"{stack.gateway_url}/store-api/stocks/{ARTICLE}/",
        headers={"Authorization": f"Token {token}"},
        timeout=REQUEST_TIMEOUT,
    )
    return answer.json()


def a_customer(stack, token) -> int:
    answer = session().get(
        f"{stack.gateway_url}/store-api/users/",
        params={"role": "customer", "page_size": 1},
        headers={"Authorization": f"Token {token}"},
        timeout=REQUEST_TIMEOUT,
    )
    return answer.json()["results"][0]["id"]


def test_a_manager_restocks_imports_reads_the_report_queries_graphql_and_orders_through_the_gateway(
    stack, tmp_path
):
    token = stack.token("manager")
    before = stock_of(stack, token)
    gateway = stack.gateway_url
    customer = a_customer(stack, token)
    shots = []

    with chromium_page() as page:
        elsewhere = []

        def only_the_gateway(route):
            if route.request.url.startswith((gateway, "data:")):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        def shot(name):
            shots.append(tmp_path / f"{name}.png")
            page.screenshot(path=shots[-1], full_page=True)

        page.route("**/*", only_the_gateway)

        # The admin sends the anonymous visitor to its login, and back once logged in.
        page.goto(f"{gateway}/admin/")
        expect(page).to_have_url(f"{gateway}/admin/login/?next=/admin/")
        page.fill("#id_username", "manager")
        page.fill("#id_password", stack.demo_logins["manager"])
        page.click("input[type=submit]")
        expect(page).to_have_url(f"{gateway}/admin/")
        expect(page.locator("#user-tools")).to_contain_text("manager")
        expect(page.locator(".store-dashboard dt")).to_have_text(
            ["Low stock", "Orders today", "Paid today", "Unpaid orders"]
        )
        shot("admin-index")

        # A delivery of 3 units for one article, booked with the admin's restock action.
        page.goto(f"{gateway}/admin/stocks/stock/?q={before['sku']}")
        page.locator("input.action-select").first.check()
        page.select_option("select[name=action]", "restock")
        page.click("button[name=index]")
        page.fill("#id_quantity", "3")
        page.fill("#id_reference", "DN-BROWSER")
        shot("admin-restock")
        page.click("input[name=apply]")
        expect(page.locator(".messagelist")).to_contain_text("Restocked 1 article(s).")
        expect(page).to_have_url(f"{gateway}/admin/stocks/stock/?q={before['sku']}")
        shot("admin-restocked")
        page.goto(f"{gateway}/admin/stocks/stock/?low=yes")
        shot("admin-low-stock")

        # A supplier's delivery file of 2 more units: uploaded, previewed, then booked.
        delivery = tmp_path / "delivery-browser.csv"
        delivery.write_text(f"sku,quantity\n{before['sku']},2\n", encoding="utf-8")
        page.click("text=Import a delivery (CSV)")
        page.set_input_files("#id_file", delivery)
        page.click("input[value='Check the file']")
        expect(page.locator(".delivery-preview tbody tr")).to_have_text(
            [f"{before['sku']}{before['quantity'] + 3}+2{before['quantity'] + 5}"]
        )
        shot("admin-delivery-preview")
        page.click("input[name=book]")
        expect(page.locator(".messagelist")).to_contain_text("Booked 1 line(s), 2 unit(s)")

        page.goto(f"{gateway}/admin/reports/stock/")
        expect(page.locator("#stock-chart svg.bar-chart")).to_be_visible()
        expect(page.locator("#stock-report tbody tr")).to_have_count(50)
        shot("report")

        page.goto(f"{gateway}/graphql/")
        expect(page.locator(".graphiql-container")).to_be_visible()
        query = f'{{ stock(sku: "{before["sku"]}") {{ sku quantity }} }}'
        page.locator(".graphiql-query-editor .CodeMirror").evaluate(
            "(editor, query) => editor.CodeMirror.setValue(query)", query
        )
        # GraphiQL has read the new query (the address follows the editor) before it is run.
        expect(page).to_have_url(re.compile(re.escape(urlencode({"query": query}))))
        page.locator(".graphiql-execute-button").click()
        expect(page.locator(".graphiql-response")).to_contain_text(
            f'"quantity": {before["quantity"] + 3 + 2}'
        )
        shot("graphiql")

        # One unit ordered for a customer from the browsable API's HTML form: no JSON written.
        page.goto(f"{gateway}/api/v1/orders/")
        page.fill("input[name=customer]", str(customer))
        page.fill("#order-line-0-article", str(ARTICLE))
        page.fill("#order-line-0-quantity", "1")
        page.locator("#post-object-form button", has_text="POST").click()
        expect(page.locator(".response-info")).to_contain_text("HTTP 201 Created")
        expect(page.locator(".response-info")).to_contain_text(before["sku"])
        shot("browsable-order-placed")

    assert elsewhere == []
    assert stock_of(stack, token)["quantity"] == before["quantity"] + 3 + 2 - 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for screenshot in shots:
        assert screenshot.stat().st_size > 10_000, screenshot
        shutil.copy(screenshot, SCREENSHOTS / screenshot.name)

"""The real KrakenD in front of the real services (`make stack`'s topology): every route reaches its
view, answers pass through unchanged, staff reach their pages, an order is placed and paid, and
what is internal stays out of reach (docs/adr/0008-gateway.md).
"""

import json
import re
import subprocess
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.tests import gateway
from scripts.gateway import KRAKEND, KRAKEND_JSON, load_config
from store_infra.graphql.validation import MAX_ALIASES

from .live_stack import (
    REQUEST_TIMEOUT,
    logged_in_session,
    request_counts,
    require_krakend,
    session,
    store_request_counts,
    view_names,
)
from .test_containers import one_shot_services, rendered
from .test_gateway import SCHEMA_FILE

# What KrakenD adds to, or drops from, every answer it passes through (measured): its own headers,
# CORS, and the hop-by-hop ones, which describe a connection, not the answer.
GATEWAY_HEADERS = {
    "x-krakend",
    "x-krakend-completed",
    "access-control-allow-origin",
    "access-control-expose-headers",
}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "date", "content-length"}
# What the demo data (manage.py seed) has: staff first, then customers.
CUSTOMER = 4
ARTICLE = 1


@pytest.fixture(scope="module")
def tokens(stack):
    return {role: stack.token(role) for role in ("manager", "clerk", "supplier")}


@pytest.fixture(scope="module")
def staff_session(stack):
    return logged_in_session(stack, "manager", stack.demo_logins["manager"])


def through(stack, method, path, *, token=None, client=None, **options):
    headers = dict(options.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Token {token}"
    return (client or session()).request(
        method, stack.gateway_url + path, headers=headers, timeout=REQUEST_TIMEOUT, **options
    )


def direct(stack, method, path, *, token=None, **options):
    """The same request straight to a store replica, as on the private network."""
    headers = dict(options.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Token {token}"
    url = f"http://127.0.0.1:{stack.ports.replicas[0]}{path}"
    return session().request(method, url, headers=headers, timeout=REQUEST_TIMEOUT, **options)


def answer_headers(response) -> dict:
    """The headers that describe the answer, not the connection nor the gateway. KrakenD's CORS
    module adds `Origin` to `Vary` (the answer depends on it): the service's own part is kept. A
    cookie's value is new on every answer (graphene's view hands out a CSRF cookie): its name is kept.
    django-csp writes the policy's directives in set order, which differs between processes."""
    names = {name.lower() for name in response.headers} - HOP_BY_HOP - GATEWAY_HEADERS
    headers = {name: response.headers[name] for name in names}
    if "vary" in headers:
        headers["vary"] = ", ".join(part for part in headers["vary"].split(", ") if part != "Origin")
    if "content-security-policy" in headers:
        headers["content-security-policy"] = sorted(headers["content-security-policy"].split("; "))
    if "set-cookie" in headers:
        headers["set-cookie"] = sorted(response.cookies.keys())
    return headers


def assert_passed_through(gateway_answer, direct_answer):
    assert gateway_answer.status_code == direct_answer.status_code
    assert gateway_answer.content == direct_answer.content
    assert answer_headers(gateway_answer) == answer_headers(direct_answer)


# --- KrakenD and the stack ------------------------------------------------------------------------


def test_krakend_accepts_the_configuration_and_its_routes():
    require_krakend()
    if not SCHEMA_FILE.exists():
        pytest.fail(f"{SCHEMA_FILE} is missing: the KrakenD schema is vendored beside the repository")
    check = [str(KRAKEND), "check", "--test-gin-routes", "--lint-schema", str(SCHEMA_FILE)]
    done = subprocess.run(
        [*check, "-c", str(KRAKEND_JSON)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"USAGE_DISABLE": "1"},
    )
    assert done.returncode == 0 and "Syntax OK!" in done.stderr, done.stdout + done.stderr


def test_the_stack_runs_what_docker_compose_runs(stack):
    compose = rendered()["services"]
    # The replicas store-1, store-2, ... are compose's one service `store`.
    running = {re.sub(r"^store-\d+$", "store", name) for name in stack.supervisor.programs}

    assert running == set(compose) - one_shot_services({"services": compose})
    assert all(program.running for program in stack.supervisor.programs.values())


def test_the_gateway_health_endpoint_answers(stack):
    answer = through(stack, "GET", "/__health")

    assert answer.status_code == 200 and answer.json()["status"] == "ok"


# --- every route reaches the view it names ---------------------------------------------------------


def test_every_route_reaches_the_view_it_names(stack, tokens):
    """One request per route through the gateway; each service counts it (its /metrics) under the
    view the route's backend path resolves to. A read asks for seeded data; a write is sent with an
    empty body to an id that does not exist, so that it changes nothing (and logging out comes last)."""
    routes = sorted(
        (route for route in gateway.routes(load_config()) if not route.static),
        key=lambda route: "logout" in route.endpoint,
    )
    staff_session = logged_in_session(stack, "manager", stack.demo_logins["manager"])
    requests = [(route, "1" if route.method == "GET" else "999999") for route in routes]
    views = {}
    for host, service in ((gateway.STORE_HOST, "store"), (gateway.PAYMENTS_HOST, "payments")):
        paths = [gateway.concrete(route.url_pattern, id=id) for route, id in requests if route.host == host]
        views[host] = iter(view_names(stack, paths, service=service))
    before = {gateway.STORE_HOST: store_request_counts(stack), gateway.PAYMENTS_HOST: payments_counts(stack)}
    expected, refused = Counter(), []
    for route, id in requests:
        expected[route.host, next(views[route.host]), route.method] += 1
        path = gateway.concrete(route.endpoint, id=id)
        options = {}
        if route.method != "GET":
            options = {"data": "{}", "headers": {"Content-Type": "application/json"}}
        if route.for_browsers:
            options.setdefault("headers", {})["X-CSRFToken"] = staff_session.cookies["csrftoken"]
            answer = through(stack, route.method, path, client=staff_session, **options)
        else:
            answer = through(stack, route.method, path, token=tokens["manager"], **options)
        # The view's own answer: not a failure, not the gateway's refusal, not Django's CSRF page.
        if (
            answer.status_code >= 500
            or answer.status_code == 429
            or "CSRF verification failed" in answer.text
        ):
            refused.append(f"{route}: {answer.status_code}")
    after = {gateway.STORE_HOST: store_request_counts(stack), gateway.PAYMENTS_HOST: payments_counts(stack)}
    missing = [
        f"{method} {view} ({host})"
        for (host, view, method), times in expected.items()
        if after[host][view, method] - before[host][view, method] < times
    ]
    assert len(requests) > 90 and missing == [] and refused == []


def payments_counts(stack) -> Counter:
    return request_counts(f"http://127.0.0.1:{stack.ports.payments}")


# --- answers pass through unchanged ------------------------------------------------------------------

JSON = {"Content-Type": "application/json"}


def both_ways(stack, method, path, *, key=False, **options):
    """The request through the gateway at `path` (under /store-api/), then straight to a replica at
    the store's own path, with the same request id (and each with a new Idempotency-Key if `key`)."""
    answers = []
    for send, at in ((through, path), (direct, path.replace("/store-api/", "/api/v1/", 1))):
        headers = {"X-Request-Id": "pass-through-check", **options.get("headers", {})}
        if key:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        answers.append(send(stack, method, at, **{**options, "headers": headers}))
    return answers


def order(quantity: int) -> str:
    return json.dumps({"customer": CUSTOMER, "lines": [{"article": ARTICLE, "quantity": quantity}]})


# case: (method, path, role, body, whether it takes an Idempotency-Key, status, code)
REFUSALS = {
    "bad input": ("POST", "/store-api/stocks/1/restock/", "clerk", '{"quantity": -3}', False, 400, "invalid"),
    "a bad token": ("GET", "/store-api/users/", "nobody", None, False, 401, "authentication_failed"),
    "a role without the right": (
        "GET",
        "/store-api/users/",
        "supplier",
        None,
        False,
        403,
        "permission_denied",
    ),
    "no such article": ("GET", "/store-api/articles/999999/", "clerk", None, False, 404, "not_found"),
    "more than the stock": (
        "POST",
        "/store-api/orders/",
        "clerk",
        order(10**6),
        True,
        409,
        "insufficient_stock",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals_pass_through_unchanged(stack, tokens, case):
    method, path, role, body, key, status, code = REFUSALS[case]
    token = tokens.get(role, "not-a-token")

    public, private = both_ways(stack, method, path, key=key, token=token, data=body, headers=JSON)

    assert (public.status_code, public.json()["code"]) == (status, code)
    assert_passed_through(public, private)


ALIASES = " ".join(f"a{n}: articles(first: 1) {{ totalCount }}" for n in range(MAX_ALIASES + 1))
# case: (gateway path, store path, body, code)
COSTLY_REQUESTS = {
    "too many aliases": (
        "/graphql",
        "/graphql/",
        json.dumps({"query": f"{{ {ALIASES} }}"}),
        "query_too_costly",
    ),
    "a document too large": (
        "/graphql",
        "/graphql/",
        json.dumps({"query": "{ " + "__typename " * 3_000 + "}"}),
        "query_too_large",
    ),
    "JSON nested too deeply": (
        "/store-api/auth/token/",
        "/api/v1/auth/token/",
        "[" * 5000 + "]" * 5000,
        "parse_error",
    ),
}


@pytest.mark.parametrize("case", COSTLY_REQUESTS)
def test_the_stores_limits_on_what_a_request_may_cost_hold_through_the_gateway(stack, tokens, case):
    public_path, private_path, body, code = COSTLY_REQUESTS[case]
    options = {"token": tokens["supplier"], "data": body, "headers": {"X-Request-Id": "cost", **JSON}}

    public = through(stack, "POST", public_path, **options)
    private = direct(stack, "POST", private_path, **options)

    assert public.status_code == 400, public.text
    answer = public.json()
    codes = (
        [error["extensions"]["code"] for error in answer["errors"]]
        if "errors" in answer
        else [answer["code"]]
    )
    assert codes == [code]
    assert_passed_through(public, private)


def test_a_created_order_its_replay_and_a_reused_key_pass_through(stack, tokens):
    key = {"Idempotency-Key": uuid.uuid4().hex, **JSON}
    clerk = tokens["clerk"]

    created = through(stack, "POST", "/store-api/orders/", token=clerk, data=order(1), headers=key)
    replayed, replayed_directly = (
        send(stack, "POST", path, token=clerk, data=order(1), headers={**key, "X-Request-Id": "replay"})
        for send, path in ((through, "/store-api/orders/"), (direct, "/api/v1/orders/"))
    )
    reused, reused_directly = (
        send(stack, "POST", path, token=clerk, data=order(2), headers={**key, "X-Request-Id": "reuse"})
        for send, path in ((through, "/store-api/orders/"), (direct, "/api/v1/orders/"))
    )

    assert created.status_code == 201 and created.json()["lines"][0]["quantity"] == 1
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == created.json()["id"]
    assert_passed_through(replayed, replayed_directly)
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert_passed_through(reused, reused_directly)


def test_a_revalidated_report_answers_304_with_its_etag(stack, tokens):
    report = through(stack, "GET", "/store-api/reports/stock/", token=tokens["clerk"])
    etag = report.headers["ETag"]

    public, private = both_ways(
        stack, "GET", "/store-api/reports/stock/", token=tokens["clerk"], headers={"If-None-Match": etag}
    )

    assert report.status_code == 200 and public.status_code == 304
    assert public.headers["ETag"] == etag and public.content == b""
    assert_passed_through(public, private)


def test_the_stores_own_429_passes_through_with_its_retry_after(stack, tokens):
    """A supplier's GraphQL mutations: a budget only the store keeps (STACK_THROTTLE_RATES)."""
    delivery = 'restock(sku: "NO-SUCH-SKU", quantity: 1, reference: "DN-1")'
    mutation = {"query": f"mutation {{ {delivery} {{ errors {{ code }} }} }}"}
    # The budget counts in windows of a minute: 7 mutations in a row span at most two of them, 3 each.
    answers = [through(stack, "POST", "/graphql", token=tokens["supplier"], json=mutation) for _ in range(7)]

    statuses = [answer.status_code for answer in answers]
    assert statuses[0] == 200 and 429 in statuses and statuses.count(200) <= 6
    refused = answers[statuses.index(429)]
    assert refused.json()["errors"][0]["extensions"]["code"] == "throttled"
    assert refused.headers["Retry-After"].isdigit()


def test_declared_query_strings_reach_the_store_and_others_do_not(stack, tokens):
    """The store's page links are built from what it received: `search` and `page_size` arrive,
    a parameter the route does not declare does not."""
    answer = through(
        stack, "GET", "/store-api/articles/?page_size=2&search=a&undeclared=1", token=tokens["clerk"]
    )

    next_page = answer.json()["next"]
    assert next_page.startswith(f"{stack.gateway_url}/store-api/articles/?")
    assert "page_size=2" in next_page and "search=a" in next_page and "undeclared" not in next_page


# --- the gateway's own answers ---------------------------------------------------------------------


def test_a_cors_preflight_is_answered_by_the_gateway(stack):
    answer = through(
        stack,
        "OPTIONS",
        "/store-api/orders/",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )

    assert answer.status_code in (200, 204)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    allowed = answer.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= set(allowed.replace(" ", "").split(","))
    assert "Access-Control-Allow-Credentials" not in answer.headers


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/no-such-route/", 404, "not_found"),
        ("GET", "/store-api/no-such-route/", 404, "not_found"),
        ("PUT", "/store-api/orders/", 405, "method_not_allowed"),
    ],
)
def test_unknown_paths_and_methods_get_the_one_error_shape(stack, method, path, status, code):
    answer = through(stack, method, path)

    assert answer.status_code == status
    assert answer.json() == {
        "status": status,
        "code": code,
        "message": answer.json()["message"],
        "fields": {},
        "details": {},
    }


@pytest.mark.parametrize(
    "path",
    ["/api/v1/orders/1/payment-events/", "/store-api/orders/1/payment-events/", "/metrics", "/health/ready/"],
)
def test_what_is_internal_is_not_reachable_through_the_gateway(stack, path):
    for method in ("GET", "POST"):
        assert through(stack, method, path, data="{}", headers=JSON).status_code in (404, 405), (method, path)


# --- an order, paid through the gateway ------------------------------------------------------------


def test_an_order_placed_through_the_gateway_is_paid_through_its_pay_url(stack, tokens):
    placed = through(
        stack,
        "POST",
        "/store-api/orders/",
        token=tokens["clerk"],
        data=order(1),
        headers={**JSON, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert placed.status_code == 201, placed.text
    pay_url = placed.json()["payment"]["pay_url"]
    assert pay_url.startswith(f"{stack.gateway_url}/payments-api/payments/")

    page = session().get(pay_url, timeout=REQUEST_TIMEOUT)
    paid = session().post(
        pay_url,
        json={"card_number": "4242 4242 4242 4242", "cvc": "123", "expiry": "12/30"},
        timeout=REQUEST_TIMEOUT,
    )

    assert page.status_code == 200 and paid.status_code == 200 and paid.json()["status"] == "paid"
    # The payments service told the store (straight, on the private network) before answering.
    order_path = f"/store-api/orders/{placed.json()['id']}/"
    assert through(stack, "GET", order_path, token=tokens["clerk"]).json()["status"] == "paid"


# --- staff pages ------------------------------------------------------------------------------------


def test_static_files_are_served_through_the_gateway_and_revalidated(stack):
    for path in ("/static/admin/css/base.css", "/static/admin/js/vendor/select2/i18n/fr.js"):
        answer = through(stack, "GET", path)
        assert answer.status_code == 200 and len(answer.content) > 500, path
        assert answer.headers["Cache-Control"].startswith("max-age="), path
        again = through(stack, "GET", path, headers={"If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304, path
        zipped = through(stack, "GET", path, headers={"Accept-Encoding": "gzip"}, stream=True)
        assert zipped.headers["Content-Encoding"] == "gzip", path
        assert int(zipped.headers["Content-Length"]) < len(answer.content), path


def test_the_browsable_api_behind_the_gateway_links_to_the_gateway(stack, staff_session):
    answer = through(
        stack, "GET", "/api/v1/articles/?page_size=2", client=staff_session, headers={"Accept": "text/html"}
    )

    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    page = answer.text
    assert f'href="{stack.gateway_url}/api/v1/articles/?page=2&amp;page_size=2"' in page
    for port in (stack.ports.store, *stack.ports.replicas):
        assert f":{port}" not in page


def test_the_admin_and_the_report_page_open_for_a_logged_in_manager(stack, staff_session):
    index = through(stack, "GET", "/admin/", client=staff_session)
    report = through(stack, "GET", "/admin/reports/stock/", client=staff_session)

    assert index.status_code == 200 and "<title>Back office | Store Manager</title>" in index.text
    assert report.status_code == 200 and 'id="stock-report"' in report.text


def test_a_page_that_needs_a_login_sends_the_browser_to_it(stack):
    answer = through(stack, "GET", "/admin/orders/order/")

    assert answer.status_code == 200
    assert answer.headers["Refresh"] == f"0; url={stack.gateway_url}/admin/login/?next=/admin/orders/order/"


def test_the_load_is_spread_over_the_replicas(stack, tokens):
    """Eight clients at once (three users, each under the route's burst of 40): KrakenD keeps two idle
    connections to the store and opens new ones beyond, and the kernel hands each new connection to
    one of the replicas listening on the store's port, as Docker's DNS does in the containers."""
    before = [request_counts(f"http://127.0.0.1:{port}") for port in stack.ports.replicas]
    users = [tokens["manager"], tokens["clerk"], tokens["supplier"]]

    def read(number):
        token = users[number % len(users)]
        return through(stack, "GET", "/store-api/articles/?page_size=1", token=token).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(read, range(90)))

    served = [
        (request_counts(f"http://127.0.0.1:{port}") - counts)["article-list", "GET"]
        for port, counts in zip(stack.ports.replicas, before, strict=True)
    ]
    assert statuses == [200] * 90
    assert sum(served) == 90 and min(served) >= 5, served

"""The real KrakenD, with krakend.json itself, in front of a backend that records what it receives:
what each route forwards, its rate limits, its timeouts and its circuit breaker, as measured
(docs/adr/0008-gateway.md). The real services behind it: test_through_the_gateway.py.
"""

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

import pytest

from core.tests import gateway
from scripts.gateway import gateway_config, krakend_program, load_config
from scripts.stack import free_port
from scripts.supervisor import Supervisor

from .echo_server import start_echo_server
from .live_stack import REQUEST_TIMEOUT, require_krakend, session

# What KrakenD itself sets on every backend request, whatever the client sent.
SET_BY_KRAKEND = {"host", "user-agent", "x-forwarded-for", "x-forwarded-host", "accept-encoding"}
# A value for every header some route forwards, so that each route's request carries them all.
HEADER_VALUES = {
    "accept": "text/html",
    "accept-encoding": "br, gzip",
    "authorization": "Token forwarding-check",
    "content-type": "application/json",
    "cookie": "sessionid=forwarding-check",
    "idempotency-key": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "if-modified-since": formatdate(usegmt=True),
    "if-none-match": '"forwarding-check"',
    "origin": "http://127.0.0.1",
    "referer": "http://127.0.0.1/admin/",
    "x-csrftoken": "forwarding-check",
    "x-request-id": "forwarding-check",
    "x-undeclared": "never forwarded",
}
BODY = b'{"forwarding": "check"}'


@pytest.fixture(scope="module")
def echo():
    server = start_echo_server()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def gateway_url(echo, tmp_path_factory):
    """KrakenD with every backend host of krakend.json replaced by the echo server."""
    require_krakend()
    folder = tmp_path_factory.mktemp("echo-gateway")
    config = folder / "krakend.json"
    config.write_text(gateway_config(store=[echo.url], payments=[echo.url]))
    port = free_port()
    with Supervisor() as supervisor:
        supervisor.start(krakend_program(config, port=port, log=folder / "krakend.log", env={}))
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def answering_at_once(echo):
    echo.behaviour.status, echo.behaviour.delay = 200, 0.0


def send(gateway_url, method, path, **options):
    return session().request(method, gateway_url + path, timeout=REQUEST_TIMEOUT, **options)


def test_each_route_forwards_exactly_the_headers_and_query_strings_it_declares(gateway_url, echo):
    """Every header some route forwards, and one none does, are sent to every route, with its declared
    query strings and one undeclared: the backend receives exactly what the route declares, and
    what KrakenD itself sets."""
    wrong = []
    for route in gateway.routes(load_config()):
        declared = set(route.query_strings) - {"*"}
        query = {name: "1" for name in declared} | {"undeclared": "1"}
        body = BODY if "content-type" in route.headers else None
        answer = send(
            gateway_url,
            route.method,
            gateway.concrete(route.endpoint),
            params=query,
            headers=HEADER_VALUES,
            data=body,
        )
        if answer.status_code != 200:
            wrong.append(f"{route}: {answer.status_code}")
            continue
        received = echo.last()
        forwarded = {name for name in HEADER_VALUES if name in route.headers}
        expected = forwarded | SET_BY_KRAKEND | set(route.added_headers)
        if body or route.method in ("POST", "PUT", "PATCH"):
            expected.add("content-length")  # Go's client says 0 for a write without a body
        if set(received.headers) != expected:
            wrong.append(f"{route}: received {sorted(received.headers)}, expected {sorted(expected)}")
        if any(received.headers[name] != HEADER_VALUES[name] for name in forwarded):
            wrong.append(f"{route}: a forwarded header was changed")
        expected_query = query if "*" in route.query_strings else {name: "1" for name in declared}
        if received.query != {name: [value] for name, value in expected_query.items()}:
            wrong.append(f"{route}: received query {received.query}")
        sent = (route.method, gateway.concrete(route.url_pattern), body or b"")
        if (received.method, received.path, received.body) != sent:
            wrong.append(f"{route}: received {received.method} {received.path} {received.body!r}")
    assert wrong == [], "\n".join(wrong)


# --- rate limits --------------------------------------------------------------------------------------


def route(method: str, endpoint: str) -> gateway.Route:
    [found] = [r for r in gateway.routes(load_config()) if (r.method, r.endpoint) == (method, endpoint)]
    return found


def until_refused(gateway_url, path, token) -> tuple[list[int], float]:
    """GETs as fast as one client can send them until the gateway refuses one: the statuses, and
    how long it took (the bucket refills meanwhile)."""
    statuses, started = [], time.monotonic()
    while 429 not in statuses and len(statuses) < 1000:
        statuses.append(send(gateway_url, "GET", path, headers={"Authorization": token}).status_code)
    return statuses, time.monotonic() - started


def test_a_client_is_refused_past_its_burst_and_rate_and_others_are_not_held_back(gateway_url):
    """The stock report, clients keyed by their token: client_capacity at once, then client_max_rate
    a second; past that, 429."""
    path = "/store-api/reports/stock/"
    limit = route("GET", path).rate_limit

    statuses, seconds = until_refused(gateway_url, path, "Token a")
    other = send(gateway_url, "GET", path, headers={"Authorization": "Token b"})

    served = statuses.count(200)
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}
    assert (
        limit["client_capacity"]
        <= served
        <= limit["client_capacity"] + limit["client_max_rate"] * seconds + 1
    )
    assert other.status_code == 200


def test_the_gateways_429_has_no_body_and_no_retry_after(gateway_url):
    """Measured: KrakenD CE's own refusal is bare (clients treat an empty 429 as "retry later")."""
    path = "/store-api/reports/best-sellers/"
    until_refused(gateway_url, path, "Token bare")

    refused = send(gateway_url, "GET", path, headers={"Authorization": "Token bare"})

    assert refused.status_code == 429 and refused.content == b""
    assert "Retry-After" not in refused.headers


def test_a_refused_client_recovers_at_its_rate(gateway_url):
    path = "/store-api/reports/stock/"
    limit = route("GET", path).rate_limit
    until_refused(gateway_url, path, "Token patient")

    time.sleep(1.5 / limit["client_max_rate"])  # a little more than one token's refill

    assert send(gateway_url, "GET", path, headers={"Authorization": "Token patient"}).status_code == 200


def test_an_endpoint_refuses_everyone_past_its_own_capacity(gateway_url):
    """Many clients at once, each within its own budget: past the endpoint's capacity the gateway
    refuses whoever asks (measured: 503, KrakenD's spike arrest, with no body)."""
    path = "/store-api/reports/top-customers/"
    limit = route("GET", path).rate_limit

    def ask(number):
        answer = send(gateway_url, "GET", path, headers={"Authorization": f"Token client-{number}"})
        return answer.status_code, answer.content

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(ask, range(6 * limit["capacity"])))

    statuses = Counter(status for status, _ in answers)
    assert set(statuses) == {200, 503} and statuses[200] >= limit["capacity"]
    assert {content for status, content in answers if status == 503} == {b""}


def test_the_token_exchange_and_the_admin_login_are_limited_per_address(gateway_url):
    """Password guessing: a burst of 5 an address, then 10 a minute, whatever the username."""
    for path in ("/store-api/auth/token/", "/admin/login/"):
        limit = route("POST", path).rate_limit
        json = {"Content-Type": "application/json"}
        statuses = [
            send(gateway_url, "POST", path, data=b"{}", headers=json).status_code
            for _ in range(limit["client_capacity"] + 2)
        ]
        assert (limit["client_capacity"], limit["client_max_rate"], limit["every"]) == (5, 10, "1m"), path
        refused = statuses.index(429)
        assert set(statuses[:refused]) == {200} and set(statuses[refused:]) == {429}, path
        assert refused <= limit["client_capacity"], path


# --- timeouts and the circuit breaker -----------------------------------------------------------------


def test_a_backend_slower_than_the_timeout_gets_the_gateways_answer_within_it(gateway_url, echo):
    path = "/store-api/articles/"
    timeout = route("GET", path).timeout
    echo.behaviour.delay = timeout + 2

    started = time.monotonic()
    answer = send(gateway_url, "GET", path, headers={"Authorization": "Token slow"})
    waited = time.monotonic() - started

    assert answer.status_code == 500 and answer.content == b""  # measured: lura's answer to a timeout
    assert timeout <= waited < timeout + 3  # the gateway's answer, long before the backend's


def test_error_statuses_pass_through_without_opening_the_circuit(gateway_url, echo):
    """Under no-op encoding the breaker counts failed requests, not answers: a service saying 503
    (`service_busy`, say) is passed on every time and never cut off."""
    path = "/store-api/stocks/"
    tries = route("GET", path).circuit_breaker["max_errors"] + 3
    echo.behaviour.status = 503

    statuses = [
        send(gateway_url, "GET", path, headers={"Authorization": "Token busy"}).status_code
        for _ in range(tries)
    ]

    assert statuses == [503] * tries
    assert len([request for request in echo.received if request.path == "/api/v1/stocks/"]) >= tries


def test_a_backend_that_keeps_timing_out_is_cut_off_then_tried_again(gateway_url, echo):
    """More than max_errors failures in a row (timeouts here) open the circuit: the gateway answers
    500 at once without calling the backend, until a trial call after the breaker's timeout."""
    endpoint = route("GET", "/payments-api/payments/{payment_id}/")
    path = gateway.concrete(endpoint.endpoint)
    breaker = endpoint.circuit_breaker
    token = {"Authorization": "Bearer breaker-check"}
    echo.behaviour.delay = endpoint.timeout + 1
    for _ in range(breaker["max_errors"] + 1):
        assert send(gateway_url, "GET", path, headers=token).status_code == 500
    calls = len(echo.received)

    started = time.monotonic()
    cut_off = send(gateway_url, "GET", path, headers=token)
    answered_in = time.monotonic() - started
    calls_while_open = len(echo.received)
    echo.behaviour.delay = 0.0
    time.sleep(breaker["timeout"] + 0.5)
    tried_again = send(gateway_url, "GET", path, headers=token)

    assert cut_off.status_code == 500 and answered_in < endpoint.timeout / 2 and calls_while_open == calls
    assert tried_again.status_code == 200 and len(echo.received) == calls + 1

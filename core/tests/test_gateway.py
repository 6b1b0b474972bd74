"""krakend.json: a valid KrakenD CE 2.13 configuration and a faithful door to the store (ADR 0008).

The checks of the file as a whole run here, in the store's test run, with the store's contract;
payments/tests/test_gateway.py checks the payments routes against the payments URLconf.
"""

import copy
import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client, RequestFactory
from jsonschema import Draft201909Validator
from referencing import Registry
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT201909
from rest_framework.test import APIClient

from core.proxies import TrustedProxyMiddleware
from core.request_id import bound_request_id
from core.tests import gateway
from orders.payments_client import CircuitBreaker, PaymentsClient
from orders.tests.payments_stub import payment_json, stub_server
from scripts.gateway import load_config

URLCONF = "store_manager.urls"
SCHEMA_FILE = gateway.SCHEMA_FOLDER / gateway.KRAKEND_VERSION / "krakend.json"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# KrakenD's fixed address in docker-compose.yml, the store's TRUSTED_PROXIES.
GATEWAY_ADDRESS = "172.28.0.10"

NOT_EXPOSED = {
    ("POST", "api/v1/orders/<int:order_id>/payment-events/"): (
        "payments -> store notifications: signed, sent on the internal network to STORE_URL"
    ),
    ("GET", "health/"): "container probes; the gateway answers /__health itself",
    ("GET", "health/ready/"): "container probes; the gateway answers /__health itself",
    ("POST|PUT|PATCH|DELETE", ""): "a redirect to the browsable API: a GET",
    ("PUT", "api-auth/login/"): "the login form posts (PUT is only FormView's alias of POST)",
    ("PUT|PATCH|DELETE", "admin/*"): "the admin's pages are links and forms: GET and POST only",
    ("POST", "admin/"): "pages without a form: GET only",
    ("POST", "admin/jsi18n/"): "pages without a form: GET only",
    ("POST", "admin/autocomplete/"): "pages without a form: GET only",
    ("POST", "admin/(?P<app_label>*)/$"): "pages without a form: GET only",
    ("POST", "admin/*/<path:object_id>/history/"): "pages without a form: GET only",
    ("POST", "admin/*/<path:object_id>/"): "a redirect to the object's change page: a GET",
    ("POST", "admin/r/*"): "the admin's view-on-site redirect: a GET",
    ("*", "admin/(?P<url>.*)$"): "the admin's catch-all for unknown paths (404)",
}
# Exposed operations the OpenAPI description leaves out: drf-spectacular's own view, and GraphQL.
UNDESCRIBED = {
    ("GET", "api/v1/schema/"): gateway.Operation(
        query=frozenset({"format", "lang"}), headers=frozenset(), has_body=False, not_modified=False
    ),
    ("POST", "graphql/"): gateway.Operation(
        query=frozenset(), headers=frozenset(), has_body=True, not_modified=False
    ),
}
# The store views that call payments (at most once per request, orders/services.py).
CALLING_PAYMENTS = {("POST", "order-list"), ("POST", "order-cancel"), ("POST", "order-payment")}


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(scope="module")
def all_routes(config):
    return gateway.routes(config)


@pytest.fixture(scope="module")
def store_routes(all_routes):
    """The store's routes that its URLconf answers (static files are WhiteNoise's, before it)."""
    return [route for route in all_routes if route.host == gateway.STORE_HOST and not route.static]


@pytest.fixture(scope="module")
def program_routes(store_routes):
    return [route for route in store_routes if not route.for_browsers]


@pytest.fixture(scope="module")
def browser_routes(all_routes):
    return [route for route in all_routes if route.for_browsers]


@pytest.fixture(scope="module")
def needs_auth(django_db_setup, django_db_blocker, program_routes):
    return gateway.authentication_needs(program_routes, django_db_blocker)


@pytest.fixture(scope="module")
def schema_validator():
    if not SCHEMA_FILE.exists():
        pytest.fail(gateway.schema_missing(SCHEMA_FILE) + "; without it krakend.json cannot be checked")
    schema = json.loads(SCHEMA_FILE.read_text())

    def no_network(uri):
        raise NoSuchResource(ref=uri)

    registry = Registry(retrieve=no_network).with_resource(
        gateway.SCHEMA_URL, DRAFT201909.create_resource(schema)
    )
    return Draft201909Validator(schema, registry=registry)


# --- the file as KrakenD reads it -------------------------------------------------------------------


def test_the_configuration_is_valid_against_the_pinned_krakend_schema(config, schema_validator):
    errors = [f"{error.json_path}: {error.message}" for error in schema_validator.iter_errors(config)]
    assert errors == []


def test_the_configuration_names_the_pinned_krakend_version(config):
    assert config["$schema"] == gateway.SCHEMA_URL  # what editors and `krakend check` validate against
    assert config["version"] == 3  # the configuration syntax of every KrakenD 2.x


def test_the_pinned_schema_is_the_newest_one_vendored(schema_validator):
    versions = [folder.name for folder in gateway.SCHEMA_FOLDER.iterdir() if folder.name.startswith("v")]
    newest = max(versions, key=lambda name: tuple(int(part) for part in name[1:].split(".")))
    assert newest == gateway.KRAKEND_VERSION


def test_the_schema_refuses_a_configuration_krakend_would_refuse(config, schema_validator):
    broken = copy.deepcopy(config)
    broken["endpoints"][0]["output_encoding"] = "no-op-please"
    broken["endpoints"][1]["backend"][0]["extra_config"]["qos/circuit-breaker"].pop("max_errors")
    refused = {error.json_path for error in schema_validator.iter_errors(broken)}
    breaker = "$.endpoints[1].backend[0].extra_config['qos/circuit-breaker']"
    assert {"$.endpoints[0].output_encoding", breaker} <= refused


def test_only_community_edition_features_are_used(config):
    for scope, used in gateway.namespaces(config).items():
        assert used & gateway.ENTERPRISE_NAMESPACES[scope] == set(), scope
    assert set(config["extra_config"].get("router", {})) & gateway.ENTERPRISE_ROUTER_OPTIONS == set()


def test_every_namespace_the_schema_marks_enterprise_only_is_refused(schema_validator):
    definitions = schema_validator.schema["$defs"]
    prefix = f"https://www.krakend.io/schema/{gateway.KRAKEND_VERSION}/"

    def marked(properties):
        found = set()
        for name, definition in properties.items():
            target = definition.get("$ref", "").rpartition("$defs/")[2].replace("~1", "/")
            text = definition.get("description", "") + definitions.get(target, {}).get("description", "")
            if "Enterprise only" in text:
                found.add(name)
        return found

    for scope, refused in gateway.ENTERPRISE_NAMESPACES.items():
        assert marked(definitions[f"{prefix}{scope}_extra_config.json"]["properties"]) - refused == set(), (
            scope
        )
    assert marked(definitions[f"{prefix}router.json"]["properties"]) == gateway.ENTERPRISE_ROUTER_OPTIONS


def test_every_answer_passes_through_unchanged_from_one_backend(config):
    assert config["output_encoding"] == "no-op"
    for endpoint in config["endpoints"]:
        assert endpoint["output_encoding"] == "no-op", endpoint["endpoint"]
        assert len(endpoint["backend"]) == 1, endpoint["endpoint"]
        [backend] = endpoint["backend"]
        assert backend["encoding"] == "no-op", endpoint["endpoint"]
        assert backend["method"] == endpoint["method"], endpoint["endpoint"]


def test_no_two_endpoints_share_a_method_and_path(all_routes):
    keys = [(route.method, gateway.concrete(route.endpoint)) for route in all_routes]
    assert sorted(key for key in keys if keys.count(key) > 1) == []


def test_paths_sharing_a_prefix_name_their_placeholders_alike(all_routes):
    """The gin router KrakenD runs on refuses to start on `/a/{id}/` beside `/a/{pk}/x/`."""
    names, clashes = {}, []
    for route in all_routes:
        segments = route.endpoint.strip("/").split("/")
        for position, segment in enumerate(segments):
            if segment.startswith("{"):
                prefix = tuple("{}" if part.startswith("{") else part for part in segments[:position])
                if names.setdefault(prefix, segment) != segment:
                    clashes.append(f"{route}: {segment} where another path has {names[prefix]}")
    assert clashes == []


def test_gateway_paths_map_to_the_services_paths_by_prefix(all_routes):
    """Programs' routes by the prefix of their service; staff pages at the store's own paths."""
    wrong = []
    for route in all_routes:
        if route.for_browsers:
            if route.host != gateway.STORE_HOST:
                wrong.append(f"{route} -> {route.host}{route.url_pattern}")
            continue
        mapped = [
            backend + route.endpoint.removeprefix(public)
            for public, backend in gateway.PREFIXES.get(route.host, ())
            if route.endpoint.startswith(public)
        ]
        if route.url_pattern not in mapped:
            wrong.append(f"{route} -> {route.host}{route.url_pattern}")
    assert wrong == []


def test_every_backend_has_a_circuit_breaker(all_routes):
    for route in all_routes:
        breaker = route.circuit_breaker or {}
        assert breaker.get("interval", 0) >= 1 and breaker.get("timeout", 0) >= 1, route
        assert breaker.get("max_errors", 0) >= 1, route


def test_every_endpoint_is_rate_limited_in_all_and_per_client(all_routes):
    for route in all_routes:
        limit = route.rate_limit
        assert limit.get("max_rate", 0) > 0 and limit.get("capacity", 0) >= 1, route
        assert limit.get("client_max_rate", 0) > 0 and limit.get("client_capacity", 0) >= 1, route
        assert limit["client_max_rate"] <= limit["max_rate"], route
        assert limit["strategy"] in ("header", "ip"), route


def test_writes_are_limited_more_strictly_than_reads_of_the_same_resource(all_routes):
    def resource(route):
        """The first segment of the path under the service's API root, or of the page's path."""
        path = route.endpoint
        for prefix in ("/store-api/", "/payments-api/", "/api/v1/"):
            path = path.removeprefix(prefix)
        return route.host, path.strip("/").split("/")[0], route.rate_limit["strategy"]

    looser = []
    for write in (route for route in all_routes if route.method in WRITES):
        for read in (route for route in all_routes if route.method == "GET"):
            if resource(read) != resource(write):
                continue
            for rate in ("max_rate", "client_max_rate"):
                if gateway.per_second(write.rate_limit[rate], write.rate_limit) >= gateway.per_second(
                    read.rate_limit[rate], read.rate_limit
                ):
                    looser.append(f"{write} {rate} is not below {read}'s")
    assert looser == []


def test_every_endpoint_outlasts_its_own_work_and_the_server_outlasts_every_endpoint(config, all_routes):
    assert all("timeout" in endpoint for endpoint in config["endpoints"])
    assert min(route.timeout for route in all_routes) > gateway.OWN_WORK_SECONDS
    assert gateway.seconds(config["write_timeout"]) > max(route.timeout for route in all_routes)
    assert gateway.seconds(config["read_header_timeout"]) <= gateway.seconds(config["read_timeout"])


def test_cors_is_answered_once_by_the_gateway_and_never_by_the_store(config, all_routes):
    """For programs' routes: a page of another origin calls them with a token, never a cookie. Staff
    pages are not meant for other origins (their session cookies are SameSite=Lax, their writes need
    the CSRF token)."""
    cors = config["extra_config"]["security/cors"]
    assert all("security/cors" not in endpoint.get("extra_config", {}) for endpoint in config["endpoints"])
    assert cors["allow_credentials"] is False  # a foreign origin's request carries no cookie
    allowed = {header.lower() for header in cors["allow_headers"]}
    programs = [route for route in all_routes if not route.for_browsers]
    # Content-Length is set by the browser itself (a forbidden header name for scripts).
    sent_by_scripts = set().union(*(route.headers for route in programs)) - {"content-length"}
    assert sent_by_scripts - allowed == set()
    assert not any("cors" in name.lower() for name in [*settings.INSTALLED_APPS, *settings.MIDDLEWARE])
    answer = Client().get("/health/", HTTP_ORIGIN="https://shop.example")
    assert not any(header.startswith("Access-Control-") for header in answer.headers)


def test_the_gateway_health_endpoint_is_on(config):
    router = config["extra_config"].get("router", {})
    assert not router.get("disable_health", False)
    assert router.get("health_path", "/__health") == "/__health"


# --- the store's contract ---------------------------------------------------------------------------


def test_every_store_backend_resolves_to_a_view_that_answers_its_method(store_routes):
    assert gateway.backend_problems(store_routes, URLCONF) == []


def test_every_store_route_is_on_the_gateway_or_deliberately_left_off(store_routes):
    assert gateway.exposure_problems(store_routes, URLCONF, NOT_EXPOSED) == []


def test_authorization_is_forwarded_and_keys_clients_exactly_where_the_view_needs_it(
    program_routes, needs_auth
):
    assert gateway.authentication_problems(program_routes, needs_auth) == []


def test_the_query_strings_and_headers_forwarded_are_exactly_what_each_view_takes(program_routes, needs_auth):
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    operations = {**gateway.openapi_operations(schema, URLCONF), **UNDESCRIBED}
    assert gateway.forwarding_problems(program_routes, URLCONF, operations, needs_auth) == []


def test_staff_pages_forward_the_session_and_what_forms_send_never_a_token(browser_routes):
    assert gateway.browser_problems(browser_routes) == []


def test_exactly_the_staff_pages_tell_the_store_that_the_gateway_follows_redirects(all_routes):
    """On those, a redirect must reach the browser as a page (core/proxies.py); a program's client
    follows redirects itself, and static files never redirect."""
    told = {
        str(route) for route in all_routes if route.added_headers.get(gateway.FOLLOWS_REDIRECTS_HEADER) == "1"
    }

    assert told == {str(route) for route in all_routes if route.for_browsers and not route.static}
    assert [str(route) for route in all_routes if gateway.FOLLOWS_REDIRECTS_HEADER in route.headers] == []


def test_every_program_route_of_the_rest_api_has_a_browsable_twin(program_routes, browser_routes):
    """The browsable API at the store's own paths, for staff logged in with a session; only the
    token exchange is for programs alone."""
    twins = {(route.method, route.endpoint) for route in browser_routes}
    missing = [
        str(route)
        for route in program_routes
        if route.endpoint.startswith("/store-api/")
        and route.endpoint != "/store-api/auth/token/"
        and (route.method, route.url_pattern) not in twins
    ]
    assert missing == []


def test_every_collected_static_file_has_a_route(browser_routes):
    """`collectstatic` puts the files of every installed app under STATIC_ROOT; the gateway's static
    routes take paths of up to as many segments as the deepest of them."""
    from django.contrib.staticfiles.finders import get_finders

    paths = {path for finder in get_finders() for path, _ in finder.list([])}
    static = [route for route in browser_routes if route.static]
    unrouted = sorted(
        path
        for path in paths
        if not any(gateway.backend_matches(route, f"/static/{path}") for route in static)
    )
    assert len(paths) > 100 and unrouted == []


def test_only_the_store_rest_backends_are_told_the_prefix_their_api_is_published_under(all_routes):
    told = {str(route): route.added_headers.get(gateway.PREFIX_HEADER) for route in all_routes}
    expected = {
        str(route): "/store-api" if route.endpoint.startswith("/store-api/") else None
        for route in all_routes
        if route.host == gateway.STORE_HOST
    }
    expected |= {str(route): None for route in all_routes if route.host == gateway.PAYMENTS_HOST}
    assert told == expected
    assert [str(route) for route in all_routes if gateway.PREFIX_HEADER in route.headers] == []


def test_behind_the_prefix_header_the_store_sees_each_request_at_its_gateway_path(store_routes, settings):
    settings.TRUSTED_PROXIES = [GATEWAY_ADDRESS]
    middleware = TrustedProxyMiddleware(lambda request: HttpResponse())
    wrong = []
    for route in store_routes:
        prefix = route.added_headers.get(gateway.PREFIX_HEADER)
        if prefix is None:
            continue
        backend_path = gateway.concrete(route.url_pattern)
        request = RequestFactory().generic(
            route.backend_method,
            backend_path,
            REMOTE_ADDR=GATEWAY_ADDRESS,
            headers={"X-Forwarded-Prefix": prefix},
        )
        middleware(request)  # sets what the views see on the request
        if (request.path, request.path_info) != (gateway.concrete(route.endpoint), backend_path):
            wrong.append(f"{route}: {request.path} (resolved as {request.path_info})")
    assert wrong == []


def test_routes_that_call_payments_outlast_the_stores_worst_case_call(store_routes):
    attempts = 1 + settings.PAYMENTS_RETRIES
    per_attempt = settings.PAYMENTS_CONNECT_TIMEOUT + settings.PAYMENTS_READ_TIMEOUT
    # The client's backoff doubles at each retry, with a jitter of at most x1.5.
    backoffs = sum(
        settings.PAYMENTS_RETRY_BACKOFF * 2**retry * 1.5 for retry in range(settings.PAYMENTS_RETRIES)
    )
    worst_case = gateway.OWN_WORK_SECONDS + attempts * per_attempt + backoffs
    calling = [
        route
        for route in store_routes
        if (route.method, gateway.backend_route(route, URLCONF).url_name) in CALLING_PAYMENTS
    ]
    assert len(calling) == 2 * len(CALLING_PAYMENTS)  # a program's route and its browsable twin
    assert [str(route) for route in calling if route.timeout <= worst_case] == []


@pytest.fixture
def payments_calls(all_routes):
    """What the store's payments client sends when PAYMENTS_URL is the gateway, matched to routes."""
    with stub_server() as stub:
        client = PaymentsClient(
            base_url=f"{stub.url}/payments-api",
            token="service-token",
            connect_timeout=1.0,
            read_timeout=1.0,
            retries=0,
            backoff=0.01,
            circuit=CircuitBreaker(threshold=100, cooldown=60.0),
        )
        stub.behaviour.body = payment_json(id=41, order_id=7)
        with bound_request_id("gateway-contract"):
            client.create_payment(order_id=7, customer_id=3, amount=Decimal("12.34"), currency="CAD")
            client.get_payment(41)
            client.refund(41)
            stub.behaviour.body = [payment_json(id=41, order_id=7)]
            client.payments_of_order(7)
    calls = []
    for received in stub.received:
        path = urlsplit(received.path)
        [route] = [
            route
            for route in all_routes
            if route.method == received.method and gateway.endpoint_matches(route, path.path) is not None
        ] or [None]
        calls.append((received, path, route))
    return calls


def test_the_stores_payments_client_finds_every_route_it_calls_on_the_gateway(payments_calls):
    # Transport and content negotiation: the payments service answers JSON whatever the Accept.
    not_forwarded = {"host", "user-agent", "accept-encoding", "accept", "connection", "content-length"}
    assert len(payments_calls) == 4
    for received, path, route in payments_calls:
        assert route is not None and route.host == gateway.PAYMENTS_HOST, f"{received.method} {path.path}"
        sent = {name.lower() for name in received.headers} - not_forwarded
        assert sent - route.headers == set(), route
        assert set(parse_qs(path.query)) - route.query_strings == set(), route


def test_payments_routes_answer_before_the_stores_client_gives_up(payments_calls):
    """Slower than this, the gateway answers 5xx itself: the store then counts a failure (and may
    retry a 5xx), rather than hold a request open past its own read timeout."""
    for received, path, route in payments_calls:
        assert route is not None, f"{received.method} {path.path}"
        assert gateway.OWN_WORK_SECONDS < route.timeout < settings.PAYMENTS_READ_TIMEOUT, route

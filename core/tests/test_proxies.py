"""X-Forwarded-For/-Proto/-Host/-Prefix believed from the gateway only (TRUSTED_PROXIES), in the store.

The payments service has the same middleware: payments/tests/test_proxies.py.
"""

import pytest
import requests
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, HttpResponseNotModified, HttpResponseRedirect
from django.test import Client, RequestFactory
from django.urls import resolve
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.proxies import TrustedProxyMiddleware
from orders.services import order_create

from .processes import running_store, store_environment

GATEWAY = "172.28.0.10"
CLIENT = "203.0.113.7"
STRANGER = "198.51.100.23"
PUBLIC_HOST = "shop.example"
THROUGH_THE_GATEWAY = {"X-Forwarded-Host": PUBLIC_HOST, "X-Forwarded-Prefix": "/store-api"}


@pytest.fixture
def behind_gateway(settings):
    settings.TRUSTED_PROXIES = [GATEWAY]


def through_middleware_at(peer: str, path: str, **headers):
    """The request for `path` as the views see it after TrustedProxyMiddleware, sent by `peer`."""
    request = RequestFactory().get(path, REMOTE_ADDR=peer, headers=headers)
    TrustedProxyMiddleware(lambda request: HttpResponse())(request)  # sets what the views see on it
    return request


def through_middleware(peer: str, **headers):
    return through_middleware_at(peer, "/", **headers)


def test_the_middleware_runs_before_everything_that_reads_the_headers():
    assert django_settings.MIDDLEWARE[0] == "core.proxies.TrustedProxyMiddleware"
    assert django_settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")


def test_a_trusted_proxy_sets_the_client_address_and_scheme(behind_gateway):
    request = through_middleware(GATEWAY, x_forwarded_for=CLIENT, x_forwarded_proto="https")
    assert request.META["REMOTE_ADDR"] == CLIENT
    assert request.is_secure()


def test_a_trusted_proxy_saying_http_leaves_the_request_insecure(behind_gateway):
    request = through_middleware(GATEWAY, x_forwarded_for=CLIENT, x_forwarded_proto="http")
    assert not request.is_secure()


def test_a_trusted_proxy_without_forwarded_headers_is_the_client(behind_gateway):
    request = through_middleware(GATEWAY)
    assert request.META["REMOTE_ADDR"] == GATEWAY
    assert not request.is_secure()


def test_forwarded_headers_from_an_untrusted_peer_are_dropped(behind_gateway):
    request = through_middleware(
        STRANGER,
        x_forwarded_for=CLIENT,
        x_forwarded_proto="https",
        x_forwarded_host="evil.example",
        x_forwarded_port="443",
        x_forwarded_prefix="/evil",
        x_gateway_follows_redirects="1",
    )
    assert request.META["REMOTE_ADDR"] == STRANGER
    assert not request.is_secure()
    assert request.get_host() == "testserver"
    assert request.path == "/"
    forwarded = {
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
        "X-Forwarded-Port",
        "X-Forwarded-Prefix",
        "X-Gateway-Follows-Redirects",
    }
    assert not forwarded & set(request.headers)


def test_nobody_is_trusted_by_default():
    request = through_middleware(GATEWAY, x_forwarded_for=CLIENT, x_forwarded_proto="https")
    assert request.META["REMOTE_ADDR"] == GATEWAY
    assert not request.is_secure()


@pytest.mark.parametrize(
    ("forwarded_for", "client"),
    [
        pytest.param(f"1.2.3.4, {CLIENT}", CLIENT, id="made-up-hops-left-of-the-gateways-are-ignored"),
        pytest.param(f"{GATEWAY}, {CLIENT}", CLIENT, id="a-client-claiming-to-be-the-gateway"),
        pytest.param(f"not-an-address, {CLIENT}", CLIENT, id="garbage-written-by-the-client"),
        pytest.param(f"{CLIENT}, not-an-address", GATEWAY, id="garbage-from-the-gateway-stops-at-it"),
        pytest.param(f"{CLIENT}, ", GATEWAY, id="an-empty-hop-stops-at-the-gateway"),
        pytest.param(f"{CLIENT}:51234", CLIENT, id="ipv4-with-port"),
        pytest.param("[2001:db8::7]:443", "2001:db8::7", id="ipv6-with-port"),
        pytest.param("2001:db8::7", "2001:db8::7", id="ipv6"),
        pytest.param(f"::ffff:{CLIENT}", CLIENT, id="ipv4-mapped-ipv6"),
        pytest.param(GATEWAY, GATEWAY, id="every-hop-is-a-trusted-proxy"),
    ],
)
def test_the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy(behind_gateway, forwarded_for, client):
    assert through_middleware(GATEWAY, x_forwarded_for=forwarded_for).META["REMOTE_ADDR"] == client


def test_a_chain_of_trusted_proxies_is_walked_back_to_the_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", GATEWAY]
    request = through_middleware(GATEWAY, x_forwarded_for=f"6.6.6.6, {CLIENT}, 10.1.2.3, 10.0.0.4")
    assert request.META["REMOTE_ADDR"] == CLIENT


def test_an_ipv4_mapped_peer_is_recognised_as_the_trusted_proxy(behind_gateway):
    assert through_middleware(f"::ffff:{GATEWAY}", x_forwarded_for=CLIENT).META["REMOTE_ADDR"] == CLIENT


@pytest.mark.parametrize(
    ("proto", "secure"),
    [("http, https", True), ("https, http", False), (" https ", True)],
)
def test_only_the_scheme_the_trusted_proxy_appended_counts(behind_gateway, proto, secure):
    assert through_middleware(GATEWAY, x_forwarded_proto=proto).is_secure() is secure


@pytest.mark.parametrize("entry", ["172.28.0.10/24", "gateway", "172.28.0.300"])
def test_a_malformed_trusted_proxies_setting_stops_the_service_when_it_loads(settings, entry):
    settings.TRUSTED_PROXIES = [entry]
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        TrustedProxyMiddleware(lambda request: request)


@pytest.mark.django_db
@pytest.mark.parametrize(("peer", "scheme"), [(GATEWAY, "https"), (STRANGER, "http")])
def test_the_api_links_use_the_scheme_only_a_trusted_proxy_reports(behind_gateway, clerk, peer, scheme):
    client = APIClient(REMOTE_ADDR=peer)
    client.force_authenticate(clerk)
    response = client.get("/api/v1/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response.json()["orders"].startswith(f"{scheme}://")


@pytest.mark.parametrize(("peer", "status"), [(GATEWAY, 200), (STRANGER, 301)])
def test_https_redirects_trust_only_the_gateways_word(behind_gateway, settings, peer, status):
    settings.SECURE_SSL_REDIRECT = True
    response = Client(REMOTE_ADDR=peer).get("/health/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == status


# --- links built behind the gateway's host and prefix -------------------------------------------------


@pytest.fixture
def public_host(behind_gateway, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, PUBLIC_HOST]


@pytest.fixture
def two_orders(stocked_article, customer, manager):
    article = stocked_article(10)
    for _ in range(2):
        order_create(customer=customer, lines=[{"article": article.pk, "quantity": 1}], created_by=manager)


def first_page(peer: str, user, **headers) -> dict:
    client = APIClient(REMOTE_ADDR=peer)
    client.force_authenticate(user)
    response = client.get("/api/v1/orders/", {"page_size": 1}, headers=headers)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_page_links_through_the_gateway_name_its_host_and_prefix(public_host, two_orders, manager, scheme):
    page = first_page(GATEWAY, manager, **THROUGH_THE_GATEWAY, x_forwarded_proto=scheme)
    assert page["next"] == f"{scheme}://{PUBLIC_HOST}/store-api/orders/?page=2&page_size=1"


@pytest.mark.django_db
def test_the_previous_page_link_through_the_gateway_names_its_host_and_prefix(
    public_host, two_orders, manager
):
    client = APIClient(REMOTE_ADDR=GATEWAY)
    client.force_authenticate(manager)
    response = client.get("/api/v1/orders/", {"page": 2, "page_size": 1}, headers=THROUGH_THE_GATEWAY)
    assert response.json()["previous"] == f"http://{PUBLIC_HOST}/store-api/orders/?page_size=1"


@pytest.mark.django_db
def test_the_gateways_host_and_prefix_from_an_untrusted_peer_change_no_link(public_host, two_orders, manager):
    page = first_page(STRANGER, manager, **THROUGH_THE_GATEWAY)
    assert page["next"] == "http://testserver/api/v1/orders/?page=2&page_size=1"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("store-api", id="relative"),
        pytest.param("/store-api/", id="trailing-slash"),
        pytest.param("//evil.example", id="network-path"),
        pytest.param("https://evil.example/x", id="absolute-url"),
        pytest.param("/../admin", id="dot-segment"),
        pytest.param("/store api", id="space"),
        pytest.param("/store-api?x=1", id="query"),
        pytest.param("/%2e%2e", id="percent-encoded"),
        pytest.param("/" + "a" * 250, id="too-long"),
        pytest.param("", id="empty"),
    ],
)
def test_a_forwarded_prefix_that_is_not_a_plain_path_is_ignored(public_host, two_orders, manager, prefix):
    page = first_page(GATEWAY, manager, x_forwarded_host=PUBLIC_HOST, x_forwarded_prefix=prefix)
    assert page["next"] == f"http://{PUBLIC_HOST}/api/v1/orders/?page=2&page_size=1"


def test_the_prefix_replaces_only_the_api_root_and_resolution_keeps_the_service_path(behind_gateway):
    request = through_middleware_at(GATEWAY, "/api/v1/orders/7/cancel/", x_forwarded_prefix="/store-api")
    assert (request.path, request.path_info) == ("/store-api/orders/7/cancel/", "/api/v1/orders/7/cancel/")
    assert resolve(request.path_info).url_name == "order-cancel"


@pytest.mark.parametrize(
    ("path", "seen"),
    [
        ("/api/v1", "/store-api"),
        ("/graphql/", "/graphql/"),
        ("/api/v10/orders/", "/api/v10/orders/"),
        ("/health/", "/health/"),
    ],
)
def test_the_prefix_stands_for_the_api_root_and_nothing_else(behind_gateway, path, seen):
    assert through_middleware_at(GATEWAY, path, x_forwarded_prefix="/store-api").path == seen


def test_only_the_host_the_nearest_trusted_proxy_wrote_counts(public_host):
    request = through_middleware(GATEWAY, x_forwarded_host=f"evil.example, {PUBLIC_HOST}")
    assert request.get_host() == PUBLIC_HOST


def test_an_empty_forwarded_host_falls_back_to_the_host_header(behind_gateway):
    assert through_middleware(GATEWAY, x_forwarded_host="").get_host() == "testserver"


@pytest.mark.django_db
def test_a_forwarded_host_outside_allowed_hosts_gets_a_400_in_the_error_shape(behind_gateway, manager):
    client = APIClient(REMOTE_ADDR=GATEWAY)
    client.force_authenticate(manager)
    response = client.get(
        "/api/v1/orders/", headers={**THROUGH_THE_GATEWAY, "X-Forwarded-Host": "evil.example"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


@pytest.mark.django_db
def test_an_unknown_path_behind_the_prefix_gets_a_404_in_the_error_shape(public_host, manager):
    client = APIClient(REMOTE_ADDR=GATEWAY)
    client.force_authenticate(manager)
    response = client.get("/api/v1/orders/not-a-number/", headers=THROUGH_THE_GATEWAY)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_the_schema_through_the_gateway_describes_the_services_own_paths(public_host):
    """Deliberately unchanged (ADR 0008): clients map `/api/v1` to `/store-api` as the gateway does."""
    response = APIClient(REMOTE_ADDR=GATEWAY).get(
        "/api/v1/schema/", {"format": "json"}, headers=THROUGH_THE_GATEWAY
    )
    assert response.status_code == 200
    schema = response.json()
    assert "servers" not in schema
    assert "/api/v1/orders/" in schema["paths"]


# --- redirects behind a proxy that follows them (KrakenD CE) ---------------------------------------


# What the gateway's routes for browsers add to every request (krakend.json, modifier/martian).
FOR_BROWSERS = {"X-Gateway-Follows-Redirects": "1", "X-Forwarded-Host": "127.0.0.1:8080"}


def test_a_redirect_through_the_gateway_is_a_page_that_sends_the_browser_on(behind_gateway, manager):
    manager.set_password("a-long-enough-password")
    manager.save()
    client = Client(REMOTE_ADDR=GATEWAY, headers=FOR_BROWSERS)
    login = client.get("/admin/login/")  # the CSRF cookie

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "manager", "password": "a-long-enough-password", "next": "/admin/"},
        headers={"X-CSRFToken": login.cookies["csrftoken"].value},
    )

    assert response.status_code == 200
    assert not response.has_header("Location")
    assert response["Refresh"] == "0; url=http://127.0.0.1:8080/admin/"
    assert response["Cache-Control"] == "no-store"
    assert (
        '<meta http-equiv="refresh" content="0; url=http://127.0.0.1:8080/admin/">'
        in response.content.decode()
    )
    assert response.cookies["sessionid"].value  # the login sticks: the session cookie is kept
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("peer", "headers"),
    [(STRANGER, FOR_BROWSERS), (GATEWAY, {"X-Forwarded-Host": "127.0.0.1:8080"})],
    ids=["a stranger saying the gateway follows redirects", "the gateway's routes for programs"],
)
def test_a_redirect_stays_a_redirect_unless_the_gateway_follows_it(behind_gateway, peer, headers):
    response = Client(REMOTE_ADDR=peer, headers=headers).get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    assert not response.has_header("Refresh")


def followed(location: str):
    request = RequestFactory().get("/", REMOTE_ADDR=GATEWAY, headers=FOR_BROWSERS)
    return TrustedProxyMiddleware(lambda request: HttpResponseRedirect(location))(request)


def test_the_redirect_page_escapes_the_location(behind_gateway):
    response = followed("/admin/?q=tea&o=1")

    assert response.status_code == 200
    assert response["Refresh"] == "0; url=http://127.0.0.1:8080/admin/?q=tea&o=1"
    assert '<a href="http://127.0.0.1:8080/admin/?q=tea&amp;o=1">' in response.content.decode()


def test_the_redirect_page_never_leaves_the_site_where_a_302_would_not(behind_gateway, settings):
    """A browser drops a leading quote of a `Refresh` URL, not of a `Location`: `'//evil.example`
    is a path on the site as a 302 (and passes Django's `next` check), another site as a refresh."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]

    response = followed("'//evil.example/")

    assert response["Refresh"].startswith("0; url=http://127.0.0.1:8080/'")


def test_a_not_modified_answer_through_the_gateway_is_left_alone(behind_gateway):
    request = RequestFactory().get("/", REMOTE_ADDR=GATEWAY, headers=FOR_BROWSERS)
    response = TrustedProxyMiddleware(lambda request: HttpResponseNotModified())(request)

    assert response.status_code == 304


# --- gunicorn, as deployed -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_under_gunicorn_a_local_client_cannot_make_the_store_believe_it_came_over_https(
    payments_nowhere, manager, tmp_path, stocked_article
):
    """gunicorn believes X-Forwarded-Proto from loopback unless told not to: only TRUSTED_PROXIES may."""
    for sku in ("A-1", "A-2"):
        stocked_article(1, sku=sku)
    token = Token.objects.create(user=manager).key
    env = store_environment(
        redis_url=django_settings.CACHES["default"]["LOCATION"], payments_url=payments_nowhere
    )
    with running_store({**env, "TRUSTED_PROXIES": ""}, log_dir=tmp_path) as store:
        answer = requests.get(
            f"{store.url}/api/v1/articles/?page_size=1",
            headers={
                "Authorization": f"Token {token}",
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Ssl": "on",
            },
            timeout=10,
        )

    assert answer.json()["next"].startswith("http://127.0.0.1:")

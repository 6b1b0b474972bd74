"""X-Forwarded-For/-Proto believed from the gateway only (TRUSTED_PROXIES), in the store.

The payments service has the same middleware: payments/tests/test_proxies.py.
"""

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from core.proxies import TrustedProxyMiddleware

GATEWAY = "172.28.0.10"
CLIENT = "203.0.113.7"
STRANGER = "198.51.100.23"


@pytest.fixture
def behind_gateway(settings):
    settings.TRUSTED_PROXIES = [GATEWAY]


def through_middleware(peer: str, **headers):
    """The request as the views see it after TrustedProxyMiddleware, sent by `peer` with `headers`."""
    request = RequestFactory().get("/", REMOTE_ADDR=peer, headers=headers)
    return TrustedProxyMiddleware(lambda request: request)(request)


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
    )
    assert request.META["REMOTE_ADDR"] == STRANGER
    assert not request.is_secure()
    assert not {"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port"} & set(
        request.headers
    )


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

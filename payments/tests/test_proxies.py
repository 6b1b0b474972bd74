"""The payments service believes X-Forwarded-For/-Proto from the gateway only (TRUSTED_PROXIES).

Checked through the service's own middleware stack: `response.wsgi_request` is the request its views saw.
"""

import pytest
from django.conf import settings as django_settings
from django.test import Client

GATEWAY = "172.28.0.10"
CLIENT = "203.0.113.7"
STRANGER = "198.51.100.23"


@pytest.fixture(autouse=True)
def behind_gateway(settings):
    settings.TRUSTED_PROXIES = [GATEWAY]


def seen_by_the_views(peer: str, **headers):
    response = Client(REMOTE_ADDR=peer).get("/health/", headers=headers)
    assert response.status_code == 200
    return response.wsgi_request


def test_the_middleware_runs_before_everything_that_reads_the_headers():
    assert django_settings.MIDDLEWARE[0] == "core.proxies.TrustedProxyMiddleware"
    assert django_settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")


def test_the_gateway_gives_the_client_address_and_scheme():
    request = seen_by_the_views(GATEWAY, x_forwarded_for=CLIENT, x_forwarded_proto="https")
    assert request.META["REMOTE_ADDR"] == CLIENT
    assert request.is_secure()


def test_forwarded_headers_from_anyone_else_are_dropped():
    request = seen_by_the_views(STRANGER, x_forwarded_for=CLIENT, x_forwarded_proto="https")
    assert request.META["REMOTE_ADDR"] == STRANGER
    assert not request.is_secure()
    assert "X-Forwarded-For" not in request.headers


@pytest.mark.parametrize(
    "forwarded_for", [f"{GATEWAY}, {CLIENT}", f"1.2.3.4, {CLIENT}", f"{GATEWAY}, 1.2.3.4, {CLIENT}"]
)
def test_addresses_a_client_wrote_before_the_gateways_are_ignored(forwarded_for):
    assert seen_by_the_views(GATEWAY, x_forwarded_for=forwarded_for).META["REMOTE_ADDR"] == CLIENT


def test_nobody_is_trusted_when_no_proxy_is_configured(settings):
    settings.TRUSTED_PROXIES = []
    request = seen_by_the_views(GATEWAY, x_forwarded_for=CLIENT, x_forwarded_proto="https")
    assert request.META["REMOTE_ADDR"] == GATEWAY
    assert not request.is_secure()


@pytest.mark.parametrize(("peer", "status"), [(GATEWAY, 200), (STRANGER, 301)])
def test_https_redirects_trust_only_the_gateways_word(settings, peer, status):
    settings.SECURE_SSL_REDIRECT = True
    response = Client(REMOTE_ADDR=peer).get("/health/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == status

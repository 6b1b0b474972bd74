"""Transport hardening of the production settings (DEBUG off, as in the tests): HSTS on secure
requests, a Content-Security-Policy on every page, session and CSRF cookies for HTTPS only."""

import pytest
from django.test import Client

from users.models import Role
from users.tests.factories import UserFactory

PAGES = ["/admin/login/", "/admin/reports/stock/", "/graphql/", "/api/v1/docs/", "/api-auth/login/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_content_security_policy_without_inline_scripts(path):
    client = Client()
    if "login" not in path:
        client.force_login(UserFactory(role=Role.MANAGER))

    response = client.get(path, headers={"Accept": "text/html"}, secure=True)

    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert response.status_code == 200
    assert policy["script-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "<script>" not in response.content.decode()  # every script of the page is a file of /static/


def test_a_secure_request_is_told_to_keep_to_https():
    response = Client().get("/health/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_the_session_and_csrf_cookies_are_for_https_only():
    UserFactory(role=Role.MANAGER, username="boss", password="a-long-enough-password")
    client = Client()
    login = client.get("/admin/login/", secure=True)
    token = login.cookies["csrftoken"]

    logged_in = client.post(
        "/admin/login/",
        {"username": "boss", "password": "a-long-enough-password", "csrfmiddlewaretoken": token.value},
        secure=True,
    )

    assert token["secure"] is True
    assert logged_in.cookies["sessionid"]["secure"] is True

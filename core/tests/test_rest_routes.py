"""Every REST route as a whole: each one is in a role matrix (or public on purpose), and an anonymous
client must authenticate on every route that is not public.

The routes come from the URL configuration itself (DRF's endpoint enumerator, as the OpenAPI schema
does), so a route added without its matrix fails here, as a GraphQL root field without its roles
fails in test_graphql.py.
"""

import re

import pytest
from rest_framework.schemas.generators import EndpointEnumerator

from articles.tests.test_api import ARTICLE_ENDPOINTS
from orders.models import Order
from orders.tests.test_api import ORDER_ENDPOINTS
from orders.tests.test_reports import SALES_REPORT_ENDPOINTS
from stocks.models import StockMovement
from stocks.tests.test_api import STOCK_ENDPOINTS
from stocks.tests.test_reports import STOCK_REPORT_ENDPOINTS
from users.models import User
from users.tests.test_api import USER_ENDPOINTS

from . import assert_error, call

ROLE_MATRICES = [
    *ARTICLE_ENDPOINTS,
    *STOCK_ENDPOINTS,
    *STOCK_REPORT_ENDPOINTS,
    *ORDER_ENDPOINTS,
    *SALES_REPORT_ENDPOINTS,
    *USER_ENDPOINTS,
]
# Routes anyone may call, with what an anonymous client gets from an empty request, and why.
PUBLIC = {
    ("post", "/api/v1/auth/token/"): 400,  # where a token is obtained: the credentials are missing
    ("post", "/api/v1/orders/{}/payment-events/"): 401,  # refused without the payments service's signature
    ("get", "/api/v1/schema/"): 200,
    ("get", "/api/v1/docs/"): 200,
    ("get", "/health/"): 200,
    ("get", "/health/ready/"): 200,
}
NO_SUCH_OBJECT = 999_999  # authentication comes before any lookup: the object need not exist


def route(url: str) -> str:
    """The URL with each path parameter written `{}`, whatever its name."""
    return re.sub(r"\{[^}]*\}", "{}", url)


def routes_of_the_urlconf() -> set[tuple[str, str]]:
    return {(method.lower(), route(path)) for path, method, _ in EndpointEnumerator().get_api_endpoints()}


def test_every_rest_route_is_in_a_role_matrix_or_public_on_purpose():
    in_matrices = [(method, route(url)) for method, url, _, _ in ROLE_MATRICES]

    assert len(in_matrices) == len(set(in_matrices)), "a route is in two matrices"
    assert sorted(set(in_matrices) | set(PUBLIC)) == sorted(routes_of_the_urlconf())
    assert not set(in_matrices) & set(PUBLIC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [pytest.param(method, url, payload, id=f"{method}-{url}") for method, url, payload, _ in ROLE_MATRICES],
)
def test_an_anonymous_client_must_authenticate_on_every_route_that_is_not_public(
    api_client, method, url, payload
):
    if payload == "new-order":
        payload = {"customer": NO_SUCH_OBJECT, "lines": [{"article": NO_SUCH_OBJECT, "quantity": 1}]}
    path = route(url).replace("{}", str(NO_SUCH_OBJECT))

    response = call(api_client(None), method, path, payload)

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    assert (User.objects.count(), Order.objects.count(), StockMovement.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), list(PUBLIC), ids=[f"{m}-{u}" for m, u in PUBLIC])
def test_the_public_routes_answer_an_anonymous_client(api_client, method, url):
    response = call(api_client(None), method, url.replace("{}", str(NO_SUCH_OBJECT)))

    assert response.status_code == PUBLIC[(method, url)], response.content

"""Every error answer of the API has the one shape {status, code, message, fields, details}."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient

from core.errors import ServiceBusy, exception_handler
from core.tests import ERROR_KEYS, assert_error
from orders.models import Order
from store_manager import urls as store_urls


@pytest.fixture
def order_payload(customer, stocked_article):
    return {"customer": customer.pk, "lines": [{"article": stocked_article(1).pk, "quantity": 1}]}


# (who, method, path, body or (raw body, content type), status, code); each a distinct error path.
ERROR_REQUESTS = [
    (None, "get", "/api/v1/orders/", None, 401, "not_authenticated"),
    ("bad-token", "get", "/api/v1/orders/", None, 401, "authentication_failed"),
    ("supplier", "get", "/api/v1/orders/", None, 403, "permission_denied"),
    (
        "clerk",
        "post",
        "/api/v1/users/",
        {"username": "c", "email": "c@x.io", "role": "clerk"},
        403,
        "role_not_allowed",
    ),
    ("clerk", "post", "/api/v1/articles/", {"sku": "X"}, 400, "invalid"),
    ("clerk", "post", "/api/v1/orders/", ('{"customer": ', "application/json"), 400, "parse_error"),
    (
        "clerk",
        "post",
        "/api/v1/orders/",
        ("customer", "text/plain"),
        415,
        "unsupported_media_type",
    ),
    ("clerk", "get", "/api/v1/articles/987654321/", None, 404, "not_found"),
    ("clerk", "get", "/api/v1/no-such-thing/", None, 404, "not_found"),
    ("clerk", "get", "/api/v1/orders/99999999999999999999999/", None, 404, "not_found"),
    ("clerk", "delete", "/api/v1/articles/", None, 405, "method_not_allowed"),
    ("clerk", "post", "/api/v1/orders/987654321/cancel/", None, 404, "not_found"),
    ("manager", "delete", "/api/v1/users/{manager}/", None, 409, "cannot_delete_self"),
]


def client_for(request, who) -> APIClient:
    client = APIClient()
    if who == "bad-token":
        client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    elif who is not None:
        client.force_authenticate(request.getfixturevalue(who))
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status", "code"),
    ERROR_REQUESTS,
    ids=[f"{status}-{code}" for *_, status, code in ERROR_REQUESTS],
)
def test_every_error_answer_has_exactly_the_one_shape(
    request, manager, who, method, path, body, status, code
):
    client = client_for(request, who)
    url = path.format(manager=manager.pk)
    if body is None:
        response = getattr(client, method)(url)
    elif isinstance(body, tuple):
        response = getattr(client, method)(url, body[0], content_type=body[1])
    else:
        response = getattr(client, method)(url, body, format="json")
    assert set(response.json()) == ERROR_KEYS
    assert_error(response, status, code)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/orders/abc/", "/api/v2/orders/"])
def test_unknown_api_paths_are_a_json_404(api_client, clerk, path):
    assert_error(api_client(clerk).get(path), 404, "not_found")
    assert_error(APIClient().get(path), 404, "not_found")


@pytest.mark.django_db
def test_unknown_pages_outside_the_api_keep_djangos_html_404(api_client, clerk):
    response = api_client(clerk).get("/nowhere/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/auth/token/"),
        ("post", "/health/"),
        ("delete", "/api/v1/articles/"),
        ("put", "/api/v1/stocks/movements/"),
        ("post", "/api/v1/stocks/movements/"),
        ("patch", "/api/v1/orders/"),
    ],
)
def test_an_unsupported_method_is_a_405(api_client, manager, method, path):
    assert_error(getattr(api_client(manager), method)(path), 405, "method_not_allowed")


@pytest.mark.django_db
def test_an_unsupported_method_still_needs_authentication(api_client):
    assert_error(api_client(None).delete("/api/v1/articles/"), 401, "not_authenticated")


@pytest.mark.django_db
def test_a_body_in_an_unsupported_media_type_is_a_415(api_client, clerk, order_payload):
    response = api_client(clerk).post("/api/v1/orders/", "<order/>", content_type="application/xml")
    assert_error(response, 415, "unsupported_media_type")
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_an_unacceptable_accept_header_is_a_406(api_client, clerk):
    response = api_client(clerk).get("/api/v1/articles/", HTTP_ACCEPT="application/xml")
    assert_error(response, 406, "not_acceptable")


@pytest.mark.django_db
def test_a_session_post_without_csrf_token_is_refused(clerk, order_payload):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="clerk", password="correct-horse-battery")
    response = client.post("/api/v1/orders/", order_payload, format="json")
    body = assert_error(response, 403, "permission_denied")
    assert "CSRF" in body["message"]
    assert not Order.objects.exists()


def _broken_view(request):
    raise ZeroDivisionError("a bug")


# This module doubles as a URLconf: the store's routes and error handlers, plus one broken view.
urlpatterns = [path("api/v1/broken/", _broken_view), *store_urls.urlpatterns]
handler404 = store_urls.handler404
handler500 = store_urls.handler500


@pytest.mark.urls(__name__)
def test_an_unexpected_exception_is_a_json_500_without_a_traceback():
    response = Client(raise_request_exception=False).get("/api/v1/broken/")
    assert response.status_code == 500
    assert_error(response, 500, "server_error")
    assert b"ZeroDivisionError" not in response.content


def _handled(exc):
    """The handler's answer to an exception raised inside a view (as a DRF Response)."""
    return exception_handler(exc, {})


@pytest.mark.parametrize(
    ("exc", "status", "code", "retry_after"),
    [
        (OperationalError(2006, "MySQL server has gone away"), 503, "database_unavailable", "5"),
        (ServiceBusy(), 503, "service_busy", "1"),
        (IntegrityError(1062, "Duplicate entry"), 409, "conflict", None),
    ],
)
def test_infrastructure_failures_become_error_answers(exc, status, code, retry_after):
    response = _handled(exc)
    assert response.status_code == status
    assert set(response.data) == ERROR_KEYS
    assert (response.data["status"], response.data["code"]) == (status, code)
    assert response.headers.get("Retry-After") == retry_after


def test_a_django_validation_error_becomes_a_400_with_field_errors():
    response = _handled(DjangoValidationError({"email": ["Enter a valid email address."]}))
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["fields"] == {"email": ["Enter a valid email address."]}


# --- JSON nested too deeply -----------------------------------------------------------------------

NESTED_TOO_DEEPLY = "[" * 5_000 + "]" * 5_000


def json_writes() -> list[tuple[str, str]]:
    """(method, path) of every route of the store's API that takes a JSON body."""
    from core.tests.gateway import sample_path, service_routes

    return [
        (method, sample_path(route))
        for route, methods in service_routes("store_manager.urls")
        if route.startswith("api/v1/") and "payment-events" not in route
        for method in sorted(methods & {"POST", "PUT", "PATCH"})
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "manager"])
def test_json_nested_too_deeply_is_a_parse_error_on_every_route_that_reads_json(who, manager, caplog):
    client = APIClient()
    if who == "manager":
        client.force_authenticate(manager)
    routes = json_writes()
    answers = {
        f"{method} {path}": client.generic(method, path, NESTED_TOO_DEEPLY, content_type="application/json")
        for method, path in routes
    }

    def parse_error(answer) -> bool:
        return answer.status_code == 400 and answer.json()["code"] == "parse_error"

    assert len(routes) > 10
    # Never a server error, nor anything logged as one: the body is refused as malformed, or the
    # request before its body is read (401 anonymous, 404 for an object that does not exist).
    assert {route: answer.status_code for route, answer in answers.items() if answer.status_code >= 500} == {}
    assert {
        route for route, answer in answers.items() if answer.status_code == 400 and not parse_error(answer)
    } == set()
    assert parse_error(answers["POST /api/v1/auth/token/"])
    if who == "manager":
        assert parse_error(answers["POST /api/v1/orders/"]) and parse_error(answers["POST /api/v1/articles/"])
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


# --- lone surrogates ------------------------------------------------------------------------------

# JSON's escapes allow half of a UTF-16 pair alone: text no field may hold, and no UTF-8 can encode.
LONE_SURROGATES = '{"role": "\\udfff", "name": "tea \\ud800", "reference": "\\udc00", "lines": ["\\ud83d"]}'


@pytest.mark.django_db
def test_a_lone_surrogate_anywhere_in_a_json_body_is_a_parse_error_on_every_route(manager, caplog):
    client = APIClient()
    client.force_authenticate(manager)
    routes = json_writes()

    answers = {
        f"{method} {path}": client.generic(method, path, LONE_SURROGATES, content_type="application/json")
        for method, path in routes
    }

    assert {route: answer.status_code for route, answer in answers.items() if answer.status_code >= 500} == {}
    assert {
        route: answer.json()
        for route, answer in answers.items()
        if answer.status_code == 400 and answer.json()["code"] != "parse_error"
    } == {}
    assert answers["POST /api/v1/users/"].json()["code"] == "parse_error"  # a choice echoed it: a 500
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_a_pair_of_surrogates_is_one_character_and_is_accepted(api_client, manager):
    body = (
        '{"username": "emoji", "email": "emoji@example.com", "role": "customer", '
        '"first_name": "\\ud83d\\ude00", "password": "correct-horse-battery"}'
    )

    response = api_client(manager).post("/api/v1/users/", body, content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["first_name"] == "\N{GRINNING FACE}"

"""The public API description: served to anyone, valid, and documenting the error answers."""

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

SCHEMA_URL = "/api/v1/schema/"
ERROR_REF = "#/components/schemas/Error"
PUBLIC_PATHS = {"/api/v1/auth/token/", "/health/", "/health/ready/"}


@pytest.fixture(scope="module")
def schema():
    """The schema as served to an anonymous client (its generation reads no table)."""
    response = APIClient().get(SCHEMA_URL, {"format": "json"})
    assert response.status_code == 200, response.content
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_anonymous_clients_may_read_the_schema(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Store Manager API"
    assert "/api/v1/orders/" in schema["paths"]


@pytest.mark.django_db
def test_the_schema_is_served_as_yaml_to_any_role(customer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=customer).key}")
    response = client.get(SCHEMA_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert "/api/v1/stocks/movements/" in yaml.safe_load(response.content)["paths"]


@pytest.mark.django_db
def test_the_swagger_ui_is_served_without_any_cdn():
    response = APIClient().get("/api/v1/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    # A CDN's address anywhere in the page (its random nonce may spell "cdn" by chance).
    assert not re.search(r"//[^\s\"'<>]*cdn", html, re.IGNORECASE)
    # Its settings are a script of their own (no inline script, under the Content-Security-Policy).
    script = APIClient().get("/api/v1/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert SCHEMA_URL in script.content.decode()


def test_the_swagger_ui_assets_ship_with_the_project():
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}"), asset


def test_the_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(target))
    assert "/api/v1/orders/{id}/cancel/" in yaml.safe_load(target.read_text())["paths"]


def test_every_protected_operation_documents_401(schema):
    missing = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if path not in PUBLIC_PATHS and "401" not in operation["responses"]
    ]
    assert missing == []
    for path in PUBLIC_PATHS:
        for operation in schema["paths"][path].values():
            assert "401" not in operation["responses"], path


def test_every_api_operation_documents_a_4xx_answer_in_the_error_shape(schema):
    def error_statuses(operation):
        return {
            status
            for status, response in operation["responses"].items()
            if status.startswith("4")
            and response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
            == ERROR_REF
        }

    lacking = [
        f"{method.upper()} {path}"
        for path, method, operation in operations(schema)
        if path.startswith("/api/v1/") and not error_statuses(operation)
    ]
    assert lacking == []
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {
        "status",
        "code",
        "message",
        "fields",
        "details",
    }


def test_placing_an_order_documents_its_conflict_and_key_reuse_answers(schema):
    responses = schema["paths"]["/api/v1/orders/"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "422"} <= set(responses)
    assert "insufficient_stock" in responses["409"]["description"]
    assert "idempotency_key_reused" in responses["422"]["description"]
    for status in ("409", "422"):
        assert responses[status]["content"]["application/json"]["schema"]["$ref"] == ERROR_REF
    parameters = schema["paths"]["/api/v1/orders/"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in parameters)


def test_domain_errors_are_documented_on_the_actions_that_raise_them(schema):
    paths = schema["paths"]
    assert "article_in_use" in paths["/api/v1/articles/{id}/"]["delete"]["responses"]["409"]["description"]
    restock = paths["/api/v1/stocks/{article_id}/restock/"]["post"]["responses"]
    assert "stock_limit_exceeded" in restock["409"]["description"]
    assert "order_paid" in paths["/api/v1/orders/{id}/"]["delete"]["responses"]["409"]["description"]
    assert "role_not_allowed" in paths["/api/v1/users/"]["post"]["responses"]["403"]["description"]


def test_the_payment_doors_document_their_answers(schema):
    paths = schema["paths"]
    events = paths["/api/v1/orders/{order_id}/payment-events/"]["post"]
    assert "bad_signature" in events["responses"]["401"]["description"]
    assert "stale_signature" in events["responses"]["401"]["description"]
    assert "payment_amount_mismatch" in events["responses"]["409"]["description"]
    assert {p["name"] for p in events["parameters"]} >= {"X-Payments-Timestamp", "X-Payments-Signature"}
    payment = paths["/api/v1/orders/{id}/payment/"]["post"]["responses"]
    assert "payments_unavailable" in payment["503"]["description"]
    assert "order_not_payable" in payment["409"]["description"]
    cancel = paths["/api/v1/orders/{id}/cancel/"]["post"]["responses"]
    assert "payments_unavailable" in cancel["503"]["description"]
    order = schema["components"]["schemas"]["Order"]["properties"]["payment"]
    assert order["nullable"] is True


def test_component_names_read_well_and_every_write_shows_an_example_body(schema):
    assert not [name for name in schema["components"]["schemas"] if name.endswith("RequestRequest")]
    writes = {
        ("post", "/api/v1/auth/token/"): "CredentialsRequest",
        ("post", "/api/v1/orders/"): "OrderCreateRequest",
        ("post", "/api/v1/stocks/{article_id}/restock/"): "RestockRequest",
        ("post", "/api/v1/stocks/{article_id}/adjust/"): "AdjustRequest",
    }
    for (method, path), component in writes.items():
        body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
        assert body["schema"]["$ref"] == f"#/components/schemas/{component}", path
        [example] = body["examples"].values()
        assert set(example["value"]) == set(schema["components"]["schemas"][component]["required"]), path

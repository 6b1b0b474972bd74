"""The payments API description: served to anyone, listing exactly the contract's routes."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient


@pytest.fixture(scope="module")
def schema():
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_schema_lists_the_contracts_routes(schema):
    assert schema["info"]["title"] == "Store Manager payments API"
    assert set(schema["paths"]) == {
        "/api/v1/payments/",
        "/api/v1/payments/{payment_id}/",
        "/api/v1/payments/{payment_id}/refund/",
        "/api/v1/payments/{payment_id}/pay/{secret}/",
        "/health/",
        "/health/ready/",
    }
    assert schema["components"]["securitySchemes"] == {
        "serviceToken": {"type": "http", "scheme": "bearer", "description": "The store's service token."}
    }


def test_the_store_operations_need_the_token_and_the_pay_url_does_not(schema):
    assert schema["paths"]["/api/v1/payments/"]["post"]["security"] == [{"serviceToken": []}]
    pay = schema["paths"]["/api/v1/payments/{payment_id}/pay/{secret}/"]["post"]
    assert pay.get("security", [{}]) == [{}]


def test_the_business_errors_are_documented(schema):
    pay = schema["paths"]["/api/v1/payments/{payment_id}/pay/{secret}/"]["post"]["responses"]
    assert "`card_declined`" in pay["402"]["description"]
    assert "`already_paid`" in pay["409"]["description"]
    assert "`invalid_card`" in pay["400"]["description"]
    assert "401" not in pay
    create = schema["paths"]["/api/v1/payments/"]["post"]["responses"]
    assert set(create) >= {"200", "201", "400", "401", "422"}
    refund = schema["paths"]["/api/v1/payments/{payment_id}/refund/"]["post"]["responses"]
    assert "`not_refundable`" in refund["409"]["description"]


def test_the_schema_is_valid_and_generated_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

"""The payments service answers with the caller's request id and logs its lines under it."""

import re

import pytest

from core.tests.log_lines import json_log_lines

pytestmark = pytest.mark.django_db


def test_the_request_id_of_the_store_is_echoed_and_in_the_log_lines(service_client):
    with json_log_lines() as lines:
        response = service_client.get("/api/v1/payments/987654/", HTTP_X_REQUEST_ID="trace-from-store")

    assert (response.status_code, response["X-Request-Id"]) == (404, "trace-from-store")
    (line,) = [line for line in lines() if line["logger"] == "django.request"]
    assert (line["request_id"], line["message"]) == (
        "trace-from-store",
        "Not Found: /api/v1/payments/987654/",
    )


def test_a_call_without_a_request_id_gets_one(service_client):
    response = service_client.get("/health/")

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-Id"])


def test_the_secret_of_a_pay_url_never_reaches_the_logs(client, new_payment):
    payment = new_payment()
    with json_log_lines() as lines:
        response = client.post(
            f"/api/v1/payments/{payment.pk}/pay/{payment.secret}/",
            {"number": "1"},
            content_type="application/json",
        )

    assert response.status_code == 400
    logged = "\n".join(line["message"] for line in lines())
    assert f"/api/v1/payments/{payment.pk}/pay/[redacted]/" in logged
    assert payment.secret not in logged

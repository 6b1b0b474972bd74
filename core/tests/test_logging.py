"""Request ids and JSON log lines in the store, and the id's way to the payments service."""

import json
import logging
import re
import time

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from core.logging import log_format
from core.request_id import MAX_LENGTH, bound_request_id
from orders import payments_client
from orders.errors import PaymentServiceUnavailable
from orders.services import order_create
from orders.tests.payments_service import running_payments_service
from orders.tests.payments_stub import payment_json, refused_url, stub_server

from .log_lines import json_log_lines

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


def test_an_incoming_request_id_is_echoed_on_the_answer(client):
    response = client.get("/health/", HTTP_X_REQUEST_ID="gateway-7f3a.1_b")

    assert response["X-Request-Id"] == "gateway-7f3a.1_b"


def test_a_request_without_an_id_gets_a_new_one_each_time(client):
    first, second = (client.get("/health/")["X-Request-Id"] for _ in range(2))

    assert GENERATED_ID.fullmatch(first) and GENERATED_ID.fullmatch(second)
    assert first != second


def test_an_id_of_the_longest_accepted_length_is_kept(client):
    longest = "a" * MAX_LENGTH

    assert client.get("/health/", HTTP_X_REQUEST_ID=longest)["X-Request-Id"] == longest


@pytest.mark.parametrize(
    "unusable",
    ["", "two words", "a" * (MAX_LENGTH + 1), 'quote"d', "forged\nline", "naïve", "semi;colon"],
)
def test_an_unusable_request_id_is_replaced_by_a_new_one(client, unusable):
    response = client.get("/health/", HTTP_X_REQUEST_ID=unusable)

    assert response.status_code == 200
    assert GENERATED_ID.fullmatch(response["X-Request-Id"])


def test_the_log_lines_of_a_request_are_json_with_its_id(client):
    with json_log_lines() as lines:
        client.get("/api/v1/no-such-thing/", HTTP_X_REQUEST_ID="trace-404")
        logging.getLogger("core.tests").warning("after the request")

    not_found, after = lines()[-2:]
    assert (not_found["logger"], not_found["level"], not_found["request_id"]) == (
        "django.request",
        "WARNING",
        "trace-404",
    )
    assert not_found["message"] == "Not Found: /api/v1/no-such-thing/"
    assert not_found["status_code"] == 404 and "request" not in not_found
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", not_found["time"])
    assert (after["message"], after["request_id"]) == ("after the request", "-")


def test_a_traceback_is_one_json_line(client):
    with json_log_lines() as lines:
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("core.tests").exception("it failed")

    (line,) = lines()
    assert line["message"] == "it failed"
    assert "ValueError: boom" in line["exc_info"]


@pytest.mark.parametrize(
    ("configured", "debug", "chosen"),
    [(None, False, "json"), (None, True, "plain"), ("plain", False, "plain"), ("json", True, "json")],
)
def test_logs_are_json_unless_debug_is_on_or_log_format_says_otherwise(
    monkeypatch, configured, debug, chosen
):
    if configured is None:
        monkeypatch.delenv("LOG_FORMAT", raising=False)
    else:
        monkeypatch.setenv("LOG_FORMAT", configured)

    assert log_format(debug=debug) == chosen


def test_an_unknown_log_format_stops_the_service(monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")

    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT"):
        log_format(debug=False)


# --- to payments ------------------------------------------------------------------------------------


@pytest.fixture
def pending_order(clerk, customer, stocked_article):
    """Returns a factory of orders without a payment yet."""
    tea = stocked_article(10)
    return lambda: order_create(
        customer=customer, lines=[{"article": tea.pk, "quantity": 1}], created_by=clerk
    )


@pytest.fixture
def stub(settings):
    with stub_server() as server:
        settings.PAYMENTS_URL = server.url
        yield server


def test_the_store_sends_the_incoming_request_id_to_payments(api_client, clerk, pending_order, stub):
    order = pending_order()
    stub.behaviour.status, stub.behaviour.body = 201, payment_json(order_id=order.pk)

    response = api_client(clerk).post(f"/api/v1/orders/{order.pk}/payment/", HTTP_X_REQUEST_ID="trace-pay-1")

    assert response.status_code == 200
    assert [received.headers["X-Request-Id"] for received in stub.received] == ["trace-pay-1"]


def test_the_store_sends_the_id_it_generated_to_payments(api_client, clerk, pending_order, stub):
    order = pending_order()
    stub.behaviour.status, stub.behaviour.body = 201, payment_json(order_id=order.pk)

    response = api_client(clerk).post(f"/api/v1/orders/{order.pk}/payment/")

    assert [received.headers["X-Request-Id"] for received in stub.received] == [response["X-Request-Id"]]


def test_a_call_outside_any_request_sends_no_request_id(stub):
    stub.behaviour.body = payment_json()

    payments_client.client().get_payment(41)

    assert "X-Request-Id" not in stub.received[0].headers


@pytest.fixture(scope="module")
def payments(django_db_setup):
    with refused_url() as nowhere, running_payments_service(store_url=nowhere) as service:
        yield service


def test_the_payments_service_logs_and_echoes_the_id_the_store_sends(payments, settings):
    settings.PAYMENTS_URL = payments.api_root

    with bound_request_id("trace-to-payments-42"), pytest.raises(PaymentServiceUnavailable):
        payments_client.client().get_payment(987654)  # 404 there: logged by Django as a warning

    line = wait_for_log_line(payments.log, "trace-to-payments-42")
    assert (line["logger"], line["level"], line["status_code"]) == ("django.request", "WARNING", 404)
    assert line["message"] == "Not Found: /api/v1/payments/987654/"
    echoed = requests.get(f"{payments.url}/health/", headers={"X-Request-Id": "trace-echo"}, timeout=5)
    assert echoed.headers["X-Request-Id"] == "trace-echo"


def wait_for_log_line(log, request_id: str) -> dict:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for text in log.read_text().splitlines():
            if text.startswith("{") and json.loads(text).get("request_id") == request_id:
                return json.loads(text)
        time.sleep(0.05)
    raise AssertionError(f"no log line with request id {request_id}:\n{log.read_text()}")


# --- the access log (gunicorn.conf.py) ---------------------------------------------------------------


def access_lines(log) -> list[dict]:
    return [
        line
        for text in log.read_text().splitlines()
        if text.startswith("{") and (line := json.loads(text))["logger"] == "gunicorn.access"
    ]


def test_each_request_is_access_logged_with_its_id_status_and_duration_without_its_secret(payments):
    secret = "s3cr3t-pay-token-4242"
    requests.get(f"{payments.url}/health/", timeout=5)
    requests.post(
        f"{payments.url}/api/v1/payments/987654/pay/{secret}/?card=4242424242424242",
        json={},
        headers={"X-Request-Id": "trace-access-1"},
        timeout=5,
    )

    deadline = time.monotonic() + 5
    while not any(line["request_id"] == "trace-access-1" for line in access_lines(payments.log)):
        assert time.monotonic() < deadline, payments.log.read_text()
        time.sleep(0.05)
    (line,) = [line for line in access_lines(payments.log) if line["request_id"] == "trace-access-1"]
    assert (line["method"], line["path"], line["status"]) == (
        "POST",
        "/api/v1/payments/987654/pay/[redacted]/",
        400,  # no card details
    )
    assert line["message"] == f"POST /api/v1/payments/987654/pay/[redacted]/ 400 {line['duration_ms']} ms"
    assert 0 < line["duration_ms"] < 5000
    written = payments.log.read_text()
    assert secret not in written and "4242424242424242" not in written
    assert not [line for line in access_lines(payments.log) if line["path"].startswith("/health/")]

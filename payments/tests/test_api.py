"""The HTTP doors: who may call what, and the shapes of answers and errors (ADR 0005's contract)."""

from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from payments.errors import CardDeclined
from payments.models import Payment

from .helpers import DECLINED_CARD, GOOD_CARD, pay

pytestmark = pytest.mark.django_db

PAYMENTS = "/api/v1/payments/"
BODY = {"order_id": 31, "customer_id": 7, "amount": "12.30", "currency": "CAD"}
PAYMENT_FIELDS = {
    "id",
    "order_id",
    "customer_id",
    "amount",
    "currency",
    "status",
    "pay_url",
    "card_brand",
    "card_last4",
    "created_at",
    "updated_at",
}


def create(client, body=None, key="key-1"):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(PAYMENTS, body or BODY, format="json", headers=headers)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert set(body) == {"status", "code", "message", "fields", "details"}
    return body


# --- the store's service token ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", f"{PAYMENTS}?order_id=1"),
        ("post", PAYMENTS),
        ("get", f"{PAYMENTS}1/"),
        ("post", f"{PAYMENTS}1/refund/"),
    ],
)
def test_the_store_endpoints_need_the_service_token(method, path):
    client = APIClient()
    response = getattr(client, method)(path, {}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="payments"'

    client.credentials(HTTP_AUTHORIZATION="Bearer not-the-token")
    assert_error(getattr(client, method)(path, {}, format="json"), 401, "authentication_failed")
    client.credentials(HTTP_AUTHORIZATION=f"Token {django_settings.PAYMENTS_SERVICE_TOKEN}")  # not Bearer
    assert_error(getattr(client, method)(path, {}, format="json"), 401, "not_authenticated")
    assert not Payment.objects.exists()


# --- create, read ----------------------------------------------------------------------------------


def test_creating_a_payment_answers_201_with_the_contract_fields(service_client):
    response = create(service_client)
    assert response.status_code == 201
    body = response.json()
    payment = Payment.objects.get()
    assert set(body) == PAYMENT_FIELDS
    assert body | {"created_at": None, "updated_at": None} == {
        "id": payment.pk,
        "order_id": 31,
        "customer_id": 7,
        "amount": "12.30",
        "currency": "CAD",
        "status": "pending",
        "pay_url": f"http://payments.test/api/v1/payments/{payment.pk}/pay/{payment.secret}/",
        "card_brand": "",
        "card_last4": "",
        "created_at": None,
        "updated_at": None,
    }
    assert "Idempotent-Replayed" not in response


def test_the_currency_defaults_to_cad(service_client):
    body = {key: value for key, value in BODY.items() if key != "currency"}
    assert create(service_client, body).json()["currency"] == "CAD"


def test_repeating_a_create_with_its_key_replays_it(service_client):
    first = create(service_client)
    again = create(service_client, {**BODY, "amount": "12.3"})
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Payment.objects.count() == 1


def test_keys_that_differ_in_case_or_accent_are_different_keys(service_client):
    """MariaDB's utf8mb4 collations would call them equal: the second order would get the first's payment."""
    first = create(service_client, {**BODY, "order_id": 31}, key="Key-x")
    second = create(service_client, {**BODY, "order_id": 32}, key="KEY-X")
    third = create(service_client, {**BODY, "order_id": 33}, key="K\u00e9y-x")

    assert [answer.status_code for answer in (first, second, third)] == [201, 201, 201]
    assert Payment.objects.count() == 3


def test_the_same_key_with_another_body_is_422(service_client):
    create(service_client)
    assert_error(create(service_client, {**BODY, "amount": "99.00"}), 422, "idempotency_key_reused")
    assert Payment.objects.count() == 1


def test_another_create_for_the_same_order_answers_its_live_payment_with_200(service_client):
    first = create(service_client).json()
    for key in ("key-2", None):
        response = create(service_client, key=key)
        assert response.status_code == 200
        assert response.json() == first


# The answer already due looked for, then BEGIN, the payment, its event, COMMIT.
MAX_STATEMENTS_PER_CREATE = 5


@pytest.mark.django_db(transaction=True)
def test_a_new_payment_costs_at_most_5_sql_statements_and_no_savepoint(service_client):
    """As the store's order placing calls it: one read for the payment already due (its key's, or
    the order's live one), then the payment and its event in a transaction of their own."""
    with CaptureQueriesContext(connection) as captured:
        assert create(service_client).status_code == 201
    statements = [statement["sql"] for statement in captured.captured_queries]
    assert len(statements) <= MAX_STATEMENTS_PER_CREATE, "\n".join(statements)
    assert not any("SAVEPOINT" in statement for statement in statements)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"order_id": None}, "order_id"),
        ({"order_id": 0}, "order_id"),
        ({"customer_id": "x"}, "customer_id"),
        ({"currency": "cad"}, "currency"),
    ],
)
def test_bad_create_input_is_400_per_field(service_client, change, field):
    body = assert_error(create(service_client, {**BODY, **change}), 400, "invalid")
    assert list(body["fields"]) == [field]
    assert not Payment.objects.exists()


def test_a_blank_idempotency_key_is_refused(service_client):
    response = service_client.post(PAYMENTS, BODY, format="json", headers={"Idempotency-Key": ""})
    assert_error(response, 400, "invalid_idempotency_key")


def test_a_payment_is_read_by_id(service_client, new_payment):
    payment = new_payment()
    response = service_client.get(f"{PAYMENTS}{payment.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == payment.pk and set(response.json()) == PAYMENT_FIELDS
    assert_error(service_client.get(f"{PAYMENTS}{payment.pk + 1000}/"), 404, "not_found")


def test_the_payments_of_an_order_are_listed_newest_first(service_client, new_payment):
    failed = new_payment(order_id=55)
    with pytest.raises(CardDeclined):
        pay(failed, DECLINED_CARD)
    live = new_payment(order_id=55)
    new_payment(order_id=56)
    response = service_client.get(PAYMENTS, {"order_id": 55})
    assert response.status_code == 200
    assert [(item["id"], item["status"]) for item in response.json()] == [
        (live.pk, "pending"),
        (failed.pk, "failed"),
    ]
    assert service_client.get(PAYMENTS, {"order_id": 57}).json() == []
    assert list(assert_error(service_client.get(PAYMENTS), 400, "invalid")["fields"]) == ["order_id"]


# --- the paying client's pay_url -------------------------------------------------------------------


def pay_url(payment, secret=None) -> str:
    return f"{PAYMENTS}{payment.pk}/pay/{secret or payment.secret}/"


def test_the_pay_url_shows_the_payment_without_customer_nor_card(new_payment):
    payment = pay(new_payment())
    response = APIClient().get(pay_url(payment))
    assert response.status_code == 200
    assert set(response.json()) == PAYMENT_FIELDS - {"customer_id", "card_brand", "card_last4"}
    assert response.json()["status"] == "paid"


def test_paying_through_the_pay_url_answers_paid_without_any_token(new_payment):
    payment = new_payment()
    response = APIClient().post(pay_url(payment), GOOD_CARD, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "paid"
    payment.refresh_from_db()
    assert (payment.status, payment.card_brand, payment.card_last4) == ("paid", "visa", "4242")


def test_a_declined_card_is_402_and_the_payment_may_be_paid_again(new_payment):
    payment = new_payment()
    body = assert_error(
        APIClient().post(pay_url(payment), DECLINED_CARD, format="json"), 402, "card_declined"
    )
    assert body["details"] == {"payment": payment.pk, "status": "failed"}
    assert APIClient().post(pay_url(payment), GOOD_CARD, format="json").status_code == 200


def test_json_nested_too_deeply_is_a_parse_error_and_pays_nothing(new_payment, service_client, caplog):
    payment = new_payment()
    nested = "[" * 5_000 + "]" * 5_000

    paying = APIClient().post(pay_url(payment), nested, content_type="application/json")
    creating = service_client.post("/api/v1/payments/", nested, content_type="application/json")

    assert_error(paying, 400, "parse_error")
    assert_error(creating, 400, "parse_error")
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


def test_bad_card_fields_are_400_per_field(new_payment):
    payment = new_payment()
    card = {"card_number": "4242 4242 4242 4241", "cvc": "1", "expiry": "13/30"}
    body = assert_error(APIClient().post(pay_url(payment), card, format="json"), 400, "invalid_card")
    assert set(body["fields"]) == {"card_number", "cvc", "expiry"}
    body = assert_error(APIClient().post(pay_url(payment), {"cvc": "123"}, format="json"), 400, "invalid")
    assert set(body["fields"]) == {"card_number", "expiry"}


def test_an_expired_card_is_400_on_its_expiry(new_payment):
    payment = new_payment()
    card = {**GOOD_CARD, "expiry": "01/21"}
    body = assert_error(APIClient().post(pay_url(payment), card, format="json"), 400, "invalid_card")
    assert body["fields"] == {"expiry": ["This card has expired."]}


def test_paying_a_paid_payment_is_409_already_paid(new_payment):
    payment = pay(new_payment())
    assert_error(APIClient().post(pay_url(payment), GOOD_CARD, format="json"), 409, "already_paid")
    assert payment.events.filter(status="paid").count() == 1


def test_a_wrong_secret_is_404_for_reading_and_paying(new_payment):
    payment = new_payment()
    wrong = payment.secret[:-2] + "zz" if not payment.secret.endswith("zz") else "x" * 43
    assert_error(APIClient().get(pay_url(payment, wrong)), 404, "not_found")
    assert_error(APIClient().post(pay_url(payment, wrong), GOOD_CARD, format="json"), 404, "not_found")
    payment.refresh_from_db()
    assert payment.status == "pending"


# --- refund ----------------------------------------------------------------------------------------


def test_refunding_is_200_and_idempotent(service_client, new_payment):
    payment = pay(new_payment())
    for _ in range(2):
        response = service_client.post(f"{PAYMENTS}{payment.pk}/refund/")
        assert response.status_code == 200
        assert response.json()["status"] == "refunded"
    assert payment.events.filter(status="refunded").count() == 1


def test_refunding_an_unpaid_payment_is_409_not_refundable(service_client, new_payment):
    payment = new_payment()
    body = assert_error(service_client.post(f"{PAYMENTS}{payment.pk}/refund/"), 409, "not_refundable")
    assert body["details"] == {"payment": payment.pk, "status": "pending"}
    assert_error(service_client.post(f"{PAYMENTS}{payment.pk + 1000}/refund/"), 404, "not_found")


# --- the deployment --------------------------------------------------------------------------------


def test_health_and_readiness_need_no_token():
    assert APIClient().get("/health/").json() == {"status": "ok"}
    response = APIClient().get("/health/ready/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_unknown_urls_answer_the_json_error_shape():
    assert_error(APIClient().get("/api/v1/orders/"), 404, "not_found")


def test_none_of_the_stores_apps_nor_tables_exist_here():
    for app in ("users", "articles", "stocks", "orders", "core", "auth", "admin", "sessions"):
        assert not apps.is_installed(app) and not apps.is_installed(f"django.contrib.{app}")
    tables = set(connection.introspection.table_names())
    assert tables == {
        "django_migrations",
        "payments_payment",
        "payments_paymentevent",
        "payments_notification",
    }


def test_money_is_decimal_end_to_end(service_client):
    create(service_client, {**BODY, "amount": "0.10"})
    assert Payment.objects.get().amount == Decimal("0.10")

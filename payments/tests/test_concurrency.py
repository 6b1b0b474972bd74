"""Races against the real database: real threads, each with its own connection, started together.

These tests commit for real (`transaction=True`): row locks only matter between transactions.
"""

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from payments.models import Notification, Payment, PaymentEvent

from .helpers import GOOD_CARD

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 20


def run_together(task, count: int = THREADS) -> list:
    """Run `task(n)` in `count` threads released at once; each result, or what it raised."""
    start_line = threading.Barrier(count, timeout=20)
    results: list = [None] * count

    def work(n: int) -> None:
        try:
            connection.ensure_connection()  # connect before the start line, not after it
            start_line.wait()
            results[n] = task(n)
        except BaseException as error:
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    return results


def test_twenty_concurrent_payments_of_one_payment_charge_it_exactly_once(new_payment):
    payment = new_payment()
    url = f"/api/v1/payments/{payment.pk}/pay/{payment.secret}/"

    responses = run_together(lambda n: APIClient().post(url, GOOD_CARD, format="json"))

    assert Counter(response.status_code for response in responses) == {200: 1, 409: THREADS - 1}
    assert {response.json()["code"] for response in responses if response.status_code == 409} == {
        "already_paid"
    }
    assert PaymentEvent.objects.filter(payment=payment, status="paid").count() == 1
    assert Notification.objects.filter(payment=payment).count() == 1
    payment.refresh_from_db()
    assert payment.status == "paid"


def test_twenty_concurrent_creates_for_one_order_make_one_payment(settings):
    client_token = f"Bearer {settings.PAYMENTS_SERVICE_TOKEN}"
    body = {"order_id": 99, "customer_id": 7, "amount": "10.00"}

    def create(n: int):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=client_token)
        # Half repeat one key, half use keys of their own.
        key = "shared-key" if n % 2 else f"key-{n}"
        return client.post("/api/v1/payments/", body, format="json", headers={"Idempotency-Key": key})

    responses = run_together(create)

    assert {response.status_code for response in responses} <= {200, 201}
    first_answers = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r]
    assert len(first_answers) == 1
    assert len({response.json()["id"] for response in responses}) == 1
    assert Payment.objects.count() == 1
    assert PaymentEvent.objects.count() == 1

"""`Idempotency-Key` on POST /api/v1/orders/: a repeat gets the first answer and changes nothing."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from core.tests import assert_error
from orders.models import Order
from stocks.models import Stock, StockMovement
from store_infra.models import IdempotencyKey

ORDERS_URL = "/api/v1/orders/"


@pytest.fixture
def tea(stocked_article):
    return stocked_article(10, sku="TEA-1")


@pytest.fixture
def payload(customer, tea):
    return {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 2}]}


def post(client, payload, key):
    return client.post(ORDERS_URL, payload, format="json", HTTP_IDEMPOTENCY_KEY=key)


def quantity_of(article) -> int:
    return Stock.objects.get(article=article).quantity


@pytest.mark.django_db
def test_a_repeated_request_gets_the_first_answer_and_creates_nothing_new(api_client, clerk, payload, tea):
    client = api_client(clerk)
    first = post(client, payload, "key-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    movements_after_first = StockMovement.objects.count()

    again = post(client, payload, "key-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    assert StockMovement.objects.count() == movements_after_first
    assert quantity_of(tea) == 8


@pytest.mark.django_db
def test_a_replay_returns_the_first_answer_even_after_the_order_changed(api_client, clerk, payload):
    client = api_client(clerk)
    first = post(client, payload, "key-1").json()
    assert client.post(f"{ORDERS_URL}{first['id']}/cancel/").status_code == 200
    again = post(client, payload, "key-1")
    assert again.json() == first
    assert again.json()["status"] == "pending"


@pytest.mark.django_db
def test_requests_without_a_key_are_not_deduplicated(api_client, clerk, payload, tea):
    client = api_client(clerk)
    assert client.post(ORDERS_URL, payload, format="json").status_code == 201
    assert client.post(ORDERS_URL, payload, format="json").status_code == 201
    assert Order.objects.count() == 2
    assert quantity_of(tea) == 6


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_refused(api_client, clerk, payload, tea):
    client = api_client(clerk)
    first = post(client, payload, "key-1")
    changed = {**payload, "lines": [{"article": tea.pk, "quantity": 3}]}
    movements_before = StockMovement.objects.count()
    assert_error(post(client, changed, "key-1"), 422, "idempotency_key_reused")
    assert Order.objects.count() == 1
    assert StockMovement.objects.count() == movements_before
    assert quantity_of(tea) == 8
    assert post(client, payload, "key-1").json() == first.json()


@pytest.mark.django_db
@pytest.mark.parametrize(("first", "second"), [("Key-x", "KEY-X"), ("acc-e", "acc-\u00e9"), ("k ", "k")])
def test_keys_that_differ_in_any_byte_are_different_keys(api_client, clerk, payload, tea, first, second):
    """MariaDB's utf8mb4 collations would call them equal: the second order would replay the first."""
    client = api_client(clerk)

    answers = [post(client, payload, key) for key in (first, second)]

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json()["id"] != answers[1].json()["id"]
    assert "Idempotent-Replayed" not in answers[1]
    assert quantity_of(tea) == 10 - 2 * 2


@pytest.mark.django_db
def test_the_same_key_from_another_user_is_independent(api_client, manager, clerk, payload, tea):
    by_clerk = post(api_client(clerk), payload, "shared-key")
    by_manager = post(api_client(manager), payload, "shared-key")
    assert by_clerk.status_code == by_manager.status_code == 201
    assert "Idempotent-Replayed" not in by_manager
    assert by_clerk.json()["id"] != by_manager.json()["id"]
    assert Order.objects.count() == 2
    assert quantity_of(tea) == 6


@pytest.mark.django_db
def test_a_refused_request_stores_no_key_so_a_retry_can_succeed(api_client, manager, clerk, customer, tea):
    client = api_client(clerk)
    too_many = {"customer": customer.pk, "lines": [{"article": tea.pk, "quantity": 12}]}
    assert_error(post(client, too_many, "key-1"), 409, "insufficient_stock")
    assert not IdempotencyKey.objects.exists()

    api_client(manager).post(
        f"/api/v1/stocks/{tea.pk}/restock/", {"quantity": 5, "reference": "DN"}, format="json"
    )
    retried = post(client, too_many, "key-1")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert quantity_of(tea) == 3


@pytest.mark.django_db
def test_bad_input_with_a_key_is_refused_and_stores_nothing(api_client, clerk, customer):
    response = post(api_client(clerk), {"customer": customer.pk, "lines": []}, "key-1")
    assert_error(response, 400, "invalid")
    assert not IdempotencyKey.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 256, "tab\tkey"])
def test_a_malformed_key_is_refused(api_client, clerk, payload, key):
    assert_error(post(api_client(clerk), payload, key), 400, "invalid_idempotency_key")
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_an_expired_key_is_forgotten(api_client, clerk, payload, settings):
    client = api_client(clerk)
    first = post(client, payload, "key-1").json()
    IdempotencyKey.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
    )
    again = post(client, payload, "key-1")
    assert again.status_code == 201
    assert again.json()["id"] != first["id"]
    assert Order.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("twins", [2, 5])
def test_concurrent_twins_create_one_order_and_all_get_its_answer(clerk, payload, tea, twins):
    barrier = threading.Barrier(twins)
    answers = [None] * twins

    def send(index: int) -> None:
        try:
            client = APIClient()
            client.force_authenticate(clerk)
            barrier.wait(timeout=10)
            response = post(client, payload, "twin-key")
            answers[index] = (response.status_code, response.json(), response.get("Idempotent-Replayed"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(twins)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(answer is not None for answer in answers)
    assert {status for status, _, _ in answers} == {201}
    bodies = [body for _, body, _ in answers]
    assert all(body == bodies[0] for body in bodies)
    assert sorted(str(replayed) for _, _, replayed in answers) == ["None"] + ["true"] * (twins - 1)
    assert Order.objects.count() == 1
    assert StockMovement.objects.filter(reference=f"order:{bodies[0]['id']}").count() == 1
    assert quantity_of(tea) == 8

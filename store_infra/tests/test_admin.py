import pytest

from core.tests.admin_pages import admin_url, assert_changelist_queries_flat, logged_in
from store_infra.models import IdempotencyKey

pytestmark = pytest.mark.django_db


def keys_of(user):
    def add(count: int) -> None:
        start = IdempotencyKey.objects.count()
        IdempotencyKey.objects.bulk_create(
            IdempotencyKey(
                user=user,
                scope="orders.create",
                key=f"key-{start + n}",
                fingerprint="0" * 64,
                response_status=201,
                response_body={},
            )
            for n in range(count)
        )

    return add


def test_the_idempotency_keys_list_costs_the_same_queries_for_5_or_50_keys(
    manager, django_assert_num_queries
):
    assert_changelist_queries_flat(
        logged_in(manager), IdempotencyKey, keys_of(manager), django_assert_num_queries
    )


def test_idempotency_keys_are_read_only_even_for_a_manager(manager):
    keys_of(manager)(1)
    key = IdempotencyKey.objects.get()
    client = logged_in(manager)

    assert client.get(admin_url(IdempotencyKey, "change", key.pk)).status_code == 200
    assert client.get(admin_url(IdempotencyKey, "add")).status_code == 403
    assert client.post(admin_url(IdempotencyKey, "change", key.pk), {"key": "other"}).status_code == 403
    assert client.post(admin_url(IdempotencyKey, "delete", key.pk), {"post": "yes"}).status_code == 403
    assert IdempotencyKey.objects.get().key == "key-0"


def test_clerks_do_not_see_idempotency_keys(clerk):
    assert logged_in(clerk).get(admin_url(IdempotencyKey)).status_code == 403

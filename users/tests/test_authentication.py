"""Token authentication served from the read cache: free when warm, never stale after a change."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from users.models import Role
from users.services import user_delete, user_update
from users.tests.factories import UserFactory

REPORT = "/api/v1/reports/stock/"


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.mark.django_db
def test_a_warm_cached_read_with_a_token_runs_no_sql_at_all(clerk):
    client = token_client(clerk)
    assert client.get(REPORT).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        response = client.get(REPORT)

    assert response.status_code == 200
    assert len(queries) == 0


@pytest.mark.django_db
def test_an_unknown_token_is_refused_every_time_and_not_cached(clerk):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    for _ in range(2):
        response = client.get(REPORT)
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db(transaction=True)
def test_a_deleted_token_stops_working_at_the_next_request():
    clerk = UserFactory(role=Role.CLERK)
    client = token_client(clerk)
    assert client.get(REPORT).status_code == 200

    Token.objects.filter(user=clerk).delete()

    assert client.get(REPORT).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_deactivated_user_is_refused_at_the_next_request():
    manager, clerk = UserFactory(role=Role.MANAGER), UserFactory(role=Role.CLERK)
    client = token_client(clerk)
    assert client.get(REPORT).status_code == 200

    user_update(actor=manager, user=clerk, is_active=False)

    response = client.get(REPORT)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db(transaction=True)
def test_a_role_change_applies_at_the_next_request():
    manager, clerk = UserFactory(role=Role.MANAGER), UserFactory(role=Role.CLERK)
    client = token_client(clerk)
    assert client.get(REPORT).status_code == 200

    user_update(actor=manager, user=clerk, role=Role.SUPPLIER)

    assert client.get(REPORT).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_deleted_user_is_refused_at_the_next_request():
    manager, clerk = UserFactory(role=Role.MANAGER), UserFactory(role=Role.CLERK)
    client = token_client(clerk)
    assert client.get(REPORT).status_code == 200

    user_delete(actor=manager, user=clerk)

    assert client.get(REPORT).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_writes_made_with_a_cached_user_are_attributed_to_that_user(stocked_article):
    clerk = UserFactory(role=Role.CLERK)
    article = stocked_article(quantity=1)
    client = token_client(clerk)
    client.get(REPORT)

    response = client.post(
        f"/api/v1/stocks/{article.pk}/restock/", {"quantity": 2, "reference": "DN-9"}, format="json"
    )

    assert response.status_code == 200
    assert article.stock_movements.latest("id").user == clerk

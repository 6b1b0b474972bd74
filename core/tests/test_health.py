"""Liveness and readiness probes, against the real database and Redis (and a Redis that is not there)."""

import pytest
from django.core.cache import caches
from django.test import override_settings
from rest_framework.test import APIClient

from .redis_server import DEAD_REDIS


def test_liveness_answers_without_authentication_or_database():
    response = APIClient().get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_liveness_ignores_credentials_it_does_not_need():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get("/health/").status_code == 200


@pytest.mark.django_db
def test_readiness_reports_the_database_and_the_cache_ok():
    response = APIClient().get("/health/ready/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


@pytest.mark.django_db
def test_readiness_reports_a_cache_that_does_not_answer_as_degraded_not_down():
    # override_settings(CACHES=...) makes Django drop its cache connections (setting_changed),
    # so `caches` builds the dead one now and the real one again afterwards.
    real_cache = caches["default"]
    with override_settings(CACHES=DEAD_REDIS):
        assert caches["default"] is not real_cache
        response = APIClient().get("/health/ready/")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "checks": {"database": "ok", "cache": "degraded"}}

    assert APIClient().get("/health/ready/").json()["status"] == "ok"

"""The store's production settings: no known or weak secret starts the service, and Django's deployment
checks pass (the payments service's: payments/tests/test_settings.py)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from core.tests.test_containers import env_example

STRONG = {
    "SECRET_KEY": "kV3q9Zr1wXn7Lp2Bt8Yc4Hf6Js0Dm5GaE2uWq7Rt4Yp1Ls8Nd3Fh",
    "PAYMENTS_SERVICE_TOKEN": "Qw8eRt2yUi4oPa6sDf1gHj3kLz5xCv7b",
    "PAYMENTS_WEBHOOK_SECRET": "Mn9bVc7xZl5kJh3gFd1sAp8oIu6yTr4e",
}
PRODUCTION = {"DEBUG": "0", "DATABASE_URL": "sqlite:////tmp/unused.sqlite3", "REDIS_URL": ""}


def run(*command: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        key: value for key, value in os.environ.items() if key not in STRONG and not key.startswith("DJANGO_")
    }
    return subprocess.run(
        [sys.executable, *command],
        cwd=settings.BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "store_manager.settings.store", **PRODUCTION, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_settings(**env: str) -> subprocess.CompletedProcess:
    return run("-c", "import django; django.setup()", **env)


WEAK = {
    "the .env.example placeholder": None,
    "one letter": "x",
    "long but repetitive": "a" * 64,
    "a demo value": "insecure-development-key-never-used-in-production",
}


@pytest.mark.parametrize("variable", list(STRONG))
@pytest.mark.parametrize("weak", list(WEAK))
def test_a_weak_or_known_secret_stops_the_store_naming_its_variable(variable, weak):
    placeholders = env_example()
    value = (
        WEAK[weak]
        or {
            "SECRET_KEY": placeholders["STORE_SECRET_KEY"],
            "PAYMENTS_SERVICE_TOKEN": placeholders["PAYMENTS_SERVICE_TOKEN"],
            "PAYMENTS_WEBHOOK_SECRET": placeholders["PAYMENTS_WEBHOOK_SECRET"],
        }[variable]
    )

    done = load_settings(**{**STRONG, variable: value})

    assert done.returncode != 0
    assert f"ImproperlyConfigured: {variable} " in done.stderr


def test_strong_secrets_start_the_store():
    done = load_settings(**STRONG)

    assert done.returncode == 0, done.stderr


def test_with_debug_on_the_development_secrets_are_used():
    done = load_settings(DEBUG="1")

    assert done.returncode == 0, done.stderr


def test_the_production_settings_pass_djangos_deployment_checks():
    done = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **STRONG)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout

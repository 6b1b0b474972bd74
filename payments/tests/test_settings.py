"""The payments settings refuse to start without their secrets in production, and the tests refuse SQLite."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-real-secret",
    "PAYMENTS_DATABASE_URL": "sqlite:////tmp/unused.sqlite3",
}


def load_settings(module: str, **env: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("PAYMENTS_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_needs_the_service_token_and_the_webhook_secret():
    for missing in ("PAYMENTS_SERVICE_TOKEN", "PAYMENTS_WEBHOOK_SECRET"):
        secrets = {"PAYMENTS_SERVICE_TOKEN": "t", "PAYMENTS_WEBHOOK_SECRET": "w"}
        del secrets[missing]
        done = load_settings("store_manager.settings.payments", **PRODUCTION, **secrets)
        assert done.returncode != 0
        assert f"{missing} is required when DEBUG is off" in done.stderr
    done = load_settings(
        "store_manager.settings.payments",
        **PRODUCTION,
        PAYMENTS_SERVICE_TOKEN="t",
        PAYMENTS_WEBHOOK_SECRET="w",
    )
    assert done.returncode == 0, done.stderr


def test_the_tests_refuse_an_embedded_database():
    done = load_settings(
        "store_manager.settings.payments_test", PAYMENTS_DATABASE_URL="sqlite:////tmp/x.sqlite3"
    )
    assert done.returncode != 0
    assert "PAYMENTS_DATABASE_URL must be mysql://" in done.stderr

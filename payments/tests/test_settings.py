"""The payments settings refuse to start without their secrets in production, and the tests refuse SQLite."""

import os
import subprocess
import sys

from django.conf import settings

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "kV3q9Zr1wXn7Lp2Bt8Yc4Hf6Js0Dm5GaE2uWq7Rt4Yp1Ls8Nd3Fh",
    "PAYMENTS_DATABASE_URL": "sqlite:////tmp/unused.sqlite3",
}
STRONG = {
    "PAYMENTS_SERVICE_TOKEN": "Qw8eRt2yUi4oPa6sDf1gHj3kLz5xCv7b",
    "PAYMENTS_WEBHOOK_SECRET": "Mn9bVc7xZl5kJh3gFd1sAp8oIu6yTr4e",
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
        secrets = dict(STRONG)
        del secrets[missing]
        done = load_settings("store_manager.settings.payments", **PRODUCTION, **secrets)
        assert done.returncode != 0
        assert f"{missing} is required when DEBUG is off" in done.stderr
    done = load_settings("store_manager.settings.payments", **PRODUCTION, **STRONG)
    assert done.returncode == 0, done.stderr


def test_production_refuses_weak_shared_secrets_naming_them():
    for name in STRONG:
        done = load_settings("store_manager.settings.payments", **PRODUCTION, **{**STRONG, name: "w"})
        assert done.returncode != 0 and f"{name} is shorter than 32 characters" in done.stderr


def test_the_production_settings_pass_djangos_deployment_checks():
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "store_manager.settings.payments",
            **PRODUCTION,
            **STRONG,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_the_tests_refuse_an_embedded_database():
    done = load_settings(
        "store_manager.settings.payments_test", PAYMENTS_DATABASE_URL="sqlite:////tmp/x.sqlite3"
    )
    assert done.returncode != 0
    assert "PAYMENTS_DATABASE_URL must be mysql://" in done.stderr

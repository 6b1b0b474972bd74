"""Settings for the payments service's tests: a real MariaDB database, never the SQLite fallback.

Run them on their own (`pytest --ds=store_manager.settings.payments_test payments/tests`, as
`make test` does): pytest-django uses one settings module per run.
"""

import os

os.environ.setdefault("SECRET_KEY", "suite-secret-key-0f3b9c2e7a1d4f6b8e5c0a9d2b7f4e1c5a8d3e6b9f2c")
os.environ.setdefault("PAYMENTS_DATABASE_URL", "mysql://root@127.0.0.1:3306/payments")
os.environ.setdefault("PAYMENTS_SERVICE_TOKEN", "suite-payments-token-6d1e8a3f0b9c2d7e4a5f")
os.environ.setdefault("PAYMENTS_WEBHOOK_SECRET", "suite-webhook-secret-9a4c7e2b5d8f1a3c6e0b")

from django.core.exceptions import ImproperlyConfigured

from .base import MYSQL_ENGINE
from .payments import *  # noqa: F403
from .payments import DATABASES

if DATABASES["default"]["ENGINE"] != MYSQL_ENGINE:
    raise ImproperlyConfigured(
        "The payments tests run against MariaDB/MySQL: PAYMENTS_DATABASE_URL must be mysql://…"
    )

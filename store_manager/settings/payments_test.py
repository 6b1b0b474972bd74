"""Settings for the payments service's tests: a real MariaDB database, never the SQLite fallback.

Run them on their own (`pytest --ds=store_manager.settings.payments_test payments/tests`, as
`make test` does): pytest-django uses one settings module per run.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key")
os.environ.setdefault("PAYMENTS_DATABASE_URL", "mysql://root@127.0.0.1:3306/payments")
os.environ.setdefault("PAYMENTS_SERVICE_TOKEN", "test-only-payments-token")
os.environ.setdefault("PAYMENTS_WEBHOOK_SECRET", "test-only-webhook-secret")

from django.core.exceptions import ImproperlyConfigured

from .payments import *  # noqa: F403
from .payments import DATABASES

if DATABASES["default"]["ENGINE"] != "django.db.backends.mysql":
    raise ImproperlyConfigured(
        "The payments tests run against MariaDB/MySQL: PAYMENTS_DATABASE_URL must be mysql://…"
    )

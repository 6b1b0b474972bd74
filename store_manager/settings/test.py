"""Settings for the test suite: real MariaDB and Redis, never the embedded fallbacks.

DATABASE_URL and REDIS_URL default to the servers on 127.0.0.1; pytest-django creates (and drops)
its own `test_<name>` database on that server.
"""

import os

os.environ.setdefault("SECRET_KEY", "suite-secret-key-0f3b9c2e7a1d4f6b8e5c0a9d2b7f4e1c5a8d3e6b9f2c")
os.environ.setdefault("PAYMENTS_SERVICE_TOKEN", "suite-payments-token-6d1e8a3f0b9c2d7e4a5f")
os.environ.setdefault("PAYMENTS_WEBHOOK_SECRET", "suite-webhook-secret-9a4c7e2b5d8f1a3c6e0b")
os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/store_manager")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")

import environ
from django.core.exceptions import ImproperlyConfigured

from .base import MYSQL_ENGINE, rates_from_env
from .store import *  # noqa: F403
from .store import CACHES, DATABASES, THROTTLE_RATES

if DATABASES["default"]["ENGINE"] != MYSQL_ENGINE:
    raise ImproperlyConfigured("The tests run against MariaDB/MySQL: DATABASE_URL must be mysql://…")
if CACHES["default"]["BACKEND"] != "django_redis.cache.RedisCache":
    raise ImproperlyConfigured("The tests run against Redis: REDIS_URL must be redis://…")

# Hashing strength is not what the tests measure.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Throttling stays on (every request still spends from its budget in Redis), with budgets no test
# exhausts: suites make thousands of requests as one user. store_infra/tests/test_throttling.py sets low ones,
# and the servers tests start take theirs from THROTTLE_RATES.
THROTTLE_RATES = rates_from_env("THROTTLE_RATES", dict.fromkeys(THROTTLE_RATES, "1000000/hour"))

# The bumps written to the database (Redis unreachable, store_infra.cache) are read once a second: a query at
# any moment in the tests that count queries. Not read in the suite's process, but by the tests of
# them; the servers tests start read them as in production (core/tests/processes.py).
READ_CACHE_BUMPS_CHECK_SECONDS = environ.Env().float("READ_CACHE_BUMPS_CHECK_SECONDS", default=None)

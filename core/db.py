"""Transactions that survive lock races.

InnoDB resolves a deadlock by rolling back one of the transactions (error 1213) and gives up on a
lock after `innodb_lock_wait_timeout` (error 1205). Both are safe to retry from the start of the
outermost transaction; retrying inside a savepoint would run on a transaction InnoDB already
rolled back, so a nested call lets the outer one retry.
"""

import functools
import logging
import random
import time
from collections.abc import Sequence

from django.db import OperationalError, connection, transaction
from django.db.models import Model

from .errors import ServiceBusy

logger = logging.getLogger(__name__)

RETRYABLE_MYSQL_ERRORS = {1205, 1213}
ATTEMPTS = 4


def _is_lock_race(error: OperationalError) -> bool:
    if connection.vendor == "mysql":
        return bool(error.args) and error.args[0] in RETRYABLE_MYSQL_ERRORS
    # SQLite reports a busy database the same way whatever the cause.
    return connection.vendor == "sqlite" and "locked" in str(error)


def atomic_with_retry(func):
    """Run `func` in a transaction, retried a bounded number of times on deadlock or lock timeout."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if connection.in_atomic_block:
            with transaction.atomic():
                return func(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except OperationalError as error:
                if not _is_lock_race(error):
                    raise
                logger.warning("lock race in %s (attempt %d): %s", func.__qualname__, attempt, error)
                time.sleep(random.uniform(0.005, 0.02) * attempt)
        raise ServiceBusy()

    return wrapper


def bulk_insert(model: type[Model], rows: Sequence[Model]) -> list[Model]:
    """New rows of `model`, each left with its id: in one INSERT where the database says the ids back.

    MariaDB and SQLite return them from a multi-row INSERT; MySQL does not (Django then leaves the ids
    unset, and rows that point at these get refused), so there the rows are inserted one by one.
    """
    if connection.features.can_return_rows_from_bulk_insert:
        return model._default_manager.bulk_create(rows)
    for row in rows:
        row.save(force_insert=True)
    return list(rows)

"""Transactions that survive lock races.

InnoDB resolves a deadlock by rolling back one of the transactions (error 1213) and gives up on a
lock after `innodb_lock_wait_timeout` (error 1205). Both are safe to retry from the start of the
outermost transaction; retrying inside a savepoint would run on a transaction InnoDB already
rolled back, so a nested call lets the outer one retry.

A service called by another service (an order taking its stock) is simply part of that service's
transaction: no savepoint, two statements fewer, and an error in it rolls the whole unit back, as
the calling service never goes on after one. A service called inside a transaction that is not a
service's (the admin runs each action in one, a test case runs in one) gets a savepoint: that caller
may roll back to it and go on.
"""

import functools
import logging
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

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


_in_service_transaction: ContextVar[bool] = ContextVar("in_service_transaction", default=False)


@contextmanager
def _service_transaction() -> Iterator[None]:
    with transaction.atomic():
        token = _in_service_transaction.set(True)
        try:
            yield
        finally:
            _in_service_transaction.reset(token)


def atomic_with_retry(func):
    """Run `func` in a transaction, retried a bounded number of times on deadlock or lock timeout."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if _in_service_transaction.get():
            return func(*args, **kwargs)
        if connection.in_atomic_block:
            with _service_transaction():
                return func(*args, **kwargs)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with _service_transaction():
                    return func(*args, **kwargs)
            except OperationalError as error:
                if not _is_lock_race(error):
                    raise
                logger.warning("lock race in %s (attempt %d): %s", func.__qualname__, attempt, error)
                time.sleep(random.uniform(0.005, 0.02) * attempt)
        raise ServiceBusy()

    return wrapper


@contextmanager
def consistent_snapshot() -> Iterator[None]:
    """A transaction whose reads all see the database as it was at the first of them.

    The connections run READ COMMITTED (each statement sees the latest commits); MariaDB is told
    REPEATABLE READ for this one transaction. SQLite's transactions always read one snapshot.
    Inside a transaction already, the reads keep that transaction's isolation.
    """
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    with transaction.atomic():
        yield


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


def update_by_pk(model: type[Model], field: str, values: Mapping[Any, Any], **same: Any) -> None:
    """Set `field` of each row whose primary key is in `values` to its value there, and each field of
    `same` to one value for all of them, with one UPDATE: `SET field = CASE pk WHEN ... END`.

    Written as SQL because Django's Case builds and resolves a When per row, about 0.3 ms each: the
    stock of thousands of seeded orders would spend minutes there.
    """
    if not values:
        return
    meta, quote = model._meta, connection.ops.quote_name

    def prepared(name: str, value: Any):
        return meta.get_field(name).get_db_prep_save(value, connection)

    keys = [meta.pk.get_db_prep_value(key, connection) for key in values]
    column, pk = quote(meta.get_field(field).column), quote(meta.pk.column)
    assignments = [f"{column} = CASE {pk} {' '.join(['WHEN %s THEN %s'] * len(keys))} END"]
    params = [
        item
        for key, value in zip(keys, values.values(), strict=True)
        for item in (key, prepared(field, value))
    ]
    for name, value in same.items():
        assignments.append(f"{quote(meta.get_field(name).column)} = %s")
        params.append(prepared(name, value))
    where = f"{pk} IN ({', '.join(['%s'] * len(keys))})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} WHERE {where}", [*params, *keys]
        )


def keep_as_prefetched(instance: Model, relation: str, rows: Sequence[Model]) -> None:
    """Record `rows` as `instance`'s prefetched `relation`, as prefetch_related does after its query:
    `instance.<relation>.all()` (and `.get()`, `.count()`) then read them with no query. For rows just
    written, whose values are in hand (Django has no public call for it)."""
    cached = getattr(instance, relation).all()
    cached._result_cache, cached._prefetch_done = list(rows), True
    instance._prefetched_objects_cache = {
        **getattr(instance, "_prefetched_objects_cache", {}),
        relation: cached,
    }

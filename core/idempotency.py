"""`Idempotency-Key` support: a repeated request gets the first answer and changes nothing.

The key row is inserted first, in the same transaction as the work it guards, and given the answer
at its end. A concurrent twin's insert blocks on the unique index until the first commits, then
fails: the twin's transaction (which has done nothing yet) is rolled back and the stored answer
replayed. If the first rolls back, the twin's insert succeeds and it does the work. So no key ever
points at work that did not happen, and work never happens twice. The common case costs two
statements: the insert and the answer's update.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from .db import atomic_with_retry
from .errors import ServiceBusy
from .idempotency_keys import HEADER, IdempotencyKeyReused, checked_key
from .models import IdempotencyKey


def _fingerprint(request) -> str:
    canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.path_info}\n{canonical}".encode()).hexdigest()


def _expired_before():
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def idempotency_keys_purge() -> int:
    """Delete the keys too old to be replayed (a request with one does its work anew); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=_expired_before()).delete()
    return deleted


class _KeyTaken(Exception):
    """The key is stored already: by a twin that committed first, or by an earlier request."""


@atomic_with_retry
def _first_answer(*, user, scope: str, key: str, fingerprint: str, produce) -> tuple[int, dict]:
    try:
        record = IdempotencyKey.objects.create(
            user=user, scope=scope, key=key, fingerprint=fingerprint, response_status=0, response_body={}
        )
    except IntegrityError:
        raise _KeyTaken() from None  # leaves the transaction, rolled back before anything was done
    record.response_status, record.response_body = produce()
    record.save(update_fields=["response_status", "response_body"])
    return record.response_status, record.response_body


def run_idempotent(request, *, scope: str, produce: Callable[[], tuple[int, dict]]):
    """Call `produce` once per key; returns (status, body, replayed).

    Without the header, `produce` simply runs in a retried transaction.
    """
    key = checked_key(request.headers.get(HEADER))
    if key is None:
        return (*atomic_with_retry(produce)(), False)
    fingerprint = _fingerprint(request)
    # A second try only when the stored key was expired (deleted here) or its twin rolled back.
    for _ in range(2):
        try:
            return (
                *_first_answer(
                    user=request.user, scope=scope, key=key, fingerprint=fingerprint, produce=produce
                ),
                False,
            )
        except _KeyTaken:
            record = IdempotencyKey.objects.filter(user=request.user, scope=scope, key=key).first()
        if record is not None and record.created_at >= _expired_before():
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            return record.response_status, record.response_body, True
        if record is not None:
            record.delete()
    raise ServiceBusy()

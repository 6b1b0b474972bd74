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
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from core.db import atomic_with_retry
from core.errors import ServiceBusy
from core.idempotency_keys import HEADER, IdempotencyKeyReused, checked_key

from .models import IdempotencyKey


@dataclass(frozen=True)
class IdempotentCall:
    """A request's `Idempotency-Key`: whose, for which operation, and the body it came with."""

    user: object
    scope: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, request, *, scope: str) -> "IdempotentCall | None":
        """The request's key (None without the header), or InvalidIdempotencyKey."""
        key = checked_key(request.headers.get(HEADER))
        if key is None:
            return None
        canonical = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
        fingerprint = hashlib.sha256(f"{request.path_info}\n{canonical}".encode()).hexdigest()
        return cls(user=request.user, scope=scope, key=key, fingerprint=fingerprint)


def _expired_before():
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def idempotency_keys_purge() -> int:
    """Delete the keys too old to be replayed (a request with one does its work anew); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=_expired_before()).delete()
    return deleted


class _KeyTaken(Exception):
    """The key is stored already: by a twin that committed first, or by an earlier request."""


@atomic_with_retry
def _first_answer(call: IdempotentCall, *, status: int, produce: Callable[[], dict]) -> dict:
    try:
        record = IdempotencyKey.objects.create(
            user=call.user,
            scope=call.scope,
            key=call.key,
            fingerprint=call.fingerprint,
            response_status=status,
            response_body={},
        )
    except IntegrityError:
        raise _KeyTaken() from None  # leaves the transaction, rolled back before anything was done
    record.response_body = produce()
    record.save(update_fields=["response_body"])
    return record.response_body


def run_idempotent(
    call: IdempotentCall | None, *, status: int, produce: Callable[[], dict]
) -> tuple[dict, bool]:
    """Call `produce` once per key, in a retried transaction; returns (its answer, replayed).

    `status` is the answer's HTTP status, kept with it for the admin's list. Without a key,
    `produce` simply runs.
    """
    if call is None:
        return atomic_with_retry(produce)(), False
    # A second try only when the stored key was expired (deleted here) or its twin rolled back.
    for _ in range(2):
        try:
            return _first_answer(call, status=status, produce=produce), False
        except _KeyTaken:
            record = IdempotencyKey.objects.filter(user=call.user, scope=call.scope, key=call.key).first()
        if record is not None and record.created_at >= _expired_before():
            if record.fingerprint != call.fingerprint:
                raise IdempotencyKeyReused()
            return record.response_body, True
        if record is not None:
            record.delete()
    raise ServiceBusy()

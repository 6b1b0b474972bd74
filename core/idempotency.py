"""`Idempotency-Key` support: a repeated request gets the first answer and changes nothing.

The key row is inserted in the same transaction as the work it guards. A concurrent twin
blocks on the unique index until the first commits, then finds the stored answer and replays it;
if the first rolls back, the twin simply does the work. So no key ever points at work that did
not happen, and work never happens twice.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
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


def _stored_answer(*, user, scope: str, key: str) -> IdempotencyKey | None:
    record = IdempotencyKey.objects.select_for_update().filter(user=user, scope=scope, key=key).first()
    if record is None:
        return None
    if record.created_at < _expired_before():
        record.delete()
        return None
    return record


def idempotency_keys_purge() -> int:
    """Delete the keys too old to be replayed (`_stored_answer` ignores them); returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=_expired_before()).delete()
    return deleted


def run_idempotent(request, *, scope: str, produce: Callable[[], tuple[int, dict]]):
    """Call `produce` once per key; returns (status, body, replayed).

    Without the header, `produce` simply runs in a retried transaction.
    """
    key = checked_key(request.headers.get(HEADER))

    @atomic_with_retry
    def run():
        if key is None:
            return (*produce(), False)
        fingerprint = _fingerprint(request)
        record = _stored_answer(user=request.user, scope=scope, key=key)
        if record is None:
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        user=request.user,
                        scope=scope,
                        key=key,
                        fingerprint=fingerprint,
                        response_status=0,
                        response_body={},
                    )
            except IntegrityError:
                # A twin committed the same key while we waited on its index lock.
                record = _stored_answer(user=request.user, scope=scope, key=key)
                if record is None:
                    raise ServiceBusy() from None
            else:
                record.response_status, record.response_body = produce()
                record.save(update_fields=["response_status", "response_body"])
                return record.response_status, record.response_body, False
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return record.response_status, record.response_body, True

    return run()

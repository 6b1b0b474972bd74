"""Signed payment events: how the store knows a notification comes from payments, and is fresh.

Both services import this module: payments signs with it, the store verifies with it.

The payments service signs `"<timestamp>." + raw body` with HMAC-SHA256 and the secret both services
share (`PAYMENTS_WEBHOOK_SECRET`), and sends `X-Payments-Timestamp` and
`X-Payments-Signature: sha256=<hex>` (docs/adr/0005-payments-service.md). A timestamp more than
five minutes from the store's clock is refused, so a captured notification cannot be replayed later;
a replay within the window is harmless because marking an order paid is idempotent.
"""

import hashlib
import hmac
import time

from rest_framework import status

from .errors import DomainError

TIMESTAMP_HEADER = "X-Payments-Timestamp"
SIGNATURE_HEADER = "X-Payments-Signature"
TOLERANCE_SECONDS = 300


class BadSignature(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "bad_signature"
    default_message = "The payment event's signature is missing or wrong."


class StaleSignature(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "stale_signature"
    default_message = "The payment event's timestamp is more than 5 minutes away from the store's clock."


def payment_event_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Payments-Signature` value for this body sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def payment_event_verify(*, secret: str, timestamp: str | None, signature: str | None, body: bytes) -> None:
    """Raise BadSignature unless `signature` signs `body` at `timestamp`, StaleSignature if too old.

    The signature is checked first, so an unsigned caller learns nothing from the answer.
    """
    if not timestamp or not signature or not timestamp.isascii() or not timestamp.isdigit():
        raise BadSignature()
    expected = payment_event_signature(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise BadSignature()
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise StaleSignature()

"""The `Idempotency-Key` header's rules and errors, shared by the store and the payments service.

Kept apart from store_infra.idempotency, which stores the store's keys in the store's database.
"""

from rest_framework import status

from .errors import DomainError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# How the header is documented (its printable characters aside, which JSON Schema cannot say simply).
HEADER_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH}


class InvalidIdempotencyKey(DomainError):
    code = "invalid_idempotency_key"
    default_message = f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable characters."


class IdempotencyKeyReused(DomainError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    default_message = f"This {HEADER} was already used with a different request body."


def checked_key(key: str | None) -> str | None:
    """The key as sent (None when absent), or InvalidIdempotencyKey."""
    if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
        raise InvalidIdempotencyKey()
    return key

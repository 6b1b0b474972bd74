"""Text the services take from any door: what DRF's CharField refuses, refused for every door alike.

A NUL character would be stored as it is, and a lone surrogate (`"\\ud800"`, which JSON allows)
cannot be encoded for the database at all: MySQL's driver fails on it. The REST API's fields refuse
both; GraphQL's strings, the admin and the commands reach the services and selectors through here.
"""

from .errors import DomainError


def clean_text(value: str, *, field: str) -> str:
    """`value`, or DomainError (`invalid`, on `field`) when it is no text."""
    if "\x00" in value:
        raise DomainError("Null characters are not allowed.", field=field)
    if any("\ud800" <= character <= "\udfff" for character in value):
        raise DomainError("Surrogate characters are not allowed.", field=field)
    return value

"""Token authentication whose warm path touches no database.

DRF's TokenAuthentication reads the token and its user from the database on every request, about
half the cost of a cached API read. Here the user's fields are a versioned read cache entry (the
"auth" namespace of store_infra.cache), bumped after commit whenever a user changes or a token is deleted,
so a deactivated user or a revoked token is refused at the very next request.
"""

import hashlib

from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from store_infra.cache import AUTH, cached_json

from .models import User

CACHED_FIELDS = ("id", "username", "email", "first_name", "last_name", "role", "is_active")


def _token_user(key: str) -> dict:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None:
        # Not cached: a flood of made-up keys must not fill the cache.
        raise AuthenticationFailed("Invalid token.")
    return {field: getattr(token.user, field) for field in CACHED_FIELDS}


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        entry = f"token:{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}"
        fields = cached_json(namespaces=(AUTH,), key=entry, compute=lambda: _token_user(key)).data
        if not fields["is_active"]:
            raise AuthenticationFailed("User inactive or deleted.")
        return _user_from(fields), key


def _user_from(fields: dict) -> User:
    """The user as a query of these fields builds it (the others deferred): an existing row."""
    names = [field.attname for field in User._meta.concrete_fields if field.attname in fields]
    return User.from_db("default", names, [fields[name] for name in names])

"""Token authentication whose warm path touches no database.

DRF's TokenAuthentication reads the token and its user from the database on every request, about
half the cost of a cached API read. Here the user's fields are a read cache entry
(users.selectors.TOKEN_USERS), recomputed once any user or token changes, so a deactivated user or a
revoked token is refused at the very next request.
"""

import hashlib

from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from .models import User
from .selectors import TOKEN_USERS

# is_staff and is_superuser too, so that `has_perm` and the staff checks read no row.
CACHED_FIELDS = (
    "id",
    "username",
    "email",
    "first_name",
    "last_name",
    "role",
    "is_active",
    "is_staff",
    "is_superuser",
)


def _token_user(key: str) -> dict:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None:
        # Not cached: a flood of made-up keys must not fill the cache.
        raise AuthenticationFailed("Invalid token.")
    return {field: getattr(token.user, field) for field in CACHED_FIELDS}


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        entry = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        fields = TOKEN_USERS.get(entry, compute=lambda: _token_user(key)).data
        if not fields["is_active"]:
            raise AuthenticationFailed("User inactive or deleted.")
        return _user_from(fields), key


def _user_from(fields: dict) -> User:
    """The user as a query of these fields builds it (the others deferred): an existing row."""
    names = [field.attname for field in User._meta.concrete_fields if field.attname in fields]
    return User.from_db("default", names, [fields[name] for name in names])

"""Token authentication whose warm path touches no database and makes one round trip to Redis.

DRF's TokenAuthentication reads the token and its user from the database on every request, about
half the cost of a cached API read. Here the user's fields are a versioned read cache entry (the
"auth" namespace of core.cache), bumped after commit whenever a user changes or a token is deleted,
so a deactivated user or a revoked token is refused at the very next request.

The request's budget (core.throttling) is counted in the same round trip as the versions read: the
user this process last saw behind the token is a good guess of whose budget it is. A wrong guess (the
user's role changed) costs two round trips more, the throttle's own count and the guessed count
given back when the request ends.
"""

import hashlib
from collections.abc import Callable

from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

from core.cache import AUTH, cached_json, last_served
from core.throttling import WRITE_METHODS, spend_along, user_budget

from .models import User

CACHED_FIELDS = ("id", "username", "email", "first_name", "last_name", "role", "is_active")


def _token_user(key: str) -> dict:
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None:
        # Not cached: a flood of made-up keys must not fill the cache.
        raise AuthenticationFailed("Invalid token.")
    return {field: getattr(token.user, field) for field in CACHED_FIELDS}


class CachedTokenAuthentication(TokenAuthentication):
    def __init__(self, *, writes: Callable[[], bool] | None = None):
        # Whether the request spends from the write budget, asked only when it has to be guessed: by
        # its method unless told (a GraphQL POST may be a query, which takes parsing to know).
        self.writes = writes

    def authenticate(self, request):
        if self.writes is None:
            self.writes = lambda: request.method in WRITE_METHODS
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        entry = f"token:{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}"
        self._spend_along(entry)
        fields = cached_json(namespaces=(AUTH,), key=entry, compute=lambda: _token_user(key)).data
        if not fields["is_active"]:
            raise AuthenticationFailed("User inactive or deleted.")
        user = User(**fields)
        # The row exists: foreign keys to this instance are saved as they would be from a query.
        user._state.adding = False
        user._state.db = "default"
        return user, key

    def _spend_along(self, entry: str) -> None:
        guess = last_served(entry)
        if guess is None or not guess.data["is_active"] or self.writes is None:
            return
        spend_along(user_budget(guess.data["id"], guess.data["role"], writes=self.writes()))

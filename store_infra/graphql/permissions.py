"""Who may run which root field: every query and mutation says it, like the REST views' role maps.

The endpoint already refuses anonymous requests; checking again here keeps a field closed even if it
is one day served by another view, and lets each field open to its own roles (`STOCK_READERS`,
`STAFF` from users.permissions, the same sets as the REST API).
"""

import functools
from collections.abc import Callable, Collection

from .errors import graphql_error


def allow(roles: Collection[str]) -> Callable:
    """Run the decorated resolver (or `mutate`) only for an authenticated user with one of `roles`."""

    def decorator(resolver: Callable) -> Callable:
        @functools.wraps(resolver)
        def guarded(*args, **kwargs):
            user = args[-1].context.user  # graphene passes `info` last: (root, info) or (cls, root, info)
            if not user.is_authenticated:
                raise graphql_error("not_authenticated", "Authentication credentials were not provided.")
            if user.role not in roles:
                raise graphql_error("permission_denied", "You do not have permission to perform this action.")
            return resolver(*args, **kwargs)

        guarded.allowed_roles = frozenset(roles)
        return guarded

    return decorator

"""Who may run which root field: every query and mutation names the permission it needs, as the REST
views name one per action (users.permissions).

The endpoint already refuses anonymous requests; checking again here keeps a field closed even if it
is one day served by another view.
"""

import functools
from collections.abc import Callable

from .errors import graphql_error


def require(perm: str) -> Callable:
    """Run the decorated resolver (or `mutate`) only for an authenticated user who holds `perm`."""

    def decorator(resolver: Callable) -> Callable:
        @functools.wraps(resolver)
        def guarded(*args, **kwargs):
            user = args[-1].context.user  # graphene passes `info` last: (root, info) or (cls, root, info)
            if not user.is_authenticated:
                raise graphql_error("not_authenticated", "Authentication credentials were not provided.")
            if not user.has_perm(perm):
                raise graphql_error("permission_denied", "You do not have permission to perform this action.")
            return resolver(*args, **kwargs)

        guarded.required_permission = perm
        return guarded

    return decorator

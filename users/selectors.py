from django.db.models import QuerySet
from rest_framework.authtoken.models import Token

from store_infra.cache import CachedRead

from .models import Role, User

# The user behind a token (users.authentication), until the user or a token changes.
TOKEN_USERS = CachedRead("token", depends_on=(User, Token))


def user_list(*, actor: User) -> QuerySet[User]:
    """The accounts `actor` may see: all for managers, customers only for clerks."""
    users = User.objects.all()
    if actor.role != Role.MANAGER:
        users = users.filter(role=Role.CUSTOMER)
    return users.order_by("id")

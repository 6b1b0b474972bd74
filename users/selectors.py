from django.db.models import QuerySet

from .models import Role, User


def user_list(*, actor: User) -> QuerySet[User]:
    """The accounts `actor` may see: all for managers, customers only for clerks."""
    users = User.objects.all()
    if actor.role != Role.MANAGER:
        users = users.filter(role=Role.CUSTOMER)
    return users.order_by("id")

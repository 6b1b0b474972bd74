"""Who may call which API action, by role.

Views list, per action, the roles allowed (`action_roles`); an action not listed is refused, so
a new action is closed until someone opens it on purpose.
"""

from rest_framework.permissions import BasePermission

from .models import STAFF_ROLES, Role

STAFF = STAFF_ROLES  # the back office's roles, as the admin knows them (User.is_staff)
STOCK_READERS = STAFF | {Role.SUPPLIER}
MANAGERS = frozenset({Role.MANAGER})


class IsStaff(BasePermission):
    """The default for any view that does not say otherwise: managers and clerks."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.role in STAFF)


class ActionRoles(BasePermission):
    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        action = getattr(view, "action", None)
        if action is None and getattr(view, request.method.lower(), None) is None:
            # No handler for this method: let the view answer 405 rather than a misleading 403.
            return True
        if action == "metadata":
            # OPTIONS describes what the user may do; anyone with some access may ask.
            return any(user.role in roles for roles in view.action_roles.values())
        return user.role in view.action_roles.get(action or request.method.lower(), ())

"""Who may do what: one map from role to permissions, which every door consults.

Permissions have Django's names (`app_label.codename`) and are asked with `user.has_perm`, which
`users.backends.RoleBackend` answers from `ROLE_PERMISSIONS`: the admin asks it for its pages, the
REST views for each action (`ActionPermissions`), GraphQL for each root field
(`store_infra.graphql.permissions.require`). Changing a role's rights is an edit here, reviewed and
tested, not data edited in the admin.
"""

from rest_framework.permissions import BasePermission

from .models import Role

EVERY_PERMISSION = "*"

# What each role holds: a permission, every permission of an app (`app_label.*`), or everything.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.MANAGER: frozenset({EVERY_PERMISSION}),
    Role.CLERK: frozenset({"articles.*", "stocks.*", "orders.*", "users.view_user", "users.add_user"}),
    Role.SUPPLIER: frozenset(
        {"articles.view_article", "stocks.view_stock", "stocks.view_stockmovement", "stocks.restock"}
    ),
    # Their own orders only: order_list keeps the rows to the customer's.
    Role.CUSTOMER: frozenset({"orders.view_order"}),
}


def role_grants(role: str, app_label: str, perm: str | None = None) -> bool:
    """Whether `role` holds `perm`, or without one any permission of `app_label`."""
    granted = ROLE_PERMISSIONS.get(role, frozenset())
    if EVERY_PERMISSION in granted or f"{app_label}.*" in granted:
        return True
    return perm in granted if perm else any(p.startswith(f"{app_label}.") for p in granted)


class IsStaff(BasePermission):
    """The default for any view that does not say otherwise: the back office's staff (User.is_staff)."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


class ActionPermissions(BasePermission):
    """Each view names, per action, the permission it needs (`action_permissions`); an action not
    listed is refused, so a new action is closed until someone opens it on purpose."""

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
            return any(user.has_perm(perm) for perm in view.action_permissions.values())
        perm = view.action_permissions.get(action or request.method.lower())
        return perm is not None and user.has_perm(perm)

"""Permissions come from the user's role, in one place, for the admin and `has_perm` alike."""

from django.contrib.auth.backends import ModelBackend

from .models import Role

# App labels whose every model permission a role holds.
ROLE_APPS = {
    Role.MANAGER: None,  # everything
    Role.CLERK: {"articles", "stocks", "orders"},
}
# Individual permissions on top of ROLE_APPS.
ROLE_PERMISSIONS = {
    Role.CLERK: {"users.view_user", "users.add_user"},
    Role.SUPPLIER: {"articles.view_article", "stocks.view_stock", "stocks.view_stockmovement"},
}


class RoleBackend(ModelBackend):
    def _grants(self, user_obj, app_label: str, perm: str | None = None) -> bool:
        """Whether the user's role holds `perm`, or without one any permission of `app_label`."""
        if not user_obj.is_active or user_obj.is_anonymous:
            return False
        role = user_obj.role
        if role == Role.MANAGER or app_label in (ROLE_APPS.get(role) or ()):
            return True
        granted = ROLE_PERMISSIONS.get(role, ())
        return perm in granted if perm else any(p.startswith(f"{app_label}.") for p in granted)

    def has_perm(self, user_obj, perm, obj=None):
        return self._grants(user_obj, perm.split(".", 1)[0], perm)

    def has_module_perms(self, user_obj, app_label):
        return self._grants(user_obj, app_label)
